// Service-level tests of correlation, merges, dedup, suppression, workflow and risk.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type Store } from '../src/store/index.js';
import { createMemoryBus, type Bus } from '../src/bus/index.js';
import { createIncidentService, type IncidentService } from '../src/incidents/index.js';
import type { Evidence, RaisedAlert } from '../src/schema/index.js';

const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const HOUR = 60 * 60 * 1000;

let seq = 0;
function alert(over: Partial<RaisedAlert> & { evidence: Evidence[] }): RaisedAlert {
  seq++;
  const at = new Date(T0 + seq * 1000).toISOString();
  return {
    alertId: `al-${seq}`, title: `Alert ${seq}`, description: 'test alert', severity: 'medium', category: 'Execution',
    detectionSource: 'sigma', serviceSource: 'vigil', mitreTechniques: ['T1059'], tactics: ['execution'],
    rule: { id: `rule-${seq}`, title: `Rule ${seq}`, author: 'Jane Analyst', source: 'sigma' },
    firstActivity: at, lastActivity: at, events: [], dedupKey: `dk-${seq}`, ...over,
  };
}
const device = (id: string, role: Evidence['role'] = 'Impacted'): Evidence => ({ kind: 'device', key: id, label: id, role });
const user = (key: string): Evidence => ({ kind: 'user', key, label: key, role: 'Impacted' });
const file = (sha: string): Evidence => ({ kind: 'file', key: sha, label: 'evil.exe', role: 'Related', details: { FileName: 'evil.exe' } });
const SHA = 'a'.repeat(64);

