// SSF 1.0 transmitter and receiver checklist (identity-and-access.md §8), over real HTTP on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { clientCredentials } from '../examples/corporate-app/sign-in.js';
import { createReceiver, metadataErrors, setPayloadErrors, streamConfigErrors } from '../src/receiver/index.js';
import { eventually } from './access-helpers.js';

const PUSH = 'urn:ietf:rfc:8935';
const POLL = 'urn:ietf:rfc:8936';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

let t: TestPlatform;
let token: string;
let ssf: string;

/** Client secrets of the apps made here: the platform shows each once, at creation, and keeps only its hash. */
const secrets = new Map<string, string>();
async function newApp(id: string) {
  const r = await t.api('/api/v1/apps', { token: t.adminToken, body: { name: id, id, grantTypes: ['client_credentials'], confidential: true } });
  assert.equal(r.status, 201);
  secrets.set(id, r.body.clientSecret);
  return clientCredentials({ issuer: `${t.url}/oidc`, clientId: id, clientSecret: r.body.clientSecret, resource: `${t.url}/ssf` });
}
const call = (method: string, path: string, body?: unknown, bearer: string | null = token) => t.api(path, {
  method, ...(bearer ? { token: bearer } : {}), ...(body !== undefined ? { body } : {}),
});
const poll = (streamUrl: string, body: unknown, bearer = token) => fetch(streamUrl, {
  method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
}).then(async (r) => ({ status: r.status, body: await r.json() as { sets: Record<string, string>; moreAvailable: boolean } }));

before(async () => {
  t = await startPlatform();
  token = await newApp('receiver-one');
  ssf = t.url;
});
after(async () => { await t?.stop(); });

describe('transmitter metadata', () => {
  test('/.well-known/ssf-configuration is complete for the interop profile', async () => {
    const r = await fetch(`${t.url}/.well-known/ssf-configuration`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const m = await r.json();
    assert.deepEqual(metadataErrors(m), []);
    assert.equal(m.spec_version, '1_0');
    assert.equal(m.issuer, t.url);
    assert.equal(m.jwks_uri, `${t.url}/ssf/jwks`);
    assert.deepEqual(m.delivery_methods_supported, [PUSH, POLL]);
    for (const k of ['configuration_endpoint', 'status_endpoint', 'verification_endpoint', 'add_subject_endpoint', 'remove_subject_endpoint']) assert.equal(typeof m[k], 'string', k);
    assert.deepEqual(m.authorization_schemes, [{ spec_urn: 'urn:ietf:rfc:6749' }]);
    const jwks = await (await fetch(m.jwks_uri)).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kty, 'RSA');
    assert.equal(jwks.keys[0].d, undefined);
    assert.ok(Buffer.from(jwks.keys[0].n, 'base64url').length * 8 >= 2048);
  });
});

