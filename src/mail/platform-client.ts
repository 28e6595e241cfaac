// The gateway's side of the platform's public HTTP API, as a sensor: telemetry ingest, the indicator feed
// (long poll) and the command channel (long poll + results). Nothing here imports server internals.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CanonicalRow } from '../schema/index.js';
import type { FeedIndicator } from './verdict.js';

export interface PlatformClient {
  request<T>(method: string, path: string, body?: unknown, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ status: number; body: T }>;
}

export function createPlatformClient(server: string, token: string): PlatformClient {
  const base = server.replace(/\/+$/, '');
  return {
    async request(method, path, body, opts = {}) {
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
      return { status: res.status, body: parsed as never };
    },
  };
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * Telemetry outbox: rows are batched per table (flushed every `intervalMs`), each batch is written to
 * `dir` before it is sent and removed once the platform accepted it, so rows survive a platform outage and
 * a restart. Re-sending a batch is harmless: ReportIds make ingest idempotent.
 */
export interface TelemetryOutbox {
  add(table: string, rows: readonly CanonicalRow[]): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createTelemetryOutbox(options: {
  client: PlatformClient | undefined; dir: string; intervalMs?: number; log: (msg: string) => void;
}): TelemetryOutbox {
  mkdirSync(options.dir, { recursive: true });
  const pending = new Map<string, CanonicalRow[]>();
  let seq = Date.now() * 1000;
  let sending: Promise<void> = Promise.resolve();
  let failures = 0;
  const abort = new AbortController();

  async function sendFiles(): Promise<void> {
    if (!options.client) {
      for (const n of readdirSync(options.dir)) rmSync(join(options.dir, n), { force: true });
      return;
    }
    for (const n of readdirSync(options.dir).sort()) {
      if (!n.endsWith('.json') || abort.signal.aborted) continue;
      const file = join(options.dir, n);
      const { table, rows } = JSON.parse(readFileSync(file, 'utf8')) as { table: string; rows: CanonicalRow[] };
      try {
        const res = await options.client.request<{ rejected?: { index: number; error: string }[] }>('POST', `/api/v1/ingest/${table}`, rows);
        if (res.status >= 500 || res.status === 429 || res.status === 401) throw new Error(`HTTP ${res.status}`);
        if (res.status >= 400) options.log(`telemetry: ${table} batch refused with HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
        else if (res.body?.rejected?.length) options.log(`telemetry: ${table}: ${res.body.rejected.length} rows rejected, first: ${JSON.stringify(res.body.rejected[0])}`);
        rmSync(file, { force: true });
        failures = 0;
      } catch (error) {
        if (failures++ === 0) options.log(`telemetry: platform unreachable (${(error as Error).message}); keeping rows in ${options.dir} and retrying`);
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), abort.signal);
        return;
      }
    }
  }

  function flushNow(): Promise<void> {
    const batches = [...pending].filter(([, rows]) => rows.length > 0).map(([table, rows]) => ({ file: join(options.dir, `${String(seq++).padStart(20, '0')}.json`), table, rows }));
    pending.clear();
    const written = Promise.all(batches.map((b) => writeFile(b.file, JSON.stringify({ table: b.table, rows: b.rows }))));
    const send = () => written.then(sendFiles);
    sending = sending.then(send, send);
    return sending;
  }

  const timer = setInterval(() => { void flushNow(); }, options.intervalMs ?? 250);
  timer.unref();
  return {
    add(table, rows) {
      let list = pending.get(table);
      if (!list) pending.set(table, (list = []));
      list.push(...rows);
    },
    flush: flushNow,
    async close() {
      clearInterval(timer);
      await flushNow();
      abort.abort();
      await sending;
    },
  };
}

interface FeedBody { version: string | number; indicators?: FeedIndicator[]; removed?: string[]; full?: boolean }

/** Follows GET /api/v1/intel/feed?since=&wait= and hands every change to `onChange`. */
export function followIntelFeed(options: {
  client: PlatformClient; waitSeconds?: number; log: (msg: string) => void;
  onChange: (update: { indicators: FeedIndicator[]; removed: string[]; full: boolean }) => Promise<void> | void;
}): { close(): Promise<void>; ready: Promise<void> } {
  const abort = new AbortController();
  let version: string | number = 0;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => { markReady = r; });
  const wait = options.waitSeconds ?? 25;
  const loop = (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const res: { status: number; body: FeedBody } = await options.client.request<FeedBody>(
          'GET', `/api/v1/intel/feed?since=${encodeURIComponent(String(version))}&wait=${version === 0 ? 0 : wait}`, undefined,
          { signal: abort.signal, timeoutMs: (wait + 10) * 1000 });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        const b: FeedBody = res.body;
        const first = version === 0;
        if (b.version !== undefined) version = b.version;
        if (first || (b.indicators?.length ?? 0) + (b.removed?.length ?? 0) > 0) {
          await options.onChange({ indicators: b.indicators ?? [], removed: b.removed ?? [], full: b.full ?? first });
        }
        markReady();
      } catch (error) {
        if (abort.signal.aborted) break;
        if (failures++ === 0) options.log(`intel feed: ${(error as Error).message}; retrying`);
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), abort.signal);
      }
    }
  })();
  return { ready, async close() { abort.abort(); await loop; } };
}

export interface ChannelCommand { readonly id: string; readonly kind: string; readonly params: Record<string, unknown>; readonly issuedAt: string }

/** Polls the command channel as the gateway's sensor; each command's result is posted back. */
export function followCommands(options: {
  client: PlatformClient; waitSeconds?: number; log: (msg: string) => void;
  run: (command: ChannelCommand) => Promise<{ status: 'succeeded' | 'failed'; message?: string; output?: unknown }>;
}): { close(): Promise<void> } {
  const abort = new AbortController();
  const done = new Set<string>();
  const wait = options.waitSeconds ?? 25;
  const loop = (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const res = await options.client.request<{ commands: ChannelCommand[] }>('GET', `/api/v1/agent/commands?wait=${wait}`, undefined,
          { signal: abort.signal, timeoutMs: (wait + 10) * 1000 });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        for (const c of res.body.commands ?? []) {
          let result: { status: 'succeeded' | 'failed'; message?: string; output?: unknown };
          if (done.has(c.id)) result = { status: 'succeeded', message: 'already done' };
          else {
            await options.client.request('POST', `/api/v1/agent/commands/${encodeURIComponent(c.id)}/result`, { status: 'running' });
            try { result = await options.run(c); } catch (error) { result = { status: 'failed', message: (error as Error).message }; }
            done.add(c.id);
          }
          await options.client.request('POST', `/api/v1/agent/commands/${encodeURIComponent(c.id)}/result`, result);
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        if (failures++ === 0) options.log(`command channel: ${(error as Error).message}; retrying`);
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), abort.signal);
      }
    }
  })();
  return { async close() { abort.abort(); await loop; } };
}
