// The kql_* SQL functions the compiled queries call, registered on a better-sqlite3 connection.
// Regular expressions use RE2 (linear time, the syntax KQL documents:
// https://learn.microsoft.com/kusto/query/re2), never a backtracking engine.
import { createHash, randomUUID } from 'node:crypto';
import RE2 from 're2';
import type BetterSqlite3 from 'better-sqlite3';
import { parseDatetimeLiteral } from './kql-parser.js';

const DAY = 86_400_000;

/** A small bounded cache (per connection) for compiled regexes and parsed JSON lists. */
function cache<V>(limit: number): { get(k: string, make: () => V): V } {
  const m = new Map<string, V>();
  return {
    get(k, make) {
      let v = m.get(k);
      if (v === undefined) {
        if (m.size >= limit) m.clear();
        v = make();
        m.set(k, v);
      }
      return v;
    },
  };
}

function isTermChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code > 127;
}

/**
 * KQL `has`: the needle matches whole terms (maximal alphanumeric runs) of the haystack; a needle with
 * punctuation ("cmd.exe") must start and end on term boundaries. Case-insensitive unless `cs`.
 */
export function hasTerm(hay: unknown, needle: unknown, cs = false): boolean {
  if (hay === null || hay === undefined) return false;
  let h = String(hay);
  let n = String(needle ?? '');
  if (n === '') return true;
  if (!cs) {
    h = h.toLowerCase();
    n = n.toLowerCase();
  }
  const startTerm = isTermChar(n.charCodeAt(0));
  const endTerm = isTermChar(n.charCodeAt(n.length - 1));
  let i = h.indexOf(n);
  while (i >= 0) {
    const j = i + n.length;
    if ((!startTerm || i === 0 || !isTermChar(h.charCodeAt(i - 1))) && (!endTerm || j === h.length || !isTermChar(h.charCodeAt(j)))) return true;
    i = h.indexOf(n, i + 1);
  }
  return false;
}

function hasPrefix(hay: unknown, needle: unknown, cs: boolean, suffix: boolean): boolean {
  if (hay === null || hay === undefined) return false;
  let h = String(hay);
  let n = String(needle ?? '');
  if (!cs) {
    h = h.toLowerCase();
    n = n.toLowerCase();
  }
  let i = h.indexOf(n);
  while (i >= 0) {
    const j = i + n.length;
    if (!suffix && (i === 0 || !isTermChar(h.charCodeAt(i - 1)))) return true;
    if (suffix && (j === h.length || !isTermChar(h.charCodeAt(j)))) return true;
    i = h.indexOf(n, i + 1);
  }
  return false;
}

const b = (v: boolean): number => (v ? 1 : 0);

function toJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trimStart();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}
function asArray(v: unknown): unknown[] | null {
  const j = toJson(v);
  return Array.isArray(j) ? j : null;
}
function out(v: unknown): string | null {
  return v === undefined ? null : JSON.stringify(v);
}

export function datetimeToString(ms: unknown): string | null {
  if (ms === null || ms === undefined || typeof ms !== 'number' || !Number.isFinite(ms)) return null;
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : `${iso.slice(0, -1)}0000Z`;
}

