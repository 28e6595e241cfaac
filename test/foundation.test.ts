import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { parseJsonDocuments } from '../src/ingest/index.js';

const row = (reportId: number, extra: Record<string, unknown> = {}) => ({
  Timestamp: '2026-11-28T10:00:00.000Z', ReportId: reportId, DeviceId: 'dev-1', DeviceName: 'ws-alice',
  ActionType: 'ProcessCreated', FileName: 'bash', ProcessCommandLine: `bash -c "echo ${reportId}"`, ...extra,
});

describe('ingest and read back', () => {
  let t: TestPlatform;
  let sensor: string;
  before(async () => {
    t = await startPlatform();
    sensor = await t.sensor('ws-alice');
  });
  after(() => t.stop());

  test('a batch is stored and read back with types restored', async () => {
    const sent = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: [row(1, { ProcessId: 4242, FileSize: 1024 }), row(2)] });
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.body, { accepted: 2, duplicates: 0, rejected: [] });
    const read = await t.api('/api/v1/events/DeviceProcessEvents?deviceId=dev-1', { token: t.adminToken });
    assert.equal(read.status, 200);
    assert.equal(read.body.rows.length, 2);
    assert.equal(read.body.rows[0].ProcessId, 4242);
    assert.equal(read.body.rows[0].Timestamp, '2026-11-28T10:00:00.000Z');
    assert.equal(read.body.rows[1].ProcessCommandLine, 'bash -c "echo 2"');
  });

  test('bad rows are rejected with their index while good rows land', async () => {
    const sent = await t.api('/api/v1/ingest/DeviceProcessEvents', {
      token: sensor,
      body: [row(10), { ReportId: 11 }, row(12, { ProcessId: 'many' }), row(13, { NoSuchColumn: 1 }), row(14)],
    });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.accepted, 2);
    assert.deepEqual(sent.body.rejected.map((r: { index: number }) => r.index), [1, 2, 3]);
    assert.match(sent.body.rejected[0].error, /Timestamp/);
    assert.match(sent.body.rejected[1].error, /ProcessId/);
    assert.match(sent.body.rejected[2].error, /NoSuchColumn/);
  });

  test('NDJSON bodies are accepted and an unreadable line is rejected by index', async () => {
    const body = `${JSON.stringify(row(20))}\n{not json\n${JSON.stringify(row(21))}\n`;
    const sent = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.accepted, 2);
    assert.deepEqual(sent.body.rejected, [{ index: 1, error: 'line is not valid JSON' }]);
  });

  test('a re-sent batch adds no rows', async () => {
    const batch = [row(30), row(31), row(32)];
    const first = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: batch });
    const again = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: batch });
    assert.deepEqual(first.body, { accepted: 3, duplicates: 0, rejected: [] });
    assert.deepEqual(again.body, { accepted: 0, duplicates: 3, rejected: [] });
  });

  test('the same ReportId from another sensor is a different row', async () => {
    const other = await t.sensor('ws-bob');
    const sent = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: other, body: [row(30)] });
    assert.deepEqual(sent.body, { accepted: 1, duplicates: 0, rejected: [] });
  });

  test('cursor pagination walks every row once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: any = await t.api(`/api/v1/events/DeviceProcessEvents?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: t.adminToken });
      seen.push(...res.body.rows.map((r: { ReportId: number }) => r.ReportId));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, [1, 2, 10, 14, 20, 21, 30, 31, 32, 30]);
  });
});

describe('authentication and authorisation', () => {
  let t: TestPlatform;
  let sensor: string;
  before(async () => {
    t = await startPlatform({ config: { bodyLimitBytes: 4096, adminToken: 'automation-secret-token-0123456789' } });
    sensor = await t.sensor();
  });
  after(() => t.stop());

  test('no token is 401 with a JSON error', async () => {
    const res = await t.api('/api/v1/events/DeviceProcessEvents');
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'unauthorized');
  });

  test('a wrong token is 401', async () => {
    const res = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: 'vgl_sensor_forged', body: [row(1)] });
    assert.equal(res.status, 401);
  });

  test('a sensor token may only ingest', async () => {
    assert.equal((await t.api('/api/v1/events/DeviceProcessEvents', { token: sensor })).status, 403);
    assert.equal((await t.api('/api/v1/sensors', { token: sensor, body: { name: 'x' } })).status, 403);
  });

  test('people cannot ingest as a sensor', async () => {
    const res = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: t.adminToken, body: [row(1)] });
    assert.equal(res.status, 403);
  });

  test('a reader cannot create sensors', async () => {
    await t.api('/api/v1/users', { token: t.adminToken, body: { username: 'rita', password: 'reader-password', role: 'reader' } });
    const login = await t.api('/api/v1/auth/login', { body: { username: 'rita', password: 'reader-password' } });
    assert.equal(login.status, 200);
    const res = await t.api('/api/v1/sensors', { token: login.body.token, body: { name: 'x' } });
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'forbidden');
    assert.equal((await t.api('/api/v1/events/DeviceProcessEvents', { token: login.body.token })).status, 200);
  });

  test('VIGIL_ADMIN_TOKEN is accepted as an admin token', async () => {
    const res = await t.api('/api/v1/sensors', { token: 'automation-secret-token-0123456789' });
    assert.equal(res.status, 200);
  });

  test('a wrong password is 401 and repeated failures are 429', async () => {
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await t.api('/api/v1/auth/login', { body: { username: 'admin', password: 'wrong' } })).status;
    assert.equal(last, 429);
  });

  test('an oversized body is 413 with a JSON error', async () => {
    const big = Array.from({ length: 100 }, (_, i) => row(i));
    const res = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: big });
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'payload_too_large');
  });

  test('an unknown table is 404 and malformed JSON is 400', async () => {
    const unknown = await t.api('/api/v1/ingest/NoSuchTable', { token: sensor, body: [row(1)] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /NoSuchTable/);
    const malformed = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: '[{"a":' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'invalid_json');
  });

  test('a revoked sensor token stops working', async () => {
    const created = await t.api('/api/v1/sensors', { token: t.adminToken, body: { name: 'short-lived' } });
    await t.api(`/api/v1/sensors/${created.body.id}`, { method: 'DELETE', token: t.adminToken });
    const res = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: created.body.token, body: [row(1)] });
    assert.equal(res.status, 401);
  });
});

