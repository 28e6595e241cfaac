// The in-memory matching index. Every lookup costs the same whatever the number of indicators:
// hash maps for exact values, a walk over a host's labels for domains, a walk over a URL's path
// segments for URLs, and one map per CIDR prefix length in use (at most 33 + 129 probes). A bit filter
// in front of the maps keeps the usual miss from touching them (bit-filter.ts).
import { ACTION_RANK, normaliseUrl, urlKey, type Indicator } from './indicator-model.js';
import { parseCidr, parseIpv4, parseIpv6, v4Key, v6Key } from './ip.js';
import { BitFilter, finish, hashHex, hashNumber, hashReversed, hashText, SEED, start, step } from './bit-filter.js';

/** An active indicator in the index, with its expiry as epoch ms (Infinity = never). */
export interface Live {
  readonly ind: Indicator;
  readonly exp: number;
  /** URL indicators given with a scheme match only that scheme. */
  readonly scheme: string | null;
}

/** A matching indicator and how specific the match is (larger wins, see ACTION_RANK's precedence rules). */
export interface Candidate {
  readonly live: Live;
  readonly specificity: number;
}

const SPEC = { sha256: 40, sha1: 30, md5: 20, cert: 10, ipExact: 200, urlBase: 1000 } as const;

type Buckets<K> = Map<K, Live[]>;

function put<K>(map: Buckets<K>, key: K, live: Live) {
  const list = map.get(key);
  if (list) list.push(live);
  else map.set(key, [live]);
}

function drop<K>(map: Buckets<K>, key: K, id: string) {
  const list = map.get(key);
  if (!list) return;
  const i = list.findIndex((l) => l.ind.id === id);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

function pushAll(list: Live[] | undefined, specificity: number, out: Candidate[]) {
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) out.push({ live: list[i], specificity });
}

export interface IndicatorIndex {
  add(ind: Indicator): void;
  remove(ind: Indicator): void;
  readonly size: number;
  /** File hashes of one file (any may be empty); certificates by thumbprint. */
  file(sha256: unknown, sha1: unknown, md5: unknown, out: Candidate[]): void;
  cert(thumbprint: unknown, out: Candidate[]): void;
  /** An IPv4 or IPv6 address: exact indicators and every CIDR range that contains it. */
  ip(text: unknown, out: Candidate[]): void;
  /** A URL, a host/path without scheme, or a bare host name: URL indicators under whose path it falls, and domain indicators of the host or its parents. */
  url(text: unknown, out: Candidate[]): void;
}

