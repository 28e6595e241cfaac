// Scanning on worker threads: the gateway's main thread speaks SMTP, writes the spool and relays, while
// parsing, decoding and hashing (most of a message's CPU) run beside it on other cores. A message goes to the
// thread with the fewest messages in hand. A thread that fails is replaced and its messages are scanned
// inline, so no scan is lost; threads that keep failing before they ever answer are given up for inline scans.
import { Worker } from 'node:worker_threads';
import { scanMessage, type ScannedMessage } from './scanner.js';

export interface ScanPool {
  /** The message's bytes in one buffer; in memory shared with the threads when there are any (no copy to scan). */
  join(chunks: readonly Buffer[]): Buffer;
  scan(raw: Buffer): Promise<ScannedMessage>;
  close(): Promise<void>;
}

interface Pending { readonly raw: Buffer; resolve(scan: ScannedMessage): void }
interface Thread { readonly worker: Worker; readonly pending: Map<number, Pending>; answered: boolean }

function spawn(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./scan-worker.js', import.meta.url));
  // Run by tsx (no build step): a worker thread does not inherit tsx's loader on Node 20, so it registers it first.
  const api = import.meta.resolve('tsx/esm/api');
  const file = new URL('./scan-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(api)}).then((api) => { api.register(); return import(${JSON.stringify(file)}); });`, { eval: true });
}

/** `threads` 0 scans on the calling thread. */
export function createScanPool(threads: number, log: (message: string) => void): ScanPool {
  if (threads <= 0) return { join: (chunks) => Buffer.concat(chunks), scan: scanMessage, close: async () => {} };
  let closing = false;
  let seq = 0;
  let failedUnanswered = 0;
  const pool: Thread[] = [];
  const inline = (p: Pending) => void scanMessage(p.raw).then(p.resolve);
  const start = (): Thread => {
    const t: Thread = { worker: spawn(), pending: new Map(), answered: false };
    t.worker.unref();
    t.worker.on('message', (m: { id: number; scan?: ScannedMessage; error?: string }) => {
      t.answered = true;
      const p = t.pending.get(m.id);
      if (!p) return;
      t.pending.delete(m.id);
      if (t.pending.size === 0) t.worker.unref();
      if (m.scan) p.resolve(m.scan);
      else { log(`scan thread failed on a message (${m.error}); scanned inline`); inline(p); }
    });
    const fail = (why: string) => {
      const i = pool.indexOf(t);
      if (i < 0) return;
      pool.splice(i, 1);
      if (!t.answered) failedUnanswered++;
      if (closing) { /* closing anyway */ } else if (failedUnanswered >= 3) log(`scan thread ${why}; scanning on the main thread from now on`);
      else { log(`scan thread ${why}; replaced`); pool.push(start()); }
      for (const p of t.pending.values()) inline(p);
      t.pending.clear();
    };
    t.worker.on('error', (error) => fail(`failed (${error.message})`));
    t.worker.on('exit', (code) => fail(`exited (${code})`));
    return t;
  };
  for (let i = 0; i < threads; i++) pool.push(start());
  return {
    join(chunks) {
      let total = 0;
      for (const c of chunks) total += c.length;
      const raw = Buffer.from(new SharedArrayBuffer(total));
      let at = 0;
      for (const c of chunks) { c.copy(raw, at); at += c.length; }
      return raw;
    },
    scan(raw) {
      if (closing || pool.length === 0) return scanMessage(raw);
      let t = pool[0];
      for (const c of pool) if (c.pending.size < t.pending.size) t = c;
      const id = seq++;
      return new Promise<ScannedMessage>((resolve) => {
        t.pending.set(id, { raw, resolve });
        t.worker.ref();
        // Bytes in a SharedArrayBuffer (join) reach the thread without a copy; others are copied.
        t.worker.postMessage({ id, raw });
      });
    },
    async close() {
      closing = true;
      const threads = pool.splice(0);
      await Promise.all(threads.map(async (t) => {
        // Scans in hand finish first (bounded), then the thread stops.
        for (let i = 0; i < 500 && t.pending.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
        await t.worker.terminate();
        for (const p of t.pending.values()) inline(p);
      }));
    },
  };
}
