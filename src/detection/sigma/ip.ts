// IPv4/IPv6 parsing and CIDR tests for the `cidr` modifier.

/** An address as 16 bytes (IPv4 as ::ffff:a.b.c.d), or undefined when the text is not an IP. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t.includes(':')) return parseV6(t.startsWith('[') ? t.slice(1, t.indexOf(']')) : t.split('%')[0]!);
  const v4 = parseV4(t);
  if (!v4) return undefined;
  const out = new Uint8Array(16);
  out[10] = 0xff; out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function parseV4(t: string): Uint8Array | undefined {
  const parts = t.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(t: string): Uint8Array | undefined {
  let text = t;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8; out[i * 2 + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Compile `a.b.c.d/n` or `x::/n` into a test over a parsed address; throws on a malformed range. */
export function compileCidr(range: string): (ip: Uint8Array) => boolean {
  const [addr, bitsText] = range.trim().split('/');
  const base = parseIp(addr!);
  if (!base) throw new Error(`"${range}" is not a CIDR range`);
  const isV4 = !addr!.includes(':');
  let bits = bitsText === undefined ? (isV4 ? 32 : 128) : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > (isV4 ? 32 : 128)) throw new Error(`"${range}" has a bad prefix length`);
  if (isV4) bits += 96;
  return (ip: Uint8Array) => {
    let remaining = bits;
    for (let i = 0; i < 16 && remaining > 0; i++) {
      const take = Math.min(8, remaining);
      const mask = (0xff << (8 - take)) & 0xff;
      if ((ip[i]! & mask) !== (base[i]! & mask)) return false;
      remaining -= take;
    }
    return true;
  };
}
