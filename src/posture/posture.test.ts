import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSqliteStore } from '../store/index.js';
import { createMemoryBus } from '../bus/index.js';
import { createPosture, judgeCompliance, type CompliancePolicy } from './index.js';

async function setup(now: () => number = Date.now) {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const changes: string[] = [];
  bus.subscribe('device.compliance-changed', (e) => { changes.push(`${e.deviceId}:${e.old}->${e.new}`); }, { name: 'test' });
  const posture = await createPosture({ store, bus, now });
  return { store, bus, posture, changes, async close() { posture.close(); await bus.close(); await store.close(); } };
}

const policy = (maxRisk: CompliancePolicy['maxRisk'], maxSensorSilenceSeconds: number | null = null): CompliancePolicy => ({ id: 'p', name: 'P', maxRisk, maxSensorSilenceSeconds });

test('judgeCompliance: the maximum machine risk, as Intune counts it (clear admits no threat)', () => {
  const at = { lastSeen: null, enrolledAt: '2026-01-01T00:00:00.000Z' };
  assert.equal(judgeCompliance({ ...at, riskLevel: 'informational' }, policy('clear'), 0).state, 'compliant');
  assert.equal(judgeCompliance({ ...at, riskLevel: 'low' }, policy('clear'), 0).state, 'noncompliant');
  assert.equal(judgeCompliance({ ...at, riskLevel: 'medium' }, policy('low'), 0).state, 'noncompliant');
  assert.equal(judgeCompliance({ ...at, riskLevel: 'medium' }, policy('medium'), 0).state, 'compliant');
  assert.equal(judgeCompliance({ ...at, riskLevel: 'high' }, policy('high'), 0).state, 'compliant');
});

test('judgeCompliance: a silent sensor is noncompliant', () => {
  const d = { riskLevel: 'none' as const, lastSeen: '2026-01-01T00:00:00.000Z', enrolledAt: '2026-01-01T00:00:00.000Z' };
  const verdict = judgeCompliance(d, policy('low', 60), Date.parse('2026-01-01T00:02:00.000Z'));
  assert.equal(verdict.state, 'noncompliant');
  assert.equal(verdict.reason, "sensor silent for 120 s, over the 60 s allowed by compliance policy 'P'");
  assert.equal(judgeCompliance(d, policy('low', 600), Date.parse('2026-01-01T00:02:00.000Z')).state, 'compliant');
});

test("'device.enrolled' creates the inventory entry in the enrollment's group; risk changes drive compliance with a history", async () => {
  const s = await setup();
  try {
    const strict = await s.posture.createPolicy({ name: 'Strict', maxRisk: 'clear' });
    const servers = await s.posture.createGroup({ name: 'Servers', automationLevel: 'full', compliancePolicyId: strict.id });
    await s.bus.publish('device.enrolled', { deviceId: 'dev1', sensorId: 'sen1', hostname: 'web-1', os: 'Linux', osVersion: '6.8', deviceGroup: servers.id, publicKeyJwk: { kty: 'EC' } });
    await s.bus.drain();
    const d = await s.posture.getDevice('dev1');
    assert.equal(d?.hostname, 'web-1');
    assert.equal(d?.group.name, 'Servers');
    assert.equal(d?.complianceState, 'compliant');
    assert.equal(await s.posture.automationLevelOf('dev1'), 'full');
    assert.equal(await s.posture.automationLevelOf('unknown-device'), 'semi_all');

    await s.bus.publish('device.risk-changed', { deviceId: 'dev1', old: 'none', new: 'low', reason: 'alert A' });
    await s.bus.publish('device.risk-changed', { deviceId: 'dev1', old: 'low', new: 'high', reason: 'alert B' });
    await s.bus.publish('device.risk-changed', { deviceId: 'dev1', old: 'high', new: 'none', reason: 'resolved' });
    await s.bus.drain();
    const after = await s.posture.getDevice('dev1');
    assert.equal(after?.riskLevel, 'none');
    assert.deepEqual(after?.history.map((h) => `${h.old}->${h.new}`), ['unknown->compliant', 'compliant->noncompliant', 'noncompliant->compliant']);
    assert.match(after!.history[1].reason, /machine risk low is above the maximum 'clear' of compliance policy 'Strict' \(alert A\)/);
    assert.deepEqual(s.changes, ['dev1:unknown->compliant', 'dev1:compliant->noncompliant', 'dev1:noncompliant->compliant']);
  } finally { await s.close(); }
});

test('a risk change for a device not in the inventory is ignored', async () => {
  const s = await setup();
  try {
    await s.bus.publish('device.risk-changed', { deviceId: 'ghost', old: 'none', new: 'high', reason: 'x' });
    await s.bus.drain();
    assert.equal(await s.posture.getDevice('ghost'), undefined);
    assert.deepEqual(s.changes, []);
  } finally { await s.close(); }
});

test('changing a group policy re-evaluates its devices at once', async () => {
  const s = await setup();
  try {
    await s.posture.upsertDevice({ id: 'dev2', hostname: 'h' });
    await s.posture.setRisk('dev2', 'medium', 'alert');
    assert.equal((await s.posture.getDevice('dev2'))?.complianceState, 'noncompliant');
    const lenient = await s.posture.createPolicy({ name: 'Lenient', maxRisk: 'high' });
    await s.posture.updateGroup('default', { compliancePolicyId: lenient.id });
    assert.equal((await s.posture.getDevice('dev2'))?.complianceState, 'compliant');
    await s.posture.updatePolicy(lenient.id, { maxRisk: 'low' });
    assert.equal((await s.posture.getDevice('dev2'))?.complianceState, 'noncompliant');
  } finally { await s.close(); }
});

test('sensor silence is judged when compliance is evaluated (sign-in), without a timer', async () => {
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const s = await setup(() => now);
  try {
    const p = await s.posture.createPolicy({ name: 'Heartbeat', maxRisk: 'high', maxSensorSilenceSeconds: 300 });
    const g = await s.posture.createGroup({ name: 'Laptops', compliancePolicyId: p.id });
    await s.posture.upsertDevice({ id: 'dev3', sensorId: 's3', groupId: g.id });
    now += 600_000;
    assert.equal((await s.posture.evaluate('dev3'))?.complianceState, 'noncompliant');
    await s.bus.publish('telemetry.ingested', { table: 'DeviceEvents', sensorId: 's3', rows: [] });
    await s.bus.drain();
    assert.equal((await s.posture.evaluate('dev3'))?.complianceState, 'compliant');
  } finally { await s.close(); }
});

test('bad input fails with the field named; defaults cannot be deleted', async () => {
  const s = await setup();
  try {
    await assert.rejects(s.posture.createPolicy({ name: 'x', maxRisk: 'severe' as any }), /'maxRisk' must be one of clear, low, medium, high/);
    await assert.rejects(s.posture.createGroup({ name: 'x', automationLevel: 'yolo' as any }), /'automationLevel' must be one of/);
    await assert.rejects(s.posture.deleteGroup('default'), /cannot be deleted/);
    await assert.rejects(s.posture.deletePolicy('default'), /cannot be deleted/);
    await assert.rejects(s.posture.upsertDevice({ id: 'bad id!' }), /device 'id'/);
  } finally { await s.close(); }
});
