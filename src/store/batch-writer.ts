import { Worker } from 'node:worker_threads';
import type { BatchWriter, WriteGroup } from './store.js';

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Store.openBatchWriter on SQLite: batches go to a worker thread with its own connection, so the
 * statements and the commit run beside the main thread. `hold` runs each write while the main
 * connection is held (kysely's lock), so no transaction of the main connection is open meanwhile and
 * none of them meets a snapshot made stale by the worker's commit.
 */
export function createSqliteBatchWriter(
  file: string, synchronous: 'NORMAL' | 'FULL', hold: (fn: () => Promise<void>) => Promise<void>,
): BatchWriter {
  const worker = new Worker(new URL('./batch-writer-worker.mjs', import.meta.url), {
    workerData: { file, synchronous }, execArgv: [],
  });
  worker.unref();
  let nextId = 1;
  const waiting = new Map<number, Waiting>();
  let failure: Error | undefined;
  let closing: Promise<void> | undefined;
  const issued = new Set<Promise<void>>();

  worker.on('message', (msg: { id: number; ok: boolean; error?: string; code?: string }) => {
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (waiting.size === 0) worker.unref();
    if (msg.ok) w.resolve();
    else w.reject(Object.assign(new Error(msg.error ?? 'batch write failed'), { code: msg.code }));
  });
  // The thread is gone: this batch and every later one fail with code 'writer_ended' (callers may fall back to Store.batch).
  const fail = (cause: Error) => {
    const error = Object.assign(new Error(`the batch writer thread ended: ${cause.message}`, { cause }), { code: 'writer_ended' });
    failure ??= error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));

  function send(msg: { groups?: readonly WriteGroup[]; close?: true }): Promise<void> {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, ...msg });
    });
  }

  return {
    write(groups) {
      if (closing) return Promise.reject(Object.assign(new Error('batch writer closed'), { code: 'writer_ended' }));
      const done = hold(() => send({ groups }));
      const settled = done.then(() => {}, () => {});
      issued.add(settled);
      void settled.then(() => issued.delete(settled));
      return done;
    },
    close() {
      closing ??= (async () => {
        // Every batch written before close is committed (or has failed) before the thread ends.
        await Promise.all(issued);
        await send({ close: true }).catch(() => {});
        await worker.terminate();
      })();
      return closing;
    },
  };
}
