// Detection section + condition tree → a matcher closure, and the prefilter "needs" of each rule:
// sets of (field, literal) atoms such that the rule can only match when at least one atom's
// lower-cased literal occurs in its field. A rule usually has several such sets (one per ANDed
// part); the engine indexes one and skips the rule cheaply on events that hold none of its atoms.
import RE2 from 're2';
import { RuleCompileError } from '../errors.js';
import { expandPattern, visitCondition, type ConditionNode } from './condition-nodes.js';
import { parseCondition, ConditionSyntaxError } from './condition-parser.js';
import { compileCidr, parseIp } from './ip.js';
import { compileLiteralSet, GROUP_MIN } from './literal-set.js';
import { boundedRegExp } from './bounded-regex.js';
import { regexLiterals } from './regex-literals.js';
import {
  MissingPlaceholderError, base64, base64offset, compileStringTest, encodeUtf16, encodeUtf16be, encodeUtf16le, expand, hasWildcards,
  parseSigmaString, plainShape, plainText, requiredLiteral, windash, withWildcards, type SigmaString,
} from './sigma-value.js';

/** What a compiled rule reads from an event. Field ids are interned by the engine's FieldTable. */
export interface FieldAccess {
  /** The raw value; undefined when the field is absent. */
  value(id: number): unknown;
  /** The value as lower-cased text (arrays element-wise); null when absent or null. Cached per event. */
  lower(id: number): string | readonly string[] | null;
  /** The value as text, original case. */
  text(id: number): string | readonly string[] | null;
  /** Every string value of the event, lower-cased (keyword search). */
  keywordTexts(): readonly string[];
  /** Every string value of the event, original case. */
  keywordTextsCased(): readonly string[];
}

export interface FieldTable {
  intern(name: string): number;
  name(id: number): string;
}

export type Predicate = (ctx: FieldAccess) => boolean;

/** Field id of keyword atoms: the literal may occur in any field of the event. */
export const ANY_FIELD = -1;

/**
 * A literal (lower-cased, non-empty) that must occur in a field for some branch to match.
 * `exact`: the whole value equals it; `suffix`: the value ends with it; otherwise it occurs anywhere.
 */
export interface Atom { readonly field: number; readonly literal: string; readonly kind?: 'exact' | 'suffix' }

/** The atom a string pattern guarantees: exact, suffix, or its longest literal run. */
function atomFor(field: number, s: SigmaString): Atom | null {
  const shape = plainShape(s);
  if (shape?.kind === 'exact' || shape?.kind === 'suffix') return { field, literal: shape.literal.toLowerCase(), kind: shape.kind };
  const lit = requiredLiteral(s);
  return lit ? { field, literal: lit } : null;
}
/** A disjunction of atoms: the rule can only match when one of them occurs. */
export type Need = readonly Atom[];
/**
 * Alternative needs, each one necessary on its own (from the parts of an AND), best first by a static
 * guess (longer literals, then fewer atoms); empty when the rule offers no usable necessary condition.
 */
export type Needs = readonly Need[];

export interface CompiledDetection {
  readonly match: Predicate;
  readonly needs: Needs;
  /**
   * The EventID values (as lower-cased text) the rule can match at all, or null when it is not bound
   * to a fixed list: the engine leaves the rule out of every other EventID's bucket.
   */
  readonly eventIds: ReadonlySet<string> | null;
  /** Field ids the rule reads (for field mapping checks). */
  readonly fields: readonly number[];
}

export interface CompileOptions {
  readonly fields: FieldTable;
  readonly placeholders: Readonly<Record<string, readonly string[]>>;
  /**
   * Collects placeholders that have no configured values. When given, such a value compiles to no
   * test (the rule is complete only once they are configured); when absent, the rule is rejected.
   */
  readonly missingPlaceholders?: Set<string>;
}

const TRANSFORMS = new Set(['windash', 'base64', 'base64offset', 'wide', 'utf16le', 'utf16be', 'utf16']);
const POSITION = new Set(['contains', 'startswith', 'endswith']);
const NUMERIC = new Set(['lt', 'lte', 'gt', 'gte']);
const TIME_PARTS = new Set(['minute', 'hour', 'day', 'week', 'month', 'year']);
const RE_FLAGS: Record<string, string> = { i: 'i', ignorecase: 'i', m: 'm', multiline: 'm', s: 's', dotall: 's' };
const OTHER = new Set(['all', 'cased', 'neq', 'exists', 're', 'cidr', 'expand', 'fieldref']);

