import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** The nftables table isolation owns; release deletes exactly this table and nothing else. */
export const ISOLATION_TABLE = 'vigil_isolation';

export interface AllowedEndpoint {
  readonly address: string;
  /** Undefined: every port of that address. */
  readonly port?: number;
  readonly protocol: 'tcp' | 'udp' | 'any';
}

/**
 * The nftables script that isolates the device: input and output drop everything except loopback, the
 * allowed endpoints (the Vigil server first) and IPv6 neighbour discovery (without it the server is
 * unreachable over IPv6). It starts by creating and deleting the table so that applying it twice is the
 * same as applying it once, atomically (nft -f runs the file as one transaction).
 * Established connections to other hosts are cut too: there is deliberately no conntrack accept.
 */
export function isolationRuleset(allowed: readonly AllowedEndpoint[]): string {
  const out: string[] = [];
  const inp: string[] = [];
  for (const e of allowed) {
    const family = isIP(e.address) === 6 ? 'ip6' : 'ip';
    const protos = e.protocol === 'any' ? [undefined] : [e.protocol];
    for (const proto of protos) {
      if (proto && e.port !== undefined) {
        out.push(`    ${family} daddr ${e.address} ${proto} dport ${e.port} accept`);
        inp.push(`    ${family} saddr ${e.address} ${proto} sport ${e.port} accept`);
      } else {
        out.push(`    ${family} daddr ${e.address} accept`);
        inp.push(`    ${family} saddr ${e.address} accept`);
      }
    }
  }
  const nd = 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept';
  return [
    `table inet ${ISOLATION_TABLE}`,
    `delete table inet ${ISOLATION_TABLE}`,
    `table inet ${ISOLATION_TABLE} {`,
    '  chain output {',
    '    type filter hook output priority -10; policy drop;',
    '    oif "lo" accept',
    `    ${nd}`,
    ...out,
    '  }',
    '  chain input {',
    '    type filter hook input priority -10; policy drop;',
    '    iif "lo" accept',
    `    ${nd}`,
    ...inp,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority -10; policy drop;',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Resolves a host name to its addresses (an address stays as it is). */
async function addressesOf(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [bare];
  return (await lookup(bare, { all: true })).map((a) => a.address);
}

/**
 * Endpoints to keep reachable: the server (address and port of its URL), DNS servers when configured
 * (port 53, UDP and TCP), and extra hosts from the isolate command ("host" or "host:port").
 */
export async function allowedEndpoints(serverUrl: string, dnsServers: readonly string[], extra: readonly string[]): Promise<AllowedEndpoint[]> {
  const url = new URL(serverUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const list: AllowedEndpoint[] = [];
  for (const address of await addressesOf(url.hostname)) list.push({ address, port, protocol: 'tcp' });
  for (const dns of dnsServers) {
    list.push({ address: dns, port: 53, protocol: 'udp' }, { address: dns, port: 53, protocol: 'tcp' });
  }
  for (const entry of extra) {
    const { host, port: p } = parseHostPort(entry);
    for (const address of await addressesOf(host)) list.push({ address, port: p, protocol: p === undefined ? 'any' : 'tcp' });
  }
  return list;
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 address. */
export function parseHostPort(entry: string): { host: string; port?: number } {
  const e = entry.trim();
  if (isIP(e)) return { host: e };
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(e);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : undefined };
  const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m) throw new Error(`allow entry '${entry}' is not host or host:port`);
  return { host: m[1], port: m[2] ? Number(m[2]) : undefined };
}

/** Runs nft with a script on stdin; rejects with nft's own error text. */
export function runNft(args: readonly string[], script?: string, command: readonly string[] = ['nft']): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => reject(new Error(`cannot run ${command[0]}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr.trim() || `nft exited ${code}`))));
    child.stdin.end(script ?? '');
  });
}

export interface Isolation {
  isolate(extraAllow: readonly string[]): Promise<string>;
  release(): Promise<string>;
  isIsolated(): Promise<boolean>;
}

export function createIsolation(options: { serverUrl: string; dnsServers?: readonly string[]; nftCommand?: readonly string[] }): Isolation {
  const nft = options.nftCommand ?? ['nft'];
  return {
    async isolate(extra) {
      const allowed = await allowedEndpoints(options.serverUrl, options.dnsServers ?? [], extra);
      await runNft(['-f', '-'], isolationRuleset(allowed), nft);
      return `isolated: only ${allowed.map((a) => `${a.address}${a.port !== undefined ? `:${a.port}/${a.protocol}` : ''}`).join(', ')} and loopback are reachable`;
    },
    async release() {
      try {
        await runNft(['delete', 'table', 'inet', ISOLATION_TABLE], undefined, nft);
        return 'released: isolation table removed';
      } catch (error) {
        if (/No such file or directory|does not exist/i.test((error as Error).message)) return 'released: the device was not isolated';
        throw error;
      }
    },
    async isIsolated() {
      try {
        await runNft(['list', 'table', 'inet', ISOLATION_TABLE], undefined, nft);
        return true;
      } catch {
        return false;
      }
    },
  };
}
