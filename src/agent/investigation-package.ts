import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ProcReader } from './proc-info.js';
import { readSockets, socketOwners } from './network-monitor.js';

/** Where Linux starts things by itself: the autorun locations the package lists and remove_persistence accepts. */
export const AUTORUN_LOCATIONS: readonly { category: string; pattern: RegExp }[] = [
  { category: 'cron', pattern: /^\/etc\/crontab$|^\/etc\/cron\.(d|hourly|daily|weekly|monthly)\/[^/]+$|^\/var\/spool\/cron\/(crontabs\/)?[^/]+$|^\/etc\/anacrontab$/ },
  { category: 'systemd', pattern: /^\/etc\/systemd\/(system|user)\/.+\.(service|timer|socket|path)$|^\/(home\/[^/]+|root)\/\.config\/systemd\/user\/.+\.(service|timer|socket|path)$/ },
  { category: 'shell-profile', pattern: /^\/etc\/(profile|bash\.bashrc|environment|zsh\/zshrc|zshrc)$|^\/etc\/profile\.d\/[^/]+$|^\/(home\/[^/]+|root)\/\.(bashrc|profile|bash_profile|bash_login|bash_logout|zshrc|zprofile)$/ },
  { category: 'xdg-autostart', pattern: /^\/etc\/xdg\/autostart\/[^/]+\.desktop$|^\/(home\/[^/]+|root)\/\.config\/autostart\/[^/]+\.desktop$/ },
  { category: 'init', pattern: /^\/etc\/rc\.local$|^\/etc\/init\.d\/[^/]+$|^\/etc\/ld\.so\.preload$/ },
];

export function autorunCategory(path: string): string | undefined {
  return AUTORUN_LOCATIONS.find((l) => l.pattern.test(path))?.category;
}

async function homes(): Promise<string[]> {
  const list = ['/root'];
  for (const name of await readdir('/home').catch(() => [] as string[])) list.push(`/home/${name}`);
  return list;
}

/** Every existing file in the autorun locations. */
export async function listAutoruns(): Promise<{ category: string; path: string }[]> {
  const candidates = ['/etc/crontab', '/etc/anacrontab', '/etc/profile', '/etc/bash.bashrc', '/etc/environment', '/etc/zsh/zshrc', '/etc/rc.local', '/etc/ld.so.preload'];
  const dirs = ['/etc/cron.d', '/etc/cron.hourly', '/etc/cron.daily', '/etc/cron.weekly', '/etc/cron.monthly', '/var/spool/cron/crontabs', '/var/spool/cron',
    '/etc/profile.d', '/etc/xdg/autostart', '/etc/init.d'];
  for (const h of await homes()) {
    for (const f of ['.bashrc', '.profile', '.bash_profile', '.bash_login', '.bash_logout', '.zshrc', '.zprofile']) candidates.push(`${h}/${f}`);
    dirs.push(`${h}/.config/autostart`);
  }
  for (const d of dirs) for (const n of await readdir(d).catch(() => [] as string[])) candidates.push(`${d}/${n}`);
  const systemdRoots = ['/etc/systemd/system', '/etc/systemd/user', ...(await homes()).map((h) => `${h}/.config/systemd/user`)];
  for (const root of systemdRoots) {
    const stack = [root];
    while (stack.length) {
      const d = stack.pop()!;
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        const full = `${d}/${e.name}`;
        if (e.isDirectory()) stack.push(full);
        else candidates.push(full);
      }
    }
  }
  const out: { category: string; path: string }[] = [];
  for (const path of candidates) {
    const category = autorunCategory(path);
    if (!category) continue;
    const st = await lstat(path).catch(() => undefined);
    if (st && (st.isFile() || st.isSymbolicLink())) out.push({ category, path });
  }
  return out;
}

async function tail(path: string, bytes: number): Promise<Buffer | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', () => resolve({ code: -1, stdout: Buffer.alloc(0) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(parts) }));
  });
}

async function listTree(root: string, limit: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const stack = [root];
  while (stack.length && out.length < limit) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = join(d, e.name);
      const st = await lstat(full).catch(() => undefined);
      if (!st) continue;
      out.push({ path: full, type: e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : e.isFile() ? 'file' : 'other', size: st.size, mode: (st.mode & 0o7777).toString(8), uid: st.uid, mtime: st.mtime.toISOString() });
      if (e.isDirectory()) stack.push(full);
      if (out.length >= limit) break;
    }
  }
  return out;
}