const TRUE: Predicate = () => true;
const FALSE: Predicate = () => false;

/** Alternatives kept per rule part: enough for the engine to find a rare one, few enough to stay cheap. */
const MAX_ALTERNATIVES = 8;
const shortest = (n: Need) => { let m = Infinity; for (const a of n) m = Math.min(m, a.literal.length); return m; };
/** The static guess: a need whose shortest literal is longer is rarer; then one with fewer atoms. */
const byGuess = (a: Need, b: Need) => shortest(b) - shortest(a) || a.length - b.length;
function ranked(needs: Need[]): Needs {
  return needs.sort(byGuess).slice(0, MAX_ALTERNATIVES);
}
/** Parts ANDed: each part's alternatives are necessary for the whole. */
function allOf(parts: readonly Needs[]): Needs {
  return ranked(parts.flat());
}
/** Parts ORed: only an alternative of each part, joined, is necessary for the whole. */
function anyOf(parts: readonly Needs[]): Needs {
  if (parts.length === 0) return [];
  let out: Needs = parts[0]!;
  for (let i = 1; i < parts.length && out.length > 0; i++) {
    const next: Need[] = [];
    for (const a of out) for (const b of parts[i]!) next.push([...a, ...b]);
    out = ranked(next);
  }
  return out;
}
/** One value's atom (or none) as alternatives. */
const single = (atoms: Need | null): Needs => (atoms === null ? [] : [atoms]);

function anyText(v: string | readonly string[], test: (s: string) => boolean): boolean {
  if (typeof v === 'string') return test(v);
  for (const s of v) if (test(s)) return true;
  return false;
}

function scalarText(v: unknown, path: (string | number)[]): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  throw new RuleCompileError('a value must be a string, number or boolean', path);
}

/** Date-part extraction for the time modifiers (UTC, no format conversion; Sigma v2.1 "Time Modifiers"). */
function datePart(v: unknown, part: string): number | undefined {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const t = /^\d{4}-\d\d-\d\d \d/.test(v) ? v.replace(' ', 'T') : v;
    ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) || !t.includes('T') ? t : `${t}Z`);
  } else if (v instanceof Date) ms = v.getTime();
  else return undefined;
  if (Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  switch (part) {
    case 'minute': return d.getUTCMinutes();
    case 'hour': return d.getUTCHours();
    case 'day': return d.getUTCDate();
    case 'month': return d.getUTCMonth() + 1;
    case 'year': return d.getUTCFullYear();
    case 'week': { // ISO 8601 week number
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const day = t.getUTCDay() || 7;
      t.setUTCDate(t.getUTCDate() + 4 - day);
      const y0 = Date.UTC(t.getUTCFullYear(), 0, 1);
      return Math.ceil(((t.getTime() - y0) / 86400000 + 1) / 7);
    }
    default: return undefined;
  }
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case 'lt': return a < b;
    case 'lte': return a <= b;
    case 'gt': return a > b;
    case 'gte': return a >= b;
    default: return a === b;
  }
}

interface ItemResult { readonly match: Predicate; readonly needs: Needs; readonly field?: number; readonly eventIds?: ReadonlySet<string> | null }

/** EventID sets: both must hold (intersection; an unbound side is no constraint). */
function bothIds(a: ReadonlySet<string> | null | undefined, b: ReadonlySet<string> | null | undefined): ReadonlySet<string> | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return new Set([...a].filter((x) => b.has(x)));
}
/** EventID sets: either may hold (union; an unbound side unbinds the result). */
function eitherIds(a: ReadonlySet<string> | null | undefined, b: ReadonlySet<string> | null | undefined): ReadonlySet<string> | null {
  return a && b ? new Set([...a, ...b]) : null;
}

/** `EventID: 4624` / `EventID: [4624, 4625]` without modifiers or wildcards binds the EventID. */
function eventIdsOf(key: string, rawValue: unknown): ReadonlySet<string> | null {
  if (key !== 'EventID') return null;
  const values = Array.isArray(rawValue) ? rawValue : [rawValue];
  if (values.length === 0) return null;
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v === 'number' && Number.isFinite(v)) out.add(String(v));
    else if (typeof v === 'string' && !/[*?\\]/.test(v) && v !== '') out.add(v.toLowerCase());
    else return null;
  }
  return out;
}

