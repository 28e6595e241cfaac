// The durable spool: a message is written and fsynced (body, then its metadata, then the folder) before the
// gateway answers 250, so an accepted message survives a crash or restart. Layout under the spool folder:
//   queue/<id>.eml + queue/<id>.json        waiting for relay (the .json's presence commits the entry)
//   quarantine/<id>.eml + quarantine/<id>.json   held for analysts
//   failed/<id>.*                            refused for good by the next hop (5xx), kept for analysts
//   tmp/                                     half-written entries, discarded at start
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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

function writeDurable(file: string, data: Buffer | string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally { closeSync(fd); }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export interface Spool {
  readonly dir: string;
  /** Writes message and metadata durably into an area; returns once both and the folder entry are on disk. */
  put(area: SpoolArea, meta: SpoolMeta, raw: Buffer): void;
  update(area: SpoolArea, meta: SpoolMeta): void;
  read(area: SpoolArea, id: string): { meta: SpoolMeta; raw: Buffer } | undefined;
  remove(area: SpoolArea, id: string): void;
  move(from: SpoolArea, to: SpoolArea, id: string): void;
  list(area: SpoolArea): SpoolMeta[];
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
  return {
    dir,
    put(area, meta, raw) {
      writeDurable(path('tmp', meta.id, 'eml'), raw);
      writeDurable(path('tmp', meta.id, 'json'), JSON.stringify(meta));
      renameSync(path('tmp', meta.id, 'eml'), path(area, meta.id, 'eml'));
      renameSync(path('tmp', meta.id, 'json'), path(area, meta.id, 'json'));
      fsyncDir(join(dir, area));
    },
    update(area, meta) {
      writeDurable(path('tmp', meta.id, 'json'), JSON.stringify(meta));
      renameSync(path('tmp', meta.id, 'json'), path(area, meta.id, 'json'));
    },
    read(area, id) {
      try {
        const meta = JSON.parse(readFileSync(path(area, id, 'json'), 'utf8')) as SpoolMeta;
        return { meta, raw: readFileSync(path(area, id, 'eml')) };
      } catch { return undefined; }
    },
    remove(area, id) {
      rmSync(path(area, id, 'json'), { force: true });
      rmSync(path(area, id, 'eml'), { force: true });
    },
    move(from, to, id) {
      renameSync(path(from, id, 'eml'), path(to, id, 'eml'));
      renameSync(path(from, id, 'json'), path(to, id, 'json'));
      fsyncDir(join(dir, to));
    },
    list(area) {
      const out: SpoolMeta[] = [];
      for (const n of readdirSync(join(dir, area))) {
        if (!n.endsWith('.json')) continue;
        try { out.push(JSON.parse(readFileSync(join(dir, area, n), 'utf8')) as SpoolMeta); } catch { /* half-written: ignored */ }
      }
      return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
    },
  };
}
