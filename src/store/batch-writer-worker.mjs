// Worker thread for Store.openBatchWriter(): a write connection of its own to the store's SQLite file.
// Plain JS so it starts without a loader. Each message is one batch: every group's statement (prepared
// once per SQL text) runs once per row, all in one BEGIN IMMEDIATE transaction. The checkpoint that
// SQLite would run inside the commit (wal_autocheckpoint) runs after the batch is answered instead, so
// the caller is not kept waiting for it (and its fsync); the next batch waits for it here.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { createGroupWriter } from './group-writer.mjs';

const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${workerData.synchronous}`);
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 0');
/** Rows written since the last checkpoint stand in for the WAL's size (SQLite's default checkpoints at 1,000 pages). */
const CHECKPOINT_ROWS = 1000;
let sinceCheckpoint = 0;

const writeGroups = createGroupWriter(db);

parentPort.on('message', (msg) => {
  if (msg.close) {
    db.close();
    parentPort.postMessage({ id: msg.id, ok: true });
    parentPort.close();
    return;
  }
  try {
    // IMMEDIATE: take the write lock first (waiting out other writers), never upgrade a stale read.
    sinceCheckpoint += writeGroups.immediate(msg.groups);
    parentPort.postMessage({ id: msg.id, ok: true });
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String(error?.message ?? error), code: error?.code });
  }
  if (sinceCheckpoint >= CHECKPOINT_ROWS) {
    sinceCheckpoint = 0;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or failed: the next one catches up; committed batches are safe in the WAL meanwhile.
    }
  }
});
