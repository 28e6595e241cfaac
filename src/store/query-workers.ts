import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../errors/index.js';
import type { QueryOptions, QueryResult } from './store.js';

interface Pending {
  resolve(result: QueryResult): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
  readonly owner: ChildProcess;
}

/**
 * Read-only SQL in a child process with its own read-only connection, so a long hunt never blocks
 * ingest, and a timeout really stops it: SQLite's C code cannot be interrupted from JavaScript (a worker
 * thread would run on), but a process can be killed. One query runs at a time; others wait in order.
 */
export function createQueryWorkers(file: string, functionsModule?: string) {
  let child: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let queue: Promise<unknown> = Promise.resolve();
  const script = fileURLToPath(new URL('./query-worker.mjs', import.meta.url));

  function spawn(): ChildProcess {
    const c = fork(script, [], {
      env: { VIGIL_QUERY_DB: file, VIGIL_QUERY_FUNCTIONS: functionsModule ?? '' },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    c.on('message', (msg: { id: number; ok: boolean; result?: QueryResult; error?: string; code?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (pending.size === 0) idle(c);
      if (msg.ok) p.resolve(msg.result!);
      else p.reject(new VigilError(msg.code ?? 'query_failed', 400, msg.error ?? 'query failed'));
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
      failAll(new VigilError('query_failed', 500, 'the query process ended'), c);
    });
    return c;
  }

  // An idle query process must not keep the platform (or a test) alive.
  function idle(c: ChildProcess) {
    c.unref();
    (c.channel as { unref?: () => void } | undefined)?.unref?.();
  }
  function busy(c: ChildProcess) {
    c.ref();
    (c.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  function failAll(error: Error, owner?: ChildProcess) {
    for (const [id, p] of pending) {
      if (owner && p.owner !== owner) continue;
      clearTimeout(p.timer);
      p.reject(error);
      pending.delete(id);
    }
  }

  function runOne(text: string, params: readonly unknown[], options: QueryOptions): Promise<QueryResult> {
    child ??= spawn();
    const c = child;
    const id = nextId++;
    return new Promise<QueryResult>((resolve, reject) => {
      const entry: Pending = { resolve, reject, owner: c };
      if (options.timeoutMs) {
        entry.timer = setTimeout(() => {
          pending.delete(id);
          if (child === c) child = undefined;
          c.kill('SIGKILL');
          reject(new VigilError('query_timeout', 408, `the query ran longer than ${options.timeoutMs} ms and was cancelled`));
        }, options.timeoutMs);
      }
      pending.set(id, entry);
      busy(c);
      c.send({ id, sql: text, params, maxRows: options.maxRows });
    });
  }

  return {
    run(text: string, params: readonly unknown[], options: QueryOptions): Promise<QueryResult> {
      const result = queue.then(() => runOne(text, params, options));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      failAll(new VigilError('store_closed', 503, 'the store is closing'));
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        busy(c); // keep the event loop alive until it has gone
        c.kill('SIGKILL');
        await exited;
      }
    },
  };
}
