// `npm run bench:agent`: `vigil agent` (a separate process: `node <options> bin/vigil.js agent`, the prebuilt
// bundle, with the Node options of deploy/vigil-agent.service) against a local platform. Measures 20 s idle
// (after 15 s of start-up), then a workload that creates 100 files/s and 20 processes/s for 60 s: the agent's
// CPU (utime+stime from /proc/<pid>/stat, the agent and its helper processes) and RSS, and the events lost:
// files and processes the workload made that never arrived as rows.
// Environment: BENCH_SECONDS, BENCH_IDLE_SECONDS, AGENT_NODE_FLAGS (e.g. add --cpu-prof), BENCH_AGENT_TSX=1
// (the sources through tsx instead of the bundle), BENCH_AGENT_STDOUT=<file>.
// Last line: `agent: cpu <C>% avg, rss <R> MB, events lost <L>`; the idle figure is the line before the load lines.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform } from '../src/server.js';
import { resolveConfig } from '../src/config/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const FILES_PER_S = 100;
const PROCS_PER_S = 20;
const CLK_TCK = 100;
/** The Node options of deploy/vigil-agent.service's ExecStart line. */
const AGENT_NODE_FLAGS = '--max-semi-space-size=1 --max-old-space-size=96 --v8-pool-size=1';

function ticksOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]); // utime stime cutime cstime
  } catch {
    return 0;
  }
}
/** [utime, stime] of one process, in ticks. */
function splitTicks(pid: number): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return [Number(rest[11]), Number(rest[12])];
  } catch {
    return [0, 0];
  }
}
function rssKb(pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
}
/** The agent and every live descendant (tracefs reader, journalctl, esbuild service of the TypeScript loader). */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(name));
    } catch { /* gone */ }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}
