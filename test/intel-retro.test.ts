// Retro-hunt: a new indicator is searched backwards through telemetry stored before it existed
// (30 days by default); sightings raise alerts on the devices and mailboxes involved, and
// block_and_remediate queues quarantine through the injected response callback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type Store } from '../src/store/index.js';
import { createMemoryBus, type Bus } from '../src/bus/index.js';
import { createIntelService, type IntelService, type RemediationProposal } from '../src/intel/index.js';
import type { RaisedAlert } from '../src/schema/index.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString();
const BAD = '5'.repeat(64);

let dir: string;
let store: Store;
let bus: Bus;
let intel: IntelService;
const alerts: RaisedAlert[] = [];
const proposals: RemediationProposal[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-intel-retro-'));
  store = await createSqliteStore({ file: join(dir, 'vigil.db') }); // a file: retro-hunts run on the read-only query worker
  bus = createMemoryBus();
  intel = await createIntelService({
    store, bus, now: () => NOW, sweepIntervalMs: 0,
    proposeRemediation: (p) => { proposals.push(p); },
  });
  bus.subscribe('alert.raised', ({ alert }) => { alerts.push(alert); }, { name: 'test' });
  // Telemetry that arrived before any indicator existed.
  await store.telemetry.append('DeviceFileEvents', 'sensor-1', [
    { Timestamp: at(3), DeviceId: 'dev1', DeviceName: 'pc1', ActionType: 'FileCreated', FileName: 'invoice.exe', FolderPath: '/home/u/Downloads/invoice.exe', SHA256: BAD.toUpperCase(), ReportId: 1, InitiatingProcessAccountName: 'alice' },
    { Timestamp: at(40), DeviceId: 'dev2', DeviceName: 'pc2', ActionType: 'FileCreated', FileName: 'old.exe', FolderPath: '/tmp/old.exe', SHA256: BAD, ReportId: 2 },
    { Timestamp: at(1), DeviceId: 'dev3', DeviceName: 'pc3', ActionType: 'FileCreated', FileName: 'fine.txt', FolderPath: '/tmp/fine.txt', SHA256: '6'.repeat(64), ReportId: 3 },
  ]);
  await store.telemetry.append('EmailAttachmentInfo', 'mail-gw', [
    { Timestamp: at(2), NetworkMessageId: 'msg-1', SenderFromAddress: 'Evil@Bad.example', RecipientEmailAddress: 'Bob@Corp.example', FileName: 'invoice.exe', SHA256: BAD, ReportId: 'r1' },
  ]);
  await store.telemetry.append('DeviceNetworkEvents', 'sensor-1', [
    { Timestamp: at(5), DeviceId: 'dev1', DeviceName: 'pc1', ActionType: 'ConnectionSuccess', RemoteIP: '203.0.113.50', RemoteUrl: 'cdn.evil.example', ReportId: 10 },
    { Timestamp: at(5), DeviceId: 'dev1', DeviceName: 'pc1', ActionType: 'ConnectionSuccess', RemoteIP: '203.0.113.51', RemoteUrl: 'notevil.example', ReportId: 11 },
  ]);
  await store.telemetry.append('DeviceLogonEvents', 'sensor-4', [
    { Timestamp: at(2), DeviceId: 'dev4', DeviceName: 'srv4', ActionType: 'LogonSuccess', AccountName: 'svc', RemoteIP: '198.51.100.23', ReportId: 40 },
    { Timestamp: at(2), DeviceId: 'dev4', DeviceName: 'srv4', ActionType: 'LogonSuccess', AccountName: 'svc', RemoteIP: '198.51.101.23', ReportId: 41 },
  ]);
  await store.telemetry.append('EmailEvents', 'mail-gw', [
    { Timestamp: at(6), NetworkMessageId: 'msg-2', SenderFromAddress: 'x@bad.example', RecipientEmailAddress: 'carol@corp.example', Subject: 'Reset', ReportId: 'e1' },
    { Timestamp: at(6), NetworkMessageId: 'msg-2', SenderFromAddress: 'x@bad.example', RecipientEmailAddress: 'dave@corp.example', Subject: 'Reset', ReportId: 'e2' },
  ]);
  await store.telemetry.append('EmailUrlInfo', 'mail-gw', [
    { Timestamp: at(6), NetworkMessageId: 'msg-2', Url: 'https://login.evil.example/reset', UrlDomain: 'login.evil.example', ReportId: 'u1' },
  ]);
});

