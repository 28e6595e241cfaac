import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createSqliteStore } from '../store/index.js';
import { AUDIT_GENESIS_HASH, canonicalJson, createAuditLog } from './index.js';

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: null }], c: undefined } }), '{"a":{"d":[1,{"y":null,"z":2}]},"b":1}');
});

test('entries chain: each row links to the previous hash, the first to the genesis hash', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    let t = Date.parse('2026-01-01T00:00:00.000Z');
    const audit = await createAuditLog({ store, now: () => t++ });
    const first = await audit.record({ actor: 'alice', action: 'sign-in', target: 'u1' });
    const second = await audit.record({ actor: 'bob', action: 'action.approve', target: 'a1', details: { kind: 'isolate' } });
    assert.equal(first.seq, 1);
    assert.equal(first.prevHash, AUDIT_GENESIS_HASH);
    assert.equal(second.prevHash, first.hash);
    assert.equal(first.at, '2026-01-01T00:00:00.000Z');
    assert.match(second.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(await audit.verify(), { ok: true, checked: 2 });
    assert.deepEqual((await audit.list({ actor: 'bob' })).map((e) => e.details), [{ kind: 'isolate' }]);
  } finally {
    await store.close();
  }
});

test('concurrent records still form one chain', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const audit = await createAuditLog({ store });
    await Promise.all(Array.from({ length: 25 }, (_, i) => audit.record({ actor: 'a', action: 'x', target: String(i) })));
    assert.deepEqual(await audit.verify(), { ok: true, checked: 25 });
  } finally {
    await store.close();
  }
});

/** What an attacker with write access to the database file does first. */
async function dropGuards(store: Awaited<ReturnType<typeof createSqliteStore>>) {
  await sql`DROP TRIGGER audit_log_no_update`.execute(store.db);
  await sql`DROP TRIGGER audit_log_no_delete`.execute(store.db);
}

test('the database refuses to update or delete entries', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const audit = await createAuditLog({ store });
    await audit.record({ actor: 'alice', action: 'sign-in', target: 'u1' });
    await assert.rejects(sql`UPDATE audit_log SET actor = 'mallory'`.execute(store.db), /append-only/);
    await assert.rejects(sql`DELETE FROM audit_log`.execute(store.db), /append-only/);
    assert.deepEqual(await audit.verify(), { ok: true, checked: 1 });
  } finally {
    await store.close();
  }
});

test('an altered row is named by verify', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const audit = await createAuditLog({ store });
    for (let i = 1; i <= 5; i++) await audit.record({ actor: 'alice', action: 'action.approve', target: `a${i}` });
    await dropGuards(store);
    await sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`.execute(store.db);
    const result = await audit.verify();
    assert.equal(result.ok, false);
    assert.equal(result.firstBroken?.seq, 3);
    assert.match(result.firstBroken!.reason, /altered/);
  } finally {
    await store.close();
  }
});

test('a row altered with its hash recomputed breaks the next link; a deleted row is named as missing', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const audit = await createAuditLog({ store });
    for (let i = 1; i <= 5; i++) await audit.record({ actor: 'alice', action: 'x', target: `a${i}` });
    await dropGuards(store);
    await sql`UPDATE audit_log SET hash = ${'f'.repeat(64)} WHERE seq = 2`.execute(store.db);
    // Row 2 itself no longer matches its (forged) hash.
    assert.deepEqual((await audit.verify()).firstBroken?.seq, 2);
    await sql`DELETE FROM audit_log WHERE seq IN (2)`.execute(store.db);
    const result = await audit.verify();
    assert.equal(result.firstBroken?.seq, 3);
    assert.match(result.firstBroken!.reason, /row 2 missing/);
  } finally {
    await store.close();
  }
});

test('entries removed from the end are caught by the recorded head', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const audit = await createAuditLog({ store });
    for (let i = 1; i <= 4; i++) await audit.record({ actor: 'alice', action: 'x', target: `a${i}` });
    await dropGuards(store);
    await sql`DELETE FROM audit_log WHERE seq >= 3`.execute(store.db);
    const result = await audit.verify();
    assert.deepEqual(result, { ok: false, checked: 2, firstBroken: { seq: 3, reason: 'entries 3–4 missing (the log was truncated)' } });
  } finally {
    await store.close();
  }
});

test('two writers on one database keep a single chain (a stale writer retries after the key clash)', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    const a = await createAuditLog({ store });
    const b = await createAuditLog({ store });
    await a.record({ actor: 'a', action: 'x', target: '1' });
    await b.record({ actor: 'b', action: 'x', target: '2' });
    const third = await a.record({ actor: 'a', action: 'x', target: '3' });
    assert.equal(third.seq, 3);
    assert.deepEqual(await a.verify(), { ok: true, checked: 3 });
  } finally {
    await store.close();
  }
});
