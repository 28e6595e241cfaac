// Sigma string values: wildcards, escaping, and the value-transforming modifiers
// (windash, base64, base64offset, utf16le/wide, utf16be, utf16, expand).
// Escaping (Sigma rules specification v2.1, "Escaping"): `\` escapes only `*`, `?` and `\`;
// a lone backslash before any other character stays literal, so Windows paths can be written as is.

/** A wildcard-aware string: literal chunks and `*` (any run) / `?` (one character) tokens. */
export type SigmaPart = string | { readonly wildcard: '*' | '?' };
export interface SigmaString {
  readonly parts: readonly SigmaPart[];
  /** True when the literal chunks are byte strings (one char per byte), after a UTF-16 encoding. */
  readonly bytes?: boolean;
}

export const STAR: SigmaPart = Object.freeze({ wildcard: '*' as const });
export const QMARK: SigmaPart = Object.freeze({ wildcard: '?' as const });

export function parseSigmaString(text: string): SigmaString {
  const parts: SigmaPart[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const n = text[i + 1];
      if (n === '*' || n === '?' || n === '\\') { lit += n; i++; continue; }
      lit += c;
      continue;
    }
    if (c === '*' || c === '?') {
      if (lit) { parts.push(lit); lit = ''; }
      parts.push(c === '*' ? STAR : QMARK);
      continue;
    }
    lit += c;
  }
  if (lit) parts.push(lit);
  return { parts };
}

/** A plain literal (no wildcards) as a SigmaString. */
export const literal = (s: string): SigmaString => ({ parts: s ? [s] : [] });

/** A pattern that is one literal, whole, or with a `*` before, after or on both sides. */
export interface PlainShape { readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly literal: string }

const isStar = (p: SigmaPart | undefined) => p !== undefined && typeof p !== 'string' && p.wildcard === '*';

/** The plain shape of a pattern, or null when it has `?`, inner `*`s or no literal. */
export function plainShape(s: SigmaString): PlainShape | null {
  const [a, b, c] = s.parts;
  switch (s.parts.length) {
    case 1: return typeof a === 'string' ? { kind: 'exact', literal: a } : null;
    case 2:
      if (typeof a === 'string' && isStar(b)) return { kind: 'prefix', literal: a };
      if (isStar(a) && typeof b === 'string') return { kind: 'suffix', literal: b };
      return null;
    case 3: return isStar(a) && typeof b === 'string' && isStar(c) ? { kind: 'contains', literal: b } : null;
    default: return null;
  }
}

export function hasWildcards(s: SigmaString): boolean {
  return s.parts.some((p) => typeof p !== 'string');
}

export function plainText(s: SigmaString): string {
  return s.parts.map((p) => (typeof p === 'string' ? p : p.wildcard)).join('');
}

function normalise(parts: SigmaPart[]): SigmaPart[] {
  const out: SigmaPart[] = [];
  for (const p of parts) {
    if (typeof p === 'string') {
      if (!p) continue;
      const last = out[out.length - 1];
      if (typeof last === 'string') out[out.length - 1] = last + p;
      else out.push(p);
    } else if (p === STAR || p.wildcard === '*') {
      const last = out[out.length - 1];
      if (last !== undefined && typeof last !== 'string' && last.wildcard === '*') continue;
      out.push(STAR);
    } else out.push(QMARK);
  }
  return out;
}

export function withWildcards(s: SigmaString, before: boolean, after: boolean): SigmaString {
  const parts = [...s.parts];
  if (before) parts.unshift(STAR);
  if (after) parts.push(STAR);
  return { parts: normalise(parts), bytes: s.bytes };
}

// windash: pySigma rewrites a `-` or `/` that starts a word (regex \B[-/]\b) into every dash variant.
const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];
const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

export function windash(s: SigmaString): SigmaString[] {
  // Flatten to a char list with wildcard markers, find dash positions, then permute.
  type Cell = string | SigmaPart;
  const cells: Cell[] = [];
  for (const p of s.parts) {
    if (typeof p === 'string') for (const ch of p) cells.push(ch);
    else cells.push(p);
  }
  const positions: number[] = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (c !== '-' && c !== '/') continue;
    const prev = cells[i - 1];
    const next = cells[i + 1];
    const prevWord = typeof prev === 'string' && isWordChar(prev);
    const nextWord = typeof next === 'string' && isWordChar(next);
    if (!prevWord && nextWord) positions.push(i);
  }
  if (positions.length === 0) return [s];
  const limited = positions.slice(0, 4); // 5^4 = 625 variants at most
  const out: SigmaString[] = [];
  const total = DASHES.length ** limited.length;
  for (let k = 0; k < total; k++) {
    const copy = [...cells];
    let r = k;
    for (const pos of limited) { copy[pos] = DASHES[r % DASHES.length]!; r = Math.floor(r / DASHES.length); }
    const parts: SigmaPart[] = copy.map((c) => c);
    out.push({ parts: normalise(parts), bytes: s.bytes });
  }
  return out;
}

function toBytes(s: SigmaString, modifier: string): Buffer {
  if (hasWildcards(s)) throw new Error(`"${modifier}" cannot encode a value with wildcards`);
  const text = s.parts.join('');
  return s.bytes ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
}

export function base64(s: SigmaString): SigmaString {
  return literal(toBytes(s, 'base64').toString('base64'));
}

/** The three shift variants whose static middle part survives at any byte offset (pySigma's base64offset). */
export function base64offset(s: SigmaString): SigmaString[] {
  const value = toBytes(s, 'base64offset');
  const start = [0, 2, 3];
  const endCut = [0, 3, 2];
  const out: SigmaString[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i, 0x20), value]).toString('base64');
    const cut = endCut[(value.length + i) % 3]!;
    out.push(literal(enc.slice(start[i], cut ? enc.length - cut : enc.length)));
  }
  return out;
}

