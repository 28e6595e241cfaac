// The write-behind path: the store's background writer, Store.batch and the kysely fallback store the same state; the version-2 migration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createSqliteStore, type Store } from '../src/store/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createIncidentService } from '../src/incidents/index.js';
import { incidentMigrations } from '../src/incidents/incident-tables.js';
import type { Evidence, RaisedAlert } from '../src/schema/index.js';

const T0 = Date.parse('2026-11-28T10:00:00.000Z');

function alert(id: string, secondsIn: number, evidence: Evidence[], dedupKey = `dk-${id}`): RaisedAlert {
  const at = new Date(T0 + secondsIn * 1000).toISOString();
  return {
    alertId: id, title: `Alert ${id}`, description: 'test alert', severity: 'medium', category: 'Execution',
    detectionSource: 'sigma', serviceSource: 'vigil', mitreTechniques: ['T1059'], tactics: ['execution'],
    rule: { id: `rule-${id}`, title: `Rule ${id}`, author: 'Jane Analyst', source: 'sigma' },
    firstActivity: at, lastActivity: at, events: [], evidence, dedupKey,
  };
}
const device = (id: string): Evidence => ({ kind: 'device', key: id, label: id, role: 'Impacted' });
const user = (key: string, role: Evidence['role'] = 'Impacted'): Evidence => ({ kind: 'user', key, label: key, role });
const file = (sha: string): Evidence => ({ kind: 'file', key: sha, label: 'evil.exe', role: 'Related' });
const SHA = 'b'.repeat(64);

/** Dedup updates, a merge that moves stored alerts, entity rows: each step written before the next. */
async function scenario(store: Store) {
  const bus = createMemoryBus();
  const errors: unknown[] = [];
  const svc = await createIncidentService({ store, bus, now: () => T0 + 3_600_000, onError: (error) => { errors.push(error); } });
  const raise = async (...alerts: RaisedAlert[]) => {
    for (const a of alerts) await bus.publish('alert.raised', { alert: a });
    await bus.drain();
    await svc.flush();
  };
  await raise(alert('a1', 1, [device('dev-1'), user('alice'), user('alice', 'Related'), file(SHA)]), alert('a2', 2, [device('dev-2')]));
  await raise(alert('a3', 3, [device('dev-1'), user('alice'), file(SHA)], 'dk-a1'), alert('a4', 4, [device('dev-1'), user('alice'), file(SHA)], 'dk-a1'));
  await raise(alert('a5', 5, [device('dev-1'), device('dev-2')]));
  const incidents = (await svc.listIncidents()).items;
  const alerts = (await svc.listAlerts()).items;
  const onDev1 = (await svc.listAlerts({ deviceId: 'dev-1' })).items.map((a) => a.id).sort();
  const ofAlice = (await svc.listIncidents({ user: 'alice' })).items.map((i) => i.id);
  const entityRows = (await sql<{ entity: string; alert_id: string }>`SELECT "entity", "alert_id" FROM "incident_alert_entities" ORDER BY "alert_id", "entity"`.execute(store.db)).rows;
  const indexed = (await sql<{ entity: string }>`SELECT DISTINCT "entity" FROM "incident_entity_index" ORDER BY "entity"`.execute(store.db)).rows.map((r) => r.entity);
  await svc.stop();
  await bus.close();
  return { errors, incidents, alerts, onDev1, ofAlice, entityRows, indexed };
}

