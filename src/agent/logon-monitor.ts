import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** A sign-in seen in the auth log, as DeviceLogonEvents columns (without the common ones). */
export interface LogonRecord {
  readonly ActionType: 'LogonSuccess' | 'LogonFailed';
  readonly LogonType: string;
  readonly AccountName: string;
  readonly Protocol?: string;
  readonly FailureReason?: string;
  readonly RemoteIP?: string;
  readonly RemotePort?: number;
  readonly InitiatingProcessFileName: string;
  readonly InitiatingProcessId?: number;
  readonly IsLocalAdmin?: boolean;
  readonly AdditionalFields?: Record<string, unknown>;
}

const SSH_OK = /^Accepted (\S+) for (\S+) from (\S+) port (\d+)/;
const SSH_FAIL = /^Failed (\S+) for (invalid user )?(\S+) from (\S+) port (\d+)/;
const PAM_OPEN = /^pam_unix\((login|su|su-l|sudo|sshd|gdm-password|lightdm|sddm):session\): session opened for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*))?/;
const PAM_FAIL = /^pam_unix\((login|su|su-l|sudo|gdm-password|lightdm|sddm):auth\): authentication failure;.*?(?:\buser=(\S+))?$/;
const SU_FAIL = /^FAILED SU \(to (\S+)\) (\S+) on/;

/**
 * Parses one auth-log message (sshd, login, su, sudo, display managers) into a logon record, or
 * undefined when the message is not a sign-in. `program` is the syslog identifier (sshd, su, …).
 */
export function parseAuthMessage(program: string, message: string, pid?: number): LogonRecord | undefined {
  let m = SSH_OK.exec(message);
  if (m && program.startsWith('sshd')) {
    return {
      ActionType: 'LogonSuccess', LogonType: 'Network', AccountName: m[2], Protocol: 'ssh', RemoteIP: m[3], RemotePort: Number(m[4]),
      InitiatingProcessFileName: 'sshd', InitiatingProcessId: pid, AdditionalFields: { AuthenticationMethod: m[1] }, IsLocalAdmin: m[2] === 'root',
    };
  }
  m = SSH_FAIL.exec(message);
  if (m && program.startsWith('sshd')) {
    return {
      ActionType: 'LogonFailed', LogonType: 'Network', AccountName: m[3], Protocol: 'ssh', RemoteIP: m[4], RemotePort: Number(m[5]),
      FailureReason: m[2] ? 'UnknownUser' : 'InvalidUserNameOrPassword', InitiatingProcessFileName: 'sshd', InitiatingProcessId: pid,
      AdditionalFields: { AuthenticationMethod: m[1] },
    };
  }
  m = PAM_OPEN.exec(message);
  if (m && m[1] !== 'sshd') {
    const service = m[1];
    return {
      ActionType: 'LogonSuccess', LogonType: service === 'su' || service === 'su-l' || service === 'sudo' ? 'Elevation' : 'Interactive',
      AccountName: m[2], InitiatingProcessFileName: program, InitiatingProcessId: pid, IsLocalAdmin: m[3] === '0' || m[2] === 'root',
      AdditionalFields: { Service: service, ...(m[4] ? { By: m[4] } : {}) },
    };
  }
  m = PAM_FAIL.exec(message);
  if (m) {
    return {
      ActionType: 'LogonFailed', LogonType: m[1] === 'su' || m[1] === 'su-l' || m[1] === 'sudo' ? 'Elevation' : 'Interactive',
      AccountName: m[2] ?? '', FailureReason: 'InvalidUserNameOrPassword', InitiatingProcessFileName: program, InitiatingProcessId: pid,
      AdditionalFields: { Service: m[1] },
    };
  }
  m = SU_FAIL.exec(message);
  if (m) {
    return {
      ActionType: 'LogonFailed', LogonType: 'Elevation', AccountName: m[1], FailureReason: 'InvalidUserNameOrPassword',
      InitiatingProcessFileName: program, InitiatingProcessId: pid, AdditionalFields: { By: m[2] },
    };
  }
  return undefined;
}