const treeTicks = (root: number) => tree(root).reduce((n, pid) => n + ticksOf(pid), 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
  const watch = join(work, 'home', 'bench', 'Downloads');
  mkdirSync(watch, { recursive: true });
  const platform = await createPlatform({
    ...resolveConfig({ env: {}, argv: [] }), dataDir: join(work, 'data'), port: 0, host: '127.0.0.1', logLevel: 'silent', adminPassword: 'bench-password-123',
  });
  let agent: ChildProcess | undefined;
  try {
    const login = await (await fetch(`${platform.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-password-123' }) })).json() as { token: string };
    const enroll = await (await fetch(`${platform.url}/api/v1/enrollment-tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` }, body: '{}' })).json() as { token: string };

    // As deploy/vigil-agent.service runs it: `vigil agent` (the prebuilt bundle, brought up to date first), the
    // same Node options and allocator setting. BENCH_AGENT_TSX=1 runs the sources through tsx instead.
    const viaTsx = process.env.BENCH_AGENT_TSX === '1';
    if (!viaTsx) execFileSync(process.execPath, ['scripts/build-agent.mjs', '--quiet'], { stdio: 'inherit' });
    const nodeFlags = (process.env.AGENT_NODE_FLAGS ?? AGENT_NODE_FLAGS).split(' ').filter(Boolean);
    const entry = viaTsx ? ['--import', 'tsx', 'src/cli/agent.ts'] : ['bin/vigil.js', 'agent'];
    agent = spawn(process.execPath, [...nodeFlags, ...entry, '--server', platform.url, '--enroll', enroll.token,
      '--state', join(work, 'state'), '--watch', watch, '--prevention'], {
      // BENCH_AGENT_STDOUT=<file>: the agent's standard output there (e.g. with AGENT_NODE_FLAGS='… --trace-gc').
      stdio: ['ignore', process.env.BENCH_AGENT_STDOUT ? openSync(process.env.BENCH_AGENT_STDOUT, 'w') : 'ignore', 'pipe'],
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    });
    let stderr = '';
    agent.stderr!.on('data', (d) => { stderr += d; });
    const pid = agent.pid!;
    for (let i = 0; i < 600 && !/running as device/.test(stderr); i++) {
      if (agent.exitCode !== null) throw new Error(`agent exited: ${stderr}`);
      await sleep(100);
    }
    const source = /process events from ([\w-]+)/.exec(stderr)?.[1] ?? "unknown";
    const bundled = !/running the sources/.test(stderr) && !viaTsx;
    // Start-up settles: the first hashes of running executables, compilation, and V8's memory-reducing
    // garbage collections some 8 s after start are not idle work.
    await sleep(15_000);

    // Idle: nothing from this bench, but the agent sees the rest of the machine (process starts, connections
    // and logons of other users): count what it reported meanwhile.
    const rowCounts = async () => {
      const out: Record<string, number> = {};
      for (const t of ['DeviceProcessEvents', 'DeviceNetworkEvents', 'DeviceFileEvents', 'DeviceLogonEvents']) {
        out[t] = Number((await platform.store.query(`SELECT COUNT(*) FROM "${t}"`, [])).rows[0][0]);
      }
      return out;
    };
    const idleRows0 = await rowCounts();
    const idleT0 = treeTicks(pid);
    const idleW0 = Date.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpu = ((treeTicks(pid) - idleT0) / CLK_TCK) / ((Date.now() - idleW0) / 1000) * 100;
    const idleRss = tree(pid).reduce((n, p) => n + rssKb(p), 0) / 1024;
    await sleep(1500); // rows of the last second arrive
    const idleRows1 = await rowCounts();
    const idleSeen = Object.entries(idleRows1).map(([t, n]) => `${n - idleRows0[t]} ${t.replace(/^Device|Events$/g, '').toLowerCase()}`).join(', ');

    // Workload.
    const files: string[] = [];
    const pids: number[] = [];
    let peakRss = 0;
    let peakAgentRss = 0;
    const t0 = treeTicks(pid);
    const [u0, s0] = splitTicks(pid);
    const w0 = Date.now();
    const fileTimer = setInterval(() => {
      const path = join(watch, `f-${files.length}.bin`);
      writeFileSync(path, randomBytes(1024));
      files.push(path);
    }, 1000 / FILES_PER_S);
    const procTimer = setInterval(() => {
      const child = spawn('/bin/true', [`bench-${pids.length}`], { stdio: 'ignore' });
      if (child.pid) pids.push(child.pid);
    }, 1000 / PROCS_PER_S);
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, tree(pid).reduce((n, p) => n + rssKb(p), 0));
      peakAgentRss = Math.max(peakAgentRss, rssKb(pid));
    }, 1000);
    // setInterval drifts under load: keep the rate by wall clock, topping up what a tick missed.
    const topUp = setInterval(() => {
      const due = Math.floor(((Date.now() - w0) / 1000) * FILES_PER_S);
      while (files.length < due) { const path = join(watch, `f-${files.length}.bin`); writeFileSync(path, randomBytes(1024)); files.push(path); }
      const dueP = Math.floor(((Date.now() - w0) / 1000) * PROCS_PER_S);
      while (pids.length < dueP) { const c = spawn('/bin/true', [`bench-${pids.length}`], { stdio: 'ignore' }); if (c.pid) pids.push(c.pid); }
    }, 250);
    await sleep(SECONDS * 1000);
    for (const t of [fileTimer, procTimer, topUp]) clearInterval(t);
    const wall = (Date.now() - w0) / 1000;
    const cpu = ((treeTicks(pid) - t0) / CLK_TCK) / wall * 100;
    const [u1, s1] = splitTicks(pid);
    const userPct = ((u1 - u0) / CLK_TCK) / wall * 100;
    const sysPct = ((s1 - s0) / CLK_TCK) / wall * 100;
    clearInterval(rssTimer);

    // Drain: wait (bounded) for the rows to arrive.
    const fileSet = new Set(files);
    const pidSet = new Set(pids);
    let seenFiles = 0;
    let seenProcs = 0;
    for (let i = 0; i < 120; i++) {
      const f = await platform.store.query('SELECT DISTINCT "FolderPath" FROM "DeviceFileEvents"', [], { maxRows: 1_000_000 });
      seenFiles = f.rows.filter((r) => fileSet.has(r[0] as string)).length;
      const p = await platform.store.query('SELECT DISTINCT "ProcessId" FROM "DeviceProcessEvents" WHERE "FileName" = ?', ['true'], { maxRows: 1_000_000 });
      seenProcs = p.rows.filter((r) => pidSet.has(Number(r[0]))).length;
      if (seenFiles === files.length && seenProcs === pids.length) break;
      await sleep(500);
    }
    const lost = (files.length - seenFiles) + (pids.length - seenProcs);
    // The rows are right, not only there: the parent of each /bin/true is this process.
    const procRows = (await platform.store.query('SELECT "ProcessId", "InitiatingProcessId", "AdditionalFields" FROM "DeviceProcessEvents" WHERE "FileName" = ?', ['true'], { maxRows: 1_000_000 }))
      .rows.filter((r) => pidSet.has(Number(r[0])));
    const withParent = procRows.filter((r) => Number(r[1]) === process.pid).length;
    const noCommandLine = procRows.filter((r) => String(r[2]).includes('CommandLineUnavailable')).length;
    console.log(`agent: ${viaTsx ? 'sources through tsx' : bundled ? 'bin/vigil.js agent, prebuilt bundle dist/agent.mjs' : 'bin/vigil.js agent, sources through tsx (bundle out of date)'}; node ${nodeFlags.join(' ')}`);
    console.log(`workload: ${files.length} files, ${pids.length} processes in ${SECONDS} s; process source ${source}`);
    console.log(`received: ${seenFiles} file rows, ${seenProcs} process rows (${withParent} with this bench as parent, ${noCommandLine} gone before /proc was read)`);
    console.log(`idle: rows the agent reported from the rest of the machine meanwhile: ${idleSeen}`);
    console.log(`idle: cpu ${idleCpu.toFixed(2)}% of one core over ${IDLE_SECONDS} s, rss ${idleRss.toFixed(0)} MB`);
    console.log(`load: agent process user ${userPct.toFixed(2)}%, system ${sysPct.toFixed(2)}%, helper processes ${(cpu - userPct - sysPct).toFixed(2)}%`);
    console.log(`load: agent process peak rss ${(peakAgentRss / 1024).toFixed(0)} MB; with helper processes ${(peakRss / 1024).toFixed(0)} MB`);
    console.log(`agent: cpu ${cpu.toFixed(2)}% avg, rss ${(peakRss / 1024).toFixed(0)} MB, events lost ${lost}`);
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await platform.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
