import { Worker } from 'node:worker_threads';
import { VigilError } from '../errors/index.js';
import type { QueryOptions, QueryResult } from './store.js';

interface Pending {
  resolve(result: QueryResult): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * Read-only SQL on a worker thread with its own connection, so a long hunt never blocks ingest and a
 * timeout can really stop it (better-sqlite3 has no interrupt; the worker is terminated and replaced).
 * One query runs at a time per worker; others wait in order.
 */
export function createQueryWorkers(file: string, functionsModule?: string) {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let queue: Promise<unknown> = Promise.resolve();

  function spawn(): Worker {
    const w = new Worker(new URL('./query-worker.mjs', import.meta.url), { workerData: { file, functionsModule } });
    w.on('message', (msg: { id: number; ok: boolean; result?: QueryResult; error?: string; code?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result!);
      else p.reject(new VigilError(msg.code ?? 'query_failed', 400, msg.error ?? 'query failed'));
    });
    w.on('error', (err) => failAll(new VigilError('query_failed', 500, 'query worker failed', err)));
    w.on('exit', () => { if (worker === w) worker = undefined; });
    w.unref();
    return w;
  }

  function failAll(error: Error) {
    for (const [id, p] of pending) { clearTimeout(p.timer); p.reject(error); pending.delete(id); }
  }

  function runOne(text: string, params: readonly unknown[], options: QueryOptions): Promise<QueryResult> {
    worker ??= spawn();
    const w = worker;
    const id = nextId++;
    return new Promise<QueryResult>((resolve, reject) => {
      const entry: Pending = { resolve, reject };
      if (options.timeoutMs) {
        entry.timer = setTimeout(() => {
          pending.delete(id);
          worker = undefined;
          void w.terminate();
          reject(new VigilError('query_timeout', 408, `the query ran longer than ${options.timeoutMs} ms and was cancelled`));
        }, options.timeoutMs);
      }
      pending.set(id, entry);
      w.postMessage({ id, sql: text, params, maxRows: options.maxRows });
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
      await worker?.terminate();
      worker = undefined;
    },
  };
}