after(async () => {
  await intel.close();
  await bus.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a new file indicator finds past sightings on devices and mailboxes, within 30 days only', async () => {
  alerts.length = 0;
  const ind = await intel.create({ type: 'sha256', value: BAD, action: 'block_and_remediate', title: 'Invoice dropper', severity: 'high' }, 'alice');
  await intel.settled();
  await bus.drain();
  const impacted = alerts.map((a) => a.evidence.filter((e) => e.role === 'Impacted').map((e) => `${e.kind}:${e.key}`).join(' ')).sort();
  assert.deepEqual(impacted, ['device:dev1 user:alice', 'mailbox:bob@corp.example mailMessage:msg-1']);
  for (const a of alerts) {
    assert.equal(a.detectionSource, 'customTi');
    assert.equal(a.rule?.id, ind.id);
    assert.match(a.description, /^Retro-hunt: past sighting/);
  }
  const device = alerts.find((a) => a.evidence[0].kind === 'device')!;
  assert.equal(device.firstActivity, at(3));
  assert.deepEqual(device.events.map((e) => [e.table, e.reportId, e.sensorId]), [['DeviceFileEvents', 1, 'sensor-1']]);
  assert.deepEqual(proposals, [{
    deviceId: 'dev1', kind: 'quarantine_file', params: { sha256: BAD, path: '/home/u/Downloads/invoice.exe' },
    reason: `retro-hunt: Invoice dropper (indicator ${ind.id}, sha256 ${BAD}) seen at ${at(3)}`, indicatorId: ind.id,
  }]);
});

test('a new domain indicator finds connections to subdomains and mailed URLs, with the recipients', async () => {
  alerts.length = 0;
  const report = await intel.retroHunt([(await intel.create({ type: 'domain', value: 'evil.example', action: 'block', title: 'Phish domain' }, 'alice', { retroHunt: false })).id]);
  await bus.drain();
  assert.deepEqual([report.sightings, report.alerts, report.truncated], [2, 2, false]);
  const impacted = alerts.map((a) => a.evidence.filter((e) => e.role === 'Impacted').map((e) => `${e.kind}:${e.key}`).join(' ')).sort();
  assert.deepEqual(impacted, ['device:dev1', 'mailbox:carol@corp.example mailbox:dave@corp.example mailMessage:msg-2']);
  assert.deepEqual(alerts.map((a) => a.evidence.find((e) => e.role === 'Related')?.key).sort(), ['cdn.evil.example', 'https://login.evil.example/reset']);
});

test('an allow indicator hunts nothing, and a shorter window misses older sightings', async () => {
  alerts.length = 0;
  await intel.create({ type: 'ipv4', value: '203.0.113.51', action: 'allow', title: 'ok' }, 'alice');
  await intel.settled();
  const ip = await intel.create({ type: 'ipv4', value: '203.0.113.50', action: 'audit', title: 'c2' }, 'alice', { retroHunt: false });
  assert.equal((await intel.retroHunt([ip.id], { days: 4 })).sightings, 0);
  assert.equal((await intel.retroHunt([ip.id], { days: 6 })).sightings, 1);
  await bus.drain();
  assert.equal(alerts.length, 1);
});

test('a CIDR indicator finds addresses inside its range only', async () => {
  alerts.length = 0;
  const range = await intel.create({ type: 'cidr', value: '198.51.100.0/24', action: 'warn', title: 'Bad range' }, 'alice', { retroHunt: false });
  const report = await intel.retroHunt([range.id]);
  await bus.drain();
  assert.equal(report.sightings, 1);
  assert.deepEqual(alerts.map((a) => [a.evidence[0].key, a.evidence.find((e) => e.kind === 'ip')?.key]), [['dev4', '198.51.100.23']]);
});
