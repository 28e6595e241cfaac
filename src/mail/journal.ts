// The spool's queue journal: accepted messages are appended to a segment file and made durable in groups — one
// write and one fdatasync for every message that arrived while the previous group was being synced (group commit,
// as databases do) — instead of two files, two fsyncs and two renames per message. A message is durable, and may
// be acknowledged with 250, once its group's fdatasync returned.
//
// journal/<seq>.log   records: 'VJ01', u32 meta length, u32 message length, meta JSON, message bytes
// journal/<seq>.done  ids whose relay finished (or that moved to the per-file spool), one a line; appended
//                     without fsync: after a crash such a message may be relayed again (at least once, never lost)
// A segment is sealed at 64 MiB and deleted once none of its messages is left. At start every segment is read back:
// its records up to the first torn one (never acknowledged), less its done ids, are the queue left from the last run.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, fstatSync, rmSync } from 'node:fs';
import { appendFile, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolMeta } from './spool.js';

const MAGIC = 0x564a3031;
const HEADER = 12;
const SEGMENT_BYTES = 64 * 1024 * 1024;

interface Segment {
  readonly seq: number;
  fh?: FileHandle;
  size: number;
  sealed: boolean;
  readonly live: Set<string>;
}

interface Entry { readonly meta: SpoolMeta; readonly seq: number; readonly offset: number; readonly length: number }
interface Waiting { readonly meta: SpoolMeta; readonly raw: Buffer; resolve(): void; reject(e: Error): void }

export interface Journal {
  /** Appends a message; resolves once it is on disk (group commit). */
  append(meta: SpoolMeta, raw: Buffer): Promise<void>;
  has(id: string): boolean;
  meta(id: string): SpoolMeta | undefined;
  /** The message bytes of a journal entry. */
  read(id: string): Promise<Buffer | undefined>;
  /** The entry is finished here (relayed, or kept elsewhere now). */
  done(id: string): Promise<void>;
  /** Entries waiting, oldest first. */
  list(): SpoolMeta[];
  close(): Promise<void>;
}