describe('stream management', () => {
  let streamId = '';
  let pollUrl = '';

  test('every operation needs a valid token: 401 without or with a bad one', async () => {
    const ops: Array<[string, string, unknown?]> = [
      ['POST', '/ssf/streams', {}], ['GET', '/ssf/streams'], ['PATCH', '/ssf/streams', { stream_id: 'x' }], ['PUT', '/ssf/streams', { stream_id: 'x' }],
      ['DELETE', '/ssf/streams?stream_id=x'], ['GET', '/ssf/status?stream_id=x'], ['POST', '/ssf/status', { stream_id: 'x', status: 'enabled' }],
      ['POST', '/ssf/subjects/add', { stream_id: 'x' }], ['POST', '/ssf/subjects/remove', { stream_id: 'x' }], ['POST', '/ssf/verify', { stream_id: 'x' }],
    ];
    for (const [method, path, body] of ops) {
      assert.equal((await call(method, path, body, null)).status, 401, `${method} ${path} without token`);
      const bad = await call(method, path, body, `${token.slice(0, -4)}AAAA`);
      assert.equal(bad.status, 401, `${method} ${path} with a bad token`);
      assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    }
    // A user's access token for another resource is not an SSF token either.
    assert.equal((await call('GET', '/ssf/streams', undefined, t.adminToken)).status, 401);
  });

  test('reading with no stream yet gives []', async () => {
    const r = await call('GET', '/ssf/streams');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, []);
  });

  test('a bad body is 400', async () => {
    assert.equal((await call('POST', '/ssf/streams', { events_requested: 'all' })).status, 400);
    assert.equal((await call('POST', '/ssf/streams', { delivery: { method: 'urn:example:smoke-signals' } })).status, 400);
    assert.equal((await call('POST', '/ssf/streams', { delivery: { method: PUSH } })).status, 400);
  });

  test('create without delivery → 201, poll with a transmitter URL, events_delivered ⊆ supported ∩ requested', async () => {
    const requested = [`${CAEP}session-revoked`, `${CAEP}device-compliance-change`, 'urn:example:unknown-event'];
    const r = await call('POST', '/ssf/streams', { events_requested: requested, description: 'test stream' });
    assert.equal(r.status, 201);
    assert.deepEqual(streamConfigErrors(r.body, { fromTransmitter: true }), []);
    assert.equal(r.body.iss, t.url);
    assert.equal(r.body.aud, 'receiver-one');
    assert.equal(r.body.delivery.method, POLL);
    assert.equal(r.body.delivery.endpoint_url, `${t.url}/ssf/poll/${r.body.stream_id}`);
    assert.deepEqual(r.body.events_delivered, [`${CAEP}session-revoked`, `${CAEP}device-compliance-change`]);
    for (const e of r.body.events_delivered) assert.ok(r.body.events_supported.includes(e) && requested.includes(e));
    streamId = r.body.stream_id;
    pollUrl = r.body.delivery.endpoint_url;
  });

  test('a second stream for the same receiver is 409', async () => {
    assert.equal((await call('POST', '/ssf/streams', {})).status, 409);
  });

  test('read by id → object; without id → array', async () => {
    const one = await call('GET', `/ssf/streams?stream_id=${streamId}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.stream_id, streamId);
    const all = await call('GET', '/ssf/streams');
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.map((s: any) => s.stream_id), [streamId]);
  });

  test('unknown stream → 404 on read, update, replace, delete, status', async () => {
    assert.equal((await call('GET', '/ssf/streams?stream_id=nope')).status, 404);
    assert.equal((await call('PATCH', '/ssf/streams', { stream_id: 'nope', description: 'x' })).status, 404);
    assert.equal((await call('PUT', '/ssf/streams', { stream_id: 'nope' })).status, 404);
    assert.equal((await call('DELETE', '/ssf/streams?stream_id=nope')).status, 404);
    assert.equal((await call('GET', '/ssf/status?stream_id=nope')).status, 404);
  });

  test('another receiver cannot see this stream (404)', async () => {
    const other = await newApp('receiver-two');
    assert.equal((await call('GET', `/ssf/streams?stream_id=${streamId}`, undefined, other)).status, 404);
    assert.deepEqual((await call('GET', '/ssf/streams', undefined, other)).body, []);
  });

  test('update changes receiver fields; transmitter fields cannot change (400); replace drops omitted fields', async () => {
    const patched = await call('PATCH', '/ssf/streams', { stream_id: streamId, events_requested: [`${CAEP}session-revoked`, `${CAEP}risk-level-change`] });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.events_delivered, [`${CAEP}session-revoked`, `${CAEP}risk-level-change`]);
    assert.equal(patched.body.description, 'test stream');
    assert.equal((await call('PATCH', '/ssf/streams', { stream_id: streamId, aud: 'someone-else' })).status, 400);
    const replaced = await call('PUT', '/ssf/streams', { stream_id: streamId, events_requested: [`${CAEP}session-revoked`, `${CAEP}device-compliance-change`] });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.description, undefined);
    assert.equal(replaced.body.delivery.method, POLL);
  });

  test('status: read, pause (200 echo), enable', async () => {
    const s = await call('GET', `/ssf/status?stream_id=${streamId}`);
    assert.deepEqual(s.body, { stream_id: streamId, status: 'enabled' });
    const p = await call('POST', '/ssf/status', { stream_id: streamId, status: 'paused', reason: 'maintenance' });
    assert.equal(p.status, 200);
    assert.deepEqual(p.body, { stream_id: streamId, status: 'paused', reason: 'maintenance' });
    assert.equal((await call('POST', '/ssf/status', { stream_id: streamId, status: 'sleeping' })).status, 400);
    assert.equal((await call('POST', '/ssf/status', { stream_id: streamId, status: 'enabled' })).status, 200);
  });

  test('verification: 204, the SET echoes state and follows every SET rule; too soon again → 429', async () => {
    const v = await call('POST', '/ssf/verify', { stream_id: streamId, state: 'state-123' });
    assert.equal(v.status, 204);
    const got = await eventually(() => poll(pollUrl, { returnImmediately: true }), (r) => Object.keys(r.body.sets).length > 0, 200);
    assert.equal(got.status, 200);
    const [[jti, jwt]] = Object.entries(got.body.sets);
    const header = decodeProtectedHeader(jwt);
    assert.equal(header.typ, 'secevent+jwt');
    assert.equal(header.alg, 'RS256');
    const jwks = createLocalJWKSet(await (await fetch(`${t.url}/ssf/jwks`)).json());
    const { payload } = await jwtVerify(jwt, jwks, { issuer: t.url, audience: 'receiver-one', typ: 'secevent+jwt' });
    assert.deepEqual(setPayloadErrors(payload), []);
    assert.equal(payload.jti, jti);
    assert.equal('exp' in payload, false);
    assert.equal('sub' in payload, false);
    assert.equal(typeof payload.txn, 'string');
    assert.ok((payload.iat as number) <= Math.ceil(Date.now() / 1000));
    assert.deepEqual(payload.sub_id, { format: 'opaque', id: streamId });
    assert.deepEqual(payload.events, { [VERIFICATION]: { state: 'state-123' } });
    assert.equal((await call('POST', '/ssf/verify', { stream_id: streamId, state: 'again' })).status, 429);
    await poll(pollUrl, { maxEvents: 0, ack: [jti] });
  });

  test('poll: redelivery until ack, moreAvailable, setErrs', async () => {
    const device = { format: 'complex', device: { format: 'iss_sub', iss: `${t.url}/oidc`, sub: 'd'.repeat(40) } };
    for (const n of [1, 2, 3]) {
      await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject: device, txn: `txn-${n}`, claims: { event_timestamp: n, reason_admin: { en: `test ${n}` } } });
    }
    // An event type the stream did not ask for is not delivered.
    await t.platform.access.transmitter.emit({ type: `${CAEP}credential-change`, subject: device, txn: 'txn-x', claims: { credential_type: 'password', change_type: 'update' } });
    const first = await poll(pollUrl, { maxEvents: 2, returnImmediately: true });
    assert.equal(Object.keys(first.body.sets).length, 2);
    assert.equal(first.body.moreAvailable, true);
    const again = await poll(pollUrl, { maxEvents: 2, returnImmediately: true });
    assert.deepEqual(Object.keys(again.body.sets), Object.keys(first.body.sets), 'unacknowledged SETs are delivered again');
    const [a, b] = Object.keys(first.body.sets);
    const third = await poll(pollUrl, { maxEvents: 5, returnImmediately: true, ack: [a], setErrs: { [b]: { err: 'invalid_request', description: 'test' } } });
    assert.equal(Object.keys(third.body.sets).length, 1);
    assert.equal(third.body.moreAvailable, false);
    const txns = Object.values(third.body.sets).map((jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).txn);
    assert.deepEqual(txns, ['txn-3']);
    const c = Object.keys(third.body.sets)[0];
    assert.deepEqual((await poll(pollUrl, { maxEvents: 5, returnImmediately: true, ack: [c] })).body, { sets: {}, moreAvailable: false });
    const states = (await t.platform.access.transmitter.outbox(streamId)).map((o) => o.state);
    assert.deepEqual(states.slice(-3), ['acked', 'failed', 'acked']);
  });

  test('long poll returns as soon as an event arrives', async () => {
    const waiting = poll(pollUrl, { returnImmediately: false });
    await new Promise((r) => setTimeout(r, 50));
    await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject: { format: 'opaque', id: 'sess-1' }, txn: 'txn-long', claims: {} });
    const got = await waiting;
    assert.equal(Object.keys(got.body.sets).length, 1);
    await poll(pollUrl, { maxEvents: 0, ack: Object.keys(got.body.sets) });
  });

  test('add subject → 200, remove subject → 204; a removed subject gets no events', async () => {
    const subject = { format: 'email', email: 'carol@example.com' };
    assert.equal((await call('POST', '/ssf/subjects/add', { stream_id: streamId, subject })).status, 200);
    assert.equal((await call('POST', '/ssf/subjects/add', { stream_id: streamId, subject: { format: 'email' } })).status, 400);
    assert.equal((await call('POST', '/ssf/subjects/remove', { stream_id: streamId, subject })).status, 204);
    await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject, txn: 'txn-removed', claims: {} });
    assert.deepEqual((await poll(pollUrl, { returnImmediately: true })).body.sets, {});
    assert.equal((await call('POST', '/ssf/subjects/add', { stream_id: streamId, subject })).status, 200);
    await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject, txn: 'txn-added', claims: {} });
    const got = await poll(pollUrl, { returnImmediately: true });
    assert.equal(Object.keys(got.body.sets).length, 1);
    await poll(pollUrl, { maxEvents: 0, ack: Object.keys(got.body.sets) });
  });

  test('delete → 204, then 404', async () => {
    assert.equal((await call('DELETE', `/ssf/streams?stream_id=${streamId}`)).status, 204);
    assert.equal((await call('GET', `/ssf/streams?stream_id=${streamId}`)).status, 404);
  });
});

describe('push delivery', () => {
  let server: Server;
  let received: Array<{ auth: string | undefined; type: string | undefined; body: string }> = [];
  let failFirst = 1;
  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ auth: req.headers.authorization, type: req.headers['content-type'], body });
        if (failFirst-- > 0) { res.writeHead(503); res.end(); return; }
        res.writeHead(202); res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => { await new Promise<void>((r) => server.close(() => r())); });

  test('push sends the authorization header verbatim, treats 202 as the ack and retries anything else', async () => {
    const pusher = await newApp('receiver-push');
    const port = (server.address() as any).port;
    const created = await call('POST', '/ssf/streams', { delivery: { method: PUSH, endpoint_url: `http://127.0.0.1:${port}/events`, authorization_header: 'Bearer push-secret' } }, pusher);
    assert.equal(created.status, 201);
    assert.equal(created.body.delivery.endpoint_url, `http://127.0.0.1:${port}/events`);
    received = [];
    failFirst = 1;
    await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject: { format: 'opaque', id: 'push-1' }, txn: 'push-txn', claims: {} });
    const outbox = await eventually(() => t.platform.access.transmitter.outbox(created.body.stream_id), (o) => o.at(-1)?.state === 'delivered', 400);
    assert.equal(outbox.at(-1)!.state, 'delivered');
    assert.equal(outbox.at(-1)!.attempts, 2);
    assert.equal(received.length, 2);
    assert.equal(received[0].body, received[1].body, 'the same SET is retried');
    assert.equal(received[1].auth, 'Bearer push-secret');
    assert.equal(received[1].type, 'application/secevent+jwt');
  });

  test('a paused push stream holds events and delivers them when enabled again', async () => {
    const pusher = await clientCredentials({ issuer: `${t.url}/oidc`, clientId: 'receiver-push', clientSecret: secrets.get('receiver-push')!, resource: `${t.url}/ssf` });
    const [stream] = (await call('GET', '/ssf/streams', undefined, pusher)).body;
    received = [];
    failFirst = 0;
    await call('POST', '/ssf/status', { stream_id: stream.stream_id, status: 'paused' }, pusher);
    await t.platform.access.transmitter.emit({ type: `${CAEP}session-revoked`, subject: { format: 'opaque', id: 'held' }, txn: 'held-txn', claims: {} });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 0);
    await call('POST', '/ssf/status', { stream_id: stream.stream_id, status: 'enabled' }, pusher);
    const after = await eventually(async () => received.length, (n) => n === 1, 400);
    assert.equal(after, 1);
  });
});