/** One `Field|mod|mod: value(s)` item of a selection (or a field-less keyword item). */
function compileItem(key: string, rawValue: unknown, opts: CompileOptions, path: (string | number)[]): ItemResult {
  const [fieldName, ...mods] = key.split('|');
  const field = fieldName ? opts.fields.intern(fieldName) : undefined;
  const set = new Set(mods);
  for (const m of mods) {
    if (!(TRANSFORMS.has(m) || POSITION.has(m) || NUMERIC.has(m) || TIME_PARTS.has(m) || OTHER.has(m) || (m in RE_FLAGS && set.has('re')))) {
      throw new RuleCompileError(`unknown modifier "${m}"`, path);
    }
  }
  const values: unknown[] = Array.isArray(rawValue) ? rawValue : [rawValue];
  if (values.length === 0) throw new RuleCompileError('an empty value list never matches', path);
  const all = set.has('all');
  const cased = set.has('cased');
  const neq = set.has('neq');
  const fail = (msg: string): never => { throw new RuleCompileError(msg, path); };

  // --- exists: presence only (Sigma v2.1 "exists") ---
  if (set.has('exists')) {
    if (field === undefined) fail('"exists" needs a field');
    if (values.length !== 1 || typeof values[0] !== 'boolean') fail('"exists" takes true or false');
    const want = values[0] as boolean;
    return { match: (c) => (c.value(field!) !== undefined) === want, needs: [], field };
  }

  const combine = (tests: Predicate[], valueNeeds: (Need | null)[]): ItemResult => {
    let match: Predicate;
    if (tests.length === 1) match = tests[0]!;
    else if (all) match = (c) => { for (const t of tests) if (!t(c)) return false; return true; };
    else match = (c) => { for (const t of tests) if (t(c)) return true; return false; };
    const needs = all ? allOf(valueNeeds.map(single)) : anyOf(valueNeeds.map(single));
    if (neq) {
      // neq: the field differs from every listed value; an absent field differs too (Hayabusa's reading).
      const inner = match;
      return { match: (c) => !inner(c), needs: [], field };
    }
    return { match, needs, field };
  };

  // --- fieldref: compare with another field of the same event ---
  if (set.has('fieldref')) {
    if (field === undefined) fail('"fieldref" needs a field');
    const tests: Predicate[] = values.map((v, i) => {
      const other = opts.fields.intern(scalarText(v, [...path, i]));
      const pos = set.has('contains') ? 'contains' : set.has('startswith') ? 'startswith' : set.has('endswith') ? 'endswith' : 'eq';
      const get = cased ? (c: FieldAccess, id: number) => c.text(id) : (c: FieldAccess, id: number) => c.lower(id);
      return (c) => {
        const a = get(c, field!); const b = get(c, other);
        if (a === null || b === null) return false;
        const bs = typeof b === 'string' ? [b] : b;
        return anyText(a, (s) => bs.some((t) => (pos === 'contains' ? s.includes(t) : pos === 'startswith' ? s.startsWith(t) : pos === 'endswith' ? s.endsWith(t) : s === t)));
      };
    });
    return combine(tests, tests.map(() => null));
  }

  // --- numeric comparison and time parts ---
  const numOp = mods.find((m) => NUMERIC.has(m));
  const timePart = mods.find((m) => TIME_PARTS.has(m));
  if (numOp || timePart) {
    if (field === undefined) fail(`"${numOp ?? timePart}" needs a field`);
    const tests: Predicate[] = values.map((v, i) => {
      const n = typeof v === 'number' ? v : toNumber(v);
      if (Number.isNaN(n)) fail(`"${numOp ?? timePart}" needs a number (item ${i})`);
      const op = numOp ?? 'eq';
      return (c) => {
        const raw = c.value(field!);
        const vals = Array.isArray(raw) ? raw : [raw];
        for (const x of vals) {
          const got = timePart ? datePart(x, timePart) : toNumber(x);
          if (got !== undefined && !Number.isNaN(got) && compare(op, got, n)) return true;
        }
        return false;
      };
    });
    return combine(tests, tests.map(() => null));
  }

  // --- cidr ---
  if (set.has('cidr')) {
    if (field === undefined) fail('"cidr" needs a field');
    const ranges = values.map((v, i) => {
      try { return compileCidr(scalarText(v, [...path, i])); } catch (e) { return fail((e as Error).message); }
    });
    // Parse the field's address once per item, then test every range.
    const inRange = (ip: Uint8Array, k: number) => ranges[k]!(ip);
    const tests: Predicate[] = ranges.map((_, k) => (c) => {
      const t = c.text(field!);
      if (t === null) return false;
      return anyText(t, (s) => { const ip = parseIp(s); return ip !== undefined && inRange(ip, k); });
    });
    if (!all && !neq) {
      return {
        match: (c) => {
          const t = c.text(field!);
          if (t === null) return false;
          return anyText(t, (s) => { const ip = parseIp(s); if (ip === undefined) return false; for (const r of ranges) if (r(ip)) return true; return false; });
        },
        needs: [], field,
      };
    }
    return combine(tests, tests.map(() => null));
  }

  // --- re ---
  if (set.has('re')) {
    let flags = '';
    for (const m of mods) if (m in RE_FLAGS && !flags.includes(RE_FLAGS[m]!)) flags += RE_FLAGS[m];
    const reNeeds: (Need | null)[] = [];
    const tests: Predicate[] = values.map((v, i) => {
      let src = scalarText(v, [...path, i]);
      if (set.has('startswith')) src = `^(?:${src})`;
      if (set.has('endswith')) src = `(?:${src})$`;
      let re: { test(s: string): boolean };
      // RE2 decides what is valid; a pattern that provably cannot backtrack badly then runs on V8's engine.
      try { re = new RE2(src, flags); } catch (e) { return fail(`bad regular expression: ${(e as Error).message}`); }
      re = boundedRegExp(src, flags) ?? re;
      const lits = regexLiterals(src);
      reNeeds.push(lits === null ? null : lits.map((literal) => ({ field: field ?? ANY_FIELD, literal })));
      if (field === undefined) return (c) => c.keywordTextsCased().some((s) => re.test(s));
      // A call into RE2 costs about a microsecond; a text holding none of the regex's necessary
      // literals (ASCII ones, compared lower-cased) cannot match, so most texts never get there.
      const must = lits !== null && lits.every((l) => /^[\x00-\x7f]+$/.test(l)) ? lits : null;
      const mayMatch = (lower: string) => { for (const l of must!) if (lower.includes(l)) return true; return false; };
      if (must !== null) {
        return (c) => {
          const lower = c.lower(field);
          if (lower === null || !anyText(lower, mayMatch)) return false;
          const t = c.text(field)!;
          return anyText(t, (s) => re.test(s));
        };
      }
      return (c) => { const t = c.text(field); return t !== null && anyText(t, (s) => re.test(s)); };
    });
    return combine(tests, reNeeds);
  }

  // --- string values (with wildcards and the transforming modifiers) ---
  const tests: Predicate[] = [];
  const needs: (Need | null)[] = [];
  const compiledStrings: SigmaString[] = [];
  values.forEach((v, i) => {
    const vpath = Array.isArray(rawValue) ? [...path, i] : path;
    if (v === null || v === undefined) {
      if (field === undefined) fail('a keyword cannot be null');
      // null: the field is absent or null (or rendered empty).
      tests.push((c) => { const x = c.value(field!); return x === undefined || x === null || x === ''; });
      needs.push(null);
      return;
    }
    const text = scalarText(v, vpath);
    let raws = [text];
    if (set.has('expand')) {
      try { raws = expand(text, opts.placeholders); } catch (e) {
        if (e instanceof MissingPlaceholderError && opts.missingPlaceholders) { opts.missingPlaceholders.add(e.placeholder); raws = []; }
        else fail((e as Error).message);
      }
    }
    for (const raw of raws) {
      let strings: SigmaString[] = [parseSigmaString(raw)];
      for (const m of mods) {
        try {
          strings = strings.flatMap((s) => applyTransform(m, s));
        } catch (e) { fail(`${m}: ${(e as Error).message}`); }
      }
      if (field === undefined) strings = strings.map((s) => withWildcards(s, true, true)); // keywords: anywhere
      compiledStrings.push(...strings);
    }
  });
  // Case-insensitive lists of plain patterns (not |all) become one grouped test; the rest test one by one.
  const grouped = !cased && !all ? compiledStrings.filter((s) => plainShape(s) !== null && plainText(s) !== '') : [];
  const group = grouped.length >= GROUP_MIN ? compileLiteralSet(grouped.map((s) => plainShape(s)!)) : null;
  const inGroup = new Set(group !== null ? grouped : []);
  if (group !== null) {
    tests.push(field === undefined
      ? (c) => c.keywordTexts().some(group)
      : (c) => { const t = c.lower(field); return t !== null && anyText(t, group); });
  }
  for (const s of compiledStrings) {
    const test = inGroup.has(s) ? null : compileStringTest(s, cased);
    const literalEmpty = plainText(s) === '';
    if (field === undefined) {
      if (test !== null) tests.push(cased ? (c) => c.keywordTextsCased().some(test) : (c) => c.keywordTexts().some(test));
      const lit = requiredLiteral(s);
      needs.push(lit ? [{ field: ANY_FIELD, literal: lit }] : null);
    } else if (cased) {
      if (test !== null) tests.push((c) => { const t = c.text(field); return t !== null && anyText(t, test); });
      const atom = atomFor(field, s);
      needs.push(atom ? [atom] : null);
    } else {
      // '' matches an empty value, including one rendered as null by the event source.
      if (test !== null) {
        tests.push(literalEmpty
          ? (c) => { const x = c.value(field); return x === '' || x === null; }
          : (c) => { const t = c.lower(field); return t !== null && anyText(t, test); });
      }
      const atom = atomFor(field, s);
      needs.push(atom ? [atom] : null);
    }
  }
  if (all && tests.length !== values.length) {
    // |all with multi-variant transforms: AND over values, OR over each value's variants.
    return compileAllWithVariants(key, rawValue, opts, path);
  }
  return { ...combine(tests, needs), eventIds: eventIdsOf(key, rawValue) };
}

