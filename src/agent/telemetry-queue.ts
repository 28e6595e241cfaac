import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DeliveryError, type PlatformClient } from './platform-client.js';
import { writeFileAtomic } from './state-dir.js';

/**
 * Telemetry delivery: rows are batched per table in memory and POSTed to ingest. When the platform is
 * unreachable, batches go to an on-disk spool (bounded; the oldest batch is dropped first and counted),
 * retried with exponential backoff. Rows carry their ReportId from creation, so a batch delivered twice
 * (sent, then the answer lost) is deduplicated by the platform, never doubled.
 */
export interface TelemetryQueue {
  push(table: string, row: Record<string, unknown>): void;
  /** Sends what is pending now (and the spool when the server answers). Resolves when this round is done. */
  flush(): Promise<void>;
  /** Final flush with a short deadline; what cannot be sent is spooled. */
  close(): Promise<void>;
  stats(): QueueStats;
}

export interface QueueStats {
  readonly sentRows: number;
  readonly spooledRows: number;
  readonly spoolBytes: number;
  /** Rows in the spool now, waiting for the server. */
  readonly spoolRows: number;
  readonly droppedRows: number;
  readonly rejectedRows: number;
  readonly pendingRows: number;
  readonly connected: boolean;
  readonly lastError?: string;
}

export interface TelemetryQueueOptions {
  readonly client: PlatformClient;
  readonly spoolDir: string;
  readonly maxSpoolBytes?: number;
  readonly batchSize?: number;
  readonly flushIntervalMs?: number;
  /** Delay before sending the first rows after a quiet spell (default 25 ms). */
  readonly gatherMs?: number;
  /** Under a steady stream of rows, one send round at most this often (default 1000 ms, at most flushIntervalMs). */
  readonly sendGapMs?: number;
  /** Below that stream, one send round at most this often (default 200 ms). */
  readonly quickGapMs?: number;
  /** The row rate from which the stream counts as steady (default 50 rows/s). */
  readonly steadyRowsPerSecond?: number;
  readonly maxBackoffMs?: number;
  /** Dropped-row count carried over from earlier runs (persisted by the caller). */
  readonly droppedBefore?: number;
  readonly onDropped?: (total: number) => void;
  readonly log?: (message: string) => void;
}

interface SpoolFile { readonly name: string; readonly seq: number; readonly table: string; readonly rows: number; readonly bytes: number }

const SPOOL_NAME = /^(\d{16})-([A-Za-z]+)-(\d+)\.json$/;

