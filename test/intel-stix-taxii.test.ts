// STIX 2.1 import/export (lossless for supported objects, the specification's own example objects) and
// the TAXII 2.1 server and client against each other over HTTP on 127.0.0.1.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { createSqliteStore } from '../src/store/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createIntelService, createTaxiiClient, parsePattern, patternOf, type StixObject } from '../src/intel/index.js';
import type { RaisedAlert } from '../src/schema/index.js';

const TAXII = 'application/taxii+json;version=2.1';

// STIX 2.1 specification examples (Indicator §4.7, Malware §4.10, Relationship §5.1), plus an attack pattern.
const SPEC_INDICATOR = {
  type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  created_by_ref: 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff', created: '2016-04-06T20:03:48.000Z', modified: '2016-04-06T20:03:48.000Z',
  indicator_types: ['malicious-activity'], name: 'Poison Ivy Malware', description: 'This file is part of Poison Ivy',
  pattern: "[ file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]",
  pattern_type: 'stix', valid_from: '2016-01-01T00:00:00Z',
};
const SPEC_MALWARE = {
  type: 'malware', spec_version: '2.1', id: 'malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b', created: '2016-04-06T20:07:09.000Z',
  modified: '2016-04-06T20:07:09.000Z', created_by_ref: 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff', name: 'Poison Ivy',
  malware_types: ['remote-access-trojan'], is_family: false,
};
const SPEC_RELATIONSHIP = {
  type: 'relationship', spec_version: '2.1', id: 'relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad', created: '2016-04-06T20:06:37.000Z',
  modified: '2016-04-06T20:06:37.000Z', relationship_type: 'indicates', source_ref: SPEC_INDICATOR.id, target_ref: SPEC_MALWARE.id,
};
const ATTACK_PATTERN = {
  type: 'attack-pattern', spec_version: '2.1', id: 'attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5', created: '2020-01-01T00:00:00.000Z',
  modified: '2020-01-01T00:00:00.000Z', name: 'Command and Scripting Interpreter',
  external_references: [{ source_name: 'mitre-attack', external_id: 'T1059', url: 'https://attack.mitre.org/techniques/T1059' }],
};
const USES_ATTACK = {
  type: 'relationship', spec_version: '2.1', id: 'relationship--6598bf44-1c10-4218-af9f-75b5b71c23a7', created: '2020-01-01T00:00:00.000Z',
  modified: '2020-01-01T00:00:00.000Z', relationship_type: 'indicates', source_ref: SPEC_INDICATOR.id, target_ref: ATTACK_PATTERN.id,
};
const stixIndicator = (uuid: string, pattern: string, extra: Record<string, unknown> = {}) => ({
  type: 'indicator', spec_version: '2.1', id: `indicator--${uuid}`, created: '2026-01-02T03:04:05.000Z', modified: '2026-01-02T03:04:05.000Z',
  name: `ind ${uuid.slice(0, 4)}`, pattern, pattern_type: 'stix', valid_from: '2026-01-02T03:04:05.000Z', ...extra,
});
const OTHERS = [
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000001', "[ipv4-addr:value = '203.0.113.5']"),
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000002', "[ipv6-addr:value = '2001:db8::/32']"),
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000003', "[domain-name:value = 'phish.example']", { indicator_types: ['malicious-activity'], confidence: 85 }),
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000004', "[url:value = 'http://phish.example/login']", { labels: ['phishing'] }),
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000005', "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']"),
  // Not enforceable by Vigil (two comparisons): kept as is.
  stixIndicator('0a1b2c3d-0000-4000-8000-000000000006', "[file:name = 'x.exe' AND file:size > 10]"),
];
const BUNDLE = {
  type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d',
  objects: [SPEC_INDICATOR, SPEC_MALWARE, SPEC_RELATIONSHIP, ATTACK_PATTERN, USES_ATTACK, ...OTHERS],
};

describe('STIX patterns', () => {
  test('each supported object path reads to its indicator type', () => {
    assert.deepEqual(parsePattern(SPEC_INDICATOR.pattern), { type: 'sha256', value: '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' });
    assert.deepEqual(parsePattern("[file:hashes.'SHA-1' = 'aa']"), { type: 'sha1', value: 'aa' });
    assert.deepEqual(parsePattern("[ipv4-addr:value = '10.0.0.0/8']"), { type: 'cidr', value: '10.0.0.0/8' });
    assert.deepEqual(parsePattern("[ipv4-addr:value = '10.0.0.1/32']"), { type: 'ipv4', value: '10.0.0.1' });
    assert.deepEqual(parsePattern("[x509-certificate:hashes.'SHA-1' = 'ab']"), { type: 'cert', value: 'ab' });
    assert.deepEqual(parsePattern("[url:value = 'http://a.example/it\\'s']"), { type: 'url', value: "http://a.example/it's" });
    assert.match(String(parsePattern("[file:name = 'x']")), /not one Vigil enforces/);
    assert.match(String(parsePattern("[a:b = 'x'] FOLLOWEDBY [c:d = 'y']")), /only patterns of one comparison/);
  });

  test('generated patterns read back to the same indicator', () => {
    for (const [type, value] of [['sha256', 'f'.repeat(64)], ['md5', 'e'.repeat(32)], ['ipv6', '2001:db8::1'], ['cidr', '10.0.0.0/8'], ['domain', 'a.example'], ['url', 'https://a.example/x'], ['cert', 'd'.repeat(64)]] as const) {
      assert.deepEqual(parsePattern(patternOf({ type, value })), { type, value });
    }
  });
});

