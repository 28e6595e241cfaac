// Flattening evtx_dump events into one level, as Sigma's Windows taxonomy names fields: System
// fields joined with '_' (Provider_Name, Execution_ProcessID), EventData/UserData fields by their own
// names. Two readers give the same result: one walks a parsed event; one reads the JSON text of the
// common shape directly (no nested objects are built), and hands anything else to the first.
import { holdsAt, ownCopy, ShapeTrie, type Json, type Shape } from './flat-shapes.js';

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** evtx_dump puts a value with attributes as { '#text': v, '#attributes': {…} }. */
function scalar(value: unknown): unknown {
  return isObject(value) && '#text' in value ? value['#text'] : value;
}

// Field names are the same few hundred strings in every event: joined and cleaned names are cached,
// so flattening builds no new strings per event, and the shape trie sees the same name objects. The
// trie also remembers the names made on each path (ShapeTrie.name), so these maps are rarely asked.
const joinedNames = new Map<string, Map<string, string>>();
function joined(prefix: string, key: string): string {
  let byKey = joinedNames.get(prefix);
  if (byKey === undefined) { byKey = new Map(); joinedNames.set(prefix, byKey); }
  let name = byKey.get(key);
  if (name === undefined) { name = prefix ? `${prefix}_${key}` : key; if (byKey.size < 10_000) byKey.set(key, name); }
  return name;
}
const cleanNames = new Map<string, string>();
function clean(key: string): string {
  let name = cleanNames.get(key);
  if (name === undefined) { name = key.replace(/\s+/g, ''); if (cleanNames.size < 10_000) cleanNames.set(key, name); }
  return name;
}

/** The prefix of data field names (no real prefix can be this: it is not a joined System name). */
const DATA = '\u0000';
const cleaned = (_: string, key: string) => clean(key);

/** The flat fields of the event being flattened: names go to the shape trie, values here, in walk order. */
const shapes = new ShapeTrie();
const values: unknown[] = [];
function emit(name: string, value: unknown): void {
  shapes.add(name);
  values.push(name === 'EventID' ? eventIdValue(value) : value);
}

/** evtx_dump may give the EventID as text; Sigma rules and the mappings compare it as a number. */
function eventIdValue(value: unknown): unknown {
  return value !== undefined && typeof value !== 'number' && /^\d+$/.test(String(value)) ? Number(value) : value;
}

/** System fields joined with '_' (Provider_Name, Execution_ProcessID), as Sigma's Windows taxonomy names them. */
function flattenSystem(node: unknown, prefix: string): void {
  if (!isObject(node)) {
    if (prefix) emit(prefix, node);
    return;
  }
  if ('#text' in node) emit(prefix, node['#text']);
  for (const key in node) {
    if (key === '#text') continue;
    flattenSystem(node[key], key === '#attributes' ? prefix : shapes.name(prefix, key, joined));
  }
}

/** EventData/UserData leaves by their own names; `<Data Name="X">` becomes X; spaces are removed. */
function flattenData(node: unknown): void {
  if (!isObject(node)) return;
  for (const key in node) {
    if (key === '#attributes') continue;
    const value = node[key];
    if (key === 'Data' && Array.isArray(value)) {
      for (const item of value) {
        if (isObject(item) && isObject(item['#attributes']) && typeof item['#attributes'].Name === 'string') {
          emit(shapes.name(DATA, item['#attributes'].Name, cleaned), item['#text'] ?? null);
        }
      }
      continue;
    }
    if (isObject(value) && !('#text' in value)) flattenData(value);
    else emit(shapes.name(DATA, key, cleaned), scalar(value));
  }
}

/** The flat event and its shape. */
export interface Flattened {
  readonly flat: Json;
  readonly shape: Shape;
  /**
   * Read from JSON text in which every string value is written as it is, but for `\"`, `\\`, `\/`
   * and control characters (no \uXXXX escape): a substring search of the text then sees the values.
   */
  readonly verbatim?: boolean;
}

/** Flattens a parsed evtx_dump event (`{ Event: { System, EventData | UserData } }`) into one level. */
export function flattenWindowsEvent(event: unknown): Flattened | undefined {
  const root = isObject(event) && isObject(event.Event) ? event.Event : event;
  if (!isObject(root) || !isObject(root.System)) return undefined;
  shapes.begin();
  values.length = 0;
  flattenSystem(root.System, '');
  flattenData(root.EventData);
  flattenData(root.UserData);
  const shape = shapes.end();
  return { flat: shape.build(values), shape };
}

