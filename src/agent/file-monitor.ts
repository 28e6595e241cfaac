import { lstatSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { hashFile, hashSmallFileSync, type FileHashes } from './hashes.js';

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
  /** Called in order, one event at a time: the next waits while a returned promise is pending. */
  readonly onEvent: (event: FileEvent) => Promise<unknown> | void;
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
  const maxHashBytes = options.maxHashBytes ?? 512 * 1024 * 1024;
  const exclude = (options.exclude ?? []).map((p) => p.replace(/\/+$/, ''));
  const excluded = new Set(exclude);
  const excludedPrefixes = exclude.map((e) => e + sep);
  const startedAt = Date.now();
  const watchers = new Map<string, FSWatcher>();
  const known = new Map<string, Known>();
  const vanished = new Map<string, { path: string; at: number }>(); // dev:ino → where it was
  // Paths waiting for their writes to settle, in the order they are due (every (re)schedule appends with the
  // same delay). Those due are taken whenever the monitor wakes for a file event anyway; one timer, set for
  // the first path due (a little later: a stream of events usually takes it first), takes them otherwise.
  // Under a stream of new files the monitor then wakes for inotify and for nothing else.
  const timers = new Map<string, { due: number; first: number }>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweepAt = Infinity;
  // Half a settle period: a stream of new files written in clumps (a busy writer) has its gaps within it, so
  // the timer fires only when the stream stops; a path is handled at most 1.5 settle periods after its last change.
  const slackMs = Math.ceil(settleMs / 2);
  const queue: string[] = [];
  const queued = new Set<string>();
  let dropped = 0;
  let working = false;
  let closed = false;
  let idleWaiters: (() => void)[] = [];
  let warnedMax = false;

  // The agent's own transient files (quarantine staging, restore in progress) are not user activity.
  const OWN = /\/\.vigil-q-[0-9A-Z]+$|\.vigil-restore-[0-9A-Z]+$/;
  const isOwn = (p: string) => p.includes('.vigil-') && OWN.test(p);
  const isExcluded = (p: string) => isOwn(p) || excluded.has(p) || excludedPrefixes.some((e) => p.startsWith(e));

  function watchDir(dir: string) {
    if (closed || watchers.has(dir) || isExcluded(dir)) return;
    if (watchers.size >= maxDirs) {
      if (!warnedMax) log(`file monitor: ${maxDirs} directories watched, not watching more (raise maxDirs)`);
      warnedMax = true;
      return;
    }
    // An entry of a watched folder is excluded only as itself (a folder under an excluded one is never
    // watched) or as the agent's own file: no prefix test per event.
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    try {
      const w = watch(dir, { persistent: false }, (_type, name) => {
        if (!name) { schedule(dir); return; }
        const path = prefix + name;
        if (!isOwn(path) && !excluded.has(path)) schedule(path, true);
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

  function schedule(path: string, checked = false) {
    if (closed || (!checked && isExcluded(path))) return;
    const now = performance.now();
    const existing = timers.get(path);
    if (existing) {
      // Wait for writes to settle, but never more than 10 settle periods for a file written continuously.
      if (now - existing.first <= settleMs * 10) {
        timers.delete(path); // appended again, with the latest due time
        existing.due = now + settleMs;
        timers.set(path, existing);
      }
    } else {
      timers.set(path, { due: now + settleMs, first: now });
    }
    takeDue(now);
  }

  /** Enqueues the paths due, then sets the timer for the next one (unless it is set for then already). */
  function takeDue(now: number) {
    let next = Infinity;
    for (const [path, t] of timers) {
      if (t.due > now) { next = t.due; break; }
      timers.delete(path);
      enqueue(path);
    }
    if (next === Infinity) {
      if (sweepTimer) { clearTimeout(sweepTimer); sweepTimer = undefined; sweepAt = Infinity; }
      return;
    }
    // The next path due is handled at the first event after it, or by the timer soon after.
    const at = next + slackMs;
    if (sweepTimer && sweepAt <= at && sweepAt > next) return;
    clearTimeout(sweepTimer);
    sweepAt = at;
    sweepTimer = setTimeout(sweep, Math.max(1, Math.ceil(at - now)));
  }

  function sweep() {
    sweepTimer = undefined;
    sweepAt = Infinity;
    // A timer may fire a fraction of a millisecond before the time it was set for.
    if (!closed) takeDue(performance.now() + 1);
  }

  function enqueue(path: string) {
    if (queued.has(path)) return;
    if (queue.length >= maxQueue) { dropped++; return; }
    queue.push(path);
    queued.add(path);
    if (!working) void work();
  }

  /** Handles the queue in order: synchronously while each event is handled so, waiting where one is not. */
  function work(): void {
    working = true;
    while (queue.length && !closed) {
      const path = queue.shift()!;
      queued.delete(path);
      let pending: Promise<unknown> | void;
      try {
        pending = handle(path);
      } catch (error) {
        log(`file event ${path}: ${(error as Error).message}`);
        continue;
      }
      if (pending) {
        pending.catch((error) => log(`file event ${path}: ${(error as Error).message}`)).then(work, work);
        return;
      }
    }
    working = false;
    if (!queue.length && !timers.size) { const w = idleWaiters; idleWaiters = []; for (const f of w) f(); }
  }

  function handle(path: string): Promise<unknown> | void {
    let info: Stats | undefined;
    try { info = lstatSync(path, { throwIfNoEntry: false }); } catch { /* not reachable any more */ }
    if (!info) {
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
      if (!watchers.has(path)) return walk(path, true);
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
      const from = vanished.size ? vanished.get(`${info.dev}:${info.ino}`) : undefined;
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
    // Small files (most new files) are read and hashed here and now, with the lstat just taken; others (empty
    // ones too: a size of 0 may be a pseudo file) through hashFile.
    if (info.size > maxHashBytes) return options.onEvent({ action, path, previousPath });
    let hashes: FileHashes | undefined;
    try { hashes = hashSmallFileSync(path, info); } catch { return options.onEvent({ action, path, previousPath }); }
    if (hashes) return options.onEvent({ action, path, previousPath, hashes });
    return hashFile(path, maxHashBytes, undefined, info).catch(() => undefined)
      .then((h) => options.onEvent({ action, path, previousPath, hashes: h }));
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
      sweepAt = Infinity;
      timers.clear();
      const w = idleWaiters; idleWaiters = []; for (const f of w) f();
    },
  };
}

export function splitPath(path: string): { folder: string; name: string } {
  return { folder: dirname(path), name: basename(path) };
}