for (const through of ['background writer', 'Store.batch', 'kysely statements'] as const) {
  test(`the write-behind batches store dedup counts, merges and entity rows (${through})`, async () => {
    const dir = through === 'background writer' ? mkdtempSync(join(tmpdir(), 'vigil-incidents-writes-')) : undefined;
    const real = await createSqliteStore({ file: dir ? join(dir, 'vigil.db') : ':memory:' });
    try {
      const store: Store = through === 'background writer' ? real
        : through === 'Store.batch' ? { ...real, dialect: real.dialect, db: real.db, openBatchWriter: undefined }
          : { ...real, dialect: real.dialect, db: real.db, openBatchWriter: undefined, batch: undefined };
      assert.equal(typeof store.batch, through === 'kysely statements' ? 'undefined' : 'function');
      assert.equal(typeof store.openBatchWriter, through === 'background writer' ? 'function' : 'undefined');
      const r = await scenario(store);
      assert.deepEqual(r.errors, []);
      assert.equal(r.incidents.length, 1);
      const [inc] = r.incidents;
      assert.equal(inc.alertCount, 3);
      assert.equal(r.alerts.length, 3);
      const byId = new Map(r.alerts.map((a) => [a.id, a]));
      assert.deepEqual([...byId.keys()].sort(), ['a1', 'a2', 'a5']);
      assert.equal(byId.get('a1')!.count, 3);
      assert.equal(byId.get('a1')!.lastActivityDateTime, '2026-11-28T10:00:04.000Z');
      // a2 was stored in incident B before the bridging alert merged B into a1's incident.
      for (const a of r.alerts) assert.equal(a.incidentId, inc.id);
      assert.deepEqual(r.onDev1, ['a1', 'a5']);
      assert.deepEqual(r.ofAlice, [inc.id]);
      assert.deepEqual(r.entityRows, [
        { entity: 'device:dev-1', alert_id: 'a1' }, { entity: 'user:alice', alert_id: 'a1' },
        { entity: 'device:dev-2', alert_id: 'a2' },
        { entity: 'device:dev-1', alert_id: 'a5' }, { entity: 'device:dev-2', alert_id: 'a5' },
      ]);
      // Files correlate in memory; the table indexes the device and user filters only.
      assert.deepEqual(r.indexed, ['device:dev-1', 'device:dev-2', 'user:alice']);
    } finally {
      await real.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('migration 2 keeps one entity row per alert and entity, and drops non-filter kinds from the entity index', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    await store.migrate('incidents', incidentMigrations('sqlite').filter((m) => m.version === 1));
    await sql`INSERT INTO "incident_alert_entities" ("alert_id", "entity", "kind", "key", "label", "role") VALUES
      ('x1', 'device:dev-7', 'device', 'dev-7', 'ws-7', 'Impacted'),
      ('x1', 'user:bob', 'user', 'bob', 'bob', 'Impacted'),
      ('x1', 'user:bob', 'user', 'bob', 'bob', 'Related')`.execute(store.db);
    await sql`INSERT INTO "incident_entity_index" ("entity", "incident_id") VALUES
      ('device:dev-7', 'i1'), ('user:bob', 'i1'), (${`file:${SHA}`}, 'i1'), ('ip:203.0.113.9', 'i1')`.execute(store.db);
    const svc = await createIncidentService({ store, bus: createMemoryBus(), subscribe: false });
    await svc.stop();
    const columns = (await sql<{ name: string }>`SELECT "name" FROM pragma_table_info('incident_alert_entities') ORDER BY "cid"`.execute(store.db)).rows.map((r) => r.name);
    assert.deepEqual(columns, ['entity', 'alert_id']);
    const rows = (await sql`SELECT "entity", "alert_id" FROM "incident_alert_entities" ORDER BY "entity"`.execute(store.db)).rows;
    assert.deepEqual(rows, [{ entity: 'device:dev-7', alert_id: 'x1' }, { entity: 'user:bob', alert_id: 'x1' }]);
    const indexed = (await sql<{ entity: string }>`SELECT "entity" FROM "incident_entity_index" ORDER BY "entity"`.execute(store.db)).rows.map((r) => r.entity);
    assert.deepEqual(indexed, ['device:dev-7', 'user:bob']);
  } finally {
    await store.close();
  }
});

test('Store.batch is one transaction: a failing statement leaves none of the batch behind', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    await sql`CREATE TABLE "t" ("a" INTEGER PRIMARY KEY)`.execute(store.db);
    await assert.rejects(store.batch!([
      { sql: 'INSERT INTO "t" ("a") VALUES (?)', rows: [[1], [2]] },
      { sql: 'INSERT INTO "t" ("a") VALUES (?)', rows: [[3], [3]] },
    ]));
    assert.deepEqual((await sql`SELECT COUNT(*) AS "n" FROM "t"`.execute(store.db)).rows, [{ n: 0 }]);
    await store.batch!([{ sql: 'INSERT INTO "t" ("a") VALUES (?)', rows: [[1], [2]] }]);
    assert.deepEqual((await sql`SELECT COUNT(*) AS "n" FROM "t"`.execute(store.db)).rows, [{ n: 2 }]);
  } finally {
    await store.close();
  }
});