// ---------------------------------------------------------------------------------------------------
// The JSON text reader. evtx_dump writes `{"Event":{"#attributes":…,"System":{…},"EventData":{…}}}`;
// JSON.parse would build a dozen nested objects only for the walk above to take them apart. This
// reader walks the text once and emits the same fields in the same order. It reads only that shape,
// and returns null at anything that could make its result differ from JSON.parse and the walk: an
// array, a `#text` value, a nested EventData object, a repeated object key, an index-like key (which
// an object enumerates first), an escape in a key, or text that is not JSON. The caller then parses
// the line and walks it. One leniency: a raw control character inside a string without escapes is
// read as itself, where JSON.parse refuses the line (finding one would cost a pass over every
// character); a string with escapes is JSON.parse'd, so there it is refused as JSON.parse does.

let text = '';
let at = 0;
/** Position of the next backslash at or after `at` (text.length when none): found once per stretch, not per string. */
let backslash = 0;
/** System objects opened in this event, by name, and the names whose `#attributes` were opened: a repeat is not read here. */
const opened: string[] = [];
const openedAttributes: string[] = [];
/** Marks a value the reader cannot give exactly. */
const OUTSIDE = Symbol('outside');

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
function skipSpace(): void {
  while (isSpace(text.charCodeAt(at))) at++;
}

function nextBackslash(from: number): number {
  if (backslash < from) { const b = text.indexOf('\\', from); backslash = b < 0 ? text.length : b; }
  return backslash;
}

/** Whether a string of the line being read had a \uXXXX escape (Flattened.verbatim). */
let unicodeEscapes = false;

/** The first backslash inside the string stringEnd found last, or -1 when it has none. */
let firstEscape = -1;

/** The closing quote of the string whose opening quote is at `at`, or -1. */
function stringEnd(): number {
  let quote = text.indexOf('"', at + 1);
  let bs = nextBackslash(at + 1);
  firstEscape = bs < quote ? bs : -1;
  while (bs < quote) {
    // An escape: the character after the backslash is not the end (a \u escape's digits are checked when unescaped).
    const from = bs + 2;
    if (quote < from) quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    bs = nextBackslash(from);
  }
  return quote;
}

/**
 * The string from `start` to `end` (no quotes; its first backslash at `bs`, or -1), unescaped; OUTSIDE
 * when it is not a JSON string. With escapes, JSON.parse of the token: it makes one flat string (pieces
 * joined here would be flattened by every later read) and checks the escapes exactly.
 */
function unescaped(start: number, end: number, bs: number): string | typeof OUTSIDE {
  if (bs < 0) return text.slice(start, end);
  // Escapes are two characters but for \uXXXX: stepping over each keeps an escaped backslash apart from a 'u' after it.
  for (let b = bs; b >= 0 && b < end; b = text.indexOf('\\', b + 2)) {
    if (text.charCodeAt(b + 1) === 0x75) { unicodeEscapes = true; break; }
  }
  try {
    return JSON.parse(text.slice(start - 1, end + 1)) as string;
  } catch {
    return OUTSIDE;
  }
}