describe('STIX bundles', () => {
  test('import keeps related objects, enforces what it can, and exports the same objects (lossless)', async () => {
    const store = await createSqliteStore({ file: ':memory:' });
    const bus = createMemoryBus();
    const intel = await createIntelService({ store, bus, sweepIntervalMs: 0, now: () => Date.parse('2026-03-01T00:00:00.000Z') });
    const report = await intel.importStix(BUNDLE, 'alice', { retroHunt: false });
    assert.equal(report.indicatorsCreated, 6);
    assert.equal(report.objectsStored, 5); // malware, attack pattern, two relationships, the unenforceable indicator
    assert.deepEqual(report.skipped.map((s) => s.id), ['indicator--0a1b2c3d-0000-4000-8000-000000000006']);
    assert.deepEqual(report.rejected, []);
    const poison = intel.exportAll().find((i) => i.stixId === SPEC_INDICATOR.id)!;
    assert.deepEqual([poison.type, poison.action, poison.title, poison.source], ['sha256', 'block', 'Poison Ivy Malware', 'stix']);
    assert.deepEqual(intel.techniquesOf(poison.id), ['T1059']);

    const exported = await intel.exportStix();
    assert.equal(exported.type, 'bundle');
    const byId = new Map(exported.objects.map((o) => [o.id, o]));
    assert.equal(exported.objects.length, BUNDLE.objects.length);
    for (const original of BUNDLE.objects) assert.deepEqual(byId.get(original.id), original, original.id);

    // A match on the imported hash carries the ATT&CK technique from the relationship.
    const alerts: RaisedAlert[] = [];
    bus.subscribe('alert.raised', ({ alert }) => { alerts.push(alert); }, { name: 't' });
    await intel.handleRows('DeviceProcessEvents', 's', [{ Timestamp: '2026-03-01T00:00:00.000Z', DeviceId: 'd1', ReportId: 1, SHA256: '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' }]);
    await bus.drain();
    assert.deepEqual(alerts.map((a) => a.mitreTechniques), [['T1059']]);

    // Re-importing the export changes nothing.
    const again = await intel.importStix(exported, 'alice', { retroHunt: false });
    assert.deepEqual([again.indicatorsCreated, again.indicatorsUpdated, again.objectsStored], [0, 0, 0]);
    await intel.close(); await bus.close(); await store.close();
  });

  test('Vigil indicators survive a trip through STIX into another Vigil', async () => {
    const make = async () => {
      const store = await createSqliteStore({ file: ':memory:' });
      const bus = createMemoryBus();
      return { store, bus, intel: await createIntelService({ store, bus, sweepIntervalMs: 0 }) };
    };
    const a = await make();
    const b = await make();
    await a.intel.importMany([
      { type: 'sha1', value: 'c'.repeat(40), action: 'warn', title: 'T1', description: 'd1', severity: 'low', generateAlert: false },
      { type: 'cidr', value: '192.0.2.0/24', action: 'allow', title: 'T2', deviceGroups: ['servers'] },
      { type: 'url', value: 'evil.example/x', action: 'audit', title: 'T3', expiresAt: '2099-01-01T00:00:00.000Z' },
      { type: 'cert', value: 'a'.repeat(40), action: 'block_and_remediate', title: 'T4', severity: 'high' },
    ], 'alice', { retroHunt: false });
    const bundle = await a.intel.exportStix();
    const report = await b.intel.importStix(JSON.parse(JSON.stringify(bundle)), 'bob', { retroHunt: false });
    assert.equal(report.indicatorsCreated, 4);
    const view = (x: typeof a) => x.intel.exportAll().map((i) => ({
      type: i.type, value: i.value, action: i.action, title: i.title, description: i.description, severity: i.severity,
      generateAlert: i.generateAlert, deviceGroups: i.deviceGroups, expiresAt: i.expiresAt, stixId: i.stixId,
    })).sort((p, q) => p.title.localeCompare(q.title));
    assert.deepEqual(view(b), view(a));
    const back = await b.intel.exportStix();
    assert.deepEqual(back.objects.map((o) => o).sort((p, q) => p.id.localeCompare(q.id)), [...bundle.objects].sort((p, q) => p.id.localeCompare(q.id)));
    for (const x of [a, b]) { await x.intel.close(); await x.bus.close(); await x.store.close(); }
  });
});

