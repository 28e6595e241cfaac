// Execution strategies must not change results: hunting indexes (streaming summarize), trigram text
// indexes (has/contains), data probes (bag_unpack, pivot), search, ipv4_lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTextIndexer, HUNTING_INDEXES, HUNTING_TEXT_INDEXES } from './index.js';
import { createTestHunting } from './test-support.js';

const NOW = Date.UTC(2024, 0, 31, 12, 0, 0);

function seeded() {
  const t = createTestHunting({ now: NOW });
  t.insert('DeviceProcessEvents', [
    { Timestamp: '2024-01-31T10:10:00.000Z', DeviceName: 'ws1', FileName: 'cmd.exe', ProcessCommandLine: 'cmd.exe /c whoami', ReportId: 1 },
    { Timestamp: '2024-01-31T10:20:00.000Z', DeviceName: 'ws1', FileName: 'powershell.exe', ProcessCommandLine: 'powershell -c Invoke-Mimikatz', ReportId: 2 },
    { Timestamp: '2024-01-31T11:05:00.000Z', DeviceName: 'ws2', FileName: 'cmd.exe', ProcessCommandLine: 'CMD.EXE /c dir', ReportId: 3 },
    { Timestamp: '2024-01-30T09:00:00.000Z', DeviceName: 'ws1', FileName: 'xcmd.exe', ProcessCommandLine: 'xcmd.exe --mimikatzish', ReportId: 4 },
  ]);
  return t;
}

const QUERIES: [string, unknown[][]][] = [
  ['DeviceProcessEvents | where ProcessCommandLine has "mimikatz" | project ReportId', [[2]]],
  ['DeviceProcessEvents | where ProcessCommandLine contains "mimikatz" | project ReportId | sort by ReportId asc', [[2], [4]]],
  ['DeviceProcessEvents | where ProcessCommandLine has "cmd.exe" | project ReportId | sort by ReportId asc', [[1], [3]]],
  ['DeviceProcessEvents | where ProcessCommandLine startswith "cmd" | project ReportId | sort by ReportId asc', [[1], [3]]],
  ['DeviceProcessEvents | where ProcessCommandLine !contains "mimikatz" | project ReportId | sort by ReportId asc', [[1], [3]]],
  ['DeviceProcessEvents | where ProcessCommandLine has_any ("whoami", "dir") | project ReportId | sort by ReportId asc', [[1], [3]]],
  ['DeviceProcessEvents | where ProcessCommandLine has_all ("cmd.exe", "dir") | project ReportId', [[3]]],
  ['DeviceProcessEvents | summarize count() by DeviceName, bin(Timestamp, 1h) | sort by DeviceName asc, Timestamp asc', [
    ['ws1', '2024-01-30T09:00:00.000Z', 1], ['ws1', '2024-01-31T10:00:00.000Z', 2], ['ws2', '2024-01-31T11:00:00.000Z', 1]]],
  ['DeviceProcessEvents | summarize n = count() by FileName | top 2 by n', [['cmd.exe', 2], ['powershell.exe', 1]]],
  ['DeviceProcessEvents | where FileName == "cmd.exe" | summarize count() by DeviceName | sort by DeviceName asc', [['ws1', 1], ['ws2', 1]]],
];

test('hunting and text indexes return the same rows as plain scans', async () => {
  const plain = seeded();
  const indexed = seeded();
  for (const ddl of [...HUNTING_INDEXES, ...HUNTING_TEXT_INDEXES]) indexed.db.exec(ddl);
  assert.equal(await createTextIndexer({ store: { db: indexed.kysely } }).catchUp(), 4);
  // A row the indexer has not reached yet is above the watermark and found by scanning.
  for (const t of [plain, indexed]) {
    t.insert('DeviceProcessEvents', [{ Timestamp: '2024-01-31T11:30:00.000Z', DeviceName: 'ws3', FileName: 'rundll32.exe', ProcessCommandLine: 'rundll32 mimikatz.dll', ReportId: 5 }]);
  }
  const withLate: Record<string, unknown[][]> = {
    [QUERIES[0][0]]: [[2], [5]],
    [QUERIES[1][0]]: [[2], [4], [5]],
  };
  for (const [q, expected] of QUERIES) {
    const want = withLate[q] ?? expected;
    if (q.includes('summarize') || q.includes('FileName ==')) continue;
    assert.deepEqual((await plain.hunting.hunt(q)).rows, want, `plain: ${q}`);
    assert.deepEqual((await indexed.hunting.hunt(q)).rows, want, `indexed: ${q}`);
  }
  assert.match(indexed.hunting.compile(QUERIES[0][0]).sql, /__text_ProcessCommandLine.* OR _t\d+\."\$Seq" > 4\)/);
  plain.close();
  indexed.close();
});

test('summarize streams over a covering index with the same groups', async () => {
  const plain = seeded();
  const indexed = seeded();
  for (const ddl of HUNTING_INDEXES) indexed.db.exec(ddl);
  for (const [q, expected] of QUERIES.filter(([x]) => x.includes('summarize'))) {
    assert.deepEqual((await plain.hunting.hunt(q)).rows, expected, `plain: ${q}`);
    assert.deepEqual((await indexed.hunting.hunt(q)).rows, expected, `indexed: ${q}`);
  }
  plain.close();
  indexed.close();
});