export async function createTelemetryQueue(options: TelemetryQueueOptions): Promise<TelemetryQueue> {
  const { client, spoolDir } = options;
  const maxSpoolBytes = options.maxSpoolBytes ?? 256 * 1024 * 1024;
  const batchSize = options.batchSize ?? 500;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  // The first row after a quiet spell goes out after this short gather delay rather than at the next tick:
  // detection latency matters most for the first event of an attack. The next round follows quickGapMs after
  // the last one began while rows come slowly (an attack on a quiet machine is seen within a fraction of a
  // second), and sendGapMs after it under a steady stream of at least steadyRowsPerSecond: fewer, larger
  // posts (each costs the agent a request and a wake-up for its answer, whatever its size), at the price of
  // up to sendGapMs more latency on a busy machine.
  const gatherMs = options.gatherMs ?? 25;
  const sendGapMs = Math.min(options.sendGapMs ?? 1000, flushIntervalMs);
  const quickGapMs = Math.min(options.quickGapMs ?? 200, sendGapMs);
  const steadyRowsPerSecond = options.steadyRowsPerSecond ?? 50;
  /** Whether the rows taken by the last round came at the steady rate (over the time since the round before). */
  let steady = false;
  let sendTimer: NodeJS.Timeout | undefined;
  let lastFlushAt = 0;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const log = options.log ?? (() => {});
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });

  const spool: SpoolFile[] = [];
  for (const name of (await readdir(spoolDir)).sort()) {
    const m = SPOOL_NAME.exec(name);
    if (!m) continue;
    const bytes = (await stat(join(spoolDir, name))).size;
    spool.push({ name, seq: Number(m[1]), table: m[2], rows: Number(m[3]), bytes });
  }
  let spoolSeq = spool.length ? spool[spool.length - 1].seq + 1 : 1;
  let spoolBytes = spool.reduce((n, f) => n + f.bytes, 0);

  const pending = new Map<string, Record<string, unknown>[]>();
  let pendingRows = 0;
  let sentRows = 0;
  let spooledRows = 0;
  let rejectedRows = 0;
  let droppedRows = options.droppedBefore ?? 0;
  let connected = true;
  let lastError: string | undefined;
  let backoffMs = 0;
  let retryAt = 0;
  let running: Promise<void> | undefined;
  let closed = false;

  async function toSpool(table: string, rows: Record<string, unknown>[]) {
    const data = JSON.stringify(rows);
    const bytes = Buffer.byteLength(data);
    while (spool.length && spoolBytes + bytes > maxSpoolBytes) {
      const oldest = spool.shift()!;
      spoolBytes -= oldest.bytes;
      droppedRows += oldest.rows;
      await unlink(join(spoolDir, oldest.name)).catch(() => {});
      log(`spool full: dropped ${oldest.rows} ${oldest.table} rows (oldest first; ${droppedRows} dropped in all)`);
      options.onDropped?.(droppedRows);
    }
    if (bytes > maxSpoolBytes) {
      droppedRows += rows.length;
      options.onDropped?.(droppedRows);
      return;
    }
    const name = `${String(spoolSeq++).padStart(16, '0')}-${table}-${rows.length}.json`;
    await writeFileAtomic(join(spoolDir, name), data);
    spool.push({ name, seq: Number(name.slice(0, 16)), table, rows: rows.length, bytes });
    spoolBytes += bytes;
    spooledRows += rows.length;
  }

  async function send(table: string, rows: Record<string, unknown>[]): Promise<boolean> {
    try {
      const result = await client.ingest(table, rows);
      sentRows += result.accepted + result.duplicates;
      if (result.rejected.length) {
        rejectedRows += result.rejected.length;
        log(`ingest ${table}: ${result.rejected.length} rows rejected, first: ${result.rejected[0].error}`);
      }
      connected = true;
      backoffMs = 0;
      lastError = undefined;
      return true;
    } catch (error) {
      lastError = (error as Error).message;
      if (error instanceof DeliveryError && !error.retryable) {
        // The platform refuses this batch as such (e.g. unknown table): keep it out of the spool loop.
        rejectedRows += rows.length;
        log(`ingest ${table}: not retryable, ${rows.length} rows refused: ${lastError}`);
        return true;
      }
      if (connected) log(`platform unreachable, spooling telemetry: ${lastError}`);
      connected = false;
      // Once per failed attempt, not once per table sent side by side in it.
      if (Date.now() >= retryAt) {
        backoffMs = Math.min(maxBackoffMs, backoffMs ? backoffMs * 2 : 1000);
        retryAt = Date.now() + backoffMs;
      }
      return false;
    }
  }

  /** What is pending, cut into batches: per table, that table's batches in order. */
  function takeBatches(): [string, Record<string, unknown>[]][][] {
    const byTable: [string, Record<string, unknown>[]][][] = [];
    for (const [table, rows] of pending) {
      const batches: [string, Record<string, unknown>[]][] = [];
      for (let i = 0; i < rows.length; i += batchSize) batches.push([table, rows.slice(i, i + batchSize)]);
      byTable.push(batches);
    }
    pending.clear();
    pendingRows = 0;
    return byTable;
  }

  async function round(deadline?: number): Promise<void> {
    const now = Date.now();
    steady = pendingRows * 1000 >= steadyRowsPerSecond * Math.max(1, now - lastFlushAt);
    lastFlushAt = now;
    const byTable = takeBatches();
    const canTry = () => (connected || Date.now() >= retryAt) && (deadline === undefined || Date.now() < deadline);
    // The tables are sent side by side (their answers come back together: one wake-up, not one per table),
    // each table's batches in order; what is not delivered is spooled, in order.
    const undelivered = await Promise.all(byTable.map(async (list) => {
      let i = 0;
      while (i < list.length && canTry() && (await send(list[i][0], list[i][1]))) i++;
      return list.slice(i);
    }));
    for (const [table, rows] of undelivered.flat()) await toSpool(table, rows);
    // Drain the spool oldest first while the server answers.
    while (spool.length && canTry()) {
      const file = spool[0];
      let rows: Record<string, unknown>[];
      try {
        rows = JSON.parse(await readFile(join(spoolDir, file.name), 'utf8'));
      } catch (error) {
        log(`spool file ${file.name} unreadable, dropped: ${(error as Error).message}`);
        rows = [];
        droppedRows += file.rows;
      }
      if (rows.length && !(await send(file.table, rows))) break;
      spool.shift();
      spoolBytes -= file.bytes;
      await unlink(join(spoolDir, file.name)).catch(() => {});
    }
  }

  function flush(deadline?: number): Promise<void> {
    if (running) return running.then(() => (pendingRows || (spool.length && connected) ? flush(deadline) : undefined));
    clearTimeout(sendTimer);
    sendTimer = undefined;
    running = round(deadline).finally(() => {
      running = undefined;
      scheduleSend(); // rows pushed meanwhile
    });
    return running;
  }

  /** Sends pending rows gatherMs from now, or the gap (quick or steady) after the last round began if that is later. */
  function scheduleSend() {
    if (sendTimer || running || !pendingRows || !connected || closed) return;
    sendTimer = setTimeout(() => {
      sendTimer = undefined;
      void flush().catch((e) => log(`flush failed: ${(e as Error).message}`));
    }, Math.max(gatherMs, lastFlushAt + (steady ? sendGapMs : quickGapMs) - Date.now()));
    sendTimer.unref();
  }

  // Retries: the spool, and rows pushed while the platform was unreachable.
  const timer = setInterval(() => {
    if ((pendingRows && !sendTimer) || (spool.length && Date.now() >= retryAt)) void flush().catch((e) => log(`flush failed: ${(e as Error).message}`));
  }, flushIntervalMs);
  timer.unref();

  return {
    push(table, row) {
      if (closed) return;
      let rows = pending.get(table);
      if (!rows) pending.set(table, (rows = []));
      rows.push(row);
      pendingRows++;
      if (!sendTimer) scheduleSend();
      // Bound memory: a burst beyond a few batches goes out (or to the spool) without waiting for the timer.
      if (pendingRows >= batchSize * 4 && !running) void flush().catch((e) => log(`flush failed: ${(e as Error).message}`));
    },
    flush: () => flush(),
    async close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(sendTimer);
      if (running) await running.catch(() => {});
      connected = connected || Date.now() >= retryAt;
      await round(Date.now() + 5000);
    },
    stats: () => ({ sentRows, spooledRows, spoolBytes, spoolRows: spool.reduce((n, f) => n + f.rows, 0), droppedRows, rejectedRows, pendingRows, connected, lastError }),
  };
}