describe('TAXII 2.1 server and client', () => {
  let t: TestPlatform;
  let readerToken: string;
  let collectionUrl: string;
  let collectionPath: string;

  before(async () => {
    t = await startPlatform();
    readerToken = (await t.api('/api/v1/tokens', { token: t.adminToken, body: { name: 'taxii-reader', role: 'reader' } })).body.token;
  });
  after(() => t.stop());

  const taxii = (path: string, init: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.api(path, { token: init.token ?? t.adminToken, method: init.method, body: init.body, headers: { accept: TAXII, ...(init.body ? { 'content-type': TAXII } : {}), ...init.headers } });

  test('discovery, API root and collections need authentication and speak the TAXII media type', async () => {
    const anonymous = await t.api('/taxii2/', { headers: { accept: TAXII } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('content-type'), TAXII);
    assert.deepEqual([anonymous.body.http_status, typeof anonymous.body.title], ['401', 'string']);

    const discovery = await taxii('/taxii2/', { token: readerToken });
    assert.equal(discovery.status, 200);
    assert.equal(discovery.headers.get('content-type'), TAXII);
    assert.equal(discovery.body.default, `${t.url}/taxii2/vigil/`);
    assert.deepEqual(discovery.body.api_roots, [`${t.url}/taxii2/vigil/`]);

    const basic = await t.api('/taxii2/vigil/', { headers: { accept: TAXII, authorization: `Basic ${Buffer.from(`rita:${readerToken}`).toString('base64')}` } });
    assert.equal(basic.status, 200);
    assert.deepEqual(basic.body.versions, [TAXII]);

    assert.equal((await taxii('/taxii2/vigil/', { headers: { accept: 'application/xml' } })).status, 406);

    const collections = await taxii('/taxii2/vigil/collections/');
    assert.equal(collections.body.collections.length, 1);
    const c = collections.body.collections[0];
    assert.deepEqual([c.can_read, c.can_write, c.media_types], [true, true, ['application/stix+json;version=2.1']]);
    collectionPath = `/taxii2/vigil/collections/${c.id}/`;
    collectionUrl = `${t.url}${collectionPath}`;
    assert.equal((await taxii(collectionPath)).body.id, c.id);
    assert.equal((await taxii('/taxii2/vigil/collections/4b1c7c2e-0000-4000-8000-000000000000/')).status, 404);
  });

  test('objects added over TAXII become indicators; paging with limit/next and added_after, with date headers', async () => {
    const status = await taxii(`${collectionPath}objects/`, { method: 'POST', body: { objects: BUNDLE.objects } });
    assert.equal(status.status, 202);
    assert.deepEqual([status.body.status, status.body.total_count, status.body.success_count, status.body.failure_count], ['complete', 11, 11, 0]);
    assert.equal((await taxii(`/taxii2/vigil/status/${status.body.id}/`)).body.id, status.body.id);
    assert.ok(t.platform.intel.exportAll().some((i) => i.stixId === SPEC_INDICATOR.id));

    const seen: string[] = [];
    let page = await taxii(`${collectionPath}objects/?limit=4`);
    assert.equal(page.body.objects.length, 4);
    assert.equal(page.body.more, true);
    assert.match(page.headers.get('x-taxii-date-added-first') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const firstPageLast = page.headers.get('x-taxii-date-added-last')!;
    for (let guard = 0; guard < 10; guard++) {
      seen.push(...page.body.objects.map((o: StixObject) => o.id));
      if (!page.body.more) break;
      page = await taxii(`${collectionPath}objects/?limit=4&next=${page.body.next}`);
    }
    assert.deepEqual([...seen].sort(), BUNDLE.objects.map((o) => o.id).sort());

    const after = await taxii(`${collectionPath}objects/?added_after=${firstPageLast}`);
    assert.deepEqual(after.body.objects.map((o: StixObject) => o.id), seen.slice(4));
    const none = await taxii(`${collectionPath}objects/?added_after=${after.headers.get('x-taxii-date-added-last')}`);
    assert.deepEqual([none.status, none.body.objects, none.body.more], [200, undefined, false]);

    const byType = await taxii(`${collectionPath}objects/?match[type]=malware,attack-pattern`);
    assert.deepEqual(byType.body.objects.map((o: StixObject) => o.type).sort(), ['attack-pattern', 'malware']);
    const manifest = await taxii(`${collectionPath}manifest/?match[id]=${SPEC_MALWARE.id}`);
    assert.deepEqual(manifest.body.objects.map((m: any) => [m.id, m.version, m.media_type]), [[SPEC_MALWARE.id, '2016-04-06T20:07:09.000Z', 'application/stix+json;version=2.1']]);
    assert.match(manifest.body.objects[0].date_added, /\.\d{6}Z$/);
  });

  test('a newer version is listed by versions/, served by default, and all versions on request', async () => {
    const v2 = { ...SPEC_MALWARE, modified: '2017-01-01T00:00:00.000Z', description: 'updated' };
    assert.equal((await taxii(`${collectionPath}objects/`, { method: 'POST', body: { objects: [v2] } })).status, 202);
    const versions = await taxii(`${collectionPath}objects/${SPEC_MALWARE.id}/versions/`);
    assert.deepEqual(versions.body.versions, ['2016-04-06T20:07:09.000Z', '2017-01-01T00:00:00.000Z']);
    const latest = await taxii(`${collectionPath}objects/${SPEC_MALWARE.id}/`);
    assert.deepEqual(latest.body.objects, [v2]);
    const all = await taxii(`${collectionPath}objects/${SPEC_MALWARE.id}/?match[version]=all`);
    assert.deepEqual(all.body.objects, [SPEC_MALWARE, v2]);
    const first = await taxii(`${collectionPath}objects/${SPEC_MALWARE.id}/?match[version]=first`);
    assert.deepEqual(first.body.objects, [SPEC_MALWARE]);
  });

  test('errors: readers cannot write, bodies must be TAXII, unknown objects are 404', async () => {
    const denied = await taxii(`${collectionPath}objects/`, { token: readerToken, method: 'POST', body: { objects: [] } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.http_status, '403');
    const wrongType = await t.api(`${collectionPath}objects/`, { token: t.adminToken, body: { objects: [] }, headers: { accept: TAXII, 'content-type': 'application/json' } });
    assert.equal(wrongType.status, 415);
    assert.equal((await taxii(`${collectionPath}objects/malware--00000000-0000-4000-8000-000000000000/`)).status, 404);
    assert.equal((await taxii(`${collectionPath}objects/?added_after=yesterday`)).status, 400);
    const rejected = await taxii(`${collectionPath}objects/`, { method: 'POST', body: { objects: [{ type: 'malware', id: 'not-an-id' }] } });
    assert.deepEqual([rejected.status, rejected.body.failure_count], [202, 1]);
  });

  test('deleting an indicator object from the collection deletes the Vigil indicator', async () => {
    const id = OTHERS[0].id;
    assert.ok(t.platform.intel.exportAll().some((i) => i.stixId === id));
    assert.equal((await taxii(`${collectionPath}objects/${id}/`, { token: readerToken, method: 'DELETE' })).status, 403);
    const deleted = await taxii(`${collectionPath}objects/${id}/`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.equal((await taxii(`${collectionPath}objects/${id}/`)).status, 404);
    assert.equal(t.platform.intel.exportAll().some((i) => i.stixId === id), false);
  });

  test('the TAXII client polls the collection page by page and then only what is new', async () => {
    const received: StixObject[] = [];
    const client = createTaxiiClient({ collectionUrl, token: readerToken, pageSize: 3, onObjects: (objects) => { received.push(...objects); } });
    const first = await client.pollOnce();
    assert.equal(first.objects, received.length);
    assert.ok(received.some((o) => o.id === SPEC_INDICATOR.id));
    assert.ok(first.pages >= 4);
    const before = received.length;
    const created = await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'domain', value: 'taxii-new.example', action: 'block', title: 'fresh' } });
    const second = await client.pollOnce();
    assert.equal(second.objects, 1);
    assert.equal(received.length, before + 1);
    assert.equal(received[received.length - 1].id, created.body.stixId);
    assert.equal(received[received.length - 1].pattern, "[domain-name:value = 'taxii-new.example']");
    assert.equal((await client.pollOnce()).objects, 0);

    // On a schedule: feeds a second Vigil service, as a deployment would.
    const store = await createSqliteStore({ file: ':memory:' });
    const bus = createMemoryBus();
    const downstream = await createIntelService({ store, bus, sweepIntervalMs: 0 });
    const scheduled = createTaxiiClient({
      collectionUrl, token: readerToken, intervalMs: 20,
      onObjects: (objects) => downstream.importStix(objects, 'taxii', { source: `taxii:${collectionUrl}`, retroHunt: false }),
    });
    scheduled.start();
    for (let i = 0; i < 200 && !downstream.exportAll().some((x) => x.value === 'taxii-new.example'); i++) await new Promise((r) => setTimeout(r, 25));
    await scheduled.stop();
    const mirrored = downstream.exportAll().find((x) => x.value === 'taxii-new.example');
    assert.equal(mirrored?.source, `taxii:${collectionUrl}`);
    await downstream.close(); await bus.close(); await store.close();
  });
});