describe('receiver', () => {
  let ssfKey: JWK;
  const foreign = generateKeyPair('RS256', { extractable: true });
  before(async () => {
    const row = await t.platform.store.db.selectFrom('identity_keys').select('material').where('purpose', '=', 'ssf').executeTakeFirstOrThrow();
    ssfKey = JSON.parse(row.material);
  });
  const receiver = () => createReceiver({ tokenIssuer: `${t.url}/oidc`, audience: 'urn:test', transmitterIssuer: ssf, setAudience: 'me', pushAuthorization: 'Bearer ok' });
  const sign = async (payload: Record<string, unknown>, opts: { key?: 'ssf' | 'foreign'; typ?: string } = {}) => {
    const key = opts.key === 'foreign' ? (await foreign).privateKey : await importJWK(ssfKey, 'RS256');
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: opts.typ ?? 'secevent+jwt', kid: opts.key === 'foreign' ? 'foreign' : ssfKey.kid }).sign(key);
  };
  const good = (over: Record<string, unknown> = {}) => ({
    iss: ssf, aud: 'me', iat: Math.floor(Date.now() / 1000), jti: `j-${Math.random()}`, txn: 't',
    sub_id: { format: 'complex', device: { format: 'iss_sub', iss: `${t.url}/oidc`, sub: 'dev-1' } },
    events: { [`${CAEP}device-compliance-change`]: { previous_status: 'compliant', current_status: 'not-compliant', event_timestamp: Date.now() / 1000 } },
    ...over,
  });
  const push = async (r: ReturnType<typeof createReceiver>, jwt: string, auth = 'Bearer ok') => r.receivePush(jwt, 'application/secevent+jwt', auth);

  test('accepts a valid SET (202) and a duplicate jti again (202), applying it once', async () => {
    const r = receiver();
    const jwt = await sign(good({ jti: 'dup-1' }));
    assert.equal((await push(r, jwt)).status, 202);
    assert.equal((await push(r, jwt)).status, 202);
    assert.ok(r.cutoffFor({ sub: 'u', did: 'dev-1' }) !== undefined);
    assert.equal(r.cutoffFor({ sub: 'u', did: 'dev-2' }), undefined);
  });

  test('bad signature → 400 invalid_key', async () => {
    const out = await push(receiver(), await sign(good(), { key: 'foreign' }));
    assert.deepEqual([out.status, out.err], [400, 'invalid_key']);
    const tampered = (await sign(good())).replace(/\.[^.]+$/, '.AAAA');
    assert.equal((await push(receiver(), tampered)).err, 'invalid_key');
  });
  test('wrong issuer → 400 invalid_issuer', async () => {
    const out = await push(receiver(), await sign(good({ iss: 'https://evil.example' })));
    assert.deepEqual([out.status, out.err], [400, 'invalid_issuer']);
  });
  test('wrong audience → 400 invalid_audience', async () => {
    const out = await push(receiver(), await sign(good({ aud: 'someone-else' })));
    assert.deepEqual([out.status, out.err], [400, 'invalid_audience']);
  });
  test('SET rule breaches → 400 invalid_request', async () => {
    assert.equal((await push(receiver(), await sign(good({ sub: 'x' })))).err, 'invalid_request');
    assert.equal((await push(receiver(), await sign(good({ exp: Math.floor(Date.now() / 1000) + 60 })))).err, 'invalid_request');
    assert.equal((await push(receiver(), await sign(good(), { typ: 'JWT' }))).err, 'invalid_request');
    assert.equal((await push(receiver(), await sign(good({ events: { [`${CAEP}session-revoked`]: {}, [`${CAEP}credential-change`]: { credential_type: 'password', change_type: 'update' } } })))).err, 'invalid_request');
    assert.equal((await push(receiver(), await sign(good({ events: { [`${CAEP}device-compliance-change`]: { current_status: 'broken' } } })))).err, 'invalid_request');
    assert.equal((await receiver().receivePush('not a jwt', 'application/secevent+jwt', 'Bearer ok')).err, 'invalid_request');
  });
  test('wrong push authorization → 401 authentication_failed', async () => {
    const out = await push(receiver(), await sign(good()), 'Bearer wrong');
    assert.deepEqual([out.status, out.err], [401, 'authentication_failed']);
  });
  test('verification with a state that does not match → 400 invalid_state', async () => {
    const sink = await newApp('receiver-state');
    const r = createReceiver({ tokenIssuer: `${t.url}/oidc`, audience: 'urn:test', transmitterIssuer: ssf, setAudience: 'receiver-state' });
    const stream = await r.connect({ accessToken: async () => sink });
    const wrong = await sign(good({ aud: 'receiver-state', sub_id: { format: 'opaque', id: stream.stream_id }, events: { [VERIFICATION]: { state: 'not-what-we-sent' } } }));
    assert.deepEqual([(await r.receiveSet(wrong)).status, (await r.receiveSet(wrong)).err], [400, 'invalid_state']);
    // The real verification SET (with our state) arrives by poll and is accepted and acknowledged.
    const round = await eventually(() => r.pollOnce({ returnImmediately: true }), (x) => x.received > 0, 200);
    assert.equal(round.received, 1);
    const left = await fetch(stream.delivery.endpoint_url, { method: 'POST', headers: { authorization: `Bearer ${sink}`, 'content-type': 'application/json' }, body: '{"returnImmediately":true}' });
    assert.deepEqual(await left.json(), { sets: {}, moreAvailable: false });
    await r.stop();
  });
});

