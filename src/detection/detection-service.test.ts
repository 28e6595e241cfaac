// Live detection over the in-memory bus and a SQLite store: alerts, AlertInfo/AlertEvidence rows,
// rule management with provenance, and the offline scan of log files in each supported format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../bus/index.js';
import type { RaisedAlert } from '../schema/index.js';
import { createSqliteStore } from '../store/index.js';
import { createDetectionEngine, createDetectionService, scanFiles, vigilRulePack } from './index.js';

const usbRow = {
  Timestamp: '2026-11-28T10:00:00.000Z', DeviceId: 'a'.repeat(40), DeviceName: 'laptop-7', ActionType: 'ProcessCreated',
  FileName: 'invoice.bin', FolderPath: '/media/alice/USB/invoice.bin', ProcessCommandLine: '/media/alice/USB/invoice.bin', ProcessId: 4242,
  AccountName: 'alice', SHA256: 'b'.repeat(64), InitiatingProcessFolderPath: '/usr/bin/nautilus', ReportId: 1,
};

test('an ingested row matching a rule raises an alert with the rule author, entities and stored rows', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const alerts: RaisedAlert[] = [];
  bus.subscribe('alert.raised', ({ alert }) => { alerts.push(alert); }, { name: 'test' });
  const service = await createDetectionService({ bus, store, rules: vigilRulePack() });
  try {
    await bus.publish('telemetry.ingested', { table: 'DeviceProcessEvents', sensorId: 's1', rows: [usbRow] });
    await bus.drain();
    assert.equal(alerts.length, 1);
    const a = alerts[0]!;
    assert.equal(a.title, 'Execution From Removable Media');
    assert.equal(a.severity, 'high');
    assert.equal(a.detectionSource, 'sigma');
    assert.equal(a.rule?.author, 'Vigil team');
    assert.equal(a.rule?.source, 'sigma');
    assert.deepEqual(a.mitreTechniques, ['T1091', 'T1204.002']);
    assert.deepEqual(a.tactics, ['Initial Access', 'Lateral Movement', 'Execution']);
    assert.equal(a.category, 'InitialAccess');
    assert.deepEqual(a.evidence.map((e) => e.kind), ['device', 'user', 'process', 'file']);
    assert.equal(a.evidence.find((e) => e.kind === 'file')!.key, 'b'.repeat(64));
    assert.equal(a.events[0]!.sensorId, 's1');
    const info = await store.telemetry.read('AlertInfo', {});
    assert.equal(info.rows.length, 1);
    assert.equal(info.rows[0]!.AlertId, a.alertId);
    assert.equal(info.rows[0]!.Severity, 'High');
    const evidence = await store.telemetry.read('AlertEvidence', {});
    assert.deepEqual(evidence.rows.map((r) => r.EntityType), ['Machine', 'User', 'Process', 'File']);
  } finally {
    service.close();
    await bus.close();
    await store.close();
  }
});