export interface PackageResult {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly entries: readonly string[];
  cleanup(): Promise<void>;
}

/**
 * Collects an investigation package: processes, network connections, users and groups, autoruns (cron,
 * systemd units, shell profiles, XDG autostart, init scripts — listed and copied), recent logs and
 * listings of the temporary folders, as a tar.gz.
 */
export async function collectInvestigationPackage(options: { proc: ProcReader; device: Record<string, unknown>; tempDirs?: readonly string[] }): Promise<PackageResult> {
  const work = await mkdtemp(join(tmpdir(), 'vigil-package-'));
  const root = join(work, 'package');
  await mkdir(root, { mode: 0o700 });
  const put = async (name: string, data: string | Buffer) => {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), data, { mode: 0o600 });
  };

  const processes = [];
  for (const pid of await options.proc.listPids()) {
    const p = await options.proc.read(pid);
    if (p) processes.push(p);
  }
  await put('processes.json', JSON.stringify(processes, null, 1));

  const sockets = await readSockets();
  const owners = await socketOwners(new Set(sockets.map((s) => s.inode).filter((i) => i)));
  await put('connections.json', JSON.stringify(sockets.map((s) => ({ ...s, pid: owners.get(s.inode) ?? null })), null, 1));

  for (const f of ['/etc/passwd', '/etc/group']) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text !== undefined) await put(`users/${f.slice(5)}`, text);
  }
  const who = await run('who', []);
  if (who.code === 0) await put('users/who.txt', who.stdout);
  const last = await run('last', ['-n', '100']);
  if (last.code === 0) await put('users/last.txt', last.stdout);

  const autoruns = await listAutoruns();
  const autorunList = [];
  for (const a of autoruns) {
    const st = await lstat(a.path);
    let sha256: string | undefined;
    if (st.isFile() && st.size <= 1024 * 1024) {
      const data = await readFile(a.path).catch(() => undefined);
      if (data) {
        sha256 = createHash('sha256').update(data).digest('hex');
        await put(`autoruns/files${a.path}`, data);
      }
    }
    autorunList.push({ ...a, size: st.size, mode: (st.mode & 0o7777).toString(8), uid: st.uid, mtime: st.mtime.toISOString(), sha256 });
  }
  await put('autoruns/autoruns.json', JSON.stringify(autorunList, null, 1));
  const timers = await run('systemctl', ['list-timers', '--all', '--no-pager']);
  if (timers.code === 0) await put('autoruns/systemd-timers.txt', timers.stdout);
  const units = await run('systemctl', ['list-unit-files', '--state=enabled', '--no-pager']);
  if (units.code === 0) await put('autoruns/systemd-enabled.txt', units.stdout);

  for (const log of ['/var/log/auth.log', '/var/log/secure', '/var/log/syslog', '/var/log/messages', '/var/log/kern.log', '/var/log/audit/audit.log']) {
    const data = await tail(log, 1024 * 1024);
    if (data) await put(`logs${log.slice(8)}`, data);
  }
  const journal = await run('journalctl', ['-n', '2000', '--no-pager', '-o', 'short-iso']);
  if (journal.code === 0 && journal.stdout.length) await put('logs/journal.txt', journal.stdout);

  const temps: Record<string, unknown> = {};
  for (const d of options.tempDirs ?? ['/tmp', '/var/tmp', '/dev/shm']) temps[d] = await listTree(d, 20_000);
  await put('temp-listings.json', JSON.stringify(temps, null, 1));
  await put('manifest.json', JSON.stringify({ collectedAt: new Date().toISOString(), device: options.device }, null, 1));

  const file = join(work, 'package.tar.gz');
  const tar = await new Promise<{ code: number; err: string }>((resolve) => {
    const child = spawn('tar', ['-czf', file, '-C', root, '.'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', (e) => resolve({ code: -1, err: e.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, err }));
  });
  if (tar.code !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new Error(`tar failed: ${tar.err.trim()}`);
  }
  const data = await readFile(file);
  const entries: string[] = [];
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop()!;
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push(r); else entries.push(r);
    }
  }
  return {
    file, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), entries: entries.sort(),
    cleanup: () => rm(work, { recursive: true, force: true }),
  };
}