/** The string at `at` (on its opening quote), unescaped; `at` moves past it. */
function stringValue(): string | typeof OUTSIDE {
  const end = stringEnd();
  if (end < 0) return OUTSIDE;
  const value = unescaped(at + 1, end, firstEscape);
  at = end + 1;
  return value;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
function digits(): boolean {
  const from = at;
  while (isDigit(text.charCodeAt(at))) at++;
  return at > from;
}

/** A JSON number (its grammar exactly: no leading zeros, no bare '.', no '+'). */
function numberValue(): number | typeof OUTSIDE {
  const start = at;
  if (text.charCodeAt(at) === 0x2d) at++;
  if (text.charCodeAt(at) === 0x30) at++;
  else {
    // The common case, a whole number of up to 15 digits, is summed as it is read (exact below 2^53).
    let n = 0;
    const from = at;
    for (let c = text.charCodeAt(at); isDigit(c); c = text.charCodeAt(++at)) n = n * 10 + (c - 0x30);
    if (at === from) return OUTSIDE;
    const next = text.charCodeAt(at);
    if (at - from <= 15 && next !== 0x2e && next !== 0x65 && next !== 0x45) return start === from ? n : -n;
  }
  if (text.charCodeAt(at) === 0x2e) { at++; if (!digits()) return OUTSIDE; }
  const e = text.charCodeAt(at);
  if (e === 0x65 || e === 0x45) {
    at++;
    const sign = text.charCodeAt(at);
    if (sign === 0x2b || sign === 0x2d) at++;
    if (!digits()) return OUTSIDE;
  }
  return Number(text.slice(start, at));
}

function word(w: string, value: boolean | null): boolean | null | typeof OUTSIDE {
  if (!holdsAt(text, at, w)) return OUTSIDE;
  at += w.length;
  return value;
}

/** A string, number, true, false or null at `at`; OUTSIDE for an object, an array or bad text. */
function scalarValue(): unknown {
  const c = text.charCodeAt(at);
  if (c === 0x22) return stringValue();
  if (c === 0x2d || isDigit(c)) return numberValue();
  if (c === 0x74) return word('true', true);
  if (c === 0x66) return word('false', false);
  if (c === 0x6e) return word('null', null);
  return OUTSIDE;
}

/** Any JSON value, read and dropped (what the walk ignores, e.g. `#attributes` of EventData). */
function skipValue(): boolean {
  const c = text.charCodeAt(at);
  if (c !== 0x7b && c !== 0x5b) return scalarValue() !== OUTSIDE;
  const close = c === 0x7b ? 0x7d : 0x5d;
  at++;
  skipSpace();
  if (text.charCodeAt(at) === close) { at++; return true; }
  for (;;) {
    if (close === 0x7d) {
      if (text.charCodeAt(at) !== 0x22 || stringValue() === OUTSIDE) return false;
      skipSpace();
      if (text.charCodeAt(at) !== 0x3a) return false;
      at++;
      skipSpace();
    }
    if (!skipValue()) return false;
    skipSpace();
    const d = text.charCodeAt(at++);
    if (d === close) return true;
    if (d !== 0x2c) return false;
    skipSpace();
  }
}

const keyIs = (start: number, end: number, key: string) => end - start === key.length && holdsAt(text, start, key);

/** What an object is to the walk: the line itself, the Event, a System object, or EventData/UserData. */
const enum Level { Root, Event, System, Data }

/** Which of System, EventData, UserData the Event object has read (they must come in that order). */
let part = 0;

/**
 * Reads the object at `at` (on its '{') and emits its fields as the walk would for its level; false
 * when the text is not JSON, or not of the shape read here.
 */
function object(level: Level, prefix: string): boolean {
  at++;
  let c = text.charCodeAt(at);
  if (isSpace(c)) { skipSpace(); c = text.charCodeAt(at); }
  if (c === 0x7d) { at++; return true; }
  for (;;) {
    if (c !== 0x22) return false;
    const start = at + 1;
    const end = text.indexOf('"', start);
    // No escapes in keys; an index-like key ("0", "12") comes first in a parsed object, not where written.
    if (end < 0 || nextBackslash(start) < end || isDigit(text.charCodeAt(start))) return false;
    at = end + 1;
    c = text.charCodeAt(at);
    if (isSpace(c)) { skipSpace(); c = text.charCodeAt(at); }
    if (c !== 0x3a) return false;
    at++;
    c = text.charCodeAt(at);
    if (isSpace(c)) { skipSpace(); c = text.charCodeAt(at); }
    if (!member(level, prefix, start, end, c)) return false;
    c = text.charCodeAt(at);
    if (isSpace(c)) { skipSpace(); c = text.charCodeAt(at); }
    at++;
    if (c === 0x7d) return true;
    if (c !== 0x2c) return false;
    c = text.charCodeAt(at);
    if (isSpace(c)) { skipSpace(); c = text.charCodeAt(at); }
  }
}

/** One member of an object of `level`, with `at` on its value (whose first character is `c`). */
function member(level: Level, prefix: string, start: number, end: number, c: number): boolean {
  if (level === Level.Data) {
    // '#attributes' is dropped, whatever it holds; any other nested value is left to the walk.
    if (keyIs(start, end, '#attributes')) return skipValue();
    const from = at;
    const value = scalarValue();
    if (value === OUTSIDE) return false;
    emit(shapes.nameIn(text, start, end, DATA, cleaned), value);
    valueAt.push(from, at);
    return true;
  }
  if (level === Level.System) {
    if (c === 0x7b) {
      // A parsed object keeps only the last of a repeated key: an object whose key repeats is left to the walk.
      if (keyIs(start, end, '#attributes')) {
        if (openedAttributes.includes(prefix)) return false;
        openedAttributes.push(prefix);
        return object(Level.System, prefix);
      }
      if (keyIs(start, end, '#text')) return false;
      const name = shapes.nameIn(text, start, end, prefix, joined);
      if (opened.includes(name) || shapes.added().includes(name)) return false;
      opened.push(name);
      return object(Level.System, name);
    }
    // `#text` is the walk's to place: it emits it before the other fields.
    if (c === 0x5b || keyIs(start, end, '#text')) return false;
    const name = shapes.nameIn(text, start, end, prefix, joined);
    if (opened.includes(name)) return false;
    const from = at;
    const value = scalarValue();
    if (value === OUTSIDE) return false;
    if (name) { emit(name, value); valueAt.push(from, at); }
    return true;
  }
  if (level === Level.Event) {
    if (keyIs(start, end, 'System')) {
      if (part !== 0 || c !== 0x7b) return false;
      part = 1;
      return object(Level.System, '');
    }
    const data = keyIs(start, end, 'EventData') ? 2 : keyIs(start, end, 'UserData') ? 3 : 0;
    if (data === 0) return !keyIs(start, end, '#text') && skipValue();
    if (part === 0 || part >= data) return false;
    part = data;
    return c === 0x7b ? object(Level.Data, '') : skipValue();
  }
  if (!keyIs(start, end, 'Event') || c !== 0x7b || part !== -1) return false;
  part = 0;
  return object(Level.Event, '');
}

// Templates. Lines of one source differ only in their values: `{"Event":{…"EventID":` 1 `,"Version":`
// 5 `,…` — the text between two values is the same for every event of a shape. A line read field by
// field above leaves its template: those texts, in a trie. A later line that holds the same texts with
// a JSON value between each pair was read the same way, so it is read by comparing texts and reading
// values only; its shape is the template's.

interface Template {
  /** The text from the previous value's end (or the line's start) to the next value (or the line's end). */
  readonly literal: string;
  /** The value after it is the EventID (see eventIdValue). */
  readonly eventId: boolean;
  /** What may follow the value, most recently learned last; empty at the line's end. */
  readonly next: Template[];
  /** At the line's end: the shape of the values read. */
  readonly shape: Shape | null;
  /** `next` by the character where their texts first differ (made when there are several). */
  fork: Fork | null;
  /** Values read after this literal so far (counted up to STEADY_READS), and the first one as written while all were the same. */
  reads: number;
  firstWritten: string | null;
  /** When the first STEADY_READS values were all the same: the literal with that value as written, and the value. */
  fixedText: string | null;
  fixedValue: unknown;
  /** The fixed value is written with a \\u escape (Flattened.verbatim). */
  fixedEscaped: boolean;
}

/** Reads after which a template whose value never changed takes it as fixed (a provider, a channel, a version). */
const STEADY_READS = 64;

interface Fork { readonly at: number; readonly byChar: ReadonlyMap<number, readonly Template[]>; readonly short: readonly Template[] }

/** The children of a node by the first position where their texts differ: one compare instead of one per child. */
function forkOf(next: readonly Template[]): Fork {
  const first = next[0]!.literal;
  let at = 0;
  while (next.every((t) => at < t.literal.length && t.literal.charCodeAt(at) === first.charCodeAt(at))) at++;
  const byChar = new Map<number, Template[]>();
  const short: Template[] = [];
  for (const t of next) {
    if (t.literal.length <= at) { short.push(t); continue; }
    const c = t.literal.charCodeAt(at);
    byChar.set(c, [...(byChar.get(c) ?? []), t]);
  }
  return { at, byChar, short };
}

const NO_TEMPLATES: readonly Template[] = [];
function newTemplate(literal: string, eventId: boolean, shape: Shape | null): Template {
  return { literal, eventId, next: [], shape, fork: null, reads: 0, firstWritten: null, fixedText: null, fixedValue: null, fixedEscaped: false };
}

/** Notes the value just read after `t` (written from `start` to `at`): a template whose first values are all one takes it as fixed. */
function noteValue(t: Template, start: number, value: unknown): void {
  t.reads++;
  if (t.reads === 1) { t.firstWritten = ownCopy(text.slice(start, at)); return; }
  const first = t.firstWritten;
  if (first === null) return;
  if (at - start !== first.length || text.indexOf(first, start) !== start) { t.firstWritten = null; return; }
  if (t.reads === STEADY_READS) {
    t.fixedText = t.literal + first;
    t.fixedValue = typeof value === 'string' ? ownCopy(value) : value;
    t.fixedEscaped = first.includes('\\u');
  }
}
const templates: Template = newTemplate('', false, null);
let templateCount = 0;
const MAX_TEMPLATES = 50_000;
/** Where each emitted value of the line being read starts and ends, in pairs. */
const valueAt: number[] = [];


/** The shape of the line by a learned template, its values in `values`; null when none fits. */
function readByTemplate(): Shape | null {
  let node = templates;
  for (;;) {
    let taken: Template | null = null;
    let options: readonly Template[] = node.next;
    if (options.length > 2) {
      const fork = (node.fork ??= forkOf(options));
      options = fork.byChar.get(text.charCodeAt(at + fork.at)) ?? NO_TEMPLATES;
      if (fork.short.length > 0) options = [...options, ...fork.short];
    }
    for (const t of options) {
      // A fixed value: the literal and the value's text in one comparison, and the same value object.
      if (t.fixedText !== null && text.indexOf(t.fixedText, at) === at) {
        at += t.fixedText.length;
        values.push(t.fixedValue);
        if (t.fixedEscaped) unicodeEscapes = true;
        taken = t;
        break;
      }
      if (text.indexOf(t.literal, at) !== at) continue;
      if (t.shape !== null) {
        if (at + t.literal.length === text.length) return t.shape;
        continue;
      }
      const from = at;
      at += t.literal.length;
      const start = at;
      const read = scalarValue();
      if (read === OUTSIDE) { at = from; backslash = -1; continue; }
      const value = t.eventId ? eventIdValue(read) : read;
      values.push(value);
      if (t.reads < STEADY_READS) noteValue(t, start, value);
      taken = t;
      break;
    }
    if (taken === null) return null;
    node = taken;
  }
}

/** Adds the template of the line just read field by field (valueAt, with the shape's names). */
function learn(shape: Shape, names: readonly string[]): void {
  let node = templates;
  let from = 0;
  const step = (literal: string, eventId: boolean, end: Shape | null) => {
    let t = node.next.find((n) => n.literal === literal && (n.shape === null) === (end === null));
    if (t === undefined) {
      if (templateCount >= MAX_TEMPLATES) return false;
      t = newTemplate(ownCopy(literal), eventId, end);
      node.next.push(t);
      node.fork = null;
      templateCount++;
    }
    node = t;
    return true;
  };
  for (let i = 0; i < valueAt.length; i += 2) {
    if (!step(text.slice(from, valueAt[i]), names[i >> 1] === 'EventID', null)) return;
    from = valueAt[i + 1]!;
  }
  step(text.slice(from), false, shape);
}

/**
 * Flattens one evtx_dump event from its JSON text, as flattenWindowsEvent(JSON.parse(line)) would;
 * null when the text is not of the shape this reader takes (parse it and use flattenWindowsEvent).
 */
export function flattenWindowsEventText(line: string): Flattened | null {
  text = line;
  at = 0;
  backslash = -1;
  values.length = 0;
  unicodeEscapes = false;
  let shape = readByTemplate();
  if (shape === null) {
    at = 0;
    backslash = -1;
    values.length = 0;
    valueAt.length = 0;
    unicodeEscapes = false;
    part = -1;
    opened.length = 0;
    openedAttributes.length = 0;
    shapes.begin();
    skipSpace();
    const read = text.charCodeAt(at) === 0x7b && object(Level.Root, '') && part >= 1 && (skipSpace(), at === text.length);
    if (read) {
      shape = shapes.end();
      if (shape.kept) learn(shape, shapes.added());
    }
  }
  text = '';
  return shape && { flat: shape.build(values), shape, verbatim: !unicodeEscapes };
}
