// check:durability — a client streams 1,000,000 rows and retries whatever was not acknowledged while the
// server is killed with SIGKILL twice and restarted. Prints `durability: sent <N>, stored <N>, duplicates <D>`.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSensorToken, freePort, processRow, startServer, type ServerProcess } from './lib/server-process.js';

const TOTAL = Number(process.env.DURABILITY_ROWS ?? 1_000_000);
const BATCH = 1000;
const IN_FLIGHT = 4;
const KILLS = [Math.floor(TOTAL / BATCH / 3), Math.floor((2 * TOTAL) / BATCH / 3)];

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-durability-'));
const port = await freePort();
let server: ServerProcess | undefined = await startServer(dataDir, port);
const token = await createSensorToken(server.url, 'durability');
const base = Date.now() - 86_400_000;
const batches = TOTAL / BATCH;
const pending: number[] = Array.from({ length: batches }, (_, i) => i);
let acknowledged = 0;
let retries = 0;
let kills = 0;
let restarting: Promise<void> | undefined;

async function restart() {
  const victim = server!;
  server = undefined;
  victim.child.kill('SIGKILL');
  await victim.exited;
  kills++;
  console.log(`killed the server with SIGKILL after ${acknowledged} acknowledged batches; restarting`);
  server = await startServer(dataDir, port);
}

async function send(batch: number): Promise<boolean> {
  const rows = Array.from({ length: BATCH }, (_, i) => processRow(batch * BATCH + i, base));
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/ingest/DeviceProcessEvents`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(rows),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 200) return false;
    const body = (await res.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
    if (body.rejected.length || body.accepted + body.duplicates !== BATCH) throw new Error(`unexpected ingest answer ${JSON.stringify(body)}`);
    return true;
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('unexpected')) throw error;
    return false; // connection refused or reset: the server is down; retry this batch
  }
}

async function worker() {
  for (let guard = 0; guard < batches * 20 && pending.length > 0; guard++) {
    if (restarting) await restarting;
    const batch = pending.shift()!;
    if (await send(batch)) {
      acknowledged++;
      if (kills < KILLS.length && acknowledged >= KILLS[kills] && !restarting) {
        restarting = restart().finally(() => { restarting = undefined; });
      }
    } else {
      retries++;
      pending.push(batch);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
if (restarting) await restarting;
const final = server as ServerProcess | undefined;
final?.child.kill('SIGTERM');
await final?.exited;

const db = new Database(join(dataDir, 'vigil.db'), { readonly: true });
const stored = (db.prepare('SELECT count(*) AS n FROM "DeviceProcessEvents"').get() as { n: number }).n;
const distinct = (db.prepare('SELECT count(*) AS n FROM (SELECT DISTINCT "_SensorId", "ReportId" FROM "DeviceProcessEvents")').get() as { n: number }).n;
const expectedIds = (db.prepare('SELECT count(DISTINCT "ReportId") AS n FROM "DeviceProcessEvents" WHERE "ReportId" BETWEEN 0 AND ?').get(TOTAL - 1) as { n: number }).n;
db.close();
rmSync(dataDir, { recursive: true, force: true });
console.log(`${kills} SIGKILLs, ${retries} batch retries, ${(performance.now() - t0) / 1000 | 0} s; every sent ReportId present: ${expectedIds === acknowledged * BATCH}`);
console.log(`durability: sent ${acknowledged * BATCH}, stored ${stored}, duplicates ${stored - distinct}`);
process.exit(acknowledged * BATCH === stored && stored === distinct && expectedIds === stored ? 0 : 1);
