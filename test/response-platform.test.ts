import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync, gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startPlatform, tempDataDir, type TestPlatform } from './helpers/platform.js';

async function enroll(tp: TestPlatform, hostname: string): Promise<{ deviceId: string; token: string }> {
  const { body: { token } } = await tp.api('/api/v1/enrollment-tokens', { token: tp.adminToken, body: { name: hostname } });
  const enrolled = await tp.api('/api/v1/enroll', { body: { token, hostname, os: 'Linux', osVersion: '6.8' } });
  assert.equal(enrolled.status, 201);
  return { deviceId: enrolled.body.deviceId, token: enrolled.body.sensorToken };
}

async function person(tp: TestPlatform, username: string, role: string): Promise<string> {
  const password = `${username}-password-1234`;
  const created = await tp.api('/api/v1/users', { token: tp.adminToken, body: { username, password, role } });
  assert.equal(created.status, 201);
  const login = await tp.api('/api/v1/auth/login', { body: { username, password } });
  return login.body.token;
}

let tp: TestPlatform;
before(async () => {
  tp = await startPlatform({ config: { fourEyes: true } as any });
});
after(async () => {
  await tp.stop();
});

test('only responders create and approve actions; four-eyes refuses the requester as approver', async () => {
  const device = await enroll(tp, 'ws-1');
  const analyst = await person(tp, 'ann', 'analyst');
  const r1 = await person(tp, 'rita', 'responder');
  const r2 = await person(tp, 'ravi', 'responder');
  const denied = await tp.api('/api/v1/actions', { token: analyst, body: { kind: 'isolate', target: device.deviceId } });
  assert.equal(denied.status, 403);
  const created = await tp.api('/api/v1/actions', { token: r1, body: { kind: 'isolate', target: device.deviceId, params: { allow: ['vigil.corp'] }, comment: 'ransomware' } });
  assert.equal(created.status, 201);
  assert.equal(created.body.state, 'pendingApproval');
  const pending = await tp.api('/api/v1/actions?state=pending', { token: analyst });
  assert.deepEqual(pending.body.actions.map((a: any) => a.id), [created.body.id]);

  assert.equal((await tp.api('/api/v1/actions/approve', { token: analyst, body: { ids: [created.body.id] } })).status, 403);
  const self = await tp.api('/api/v1/actions/approve', { token: r1, body: { ids: [created.body.id] } });
  assert.equal(self.body.errors[0].error, 'forbidden');
  const approved = await tp.api('/api/v1/actions/approve', { token: r2, body: { ids: [created.body.id] } });
  assert.equal(approved.body.approved[0].state, 'dispatched');
  assert.equal(approved.body.approved[0].decidedBy, 'ravi');

  const other = await tp.api('/api/v1/actions', { token: r1, body: { kind: 'run_scan', target: device.deviceId, params: { type: 'full' } } });
  assert.equal((await tp.api('/api/v1/actions/reject', { token: r2, body: { ids: [other.body.id] } })).status, 400);
  const rejected = await tp.api('/api/v1/actions/reject', { token: r2, body: { ids: [other.body.id], reason: 'not needed' } });
  assert.equal(rejected.body.rejected[0].state, 'rejected');

  // The device receives only the approved command; the action moves with its results.
  const polled = await tp.api('/api/v1/agent/commands?wait=1', { token: device.token });
  assert.deepEqual(polled.body.commands.map((c: any) => [c.kind, c.params]), [['isolate', { allow: ['vigil.corp'] }]]);
  const id = polled.body.commands[0].id;
  assert.equal((await tp.api(`/api/v1/agent/commands/${id}/result`, { token: device.token, body: { status: 'running' } })).status, 200);
  assert.equal((await tp.api(`/api/v1/actions/${created.body.id}`, { token: analyst })).body.state, 'running');
  const ok = await tp.api(`/api/v1/agent/commands/${id}/result`, { token: device.token, body: { status: 'succeeded', message: 'isolated' } });
  assert.deepEqual(ok.body, { id, state: 'succeeded', changed: true });
  const again = await tp.api(`/api/v1/agent/commands/${id}/result`, { token: device.token, body: { status: 'succeeded', message: 'isolated' } });
  assert.deepEqual(again.body, { id, state: 'succeeded', changed: false });

  // Undo of the isolation releases the device.
  const undo = await tp.api(`/api/v1/actions/${created.body.id}/undo`, { token: r2, body: {} });
  assert.equal(undo.status, 201);
  assert.equal(undo.body.kind, 'release');
  const next = await tp.api('/api/v1/agent/commands?wait=1', { token: device.token });
  assert.deepEqual(next.body.commands.map((c: any) => c.kind), ['release']);

  // History as CSV for the action center's export.
  const csv = await fetch(`${tp.url}/api/v1/actions?state=history&kind=isolate`, { headers: { authorization: `Bearer ${analyst}`, accept: 'text/csv' } });
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await csv.text()).trim().split('\r\n');
  assert.equal(lines[0].split(',')[0], 'id');
  assert.equal(lines.length, 2);
  assert.match(lines[1], new RegExp(`^${created.body.id},.*,isolate,device,${device.deviceId},succeeded,manual,rita,ravi,`));

  // People cannot use the sensor channel, sensors cannot use the action center.
  assert.equal((await tp.api('/api/v1/agent/commands', { token: r1 })).status, 403);
  assert.equal((await tp.api('/api/v1/actions', { token: device.token })).status, 403);
});

