// The whole loop over real HTTP: device risk high → noncompliant → CAEP push → the app rejects the live
// token → refresh and new sign-in refused naming the policy → risk cleared → compliant → sign-in works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { startCorporateApp, type CorporateApp } from '../examples/corporate-app/app.js';
import { refresh, signIn } from '../examples/corporate-app/sign-in.js';
import { ALICE_PASSWORD, REDIRECT_URI, enrollDevice, eventually, setUpAccess, type AccessFixture } from './access-helpers.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats.js';

let t: TestPlatform;
let fx: AccessFixture;
let corp: CorporateApp;
const DEVICE = 'a1'.repeat(20);


const me = (token: string) => fetch(`${corp.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
const login = (device?: Awaited<ReturnType<typeof enrollDevice>>) => signIn({
  issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, redirectUri: REDIRECT_URI, username: 'alice', password: ALICE_PASSWORD,
  ...(device ? { device } : {}),
});

/** The loop over each bus: in-process, and NATS JetStream (the distributed deployment), where installed. */
const natsBinary = findNatsServer();
for (const bus of ['memory', 'nats'] as const) {
  describe(`over the ${bus} bus`, { skip: bus === 'nats' && !natsBinary && 'nats-server is not installed (Debian: apt-get install nats-server)' }, () => {
    let nats: NatsServer | undefined;
    before(async () => {
      if (bus === 'nats') nats = await startNatsServer(natsBinary!);
      t = await startPlatform({ config: nats ? { bus: nats.url } : {} });
      fx = await setUpAccess(t);
      corp = await startCorporateApp({ vigilUrl: t.url, clientId: fx.clientId, clientSecret: fx.clientSecret, resource: fx.resource });
    });
    after(async () => {
      await corp?.close();
      await t?.stop();
      await nats?.stop();
    });

  test('access follows device health, end to end', async () => {
    const device = await enrollDevice(t, DEVICE);

    // A compliant device signs in; the token carries the device, and the app accepts it.
    const first = await login(device);
    assert.equal(first.ok, true, JSON.stringify(first));
    if (!first.ok) return;
    const ok = await me(first.tokens.access_token);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).device, DEVICE);

    // Without a device proof the policy refuses, and says which policy.
    const noDevice = await login();
    assert.equal(noDevice.ok, false);
    if (!noDevice.ok) {
      assert.equal(noDevice.error, 'access_denied');
      assert.match(noDevice.error_description ?? '', /Corporate app needs a compliant device/);
      assert.match(noDevice.error_description ?? '', /did not come from an enrolled device/);
    }

    // High risk: noncompliant, and the live session dies at the app.
    await t.platform.bus.publish('device.risk-changed', { deviceId: DEVICE, old: 'none', new: 'high', reason: 'alert: test detection' });
    const rejected = await eventually(() => me(first.tokens.access_token), (r) => r.status === 401);
    assert.equal(rejected.status, 401);
    const challenge = rejected.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer realm="corporate-app", error="insufficient_claims", claims="/);
    const claims = JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(challenge)![1], 'base64').toString());
    assert.equal(claims.access_token.nbf.essential, true);

    const detail = await t.api(`/api/v1/devices/${DEVICE}`, { token: t.adminToken });
    assert.equal(detail.body.complianceState, 'noncompliant');
    assert.equal(detail.body.riskLevel, 'high');
    assert.deepEqual(detail.body.history.map((h: any) => `${h.old}->${h.new}`), ['unknown->compliant', 'compliant->noncompliant']);

    await t.platform.bus.drain(); // the provider-side revocation follows the SETs
    // The refresh token is gone (grants bound to the device were revoked) …
    const refreshed = await refresh({ issuer: fx.issuer, clientId: fx.clientId, clientSecret: fx.clientSecret, refreshToken: first.tokens.refresh_token! });
    assert.equal(refreshed.ok, false);
    if (!refreshed.ok) assert.equal(refreshed.error, 'invalid_grant');
    // … and a new sign-in from the device is refused with the policy named.
    const refused = await login(device);
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.error, 'access_denied');
      assert.match(refused.error_description ?? '', /Corporate app needs a compliant device/);
      assert.match(refused.error_description ?? '', /is noncompliant/);
    }

    // Remediated: risk clears, the device is compliant, the user signs in again; the old token stays dead.
    await t.platform.bus.publish('device.risk-changed', { deviceId: DEVICE, old: 'high', new: 'none', reason: 'alerts resolved' });
    await t.platform.bus.drain();
    const again = await login(device);
    assert.equal(again.ok, true, JSON.stringify(again));
    if (again.ok) assert.equal((await me(again.tokens.access_token)).status, 200);
    assert.equal((await me(first.tokens.access_token)).status, 401);
    const detail2 = await t.api(`/api/v1/devices/${DEVICE}`, { token: t.adminToken });
    assert.deepEqual(detail2.body.history.map((h: any) => `${h.old}->${h.new}`), ['unknown->compliant', 'compliant->noncompliant', 'noncompliant->compliant']);

    // Every decision is a sign-in row for hunting.
    const rows = (await t.platform.store.telemetry.read('EntraIdSignInEvents', { limit: 100 })).rows;
    const outcomes = rows.map((r) => `${r.EndpointCall}:${r.ConditionalAccessStatus}`);
    assert.deepEqual(outcomes, ['authorize:0', 'token:authorization_code:0', 'authorize:1', 'authorize:1', 'authorize:0', 'token:authorization_code:0']);
    const failed = rows.filter((r) => r.ConditionalAccessStatus === 1);
    assert.equal(failed[1].ErrorCode, 53000);
    assert.equal(failed[1].EntraIdDeviceId, DEVICE);
    assert.match(String(failed[1].ConditionalAccessPolicies), /"result":"failure"/);
  });

  test('the same loop from real telemetry: enrollment → ingest → indicator alert → incident risk → access cut; alert resolved → access back', async () => {
    // Enrollment through the API, as the agent does it.
    const { generateKeyPair, exportJWK } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const token = (await t.api('/api/v1/enrollment-tokens', { token: t.adminToken, body: { name: 'laptop' } })).body.token;
    const enrolled = await t.api('/api/v1/enroll', { body: { token, hostname: 'laptop-7', os: 'Linux', osVersion: '6.8', publicKeyJwk: await exportJWK(publicKey) } });
    assert.equal(enrolled.status, 201);
    const deviceId = enrolled.body.deviceId as string;
    await t.platform.bus.drain();
    const inventory = await t.api(`/api/v1/devices/${deviceId}`, { token: t.adminToken });
    assert.deepEqual([inventory.body.hostname, inventory.body.os, inventory.body.complianceState, inventory.body.group.id], ['laptop-7', 'Linux', 'compliant', 'default']);

    const device = { deviceId, privateKey };
    const session = await login(device);
    assert.equal(session.ok, true, JSON.stringify(session));
    if (!session.ok) return;
    assert.equal((await me(session.tokens.access_token)).status, 200);

    const sha = 'ab'.repeat(32);
    await t.platform.intel.create({ type: 'sha256', value: sha, action: 'audit', severity: 'high', title: 'Known-bad invoice' }, 'test');
    const alerts: string[] = [];
    const off = t.platform.bus.subscribe('alert.raised', (e) => { alerts.push(e.alert.alertId); }, { name: 'test.alerts' });
    const ingest = await t.api('/api/v1/ingest/DeviceFileEvents', { token: enrolled.body.sensorToken, body: [{
      Timestamp: new Date().toISOString(), DeviceId: deviceId, DeviceName: 'laptop-7', ActionType: 'FileCreated', FileName: 'invoice.exe', FolderPath: '/tmp/invoice.exe', SHA256: sha, ReportId: 1,
    }] });
    assert.equal(ingest.status, 200);
    const cut = await eventually(() => me(session.tokens.access_token), (r) => r.status === 401);
    assert.equal(cut.status, 401);
    await t.platform.bus.drain();
    assert.ok(alerts.length >= 1, 'an alert was raised from the ingested row');
    assert.equal((await t.api(`/api/v1/devices/${deviceId}`, { token: t.adminToken })).body.complianceState, 'noncompliant');
    const refused = await login(device);
    assert.equal(refused.ok, false);

    await t.platform.incidents.resolveAlerts(alerts, { by: 'analyst', reason: 'file quarantined' });
    await t.platform.bus.drain();
    const after = await t.api(`/api/v1/devices/${deviceId}`, { token: t.adminToken });
    assert.deepEqual([after.body.riskLevel, after.body.complianceState], ['none', 'compliant']);
    const back = await login(device);
    assert.equal(back.ok, true, JSON.stringify(back));
    off();
  });
  });
}