test('rules keep provenance, can be disabled, and the state survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-detection-'));
  try {
    const file = join(dir, 'vigil.db');
    writeFileSync(join(dir, 'r.yml'), 'title: Tmp exec\nid: tmp-exec\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel: { Image|startswith: /tmp/ }\n  condition: sel\n');
    writeFileSync(join(dir, 'bad.yml'), 'title: Broken\nlogsource: { product: linux }\ndetection:\n  sel: { Image|nonsense: x }\n  condition: sel\n');
    {
      const store = await createSqliteStore({ file });
      const bus = createMemoryBus();
      const service = await createDetectionService({ bus, store, subscribe: false });
      const report = await service.importRules([dir], { pack: 'local' });
      assert.equal(report.loaded, 1);
      assert.equal(report.failed.length, 1);
      assert.equal(report.failed[0]!.line, 4);
      const [rule] = await service.listRules();
      assert.equal(rule!.key, 'tmp-exec');
      assert.equal(rule!.pack, 'local');
      assert.equal(rule!.file, join(dir, 'r.yml'));
      assert.ok(rule!.importedAt);
      assert.equal((await service.setRuleEnabled('tmp-exec', false)).enabled, false);
      assert.deepEqual(await service.process('DeviceProcessEvents', 's', [{ FolderPath: '/tmp/x', Timestamp: '2026-01-01T00:00:00.000Z' }]), []);
      await assert.rejects(service.setRuleEnabled('nope', true), /not found/);
      service.close(); await bus.close(); await store.close();
    }
    {
      const store = await createSqliteStore({ file });
      const bus = createMemoryBus();
      const service = await createDetectionService({ bus, store, subscribe: false });
      const [rule] = await service.listRules();
      assert.equal(rule!.enabled, false);
      await service.setRuleEnabled('tmp-exec', true);
      const alerts = await service.process('DeviceProcessEvents', 's', [{ FolderPath: '/tmp/x', Timestamp: '2026-01-01T00:00:00.000Z', ReportId: 9 }]);
      assert.deepEqual(alerts.map((a) => a.title), ['Tmp exec']);
      service.close(); await bus.close(); await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scanFiles detects evtx_dump, canonical NDJSON, Winlogbeat and flat Windows JSON lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-scan-'));
  try {
    const engine = createDetectionEngine();
    engine.load([{ text: `title: Whoami
id: whoami
author: Test Author
logsource: { category: process_creation, product: windows }
detection:
  sel: { Image|endswith: '\\whoami.exe' }
  condition: sel
` }, ...vigilRulePack()]);
    const evtx = (image: string) => ({ Event: { System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } }, EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'pc1', TimeCreated: { '#attributes': { SystemTime: '2026-01-01T00:00:00Z' } } }, EventData: { Image: image, CommandLine: image } } });
    writeFileSync(join(dir, 'a.json'), `${JSON.stringify(evtx('C:\\Windows\\System32\\whoami.exe'), null, 2)}\n${JSON.stringify(evtx('C:\\x\\calc.exe'), null, 2)}`);
    writeFileSync(join(dir, 'b.ndjson'), `${JSON.stringify({ table: 'DeviceProcessEvents', row: usbRow })}\n${JSON.stringify({ ...usbRow, FolderPath: '/usr/bin/ls' })}\nnot json\n`);
    writeFileSync(join(dir, 'c.jsonl'), `${JSON.stringify({ '@timestamp': '2026-01-01T00:00:00Z', winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 1, computer_name: 'pc2', provider_name: 'Microsoft-Windows-Sysmon', event_data: { Image: 'C:\\Windows\\whoami.exe' } } })}\n`);
    writeFileSync(join(dir, 'd.json'), `${JSON.stringify({ EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'pc3', SourceName: 'Microsoft-Windows-Sysmon', EventTime: '2026-01-01 00:00:00', Image: 'C:\\Windows\\whoami.exe' })}\n`);
    const progress: number[] = [];
    const summary = await scanFiles(engine, [dir], { onProgress: (p) => progress.push(p.fileIndex) });
    assert.deepEqual(summary.files.map((f) => [f.format, f.events, f.matches, f.unreadable]), [
      ['evtx-json', 2, 1, 0], ['canonical-ndjson', 2, 1, 1], ['winlogbeat-json', 1, 1, 0], ['flat-windows-json', 1, 1, 0],
    ]);
    assert.equal(summary.events, 6);
    assert.deepEqual(summary.rules.map((r) => [r.title, r.level, r.hits, r.author]), [
      ['Execution From Removable Media', 'high', 1, 'Vigil team'], ['Whoami', 'medium', 3, 'Test Author'],
    ]);
    assert.deepEqual([...new Set(progress)], [0, 1, 2, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('placeholders from the operator fill |expand; a rule missing one is listed disabled and refuses to be enabled', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const alerts: RaisedAlert[] = [];
  bus.subscribe('alert.raised', ({ alert }) => { alerts.push(alert); }, { name: 'test' });
  const rule = (id: string, placeholder: string) => ({
    file: `${id}.yml`,
    text: `title: Admin tool by a non-admin ${id}\nid: ${id}\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel: { FileName: invoice.bin }\n  admins: { AccountName|expand: '%${placeholder}%' }\n  condition: sel and not admins\n`,
  });
  const service = await createDetectionService({ bus, store, placeholders: { '%Admins%': ['root', 'bob'] }, rules: [rule('with-values', 'Admins'), rule('without-values', 'Operators')] });
  try {
    const listed = await service.listRules();
    const waiting = listed.find((r) => r.key === 'without-values')!;
    assert.equal(waiting.enabled, false);
    assert.deepEqual(waiting.unresolvedPlaceholders, ['%Operators%']);
    await assert.rejects(service.setRuleEnabled('without-values', true), (e: Error & { status?: number }) => e.status === 409 && /%Operators%/.test(e.message));
    await bus.publish('telemetry.ingested', { table: 'DeviceProcessEvents', sensorId: 's1', rows: [usbRow, { ...usbRow, ReportId: 2, AccountName: 'bob' }] });
    await bus.drain();
    assert.deepEqual(alerts.map((a) => `${a.rule?.id} ${a.evidence.find((e) => e.kind === 'user')?.key}`), ['with-values alice']);
  } finally {
    service.close();
    await bus.close();
    await store.close();
  }
});