function applyTransform(m: string, s: SigmaString): SigmaString[] {
  switch (m) {
    case 'contains': return [withWildcards(s, true, true)];
    case 'startswith': return [withWildcards(s, false, true)];
    case 'endswith': return [withWildcards(s, true, false)];
    case 'windash': return windash(s);
    case 'base64': return [base64(s)];
    case 'base64offset': return base64offset(s);
    case 'wide': case 'utf16le': return [encodeUtf16le(s)];
    case 'utf16be': return [encodeUtf16be(s)];
    case 'utf16': return [encodeUtf16(s)];
    default: return [s];
  }
}

function compileAllWithVariants(key: string, rawValue: unknown, opts: CompileOptions, path: (string | number)[]): ItemResult {
  const base = key.split('|').filter((m) => m !== 'all').join('|');
  const values = rawValue as unknown[];
  const parts = values.map((v, i) => compileItem(base, [v], opts, [...path, i]));
  const tests = parts.map((p) => p.match);
  return { match: (c) => { for (const t of tests) if (!t(c)) return false; return true; }, needs: allOf(parts.map((p) => p.needs)), field: parts[0]?.field };
}

/** A search identifier's value: a map (AND), a list of maps (OR), or a keyword list. */
function compileIdentifier(value: unknown, opts: CompileOptions, path: (string | number)[]): ItemResult {
  if (value === null || value === undefined) throw new RuleCompileError('a search identifier cannot be empty', path);
  if (Array.isArray(value)) {
    if (value.length === 0) throw new RuleCompileError('a search identifier cannot be an empty list', path);
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      const parts = value.map((v, i) => compileMap(v as Record<string, unknown>, opts, [...path, i]));
      let eventIds = parts[0]!.eventIds ?? null;
      for (let i = 1; i < parts.length; i++) eventIds = eitherIds(eventIds, parts[i]!.eventIds);
      const preds = parts.map((p) => p.match);
      return { match: preds.length === 1 ? preds[0]! : (c) => { for (const p of preds) if (p(c)) return true; return false; }, needs: anyOf(parts.map((p) => p.needs)), eventIds };
    }
    if (value.some((v) => v !== null && typeof v === 'object')) throw new RuleCompileError('a list must hold only maps or only values', path);
    return compileItem('', value, opts, path);
  }
  if (typeof value === 'object' && !(value instanceof Date)) return compileMap(value as Record<string, unknown>, opts, path);
  return compileItem('', [value], opts, path);
}

