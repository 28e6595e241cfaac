// IP addresses for indicators: strict parsing, one canonical text form, and integer forms for CIDR lookups.

/** IPv4 dotted quad → unsigned 32-bit integer; undefined when not exactly four decimal octets (no leading zeros). */
export function parseIpv4(text: string): number | undefined {
  // One pass without allocating: this runs on every network row.
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return undefined;
      n = n * 256 + part;
      dots++;
      part = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    if (digits === 1 && part === 0) return undefined; // 010 would be octal to some parsers: refuse the ambiguity
    part = part * 10 + (c - 48);
    if (++digits > 3 || part > 255) return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + part;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** IPv6 text (compressed or full, optional embedded IPv4 tail, optional %zone) → 128-bit integer. */
export function parseIpv6(input: string): bigint | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (!text.includes(':')) return undefined;
  let tail: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 2 && head.length + rest.length > 7) return undefined;
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) return undefined;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== undefined) n = (n & ~0xffffffffn) | BigInt(tail);
  return n;
}

/** RFC 5952 text form: lower case, longest run of two or more zero groups compressed. */
export function formatIpv6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export type ParsedIp = { readonly v: 4; readonly n: number } | { readonly v: 6; readonly n: bigint };

/** Either family; IPv4-mapped IPv6 (::ffff:a.b.c.d) is read as the IPv4 address it carries. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { v: 4, n: v4 };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v: 4, n: Number(v6 & 0xffffffffn) };
  return { v: 6, n: v6 };
}

export interface ParsedCidr {
  readonly v: 4 | 6;
  readonly prefix: number;
  /** Network address: a number for IPv4, a bigint for IPv6. */
  readonly network: number | bigint;
}

/** `a.b.c.d/n` or `x::/n`; the host bits must be zero. Returns a reason string when malformed. */
export function parseCidr(text: string): ParsedCidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'a CIDR range needs a /prefix length, e.g. 10.0.0.0/8';
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return 'the prefix length must be a number';
  const prefix = Number(bits);
  const v4 = parseIpv4(addr);
  if (v4 !== undefined) {
    if (prefix > 32) return 'an IPv4 prefix length is 0 to 32';
    const network = prefix === 0 ? 0 : (v4 & (0xffffffff << (32 - prefix))) >>> 0;
    if (network !== v4) return `host bits are set; the network is ${formatIpv4(network)}/${prefix}`;
    return { v: 4, prefix, network };
  }
  const v6 = parseIpv6(addr);
  if (v6 === undefined) return 'the address before / is not an IPv4 or IPv6 address';
  if (prefix > 128) return 'an IPv6 prefix length is 0 to 128';
  const network = prefix === 0 ? 0n : (v6 >> BigInt(128 - prefix)) << BigInt(128 - prefix);
  if (network !== v6) return `host bits are set; the network is ${formatIpv6(network)}/${prefix}`;
  return { v: 6, prefix, network };
}

/** The key of `addr` in the map of prefix length `prefix` (the network part, shifted down). */
export function v4Key(n: number, prefix: number): number {
  return prefix === 0 ? 0 : n >>> (32 - prefix);
}

export function v6Key(n: bigint, prefix: number): bigint {
  return prefix === 0 ? 0n : n >> BigInt(128 - prefix);
}
