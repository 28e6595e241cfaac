import { stat } from 'node:fs/promises';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { createIsoClock } from './iso-time.js';

/** What /proc says about one process. */
export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** Executable path ('' when unreadable, e.g. a kernel thread or an exited process). */
  readonly exe: string;
  readonly cmdline: string;
  readonly uid: number;
  readonly user: string;
  /** Process start, ISO 8601 UTC. */
  readonly startTime: string;
  /** Start in clock ticks since boot: with the pid it identifies the process even after pid reuse. */
  readonly startTicks: number;
}

const CLK_TCK = 100; // USER_HZ is 100 on every Linux ABI Node runs on.

export interface ProcReader {
  read(pid: number): Promise<ProcInfo | undefined>;
  userName(uid: number): string;
  listPids(): Promise<number[]>;
  readonly bootTimeMs: number;
}

/**
 * A small /proc file as text, read through one buffer kept for the purpose: readFileSync allocates 64 KB
 * per read of a file whose size the kernel does not tell (all of /proc), and fstats it first.
 */
function createProcTextReader(): (path: string) => string {
  const scratch = Buffer.allocUnsafeSlow(16 * 1024);
  return (path) => {
    const fd = openSync(path, 'r');
    try {
      let n = 0;
      for (;;) {
        const got = readSync(fd, scratch, n, scratch.length - n, null);
        if (got === 0) return scratch.toString('utf8', 0, n);
        n += got;
        if (n === scratch.length) return scratch.toString('utf8', 0, n) + readFileSync(fd, 'utf8'); // a long command line
      }
    } finally {
      closeSync(fd);
    }
  };
}

/**
 * When the machine booted, in ms since the epoch: now less /proc/uptime (10 ms resolution), so process
 * start times are right to about 10 ms. /proc/stat's btime (whole seconds, rounded down, so start times up
 * to a second early) only when uptime cannot be read.
 */
function bootTime(procRoot: string): number {
  try {
    const uptime = Number(readFileSync(`${procRoot}/uptime`, 'utf8').split(' ')[0]);
    if (Number.isFinite(uptime) && uptime > 0) return Date.now() - uptime * 1000;
  } catch { /* no uptime: btime below */ }
  return Number(/^btime (\d+)$/m.exec(readFileSync(`${procRoot}/stat`, 'utf8'))?.[1] ?? 0) * 1000;
}

export function createProcReader(procRoot = '/proc'): ProcReader {
  const readProcText = createProcTextReader();
  const clock = createIsoClock();
  const bootTimeMs = bootTime(procRoot);
  let users = new Map<number, string>();
  let passwdMtime = -1;
  let passwdCheckedAt = 0;
  function userName(uid: number): string {
    try {
      // /etc/passwd is looked at again at most once a second (a burst of process starts needs it once).
      const now = Date.now();
      if (now - passwdCheckedAt < 1000 && users.has(uid)) return users.get(uid)!;
      passwdCheckedAt = now;
      const m = statSync('/etc/passwd').mtimeMs;
      if (m !== passwdMtime) {
        passwdMtime = m;
        users = new Map();
        for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
          const f = line.split(':');
          if (f.length >= 3) users.set(Number(f[2]), f[0]);
        }
      }
    } catch { /* no passwd: numeric names */ }
    return users.get(uid) ?? String(uid);
  }
  return {
    bootTimeMs,
    userName,
    async listPids() {
      return readdirSync(procRoot).filter((n) => /^\d+$/.test(n)).map(Number);
    },
    async read(pid) {
      try {
        // /proc files live in memory: synchronous reads cost microseconds, far less than a thread-pool round trip.
        const statText = readProcText(`${procRoot}/${pid}/stat`);
        const cmdText = readProcText(`${procRoot}/${pid}/cmdline`);
        const owner = statSync(`${procRoot}/${pid}`);
        // comm may contain spaces and parentheses: the fields after it start at the last ')'.
        const close = statText.lastIndexOf(')');
        const comm = statText.slice(statText.indexOf('(') + 1, close);
        const fields = statText.slice(close + 2).split(' ');
        const ppid = Number(fields[1]);
        const startTicks = Number(fields[19]);
        const uid = owner.uid; // /proc/<pid> belongs to the process's effective user
        let exe = '';
        try { exe = readlinkSync(`${procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, ''); } catch { /* kernel thread or gone */ }
        const args = cmdText.length ? cmdText.replace(/\0+$/, '').split('\0') : [];
        return {
          pid, ppid, comm, exe, uid, user: userName(uid), startTicks,
          cmdline: args.map(quoteArg).join(' '),
          startTime: clock.iso(bootTimeMs + (startTicks * 1000) / CLK_TCK),
        };
      } catch {
        return undefined;
      }
    },
  };
}

function quoteArg(arg: string): string {
  return arg === '' || /[\s"'\\]/.test(arg) ? `"${arg.replace(/(["\\])/g, '\\$1')}"` : arg;
}

/** The time a process started, from the file system, when /proc/<pid>/stat is unreadable. */
export async function pidExists(pid: number): Promise<boolean> {
  try { await stat(`/proc/${pid}`); return true; } catch { return false; }
}
