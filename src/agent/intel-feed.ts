import type { PlatformClient } from './platform-client.js';
import { sleep } from './sleep.js';
import type { Indicator } from './scanner.js';
import type { StateDir } from './state-dir.js';

export interface IntelFeed {
  readonly version: string | number;
  indicators(): readonly Indicator[];
  close(): Promise<void>;
}

const FILE = 'indicators.json';

/**
 * Follows the platform's indicator feed (GET /api/v1/intel/feed?since=&wait=, a long poll that answers as
 * soon as anything changed). Deltas are applied and persisted, so prevention keeps working offline and
 * after a restart.
 */
export async function createIntelFeed(options: {
  client: PlatformClient;
  state: StateDir;
  onChange: (indicators: readonly Indicator[]) => void;
  waitSeconds?: number;
  log?: (message: string) => void;
}): Promise<IntelFeed> {
  const log = options.log ?? (() => {});
  const saved = await options.state.readJson<{ version: string | number; indicators: Indicator[] }>(FILE);
  let version: string | number = saved?.version ?? 0;
  const byId = new Map<string, Indicator>((saved?.indicators ?? []).map((i) => [i.id, i]));
  options.onChange([...byId.values()]);
  const abort = new AbortController();
  let stopped = false;
  const wait = options.waitSeconds ?? 25;

  const loop = (async () => {
    let backoff = 1000;
    let reported = false;
    while (!stopped) {
      const started = Date.now();
      try {
        const { status, body } = await options.client.request<{ version: string | number; indicators?: Indicator[]; removed?: string[]; full?: boolean }>(
          'GET', `/api/v1/intel/feed?since=${encodeURIComponent(String(version))}&wait=${wait}`, { signal: abort.signal, timeoutMs: (wait + 10) * 1000 });
        if (status !== 200) throw new Error(`HTTP ${status}`);
        backoff = 1000;
        reported = false;
        // A full answer (first poll, or the server's history no longer reaches `since`) replaces the set.
        const changed = (body.indicators?.length ?? 0) + (body.removed?.length ?? 0) > 0 || (body.full === true && byId.size > 0);
        if (body.full) byId.clear();
        for (const i of body.indicators ?? []) byId.set(i.id, i);
        for (const id of body.removed ?? []) byId.delete(id);
        const moved = body.version !== undefined && body.version !== version;
        if (body.version !== undefined) version = body.version;
        if (changed) options.onChange([...byId.values()]);
        if (changed || moved) await options.state.writeJson(FILE, { version, indicators: [...byId.values()] });
        // A server that answers at once with nothing new (e.g. an empty feed at version 0) must not make this
        // a busy loop: at most one such poll per second.
        else if (Date.now() - started < 1000) await sleep(1000 - (Date.now() - started), abort.signal);
      } catch (error) {
        if (stopped) break;
        if (!reported) log(`indicator feed: ${(error as Error).message}; retrying with backoff`);
        reported = true;
        await sleep(backoff, abort.signal);
        backoff = Math.min(30_000, backoff * 2);
      }
    }
  })();

  return {
    get version() { return version; },
    indicators: () => [...byId.values()],
    async close() {
      stopped = true;
      abort.abort();
      await loop;
    },
  };
}
