// The receiver library in both shapes: the sample app with poll delivery (node:http middleware) and a
// Fastify app with push delivery; both drop a live session when the device becomes noncompliant.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { startCorporateApp, type CorporateApp } from '../examples/corporate-app/app.js';
import { clientCredentials, signIn } from '../examples/corporate-app/sign-in.js';
import { createReceiver, fastifyReceiver, type Receiver } from '../src/receiver/index.js';
import { ALICE_PASSWORD, REDIRECT_URI, enrollDevice, eventually, setUpAccess, type AccessFixture } from './access-helpers.js';

let t: TestPlatform;
let fx: AccessFixture;
let pollApp: CorporateApp;
let fastify: FastifyInstance;
let receiver: Receiver;
let fastifyUrl = '';
let fastifySecret = '';
const DEVICE = 'c3'.repeat(20);

before(async () => {
  t = await startPlatform();
  fx = await setUpAccess(t);
  pollApp = await startCorporateApp({ vigilUrl: t.url, clientId: fx.clientId, clientSecret: fx.clientSecret, resource: fx.resource, delivery: 'poll' });
  const second = await t.api('/api/v1/apps', { token: t.adminToken, body: {
    name: 'Fastify app', id: 'fast', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], confidential: true, resource: 'https://fast.example/api',
  } });
  assert.equal(second.status, 201);
  fastifySecret = second.body.clientSecret;
  receiver = createReceiver({ tokenIssuer: `${t.url}/oidc`, audience: 'https://fast.example/api', transmitterIssuer: t.url, setAudience: 'fast', pushAuthorization: 'Bearer fast-push', realm: 'fast' });
  fastify = Fastify();
  await fastifyReceiver(receiver, { publicPaths: ['/healthz'] })(fastify);
  fastify.get('/healthz', async () => ({ ok: true }));
  fastify.get('/data', async (request: any) => ({ user: request.vigil.sub, device: request.vigil.did }));
  fastifyUrl = await fastify.listen({ host: '127.0.0.1', port: 0 });
  await receiver.connect({
    accessToken: () => clientCredentials({ issuer: `${t.url}/oidc`, clientId: 'fast', clientSecret: fastifySecret, resource: `${t.url}/ssf` }),
    push: { endpointUrl: `${fastifyUrl}/ssf/events`, authorization: 'Bearer fast-push' },
  });
});
after(async () => {
  await pollApp?.close();
  await fastify?.close();
  await t?.stop();
});

test('poll delivery and push to a Fastify app both cut a live session; tokens without a device are untouched', async () => {
  const device = await enrollDevice(t, DEVICE);
  const common = { issuer: fx.issuer, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD, device };
  const a = await signIn({ ...common, clientId: fx.clientId, clientSecret: fx.clientSecret });
  const b = await signIn({ ...common, clientId: 'fast', clientSecret: fastifySecret });
  assert.equal(a.ok && b.ok, true, JSON.stringify([a, b]));
  if (!a.ok || !b.ok) return;
  const atPoll = () => fetch(`${pollApp.url}/api/me`, { headers: { authorization: `Bearer ${a.tokens.access_token}` } });
  const atFast = () => fetch(`${fastifyUrl}/data`, { headers: { authorization: `Bearer ${b.tokens.access_token}` } });
  assert.equal((await atPoll()).status, 200);
  const ok = await atFast();
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { user: (await t.platform.accounts.findUserByName('alice'))!.id, device: DEVICE });
  assert.equal((await fetch(`${fastifyUrl}/data`)).status, 401);
  assert.equal((await fetch(`${fastifyUrl}/healthz`)).status, 200);
  // A token for another app is refused by audience.
  assert.equal((await fetch(`${fastifyUrl}/data`, { headers: { authorization: `Bearer ${a.tokens.access_token}` } })).status, 401);

  await t.platform.bus.publish('device.risk-changed', { deviceId: DEVICE, old: 'none', new: 'high', reason: 'test detection' });
  const polled = await eventually(atPoll, (r) => r.status === 401);
  assert.equal(polled.status, 401);
  assert.match(polled.headers.get('www-authenticate') ?? '', /error="insufficient_claims"/);
  const pushed = await eventually(atFast, (r) => r.status === 401);
  assert.equal(pushed.status, 401);
  assert.match(pushed.headers.get('www-authenticate') ?? '', /^Bearer realm="fast", error="insufficient_claims", claims="/);

  // The poll stream's SETs were all acknowledged (nothing left pending).
  const stream = pollApp.stream;
  const outbox = await t.platform.access.transmitter.outbox(stream.stream_id);
  await eventually(async () => (await t.platform.access.transmitter.outbox(stream.stream_id)).filter((o) => o.state === 'pending').length, (n) => n === 0, 400);
  assert.ok(outbox.length >= 4, 'verification + three CAEP events');
  assert.deepEqual((await t.platform.access.transmitter.outbox(stream.stream_id)).map((o) => o.state).filter((s) => s !== 'acked'), []);
});

