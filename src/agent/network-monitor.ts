import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { HashCache } from './hashes.js';
import type { ProcReader } from './proc-info.js';

/** One socket line of /proc/net/{tcp,udp}[6]. */
export interface SocketEntry {
  readonly protocol: 'Tcp' | 'Udp';
  readonly localIp: string;
  readonly localPort: number;
  readonly remoteIp: string;
  readonly remotePort: number;
  /** Kernel TCP state number (1 ESTABLISHED, 2 SYN_SENT, 10 LISTEN; 7 for an unconnected UDP socket). */
  readonly state: number;
  readonly uid: number;
  readonly inode: number;
}

/** IPv4 in /proc/net is one little-endian 32-bit word; IPv6 is four of them. */
export function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  }
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (const i of [6, 4, 2, 0]) bytes.push(parseInt(word.slice(i, i + 2), 16));
  }
  // IPv4-mapped (::ffff:a.b.c.d): show as IPv4, as Defender does.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return compressIpv6(groups);
}

function compressIpv6(groups: string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parseProcNet(text: string, protocol: 'Tcp' | 'Udp'): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [lip, lport] = f[1].split(':');
    const [rip, rport] = f[2].split(':');
    out.push({
      protocol, localIp: decodeAddress(lip), localPort: parseInt(lport, 16), remoteIp: decodeAddress(rip), remotePort: parseInt(rport, 16),
      state: parseInt(f[3], 16), uid: Number(f[7]), inode: Number(f[9]),
    });
  }
  return out;
}

/** Defender's LocalIPType / RemoteIPType. */
export function ipType(ip: string): string {
  if (ip === '0.0.0.0' || ip === '::') return 'Reserved';
  if (/^127\./.test(ip) || ip === '::1') return 'Loopback';
  if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(ip) || /^f[cd]/i.test(ip)) return 'Private';
  if (/^169\.254\./.test(ip) || /^fe80:/i.test(ip)) return 'LinkLocal';
  if (/^(22[4-9]|23\d)\./.test(ip) || /^ff/i.test(ip)) return 'Multicast';
  if (ip === '255.255.255.255') return 'Broadcast';
  return 'Public';
}

export interface NetworkMonitor {
  close(): void;
  /** Sockets seen in the last poll (investigation package). */
  snapshot(): readonly SocketEntry[];
  /** Poll once now (tests). */
  poll(): Promise<void>;
}

export interface NetworkMonitorOptions {
  readonly proc: ProcReader;
  readonly hashes: HashCache;
  readonly emit: (table: 'DeviceNetworkEvents', row: Record<string, unknown>) => void;
  readonly intervalMs?: number;
  /** The TCP tables are read at least every this many polls, counters unchanged or not (default 15). */
  readonly fullEvery?: number;
  readonly procRoot?: string;
  readonly log?: (message: string) => void;
}

const TCP_FILES: [string, 'Tcp' | 'Udp'][] = [['tcp', 'Tcp'], ['tcp6', 'Tcp']];
const UDP_FILES: [string, 'Tcp' | 'Udp'][] = [['udp', 'Udp'], ['udp6', 'Udp']];

function readTables(procRoot: string, files: readonly [string, 'Tcp' | 'Udp'][]): SocketEntry[] {
  const all: SocketEntry[] = [];
  for (const [file, protocol] of files) {
    try { all.push(...parseProcNet(readFileSync(`${procRoot}/net/${file}`, 'utf8'), protocol)); } catch { /* no IPv6, say */ }
  }
  return all;
}

/** Reads every socket table under procRoot/net. */
export async function readSockets(procRoot = '/proc'): Promise<SocketEntry[]> {
  return [...readTables(procRoot, TCP_FILES), ...readTables(procRoot, UDP_FILES)];
}

/**
 * The kernel's TCP counters, for knowing cheaply whether the TCP tables can have anything new: `signature`
 * changes whenever a TCP connection is opened or accepted (the cumulative ActiveOpens and PassiveOpens, IPv4
 * and IPv6 together) or a TCP socket is added or removed (sockets in use, listeners included); `v4`/`v6` are
 * the sockets in use per family (a table with none is not read at all). Reading them costs microseconds, where
 * reading /proc/net/tcp or tcp6 walks the kernel's whole connection hash table (milliseconds of system time
 * on a machine with much memory, even with few sockets). Undefined when unreadable (the tables are then read
 * every time).
 */
export function tcpActivity(procRoot = '/proc'): { signature: string; v4: number; v6: number } | undefined {
  try {
    const snmp = readFileSync(`${procRoot}/net/snmp`, 'latin1').split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = snmp[0].split(' ');
    const values = snmp[1].split(' ');
    const active = values[names.indexOf('ActiveOpens')];
    const passive = values[names.indexOf('PassiveOpens')];
    const inUse = (text: string, proto: string) => /^\S+: inuse (\d+)/m.exec(text.slice(text.indexOf(`${proto}: inuse `)))?.[1];
    const v4 = inUse(readFileSync(`${procRoot}/net/sockstat`, 'latin1'), 'TCP');
    let v6: string | undefined = '0';
    try { v6 = inUse(readFileSync(`${procRoot}/net/sockstat6`, 'latin1'), 'TCP6'); } catch { /* no IPv6: no tcp6 table either */ }
    if (active === undefined || passive === undefined || v4 === undefined || v6 === undefined) return undefined;
    return { signature: `${active}/${passive}/${v4}/${v6}`, v4: Number(v4), v6: Number(v6) };
  } catch {
    return undefined;
  }
}

