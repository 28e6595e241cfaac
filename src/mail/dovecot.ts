// A throw-away Dovecot IMAP server on a loopback port, for tests and `vigil demo`: passwd-file users, a master
// user for the gateway (Dovecot "master users": log in as `user*master`), maildir under `dir`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';

export interface DovecotUser { readonly name: string; readonly password: string }

export interface ThrowawayDovecotOptions {
  /** An empty folder that holds the configuration, the run state and the mail; the caller removes it. */
  readonly dir: string;
  readonly users: readonly DovecotUser[];
  /** The master user the gateway logs in with (`<user>*<master>`); default vigil-gateway / a random password. */
  readonly master?: DovecotUser;
  /** The dovecot binary (default: found on PATH or /usr/sbin/dovecot). */
  readonly binary?: string;
}

export interface ThrowawayDovecot {
  readonly imapPort: number;
  readonly master: DovecotUser;
  /** Dovecot's own log file (for diagnostics). */
  readonly logFile: string;
  close(): Promise<void>;
}

/** Where the dovecot binary is, or undefined when it is not installed (tests skip then). */
export function findDovecot(): string | undefined {
  for (const p of ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot', '/usr/bin/dovecot']) if (existsSync(p)) return p;
  try { return execFileSync('sh', ['-c', 'command -v dovecot'], { encoding: 'utf8' }).trim() || undefined; } catch { return undefined; }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function idOf(name: string, file: '/etc/passwd' | '/etc/group'): number | undefined {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

async function waitForGreeting(port: number, child: ChildProcess, logFile: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`dovecot exited with ${child.exitCode}: ${log}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.setTimeout(1000);
      sock.once('data', (d) => { sock.destroy(); resolve(d.toString().startsWith('* OK')); });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => { sock.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('dovecot did not answer on its IMAP port');
}

/**
 * Starts Dovecot in the foreground with a configuration of its own (nothing under /etc/dovecot is read).
 * As root, login processes run as `dovenull`, internal ones as `dovecot` and mail processes as `mail`
 * (the maildir is chowned to it); as another user, everything runs as that user.
 */
export async function startThrowawayDovecot(options: ThrowawayDovecotOptions): Promise<ThrowawayDovecot> {
  const binary = options.binary ?? findDovecot();
  if (!binary) throw new Error('dovecot is not installed (Debian: apt-get install dovecot-imapd)');
  const dir = options.dir;
  const master = options.master ?? { name: 'vigil-gateway', password: `m-${Math.random().toString(36).slice(2)}${Date.now()}` };
  const root = process.getuid?.() === 0;
  const me = root ? undefined : userInfo().username;
  const mailUid = root ? idOf('mail', '/etc/passwd') ?? 8 : process.getuid!();
  const mailGid = root ? idOf('mail', '/etc/group') ?? 8 : process.getgid!();
  for (const d of ['run', 'state', 'mail']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(dir, 0o755);
  // Dovecot's auth and mail processes (other users when we are root) must reach `dir`: a throw-away folder
  // under a private temporary folder (mkdtemp makes them 0700) gets search permission for others, nothing more.
  if (root) {
    const top = resolve(tmpdir());
    for (let p = dirname(resolve(dir)); ; p = dirname(p)) {
      const st = statSync(p);
      if ((st.mode & 0o001) === 0) {
        const ours = (p.startsWith(`${top}/`) || p === top) && st.uid === 0;
        if (!ours) throw new Error(`dovecot: ${p} is not searchable by Dovecot's users (mail, dovecot); put the throw-away folder under ${top}`);
        chmodSync(p, (st.mode & 0o7777) | 0o001);
      }
      if (p === dirname(p)) break;
    }
  }
  if (root) chownSync(join(dir, 'mail'), mailUid, mailGid);
  const port = await freePort();
  const logFile = join(dir, 'dovecot.log');
  writeFileSync(join(dir, 'users'), options.users.map((u) => `${u.name}:{PLAIN}${u.password}::::::\n`).join(''), { mode: 0o640 });
  writeFileSync(join(dir, 'masters'), `${master.name}:{PLAIN}${master.password}\n`, { mode: 0o640 });
  if (root) {
    const dovecotGid = idOf('dovecot', '/etc/group');
    if (dovecotGid !== undefined) { chownSync(join(dir, 'users'), 0, dovecotGid); chownSync(join(dir, 'masters'), 0, dovecotGid); }
  }
  const conf = `# throw-away configuration written by Vigil (src/mail/dovecot.ts)
base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
log_path = ${logFile}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_login_user = ${root ? 'dovenull' : me}
default_internal_user = ${root ? 'dovecot' : me}
default_internal_group = ${root ? 'dovecot' : me}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${join(dir, 'mail')}/%u
mail_uid = ${mailUid}
mail_gid = ${mailGid}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
passdb {
  driver = passwd-file
  master = yes
  args = scheme=PLAIN ${join(dir, 'masters')}
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${join(dir, 'users')}
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${join(dir, 'mail')}/%u
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
}
`;
  const confFile = join(dir, 'dovecot.conf');
  writeFileSync(confFile, conf);
  const child = spawn(binary, ['-F', '-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += String(d); });
  child.stdout?.resume();
  try {
    await waitForGreeting(port, child, logFile);
  } catch (error) {
    child.kill('SIGTERM');
    throw new Error(`${(error as Error).message} ${stderr}`);
  }
  let closed: Promise<void> | undefined;
  return {
    imapPort: port,
    master,
    logFile,
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) { resolve(); return; }
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
        child.kill('SIGTERM');
      });
      return closed;
    },
  };
}