export function createIndicatorIndex(): IndicatorIndex {
  const sha256 = new Map<string, Live[]>();
  const sha1 = new Map<string, Live[]>();
  const md5 = new Map<string, Live[]>();
  const certs = new Map<string, Live[]>();
  const ipv4 = new Map<number, Live[]>();
  const ipv6 = new Map<bigint, Live[]>();
  const cidr4 = new Map<number, Buckets<number>>(); // prefix length → network key → indicators
  const cidr6 = new Map<number, Buckets<bigint>>();
  let prefixes4: number[] = []; // prefix lengths in use, longest first
  let prefixes6: number[] = [];
  const domains = new Map<string, Live[]>();
  const urls = new Map<string, Live[]>();
  let size = 0;
  const filter = new BitFilter();
  let removedSinceRebuild = 0;

  /** The filter hash of an indicator's key (undefined: IPv6 kinds, which go to their maps directly). */
  function filterHash(ind: Indicator): number | undefined {
    switch (ind.type) {
      case 'sha256': case 'sha1': case 'md5': case 'cert': return hashHex(SEED[ind.type], ind.value);
      case 'ipv4': return hashNumber(SEED.ipv4, parseIpv4(ind.value)!);
      case 'domain': return hashReversed(SEED.domain, ind.value);
      case 'url': return hashText(SEED.url, normaliseUrl(ind.value).key, false);
      case 'ipv6': return undefined;
      case 'cidr': {
        const c = parseCidr(ind.value);
        return typeof c !== 'string' && c.v === 4 ? hashNumber(SEED.cidr4 + c.prefix, v4Key(c.network as number, c.prefix)) : undefined;
      }
    }
  }

  /** Bits cannot be unset one by one: after many removals, rebuild the filter from what is left. */
  function maybeRebuild() {
    if (removedSinceRebuild < 100_000 || removedSinceRebuild < size / 4) return;
    filter.clear();
    removedSinceRebuild = 0;
    for (const [map, seed] of [[sha256, SEED.sha256], [sha1, SEED.sha1], [md5, SEED.md5], [certs, SEED.cert]] as const) {
      for (const key of map.keys()) filter.set(hashHex(seed, key));
    }
    for (const key of ipv4.keys()) filter.set(hashNumber(SEED.ipv4, key));
    for (const [prefix, byKey] of cidr4) for (const key of byKey.keys()) filter.set(hashNumber(SEED.cidr4 + prefix, key));
    for (const key of domains.keys()) filter.set(hashReversed(SEED.domain, key));
    for (const key of urls.keys()) filter.set(hashText(SEED.url, key, false));
  }

  const refreshPrefixes = () => {
    prefixes4 = [...cidr4.keys()].sort((a, b) => b - a);
    prefixes6 = [...cidr6.keys()].sort((a, b) => b - a);
  };

  function locate(ind: Indicator): (live: Live | undefined) => void {
    // Returns an add (live given) / remove (undefined) operation on the right structure.
    const op = <K>(map: Buckets<K>, key: K) => (live: Live | undefined) => (live ? put(map, key, live) : drop(map, key, ind.id));
    switch (ind.type) {
      case 'sha256': return op(sha256, ind.value);
      case 'sha1': return op(sha1, ind.value);
      case 'md5': return op(md5, ind.value);
      case 'cert': return op(certs, ind.value);
      case 'ipv4': return op(ipv4, parseIpv4(ind.value)!);
      case 'ipv6': return op(ipv6, parseIpv6(ind.value)!);
      case 'domain': return op(domains, ind.value);
      case 'url': return op(urls, normaliseUrl(ind.value).key);
      case 'cidr': {
        const c = parseCidr(ind.value);
        if (typeof c === 'string') throw new Error(`stored CIDR is malformed: ${ind.value}`);
        return (live) => {
          if (c.v === 4) {
            let byKey = cidr4.get(c.prefix);
            if (!byKey) { if (!live) return; byKey = new Map(); cidr4.set(c.prefix, byKey); refreshPrefixes(); }
            const key = v4Key(c.network as number, c.prefix);
            if (live) put(byKey, key, live); else drop(byKey, key, ind.id);
            if (byKey.size === 0) { cidr4.delete(c.prefix); refreshPrefixes(); }
          } else {
            let byKey = cidr6.get(c.prefix);
            if (!byKey) { if (!live) return; byKey = new Map(); cidr6.set(c.prefix, byKey); refreshPrefixes(); }
            const key = v6Key(c.network as bigint, c.prefix);
            if (live) put(byKey, key, live); else drop(byKey, key, ind.id);
            if (byKey.size === 0) { cidr6.delete(c.prefix); refreshPrefixes(); }
          }
        };
      }
    }
  }

  function pushUrl(key: string, scheme: string | null, out: Candidate[]) {
    if (!filter.has(hashText(SEED.url, key, false))) return;
    const list = urls.get(key);
    if (list === undefined) return;
    for (const live of list) if (live.scheme === null || scheme === null || live.scheme === scheme) out.push({ live, specificity: SPEC.urlBase + key.length });
  }

  function hostCandidates(host: string, out: Candidate[]) {
    if (host.length === 0) return;
    const first = host.charCodeAt(0);
    if (host.includes(':') || (first >= 48 && first <= 57 && parseIpv4(host) !== undefined)) {
      index.ip(host, out);
      return;
    }
    // Domain indicators match the host itself and every parent: a.b.evil.com → a.b.evil.com, b.evil.com, evil.com, com.
    // Read from the end, each parent's hash is a prefix of the walk; a map is consulted only when its bit is set.
    if (domains.size === 0) return;
    let h = start(SEED.domain);
    let labels = 0;
    for (let i = host.length - 1; i >= 0; i--) {
      let c = host.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      h = step(h, c);
      if (i === 0 || host.charCodeAt(i - 1) === 46) {
        labels++;
        if (filter.has(finish(h))) {
          const list = domains.get(i === 0 ? host : host.slice(i));
          pushAll(list, labels, out); // more labels = more specific
        }
      }
    }
  }

  const index: IndicatorIndex = {
    get size() { return size; },
    add(ind) {
      const exp = ind.expiresAt === null ? Infinity : Date.parse(ind.expiresAt);
      const scheme = ind.type === 'url' ? normaliseUrl(ind.value).scheme : null;
      locate(ind)({ ind, exp, scheme });
      const h = filterHash(ind);
      if (h !== undefined) filter.set(h);
      size++;
    },
    remove(ind) {
      locate(ind)(undefined);
      size--;
      removedSinceRebuild++;
      maybeRebuild();
    },

    file(h256, h1, h5, out) {
      if (typeof h256 === 'string' && h256.length === 64 && sha256.size > 0 && filter.has(hashHex(SEED.sha256, h256))) {
        pushAll(sha256.get(h256.toLowerCase()), SPEC.sha256, out);
      }
      if (typeof h1 === 'string' && h1.length === 40 && sha1.size > 0 && filter.has(hashHex(SEED.sha1, h1))) {
        pushAll(sha1.get(h1.toLowerCase()), SPEC.sha1, out);
      }
      if (typeof h5 === 'string' && h5.length === 32 && md5.size > 0 && filter.has(hashHex(SEED.md5, h5))) {
        pushAll(md5.get(h5.toLowerCase()), SPEC.md5, out);
      }
    },

    cert(thumb, out) {
      if (typeof thumb === 'string' && certs.size > 0 && filter.has(hashHex(SEED.cert, thumb))) pushAll(certs.get(thumb.toLowerCase()), SPEC.cert, out);
    },

    ip(text, out) {
      if (typeof text !== 'string' || text.length === 0) return;
      const n4 = parseIpv4(text);
      if (n4 !== undefined) {
        if (ipv4.size > 0 && filter.has(hashNumber(SEED.ipv4, n4))) pushAll(ipv4.get(n4), SPEC.ipExact, out);
        for (const p of prefixes4) {
          const key = v4Key(n4, p);
          if (filter.has(hashNumber(SEED.cidr4 + p, key))) pushAll(cidr4.get(p)!.get(key), p, out);
        }
        return;
      }
      if (ipv6.size === 0 && prefixes6.length === 0 && prefixes4.length === 0 && ipv4.size === 0) return;
      const n6 = parseIpv6(text);
      if (n6 === undefined) return;
      if (n6 >> 32n === 0xffffn) { // IPv4-mapped: match as the IPv4 address it carries
        const mapped = Number(n6 & 0xffffffffn);
        index.ip(`${mapped >>> 24}.${(mapped >>> 16) & 255}.${(mapped >>> 8) & 255}.${mapped & 255}`, out);
        return;
      }
      pushAll(ipv6.get(n6), SPEC.ipExact, out);
      for (const p of prefixes6) pushAll(cidr6.get(p)!.get(v6Key(n6, p)), p, out);
    },

    url(text, out) {
      if (typeof text !== 'string' || text.length === 0) return;
      const parts = splitUrl(text);
      if (parts === undefined) return;
      hostCandidates(parts.host, out);
      if (urls.size === 0) return;
      const hostPort = parts.port ? `${parts.host}:${parts.port}` : parts.host;
      const scheme = parts.scheme;
      // A URL indicator matches everything under its path: walk the path back segment by segment.
      let path = parts.path ?? '';
      while (path.length > 0 && path.charCodeAt(path.length - 1) === 47) path = path.slice(0, -1);
      if (parts.search.length > 1) pushUrl(hostPort + path + parts.search, scheme, out);
      pushUrl(hostPort + path, scheme, out);
      while (path.length > 0) {
        const slash = path.lastIndexOf('/');
        path = slash <= 0 ? '' : path.slice(0, slash);
        pushUrl(hostPort + path, scheme, out);
      }
    },
  };
  return index;
}

