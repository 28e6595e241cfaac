// Store.openBatchWriter on a SQLite file: batches commit in order on the worker's connection, a failing
// batch leaves nothing behind, the main connection reads what was committed, close waits for what was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createSqliteStore } from './index.js';

test('a file store writes batches on a connection of its own, in order, each all or nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-batch-writer-'));
  const store = await createSqliteStore({ file: join(dir, 'vigil.db') });
  try {
    await sql`CREATE TABLE "t" ("a" INTEGER PRIMARY KEY, "b" TEXT)`.execute(store.db);
    const writer = store.openBatchWriter!()!;
    const insert = 'INSERT INTO "t" ("a", "b") VALUES (?, ?)';
    const update = 'UPDATE "t" SET "b" = ? WHERE "a" = ?';
    // Sent back to back: the update of the second batch finds the row of the first.
    const first = writer.write([{ sql: insert, rows: [[1, 'x'], [2, 'y']] }]);
    const second = writer.write([{ sql: update, rows: [['z', 1]] }]);
    const failing = writer.write([{ sql: insert, rows: [[3, 'p']] }, { sql: insert, rows: [[2, 'dup']] }]);
    await first;
    await second;
    await assert.rejects(failing, /UNIQUE/);
    assert.deepEqual((await sql`SELECT "a", "b" FROM "t" ORDER BY "a"`.execute(store.db)).rows, [{ a: 1, b: 'z' }, { a: 2, b: 'y' }]);
    const last = writer.write([{ sql: insert, rows: [[4, 'w']] }]);
    await writer.close();
    await last;
    await assert.rejects(writer.write([{ sql: insert, rows: [[5, 'v']] }]), { code: 'writer_ended' });
    assert.deepEqual((await sql`SELECT COUNT(*) AS "n" FROM "t"`.execute(store.db)).rows, [{ n: 3 }]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an in-memory store has no background writer', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    assert.equal(store.openBatchWriter!(), undefined);
  } finally {
    await store.close();
  }
});