export function openJournal(dir: string, syncDir: () => Promise<void>): Journal {
  mkdirSync(dir, { recursive: true });
  const segments = new Map<number, Segment>();
  const entries = new Map<string, Entry>();
  const logFile = (seq: number) => join(dir, `${seq}.log`);
  const doneFile = (seq: number) => join(dir, `${seq}.done`);

  // ---------- recovery ----------
  let maxSeq = 0;
  const seqs = readdirSync(dir).flatMap((n) => { const m = /^(\d+)\.log$/.exec(n); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
  for (const seq of seqs) {
    maxSeq = Math.max(maxSeq, seq);
    let finished = new Set<string>();
    try { finished = new Set(readFileSync(doneFile(seq), 'utf8').split('\n').filter(Boolean)); } catch { /* none yet */ }
    const seg: Segment = { seq, size: 0, sealed: true, live: new Set() };
    const fd = openSync(logFile(seq), 'r');
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(HEADER);
      let at = 0;
      while (at + HEADER <= size) {
        readSync(fd, head, 0, HEADER, at);
        if (head.readUInt32BE(0) !== MAGIC) break;
        const metaLen = head.readUInt32BE(4);
        const rawLen = head.readUInt32BE(8);
        if (at + HEADER + metaLen + rawLen > size) break; // torn: never acknowledged
        const metaBuf = Buffer.alloc(metaLen);
        readSync(fd, metaBuf, 0, metaLen, at + HEADER);
        let meta: SpoolMeta;
        try { meta = JSON.parse(metaBuf.toString('utf8')) as SpoolMeta; } catch { break; }
        if (!finished.has(meta.id)) {
          entries.set(meta.id, { meta, seq, offset: at + HEADER + metaLen, length: rawLen });
          seg.live.add(meta.id);
        }
        at += HEADER + metaLen + rawLen;
      }
      seg.size = at;
    } finally { closeSync(fd); }
    if (seg.live.size === 0) { rmSync(logFile(seq), { force: true }); rmSync(doneFile(seq), { force: true }); } else segments.set(seq, seg);
  }

  // ---------- appending ----------
  let current: Segment | undefined;
  let queue: Waiting[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;

  async function segmentFor(): Promise<Segment> {
    if (current && current.size < SEGMENT_BYTES) return current;
    if (current) { current.sealed = true; await current.fh?.close(); current.fh = undefined; void collect(current); }
    const seg: Segment = { seq: ++maxSeq, size: 0, sealed: false, live: new Set() };
    seg.fh = await open(logFile(seg.seq), 'wx', 0o600);
    // The new file's folder entry is durable before anything in it is acknowledged.
    await syncDir();
    segments.set(seg.seq, seg);
    current = seg;
    return seg;
  }

  async function flush(): Promise<void> {
    while (queue.length) {
      const group = queue;
      queue = [];
      try {
        const seg = await segmentFor();
        const buffers: Buffer[] = [];
        const placed: Entry[] = [];
        let at = seg.size;
        for (const w of group) {
          const metaBuf = Buffer.from(JSON.stringify(w.meta));
          const head = Buffer.alloc(HEADER);
          head.writeUInt32BE(MAGIC, 0);
          head.writeUInt32BE(metaBuf.length, 4);
          head.writeUInt32BE(w.raw.length, 8);
          buffers.push(head, metaBuf, w.raw);
          placed.push({ meta: w.meta, seq: seg.seq, offset: at + HEADER + metaBuf.length, length: w.raw.length });
          at += HEADER + metaBuf.length + w.raw.length;
        }
        // writev takes at most IOV_MAX (1024) buffers per call.
        let pos = seg.size;
        for (let i = 0; i < buffers.length; i += 1020) {
          const part = buffers.slice(i, i + 1020);
          let n = 0;
          for (const b of part) n += b.length;
          const { bytesWritten } = await seg.fh!.writev(part, pos);
          if (bytesWritten !== n) throw new Error(`short write to ${logFile(seg.seq)} (${bytesWritten} of ${n} bytes)`);
          pos += n;
        }
        await seg.fh!.datasync();
        seg.size = at;
        for (const e of placed) { entries.set(e.meta.id, e); seg.live.add(e.meta.id); }
        for (const w of group) w.resolve();
      } catch (error) {
        // The segment may hold a torn group now: later groups go to a fresh one; these are not acknowledged.
        const failed = current;
        current = undefined;
        if (failed) { failed.sealed = true; await failed.fh?.close().catch(() => undefined); failed.fh = undefined; void collect(failed); }
        for (const w of group) w.reject(error as Error);
      }
    }
  }

  // ---------- finishing ----------
  const readers = new Map<number, Promise<FileHandle>>();
  async function collect(seg: Segment): Promise<void> {
    if (!seg.sealed || seg.live.size > 0 || !segments.has(seg.seq)) return;
    segments.delete(seg.seq);
    const reader = readers.get(seg.seq);
    readers.delete(seg.seq);
    if (reader) await (await reader).close().catch(() => undefined);
    await unlink(logFile(seg.seq)).catch(() => undefined);
    await unlink(doneFile(seg.seq)).catch(() => undefined);
  }
  let doneLines = new Map<number, string[]>();
  let doneWriting: Promise<void> | undefined;
  async function writeDone(): Promise<void> {
    while (doneLines.size) {
      const batch = doneLines;
      doneLines = new Map();
      for (const [seq, ids] of batch) {
        await appendFile(doneFile(seq), `${ids.join('\n')}\n`).catch(() => undefined);
        const seg = segments.get(seq);
        if (seg) await collect(seg);
      }
    }
  }

  return {
    append(meta, raw) {
      if (closed) return Promise.reject(new Error('spool closed'));
      return new Promise<void>((resolve, reject) => {
        queue.push({ meta, raw, resolve, reject });
        flushing ??= flush().finally(() => { flushing = undefined; });
      });
    },
    has: (id) => entries.has(id),
    meta: (id) => entries.get(id)?.meta,
    async read(id) {
      const e = entries.get(id);
      if (!e) return undefined;
      let reader = readers.get(e.seq);
      if (!reader) { reader = open(logFile(e.seq), 'r'); readers.set(e.seq, reader); }
      const buf = Buffer.allocUnsafe(e.length);
      const { bytesRead } = await (await reader).read(buf, 0, e.length, e.offset);
      return bytesRead === e.length ? buf : undefined;
    },
    async done(id) {
      const e = entries.get(id);
      if (!e) return;
      entries.delete(id);
      const seg = segments.get(e.seq);
      seg?.live.delete(id);
      const lines = doneLines.get(e.seq) ?? [];
      lines.push(id);
      doneLines.set(e.seq, lines);
      doneWriting ??= writeDone().finally(() => { doneWriting = undefined; });
      await doneWriting;
    },
    list: () => [...entries.values()].map((e) => e.meta).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt)),
    async close() {
      closed = true;
      await flushing;
      await doneWriting;
      await current?.fh?.close().catch(() => undefined);
      for (const r of readers.values()) await (await r).close().catch(() => undefined);
      readers.clear();
    },
  };
}
