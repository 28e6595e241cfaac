// `npm run bench:incidents`: 100,000 alerts over 1,000 devices and 5,000 users, through the bus into
// correlation, on a file-backed SQLite store. Last line: `incidents: <N> alerts/s, <I> incidents`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createSqliteStore } from '../src/store/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createIncidentService } from '../src/incidents/index.js';
import type { Evidence, RaisedAlert, Severity } from '../src/schema/index.js';

const ALERTS = Number(process.env.BENCH_N ?? 100_000);
const DEVICES = 1_000;
const USERS = 5_000;
const RULES = 200;
const SPAN_MS = 7 * 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const TACTICS = ['initial-access', 'execution', 'persistence', 'privilege-escalation', 'defense-evasion', 'credential-access', 'discovery', 'lateral-movement', 'command-and-control', 'exfiltration'];
const SEVERITIES: Severity[] = ['informational', 'low', 'low', 'medium', 'medium', 'high'];

/** A small deterministic generator (mulberry32), so every run feeds the same alerts. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(): RaisedAlert[] {
  const r = rng(42);
  const pick = (n: number) => Math.floor(r() * n);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const out: RaisedAlert[] = [];
  for (let i = 0; i < ALERTS; i++) {
    const at = new Date(T0 + Math.floor((i / ALERTS) * SPAN_MS)).toISOString();
    // One alert in five repeats a recent one (a noisy rule firing again on the same entities).
    if (i > 100 && r() < 0.2) {
      const prev = out[i - 1 - pick(100)];
      out.push({ ...prev, alertId: `bench-${i}`, firstActivity: at, lastActivity: at });
      continue;
    }
    const u = pick(USERS);
    const d = u % DEVICES; // five users share each device
    const rule = pick(RULES);
    const deviceId = hex(d, 40);
    const evidence: Evidence[] = [
      { kind: 'device', key: deviceId, label: `ws-${d}`, role: 'Impacted' },
      { kind: 'user', key: `user${u}@corp.example`, label: `user${u}`, role: 'Impacted' },
      { kind: 'process', key: `${deviceId}:${1000 + pick(60_000)}`, label: 'powershell.exe', role: 'Related', details: { ProcessCommandLine: 'powershell -enc …' } },
    ];
    const roll = r();
    if (roll < 0.03) evidence.push({ kind: 'file', key: hex(pick(50), 64), label: 'payload.exe', role: 'Related' }); // spreading malware
    else if (roll < 0.3) evidence.push({ kind: 'file', key: hex(i + 1_000_000, 64), label: `tool-${i}.exe`, role: 'Related' });
    if (r() < 0.05) evidence.push({ kind: 'ip', key: `203.0.113.${pick(200)}`, label: 'c2', role: 'Related' });
    out.push({
      alertId: `bench-${i}`, title: `Rule ${rule} matched`, description: 'benchmark alert', severity: SEVERITIES[rule % SEVERITIES.length],
      category: TACTICS[rule % TACTICS.length], detectionSource: 'sigma', serviceSource: 'vigil', mitreTechniques: [`T${1000 + rule}`],
      tactics: [TACTICS[rule % TACTICS.length]], rule: { id: `rule-${rule}`, title: `Rule ${rule}`, author: 'bench', source: 'sigma' },
      firstActivity: at, lastActivity: at, evidence, events: [], dedupKey: `rule-${rule}|${deviceId}|${u}`,
    });
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-incidents-'));
try {
  const alerts = generate();
  const store = await createSqliteStore({ file: join(dir, 'vigil.db') });
  if (process.env.BENCH_CACHE) await sql.raw(`PRAGMA cache_size = -${process.env.BENCH_CACHE}`).execute(store.db);
  const bus = createMemoryBus();
  let riskEvents = 0;
  bus.subscribe('device.risk-changed', () => { riskEvents++; }, { name: 'bench-risk' });
  const incidents = await createIncidentService({ store, bus, onError: (error) => { throw error; } });

  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  // Detection publishes as it matches; feeding in steps of 1,000 keeps the bus queue at that depth.
  for (let i = 0; i < alerts.length; i += 1000) {
    for (const alert of alerts.slice(i, i + 1000)) await bus.publish('alert.raised', { alert });
    await bus.drain();
  }
  await incidents.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;

  const stats = incidents.stats();
  const open = await store.db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '!=', 'redirected').executeTakeFirstOrThrow();
  const stored = await store.db.selectFrom('incident_alerts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  console.log(`alerts fed: ${ALERTS}, stored: ${stored.n}, deduplicated: ${stats.deduplicated}, merges: ${stats.merges}, device risk changes: ${riskEvents}`);
  console.log(`risky devices: ${incidents.listRiskyDevices({ minLevel: 'high' }).length} high, ${incidents.listRiskyDevices().length} any`);
  console.log(`elapsed: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU (${Math.round(ALERTS / cpuSeconds)} alerts per CPU-second)`);
  await incidents.stop();
  await bus.close();
  await store.close();
  console.log(`incidents: ${Math.round(ALERTS / seconds)} alerts/s, ${Number(open.n)} incidents`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