export function timespanToString(ms: unknown): string | null {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return null;
  const neg = ms < 0;
  let v = Math.abs(ms);
  const days = Math.floor(v / DAY);
  v -= days * DAY;
  const h = Math.floor(v / 3_600_000);
  v -= h * 3_600_000;
  const m = Math.floor(v / 60_000);
  v -= m * 60_000;
  const s = Math.floor(v / 1000);
  const frac = Math.round((v - s * 1000) * 10_000);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${neg ? '-' : ''}${days ? `${days}.` : ''}${p(h)}:${p(m)}:${p(s)}${frac ? `.${String(frac).padStart(7, '0')}` : ''}`;
}

function toDatetime(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  const s = String(v).trim();
  if (!s) return null;
  return parseDatetimeLiteral(s);
}

function toTimespan(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  const s = String(v).trim();
  const t = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(s);
  if (t) {
    const ms = (Number(t[2] ?? 0) * 86400 + Number(t[3]) * 3600 + Number(t[4]) * 60 + Number(t[5] ?? 0)) * 1000 + (t[6] ? Number(`0.${t[6]}`) * 1000 : 0);
    return t[1] ? -ms : ms;
  }
  const u = /^(-?\d+(?:\.\d+)?)(d|h|m|s|ms)$/.exec(s);
  if (u) return Number(u[1]) * ({ d: DAY, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as Record<string, number>)[u[2]];
  return null;
}

function tolong(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'bigint') return Number(v);
  const s = String(v).trim();
  if (/^[-+]?\d+$/.test(s)) return Number(s);
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
  const n = Number(s);
  return s !== '' && Number.isFinite(n) ? Math.trunc(n) : null;
}

function toreal(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v;
  const n = Number(String(v).trim());
  return Number.isFinite(n) ? n : null;
}

function startOf(unit: string, ms: unknown, offset: unknown): number | null {
  if (typeof ms !== 'number') return null;
  const off = Number(offset ?? 0);
  const d = new Date(ms);
  switch (unit) {
    case 'week': {
      const day = Math.floor(ms / DAY);
      return (day - (((day + 4) % 7) + 7) % 7 + off * 7) * DAY;
    }
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + off, 1);
    case 'year':
      return Date.UTC(d.getUTCFullYear() + off, 0, 1);
    default:
      return null;
  }
}

const PART_MS: Record<string, number> = {
  week: 7 * DAY, day: DAY, hour: 3_600_000, minute: 60_000, second: 1000, millisecond: 1, microsecond: 0.001, nanosecond: 0.000001,
};
function normPart(p: unknown): string {
  const s = String(p ?? '').toLowerCase().replace(/s$/, '');
  return ({ yy: 'year', yyyy: 'year', mm: 'month', m: 'month', dd: 'day', d: 'day', hh: 'hour', mi: 'minute', n: 'minute', ss: 'second', s: 'second', ms: 'millisecond', wk: 'week', ww: 'week', qq: 'quarter', q: 'quarter' } as Record<string, string>)[s] ?? s;
}

function datetimeAdd(part: unknown, n: unknown, ms: unknown): number | null {
  if (typeof ms !== 'number' || typeof n !== 'number') return null;
  const p = normPart(part);
  const d = new Date(ms);
  if (p === 'year' || p === 'quarter' || p === 'month') {
    const months = p === 'year' ? n * 12 : p === 'quarter' ? n * 3 : n;
    d.setUTCMonth(d.getUTCMonth() + months);
    return d.getTime();
  }
  const unit = PART_MS[p];
  return unit === undefined ? null : ms + n * unit;
}

function datetimeDiff(part: unknown, a: unknown, bv: unknown): number | null {
  if (typeof a !== 'number' || typeof bv !== 'number') return null;
  const p = normPart(part);
  const da = new Date(a);
  const db = new Date(bv);
  switch (p) {
    case 'year': return da.getUTCFullYear() - db.getUTCFullYear();
    case 'quarter': return (da.getUTCFullYear() * 4 + Math.floor(da.getUTCMonth() / 3)) - (db.getUTCFullYear() * 4 + Math.floor(db.getUTCMonth() / 3));
    case 'month': return (da.getUTCFullYear() * 12 + da.getUTCMonth()) - (db.getUTCFullYear() * 12 + db.getUTCMonth());
    case 'week': return Math.round(((startOf('week', a, 0) as number) - (startOf('week', bv, 0) as number)) / (7 * DAY));
    default: {
      const unit = PART_MS[p];
      if (unit === undefined) return null;
      return Math.floor(a / unit) - Math.floor(bv / unit);
    }
  }
}

function isoWeek(ms: number): number {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7;
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const firstThursday = new Date(thursday);
  const jan1 = Date.UTC(firstThursday.getUTCFullYear(), 0, 1);
  return 1 + Math.floor((thursday - jan1) / (7 * DAY));
}

function datetimePart(part: unknown, ms: unknown): number | null {
  if (typeof ms !== 'number') return null;
  const d = new Date(ms);
  switch (normPart(part)) {
    case 'year': return d.getUTCFullYear();
    case 'quarter': return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'month': return d.getUTCMonth() + 1;
    case 'week_of_year': case 'weekofyear': case 'week': return isoWeek(ms);
    case 'day': return d.getUTCDate();
    case 'dayofyear': return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY) + 1;
    case 'hour': return d.getUTCHours();
    case 'minute': return d.getUTCMinutes();
    case 'second': return d.getUTCSeconds();
    case 'millisecond': return d.getUTCMilliseconds();
    default: return null;
  }
}

function formatDatetime(ms: unknown, fmt: unknown): string | null {
  if (typeof ms !== 'number') return null;
  const d = new Date(ms);
  const p = (v: number, n = 2) => String(v).padStart(n, '0');
  const h12 = d.getUTCHours() % 12 || 12;
  return String(fmt ?? '').replace(/yyyy|yy|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|f{1,7}|tt/g, (t) => {
    switch (t) {
      case 'yyyy': return String(d.getUTCFullYear());
      case 'yy': return p(d.getUTCFullYear() % 100);
      case 'MM': return p(d.getUTCMonth() + 1);
      case 'M': return String(d.getUTCMonth() + 1);
      case 'dd': return p(d.getUTCDate());
      case 'd': return String(d.getUTCDate());
      case 'HH': return p(d.getUTCHours());
      case 'H': return String(d.getUTCHours());
      case 'hh': return p(h12);
      case 'h': return String(h12);
      case 'mm': return p(d.getUTCMinutes());
      case 'm': return String(d.getUTCMinutes());
      case 'ss': return p(d.getUTCSeconds());
      case 's': return String(d.getUTCSeconds());
      case 'tt': return d.getUTCHours() < 12 ? 'AM' : 'PM';
      default: return p(d.getUTCMilliseconds(), 3).padEnd(t.length, '0').slice(0, t.length);
    }
  });
}

function formatTimespan(ms: unknown, fmt: unknown): string | null {
  if (typeof ms !== 'number') return null;
  let v = Math.abs(ms);
  const days = Math.floor(v / DAY);
  v -= days * DAY;
  const h = Math.floor(v / 3_600_000);
  v -= h * 3_600_000;
  const m = Math.floor(v / 60_000);
  v -= m * 60_000;
  const s = Math.floor(v / 1000);
  const f = Math.round(v - s * 1000);
  const p = (x: number, n = 2) => String(x).padStart(n, '0');
  return String(fmt ?? '').replace(/d+|hh|h|mm|m|ss|s|f{1,7}/g, (t) => {
    if (t[0] === 'd') return p(days, t.length);
    switch (t) {
      case 'hh': return p(h);
      case 'h': return String(h);
      case 'mm': return p(m);
      case 'm': return String(m);
      case 'ss': return p(s);
      case 's': return String(s);
      default: return p(f, 3).padEnd(t.length, '0').slice(0, t.length);
    }
  });
}

function parseIpv4(ip: unknown): number | null {
  if (ip === null || ip === undefined) return null;
  const m = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?\s*$/.exec(String(ip));
  if (!m) return null;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((x) => x > 255)) return null;
  return ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3];
}

function ipv4InRange(ip: unknown, range: unknown): boolean {
  const a = parseIpv4(ip);
  if (a === null || range === null || range === undefined) return false;
  const [base, bits] = String(range).split('/');
  const r = parseIpv4(base);
  if (r === null) return false;
  const n = bits === undefined ? 32 : Number(bits);
  if (!(n >= 0 && n <= 32)) return false;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(r / size);
}

function parseUrl(s: unknown): string {
  const empty = { Scheme: '', Host: '', Port: '', Path: '', Username: '', Password: '', 'Query Parameters': {}, Fragment: '' };
  try {
    const u = new URL(String(s ?? ''));
    const q: Record<string, string> = {};
    u.searchParams.forEach((v, k) => {
      q[k] = v;
    });
    return JSON.stringify({
      Scheme: u.protocol.replace(/:$/, ''), Host: u.hostname, Port: u.port, Path: u.pathname, Username: u.username,
      Password: u.password, 'Query Parameters': q, Fragment: u.hash.replace(/^#/, ''),
    });
  } catch {
    return JSON.stringify(empty);
  }
}

function parsePath(s: unknown): string {
  const p = String(s ?? '');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?(.*)$/.exec(p)!;
  const scheme = m[1] ? m[1].replace('://', '') : '';
  const rest = m[2];
  const sep = rest.lastIndexOf('\\') >= rest.lastIndexOf('/') ? rest.lastIndexOf('\\') : rest.lastIndexOf('/');
  const dir = sep >= 0 ? rest.slice(0, sep) : '';
  let file = sep >= 0 ? rest.slice(sep + 1) : rest;
  let ads = '';
  const colon = file.indexOf(':');
  if (colon > 0) {
    ads = file.slice(colon + 1);
    file = file.slice(0, colon);
  }
  const dot = file.lastIndexOf('.');
  const root = /^[a-zA-Z]:/.test(rest) ? rest.slice(0, 2) : rest.startsWith('\\\\') ? rest.split('\\').slice(0, 4).join('\\') : '';
  const dsep = Math.max(dir.lastIndexOf('\\'), dir.lastIndexOf('/'));
  return JSON.stringify({
    Scheme: scheme, RootPath: root, DirectoryPath: dir, DirectoryName: dsep >= 0 ? dir.slice(dsep + 1) : dir,
    Filename: file, Extension: dot > 0 ? file.slice(dot + 1) : '', AlternateDataStreamName: ads,
  });
}

function parseCommandLine(s: unknown): string {
  // CommandLineToArgvW rules, simplified: whitespace separates, quotes group, \" escapes a quote.
  const str = String(s ?? '');
  const args: string[] = [];
  let cur = '';
  let inQ = false;
  let has = false;
  for (let i = 0; i < str.length; i++) {
    const ch = str[i];
    if (ch === '\\' && str[i + 1] === '"') {
      cur += '"';
      i++;
      has = true;
    } else if (ch === '"') {
      inQ = !inQ;
      has = true;
    } else if (!inQ && /\s/.test(ch)) {
      if (has) args.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) args.push(cur);
  return JSON.stringify(args);
}

function parseCsv(s: unknown): string {
  const str = String(s ?? '');
  const outv: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < str.length; i++) {
    const ch = str[i];
    if (inQ) {
      if (ch === '"' && str[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') inQ = false;
      else cur += ch;
    } else if (ch === '"') inQ = true;
    else if (ch === ',') {
      outv.push(cur);
      cur = '';
    } else cur += ch;
  }
  outv.push(cur);
  return JSON.stringify(outv);
}

function gettype(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'real';
  const j = toJson(v);
  if (Array.isArray(j)) return 'array';
  if (j && typeof j === 'object') return 'dictionary';
  return 'string';
}

/**
 * Read-connection settings for hunting over large tables: memory-mapped reads (no syscall per page),
 * a 256 MiB page cache and in-memory sorting for GROUP BY/ORDER BY, with up to two sorter threads.
 * Measured with `npm run bench:hunt`; connection-local, so ingest is unaffected.
 */
export function tuneKqlReadConnection(db: BetterSqlite3.Database): void {
  db.pragma('mmap_size = 2147418112');
  db.pragma('cache_size = -262144');
  db.pragma('temp_store = MEMORY');
  db.pragma('threads = 2');
}

/**
 * Register every kql_* function and aggregate the compiler emits on a connection. The store calls
 * this (as `registerSqlFunctions`, which also applies tuneKqlReadConnection) on each read-only
 * query connection.
 */
export function registerKqlSqliteFunctions(db: BetterSqlite3.Database): void {
  const regexes = cache<RE2 | null>(256);
  const lists = cache<string[]>(256);
  const re = (p: unknown): RE2 | null => regexes.get(String(p), () => {
    try {
      return new RE2(String(p), 'u');
    } catch {
      return null;
    }
  });
  const list = (v: unknown): string[] => lists.get(String(v), () => {
    const a = asArray(v);
    return a ? a.map((x) => String(x)) : v === null || v === undefined ? [] : [String(v)];
  });
  const det = { deterministic: true };
  const fn = (name: string, f: (...args: any[]) => unknown, opts: { deterministic?: boolean; varargs?: boolean } = det) => {
    db.function(`kql_${name}`, { deterministic: opts.deterministic ?? false, varargs: opts.varargs ?? false }, f as (...args: unknown[]) => any);
  };
  fn('has', (h, n) => b(hasTerm(h, n)));
  fn('has_cs', (h, n) => b(hasTerm(h, n, true)));
  fn('hasprefix', (h, n, cs) => b(hasPrefix(h, n, cs === 1, false)));
  fn('hassuffix', (h, n, cs) => b(hasPrefix(h, n, cs === 1, true)));
  // The haystack is lower-cased once per row, not once per term.
  const lowerLists = cache<string[]>(256);
  const lowerList = (v: unknown): string[] => lowerLists.get(String(v), () => list(v).map((x) => x.toLowerCase()));
  fn('has_any', (h, l) => {
    if (h === null || h === undefined) return 0;
    const hs = String(h).toLowerCase();
    for (const t of lowerList(l)) if (hasTerm(hs, t, true)) return 1;
    return 0;
  });
  fn('has_all', (h, l) => {
    const hs = String(h ?? '').toLowerCase();
    for (const t of lowerList(l)) if (!hasTerm(hs, t, true)) return 0;
    return 1;
  });
  fn('regex_match', (s, p) => {
    const r = re(p);
    return r && s !== null && s !== undefined ? b(r.test(String(s))) : 0;
  });
  fn('extract', (p, g, s) => {
    const r = re(p);
    if (!r || s === null || s === undefined) return null;
    const m = r.exec(String(s));
    return m ? (m[Number(g)] ?? null) : null;
  });
  fn('extract_all', (p, s, groups) => {
    const r0 = re(p);
    if (!r0 || s === null || s === undefined) return null;
    const r = new RE2(r0.source, 'gu');
    const res: unknown[] = [];
    const gl = groups === null || groups === undefined ? null : (asArray(groups) as number[] | null);
    let m: RegExpExecArray | null;
    let guard = 0;
    while ((m = r.exec(String(s))) && guard++ < 100_000) {
      if (m[0] === '') r.lastIndex++;
      if (gl) res.push(gl.map((i) => m![i] ?? ''));
      else if (m.length > 2) res.push(m.slice(1).map((x) => x ?? ''));
      else res.push(m[1] ?? m[0]);
    }
    return res.length ? JSON.stringify(res) : null;
  });
  fn('replace_regex', (s, p, rep) => {
    const r0 = re(p);
    if (!r0 || s === null || s === undefined) return s ?? '';
    const r = new RE2(r0.source, 'gu');
    return String(s).replace(r as unknown as RegExp, String(rep ?? '').replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1'));
  });
  fn('trim', (p, s, mode) => {
    if (s === null || s === undefined) return '';
    const src = (re(p) ?? new RE2('(?!)')).source;
    let v = String(s);
    if (mode !== 2) v = v.replace(new RE2(`^(?:${src})+`, 'u') as unknown as RegExp, '');
    if (mode !== 1) v = v.replace(new RE2(`(?:${src})+$`, 'u') as unknown as RegExp, '');
    return v;
  });
  fn('split', (s, d) => JSON.stringify(String(s ?? '').split(String(d ?? ''))));
  fn('datetime_tostring', (ms) => datetimeToString(ms) ?? '');
  fn('timespan_tostring', (ms) => timespanToString(ms) ?? '');
  fn('dyn_tostring', (v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string' && v.startsWith('"')) {
      try {
        const j = JSON.parse(v);
        if (typeof j === 'string') return j;
      } catch {
        // not a JSON string: keep the text
      }
    }
    return String(v);
  });
  fn('parse_json', (v) => {
    if (typeof v !== 'string') return v ?? null;
    const t = v.trim();
    if (!t || !/^["[{]/.test(t)) return v;
    try {
      let j: unknown = JSON.parse(t);
      if (typeof j === 'string') {
        const inner = j.trim();
        if (/^[[{]/.test(inner)) {
          try {
            j = JSON.parse(inner);
          } catch {
            return j;
          }
        } else return j;
      }
      return typeof j === 'object' && j !== null ? JSON.stringify(j) : (j as number | null);
    } catch {
      return v;
    }
  });
  fn('tolong', tolong);
  fn('toreal', toreal);
  fn('tobool', (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return b(v !== 0);
    const s = String(v).trim().toLowerCase();
    return s === 'true' || s === '1' ? 1 : s === 'false' || s === '0' ? 0 : null;
  });
  fn('todatetime', toDatetime);
  fn('totimespan', toTimespan);
  fn('startof', (u, ms, off) => startOf(String(u), ms, off));
  fn('datetime_add', datetimeAdd);
  fn('datetime_diff', datetimeDiff);
  fn('datetime_part', datetimePart);
  fn('format_datetime', formatDatetime);
  fn('format_timespan', formatTimespan);
  fn('indexof', (s, sub, start) => {
    if (s === null || s === undefined) return -1;
    return String(s).indexOf(String(sub ?? ''), Number(start ?? 0));
  });
  fn('reverse', (s) => [...String(s ?? '')].reverse().join(''));
  fn('strrep', (s, n, d) => Array(Math.max(0, Math.min(Number(n) || 0, 10_000))).fill(String(s ?? '')).join(String(d ?? '')));
  fn('countof', (s, sub, kind) => {
    if (s === null || s === undefined || !sub) return 0;
    if (String(kind) === 'regex') {
      const r0 = re(sub);
      if (!r0) return 0;
      return (String(s).match(new RE2(r0.source, 'gu') as unknown as RegExp) ?? []).length;
    }
    let count = 0;
    let i = String(s).indexOf(String(sub));
    while (i >= 0) {
      count++;
      i = String(s).indexOf(String(sub), i + String(sub).length);
    }
    return count;
  });
  fn('base64_decode', (s) => {
    if (s === null || s === undefined) return '';
    const buf = Buffer.from(String(s), 'base64');
    return buf.toString('utf8');
  });
  fn('base64_encode', (s) => Buffer.from(String(s ?? ''), 'utf8').toString('base64'));
  fn('base64_decode_toarray', (s) => JSON.stringify([...Buffer.from(String(s ?? ''), 'base64')]));
  fn('url_decode', (s) => {
    try {
      return decodeURIComponent(String(s ?? '').replace(/\+/g, ' '));
    } catch {
      return null;
    }
  });
  fn('url_encode', (s) => encodeURIComponent(String(s ?? '')));
  fn('parse_url', parseUrl);
  fn('parse_path', parsePath);
  fn('parse_command_line', parseCommandLine);
  fn('parse_csv', parseCsv);
  fn('parse_user_agent', (s) => JSON.stringify({ UserAgent: String(s ?? '') }));
  fn('parse_version', (s) => {
    const parts = String(s ?? '').split('.').map((x) => Number(x));
    if (!parts.length || parts.length > 4 || parts.some((x) => !Number.isInteger(x) || x < 0)) return null;
    while (parts.length < 4) parts.push(0);
    return parts.reduce((acc, x) => acc * 100_000_000 + x, 0);
  });
  fn('hash', (s, algo) => createHash(String(algo)).update(String(s ?? '')).digest('hex'));
  fn('hash_long', (s, mod) => {
    const h = createHash('sha256').update(String(s ?? '')).digest().readUInt32BE(0);
    return mod === null || mod === undefined ? h : h % Number(mod);
  });
  fn('new_guid', () => randomUUID(), { deterministic: false });
  fn('codepoints_from', (s) => JSON.stringify([...String(s ?? '')].map((ch) => ch.codePointAt(0))));
  fn('codepoints_to', (a) => String.fromCodePoint(...((asArray(a) ?? []) as number[])));
  fn('tohex', (v) => (typeof v === 'number' ? Math.trunc(v).toString(16) : null));
  fn('gettype', gettype);
  fn('format_bytes', (v, precision, unit) => {
    if (typeof v !== 'number') return null;
    const units = ['Bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];
    let i = unit ? Math.max(0, units.indexOf(String(unit))) : 0;
    let x = v / 1024 ** i;
    if (!unit) while (Math.abs(x) >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${x.toFixed(Number(precision) || 0)} ${units[i]}`;
  });
  fn('bag_keys', (v) => {
    const j = toJson(v);
    return j && typeof j === 'object' && !Array.isArray(j) ? JSON.stringify(Object.keys(j)) : null;
  });
  fn('bag_merge', (...bags: unknown[]) => {
    const o: Record<string, unknown> = {};
    for (const bag of bags) {
      const j = toJson(bag);
      if (j && typeof j === 'object' && !Array.isArray(j)) for (const [k, v] of Object.entries(j)) if (!(k in o)) o[k] = v;
    }
    return JSON.stringify(o);
  }, { deterministic: true, varargs: true });
  fn('bag_remove_keys', (bag, keys) => {
    const j = toJson(bag);
    if (!j || typeof j !== 'object' || Array.isArray(j)) return null;
    const o = { ...(j as Record<string, unknown>) };
    for (const k of asArray(keys) ?? []) delete o[String(k)];
    return JSON.stringify(o);
  });
  fn('bag_has_key', (bag, key) => {
    const j = toJson(bag);
    return b(!!j && typeof j === 'object' && !Array.isArray(j) && String(key) in (j as object));
  });
  fn('array_concat', (...arrs: unknown[]) => out(arrs.flatMap((x) => asArray(x) ?? [])), { deterministic: true, varargs: true });
  fn('array_slice', (arr, start, end) => {
    const a = asArray(arr);
    if (!a) return null;
    const s = Number(start) < 0 ? a.length + Number(start) : Number(start);
    const e = Number(end) < 0 ? a.length + Number(end) : Number(end);
    return JSON.stringify(a.slice(Math.max(0, s), e + 1));
  });
  fn('array_index_of', (arr, v) => {
    const a = asArray(arr);
    if (!a) return null;
    return a.findIndex((x) => x === v || String(x) === String(v));
  });
  fn('array_sum', (arr) => (asArray(arr) ?? []).reduce<number>((s, x) => s + (Number(x) || 0), 0));
  fn('array_sort', (arr, desc) => {
    const a = asArray(arr);
    if (!a) return null;
    const sorted = [...a].sort((x, y) => (String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0));
    return JSON.stringify(desc === 1 ? sorted.reverse() : sorted);
  });
  fn('array_reverse', (arr) => out(asArray(arr)?.slice().reverse()));
  fn('strcat_array', (arr, d) => (asArray(arr) ?? []).map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(String(d ?? '')));
  fn('set_op', (op, ...arrs: unknown[]) => {
    const sets = arrs.map((x) => asArray(x) ?? []);
    const key = (x: unknown) => JSON.stringify(x);
    let result: unknown[] = [];
    if (op === 'union') {
      const seen = new Set<string>();
      for (const s of sets) for (const x of s) if (!seen.has(key(x))) {
        seen.add(key(x));
        result.push(x);
      }
    } else if (op === 'intersect') {
      result = [...new Map(sets[0].map((x) => [key(x), x])).values()].filter((x) => sets.every((s) => s.some((y) => key(y) === key(x))));
    } else {
      result = [...new Map(sets[0].map((x) => [key(x), x])).values()].filter((x) => !sets.slice(1).some((s) => s.some((y) => key(y) === key(x))));
    }
    return JSON.stringify(result);
  }, { deterministic: true, varargs: true });
  fn('jaccard', (x, y) => {
    const a = new Set((asArray(x) ?? []).map((v) => JSON.stringify(v)));
    const c = new Set((asArray(y) ?? []).map((v) => JSON.stringify(v)));
    const inter = [...a].filter((v) => c.has(v)).length;
    const uni = new Set([...a, ...c]).size;
    return uni ? inter / uni : 0;
  });
  fn('zip', (...arrs: unknown[]) => {
    const as = arrs.map((x) => asArray(x) ?? []);
    const n = Math.max(0, ...as.map((a) => a.length));
    return JSON.stringify(Array.from({ length: n }, (_, i) => as.map((a) => a[i] ?? null)));
  }, { deterministic: true, varargs: true });
  fn('range', (s, e, st) => {
    const res: number[] = [];
    const step = Number(st) || 1;
    for (let v = Number(s); step > 0 ? v <= Number(e) : v >= Number(e); v += step) {
      res.push(v);
      if (res.length >= 1_000_000) break;
    }
    return JSON.stringify(res);
  });
  fn('repeat', (v, n) => JSON.stringify(Array(Math.max(0, Math.min(Number(n) || 0, 1_000_000))).fill(toJson(v))));
  fn('ipv4_is_private', (ip) => {
    const a = parseIpv4(ip);
    if (a === null) return null;
    return b(ipv4InRange(ip, '10.0.0.0/8') || ipv4InRange(ip, '172.16.0.0/12') || ipv4InRange(ip, '192.168.0.0/16'));
  });
  fn('ipv4_is_in_range', (ip, r) => b(ipv4InRange(ip, r)));
  fn('ipv4_is_in_any_range', (ip, ranges) => b((asArray(ranges) ?? []).some((r) => ipv4InRange(ip, r))));
  fn('parse_ipv4', parseIpv4);
  fn('series_axis', (from, step, n) => {
    const res: string[] = [];
    for (let i = 0; i < Math.min(Number(n), 100_000); i++) res.push(datetimeToString(Number(from) + i * Number(step))!);
    return JSON.stringify(res);
  });

  // Aggregates.
  db.aggregate('kql_any', {
    start: () => ({ set: false, v: null as unknown }),
    step: (acc: { set: boolean; v: unknown }, v: unknown) => {
      if (!acc.set && v !== null && v !== undefined) {
        acc.set = true;
        acc.v = v;
      }
      return acc;
    },
    result: (acc: { v: unknown }) => acc.v as number | string | null,
  });
  db.aggregate('kql_percentile', <any>{
    start: () => ({ values: [] as number[], p: 50 }),
    step: (acc: { values: number[]; p: number }, v: unknown, p: unknown) => {
      if (typeof v === 'number') acc.values.push(v);
      acc.p = Number(p);
      return acc;
    },
    result: (acc: { values: number[]; p: number }) => {
      if (!acc.values.length) return null;
      const s = acc.values.sort((x, y) => x - y);
      const rank = Math.max(0, Math.ceil((acc.p / 100) * s.length) - 1);
      return s[Math.min(rank, s.length - 1)];
    },
  });
  const moments = (sample: boolean, root: boolean) => ({
    start: () => ({ n: 0, sum: 0, sq: 0 }),
    step: (acc: { n: number; sum: number; sq: number }, v: unknown) => {
      if (typeof v === 'number') {
        acc.n++;
        acc.sum += v;
        acc.sq += v * v;
      }
      return acc;
    },
    result: (acc: { n: number; sum: number; sq: number }) => {
      const d = sample ? acc.n - 1 : acc.n;
      if (d <= 0) return acc.n ? 0 : null;
      const variance = (acc.sq - (acc.sum * acc.sum) / acc.n) / d;
      return root ? Math.sqrt(Math.max(0, variance)) : variance;
    },
  });
  db.aggregate('kql_stdev', moments(true, true));
  db.aggregate('kql_variance', moments(true, false));
  db.aggregate('kql_make_bag', {
    start: () => ({} as Record<string, unknown>),
    step: (acc: Record<string, unknown>, v: unknown) => {
      const j = toJson(v);
      if (j && typeof j === 'object' && !Array.isArray(j)) for (const [k, x] of Object.entries(j)) if (!(k in acc)) acc[k] = x;
      return acc;
    },
    result: (acc: Record<string, unknown>) => JSON.stringify(acc),
  });
  db.aggregate('kql_series', <any>{
    start: () => ({ n: 0, def: 0 as unknown, cells: new Map<number, unknown>() }),
    step: (acc: { n: number; def: unknown; cells: Map<number, unknown> }, bin: unknown, v: unknown, n: unknown, def: unknown) => {
      acc.n = Math.min(Number(n), 100_000);
      acc.def = def;
      if (typeof bin === 'number') acc.cells.set(bin, v);
      return acc;
    },
    result: (acc: { n: number; def: unknown; cells: Map<number, unknown> }) =>
      JSON.stringify(Array.from({ length: acc.n }, (_, i) => (acc.cells.has(i) ? acc.cells.get(i) : acc.def))),
  });
}

/** The hook the store's query workers call (SqliteStoreOptions.queryFunctionsModule): functions and read tuning. */
export function registerSqlFunctions(db: BetterSqlite3.Database): void {
  tuneKqlReadConnection(db);
  registerKqlSqliteFunctions(db);
}