/** socket inode → pid, by reading every process's fd links (done only when new sockets appear). */
export async function socketOwners(inodes: ReadonlySet<number>, procRoot = '/proc'): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  // The agent's own sockets first: often the only new ones, and then the walk over every process is skipped.
  // Then the newest processes first (highest pids, wrap-around aside): a new connection is more often a new
  // process's, and each process looked at costs a readdir and a readlink per open file.
  const names = readdirSync(procRoot).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a));
  const self = String(process.pid);
  if (names.includes(self)) names.unshift(self);
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try { fds = readdirSync(`${procRoot}/${name}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target: string;
      try { target = readlinkSync(`${procRoot}/${name}/fd/${fd}`); } catch { continue; }
      if (!target.startsWith('socket:[')) continue;
      const inode = Number(target.slice(8, -1));
      if (inodes.has(inode) && !owners.has(inode)) owners.set(inode, Number(name));
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/**
 * New TCP/UDP connections and listeners, polled from /proc/net and mapped to processes through their
 * socket file descriptors. A connection that opens and closes between two polls (2 s) is not seen.
 */
export async function createNetworkMonitor(options: NetworkMonitorOptions): Promise<NetworkMonitor> {
  const procRoot = options.procRoot ?? '/proc';
  const log = options.log ?? (() => {});
  let seen = new Set<string>();
  let last: SocketEntry[] = [];
  const keyOf = (s: SocketEntry) => `${s.inode}|${s.state === 10 ? 'L' : s.state}`;
  const interesting = (s: SocketEntry) =>
    s.inode !== 0 && (s.protocol === 'Udp' || s.state === 1 || s.state === 2 || s.state === 10);

  // The TCP tables are read again only when the TCP counters moved (and at least every fullEvery polls, for
  // the one case the counters miss: a listener opened while another TCP socket closed, between two polls).
  const fullEvery = options.fullEvery ?? 15;
  const readTcp = (counters: ReturnType<typeof tcpActivity>) =>
    readTables(procRoot, counters ? TCP_FILES.filter(([file]) => (file === 'tcp' ? counters.v4 : counters.v6) > 0) : TCP_FILES);
  let counters = tcpActivity(procRoot);
  let tcp = readTcp(counters);
  let pollsSinceTcp = 0;
  last = [...tcp, ...readTables(procRoot, UDP_FILES)];
  for (const s of last) if (interesting(s)) seen.add(keyOf(s));

  async function poll() {
    const now = tcpActivity(procRoot);
    if (now === undefined || now.signature !== counters?.signature || ++pollsSinceTcp >= fullEvery) {
      tcp = readTcp(now);
      counters = now;
      pollsSinceTcp = 0;
    }
    const sockets = [...tcp, ...readTables(procRoot, UDP_FILES)];
    const fresh = sockets.filter((s) => interesting(s) && !seen.has(keyOf(s)));
    // SYN_SENT then ESTABLISHED on the same socket is one connection: report it once.
    const nextSeen = new Set<string>();
    for (const s of sockets) if (interesting(s)) nextSeen.add(keyOf(s));
    const reportedInodes = new Set([...seen].map((k) => k.split('|')[0]));
    seen = nextSeen;
    last = sockets;
    const news = fresh.filter((s) => s.state === 10 || !reportedInodes.has(String(s.inode)));
    if (!news.length) return;
    const listeningPorts = new Set(sockets.filter((s) => s.state === 10).map((s) => `${s.protocol}:${s.localPort}`));
    const owners = await socketOwners(new Set(news.map((s) => s.inode)), procRoot);
    for (const s of news) {
      const pid = owners.get(s.inode);
      const p = pid ? await options.proc.read(pid) : undefined;
      const h = p?.exe ? await options.hashes.get(p.exe) : undefined;
      const unconnectedUdp = s.protocol === 'Udp' && s.remotePort === 0;
      const action = s.state === 10 || unconnectedUdp ? 'ListeningConnectionCreated'
        : s.state === 2 ? 'ConnectionRequest'
        : s.protocol === 'Tcp' && listeningPorts.has(`Tcp:${s.localPort}`) ? 'InboundConnectionAccepted'
        : 'ConnectionSuccess';
      options.emit('DeviceNetworkEvents', {
        ActionType: action,
        RemoteIP: unconnectedUdp || s.state === 10 ? null : s.remoteIp,
        RemotePort: unconnectedUdp || s.state === 10 ? null : s.remotePort,
        LocalIP: s.localIp, LocalPort: s.localPort, Protocol: s.protocol,
        LocalIPType: ipType(s.localIp), RemoteIPType: unconnectedUdp || s.state === 10 ? null : ipType(s.remoteIp),
        InitiatingProcessId: pid ?? null,
        InitiatingProcessFileName: p ? basename(p.exe || p.comm) : null,
        InitiatingProcessFolderPath: p?.exe || null,
        InitiatingProcessCommandLine: p?.cmdline ?? null,
        InitiatingProcessCreationTime: p?.startTime ?? null,
        InitiatingProcessParentId: p?.ppid ?? null,
        InitiatingProcessAccountName: p?.user ?? options.proc.userName(s.uid),
        InitiatingProcessSHA256: h?.sha256 ?? null, InitiatingProcessSHA1: h?.sha1 ?? null, InitiatingProcessMD5: h?.md5 ?? null,
        InitiatingProcessFileSize: h?.size ?? null,
      });
    }
  }

  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    poll().catch((e) => log(`network poll failed: ${(e as Error).message}`)).finally(() => { busy = false; });
  // Every 2 s by default: reading /proc/net/tcp walks the kernel's whole connection hash table, which costs
  // milliseconds of system time per read on a large machine even when there are few sockets.
  }, options.intervalMs ?? 2000);
  timer.unref();
  return { close: () => clearInterval(timer), snapshot: () => last, poll };
}