const SYSLOG_RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s+\S+\s+([\w.@/-]+?)(?:\[(\d+)\])?:\s(.*)$/;
const SYSLOG_BSD = /^([A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d)\s+\S+\s+([\w.@/-]+?)(?:\[(\d+)\])?:\s(.*)$/;

/** A syslog line of /var/log/auth.log (RFC 3339 or BSD time stamps) → time, program, pid, message. */
export function parseSyslogLine(line: string, now = new Date()): { time: string; program: string; pid?: number; message: string } | undefined {
  let m = SYSLOG_RFC3339.exec(line);
  if (m) return { time: new Date(m[1]).toISOString(), program: m[2], pid: m[3] ? Number(m[3]) : undefined, message: m[4] };
  m = SYSLOG_BSD.exec(line);
  if (m) {
    // BSD stamps have no year: take this year, or last year for a December line read in January.
    let t = new Date(`${m[1]} ${now.getUTCFullYear()} UTC`);
    if (t.getTime() > now.getTime() + 86_400_000) t = new Date(`${m[1]} ${now.getUTCFullYear() - 1} UTC`);
    return { time: Number.isNaN(t.getTime()) ? now.toISOString() : t.toISOString(), program: m[2], pid: m[3] ? Number(m[3]) : undefined, message: m[4] };
  }
  return undefined;
}

export interface LogonMonitor {
  readonly source: 'auth-log' | 'journal' | 'none';
  close(): void;
}

export interface LogonMonitorOptions {
  readonly emit: (table: 'DeviceLogonEvents', row: Record<string, unknown>) => void;
  /** Auth logs to follow, first existing wins. */
  readonly authLogs?: readonly string[];
  readonly intervalMs?: number;
  readonly log?: (message: string) => void;
}

/** Follows the auth log (from its end) or, where there is none, the systemd journal's auth facilities. */
export async function createLogonMonitor(options: LogonMonitorOptions): Promise<LogonMonitor> {
  const log = options.log ?? (() => {});
  const emitRecord = (time: string, r: LogonRecord) => options.emit('DeviceLogonEvents', { Timestamp: time, ...r });
  for (const file of options.authLogs ?? ['/var/log/auth.log', '/var/log/secure']) {
    let info;
    try { info = await stat(file); } catch { continue; }
    if (!info.isFile()) continue;
    let offset = info.size;
    let ino = info.ino;
    let partial = '';
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        // A stat of a local file costs microseconds: taken here, not through the thread pool (a round trip
        // and a second wake-up every second, whether the log grew or not).
        let now;
        try { now = statSync(file, { throwIfNoEntry: false }); } catch { return; }
        if (!now) return;
        if (now.ino !== ino || now.size < offset) { ino = now.ino; offset = 0; partial = ''; } // rotated or truncated
        if (now.size === offset) return;
        const handle = await open(file, 'r');
        try {
          const length = Math.min(now.size - offset, 4 * 1024 * 1024);
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          offset += bytesRead;
          const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
          const lines = text.split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            const s = parseSyslogLine(line);
            const r = s && parseAuthMessage(s.program, s.message, s.pid);
            if (s && r) emitRecord(s.time, r);
          }
        } finally {
          await handle.close();
        }
      } catch (error) {
        log(`auth log ${file}: ${(error as Error).message}`);
      } finally {
        busy = false;
      }
    }, options.intervalMs ?? 1000);
    timer.unref();
    return { source: 'auth-log', close: () => clearInterval(timer) };
  }
  const journalHasFiles = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).length > 0;
  if ((await journalHasFiles('/var/log/journal')) || (await journalHasFiles('/run/log/journal'))) {
    let child: ChildProcess | undefined;
    try {
      child = spawn('journalctl', ['-f', '-o', 'json', '-n', '0', 'SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'], { stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve, reject) => { child!.once('spawn', resolve); child!.once('error', reject); });
    } catch (error) {
      log(`journalctl unavailable: ${(error as Error).message}`);
      child = undefined;
    }
    if (child) {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const e = JSON.parse(line) as Record<string, string>;
          const message = typeof e.MESSAGE === 'string' ? e.MESSAGE : '';
          const r = parseAuthMessage(e.SYSLOG_IDENTIFIER ?? '', message, e._PID ? Number(e._PID) : undefined);
          const time = e.__REALTIME_TIMESTAMP ? new Date(Number(e.__REALTIME_TIMESTAMP) / 1000).toISOString() : new Date().toISOString();
          if (r) emitRecord(time, r);
        } catch { /* not JSON */ }
      });
      const c = child;
      return { source: 'journal', close: () => { c.kill('SIGTERM'); } };
    }
  }
  log('no auth log or journal: DeviceLogonEvents are not collected');
  return { source: 'none', close: () => {} };
}
