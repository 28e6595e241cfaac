import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus, type Bus } from '../bus/index.js';
import type { RaisedAlert } from '../schema/index.js';
import { createSqliteStore, type Store } from '../store/index.js';
import {
  createCustomDetections, createHuntingService, KQL_SQL_FUNCTIONS_MODULE, type CustomDetectionRuleInput, type CustomDetections,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-kql-rules-'));
let store: Store;
let bus: Bus;
let rules: CustomDetections;
const alerts: RaisedAlert[] = [];
let reportId = 1;

const encoded = (n: number, minutesAgo = 5) => Array.from({ length: n }, () => ({
  Timestamp: new Date(Date.now() - minutesAgo * 60_000).toISOString(), DeviceId: 'dev-1', DeviceName: 'ws-alice',
  AccountUpn: 'Alice@contoso.com', FileName: 'powershell.exe', ProcessCommandLine: `powershell -EncodedCommand QQB${reportId}`, ReportId: reportId++,
}));

const rule = (over: Partial<CustomDetectionRuleInput> = {}): CustomDetectionRuleInput => ({
  name: 'Encoded PowerShell',
  query: 'DeviceProcessEvents | where ProcessCommandLine has "EncodedCommand" | project Timestamp, ReportId, DeviceId, DeviceName, AccountUpn, ProcessCommandLine',
  frequency: '1h',
  alert: { title: 'Encoded PowerShell on {{DeviceName}}', severity: 'medium', category: 'Execution', mitreTechniques: ['T1059.001'] },
  entities: { device: 'DeviceId', user: 'AccountUpn' },
  ...over,
});

before(async () => {
  store = await createSqliteStore({ file: join(dir, 'vigil.db'), queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE });
  bus = createMemoryBus();
  bus.subscribe('alert.raised', (e) => {
    alerts.push(e.alert);
  }, { name: 'test' });
  rules = await createCustomDetections({ store, bus, hunting: createHuntingService({ store }) });
});

after(async () => {
  await rules.stop();
  await bus.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a rule must return Timestamp, ReportId and its mapped entity columns', async () => {
  await assert.rejects(rules.create(rule({ query: 'DeviceProcessEvents | project Timestamp, DeviceId' }), 'alice'), /ReportId/);
  await assert.rejects(rules.create(rule({ entities: { device: 'NoSuchColumn' } }), 'alice'), /NoSuchColumn/);
  await assert.rejects(rules.create(rule({ query: 'DeviceProcessEvents | where' }), 'alice'), (e: any) => e.code === 'invalid_rule' && /does not compile/.test(e.message));
});

test('continuous rules may not join', async () => {
  await assert.rejects(
    rules.create(rule({ frequency: 'continuous', query: 'DeviceProcessEvents | join (DeviceNetworkEvents) on DeviceId | project Timestamp, ReportId, DeviceId', entities: { device: 'DeviceId' } }), 'alice'),
    /may not use join or union/,
  );
});

test('a scheduled rule raises one alert per new row, with entities, and never twice', async () => {
  await store.telemetry.append('DeviceProcessEvents', 'sensor-1', encoded(2));
  const created = await rules.create(rule(), 'alice');
  assert.equal(created.createdBy, 'alice');
  alerts.length = 0;
  const first = await rules.run(created.id);
  await bus.drain();
  assert.deepEqual({ rows: first.rows, alerts: first.alerts, capped: first.capped }, { rows: 2, alerts: 2, capped: false });
  assert.equal(alerts.length, 2);
  assert.equal(alerts[0].title, 'Encoded PowerShell on ws-alice');
  assert.equal(alerts[0].detectionSource, 'customDetection');
  assert.deepEqual(alerts[0].evidence.map((e) => [e.kind, e.key, e.role]), [['device', 'dev-1', 'Impacted'], ['user', 'alice@contoso.com', 'Impacted']]);
  assert.deepEqual(alerts[0].mitreTechniques, ['T1059.001']);
  const second = await rules.run(created.id);
  assert.equal(second.alerts, 0);
  assert.match((await rules.get(created.id)).lastRunStatus ?? '', /^ok: 2 rows, 0 alerts/);
  await rules.remove(created.id);
});

test('at most 100 alerts per run; the rest come on the next run', async () => {
  const created = await rules.create(rule({ query: 'DeviceProcessEvents | where ProcessCommandLine has "EncodedCommand" | where Timestamp > ago(2h) | project Timestamp, ReportId, DeviceId' , entities: { device: 'DeviceId' } }), 'alice');
  await store.telemetry.append('DeviceProcessEvents', 'sensor-1', encoded(148, 1));
  const first = await rules.run(created.id);
  assert.equal(first.alerts, 100);
  assert.equal(first.capped, true);
  const second = await rules.run(created.id);
  assert.equal(second.alerts, 50);
  assert.equal(second.capped, false);
  await rules.remove(created.id);
});

test('a continuous rule reads only rows that arrived after it was saved', async () => {
  const created = await rules.create(rule({ frequency: 'continuous' }), 'alice');
  assert.equal((await rules.run(created.id)).rows, 0);
  await store.telemetry.append('DeviceProcessEvents', 'sensor-2', encoded(3));
  const report = await rules.run(created.id);
  assert.deepEqual({ rows: report.rows, alerts: report.alerts }, { rows: 3, alerts: 3 });
  assert.equal((await rules.run(created.id)).rows, 0);
});