/** Orders candidates strongest first by the documented precedence (see ACTION_RANK in indicator-model.ts). */
export function stronger(a: Candidate, aScoped: boolean, b: Candidate, bScoped: boolean): boolean {
  if (aScoped !== bScoped) return aScoped;
  if (a.specificity !== b.specificity) return a.specificity > b.specificity;
  const ra = ACTION_RANK[a.live.ind.action];
  const rb = ACTION_RANK[b.live.ind.action];
  if (ra !== rb) return ra > rb;
  return a.live.ind.version > b.live.ind.version;
}

/** A seen URL or host, split for matching: lower-case host without trailing dot, port ('' = default), path and query. */
interface UrlSplit {
  readonly scheme: string | null;
  readonly host: string;
  readonly port: string;
  /** undefined for a bare host name (no path at all). */
  readonly path: string | undefined;
  readonly search: string;
}

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

/**
 * Splits a URL the way the WHATWG URL parser would for plain ASCII URLs, without building a URL object
 * (this runs on every network, mail and click row); anything unusual (percent-escapes, user info, IPv6
 * literals, dot segments, non-ASCII, characters URL would escape) goes through `new URL` instead.
 */
export function splitUrl(text: string): UrlSplit | undefined {
  const sep = text.indexOf('://');
  let scheme: string | null = null;
  let start = 0;
  if (sep > 0) {
    scheme = text.slice(0, sep).toLowerCase();
    if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return undefined;
    start = sep + 3;
  }
  let end = text.length;
  let authorityEnd = end;
  let unusual = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (authorityEnd === end && (c === 47 || c === 63 || c === 35)) authorityEnd = i;
    if (c === 35) { end = i; break; } // the fragment is never matched
    if (c <= 32 || c >= 127 || c === 37 || c === 92 || c === 64 || c === 91 || c === 34 || c === 39 || c === 60 || c === 62
      || c === 96 || c === 123 || c === 125 || c === 124 || c === 94) { unusual = true; break; }
  }
  if (!unusual && text.includes('/.', authorityEnd)) unusual = true;
  if (unusual) return viaWhatwg(text, scheme !== null);
  let host = text.slice(start, authorityEnd);
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
    if (!/^\d{0,5}$/.test(port)) return undefined;
    if (port !== '') port = String(Number(port));
    if (port === DEFAULT_PORT[scheme ?? 'http']) port = '';
  }
  if (host.length > 0 && host.charCodeAt(host.length - 1) === 46) host = host.slice(0, -1);
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c >= 65 && c <= 90) { host = host.toLowerCase(); break; }
  }
  if (authorityEnd >= end) return { scheme, host, port, path: scheme === null ? undefined : '', search: '' };
  const q = text.indexOf('?', authorityEnd);
  const pathEnd = q >= 0 && q < end ? q : end;
  return { scheme, host, port, path: text.slice(authorityEnd, pathEnd), search: pathEnd < end ? text.slice(pathEnd, end) : '' };
}

function viaWhatwg(text: string, hasScheme: boolean): UrlSplit | undefined {
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    return undefined;
  }
  let host = url.hostname;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return { scheme: hasScheme ? url.protocol.slice(0, -1) : null, host, port: url.port, path: url.pathname, search: url.search };
}
