// Admin API of identity and posture: CRUD with role checks, every change audited; CA refusals at the
// token endpoint name the policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { refresh, signIn } from '../examples/corporate-app/sign-in.js';
import { ALICE_PASSWORD, REDIRECT_URI, enrollDevice, setUpAccess, type AccessFixture } from './access-helpers.js';

let t: TestPlatform;
let fx: AccessFixture;
let reader = '';

before(async () => {
  t = await startPlatform();
  fx = await setUpAccess(t);
  const r = await t.api('/api/v1/auth/login', { body: { username: 'alice', password: ALICE_PASSWORD } });
  reader = r.body.token;
});
after(async () => { await t?.stop(); });

test('device groups and compliance policies: CRUD, validation, roles, audit', async () => {
  const policy = await t.api('/api/v1/compliance-policies', { token: t.adminToken, body: { name: 'Servers: clear only', maxRisk: 'clear', maxSensorSilenceSeconds: 900 } });
  assert.equal(policy.status, 201);
  assert.deepEqual({ ...policy.body, id: 'x' }, { id: 'x', name: 'Servers: clear only', maxRisk: 'clear', maxSensorSilenceSeconds: 900 });
  assert.equal((await t.api('/api/v1/compliance-policies', { token: t.adminToken, body: { name: 'bad', maxRisk: 'none' } })).status, 400);
  assert.equal((await t.api('/api/v1/compliance-policies', { token: reader, body: { name: 'r', maxRisk: 'low' } })).status, 403);
  const group = await t.api('/api/v1/device-groups', { token: t.adminToken, body: { name: 'Servers', automationLevel: 'full', compliancePolicyId: policy.body.id } });
  assert.equal(group.status, 201);
  assert.equal((await t.api('/api/v1/device-groups', { token: t.adminToken, body: { name: 'Servers' } })).status, 409);
  const listed = await t.api('/api/v1/device-groups', { token: reader });
  assert.deepEqual(listed.body.deviceGroups.map((g: any) => g.name), ['Default', 'Servers']);
  const patched = await t.api(`/api/v1/device-groups/${group.body.id}`, { method: 'PATCH', token: t.adminToken, body: { automationLevel: 'semi_core' } });
  assert.equal(patched.body.automationLevel, 'semi_core');
  assert.equal((await t.api('/api/v1/compliance-policies/' + policy.body.id, { method: 'DELETE', token: t.adminToken })).status, 409, 'in use');
  await enrollDevice(t, 'e4'.repeat(20));
  const moved = await t.api(`/api/v1/devices/${'e4'.repeat(20)}`, { method: 'PUT', token: t.adminToken, body: { groupId: group.body.id } });
  assert.equal(moved.body.group.name, 'Servers');
  assert.equal(await t.platform.posture.automationLevelOf('e4'.repeat(20)), 'semi_core');
  const devices = await t.api('/api/v1/devices', { token: reader });
  assert.deepEqual(devices.body.devices.map((d: any) => [d.id, d.complianceState, d.os]), [['e4'.repeat(20), 'compliant', 'Linux']]);
  assert.equal((await t.api('/api/v1/devices/nope', { token: reader })).status, 404);
  assert.equal((await t.api('/api/v1/devices')).status, 401);
  const audit = await t.platform.audit.list({ actor: 'admin' });
  const actions = audit.map((e) => e.action);
  for (const a of ['compliance-policy.create', 'device-group.create', 'device-group.update', 'device.upsert']) assert.ok(actions.includes(a), a);
});

test('groups, apps and CA policies: CRUD, validation, roles, audit', async () => {
  const group = await t.api('/api/v1/groups', { token: t.adminToken, body: { name: 'Finance', members: ['Alice', 'bob'] } });
  assert.equal(group.status, 201);
  assert.deepEqual(group.body.members, ['alice', 'bob']);
  const user = await t.api('/api/v1/users/alice', { token: reader });
  assert.equal(user.status, 200);
  assert.deepEqual([user.body.username, user.body.riskLevel, user.body.groups], ['alice', 'none', [group.body.id]]);
  assert.equal(user.body.password_hash, undefined);
  const app = await t.api('/api/v1/apps', { token: t.adminToken, body: { name: 'Wiki', redirectUris: ['https://wiki.example/cb'] } });
  assert.equal(app.status, 201);
  assert.equal(app.body.confidential, false);
  assert.equal(app.body.clientSecret, undefined);
  assert.equal((await t.api('/api/v1/apps', { token: t.adminToken, body: { name: 'Bad', grantTypes: ['client_credentials'], confidential: false } })).status, 400);
  assert.equal((await t.api('/api/v1/apps', { token: t.adminToken, body: { name: 'Bad', redirectUris: ['not a url'] } })).status, 400);
  assert.equal((await t.api('/api/v1/apps', { token: reader, body: { name: 'X', redirectUris: ['https://x/cb'] } })).status, 403);
  const bad = await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'x', grant: 'maybe', targets: { includeUsers: ['all'] } } });
  assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_policy']);
  const ca = await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Finance: block wiki', targets: { includeGroups: [group.body.id], includeApps: [app.body.id] }, grant: 'block' } });
  assert.equal(ca.status, 201);
  const replaced = await t.api(`/api/v1/conditional-access/policies/${ca.body.id}`, { method: 'PUT', token: t.adminToken, body: { name: 'Finance: block wiki', state: 'reportOnly', targets: { includeGroups: [group.body.id], includeApps: [app.body.id] }, grant: 'block' } });
  assert.equal(replaced.body.state, 'reportOnly');
  assert.equal((await t.api(`/api/v1/conditional-access/policies/${ca.body.id}`, { method: 'DELETE', token: t.adminToken })).status, 204);
  assert.equal((await t.api(`/api/v1/conditional-access/policies/${ca.body.id}`, { token: reader })).status, 404);
  assert.equal((await t.api(`/api/v1/apps/${app.body.id}`, { method: 'DELETE', token: t.adminToken })).status, 204);
  const actions = (await t.platform.audit.list({ actor: 'admin' })).map((e) => e.action);
  for (const a of ['group.create', 'app.create', 'ca-policy.create', 'ca-policy.replace', 'ca-policy.delete', 'app.delete']) assert.ok(actions.includes(a), a);
});

test('a policy added after sign-in refuses the next refresh with invalid_grant naming the policy', async () => {
  const device = await enrollDevice(t, 'f5'.repeat(20));
  const r = await signIn({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD, device });
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) return;
  const ca = await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Freeze the corporate app', targets: { includeUsers: ['alice'], includeApps: [fx.clientId] }, grant: 'block' } });
  const refused = await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: r.tokens.refresh_token! });
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.status, 400);
    assert.equal(refused.error, 'invalid_grant');
    assert.equal(refused.error_description, `Conditional Access policy 'Freeze the corporate app' (${ca.body.id}) blocked by policy (device compliant)`);
  }
  const rows = (await t.platform.store.telemetry.read('EntraIdSignInEvents', { limit: 1000 })).rows;
  const last = rows.at(-1)!;
  assert.deepEqual([last.EndpointCall, last.ConditionalAccessStatus, last.ErrorCode], ['token:refresh_token', 1, 53003]);
  await t.api(`/api/v1/conditional-access/policies/${ca.body.id}`, { method: 'DELETE', token: t.adminToken });
});
