import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { hashFile, type FileHashes } from './hashes.js';

export interface FileMonitor {
  /** Directories under watch right now. */
  readonly watchedDirs: number;
  /** Events dropped because the work queue was full (bounded memory), in all. */
  readonly droppedEvents: number;
  /** Resolves when every event seen so far has been handled (tests, shutdown). */
  idle(): Promise<void>;
  close(): void;
}

export interface FileEvent {
  readonly action: 'FileCreated' | 'FileModified' | 'FileRenamed';
  readonly path: string;
  readonly previousPath?: string;
  readonly hashes?: FileHashes;
}

export interface FileMonitorOptions {
  readonly paths: readonly string[];
  /** Paths never watched (the agent's own state folder, its quarantine store). */
  readonly exclude?: readonly string[];
  readonly onEvent: (event: FileEvent) => Promise<void> | void;
  readonly maxDirs?: number;
  readonly maxQueue?: number;
  /** A path is handled this long after its last change, so a file being written is hashed once, complete. */
  readonly settleMs?: number;
  readonly maxHashBytes?: number;
  readonly log?: (message: string) => void;
}

interface Known { readonly ino: number; readonly dev: number; readonly size: number; readonly mtimeMs: number }

/**
 * File creation, modification and renames under the configured folders, with SHA-256, SHA-1, MD5 and
 * size. One inotify watch per directory (what Node's recursive fs.watch does on Linux too, done here so
 * the number of watches stays bounded and new subfolders are picked up with the files already in them).
 */
