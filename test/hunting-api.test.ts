// POST /api/v1/hunt and `vigil hunt` end to end: a real API server on 127.0.0.1 and a real store folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiServer, createMetrics } from '../src/api/index.js';
import { registerHuntingRoutes } from '../src/api/routes/hunting.js';
import { runHunt, formatTable } from '../src/cli/hunt.js';
import { createTestHunting } from '../src/hunting/test-support.js';
import { createSqliteStore } from '../src/store/index.js';

const NOW = Date.now();
const hunting = createTestHunting({ now: NOW });
let app: FastifyInstance;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'vigil-hunt-test-'));

before(async () => {
  hunting.insert('DeviceProcessEvents', [
    { Timestamp: new Date(NOW - 3_600_000).toISOString(), DeviceName: 'ws1', FileName: 'cmd.exe', ProcessCommandLine: 'cmd.exe /c whoami' },
    { Timestamp: new Date(NOW - 7_200_000).toISOString(), DeviceName: 'ws2', FileName: 'powershell.exe', ProcessCommandLine: 'powershell -enc AAA' },
  ]);
  const principals: Record<string, { kind: 'user'; id: string; name: string; role: string }> = {
    'reader-token': { kind: 'user', id: 'u1', name: 'reader', role: 'reader' },
  };
  const accounts = { authenticate: async (token: string) => principals[token] } as never;
  app = createApiServer({ accounts, metrics: createMetrics({ busLag: () => 0 }), bodyLimit: 1024 * 1024, logLevel: 'silent', ready: () => true });
  registerHuntingRoutes(app, { hunting: hunting.hunting });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  await app.close();
  hunting.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: unknown, token?: string) {
  const res = await fetch(`${base}/api/v1/hunt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test('POST /api/v1/hunt returns typed columns, rows and stats', async () => {
  const res = await post({ query: 'DeviceProcessEvents | where ProcessCommandLine has "whoami" | project DeviceName, Timestamp' }, 'reader-token');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.columns, [{ name: 'DeviceName', type: 'string' }, { name: 'Timestamp', type: 'datetime' }]);
  assert.deepEqual(res.body.rows, [['ws1', new Date(NOW - 3_600_000).toISOString()]]);
  assert.equal(res.body.truncated, false);
  assert.equal(res.body.stats.rowsReturned, 1);
  assert.equal(typeof res.body.stats.elapsedMs, 'number');
});

test('a syntax error is a 400 kql_syntax with line and column', async () => {
  const res = await post({ query: 'DeviceProcessEvents\n| where FileName == ' }, 'reader-token');
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'kql_syntax');
  assert.equal(res.body.line, 2);
  assert.equal(res.body.column, 21);
  assert.match(res.body.message, /expected a value/i);
});

test('an unknown table is a 400 that names it', async () => {
  const res = await post({ query: 'DeviceTvmSoftwareVulnerabilities | take 1' }, 'reader-token');
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'kql_semantic');
  assert.match(res.body.message, /DeviceTvmSoftwareVulnerabilities/);
});

test('hunting needs an authenticated principal and a query', async () => {
  assert.equal((await post({ query: 'DeviceProcessEvents' })).status, 401);
  const missing = await post({}, 'reader-token');
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'bad_request');
});

test('formatTable aligns columns and reports the row count', () => {
  const text = formatTable({
    columns: [{ name: 'DeviceName', type: 'string' }, { name: 'n', type: 'long' }],
    rows: [['ws1', 12], ['workstation-2', 3]],
    truncated: false,
    stats: { elapsedMs: 5, rowsReturned: 2, tables: [] },
  });
  assert.equal(text, 'DeviceName     n\n-------------  --\nws1            12\nworkstation-2  3\n\n2 rows in 5 ms\n');
});

test('vigil hunt --data --json runs against a data folder', async () => {
  const store = await createSqliteStore({ file: join(dir, 'vigil.db') });
  await store.telemetry.append('DeviceFileEvents', 'sensor-1', [
    { Timestamp: new Date(NOW - 60_000).toISOString(), DeviceName: 'ws9', FileName: 'invoice.docm', ReportId: 1 },
  ]);
  await store.close();
  const out: string[] = [];
  const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
  const code = await runHunt(['DeviceFileEvents | project DeviceName, FileName', '--data', dir, '--json'], {}, io);
  assert.equal(code, 0);
  const result = JSON.parse(out.join(''));
  assert.deepEqual(result.rows, [['ws9', 'invoice.docm']]);
});

test('vigil hunt shows a syntax error with a caret under the position', async () => {
  const out: string[] = [];
  const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
  const code = await runHunt(['DeviceFileEvents | where', '--data', dir], {}, io);
  assert.equal(code, 1);
  assert.equal(out.join(''), "Unexpected end of query: expected a value, a column or a function call (line 1, column 25)\n  DeviceFileEvents | where\n                          ^\n");
});