test('summarize reads a hunting index in key order only when the index exists', async () => {
  const plain = seeded();
  const indexed = seeded();
  for (const ddl of HUNTING_INDEXES) indexed.db.exec(ddl);
  const plan = (t: ReturnType<typeof seeded>, sql: string) => (t.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
  const byFile = 'DeviceProcessEvents | summarize n = count() by FileName | top 2 by n';
  const byHour = 'DeviceProcessEvents | summarize count() by DeviceName, bin(Timestamp, 1h)';
  // explain() reads which indexes exist first; compile() plans for those the last query saw.
  assert.match((await indexed.hunting.explain(byHour)).sql, /ORDER BY "_k0", "_k1"/);
  assert.doesNotMatch((await plain.hunting.explain(byHour)).sql, /ORDER BY "_k0"/);
  await plain.hunting.hunt(byFile);
  await indexed.hunting.hunt(byFile);
  // by FileName: one GROUP BY over the covering (FileName, Timestamp) index, no sort, no ordered subquery.
  const fileSql = indexed.hunting.compile(byFile).sql;
  assert.doesNotMatch(fileSql, /ORDER BY "_k0"/);
  assert.match(plan(indexed, fileSql), /SCAN DeviceProcessEvents USING COVERING INDEX ix_DeviceProcessEvents_hunt_file/);
  assert.doesNotMatch(plan(indexed, fileSql), /TEMP B-TREE FOR GROUP BY/);
  // by DeviceName, bin(Timestamp, 1h): rows in key order from the covering index; only the hour is sorted, per device.
  const hourSql = indexed.hunting.compile(byHour).sql;
  assert.match(plan(indexed, hourSql), /SCAN DeviceProcessEvents USING COVERING INDEX ix_DeviceProcessEvents_hunt_device/);
  assert.match(plan(indexed, hourSql), /TEMP B-TREE FOR LAST TERM OF ORDER BY/);
  // Without the indexes an ordered read would sort whole rows: plain GROUP BY instead.
  for (const q of [byFile, byHour]) assert.doesNotMatch(plain.hunting.compile(q).sql, /ORDER BY "_k0"/);
  assert.doesNotMatch(plan(plain, plain.hunting.compile(byFile).sql), /ix_DeviceProcessEvents_hunt/);
  // ingestion_time() is not in the index: no streaming, and the value is still there.
  const ingest = 'DeviceProcessEvents | summarize t = max(ingestion_time()) by FileName | top 1 by FileName asc';
  assert.doesNotMatch(indexed.hunting.compile(ingest).sql, /ORDER BY "_k0"/);
  assert.deepEqual((await indexed.hunting.hunt(ingest)).rows, [['cmd.exe', new Date(NOW).toISOString()]]);
  plain.close();
  indexed.close();
});

test('bag_unpack turns property keys found in the data into columns', async () => {
  const t = createTestHunting({ now: NOW });
  const res = await t.hunting.hunt(`datatable(id:long, d:dynamic)[1, dynamic({"a": 1, "b": "x"}), 2, dynamic({"c": true})] | evaluate bag_unpack(d) | sort by id asc`);
  assert.deepEqual(res.columns.map((c) => c.name), ['id', 'a', 'b', 'c']);
  assert.deepEqual(res.rows, [[1, 1, 'x', null], [2, null, null, 1]]);
  t.close();
});

test('pivot makes one column per value', async () => {
  const t = createTestHunting({ now: NOW });
  const res = await t.hunting.hunt(`datatable(dev:string, act:string)["a", "Block", "a", "Audit", "a", "Block", "b", "Audit"] | evaluate pivot(act) | sort by dev asc`);
  assert.deepEqual(res.columns.map((c) => c.name), ['dev', 'Audit', 'Block']);
  assert.deepEqual(res.rows, [['a', 1, 2], ['b', 1, 0]]);
  t.close();
});

test('search finds a term in any string column and Column:term in one', async () => {
  const t = seeded();
  assert.deepEqual((await t.hunting.hunt('DeviceProcessEvents | search "whoami" | project ReportId')).rows, [[1]]);
  assert.deepEqual((await t.hunting.hunt('search in (DeviceProcessEvents) FileName:"powershell.exe" | project ReportId')).rows, [[2]]);
  t.close();
});

test('ipv4_lookup joins addresses to the range that contains them', async () => {
  const t = createTestHunting({ now: NOW });
  const res = await t.hunting.hunt(`let ranges = datatable(net:string, site:string)["10.0.0.0/8", "corp", "192.168.1.0/24", "lab"];
datatable(ip:string)["10.1.2.3", "192.168.1.7", "8.8.8.8"] | evaluate ipv4_lookup(ranges, ip, net) | project ip, site | sort by ip asc`);
  assert.deepEqual(res.rows, [['10.1.2.3', 'corp'], ['192.168.1.7', 'lab']]);
  t.close();
});
