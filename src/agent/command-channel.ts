import type { PlatformClient } from './platform-client.js';
import { sleep } from './sleep.js';
import type { StateDir } from './state-dir.js';

/** A command as the platform's command channel delivers it (CONTRACTS: GET /api/v1/agent/commands). */
export interface AgentCommand {
  readonly id: string;
  readonly kind: string;
  readonly params?: Record<string, unknown>;
  readonly issuedAt?: string;
}

export interface CommandResult {
  readonly status: 'succeeded' | 'failed';
  readonly message: string;
  readonly output?: unknown;
}

export type CommandHandler = (command: AgentCommand, progress: (message: string) => Promise<void>) => Promise<CommandResult>;

export interface CommandChannel {
  close(): Promise<void>;
  /** Commands finished (id → result), persisted across restarts. */
  finished(): ReadonlyMap<string, CommandResult>;
}

const FILE = 'finished-commands.json';
const KEEP = 1000;

/**
 * Long-polls the command channel, runs each command once and reports its result. Finished ids and their
 * results are persisted before the result is posted, so a command redelivered after a crash or a lost
 * answer is not run again: its stored result is posted again (the platform treats that as a no-op).
 */
export async function createCommandChannel(options: {
  client: PlatformClient;
  state: StateDir;
  handle: CommandHandler;
  waitSeconds?: number;
  log?: (message: string) => void;
}): Promise<CommandChannel> {
  const { client, state } = options;
  const log = options.log ?? (() => {});
  const saved = (await state.readJson<[string, CommandResult][]>(FILE)) ?? [];
  const finished = new Map<string, CommandResult>(saved);
  const running = new Set<string>();
  const abort = new AbortController();
  let stopped = false;
  let persisting = Promise.resolve();
  const persist = () => {
    persisting = persisting.then(() => state.writeJson(FILE, [...finished].slice(-KEEP)));
    return persisting;
  };

  async function post(id: string, body: Record<string, unknown>) {
    for (let attempt = 0; attempt < 10 && !stopped; attempt++) {
      try {
        const { status } = await client.request('POST', `/api/v1/agent/commands/${encodeURIComponent(id)}/result`, { json: body });
        if (status < 500) return;
      } catch { /* unreachable: retry */ }
      await sleep(Math.min(30_000, 500 * 2 ** attempt), abort.signal);
    }
  }

  async function execute(command: AgentCommand) {
    running.add(command.id);
    let result: CommandResult;
    try {
      result = await options.handle(command, (message) => post(command.id, { status: 'running', message }));
    } catch (error) {
      result = { status: 'failed', message: (error as Error).message };
    }
    finished.set(command.id, result);
    while (finished.size > KEEP) finished.delete(finished.keys().next().value!);
    await persist();
    running.delete(command.id);
    log(`command ${command.kind} ${command.id}: ${result.status}: ${result.message}`);
    await post(command.id, result as unknown as Record<string, unknown>);
  }

  const loop = (async () => {
    let backoff = 1000;
    while (!stopped) {
      const started = Date.now();
      try {
        const { status, body } = await client.request<{ commands?: AgentCommand[] }>('GET', `/api/v1/agent/commands?wait=${options.waitSeconds ?? 25}`, {
          signal: abort.signal, timeoutMs: ((options.waitSeconds ?? 25) + 10) * 1000,
        });
        if (status !== 200) throw new Error(`HTTP ${status}`);
        backoff = 1000;
        for (const command of body.commands ?? []) {
          const done = finished.get(command.id);
          if (done) { void post(command.id, done as unknown as Record<string, unknown>); continue; }
          if (running.has(command.id)) continue;
          void execute(command);
        }
        // An empty answer that came at once (a server not honouring `wait`) must not turn into a busy loop.
        if (!body.commands?.length && Date.now() - started < 1000) await sleep(1000 - (Date.now() - started), abort.signal);
      } catch (error) {
        if (stopped) break;
        log(`command channel: ${(error as Error).message}; retrying in ${backoff / 1000}s`);
        await sleep(backoff, abort.signal);
        backoff = Math.min(30_000, backoff * 2);
      }
    }
  })();

  return {
    finished: () => finished,
    async close() {
      stopped = true;
      abort.abort();
      await loop;
      await persisting;
    },
  };
}