for (const through of ['background writer', 'Store.batch'] as const) {
  test(`small batches in a burst, then a clean stop without flush: nothing accepted is lost (${through})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-incidents-burst-'));
    const store = await createSqliteStore({ file: through === 'background writer' ? join(dir, 'vigil.db') : ':memory:' });
    try {
      const bus = createMemoryBus();
      const errors: unknown[] = [];
      // batchSize 2: writes start after every couple of alerts, and the burst outruns them.
      const svc = await createIncidentService({ store, bus, batchSize: 2, now: () => T0 + 3_600_000, onError: (error) => { errors.push(error); } });
      const raised: RaisedAlert[] = [];
      for (let i = 1; i <= 30; i++) {
        // Every fifth alert repeats the one before it (same rule and entities).
        raised.push(i % 5 === 0 ? { ...raised[i - 2], alertId: `b${i}` } : alert(`b${i}`, i, [device(`dev-${i % 3}`)]));
      }
      for (const a of raised) await bus.publish('alert.raised', { alert: a });
      await bus.drain();
      await svc.stop();
      await bus.close();
      assert.deepEqual(errors, []);

      const again = await createIncidentService({ store, bus: createMemoryBus(), subscribe: false });
      try {
        const alerts = (await again.listAlerts({ limit: 100 })).items;
        assert.equal(alerts.length, 24);
        const counts = Object.fromEntries(alerts.filter((a) => a.count > 1).map((a) => [a.id, a.count]));
        assert.deepEqual(counts, { b4: 2, b9: 2, b14: 2, b19: 2, b24: 2, b29: 2 });
        const incidents = (await again.listIncidents()).items;
        assert.deepEqual(incidents.map((i) => i.alertCount), [8, 8, 8]);
        assert.equal(again.stats().openIncidents, 3);
        assert.equal(again.stats().activeAlerts, 24);
        assert.equal(again.getDeviceRisk('dev-1'), 'medium');
      } finally {
        await again.stop();
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("a background writer whose thread has gone: that batch is reported lost, later ones go through Store.batch", async () => {
  const real = await createSqliteStore({ file: ':memory:' });
  try {
    let writes = 0;
    const store: Store = {
      ...real, dialect: real.dialect, db: real.db,
      openBatchWriter: () => ({
        async write() { writes++; throw Object.assign(new Error('the batch writer thread ended: exit code 1'), { code: 'writer_ended' }); },
        async close() {},
      }),
    };
    const errors: unknown[] = [];
    const svc = await createIncidentService({ store, bus: createMemoryBus(), subscribe: false, now: () => T0 + 3_600_000, onError: (error) => { errors.push(error); } });
    await svc.ingest([alert('w1', 1, [device('dev-1')])]);
    await assert.rejects(svc.flush(), /thread ended/);
    await svc.ingest([alert('w2', 2, [device('dev-2')])]);
    await svc.flush();
    assert.equal(writes, 1);
    assert.deepEqual((await svc.listAlerts()).items.map((a) => a.id), ['w2']);
    await svc.stop();
    assert.deepEqual(errors, []);
  } finally {
    await real.close();
  }
});
