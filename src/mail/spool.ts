// The durable spool: a message is written and fsynced before the gateway answers 250, so an accepted message
// survives a crash or restart. Layout under the spool folder:
//   journal/                                     accepted messages waiting for their first relay, written with
//                                                group commit (journal.ts)
//   queue/<id>.eml + queue/<id>.json             waiting for a retry or released from quarantine (the .json's
//                                                presence commits the entry; body, metadata, then the folder fsynced)
//   quarantine/<id>.eml + quarantine/<id>.json   held for analysts
//   failed/<id>.*                                refused for good by the next hop (5xx), kept for analysts
//   tmp/                                         half-written entries, discarded at start
// File work is asynchronous (libuv's pool) so that many connections' fsyncs overlap, and the folder fsyncs
// of concurrent writers are coalesced into one.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { openJournal } from './journal.js';

export type SpoolArea = 'queue' | 'quarantine' | 'failed';

export interface SpoolMeta {
  readonly id: string;
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly receivedAt: string;
  /** Header lines the gateway prepends when relaying (trace and verdict); the body is never changed. */
  readonly prepend: string;
  readonly verdict: string;
  readonly action: string;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  /** Telemetry, ZAP index entry and anything else the gateway needs after a restart. */
  readonly extra: Record<string, unknown>;
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

async function writeDurable(file: string, data: Buffer | string): Promise<void> {
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally { await fh.close(); }
}

/** fsync of a folder, shared by every caller that renamed into it before the sync began. */
function dirSyncer(dir: string): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const once = async () => {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  };
  return () => {
    if (!running) {
      running = once().finally(() => { running = undefined; });
      return running;
    }
    // A sync is in flight but may have started before our rename: wait for the next one.
    queued ??= running.then(() => {
      queued = undefined;
      running = once().finally(() => { running = undefined; });
      return running;
    }, () => undefined);
    return queued;
  };
}

export interface Spool {
  readonly dir: string;
  /** Writes message and metadata durably into an area; resolves once both and the folder entry are on disk. */
  put(area: SpoolArea, meta: SpoolMeta, raw: Buffer): Promise<void>;
  update(area: SpoolArea, meta: SpoolMeta): Promise<void>;
  read(area: SpoolArea, id: string): Promise<{ meta: SpoolMeta; raw: Buffer } | undefined>;
  remove(area: SpoolArea, id: string): Promise<void>;
  move(from: SpoolArea, to: SpoolArea, id: string): Promise<void>;
  /** Every entry of an area, oldest first (synchronous: used at start and for listings). */
  list(area: SpoolArea): SpoolMeta[];
  close(): Promise<void>;
}

export function openSpool(dir: string): Spool {
  for (const d of ['queue', 'quarantine', 'failed', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  rmSync(join(dir, 'tmp'), { recursive: true, force: true });
  mkdirSync(join(dir, 'tmp'));
  // A body without metadata was never acknowledged: drop it.
  for (const area of ['queue', 'quarantine', 'failed'] as const) {
    const names = new Set(readdirSync(join(dir, area)));
    for (const n of names) if (n.endsWith('.eml') && !names.has(n.replace(/\.eml$/, '.json'))) rmSync(join(dir, area, n), { force: true });
  }
  const path = (area: SpoolArea | 'tmp', id: string, ext: 'eml' | 'json') => join(dir, area, `${id}.${ext}`);
  const syncs = { queue: dirSyncer(join(dir, 'queue')), quarantine: dirSyncer(join(dir, 'quarantine')), failed: dirSyncer(join(dir, 'failed')) };
  const journal = openJournal(join(dir, 'journal'), dirSyncer(join(dir, 'journal')));
  async function putFiles(area: SpoolArea, meta: SpoolMeta, raw: Buffer): Promise<void> {
    await Promise.all([writeDurable(path('tmp', meta.id, 'eml'), raw), writeDurable(path('tmp', meta.id, 'json'), JSON.stringify(meta))]);
    await rename(path('tmp', meta.id, 'eml'), path(area, meta.id, 'eml'));
    await rename(path('tmp', meta.id, 'json'), path(area, meta.id, 'json'));
    await syncs[area]();
  }
  async function readFiles(area: SpoolArea, id: string): Promise<{ meta: SpoolMeta; raw: Buffer } | undefined> {
    try {
      const [meta, raw] = await Promise.all([readFile(path(area, id, 'json'), 'utf8'), readFile(path(area, id, 'eml'))]);
      return { meta: JSON.parse(meta) as SpoolMeta, raw };
    } catch { return undefined; }
  }
  const inJournal = (area: SpoolArea, id: string) => area === 'queue' && journal.has(id);
  return {
    dir,
    async put(area, meta, raw) {
      // New mail for the queue goes to the journal (group commit); quarantine and failed keep a file pair each.
      if (area === 'queue') await journal.append(meta, raw);
      else await putFiles(area, meta, raw);
    },
    async update(area, meta) {
      if (inJournal(area, meta.id)) {
        // A message that waits for a retry leaves the journal for a file pair of its own.
        const raw = await journal.read(meta.id);
        if (!raw) throw new Error(`spool: journal entry ${meta.id} could not be read`);
        await putFiles(area, meta, raw);
        await journal.done(meta.id);
        return;
      }
      await writeDurable(path('tmp', meta.id, 'json'), JSON.stringify(meta));
      await rename(path('tmp', meta.id, 'json'), path(area, meta.id, 'json'));
    },
    async read(area, id) {
      if (inJournal(area, id)) {
        const meta = journal.meta(id)!;
        const raw = await journal.read(id);
        return raw ? { meta: { ...meta }, raw } : undefined;
      }
      return readFiles(area, id);
    },
    async remove(area, id) {
      if (inJournal(area, id)) { await journal.done(id); return; }
      // Metadata first: a body left behind is dropped at the next start. (unlink, not rm: no lstat first.)
      await unlink(path(area, id, 'json')).catch(ignoreMissing);
      await unlink(path(area, id, 'eml')).catch(ignoreMissing);
    },
    async move(from, to, id) {
      if (inJournal(from, id)) {
        const entry = await this.read(from, id);
        if (!entry) throw new Error(`spool: journal entry ${id} could not be read`);
        await putFiles(to, entry.meta, entry.raw);
        await journal.done(id);
        return;
      }
      await rename(path(from, id, 'eml'), path(to, id, 'eml'));
      await rename(path(from, id, 'json'), path(to, id, 'json'));
      await syncs[to]();
    },
    list: (area) => (area === 'queue'
      ? [...listArea(dir, area), ...journal.list()].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt))
      : listArea(dir, area)),
    close: () => journal.close(),
  };
}

/** The entries of an area of any spool folder (also a sibling process's), oldest first, without opening it. */
export function listArea(dir: string, area: SpoolArea): SpoolMeta[] {
  const out: SpoolMeta[] = [];
  let names: string[] = [];
  try { names = readdirSync(join(dir, area)); } catch { return out; }
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try { out.push(JSON.parse(readFileSync(join(dir, area, n), 'utf8')) as SpoolMeta); } catch { /* half-written or gone: ignored */ }
  }
  return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

/** Takes an entry out of a sibling's spool (cluster mode): its files are read, then removed there. */
export async function takeFrom(dir: string, area: SpoolArea, id: string): Promise<{ meta: SpoolMeta; raw: Buffer } | undefined> {
  try {
    const [meta, raw] = await Promise.all([readFile(join(dir, area, `${id}.json`), 'utf8'), readFile(join(dir, area, `${id}.eml`))]);
    return { meta: JSON.parse(meta) as SpoolMeta, raw };
  } catch { return undefined; }
}