test('high user risk: session-revoked for the user reaches both apps', async () => {
  const device = await enrollDevice(t, 'd4'.repeat(20));
  const common = { issuer: fx.issuer, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD, device };
  const a = await signIn({ ...common, clientId: fx.clientId, clientSecret: fx.clientSecret });
  const b = await signIn({ ...common, clientId: 'fast', clientSecret: fastifySecret });
  assert.equal(a.ok && b.ok, true, JSON.stringify([a, b]));
  if (!a.ok || !b.ok) return;
  const atPoll = () => fetch(`${pollApp.url}/api/me`, { headers: { authorization: `Bearer ${a.tokens.access_token}` } });
  const atFast = () => fetch(`${fastifyUrl}/data`, { headers: { authorization: `Bearer ${b.tokens.access_token}` } });
  assert.equal((await atPoll()).status, 200);
  assert.equal((await atFast()).status, 200);
  await t.platform.bus.publish('user.risk-changed', { userId: 'alice', old: 'none', new: 'high', reason: 'leaked credentials' });
  assert.equal((await eventually(atPoll, (r) => r.status === 401)).status, 401);
  assert.equal((await eventually(atFast, (r) => r.status === 401)).status, 401);
  const userId = (await t.platform.accounts.findUserByName('alice'))!.id;
  assert.ok(receiver.cutoffFor({ sub: userId }) !== undefined, 'cut-off is per user, whatever the device');
  assert.equal(receiver.cutoffFor({ sub: 'someone-else' }), undefined);
});

test('a disabled user (RISC account-disabled) is refused by the apps until enabled again', async () => {
  await t.platform.bus.publish('user.risk-changed', { userId: 'alice', old: 'high', new: 'none', reason: 'dismissed' });
  await t.platform.bus.drain();
  const device = await enrollDevice(t, 'e5'.repeat(20));
  const login = () => signIn({ issuer: fx.issuer, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD, device, clientId: 'fast', clientSecret: fastifySecret });
  const a = await login();
  assert.equal(a.ok, true, JSON.stringify(a));
  if (!a.ok) return;
  const atFast = (token: string) => fetch(`${fastifyUrl}/data`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await atFast(a.tokens.access_token)).status, 200);
  await t.platform.access.userActions.disable('alice', 'compromised');
  assert.equal((await eventually(() => atFast(a.tokens.access_token), (r) => r.status === 401)).status, 401);
  const userId = (await t.platform.accounts.findUserByName('alice'))!.id;
  await t.platform.access.userActions.enable('alice');
  await eventually(async () => receiver.cutoffFor({ sub: userId }) === Number.MAX_SAFE_INTEGER, (denied) => !denied);
  const b = await login();
  assert.equal(b.ok, true, JSON.stringify(b));
  if (b.ok) assert.equal((await atFast(b.tokens.access_token)).status, 200);
  assert.equal((await atFast(a.tokens.access_token)).status, 401, 'the old token stays dead');
});