test('a sensor that hangs up on its long-poll stops waiting; a command queued later is delivered on its next poll', async () => {
  const device = await enroll(tp, 'ws-hangup');
  const controller = new AbortController();
  const poll = fetch(`${tp.url}/api/v1/agent/commands?wait=30`, { headers: { authorization: `Bearer ${device.token}` }, signal: controller.signal });
  const commands = tp.platform.response.commands;
  for (let i = 0; i < 200 && !commands.connected().includes(device.deviceId); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(commands.connected().includes(device.deviceId));
  controller.abort();
  await assert.rejects(poll);
  for (let i = 0; i < 200 && commands.connected().includes(device.deviceId); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(commands.connected().includes(device.deviceId), false);
  const created = await tp.api('/api/v1/actions', { token: tp.adminToken, body: { kind: 'run_scan', target: device.deviceId, params: { type: 'quick' } } });
  // Four-eyes is on in this platform: the admin's own action waits; another responder approves it.
  const other = await person(tp, 'hank', 'responder');
  await tp.api('/api/v1/actions/approve', { token: other, body: { ids: [created.body.id] } });
  const next = await tp.api('/api/v1/agent/commands?wait=1', { token: device.token });
  assert.deepEqual(next.body.commands.map((c: any) => c.kind), ['run_scan']);
});

test('a device sees only its own commands, and an investigation package comes back as a file', async () => {
  const a = await enroll(tp, 'ws-a');
  const b = await enroll(tp, 'ws-b');
  const r = await person(tp, 'rory', 'responder');
  const r2 = await person(tp, 'remy', 'responder');
  const created = await tp.api('/api/v1/actions', { token: r, body: { kind: 'collect_package', target: a.deviceId } });
  await tp.api('/api/v1/actions/approve', { token: r2, body: { ids: [created.body.id] } });
  assert.deepEqual((await tp.api('/api/v1/agent/commands', { token: b.token })).body.commands, []);
  const [command] = (await tp.api('/api/v1/agent/commands', { token: a.token })).body.commands;
  assert.equal(command.kind, 'collect_package');
  assert.equal((await tp.api(`/api/v1/agent/commands/${command.id}/result`, { token: b.token, body: { status: 'failed' } })).status, 404);

  const pkg = gzipSync(Buffer.from('processes.txt\n1 init\n'));
  const notGzip = await fetch(`${tp.url}/api/v1/agent/commands/${command.id}/files`, {
    method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/gzip' }, body: Buffer.from('plain'),
  });
  assert.equal(notGzip.status, 400);
  const uploaded = await fetch(`${tp.url}/api/v1/agent/commands/${command.id}/files`, {
    method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/gzip' }, body: pkg,
  });
  assert.equal(uploaded.status, 201);
  const { fileId } = await uploaded.json() as { fileId: string };
  await tp.api(`/api/v1/agent/commands/${command.id}/result`, { token: a.token, body: { status: 'succeeded' } });
  const action = await tp.api(`/api/v1/actions/${created.body.id}`, { token: r });
  assert.equal(action.body.state, 'succeeded');
  assert.deepEqual(action.body.files.map((f: any) => f.id), [fileId]);
  const download = await fetch(`${tp.url}/api/v1/response/files/${fileId}`, { headers: { authorization: `Bearer ${r}` } });
  assert.equal(gunzipSync(Buffer.from(await download.arrayBuffer())).toString(), 'processes.txt\n1 init\n');
});

test('commands in flight survive a restart and are delivered again until a result arrives', async () => {
  const dataDir = tempDataDir();
  let first: TestPlatform | undefined = await startPlatform({ dataDir });
  let second: TestPlatform | undefined;
  try {
    const device = await enroll(first, 'ws-restart');
    const q = await first.api('/api/v1/actions', { token: first.adminToken, body: { kind: 'quarantine_file', target: device.deviceId, params: { path: '/tmp/evil.elf', sha256: 'e'.repeat(64) } } });
    const iso = await first.api('/api/v1/actions', { token: first.adminToken, body: { kind: 'isolate', target: device.deviceId } });
    const delivered = await first.api('/api/v1/agent/commands', { token: device.token });
    assert.equal(delivered.body.commands.length, 2);
    // One is acknowledged as running, then the server goes down with both in flight.
    await first.api(`/api/v1/agent/commands/${delivered.body.commands[0].id}/result`, { token: device.token, body: { status: 'running' } });
    await first.stop(false);
    first = undefined;

    second = await startPlatform({ dataDir });
    const redelivered = await second.api('/api/v1/agent/commands?wait=1', { token: device.token });
    assert.deepEqual(redelivered.body.commands.map((c: any) => c.id).sort(), delivered.body.commands.map((c: any) => c.id).sort());
    for (const c of redelivered.body.commands) {
      await second.api(`/api/v1/agent/commands/${c.id}/result`, { token: device.token, body: { status: 'succeeded' } });
    }
    for (const id of [q.body.id, iso.body.id]) assert.equal((await second.api(`/api/v1/actions/${id}`, { token: second.adminToken })).body.state, 'succeeded');
    assert.deepEqual((await second.api('/api/v1/agent/commands', { token: device.token })).body.commands, []);

    // Undo of the quarantine restores the file on the device.
    const undo = await second.api(`/api/v1/actions/${q.body.id}/undo`, { token: second.adminToken, body: {} });
    assert.deepEqual([undo.body.kind, undo.body.params], ['restore_file', { sha256: 'e'.repeat(64) }]);
  } finally {
    await first?.stop(false);
    await second?.stop(false);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('sign-ins and actions are audited; tampering with one row is named by `vigil audit verify`', async () => {
  const dataDir = tempDataDir();
  const p = await startPlatform({ dataDir });
  try {
    const device = await enroll(p, 'ws-audit');
    await p.api('/api/v1/actions', { token: p.adminToken, body: { kind: 'run_scan', target: device.deviceId, params: { type: 'quick' } } });
    const entries = (await p.api('/api/v1/audit', { token: p.adminToken })).body.entries.map((e: any) => `${e.actor} ${e.action}`);
    assert.ok(entries.includes('admin sign-in'));
    assert.ok(entries.includes('admin action.create'));
    assert.deepEqual((await p.api('/api/v1/audit/verify', { token: p.adminToken })).body.ok, true);
  } finally {
    await p.stop(false);
  }
  try {
    const cli = (args: string[]) => spawnSync(process.execPath, ['bin/vigil.js', 'audit', 'verify', ...args], { encoding: 'utf8', env: { ...process.env, VIGIL_DATA: '' } });
    const intact = cli(['--data', dataDir]);
    assert.equal(intact.status, 0, intact.stderr);
    assert.match(intact.stdout, /^audit log intact: \d+ entries checked/);

    const db = new Database(join(dataDir, 'vigil.db'));
    assert.throws(() => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run(), /append-only/);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run();
    db.close();
    const broken = cli(['--data', dataDir]);
    assert.equal(broken.status, 1);
    assert.match(broken.stdout, /^audit log BROKEN at entry 2: content does not match its hash \(row altered\)/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
