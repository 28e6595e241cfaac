// bench:ingest — sustained HTTP ingest on loopback: batches of 1,000 DeviceProcessEvents rows, each
// acknowledged only after commit. Prints `ingest: <N> rows/s, p99 batch <M> ms`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSensorToken, freePort, processRow, startServer } from './lib/server-process.js';

const BATCH = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const IN_FLIGHT = 4;

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-ingest-'));
const server = await startServer(dataDir, await freePort());
try {
  const token = await createSensorToken(server.url, 'bench');
  const base = Date.now() - 3_600_000;
  let next = 0;
  let rows = 0;
  const latencies: number[] = [];
  const bodies = new Map<number, string>();
  const body = (start: number) => JSON.stringify(Array.from({ length: BATCH }, (_, i) => processRow(start + i, base)));

  async function worker(deadline: number) {
    while (performance.now() < deadline) {
      const start = next;
      next += BATCH;
      const payload = bodies.get(start) ?? body(start);
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/v1/ingest/DeviceProcessEvents`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: payload,
      });
      const result = (await res.json()) as { accepted: number };
      if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(result)}`);
      latencies.push(performance.now() - t0);
      rows += result.accepted;
    }
  }

  // Warm up (JIT, statement cache), then measure.
  await worker(performance.now() + 2000);
  rows = 0;
  latencies.length = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker(t0 + SECONDS * 1000)));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
  console.log(`batches: ${latencies.length} of ${BATCH} rows, ${IN_FLIGHT} in flight, ${seconds.toFixed(1)} s, p50 batch ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} ms`);
  console.log(`ingest: ${Math.round(rows / seconds)} rows/s, p99 batch ${p99.toFixed(1)} ms`);
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
