import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicies, normalisePolicy, type CaPolicy, type SignInContext } from './conditional-access.js';

let n = 0;
const policy = (body: Record<string, unknown>): CaPolicy => ({ id: `p${++n}`, createdAt: '2026-01-01T00:00:00.000Z', ...normalisePolicy({ name: `P${n}`, ...body }) });
const ctx = (over: Partial<SignInContext> = {}): SignInContext => ({
  userKey: 'alice', userGroups: [], userRisk: 'none', appId: 'corp',
  device: { id: 'd1', complianceState: 'compliant', reason: 'ok' }, ...over,
});

test('require compliant device: compliant passes, noncompliant and unknown fail with the reason', () => {
  const p = policy({ targets: { includeUsers: ['all'] }, grant: 'requireCompliantDevice' });
  assert.deepEqual([evaluatePolicies([p], ctx()).allowed, evaluatePolicies([p], ctx()).status], [true, 0]);
  const bad = evaluatePolicies([p], ctx({ device: { id: 'd1', complianceState: 'noncompliant', reason: 'machine risk high' } }));
  assert.equal(bad.allowed, false);
  assert.equal(bad.status, 1);
  assert.equal(bad.blockedBy?.reason, 'requires a compliant device, and device d1 is noncompliant: machine risk high');
  const unknown = evaluatePolicies([p], ctx({ device: undefined }));
  assert.equal(unknown.blockedBy?.reason, 'requires a compliant device, and the sign-in did not come from an enrolled device');
});

test('targets: users, groups, exclusions and apps', () => {
  const p = policy({ targets: { includeGroups: ['g-sales'], excludeUsers: ['bob'], includeApps: ['corp'] }, grant: 'block' });
  assert.equal(evaluatePolicies([p], ctx({ userGroups: ['g-sales'] })).allowed, false);
  assert.equal(evaluatePolicies([p], ctx({ userGroups: [] })).status, 2, 'not in the group: not applied');
  assert.equal(evaluatePolicies([p], ctx({ userKey: 'bob', userGroups: ['g-sales'] })).allowed, true);
  assert.equal(evaluatePolicies([p], ctx({ userGroups: ['g-sales'], appId: 'wiki' })).allowed, true);
  const excludeApp = policy({ targets: { includeUsers: ['alice'], excludeApps: ['wiki'] }, grant: 'block' });
  assert.equal(evaluatePolicies([excludeApp], ctx({ appId: 'wiki' })).allowed, true);
  assert.equal(evaluatePolicies([excludeApp], ctx({ appId: 'corp' })).allowed, false);
});

test('conditions: user risk and device state narrow when a policy applies', () => {
  const risky = policy({ targets: { includeUsers: ['all'] }, conditions: { userRiskLevels: ['high'] }, grant: 'block' });
  assert.equal(evaluatePolicies([risky], ctx({ userRisk: 'medium' })).status, 2);
  const blocked = evaluatePolicies([risky], ctx({ userRisk: 'high' }));
  assert.equal(blocked.allowed, false);
  assert.equal(blocked.blockedBy?.reason, 'blocked by policy (device compliant, user risk high)');
  const unknownDevices = policy({ targets: { includeUsers: ['all'] }, conditions: { deviceStates: ['unknown'] }, grant: 'block' });
  assert.equal(evaluatePolicies([unknownDevices], ctx()).allowed, true);
  assert.equal(evaluatePolicies([unknownDevices], ctx({ device: undefined })).allowed, false);
});

test('report-only and disabled policies never block; the first enforced failure names the policy', () => {
  const reportOnly = policy({ state: 'reportOnly', targets: { includeUsers: ['all'] }, grant: 'block' });
  const disabled = policy({ state: 'disabled', targets: { includeUsers: ['all'] }, grant: 'block' });
  const d = evaluatePolicies([reportOnly, disabled], ctx());
  assert.equal(d.allowed, true);
  assert.deepEqual(d.policies.map((p) => p.result), ['reportOnlyFailure']);
  const first = policy({ targets: { includeUsers: ['alice'] }, grant: 'requireCompliantDevice' });
  const second = policy({ targets: { includeUsers: ['alice'] }, grant: 'block' });
  const both = evaluatePolicies([first, second], ctx());
  assert.equal(both.blockedBy?.policy.id, second.id);
  assert.deepEqual(both.policies.map((p) => p.result), ['success', 'failure']);
});

test('policy bodies are validated with the field named', () => {
  assert.throws(() => normalisePolicy({ name: 'x', grant: 'allow' }), /'grant' must be one of block, requireCompliantDevice/);
  assert.throws(() => normalisePolicy({ name: 'x', grant: 'block', targets: {} }), /must include users or groups/);
  assert.throws(() => normalisePolicy({ name: 'x', grant: 'block', targets: { includeUsers: ['all'] }, conditions: { deviceStates: ['shiny'] } }), /conditions.deviceStates/);
  assert.throws(() => normalisePolicy({ name: '', grant: 'block' }), /'name'/);
});
