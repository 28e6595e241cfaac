// Isolation with nftables, for real, inside network namespaces this test creates and deletes:
//   ns "srv": the platform on 10.231.0.1 and a peer service on 10.231.0.3:7000
//   ns "agt": `vigil agent` (the CLI) on 10.231.0.2, joined to srv by a veth pair.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './agent-helpers.js';

const tag = String(process.pid % 100000);
const SRV = `vgl-srv-${tag}`;
const AGT = `vgl-agt-${tag}`;
const SERVER_IP = '10.231.0.1';
const AGENT_IP = '10.231.0.2';
const PEER_IP = '10.231.0.3';
const PEER_PORT = 7000;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and nftables)';
  if (spawnSync('ip', ['-V']).status !== 0) return "needs the 'ip' command (Debian package iproute2)";
  if (spawnSync('nft', ['--version']).status !== 0) return "needs the 'nft' command (Debian package nftables)";
  return undefined;
}
const skip = missing();

function sh(args: string[]) {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Can a TCP connection from the agent's namespace reach host:port (within 2 s)? */
function canConnect(host: string, port: number): boolean {
  const r = spawnSync('ip', ['netns', 'exec', AGT, 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]);
  return r.status === 0;
}

let platform: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let work = '';
const messages: any[] = [];
let serverPort = 0;

async function next<T>(what: string, pick: (m: any) => T | undefined, timeoutMs = 60_000): Promise<T> {
  return waitFor(what, () => {
    const i = messages.findIndex((m) => pick(m) !== undefined);
    if (i < 0) return undefined;
    const [m] = messages.splice(i, 1);
    return pick(m);
  }, timeoutMs, 50);
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'vigil-agent-netns-'));
  sh(['ip', 'netns', 'add', SRV]);
  sh(['ip', 'netns', 'add', AGT]);
  sh(['ip', 'link', 'add', `vs${tag}`, 'netns', SRV, 'type', 'veth', 'peer', 'name', `va${tag}`, 'netns', AGT]);
  sh(['ip', '-n', SRV, 'addr', 'add', `${SERVER_IP}/24`, 'dev', `vs${tag}`]);
  sh(['ip', '-n', SRV, 'addr', 'add', `${PEER_IP}/24`, 'dev', `vs${tag}`]);
  sh(['ip', '-n', AGT, 'addr', 'add', `${AGENT_IP}/24`, 'dev', `va${tag}`]);
  for (const [ns, dev] of [[SRV, `vs${tag}`], [AGT, `va${tag}`]]) {
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  platform = spawn('ip', ['netns', 'exec', SRV, process.execPath, '--import', 'tsx', 'test/agent-netns-platform.ts', SERVER_IP, PEER_IP, String(PEER_PORT)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  createInterface({ input: platform.stdout! }).on('line', (line) => { try { messages.push(JSON.parse(line)); } catch { /* log line */ } });
});

after(async () => {
  if (skip) return;
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
  }
  if (platform && platform.exitCode === null) {
    platform.stdin!.write(`${JSON.stringify({ cmd: 'stop' })}\n`);
    await Promise.race([new Promise((r) => platform!.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
    platform.kill('SIGKILL');
  }
  spawnSync('ip', ['netns', 'del', AGT]);
  spawnSync('ip', ['netns', 'del', SRV]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('isolate leaves only the Vigil server reachable; release restores everything and removes exactly its table', { skip }, async () => {
  const { url, enrollToken } = await next('the platform in its namespace', (m) => (m.url ? m : undefined));
  serverPort = Number(new URL(url).port);
  assert.equal(canConnect(PEER_IP, PEER_PORT), true, 'peer reachable before the agent starts');
  assert.equal(canConnect(SERVER_IP, serverPort), true, 'server reachable before the agent starts');
  // Another table in the agent's namespace, which release must leave alone.
  sh(['ip', 'netns', 'exec', AGT, 'nft', 'add', 'table', 'inet', 'unrelated']);

  let stderr = '';
  agent = spawn('ip', ['netns', 'exec', AGT, process.execPath, 'bin/vigil.js', 'agent', '--server', url, '--enroll', enrollToken,
    '--state', join(work, 'state'), '--watch', join(work), '--process-source', 'proc-sampling'], { stdio: ['ignore', 'ignore', 'pipe'] });
  agent.stderr!.on('data', (d) => { stderr += d; });
  const deviceId = await waitFor('the agent to enroll', () => {
    if (agent!.exitCode !== null) throw new Error(`the agent exited (${agent!.exitCode}): ${stderr}`);
    return /running as device ([0-9a-f]{40})/.exec(stderr)?.[1];
  }, 60_000);

  platform!.stdin!.write(`${JSON.stringify({ cmd: 'action', deviceId, kind: 'isolate' })}\n`);
  const isolated = await next('isolate to finish', (m) => (m.action === 'isolate' ? m : undefined));
  assert.equal(isolated.state, 'succeeded', JSON.stringify(isolated));
  assert.match(sh(['ip', 'netns', 'exec', AGT, 'nft', 'list', 'tables']), /table inet vigil_isolation/);
  assert.equal(canConnect(PEER_IP, PEER_PORT), false, 'peer blocked while isolated');
  assert.equal(canConnect(SERVER_IP, serverPort), true, 'server still reachable while isolated');

  platform!.stdin!.write(`${JSON.stringify({ cmd: 'action', deviceId, kind: 'release' })}\n`);
  const released = await next('release to finish', (m) => (m.action === 'release' ? m : undefined));
  assert.equal(released.state, 'succeeded', JSON.stringify(released));
  const tables = sh(['ip', 'netns', 'exec', AGT, 'nft', 'list', 'tables']);
  assert.doesNotMatch(tables, /vigil_isolation/);
  assert.match(tables, /table inet unrelated/);
  assert.equal(canConnect(PEER_IP, PEER_PORT), true, 'peer reachable after release');
  assert.equal(canConnect(SERVER_IP, serverPort), true, 'server reachable after release');
});

if (skip) test(`isolation in network namespaces skipped: ${skip}`, { skip }, () => {});
