// The command channel against a minimal local server speaking the contract: a command delivered again
// (also after a restart) is not run again; its stored result is posted again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommandChannel } from './command-channel.js';
import { createPlatformClient } from './platform-client.js';
import { openStateDir } from './state-dir.js';

test('a redelivered command runs once, across a restart, and its result is posted each time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-agent-cmd-'));
  let deliveries = 0;
  const posted: { id: string; status: string; message: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== 'Bearer s3nsor') { res.statusCode = 401; res.end('{}'); return; }
      if (req.method === 'GET' && req.url?.startsWith('/api/v1/agent/commands')) {
        // The same command on every poll, as a server would that never saw the result arrive.
        deliveries++;
        setTimeout(() => res.end(JSON.stringify({ commands: [{ id: 'cmd-1', kind: 'run_scan', params: { type: 'quick' }, issuedAt: '2026-11-28T20:00:00.000Z' }] })), 20);
        return;
      }
      const m = /^\/api\/v1\/agent\/commands\/([^/]+)\/result$/.exec(req.url ?? '');
      if (req.method === 'POST' && m) {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        posted.push({ id: m[1], status: body.status, message: body.message });
        res.end(JSON.stringify({ id: m[1], changed: posted.length === 1 }));
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let runs = 0;
  const handle = async () => { runs++; return { status: 'succeeded' as const, message: 'scanned 3 files' }; };
  try {
    const state = await openStateDir(dir);
    const client = createPlatformClient(url, 's3nsor');
    const first = await createCommandChannel({ client, state, handle, waitSeconds: 1 });
    while (posted.length < 3 && deliveries < 200) await new Promise((r) => setTimeout(r, 20));
    await first.close();
    client.close();
    // A restart: a new channel over the same state folder.
    const client2 = createPlatformClient(url, 's3nsor');
    const before = posted.length;
    const second = await createCommandChannel({ client: client2, state: await openStateDir(dir), handle, waitSeconds: 1 });
    while (posted.length < before + 2 && deliveries < 400) await new Promise((r) => setTimeout(r, 20));
    await second.close();
    client2.close();
    assert.equal(runs, 1);
    assert.ok(posted.length >= before + 2);
    assert.deepEqual(new Set(posted.map((p) => `${p.id} ${p.status} ${p.message}`)), new Set(['cmd-1 succeeded scanned 3 files']));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
