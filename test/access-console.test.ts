// Analysts sign in to the console through Vigil's provider: the access token is an API principal with
// the user's role, and Conditional Access keeps applying to it request by request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { signIn } from '../examples/corporate-app/sign-in.js';
import { ALICE_PASSWORD, enrollDevice, setUpAccess, type AccessFixture } from './access-helpers.js';

let t: TestPlatform;
let fx: AccessFixture;
before(async () => {
  t = await startPlatform();
  fx = await setUpAccess(t);
});
after(async () => { await t?.stop(); });

test('console sign-in through the provider, with role checks and Conditional Access on every request', async () => {
  const app = await t.api('/api/v1/apps/vigil-console', { token: t.adminToken });
  assert.deepEqual([app.status, app.body.resource, app.body.confidential], [200, `${t.url}/api`, false]);
  const device = await enrollDevice(t, 'ab'.repeat(20));
  const r = await signIn({ issuer: fx.issuer, clientId: 'vigil-console', redirectUri: `${t.url}/oidc-callback`, username: 'alice', password: ALICE_PASSWORD, device, resource: `${t.url}/api` });
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) return;
  const me = await t.api('/api/v1/me', { token: r.tokens.access_token });
  assert.equal(me.status, 200);
  assert.deepEqual([me.body.kind, me.body.name, me.body.role], ['user', 'alice', 'reader']);
  assert.equal((await t.api('/api/v1/devices', { token: r.tokens.access_token })).status, 200);
  assert.equal((await t.api('/api/v1/apps', { token: r.tokens.access_token, body: { name: 'x', redirectUris: ['https://x/cb'] } })).status, 403);
  // A token for another app is not a console token.
  const corp = await signIn({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, redirectUri: 'http://127.0.0.1:9/callback', username: 'alice', password: ALICE_PASSWORD, device });
  assert.equal(corp.ok, true);
  if (corp.ok) assert.equal((await t.api('/api/v1/me', { token: corp.tokens.access_token })).status, 401);

  // The console is in scope of a compliant-device policy: once the device is noncompliant, the same token stops working.
  await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Console needs a compliant device', targets: { includeUsers: ['all'], includeApps: ['vigil-console'] }, grant: 'requireCompliantDevice' } });
  assert.equal((await t.api('/api/v1/me', { token: r.tokens.access_token })).status, 200);
  await t.platform.posture.setRisk('ab'.repeat(20), 'high', 'test');
  assert.equal((await t.api('/api/v1/me', { token: r.tokens.access_token })).status, 401);
  await t.platform.bus.drain();
  await t.platform.posture.setRisk('ab'.repeat(20), 'none', 'cleared');
  // Compliant again: the old token stays dead (its grant was revoked); a new sign-in works.
  assert.equal((await t.api('/api/v1/me', { token: r.tokens.access_token })).status, 401);
  const again = await signIn({ issuer: fx.issuer, clientId: 'vigil-console', redirectUri: `${t.url}/oidc-callback`, username: 'alice', password: ALICE_PASSWORD, device, resource: `${t.url}/api` });
  assert.equal(again.ok, true, JSON.stringify(again));
  if (again.ok) assert.equal((await t.api('/api/v1/me', { token: again.tokens.access_token })).status, 200);
});
