// The behaviour every Store implementation must have. Run it with runStoreSuite(name, factory).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from './store.js';

const row = (reportId: number, extra: Record<string, unknown> = {}) => ({
  Timestamp: `2026-11-28T10:00:0${reportId % 10}.000Z`, ReportId: reportId, DeviceId: reportId % 2 ? 'odd' : 'even', ...extra,
});

export function runStoreSuite(name: string, open: () => Promise<Store>, options: { queryWorkers: boolean }): void {
  describe(`store suite: ${name}`, () => {
    let store: Store;
    before(async () => { store = await open(); });
    after(() => store.close());

    test('append stores new rows and reports duplicates per sensor', async () => {
      const first = await store.telemetry.append('DeviceProcessEvents', 's1', [row(1), row(2)]);
      assert.deepEqual([first.inserted, first.duplicates, first.fresh], [2, 0, [true, true]]);
      const again = await store.telemetry.append('DeviceProcessEvents', 's1', [row(2), row(3)]);
      assert.deepEqual([again.inserted, again.duplicates, again.fresh], [1, 1, [false, true]]);
      const other = await store.telemetry.append('DeviceProcessEvents', 's2', [row(1)]);
      assert.equal(other.inserted, 1);
      assert.equal(await store.telemetry.count('DeviceProcessEvents'), 4);
    });

    test('values of every type come back as they went in', async () => {
      await store.telemetry.append('DeviceNetworkEvents', 's1', [row(7, {
        RemotePort: 443, RemoteIP: '10.0.0.7', AdditionalFields: { a: [1, 'x'], b: null }, _Raw: { EventID: 3 },
      })]);
      await store.telemetry.append('DeviceInfo', 's1', [row(8, { IsAzureADJoined: true, LoggedOnUsers: [{ UserName: 'alice' }] })]);
      const net = (await store.telemetry.read('DeviceNetworkEvents')).rows[0];
      assert.equal(net.Timestamp, '2026-11-28T10:00:07.000Z');
      assert.equal(net.RemotePort, 443);
      assert.deepEqual(net.AdditionalFields, { a: [1, 'x'], b: null });
      assert.deepEqual(net._Raw, { EventID: 3 });
      const info = (await store.telemetry.read('DeviceInfo')).rows[0];
      assert.equal(info.IsAzureADJoined, true);
      assert.deepEqual(info.LoggedOnUsers, [{ UserName: 'alice' }]);
    });

    test('read filters by time and device and pages with a cursor', async () => {
      const odd = await store.telemetry.read('DeviceProcessEvents', { deviceId: 'odd' });
      assert.deepEqual(odd.rows.map((r) => r.ReportId), [1, 3, 1]);
      const window = await store.telemetry.read('DeviceProcessEvents', { since: '2026-11-28T10:00:02.000Z', until: '2026-11-28T10:00:03.000Z' });
      assert.deepEqual(window.rows.map((r) => r.ReportId), [2]);
      const page1 = await store.telemetry.read('DeviceProcessEvents', { limit: 3 });
      const page2 = await store.telemetry.read('DeviceProcessEvents', { limit: 3, cursor: page1.nextCursor });
      assert.deepEqual([...page1.rows, ...page2.rows].map((r) => r.ReportId), [1, 2, 3, 1]);
      assert.equal(page2.nextCursor, undefined);
    });

    test('migrations run once, in version order', async () => {
      const ran: number[] = [];
      const migrations = [2, 1].map((version) => ({
        version, name: `m${version}`,
        async up(db: any) { ran.push(version); await db.schema.createTable(`suite_t${version}`).addColumn('id', 'text').execute(); },
      }));
      await store.migrate('suite', migrations);
      await store.migrate('suite', migrations);
      assert.deepEqual(ran, [1, 2]);
    });

    test('query runs read-only SQL with a row cap', async () => {
      const result = await store.query('SELECT "ReportId" AS id FROM "DeviceProcessEvents" ORDER BY "_Seq"', [], { maxRows: 2 });
      assert.deepEqual(result.columns, ['id']);
      assert.deepEqual(result.rows, [[1], [2]]);
      assert.equal(result.truncated, true);
      await assert.rejects(store.query('DELETE FROM "DeviceProcessEvents"'));
      assert.equal(await store.telemetry.count('DeviceProcessEvents'), 4);
    });

    if (options.queryWorkers) {
      test('a query past its timeout is cancelled with query_timeout and the next query still runs', async () => {
        const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
        await assert.rejects(store.query(endless, [], { timeoutMs: 300 }), (e: any) => e.code === 'query_timeout' && e.status === 408);
        const after = await store.query('SELECT count(*) FROM "DeviceProcessEvents"');
        assert.deepEqual(after.rows, [[4]]);
      });
    }
  });
}