describe('exported keys', () => {
  test('the ssf key is RSA 2048+', async () => {
    const row = await t.platform.store.db.selectFrom('identity_keys').select('material').where('purpose', '=', 'ssf').executeTakeFirstOrThrow();
    const jwk = JSON.parse(row.material);
    assert.equal(jwk.kty, 'RSA');
    const pub = await exportJWK(await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256'));
    assert.ok(Buffer.from(pub.n!, 'base64url').length >= 256);
  });
});

describe('CAEP events from device health', () => {
  test('noncompliance sends session-revoked, device-compliance-change and risk-level-change with one txn; recovery sends compliant', async () => {
    const reader = await newApp('receiver-caep');
    const created = await call('POST', '/ssf/streams', { events_requested: [`${CAEP}session-revoked`, `${CAEP}device-compliance-change`, `${CAEP}risk-level-change`] }, reader);
    assert.equal(created.status, 201);
    const url = created.body.delivery.endpoint_url;
    const deviceId = '9f'.repeat(20);
    await t.platform.posture.upsertDevice({ id: deviceId, hostname: 'caep-host' });
    await t.platform.bus.publish('device.risk-changed', { deviceId, old: 'none', new: 'high', reason: 'Known-bad invoice on caep-host' });
    await t.platform.bus.drain();
    await t.platform.bus.publish('device.risk-changed', { deviceId, old: 'high', new: 'none', reason: 'alerts resolved' });
    await t.platform.bus.drain();
    const got = await poll(url, { returnImmediately: true }, reader);
    const sets = Object.values(got.body.sets).map((jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()));
    const summary = sets.map((s) => {
      const [type, e] = Object.entries(s.events as Record<string, any>)[0];
      return `${type.split('/').pop()} ${e.current_status ?? e.current_level ?? ''}`.trim();
    });
    assert.deepEqual(summary.sort(), [
      'device-compliance-change compliant', 'device-compliance-change not-compliant', 'risk-level-change HIGH', 'risk-level-change LOW', 'session-revoked',
    ]);
    const device = { format: 'complex', device: { format: 'iss_sub', iss: `${t.url}/oidc`, sub: deviceId } };
    for (const s of sets) {
      assert.deepEqual(s.sub_id, device);
      assert.deepEqual(setPayloadErrors(s), []);
      const e = Object.values(s.events as Record<string, any>)[0];
      assert.equal(typeof e.reason_admin.en, 'string');
      assert.ok(e.reason_admin.en.length > 0);
    }
    // Delivered in creation order: the three SETs of the noncompliance share a txn, the recovery has its own.
    assert.equal(new Set(sets.slice(0, 3).map((s) => s.txn)).size, 1, 'the SETs of one cause share a txn');
    assert.notEqual(sets[3].txn, sets[0].txn);
    assert.equal(new Set(sets.map((s) => s.jti)).size, sets.length);
    const dcc = sets.find((s) => JSON.stringify(s.events).includes('not-compliant'))!;
    assert.deepEqual(Object.values(dcc.events)[0], {
      previous_status: 'compliant', current_status: 'not-compliant', event_timestamp: (Object.values(dcc.events)[0] as any).event_timestamp,
      initiating_entity: 'policy', reason_admin: (Object.values(dcc.events)[0] as any).reason_admin,
    });
    assert.match((Object.values(dcc.events)[0] as any).reason_admin.en, /machine risk high is above the maximum 'low'/);
  });
});
