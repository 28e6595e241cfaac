// npm run bench:intel [indicators=1000000] [rounds=30] [sensors=100]
// 1. Loads K indicators (a realistic mix of types) into a real platform's intel service (SQLite file).
// 2. Matching throughput on one core: realistic rows (process, file, image-load, network, mail URL, clicks),
//    about 1 % of them hitting an indicator, through the same code the 'telemetry.ingested' handler runs.
//    Measured with 100 indicators too, to show the cost does not grow with K.
// 3. Distribution: 100 sensors long-poll the feed over real HTTP on 127.0.0.1; each round creates a block
//    indicator through the API and times, per sensor, creation request → feed answer holding it.
// Last line: intel: <K> indicators, <N> events/s matched, distribution p99 <D> ms
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { resolveConfig } from '../src/config/index.js';
import { createPlatform } from '../src/server.js';
import { createSqliteStore } from '../src/store/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createIntelService, type IntelService } from '../src/intel/index.js';
import type { CanonicalRow } from '../src/schema/index.js';

// Sensor mode: this same file, forked, runs the long-polling sensors in their own process (as real sensors
// are elsewhere), so the server's event loop and heap are measured alone. It reports receipt times over IPC.
if (process.argv[2] === '--sensors') {
  const { url, tokens } = JSON.parse(process.argv[3]) as { url: string; tokens: string[] };
  let running = true;
  process.on('message', (m: { stop?: boolean }) => { if (m.stop) running = false; });
  const loop = async (token: string, since: number) => {
    while (running) {
      try {
        const res = await fetch(`${url}/api/v1/intel/feed?since=${since}&wait=30`, { headers: { authorization: `Bearer ${token}` } });
        const body = await res.json() as { version: number; indicators: { title: string }[] };
        const at = performance.timeOrigin + performance.now();
        since = body.version;
        for (const i of body.indicators) process.send!({ title: i.title, at });
      } catch (error) {
        if (running) throw error;
      }
    }
  };
  const since = Number(JSON.parse(process.argv[3]).since);
  // Warm up (module loading, connections) with one immediate request each, then say so and start long-polling.
  await Promise.all(tokens.map((t) => fetch(`${url}/api/v1/intel/feed?since=${since}&wait=0`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.text())));
  process.send!({ ready: true });
  await Promise.all(tokens.map((t) => loop(t, since)));
  process.exit(0);
}

const K = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 30);
const SENSORS = Number(process.argv[4] ?? 100);