function compileMap(map: Record<string, unknown>, opts: CompileOptions, path: (string | number)[]): ItemResult {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new RuleCompileError('an empty selection never matches', path);
  const items = entries.map(([k, v]) => compileItem(k, v, opts, [...path, k]));
  let eventIds: ReadonlySet<string> | null = null;
  for (const it of items) eventIds = bothIds(eventIds, it.eventIds);
  const needs = allOf(items.map((it) => it.needs));
  const preds = items.map((it) => it.match);
  let match: Predicate;
  if (preds.length === 1) match = preds[0]!;
  else if (preds.length === 2) { const [a, b] = preds as [Predicate, Predicate]; match = (c) => a(c) && b(c); }
  else match = (c) => { for (const p of preds) if (!p(c)) return false; return true; };
  return { match, needs, eventIds };
}

/**
 * Compile a detection (or filter) section. `conditions` is the list form (ORed).
 * Throws RuleCompileError with a path relative to the section.
 */
export function compileDetection(
  detection: Readonly<Record<string, unknown>>, conditions: readonly string[], opts: CompileOptions,
): CompiledDetection {
  const identifiers = Object.keys(detection);
  const compiled = new Map<string, ItemResult>();
  const used = new Set<number>();
  const get = (name: string): ItemResult => {
    let r = compiled.get(name);
    if (!r) {
      if (!(name in detection)) throw new RuleCompileError(`condition names unknown identifier "${name}"`, ['condition']);
      r = compileIdentifier(detection[name], opts, [name]);
      compiled.set(name, r);
    }
    return r;
  };
  const results = conditions.map((text, ci) => {
    let tree: ConditionNode;
    try { tree = parseCondition(text); } catch (e) {
      if (e instanceof ConditionSyntaxError) throw new RuleCompileError(`condition: ${e.message} (at offset ${e.offset})`, conditions.length > 1 ? ['condition', ci] : ['condition']);
      throw e;
    }
    return compileNode(tree, identifiers, get);
  });
  for (const r of compiled.values()) if (r.field !== undefined) used.add(r.field);
  let match: Predicate = results[0]!.match;
  let eventIds = results[0]!.eventIds ?? null;
  for (let i = 1; i < results.length; i++) {
    const a = match; const b = results[i]!.match;
    match = (c) => a(c) || b(c);
    eventIds = eitherIds(eventIds, results[i]!.eventIds);
  }
  return { match, needs: anyOf(results.map((r) => r.needs)), eventIds, fields: [...used] };
}

