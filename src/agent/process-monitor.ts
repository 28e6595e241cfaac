import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, rmdir, writeFile, readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FileHashes, HashCache } from './hashes.js';
import type { ProcInfo, ProcReader } from './proc-info.js';

/** Which source reports process starts. */
export type ProcessSource = 'tracefs' | 'proc-sampling';

export interface ProcessMonitor {
  readonly source: ProcessSource;
  close(): Promise<void>;
  /** Known live processes (for stop_process by hash and the investigation package). */
  snapshot(): readonly ProcInfo[];
}

export interface ProcessMonitorOptions {
  readonly proc: ProcReader;
  readonly hashes: HashCache;
  readonly emit: (table: 'DeviceProcessEvents', row: Record<string, unknown>) => void;
  /** Called for every started process that has an executable, with its hashes (on-access scan of what runs). */
  readonly onExec?: (info: ProcInfo, exeHashes: Promise<FileHashes | undefined>) => void;
  /** 'auto' tries the kernel's sched_process_exec tracepoint first, then samples /proc. */
  readonly prefer?: 'auto' | ProcessSource;
  readonly sampleIntervalMs?: number;
  readonly tracingRoot?: string;
  readonly log?: (message: string) => void;
}

/**
 * One trace_pipe line: `<comm>-<tid> [cpu] <flags> <time>: <event>: <fields>`. The tid before the CPU column
 * is the task that caused the event (for task_newtask, the thread that forked).
 */
const TRACE_LINE = /-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]\s.*?\s(sched_process_exec|task_newtask|sched_process_fork): (.*)$/;
// Fields, matched from both ends: a file name or comm may contain spaces.
const EXEC_FIELDS = /^filename=(.*) pid=(\d+) old_pid=\d+$/;
const NEWTASK_FIELDS = /^pid=(\d+) /;
const FORK_FIELDS = / pid=(\d+) child_comm=.* child_pid=(\d+)$/;

/**
 * Process starts. Preferred source: the kernel's sched_process_exec tracepoint, read from a private
 * tracefs instance (every exec is seen, even of processes that live for a microsecond). Fallback:
 * sampling /proc every sampleIntervalMs (misses processes shorter than the interval and execs that do
 * not fork). Either way the command line, user and parent come from /proc at the moment of the event.
 */
