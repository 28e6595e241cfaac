// End to end over real HTTP on 127.0.0.1: the indicators API (roles, validation, CSV/JSON bulk), the
// versioned sensor feed with long-polls (two sensors at once, one that reconnects late), expiry through
// the feed, and an indicator made from an incident's entity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';

let t: TestPlatform;
let admin: string;
let reader: string;
let sensorA: string;
let sensorB: string;
let sensorC: string;

before(async () => {
  t = await startPlatform();
  admin = t.adminToken;
  const created = await t.api('/api/v1/users', { token: admin, body: { username: 'rita', password: 'reader-pass-1', role: 'reader' } });
  assert.equal(created.status, 201);
  reader = (await t.api('/api/v1/auth/login', { body: { username: 'rita', password: 'reader-pass-1' } })).body.token;
  [sensorA, sensorB, sensorC] = [await t.sensor('a'), await t.sensor('b'), await t.sensor('c')];
});
after(() => t.stop());

const feed = (token: string, since: number, wait = 0) => t.api(`/api/v1/intel/feed?since=${since}&wait=${wait}`, { token });

test('roles: readers list, analysts and up create, sensors only read the feed', async () => {
  const body = { type: 'domain', value: 'roles.example', action: 'block', title: 'roles' };
  assert.equal((await t.api('/api/v1/indicators', { token: reader, body })).status, 403);
  assert.equal((await t.api('/api/v1/indicators', { token: sensorA, body })).status, 403);
  assert.equal((await t.api('/api/v1/indicators', { body })).status, 401);
  const created = await t.api('/api/v1/indicators', { token: admin, body });
  assert.equal(created.status, 201);
  assert.equal(created.body.createdBy, 'admin');
  const listed = await t.api('/api/v1/indicators?type=domain', { token: reader });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.indicators.map((i: any) => i.value), ['roles.example']);
  const searched = await t.api('/api/v1/indicators?q=ROLES', { token: reader });
  assert.deepEqual(searched.body.indicators.map((i: any) => i.value), ['roles.example']);
  assert.deepEqual((await t.api('/api/v1/indicators?q=100%25', { token: reader })).body.indicators, []);
  assert.equal((await t.api('/api/v1/indicators', { token: sensorA })).status, 403);
  assert.equal((await feed(admin, 0)).status, 403);
  assert.equal((await t.api(`/api/v1/indicators/${created.body.id}`, { token: admin, method: 'DELETE' })).status, 204);
  assert.equal((await t.api(`/api/v1/indicators/${created.body.id}`, { token: admin })).status, 404);
});

