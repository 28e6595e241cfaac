// The built-in OpenID provider (oidc-provider 9.13.3 on Node 20: keep this smoke test), device-bound
// sign-in, tokens, refresh gating, user risk, and state that survives a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { startPlatform, tempDataDir, type TestPlatform } from './helpers/platform.js';
import { clientCredentials, deviceAssertion, refresh, signIn } from '../examples/corporate-app/sign-in.js';
import { ALICE_PASSWORD, REDIRECT_URI, enrollDevice, setUpAccess, type AccessFixture } from './access-helpers.js';

let t: TestPlatform;
let fx: AccessFixture;
const dataDir = tempDataDir();
const DEVICE = 'b2'.repeat(20);
let device: Awaited<ReturnType<typeof enrollDevice>>;

before(async () => {
  t = await startPlatform({ dataDir });
  fx = await setUpAccess(t);
  device = await enrollDevice(t, DEVICE);
});
after(async () => { await t?.stop(); });

const login = (over: Partial<Parameters<typeof signIn>[0]> = {}) => signIn({
  issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD, device, ...over,
});

test('discovery: PKCE, refresh, client credentials, issuer under /oidc', async () => {
  const r = await fetch(`${t.url}/oidc/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  const d = await r.json();
  assert.equal(d.issuer, `${t.url}/oidc`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  for (const g of ['authorization_code', 'refresh_token', 'client_credentials']) assert.ok(d.grant_types_supported.includes(g), g);
  assert.equal(d.jwks_uri, `${t.url}/oidc/jwks`);
});

test('an authorization request without PKCE is refused', async () => {
  const q = new URLSearchParams({ client_id: fx.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid' });
  const r = await fetch(`${t.url}/oidc/auth?${q}`, { redirect: 'manual' });
  assert.equal(r.status, 303);
  const to = new URL(r.headers.get('location')!);
  assert.equal(to.searchParams.get('error'), 'invalid_request');
  assert.equal(to.searchParams.get('error_description'), 'Authorization Server policy requires PKCE to be used for this request');
});

test('the login page is served, and a wrong password shows it again with an error', async () => {
  const q = new URLSearchParams({ client_id: fx.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid',
    code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'), code_challenge_method: 'S256' });
  const start = await fetch(`${t.url}/oidc/auth?${q}`, { redirect: 'manual' });
  const cookies = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const page = await fetch(new URL(start.headers.get('location')!, t.url), { headers: { cookie: cookies } });
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /Sign in to Vigil/);
  assert.match(html, /to continue to <strong>Corporate app<\/strong>/);
  const action = /action="([^"]+)"/.exec(html)![1];
  const wrong = await fetch(new URL(action, t.url), { method: 'POST', headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=nope' });
  assert.equal(wrong.status, 200);
  assert.match(await wrong.text(), /Wrong username or password/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  // Ten failures in a row lock the username for this address for a few minutes, even with the right password.
  for (let i = 0; i < 10; i++) {
    await (await fetch(new URL(action, t.url), { method: 'POST', headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=mallory&password=nope' })).text();
  }
  const locked = await fetch(new URL(action, t.url), { method: 'POST', headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=mallory&password=nope' });
  assert.match(await locked.text(), /Too many failed sign-ins/);
});

test('a device-bound sign-in gives an RFC 9068 JWT access token with the device claim; refresh is gated and logged', async () => {
  const r = await login();
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(decodeProtectedHeader(r.tokens.access_token).typ, 'at+jwt');
  const claims = decodeJwt(r.tokens.access_token);
  assert.equal(claims.iss, fx.issuer);
  assert.equal(claims.aud, fx.resource);
  assert.equal(claims.did, DEVICE);
  assert.equal(claims.client_id, fx.clientId);
  assert.equal(typeof claims.iat_ms, 'number');
  assert.ok(r.tokens.refresh_token);
  const again = await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: r.tokens.refresh_token! });
  assert.equal(again.ok, true);
  if (again.ok) assert.equal(decodeJwt(again.tokens.access_token).did, DEVICE);
  const rows = (await t.platform.store.telemetry.read('EntraIdSignInEvents', { limit: 100 })).rows;
  assert.deepEqual(rows.slice(-3).map((x) => `${x.EndpointCall}:${x.ConditionalAccessStatus}`), ['authorize:0', 'token:authorization_code:0', 'token:refresh_token:0']);
});

test('a device assertion cannot be replayed, nor signed with another key', async () => {
  const assertion = await deviceAssertion(device, fx.issuer);
  assert.equal((await login({ deviceAssertion: assertion })).ok, true);
  const replay = await login({ deviceAssertion: assertion });
  assert.equal(replay.ok, false);
  if (!replay.ok) assert.deepEqual([replay.error, replay.error_description], ['access_denied', 'device_assertion was already used']);
  const { privateKey } = await generateKeyPair('ES256');
  const forged = await login({ device: { deviceId: DEVICE, privateKey } });
  assert.equal(forged.ok, false);
  if (!forged.ok) {
    assert.equal(forged.error, 'access_denied');
    assert.match(forged.error_description ?? '', /^device_assertion is invalid/);
  }
});

test('SSO: a second sign-in in the same browser skips the password but not Conditional Access', async () => {
  const jar = new Map<string, string>();
  assert.equal((await login({ cookies: jar })).ok, true);
  const sso = await login({ cookies: jar, password: 'not-asked-for' });
  assert.equal(sso.ok, true, JSON.stringify(sso));
});

test('client credentials give SSF management tokens', async () => {
  const token = await clientCredentials({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, resource: `${t.url}/ssf` });
  const claims = decodeJwt(token);
  assert.equal(claims.aud, `${t.url}/ssf`);
  assert.equal(claims.scope, 'ssf.manage ssf.read');
  assert.equal(claims.sub, fx.clientId);
});

test('a client secret is kept only as its hash; a wrong secret is refused at the token endpoint', async () => {
  const row = await t.platform.store.db.selectFrom('idp_apps').select('secret').where('id', '=', fx.clientId).executeTakeFirstOrThrow();
  assert.equal(row.secret, `sha256:${createHash('sha256').update(fx.clientSecret).digest('hex')}`);
  const tokenUrl = (await (await fetch(`${fx.issuer}/.well-known/openid-configuration`)).json()).token_endpoint;
  const attempt = (secret: string) => fetch(tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${fx.clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.url}/ssf` }),
  });
  const wrong = await attempt(`${fx.clientSecret.slice(0, -1)}x`);
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'invalid_client');
  assert.equal((await attempt(row.secret)).status, 401, 'the stored hash is not a secret that works');
  assert.equal((await attempt(fx.clientSecret)).status, 200);
});