describe('incident service', () => {
  let store: Store;
  let bus: Bus;
  let svc: IncidentService;
  let events: { type: string; payload: any }[];

  beforeEach(async () => {
    store = await createSqliteStore({ file: ':memory:' });
    bus = createMemoryBus();
    events = [];
    for (const type of ['device.risk-changed', 'user.risk-changed', 'incident.created', 'incident.updated'] as const) {
      bus.subscribe(type, (payload) => { events.push({ type, payload }); }, { name: `test-${type}` });
    }
    svc = await createIncidentService({ store, bus, now: () => T0 + 10 * HOUR });
  });
  afterEach(async () => {
    await svc.stop();
    await bus.close();
    await store.close();
  });

  async function raise(...alerts: RaisedAlert[]) {
    for (const a of alerts) await bus.publish('alert.raised', { alert: a });
    await bus.drain();
    await svc.flush();
    await bus.drain();
  }

  test('the same malicious file on two devices makes one incident covering both', async () => {
    await raise(
      alert({ evidence: [device('dev-1'), file(SHA)], tactics: ['execution'], category: 'Execution' }),
      alert({ evidence: [device('dev-2'), file(SHA)], tactics: ['persistence'], category: 'Persistence' }),
    );
    const page = await svc.listIncidents();
    assert.equal(page.items.length, 1);
    const detail = (await svc.getIncident(page.items[0].id))!;
    assert.equal(detail.alerts.length, 2);
    assert.deepEqual(detail.entities.filter((e) => e.kind === 'device').map((e) => e.key), ['dev-1', 'dev-2']);
    assert.equal(detail.displayName, 'Multi-stage incident involving Execution & Persistence on 2 devices');
    assert.equal(events.filter((e) => e.type === 'incident.created').length, 1);
  });

  test('unrelated alerts open separate incidents, and a loopback address relates nothing', async () => {
    const loopback: Evidence = { kind: 'ip', key: '127.0.0.1', label: 'localhost', role: 'Related' };
    await raise(alert({ evidence: [device('dev-1'), loopback] }), alert({ evidence: [device('dev-2'), loopback] }));
    assert.equal((await svc.listIncidents()).items.length, 2);
    const c2: Evidence = { kind: 'ip', key: '203.0.113.9', label: 'c2', role: 'Related' };
    await raise(alert({ evidence: [device('dev-3'), c2] }), alert({ evidence: [device('dev-4'), c2] }));
    assert.equal((await svc.listIncidents()).items.length, 3);
  });

  test('alerts sharing an entity but further apart than the window open separate incidents', async () => {
    const late = new Date(T0 + 30 * HOUR).toISOString();
    await raise(alert({ evidence: [device('dev-1')] }), alert({ evidence: [device('dev-1')], firstActivity: late, lastActivity: late }));
    assert.equal((await svc.listIncidents()).items.length, 2);
  });

  test('an alert that bridges two incidents merges them and the source redirects', async () => {
    await raise(alert({ evidence: [device('dev-1')], severity: 'low' }), alert({ evidence: [device('dev-2')], severity: 'high' }));
    const [second, first] = (await svc.listIncidents()).items; // newest activity first
    await raise(alert({ evidence: [device('dev-1'), device('dev-2')], severity: 'medium' }));
    const list = await svc.listIncidents();
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].id, first.id);
    assert.equal(list.items[0].severity, 'high');
    assert.equal(list.items[0].alertCount, 3);
    const viaSource = (await svc.getIncident(second.id))!;
    assert.equal(viaSource.id, first.id);
    assert.equal(viaSource.redirectedFrom, second.id);
    assert.equal(viaSource.alerts.length, 3);
    const redirected = await svc.listIncidents({ status: 'redirected' });
    assert.equal(redirected.items[0].redirectIncidentId, first.id);
    assert.ok(redirected.items[0].systemTags.includes('Redirected'));
  });

  test('a resolved incident is never merged into or joined', async () => {
    await raise(alert({ evidence: [device('dev-1')] }));
    const [inc] = (await svc.listIncidents()).items;
    await svc.updateIncident(inc.id, { status: 'resolved' }, 'alice');
    await raise(alert({ evidence: [device('dev-1')] }));
    const all = await svc.listIncidents();
    assert.equal(all.items.length, 2);
    const fresh = all.items.find((i) => i.id !== inc.id)!;
    assert.equal(fresh.status, 'active');
    await assert.rejects(svc.mergeIncidents(inc.id, [fresh.id], 'alice'), (e: any) => e.status === 409);
    await assert.rejects(svc.mergeIncidents(fresh.id, [inc.id], 'alice'), (e: any) => e.status === 409);
  });

  test('incidents with different assignees or classifications are not merged', async () => {
    await raise(alert({ evidence: [device('dev-1')] }), alert({ evidence: [device('dev-2')] }));
    const [b, a] = (await svc.listIncidents()).items;
    await svc.updateIncident(a.id, { assignedTo: 'alice' }, 'alice');
    await raise(alert({ evidence: [device('dev-1'), device('dev-2')] }));
    assert.equal((await svc.listIncidents()).items.length, 2);
    await assert.rejects(svc.mergeIncidents(a.id, [b.id], 'alice'), /different assignees/);
    await svc.updateIncident(b.id, { assignedTo: 'alice', classification: 'truePositive' }, 'alice');
    await assert.rejects(svc.mergeIncidents(a.id, [b.id], 'alice'), /different classifications/);
    await svc.updateIncident(b.id, { classification: 'unknown' }, 'alice');
    const merged = await svc.mergeIncidents(a.id, [b.id], 'alice');
    assert.equal(merged.alerts.length, 3);
    assert.ok(merged.alerts.every((x) => x.assignedTo === 'alice'));
  });

  test('a 10,000-alert storm from one rule on one device ends as one alert with count 10,000', async () => {
    const storm: RaisedAlert[] = [];
    for (let i = 0; i < 10_000; i++) {
      const at = new Date(T0 + i * 100).toISOString();
      storm.push(alert({ alertId: `storm-${i}`, evidence: [device('dev-9')], dedupKey: 'storm-rule|device:dev-9', firstActivity: at, lastActivity: at }));
    }
    await raise(...storm);
    const alerts = await svc.listAlerts({ deviceId: 'dev-9' });
    assert.equal(alerts.items.length, 1);
    assert.equal(alerts.items[0].count, 10_000);
    assert.equal(alerts.items[0].firstActivityDateTime, '2026-11-28T10:00:00.000Z');
    assert.equal(alerts.items[0].lastActivityDateTime, '2026-11-28T10:16:39.900Z');
    assert.equal((await svc.listIncidents()).items.length, 1);
  });

  test('each risk transition emits exactly one event and resolving lowers risk', async () => {
    await raise(alert({ evidence: [device('dev-1'), user('alice')], severity: 'low' }));
    await raise(alert({ evidence: [device('dev-1')], severity: 'low' }));
    await raise(alert({ evidence: [device('dev-1')], severity: 'high' }));
    assert.equal(svc.getDeviceRisk('dev-1'), 'high');
    assert.equal(svc.getUserRisk('alice'), 'low');
    const deviceEvents = () => events.filter((e) => e.type === 'device.risk-changed').map((e) => `${e.payload.old}->${e.payload.new}`);
    assert.deepEqual(deviceEvents(), ['none->low', 'low->high']);
    const alerts = (await svc.listAlerts({ deviceId: 'dev-1', sort: 'created' })).items;
    const high = alerts.find((a) => a.severity === 'high')!;
    const result = await svc.resolveAlerts([high.id, 'no-such-alert'], { by: 'response', reason: 'file quarantined' });
    await bus.drain();
    assert.deepEqual(result, { resolved: [high.id], alreadyResolved: [], notFound: ['no-such-alert'] });
    assert.deepEqual(deviceEvents(), ['none->low', 'low->high', 'high->low']);
    assert.equal(events.filter((e) => e.type === 'device.risk-changed').at(-1)!.payload.reason, 'file quarantined');
    const [inc] = (await svc.listIncidents()).items;
    await svc.updateIncident(inc.id, { status: 'resolved' }, 'alice');
    await bus.drain();
    assert.equal(svc.getDeviceRisk('dev-1'), 'none');
    assert.equal(svc.getUserRisk('alice'), 'none');
    assert.deepEqual(deviceEvents(), ['none->low', 'low->high', 'high->low', 'low->none']);
    assert.deepEqual(events.filter((e) => e.type === 'user.risk-changed').map((e) => `${e.payload.old}->${e.payload.new}`), ['none->low', 'low->none']);
    const after = await svc.listAlerts({ deviceId: 'dev-1' });
    assert.ok(after.items.every((a) => a.status === 'resolved'));
    assert.deepEqual(svc.listRiskyDevices(), []);
  });

  test('suppressed alerts are hidden and raise no risk; a new rule suppresses active alerts too', async () => {
    const { rule } = await svc.createSuppressionRule({ ruleId: 'noisy-rule', comment: 'backup job' }, 'admin');
    assert.equal(rule.createdBy, 'admin');
    await raise(alert({ evidence: [device('dev-5')], severity: 'high', rule: { id: 'noisy-rule', title: 'Noisy', source: 'sigma' } }));
    assert.equal(svc.getDeviceRisk('dev-5'), 'none');
    assert.equal((await svc.listAlerts({ deviceId: 'dev-5' })).items.length, 0);
    const hidden = await svc.listAlerts({ deviceId: 'dev-5', suppressed: 'true' });
    assert.equal(hidden.items.length, 1);
    assert.equal(hidden.items[0].suppressionRuleId, rule.id);
    assert.equal((await svc.listIncidents()).items.length, 0);
    assert.equal(events.filter((e) => e.type === 'device.risk-changed').length, 0);

    await raise(alert({ evidence: [device('dev-6'), file(SHA)], severity: 'medium' }));
    assert.equal(svc.getDeviceRisk('dev-6'), 'medium');
    const created = await svc.createSuppressionRule({ entity: { kind: 'file', key: SHA.toUpperCase() } }, 'admin');
    assert.equal(created.suppressedAlerts, 1);
    await bus.drain();
    assert.equal(svc.getDeviceRisk('dev-6'), 'none');
    assert.deepEqual(events.filter((e) => e.type === 'device.risk-changed').map((e) => `${e.payload.deviceId}:${e.payload.old}->${e.payload.new}`),
      ['dev-6:none->medium', 'dev-6:medium->none']);
  });

  test('suppression rules are audited, expire, and can be changed and deleted', async () => {
    const audited: { actor: string; action: string; target: string }[] = [];
    const auditStore = await createSqliteStore({ file: ':memory:' });
    const auditBus = createMemoryBus();
    const s = await createIncidentService({ store: auditStore, bus: auditBus, now: () => T0, audit: { record: (e) => { audited.push(e); } } });
    try {
      const { rule } = await s.createSuppressionRule({ fields: { FileName: ['EVIL.EXE'] }, expiresAt: new Date(T0 - 1000).toISOString() }, 'root');
      await s.ingest([alert({ evidence: [device('dev-x'), file(SHA)], severity: 'high' })]);
      assert.equal(s.getDeviceRisk('dev-x'), 'high'); // the rule had expired
      const updated = await s.updateSuppressionRule(rule.id, { expiresAt: null }, 'root2');
      assert.equal(updated.expiresAt, null);
      assert.equal(updated.createdBy, 'root');
      assert.equal(updated.updatedBy, 'root2');
      await s.ingest([alert({ evidence: [device('dev-y'), file('b'.repeat(64))], severity: 'high' })]);
      assert.equal(s.getDeviceRisk('dev-y'), 'none');
      await s.deleteSuppressionRule(rule.id, 'root');
      await assert.rejects(s.deleteSuppressionRule(rule.id, 'root'), (e: any) => e.status === 404);
      await assert.rejects(s.createSuppressionRule({ comment: 'no conditions' }, 'root'), (e: any) => e.status === 400);
      assert.deepEqual(audited.map((a) => `${a.actor} ${a.action} ${a.target}`),
        [`root suppression-rule.create ${rule.id}`, `root2 suppression-rule.update ${rule.id}`, `root suppression-rule.delete ${rule.id}`]);
    } finally {
      await s.stop();
      await auditBus.close();
      await auditStore.close();
    }
  });

  test('workflow: assignment propagates, comments and activity are kept, unlink and link move alerts', async () => {
    await raise(alert({ evidence: [device('dev-1')] }), alert({ evidence: [device('dev-1')] }));
    const [inc] = (await svc.listIncidents()).items;
    const updated = await svc.updateIncident(inc.id, {
      assignedTo: 'bob', status: 'inProgress', classification: 'truePositive', determination: 'compromisedAccount', customTags: ['ransomware'], displayName: 'Ransomware on finance',
    }, 'alice');
    assert.equal(updated.determination, 'compromisedUser');
    assert.equal(updated.displayName, 'Ransomware on finance');
    assert.ok(updated.alerts.every((a) => a.assignedTo === 'bob' && a.classification === 'truePositive'));
    assert.deepEqual(updated.activity.filter((a) => a.actor === 'alice').map((a) => a.action).sort(),
      ['assignedTo', 'classification', 'customTags', 'determination', 'displayName', 'status']);
    await svc.addComment(inc.id, 'looked at it', 'alice');
    await assert.rejects(svc.addComment(inc.id, 'x'.repeat(30_001), 'alice'), (e: any) => e.status === 400);

    const moved = await svc.unlinkAlert(updated.alerts[1].id, 'alice');
    assert.notEqual(moved.incident.id, inc.id);
    assert.equal(moved.alert.incidentId, moved.incident.id);
    assert.equal((await svc.getIncident(inc.id))!.alerts.length, 1);
    const back = await svc.linkAlert(moved.alert.id, inc.id, 'alice');
    assert.equal(back.incidentId, inc.id);
    assert.equal(back.assignedTo, 'bob');
    const emptied = (await svc.getIncident(moved.incident.id))!;
    assert.equal(emptied.id, inc.id);
    assert.equal(emptied.redirectedFrom, moved.incident.id);
    const detail = (await svc.getIncident(inc.id))!;
    assert.equal(detail.comments[0].text, 'looked at it');
    assert.ok(detail.timeline.some((t) => t.kind === 'comment'));
  });

  test('state survives a restart: dedup, correlation and risk continue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-inc-'));
    const fileStore = await createSqliteStore({ file: `${dir}/v.db` });
    const bus2 = createMemoryBus();
    try {
      let s = await createIncidentService({ store: fileStore, bus: bus2 });
      await s.ingest([alert({ alertId: 'r1', evidence: [device('dev-r')], severity: 'high', dedupKey: 'same' })]);
      await s.stop();
      s = await createIncidentService({ store: fileStore, bus: bus2 });
      assert.equal(s.getDeviceRisk('dev-r'), 'high');
      await s.ingest([alert({ alertId: 'r2', evidence: [device('dev-r')], severity: 'high', dedupKey: 'same' })]);
      await s.ingest([alert({ alertId: 'r3', evidence: [device('dev-r')], severity: 'low' })]);
      const alerts = await s.listAlerts({ sort: 'created' });
      assert.deepEqual(alerts.items.map((a) => [a.id, a.count]).sort(), [['r1', 2], ['r3', 1]]);
      assert.equal((await s.listIncidents()).items.length, 1);
      await s.stop();
    } finally {
      await bus2.close();
      await fileStore.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