describe('enrollment', () => {
  let t: TestPlatform;
  before(async () => { t = await startPlatform(); });
  after(() => t.stop());

  test('an enrollment token is exchanged once for a device identity that can ingest', async () => {
    const issued = await t.api('/api/v1/enrollment-tokens', { token: t.adminToken, body: { deviceGroup: 'workstations' } });
    assert.equal(issued.status, 201);
    const enrolled: string[] = [];
    t.platform.bus.subscribe('device.enrolled', (e) => { enrolled.push(`${e.hostname}:${e.deviceGroup}`); }, { name: 'test' });
    const body = { token: issued.body.token, hostname: 'ws-alice', os: 'Linux', osVersion: '6.1', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: 'abc' } };
    const first = await t.api('/api/v1/enroll', { body });
    assert.equal(first.status, 201);
    assert.match(first.body.deviceId, /^[0-9a-f]{40}$/);
    const again = await t.api('/api/v1/enroll', { body });
    assert.equal(again.status, 401);
    const ingest = await t.api('/api/v1/ingest/DeviceProcessEvents', { token: first.body.sensorToken, body: [row(1, { DeviceId: first.body.deviceId })] });
    assert.equal(ingest.body.accepted, 1);
    await t.platform.bus.drain();
    assert.deepEqual(enrolled, ['ws-alice:workstations']);
    assert.deepEqual(await t.platform.accounts.devicePublicKey(first.body.deviceId), body.publicKeyJwk);
  });
});

describe('durability across restarts', () => {
  test('rows acknowledged before a restart are there after it', async () => {
    const first = await startPlatform();
    const sensor = await first.sensor();
    await first.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: [row(1), row(2), row(3)] });
    await first.stop(false);
    const second = await startPlatform({ dataDir: first.dataDir });
    try {
      const read = await second.api('/api/v1/events/DeviceProcessEvents', { token: second.adminToken });
      assert.equal(read.body.rows.length, 3);
      // The sensor token survives too, and a retried batch is still recognised.
      const retry = await second.api('/api/v1/ingest/DeviceProcessEvents', { token: sensor, body: [row(1), row(2), row(3)] });
      assert.deepEqual(retry.body, { accepted: 0, duplicates: 3, rejected: [] });
    } finally {
      await second.stop();
    }
  });
});

describe('Windows events (SigmaHQ regression data) through /ingest/windows', () => {
  const root = new URL('../../shared/data/sigma/regression_data/', import.meta.url).pathname;
  let t: TestPlatform;
  before(async () => { t = await startPlatform(); });
  after(() => t.stop());

  function eventFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? eventFiles(path) : name.endsWith('.json') ? [path] : [];
    });
  }

  test('every regression event ingests and lands in the table its source implies', async () => {
    const sensor = await t.sensor('windows-collector');
    const files = eventFiles(root);
    assert.ok(files.length >= 200, `expected the regression data, found ${files.length} files`);
    const expectTable = (e: any) => {
      const provider = e.Event.System.Provider['#attributes'].Name;
      const id = Number(e.Event.System.EventID?.['#text'] ?? e.Event.System.EventID);
      if (provider === 'Microsoft-Windows-Sysmon') {
        return ({ 1: 'DeviceProcessEvents', 3: 'DeviceNetworkEvents', 7: 'DeviceImageLoadEvents', 11: 'DeviceFileEvents', 23: 'DeviceFileEvents',
          26: 'DeviceFileEvents', 12: 'DeviceRegistryEvents', 13: 'DeviceRegistryEvents', 14: 'DeviceRegistryEvents' } as Record<number, string>)[id] ?? 'DeviceEvents';
      }
      if (provider === 'Microsoft-Windows-Security-Auditing' && (id === 4624 || id === 4625)) return 'DeviceLogonEvents';
      return 'DeviceEvents';
    };
    const expected = new Map<string, number>();
    let total = 0;
    for (const file of files) {
      const events = parseJsonDocuments(readFileSync(file, 'utf8'), file);
      const res = await t.api('/api/v1/ingest/windows', { token: sensor, body: events });
      assert.equal(res.status, 200, file);
      assert.deepEqual(res.body.rejected, [], file);
      total += events.length;
      for (const e of events) expected.set(expectTable(e), (expected.get(expectTable(e)) ?? 0) + 1);
      assert.equal(res.body.accepted + res.body.duplicates, events.length, file);
    }
    let stored = 0;
    for (const [table, n] of expected) {
      const count = await t.platform.store.telemetry.count(table);
      assert.ok(count > 0 && count <= n, `${table}: stored ${count}, expected up to ${n}`);
      stored += count;
    }
    assert.ok(stored > 0 && stored <= total);
    const processes = await t.api('/api/v1/events/DeviceProcessEvents?limit=1', { token: t.adminToken });
    assert.ok(processes.body.rows[0].FolderPath, 'process rows carry the image path');
    assert.ok(processes.body.rows[0]._Raw.EventID === 1, 'the raw event is kept');
  });
});

