import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';

const VIGIL = new URL('../bin/vigil.js', import.meta.url).pathname;

test('vigil serve prints the URL and first-login credentials that work, and stops cleanly on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const child = spawn(process.execPath, [VIGIL, 'serve', '--port', '0', '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 300 && !/password: \S+/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const url = /Console and API: (http:\/\/\S+?)\/?\n/.exec(out)?.[1];
    const password = /password: (\S+)/.exec(out)?.[1];
    assert.ok(url && password, `no URL or password in:\n${out}`);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }),
    });
    assert.equal(login.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('vigil with a bad option says which and exits 2', async () => {
  const child = spawn(process.execPath, [VIGIL, 'serve', '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk) => { err += chunk; });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(err, /--port \/ VIGIL_PORT must be an integer/);
});

test('vigil serve with a broken placeholders file names the file and line, and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  try {
    const file = join(dir, 'placeholders.yml');
    writeFileSync(file, 'Admins: [alice, bob]\nWorkstations:\n  nested: map\n');
    const child = spawn(process.execPath, [VIGIL, 'serve', '--port', '0', '--data', dir, '--sigma-placeholders', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: %Workstations% must be a value or a list of values`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vigil serve with a NATS bus nobody listens on says so and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  try {
    // A port that was free a moment ago: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const child = spawn(process.execPath, [VIGIL, 'serve', '--port', '0', '--data', dir, '--bus', `nats://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, new RegExp(`vigil serve: cannot reach the NATS bus at nats://127\\.0\\.0\\.1:${port}: connection refused`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vigil serve on a port already in use says so and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const taken = createServer();
  try {
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const child = spawn(process.execPath, [VIGIL, 'serve', '--port', String(port), '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, new RegExp(`vigil serve: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