// Deterministic pseudo-random numbers (mulberry32).
let seed = 0x5eed;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n: number) => Math.floor(rand() * n);
const hex = (n: number) => { let s = ''; for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)]; return s; };
const word = () => { let s = ''; const n = 4 + int(8); for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz'[int(26)]; return s; };
const ip4 = () => `${1 + int(222)}.${int(256)}.${int(256)}.${1 + int(254)}`;

interface Generated { type: string; value: string }
const used = new Set<string>();
function indicator(i: number): Generated {
  for (;;) {
    const g = candidate(i);
    if (!used.has(g.value)) { used.add(g.value); return g; }
  }
}
function candidate(i: number): Generated {
  const r = i % 100;
  if (r < 40) return { type: 'sha256', value: hex(64) };
  if (r < 50) return { type: 'sha1', value: hex(40) };
  if (r < 60) return { type: 'md5', value: hex(32) };
  if (r < 75) return { type: 'ipv4', value: ip4() };
  if (r < 78) return { type: 'ipv6', value: `2001:db8:${hex(4)}::${hex(4)}`.replace(/:0+([0-9a-f])/g, ':$1') };
  if (r < 80) return { type: 'cidr', value: `${10 + int(2)}.${int(256)}.${int(256)}.0/24` };
  if (r < 92) return { type: 'domain', value: `${word()}.${word()}.com` };
  return { type: 'url', value: `http://${word()}.net/${word()}/${word()}` };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-intel-'));
const platform = await createPlatform({
  ...resolveConfig({ env: {}, argv: [] }), dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', adminPassword: 'bench-admin-password',
});

try {
  // ---------- 1. load ----------
  const generated: Generated[] = [];
  const loadStart = performance.now();
  const BATCH = 50_000;
  for (let i = 0; i < K; i += BATCH) {
    const items = [];
    for (let j = i; j < Math.min(K, i + BATCH); j++) {
      const g = indicator(j);
      generated.push(g);
      items.push({ ...g, action: j % 7 === 0 ? 'audit' : 'block', title: `bench ${j}`, severity: 'medium' });
    }
    const report = await platform.intel.importMany(items, 'bench', { retroHunt: false });
    if (report.rejected.length) throw new Error(`bench indicators rejected: ${JSON.stringify(report.rejected.slice(0, 3))}`);
    if ((i / BATCH) % 4 === 3) process.stderr.write(`  … ${i + BATCH} indicators loaded (${((performance.now() - loadStart) / 1000).toFixed(0)} s)\n`);
  }
  const loadS = (performance.now() - loadStart) / 1000;
  const active = platform.intel.size();
  say(`loaded ${active} indicators in ${loadS.toFixed(1)} s (${Math.round(active / loadS)}/s, stored in SQLite with their STIX/TAXII versions); heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);

  // ---------- 2. matching ----------
  const pickOf = (type: string) => { for (;;) { const g = generated[int(generated.length)]; if (g.type === type) return g.value; } };
  const hit = () => rand() < 0.01;
  const dev = () => `d${hex(39)}`;
  function row(): [string, CanonicalRow] {
    const r = int(100);
    const base = { Timestamp: '2026-03-01T10:00:00.000Z', DeviceId: dev(), DeviceName: 'pc', ReportId: int(1e9) };
    if (r < 30) return ['DeviceProcessEvents', { ...base, ActionType: 'ProcessCreated', FileName: 'x.exe', FolderPath: 'C:\\x.exe', SHA256: hit() ? pickOf('sha256') : hex(64), SHA1: hex(40), MD5: hex(32), ProcessCommandLine: 'x.exe /q', AccountName: 'alice' }];
    if (r < 50) return ['DeviceFileEvents', { ...base, ActionType: 'FileCreated', FileName: 'a.doc', FolderPath: '/home/a.doc', SHA256: hex(64), SHA1: hit() ? pickOf('sha1') : hex(40), MD5: hex(32), FileOriginUrl: rand() < 0.2 ? `https://${word()}.org/${word()}/f.zip` : null }];
    if (r < 60) return ['DeviceImageLoadEvents', { ...base, ActionType: 'ImageLoaded', FileName: 'a.dll', SHA256: hex(64), SHA1: hex(40), MD5: hit() ? pickOf('md5') : hex(32) }];
    if (r < 90) {
      const remoteUrl = hit() ? (rand() < 0.5 ? `www.${pickOf('domain')}` : `${pickOf('url')}/x?y=1`) : rand() < 0.5 ? `${word()}.${word()}.com` : `https://${word()}.com/${word()}/${word()}`;
      return ['DeviceNetworkEvents', { ...base, ActionType: 'ConnectionSuccess', RemoteIP: hit() ? pickOf('ipv4') : ip4(), RemotePort: 443, RemoteUrl: remoteUrl, LocalIP: '10.0.0.5' }];
    }
    if (r < 95) return ['EmailUrlInfo', { Timestamp: base.Timestamp, NetworkMessageId: hex(32), Url: hit() ? `https://${pickOf('domain')}/login` : `https://${word()}.com/${word()}`, ReportId: hex(8) }];
    return ['UrlClickEvents', { Timestamp: base.Timestamp, Url: `https://${word()}.${word()}.com/${word()}`, ActionType: 'ClickAllowed', AccountUpn: 'bob@corp.example', ReportId: hex(8) }];
  }
  const rows: [string, CanonicalRow][] = [];
  for (let i = 0; i < 200_000; i++) rows.push(row());

  // Events per CPU-second of the whole process (GC helper threads included), so that other work on a shared
  // machine does not count; the wall-clock rate is printed too.
  function throughput(intel: IntelService): { perSecond: number; wall: number; matched: number } {
    for (let i = 0; i < rows.length; i++) intel.match(rows[i][0], rows[i][1]); // warm-up (and flattens the generated strings)
    let matched = 0;
    let n = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < 5000) {
      for (let i = 0; i < rows.length; i++) matched += intel.match(rows[i][0], rows[i][1]).length;
      n += rows.length;
    }
    const wallS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { perSecond: n / ((cpu.user + cpu.system) / 1e6), wall: n / wallS, matched: matched / (n / rows.length) };
  }
  const big = throughput(platform.intel);
  say(`matching with ${active} indicators: ${Math.round(big.perSecond)} events per CPU-second on one thread (wall clock ${Math.round(big.wall)}/s on this machine; ${big.matched} of ${rows.length} rows matched per pass)`);

  const smallStore = await createSqliteStore({ file: ':memory:' });
  const smallBus = createMemoryBus();
  const small = await createIntelService({ store: smallStore, bus: smallBus, sweepIntervalMs: 0 });
  await small.importMany(generated.slice(0, 100).map((g, j) => ({ ...g, action: 'block', title: `small ${j}` })), 'bench', { retroHunt: false });
  const few = throughput(small);
  say(`matching with 100 indicators: ${Math.round(few.perSecond)} events per CPU-second (same rows; wall clock ${Math.round(few.wall)}/s) — cost ratio ${active}/100: ${(few.perSecond / big.perSecond).toFixed(2)}`);
  await small.close(); await smallBus.close(); await smallStore.close();

  // ---------- 3. distribution ----------
  const api = async (path: string, init: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(`${platform.url}${path}`, {
      method: init.body !== undefined ? 'POST' : 'GET',
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const admin = (await api('/api/v1/auth/login', { body: { username: 'admin', password: 'bench-admin-password' } })).body.token as string;
  const tokens: string[] = [];
  for (let i = 0; i < SENSORS; i++) tokens.push((await api('/api/v1/sensors', { token: admin, body: { name: `bench-sensor-${i}` } })).body.token);

  // Sensors already in sync (as agents that persisted their version) long-poll from the current version.
  const samples: number[] = [];
  const sensors = fork(new URL(import.meta.url).pathname, ['--sensors', JSON.stringify({ url: platform.url, tokens, since: platform.intel.version() })], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending: { title: string; t0: number; left: number; done: () => void } | undefined;
  const ready = new Promise<void>((resolve) => sensors.on('message', (m: { ready?: boolean }) => { if (m.ready) resolve(); }));
  sensors.on('message', (m: { title: string; at: number }) => {
    const p = pending;
    if (!p || m.title !== p.title) return;
    samples.push(m.at - p.t0);
    if (--p.left === 0) p.done();
  });
  await ready;
  await new Promise((r) => setTimeout(r, 1000)); // every sensor has its long-poll open

  for (let round = 0; round < ROUNDS; round++) {
    const title = `round ${round}`;
    const all = new Promise<void>((resolve) => {
      pending = { title, t0: performance.timeOrigin + performance.now(), left: tokens.length, done: resolve };
    });
    const created = await api('/api/v1/indicators', { token: admin, body: { type: 'sha256', value: hex(64), action: 'block', title } });
    if (created.status !== 201) throw new Error(`indicator creation failed: ${created.status}`);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
    if (timedOut) throw new Error(`round ${round}: ${pending!.left} sensors did not receive the indicator within 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  sensors.send({ stop: true });
  // Wake the long-polls so the sensor process ends.
  await api('/api/v1/indicators', { token: admin, body: { type: 'sha256', value: hex(64), action: 'audit', title: 'stop' } });
  await new Promise((r) => sensors.once('exit', r));

  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)];
  say(`distribution to ${SENSORS} long-polling sensors over HTTP, ${ROUNDS} rounds (${samples.length} deliveries): p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${samples[samples.length - 1].toFixed(1)} ms`);
  say(`intel: ${active} indicators, ${Math.round(big.perSecond)} events/s matched, distribution p99 ${pct(99).toFixed(0)} ms`);
} finally {
  await platform.close();
  rmSync(dataDir, { recursive: true, force: true });
}