test('a malformed indicator is refused with 400, the field and the reason', async () => {
  const r = await t.api('/api/v1/indicators', { token: admin, body: { type: 'sha256', value: 'xyz', action: 'block', title: 't' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_indicator');
  assert.equal(r.body.field, 'value');
  assert.match(r.body.message, /^value: a sha256 is hexadecimal/);
});

test('two connected sensors receive a new indicator from their long-poll; a late one catches up with adds and removals', async () => {
  const start = await feed(sensorA, 0);
  assert.equal(start.status, 200);
  const v0 = start.body.version as number;
  assert.equal(start.body.full, true);
  assert.equal((await feed(sensorC, 0)).body.version, v0); // C is in sync, then goes away

  // A and B wait on the feed; the answer comes as soon as the indicator exists, long before `wait` (30 s).
  const pollA = feed(sensorA, v0, 30);
  const pollB = feed(sensorB, v0, 30);
  const first = await t.api('/api/v1/indicators', { token: admin, body: { type: 'sha256', value: 'ab'.repeat(32), action: 'block', title: 'Dropper', severity: 'high' } });
  assert.equal(first.status, 201);
  for (const poll of [await pollA, await pollB]) {
    assert.equal(poll.status, 200);
    assert.equal(poll.body.version, v0 + 1);
    assert.deepEqual(poll.body.indicators, [{
      id: first.body.id, type: 'sha256', value: 'ab'.repeat(32), action: 'block', severity: 'high', title: 'Dropper', expiresAt: null,
    }]);
    assert.deepEqual(poll.body.removed, []);
  }

  // While C is away: a second indicator arrives and the first is deleted.
  const second = await t.api('/api/v1/indicators', { token: admin, body: { type: 'url', value: 'https://bad.example/kit', action: 'warn', title: 'Kit' } });
  assert.equal((await t.api(`/api/v1/indicators/${first.body.id}`, { token: admin, method: 'DELETE' })).status, 204);

  const late = await feed(sensorC, v0, 30);
  assert.equal(late.body.version, v0 + 3);
  assert.deepEqual(late.body.indicators.map((i: any) => i.id), [second.body.id]);
  assert.deepEqual(late.body.removed, [first.body.id]);
  assert.equal(late.body.full, false);

  // Up to date: nothing after the current version, an empty answer once `wait` is over.
  const idle = await feed(sensorC, v0 + 3, 1);
  assert.deepEqual([idle.body.version, idle.body.indicators, idle.body.removed], [v0 + 3, [], []]);
});

test('an expired indicator reaches waiting sensors as a removal', async () => {
  const v = (await feed(sensorA, 0)).body.version as number;
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  const created = await t.api('/api/v1/indicators', { token: admin, body: { type: 'ipv4', value: '198.51.100.77', action: 'block', title: 'short', expiresAt } });
  assert.equal(created.status, 201);
  const added = await feed(sensorA, v, 30);
  assert.deepEqual(added.body.indicators.map((i: any) => i.id), [created.body.id]);
  const gone = await feed(sensorA, added.body.version, 30);
  assert.deepEqual(gone.body.removed, [created.body.id]);
  assert.equal((await t.api(`/api/v1/indicators/${created.body.id}`, { token: admin })).body.state, 'expired');
  const full = await feed(sensorB, 0);
  assert.equal(full.body.indicators.some((i: any) => i.id === created.body.id), false);
});

test('CSV and JSON bulk import and export over HTTP', async () => {
  const csv = 'type,value,action,title\nmd5,0123456789abcdef0123456789abcdef,audit,bulk one\ncidr,203.0.113.0/24,block,bulk two\nipv6,not-an-ip,block,bad\n';
  const imported = await t.api('/api/v1/indicators/import', { token: admin, body: csv, headers: { 'content-type': 'text/csv' } });
  assert.equal(imported.status, 200);
  assert.equal(imported.body.created, 2);
  assert.deepEqual(imported.body.rejected.map((r: any) => [r.index, r.line, r.field]), [[2, 4, 'value']]);
  const json = await t.api('/api/v1/indicators/import', { token: admin, body: { indicators: [{ type: 'domain', value: 'bulk.example', action: 'warn', title: 'bulk three' }] } });
  assert.equal(json.body.created, 1);
  const exported = await t.api('/api/v1/indicators/export?format=csv', { token: reader });
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /^text\/csv/);
  for (const v of ['0123456789abcdef0123456789abcdef', '203.0.113.0/24', 'bulk.example']) assert.ok((exported.body as string).includes(v), v);
  const asJson = await t.api('/api/v1/indicators/export?format=json', { token: reader });
  assert.ok(asJson.body.indicators.some((i: any) => i.value === 'bulk.example'));
});

test('an indicator made from an incident entity is linked to the incident', async () => {
  const r = await t.api('/api/v1/indicators/from-entity', { token: admin, body: { kind: 'ip', key: '192.0.2.200', incidentId: 'inc-42', action: 'block' } });
  assert.equal(r.status, 201);
  assert.deepEqual([r.body.type, r.body.value, r.body.action, r.body.incidentId, r.body.source], ['ipv4', '192.0.2.200', 'block', 'inc-42', 'incident']);
  const file = await t.platform.intel.indicatorFromEntity({ kind: 'file', key: 'CD'.repeat(32), incidentId: 'inc-43' });
  assert.deepEqual([file.type, file.action, file.incidentId], ['sha256', 'block_and_remediate', 'inc-43']);
  const listed = await t.api('/api/v1/indicators?incidentId=inc-42', { token: reader });
  assert.deepEqual(listed.body.indicators.map((i: any) => i.id), [r.body.id]);
  const refused = await t.api('/api/v1/indicators/from-entity', { token: admin, body: { kind: 'user', key: 'alice', incidentId: 'inc-42' } });
  assert.equal(refused.status, 400);
});