export function createFileMonitor(options: FileMonitorOptions): FileMonitor {
  const log = options.log ?? (() => {});
  const maxDirs = options.maxDirs ?? 8192;
  const maxQueue = options.maxQueue ?? 20_000;
  const settleMs = options.settleMs ?? 100;
  const exclude = (options.exclude ?? []).map((p) => p.replace(/\/+$/, ''));
  const startedAt = Date.now();
  const watchers = new Map<string, FSWatcher>();
  const known = new Map<string, Known>();
  const vanished = new Map<string, { path: string; at: number }>(); // dev:ino → where it was
  // Paths waiting for their writes to settle, in the order they are due (every (re)schedule appends with the
  // same delay), swept by one timer: two or three inotify events per new file need no timer each.
  const timers = new Map<string, { due: number; first: number }>();
  let sweepTimer: NodeJS.Timeout | undefined;
  const queue: string[] = [];
  const queued = new Set<string>();
  let dropped = 0;
  let working = false;
  let closed = false;
  let idleWaiters: (() => void)[] = [];
  let warnedMax = false;

  // The agent's own transient files (quarantine staging, restore in progress) are not user activity.
  const OWN = /\/\.vigil-q-[0-9A-Z]+$|\.vigil-restore-[0-9A-Z]+$/;
  const isExcluded = (p: string) => OWN.test(p) || exclude.some((e) => p === e || p.startsWith(e + sep));

  function watchDir(dir: string) {
    if (closed || watchers.has(dir) || isExcluded(dir)) return;
    if (watchers.size >= maxDirs) {
      if (!warnedMax) log(`file monitor: ${maxDirs} directories watched, not watching more (raise maxDirs)`);
      warnedMax = true;
      return;
    }
    try {
      const w = watch(dir, { persistent: false }, (_type, name) => {
        if (name) schedule(join(dir, name.toString()));
        else schedule(dir);
      });
      w.on('error', () => { w.close(); watchers.delete(dir); });
      watchers.set(dir, w);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') log(`cannot watch ${dir}: ${(error as Error).message}`);
    }
  }

  /** Watches dir and every folder under it; when reportFiles, the files found are reported as created. */
  async function walk(dir: string, reportFiles: boolean) {
    const stack = [dir];
    while (stack.length && !closed) {
      const d = stack.pop()!;
      watchDir(d);
      let entries;
      try { entries = await readdir(d, { withFileTypes: true }); } catch { continue; }
      for (const e of entries) {
        const full = join(d, e.name);
        if (e.isDirectory()) stack.push(full);
        else if (reportFiles && e.isFile()) enqueue(full);
      }
    }
  }

  function schedule(path: string) {
    if (closed || isExcluded(path)) return;
    const now = performance.now();
    const existing = timers.get(path);
    // Wait for writes to settle, but never more than 10 settle periods for a file written continuously.
    if (existing && now - existing.first > settleMs * 10) return;
    if (existing) timers.delete(path); // appended again below, with the latest due time
    timers.set(path, { due: now + settleMs, first: existing?.first ?? now });
    sweepTimer ??= setTimeout(sweep, settleMs);
  }

  function sweep() {
    sweepTimer = undefined;
    const now = performance.now();
    for (const [path, t] of timers) {
      // The next sweep no sooner than a quarter settle period from now: under a stream of new files, a few
      // paths per wake-up instead of one (each is handled at most settleMs / 4 later).
      if (t.due > now) { sweepTimer = setTimeout(sweep, Math.max(Math.ceil(settleMs / 4), Math.ceil(t.due - now))); return; }
      timers.delete(path);
      enqueue(path);
    }
  }

  function enqueue(path: string) {
    if (queued.has(path)) return;
    if (queue.length >= maxQueue) { dropped++; return; }
    queue.push(path);
    queued.add(path);
    if (!working) void work();
  }

  async function work() {
    working = true;
    try {
      while (queue.length && !closed) {
        const path = queue.shift()!;
        queued.delete(path);
        await handle(path).catch((error) => log(`file event ${path}: ${(error as Error).message}`));
      }
    } finally {
      working = false;
      if (!queue.length && !timers.size) { const w = idleWaiters; idleWaiters = []; for (const f of w) f(); }
    }
  }

  async function handle(path: string) {
    let info;
    try {
      info = lstatSync(path);
    } catch {
      const gone = known.get(path);
      if (gone) {
        known.delete(path);
        vanished.set(`${gone.dev}:${gone.ino}`, { path, at: Date.now() });
        if (vanished.size > 1000) vanished.delete(vanished.keys().next().value!);
      }
      // A watched directory that went away.
      const w = watchers.get(path);
      if (w) { w.close(); watchers.delete(path); }
      return;
    }
    if (info.isDirectory()) {
      if (!watchers.has(path)) await walk(path, true);
      return;
    }
    if (!info.isFile()) return;
    const before = known.get(path);
    const now: Known = { ino: info.ino, dev: info.dev, size: info.size, mtimeMs: info.mtimeMs };
    let action: FileEvent['action'];
    let previousPath: string | undefined;
    if (before && before.ino === info.ino) {
      if (before.size === info.size && before.mtimeMs === info.mtimeMs) return; // attribute change only
      action = 'FileModified';
    } else {
      const from = vanished.get(`${info.dev}:${info.ino}`);
      if (from && Date.now() - from.at < 5000) {
        vanished.delete(`${info.dev}:${info.ino}`);
        action = 'FileRenamed';
        previousPath = from.path;
      } else {
        const born = info.birthtimeMs || info.ctimeMs;
        action = !before && born < startedAt - 1000 && info.mtimeMs > born + 1000 ? 'FileModified' : 'FileCreated';
      }
    }
    known.set(path, now);
    if (known.size > 200_000) known.delete(known.keys().next().value!);
    const hashes = await hashFile(path, options.maxHashBytes, undefined, info).catch(() => undefined);
    await options.onEvent({ action, path, previousPath, hashes });
  }

  for (const p of options.paths) void walk(p.replace(/\/+$/, '') || '/', false).catch(() => {});

  return {
    get watchedDirs() { return watchers.size; },
    get droppedEvents() { return dropped; },
    idle() {
      if (!working && !queue.length && !timers.size) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
      clearTimeout(sweepTimer);
      sweepTimer = undefined;
      timers.clear();
      const w = idleWaiters; idleWaiters = []; for (const f of w) f();
    },
  };
}

export function splitPath(path: string): { folder: string; name: string } {
  return { folder: dirname(path), name: basename(path) };
}