export async function createProcessMonitor(options: ProcessMonitorOptions): Promise<ProcessMonitor> {
  const { proc, hashes, emit } = options;
  const log = options.log ?? (() => {});
  // exeHashes: the hashes of a process's executable once looked up (when it started, or became a parent),
  // kept for the children it starts: the image that runs does not change, and each look-up costs a stat.
  const table = new Map<number, ProcInfo & { seenAt: number; exeHashes?: Promise<FileHashes | undefined> }>();
  const forkParent = new Map<number, number>();
  let closed = false;

  async function infoOf(pid: number): Promise<(ProcInfo & { exeHashes?: Promise<FileHashes | undefined> }) | undefined> {
    const known = table.get(pid);
    if (known) return known;
    const info = await proc.read(pid);
    if (!info) return undefined;
    const entry = { ...info, seenAt: Date.now() };
    table.set(pid, entry);
    return entry;
  }

  async function report(info: ProcInfo, extra: Record<string, unknown> = {}) {
    const selfHashes = info.exe ? hashes.get(info.exe) : undefined;
    table.set(info.pid, { ...info, seenAt: Date.now(), exeHashes: selfHashes });
    if (selfHashes) options.onExec?.(info, selfHashes);
    const parent = info.ppid > 0 ? await infoOf(info.ppid) : undefined;
    const grand = parent && parent.ppid > 0 ? await infoOf(parent.ppid) : undefined;
    const [self, parentHashes] = await Promise.all([
      selfHashes,
      parent?.exe ? (parent.exeHashes ??= hashes.get(parent.exe)) : undefined,
    ]);
    emit('DeviceProcessEvents', {
      Timestamp: info.startTime,
      ActionType: 'ProcessCreated',
      FileName: basename(info.exe || info.comm),
      FolderPath: info.exe || null,
      SHA256: self?.sha256 ?? null, SHA1: self?.sha1 ?? null, MD5: self?.md5 ?? null, FileSize: self?.size ?? null,
      ProcessId: info.pid,
      ProcessCommandLine: info.cmdline,
      ProcessCreationTime: info.startTime,
      AccountName: info.uid >= 0 ? info.user : null, AccountDomain: null, AccountSid: info.uid >= 0 ? String(info.uid) : null,
      InitiatingProcessId: info.ppid,
      InitiatingProcessFileName: parent ? basename(parent.exe || parent.comm) : null,
      InitiatingProcessFolderPath: parent?.exe || null,
      InitiatingProcessCommandLine: parent?.cmdline ?? null,
      InitiatingProcessCreationTime: parent?.startTime ?? null,
      InitiatingProcessAccountName: parent && parent.uid >= 0 ? parent.user : null,
      InitiatingProcessAccountSid: parent && parent.uid >= 0 ? String(parent.uid) : null,
      InitiatingProcessSHA256: parentHashes?.sha256 ?? null, InitiatingProcessSHA1: parentHashes?.sha1 ?? null,
      InitiatingProcessMD5: parentHashes?.md5 ?? null, InitiatingProcessFileSize: parentHashes?.size ?? null,
      InitiatingProcessParentId: parent?.ppid ?? null,
      InitiatingProcessParentFileName: grand ? basename(grand.exe || grand.comm) : null,
      InitiatingProcessParentCreationTime: grand?.startTime ?? null,
      AdditionalFields: { Source: source, ...extra },
    });
  }

  // Keep the process table bounded: forget processes that are gone and were seen a while ago.
  async function prune() {
    const live = new Set(await proc.listPids());
    const cutoff = Date.now() - 60_000;
    for (const [pid, p] of table) if (!live.has(pid) && p.seenAt < cutoff) table.delete(pid);
    if (forkParent.size > 20_000) forkParent.clear();
  }

  let source: ProcessSource = 'proc-sampling';
  let tracer: { child: ChildProcess; instance: string; fork: string } | undefined;
  if (options.prefer !== 'proc-sampling') {
    tracer = await startTracefs(options.tracingRoot ?? '/sys/kernel/tracing', log).catch((error) => {
      log(`kernel process events unavailable (${(error as Error).message}); sampling /proc instead`);
      return undefined;
    });
    if (tracer) source = 'tracefs';
  }

  // Existing processes: known, not reported as new.
  for (const pid of await proc.listPids()) {
    const info = await proc.read(pid);
    if (info) table.set(pid, { ...info, seenAt: Date.now() });
  }

  const timers: NodeJS.Timeout[] = [];
  function startSampling() {
    const interval = options.sampleIntervalMs ?? 100;
    let busy = false;
    const timer = setInterval(async () => {
      if (busy || closed) return;
      busy = true;
      try {
        const pids = await proc.listPids();
        const live = new Set(pids);
        for (const pid of pids) {
          if (table.has(pid)) continue;
          const info = await proc.read(pid);
          if (!info || info.ppid === 2 || pid === 2) continue; // kernel threads
          await report(info);
        }
        for (const [pid, p] of table) if (!live.has(pid) && p.seenAt < Date.now() - 60_000) table.delete(pid);
      } catch (error) {
        log(`process sampling failed: ${(error as Error).message}`);
      } finally {
        busy = false;
      }
    }, interval);
    timer.unref();
    timers.push(timer);
  }

  if (tracer) {
    let chain = Promise.resolve();
    const onTraceLine = (line: string) => {
      const m = TRACE_LINE.exec(line);
      if (!m) return;
      if (m[2] === 'task_newtask') {
        const f = NEWTASK_FIELDS.exec(m[3]);
        if (f) forkParent.set(Number(f[1]), Number(m[1]));
        return;
      }
      if (m[2] === 'sched_process_fork') {
        const f = FORK_FIELDS.exec(m[3]);
        if (f) forkParent.set(Number(f[2]), Number(f[1]));
        return;
      }
      const f = EXEC_FIELDS.exec(m[3]);
      if (!f) return;
      const pid = Number(f[2]);
      const filename = f[1];
      // Read /proc at once (before the process may exit); report in order.
      const reading = proc.read(pid);
      chain = chain.then(async () => {
        const info = await reading;
        if (info) {
          await report(info);
        } else {
          const ppid = forkParent.get(pid) ?? 0;
          await report({
            pid, ppid, comm: basename(filename), exe: filename, cmdline: filename, uid: -1, user: '',
            startTime: new Date().toISOString(), startTicks: 0,
          }, { CommandLineUnavailable: true });
        }
      }).catch((error) => log(`process event failed: ${(error as Error).message}`));
    };
    // Lines split here (readline's machinery costs more than the handling of a line).
    let rest = '';
    tracer.child.stdout!.setEncoding('utf8');
    tracer.child.stdout!.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      for (const line of lines) onTraceLine(line);
    });
    // If the trace reader dies, sampling takes over rather than leaving the device without process events.
    tracer.child.on('exit', () => {
      if (closed) return;
      log('kernel process events stopped; sampling /proc from now on');
      source = 'proc-sampling';
      startSampling();
    });
    timers.push(setInterval(() => void prune().catch(() => {}), 30_000));
  } else {
    startSampling();
  }
  for (const t of timers) t.unref();

  return {
    get source() { return source; },
    snapshot: () => [...table.values()],
    async close() {
      closed = true;
      for (const t of timers) clearInterval(t);
      if (tracer) await stopTracefs(tracer);
    },
  };
}