test('high user risk revokes the user’s grants (session.revoked) and a risk policy blocks sign-in', async () => {
  const revoked: unknown[] = [];
  const off = t.platform.bus.subscribe('session.revoked', (e) => { revoked.push(e.subject); }, { name: 'test.revoked' });
  const r = await login();
  assert.equal(r.ok, true);
  const policy = await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Block risky users', targets: { includeUsers: ['all'] }, conditions: { userRiskLevels: ['high'] }, grant: 'block' } });
  assert.equal(policy.status, 201);
  await t.platform.bus.publish('user.risk-changed', { userId: 'alice', old: 'none', new: 'high', reason: 'impossible travel' });
  await t.platform.bus.drain();
  const user = await t.api('/api/v1/users/alice', { token: t.adminToken });
  assert.equal(user.body.riskLevel, 'high');
  assert.equal(user.body.riskReason, 'impossible travel');
  assert.deepEqual(revoked, [{ userId: user.body.id }]);
  if (r.ok) {
    const refused = await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: r.tokens.refresh_token! });
    assert.equal(refused.ok, false);
  }
  const blocked = await login();
  assert.equal(blocked.ok, false);
  if (!blocked.ok) assert.match(blocked.error_description ?? '', /Conditional Access policy 'Block risky users'.*user risk high/);
  await t.platform.bus.publish('user.risk-changed', { userId: 'alice', old: 'high', new: 'none', reason: 'dismissed' });
  await t.platform.bus.drain();
  await t.api(`/api/v1/conditional-access/policies/${policy.body.id}`, { method: 'DELETE', token: t.adminToken });
  off();
});

test('response user actions: disable and password reset refuse sign-in and refresh; enable restores', async () => {
  const r = await login();
  assert.equal(r.ok, true);
  await t.platform.access.userActions.disable('alice', 'incident 42');
  const refused = await login();
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.deepEqual([refused.error, refused.error_description], ['access_denied', 'the user account is disabled: incident 42']);
  if (r.ok) assert.equal((await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: r.tokens.refresh_token! })).ok, false);
  await t.platform.access.userActions.enable('alice');
  await t.platform.access.userActions.requirePasswordReset('alice', 'credential leak');
  const reset = await login();
  assert.equal(reset.ok, false);
  if (!reset.ok) assert.equal(reset.error_description, 'a password reset is required before signing in: credential leak');
  await t.platform.access.userActions.enable('alice');
  assert.equal((await login()).ok, true);
  const rows = (await t.platform.store.telemetry.read('EntraIdSignInEvents', { limit: 1000 })).rows;
  assert.deepEqual(rows.filter((x) => x.ErrorCode === 50057 || x.ErrorCode === 50142).map((x) => x.ErrorCode), [50057, 50142]);
});

test('state lives in the store: a refresh token and the signing keys survive a restart', async () => {
  const r = await login();
  assert.equal(r.ok, true);
  if (!r.ok) return;
  await t.stop(false);
  t = await startPlatform({ dataDir });
  fx = { ...fx, issuer: `${t.url}/oidc` };
  // The port changed, so the issuer changed too: an old refresh token belongs to the old issuer's
  // grant, which still exists in the state table.
  const grants = await t.platform.store.db.selectFrom('oidc_state').select('id').where('model', '=', 'Grant').execute();
  assert.ok(grants.length > 0);
  const keys = await (await fetch(`${t.url}/oidc/jwks`)).json();
  assert.equal(keys.keys[0].kid, decodeProtectedHeader(r.tokens.access_token).kid);
  const again = await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: r.tokens.refresh_token! });
  assert.equal(again.ok, true, JSON.stringify(again));
});

test('random input to the interaction routes is a plain error page', async () => {
  const r = await fetch(`${t.url}/oidc/interaction/${randomBytes(8).toString('hex')}`);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /expired or is invalid/);
});