function encodeParts(s: SigmaString, enc: (text: string) => string, prefix = ''): SigmaString {
  if (s.bytes) throw new Error('value is already encoded');
  const parts = s.parts.map((p) => (typeof p === 'string' ? enc(p) : p));
  if (prefix) parts.unshift(prefix);
  return { parts: normalise(parts), bytes: true };
}

const utf16le = (t: string) => Buffer.from(t, 'utf16le').toString('latin1');
const utf16be = (t: string) => {
  const b = Buffer.from(t, 'utf16le');
  for (let i = 0; i + 1 < b.length; i += 2) { const x = b[i]!; b[i] = b[i + 1]!; b[i + 1] = x; }
  return b.toString('latin1');
};

export const encodeUtf16le = (s: SigmaString) => encodeParts(s, utf16le);
export const encodeUtf16be = (s: SigmaString) => encodeParts(s, utf16be);
export const encodeUtf16 = (s: SigmaString) => encodeParts(s, utf16le, '\xff\xfe');

/** A `%name%` placeholder with no configured values. */
export class MissingPlaceholderError extends Error {
  constructor(readonly placeholder: string) { super(`placeholder ${placeholder} has no configured value`); }
}

/**
 * `expand`: replace `%name%` placeholders with each configured value (a value list, pySigma's
 * ValueListPlaceholderTransformation). `\%` is a literal percent sign. Unknown placeholders throw:
 * the spec says a tool that cannot resolve a placeholder must reject the rule.
 */
export function expand(raw: string, placeholders: Readonly<Record<string, readonly string[]>>): string[] {
  const re = /(?<!\\)%([A-Za-z0-9_\-.]+)%/;
  const m = re.exec(raw);
  if (!m) return [raw.replace(/\\%/g, '%')];
  const key = m[1]!;
  const values = placeholders[`%${key}%`] ?? placeholders[key];
  if (!values) throw new MissingPlaceholderError(`%${key}%`);
  const out: string[] = [];
  for (const v of values) {
    for (const rest of expand(raw.slice(m.index + m[0].length), placeholders)) {
      out.push(raw.slice(0, m.index).replace(/\\%/g, '%') + v + rest);
    }
  }
  return out;
}

/**
 * Compile a SigmaString into a test over a string. For case-insensitive use, pass a lower-cased
 * value (the caller lower-cases the field once per event). Linear-time: no backtracking.
 */
export function compileStringTest(s: SigmaString, caseSensitive: boolean): (v: string) => boolean {
  const conv = (p: string) => (caseSensitive ? p : p.toLowerCase());
  const parts = s.parts.map((p) => (typeof p === 'string' ? conv(p) : p));
  const n = parts.length;
  if (n === 0) return (v) => v.length === 0;
  if (n === 1 && isStar(parts[0])) return () => true; // lone '*'
  const shape = plainShape({ parts });
  if (shape !== null) {
    const l = shape.literal;
    switch (shape.kind) {
      case 'exact': return (v) => v === l;
      case 'prefix': return (v) => v.startsWith(l);
      case 'suffix': return (v) => v.endsWith(l);
      case 'contains': return (v) => v.includes(l);
    }
  }
  // General glob: segments between '*' (each may contain '?'), matched greedily left to right.
  // Leftmost placement of each fixed-length segment is always safe, so this is exact and O(n·m).
  const segments: (string | null)[][] = [[]];
  for (const p of parts) {
    if (isStar(p)) segments.push([]);
    else if (typeof p === 'string') segments[segments.length - 1]!.push(...p.split(''));
    else segments[segments.length - 1]!.push(null);
  }
  const anchoredStart = !isStar(parts[0]);
  const anchoredEnd = !isStar(parts[n - 1]);
  const segs = segments.map((seg) => ({ chars: seg, plain: seg.every((c) => c !== null) ? seg.join('') : null }));
  const matchAt = (v: string, seg: (typeof segs)[number], at: number) => {
    if (at + seg.chars.length > v.length) return false;
    for (let i = 0; i < seg.chars.length; i++) { const c = seg.chars[i]; if (c !== null && v[at + i] !== c) return false; }
    return true;
  };
  const find = (v: string, seg: (typeof segs)[number], from: number): number => {
    if (seg.plain !== null) return v.indexOf(seg.plain, from);
    for (let at = from; at + seg.chars.length <= v.length; at++) if (matchAt(v, seg, at)) return at;
    return -1;
  };
  return (v) => {
    let pos = 0;
    let first = 0;
    let last = segs.length - 1;
    if (anchoredStart) { if (!matchAt(v, segs[0]!, 0)) return false; pos = segs[0]!.chars.length; first = 1; }
    if (segs.length === 1) return pos === v.length; // no star at all: exact length
    let endLimit = v.length;
    if (anchoredEnd) {
      const tail = segs[last]!;
      const at = v.length - tail.chars.length;
      if (at < pos || !matchAt(v, tail, at)) return false;
      endLimit = at;
      last -= 1;
    }
    for (let i = first; i <= last; i++) {
      const seg = segs[i]!;
      const at = find(v, seg, pos);
      if (at < 0 || at + seg.chars.length > endLimit) return false;
      pos = at + seg.chars.length;
    }
    return true;
  };
}

/** The longest wildcard-free run, lower-cased: a value matching the pattern must contain it. */
export function requiredLiteral(s: SigmaString): string {
  let best = '';
  for (const p of s.parts) if (typeof p === 'string' && p.length > best.length) best = p;
  return best.toLowerCase();
}