function compileNode(tree: ConditionNode, identifiers: readonly string[], get: (n: string) => ItemResult): ItemResult {
  return visitCondition<ItemResult>(tree, {
    and: (n) => {
      const a = compileNode(n.left, identifiers, get); const b = compileNode(n.right, identifiers, get);
      const am = a.match; const bm = b.match;
      return { match: (c) => am(c) && bm(c), needs: allOf([a.needs, b.needs]), eventIds: bothIds(a.eventIds, b.eventIds) };
    },
    or: (n) => {
      const a = compileNode(n.left, identifiers, get); const b = compileNode(n.right, identifiers, get);
      const am = a.match; const bm = b.match;
      return { match: (c) => am(c) || bm(c), needs: anyOf([a.needs, b.needs]), eventIds: eitherIds(a.eventIds, b.eventIds) };
    },
    not: (n) => {
      const a = compileNode(n.operand, identifiers, get); const am = a.match;
      return { match: (c) => !am(c), needs: [] };
    },
    ref: (n) => get(n.name),
    quantified: (n) => {
      const names = expandPattern(n.pattern, identifiers);
      if (names.length === 0) throw new RuleCompileError(`"${n.quantifier === 'all' ? 'all' : '1'} of ${n.pattern}" matches no identifier`, ['condition']);
      const parts = names.map(get);
      const preds = parts.map((p) => p.match);
      if (n.quantifier === 'all') {
        let eventIds: ReadonlySet<string> | null = null;
        for (const p of parts) eventIds = bothIds(eventIds, p.eventIds);
        return { match: preds.length === 1 ? preds[0]! : (c) => { for (const p of preds) if (!p(c)) return false; return true; }, needs: allOf(parts.map((p) => p.needs)), eventIds };
      }
      let eventIds = parts[0]!.eventIds ?? null;
      for (let i = 1; i < parts.length; i++) eventIds = eitherIds(eventIds, parts[i]!.eventIds);
      return { match: preds.length === 1 ? preds[0]! : (c) => { for (const p of preds) if (p(c)) return true; return false; }, needs: anyOf(parts.map((p) => p.needs)), eventIds };
    },
  });
}

export { TRUE as ALWAYS_TRUE, FALSE as ALWAYS_FALSE, hasWildcards };