async function startTracefs(root: string, log: (m: string) => void): Promise<{ child: ChildProcess; instance: string; fork: string }> {
  try {
    await access(`${root}/instances`);
  } catch {
    // tracefs not mounted: mount it (root only). Failure means no kernel events here.
    await mkdir(root, { recursive: true }).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const m = spawn('mount', ['-t', 'tracefs', 'nodev', root], { stdio: 'ignore' });
      m.on('error', reject);
      m.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mount tracefs exited ${code}`))));
    });
    await access(`${root}/instances`);
  }
  // Remove instances left by an agent that died without cleaning up.
  for (const name of await readdir(`${root}/instances`).catch(() => [] as string[])) {
    if (name.startsWith('vigil-agent-') && !(await access(`/proc/${name.slice(12)}`).then(() => true, () => false))) {
      await rmdir(`${root}/instances/${name}`).catch(() => {});
    }
  }
  const instance = `${root}/instances/vigil-agent-${process.pid}`;
  await mkdir(instance).catch((e) => { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; });
  await writeFile(`${instance}/buffer_size_kb`, '1024');
  await writeFile(`${instance}/events/sched/sched_process_exec/enable`, '1');
  // The parent of each new process, for a process gone before /proc was read. task_newtask filtered in the
  // kernel to new processes (not CLONE_THREAD, 0x10000): sched_process_fork would also report every thread
  // started on the machine, often ten times as many lines. Kernels without that filter syntax get the latter.
  const fork = await writeFile(`${instance}/events/task/task_newtask/filter`, '!(clone_flags & 65536)')
    .then(() => 'task/task_newtask', () => 'sched/sched_process_fork');
  await writeFile(`${instance}/events/${fork}/enable`, '1');
  const child = spawn('cat', [`${instance}/trace_pipe`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.on('exit', (code, signal) => { if (signal !== 'SIGTERM') log(`trace_pipe reader exited (${code ?? signal})`); });
  return { child, instance, fork };
}

async function stopTracefs({ child, instance, fork }: { child: ChildProcess; instance: string; fork: string }) {
  child.kill('SIGTERM');
  await writeFile(`${instance}/events/sched/sched_process_exec/enable`, '0').catch(() => {});
  await writeFile(`${instance}/events/${fork}/enable`, '0').catch(() => {});
  // The instance can be removed once its reader has gone.
  for (let i = 0; i < 20; i++) {
    try { await rmdir(instance); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
}
