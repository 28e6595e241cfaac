// Multi-literal prefilter: one Aho-Corasick automaton per field over every rule's required
// literals, compiled to a dense DFA over a compressed alphabet. One pass over a field's
// lower-cased value finds every rule whose literal occurs in it, so only those rules run.

export interface LiteralAutomaton {
  /**
   * Calls `hit(owner)` for each owner whose (lower-case) literal occurs in `text`, ignoring case
   * (possibly more than once per owner): ASCII text in one pass; text with other characters is then
   * scanned lower-cased, so Unicode case rules apply exactly.
   */
  scan(text: string, hit: (owner: number) => void): void;
  readonly states: number;
  /** Length of the shortest literal: shorter texts cannot hold any. */
  readonly minLength: number;
  /** False when no literal could occur in a number's text, so numbers need no scan. */
  readonly numeric: boolean;
}

/**
 * A window of at most `width` characters of a literal, the one with the most distinct characters:
 * any text containing the literal contains every part of it, so a part is still a necessary
 * condition, and short parts keep the automaton small enough to stay in cache.
 */
export function selectiveWindow(literal: string, width = 64): string {
  if (literal.length <= width) return literal;
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i + width <= literal.length; i++) {
    const score = new Set(literal.slice(i, i + width)).size;
    if (score > bestScore) { bestScore = score; best = i; }
  }
  return literal.slice(best, best + width);
}

const DISTINCT = new Set([...'abcdefghijklmnopqrstuvwxyz0123456789 \\/.-_:=\'"'].map((c) => c.charCodeAt(0)));
const MAX_STATES = 65_535;
/** Characters with a class of their own in a non-ASCII table (hundreds of emoji would make it wide); the rest share one. */
const MAX_OWN_CLASSES = 64;

/** Trie states the literals need (shared prefixes counted once). */
function trieSize(literals: ReadonlyArray<{ readonly literal: string }>): number {
  const sorted = literals.map((l) => l.literal).sort();
  let states = 1;
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i - 1] ?? '';
    const b = sorted[i]!;
    let common = 0;
    while (common < a.length && common < b.length && a.charCodeAt(common) === b.charCodeAt(common)) common++;
    states += b.length - common;
  }
  return states;
}

/** As few automata over the literals as fit 16-bit state numbers (one, usually): each scan costs a pass over the text. */
export function buildAutomata(literals: ReadonlyArray<{ readonly literal: string; readonly owner: number }>): LiteralAutomaton[] {
  if (literals.length <= 1 || trieSize(literals) <= MAX_STATES) return [buildAutomaton(literals)];
  const half = literals.length >> 1;
  return [...buildAutomata(literals.slice(0, half)), ...buildAutomata(literals.slice(half))];
}

export function buildAutomaton(all: ReadonlyArray<{ readonly literal: string; readonly owner: number }>): LiteralAutomaton {
  // Literals made only of non-ASCII characters (homoglyphs, emoji) get a table of their own, with a
  // class per character, read only in non-ASCII text: in the main table's shared class they would
  // match any uncommon characters, and every '(' or '$' of a command line would wake their rules.
  const nonAscii = (literal: string) => literal.length > 0 && [...literal].every((ch) => ch.charCodeAt(0) >= 128);
  const main = buildTable(all.filter((l) => !nonAscii(l.literal)), false);
  const unicodeLiterals = all.filter((l) => nonAscii(l.literal));
  const unicode = unicodeLiterals.length > 0 ? buildTable(unicodeLiterals, true) : null;
  return {
    states: main.states + (unicode?.states ?? 0),
    minLength: all.reduce((m, l) => Math.min(m, l.literal.length), Infinity),
    numeric: all.some((l) => /^[0-9.e+\-infinitya]+$/.test(l.literal)),
    scan(text, hit) {
      if (main.scan(text, hit, false)) return;
      const lowered = text.toLowerCase();
      main.scan(lowered, hit, true);
      unicode?.scan(lowered, hit, true);
    },
  };
}

interface Table {
  readonly states: number;
  /** One pass over `text`; false, part-way, at a non-ASCII character unless `lowered`. */
  scan(text: string, hit: (owner: number) => void, lowered: boolean): boolean;
}

function buildTable(literals: ReadonlyArray<{ readonly literal: string; readonly owner: number }>, classPerCharacter: boolean): Table {
  // Alphabet: letters, digits and common punctuation used by a literal get a class each, and so does a
  // character that is a literal by itself; every other character used by a literal shares one class
  // (a looser filter, never a missed literal); characters no literal uses are class 0. A small
  // alphabet keeps the table small enough to stay in cache.
  const classOf = new Map<number, number>();
  let shared = 0;
  let next = 1;
  for (const { literal } of literals) if (literal.length === 1 && !classOf.has(literal.charCodeAt(0))) classOf.set(literal.charCodeAt(0), next++);
  for (const { literal } of literals) for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if (classOf.has(c)) continue;
    if ((classPerCharacter && next < MAX_OWN_CLASSES) || DISTINCT.has(c)) classOf.set(c, next++);
    else { if (shared === 0) shared = next++; classOf.set(c, shared); }
  }
  const K = next;
  const ascii = new Uint16Array(128);
  for (const [c, k] of classOf) if (c < 128) ascii[c] = k;
  // ASCII case folding: 'A'..'Z' share the class of 'a'..'z' (literals are lower-case).
  for (let c = 65; c <= 90; c++) if (ascii[c + 32]) ascii[c] = ascii[c + 32]!;
  const high = new Map<number, number>();
  for (const [c, k] of classOf) if (c >= 128) high.set(c, k);

  // Trie.
  const children: Map<number, number>[] = [new Map()];
  const own: number[][] = [[]];
  for (const { literal, owner } of literals) {
    let s = 0;
    for (let i = 0; i < literal.length; i++) {
      const k = classOf.get(literal.charCodeAt(i))!;
      let nx = children[s]!.get(k);
      if (nx === undefined) { nx = children.length; children.push(new Map()); own.push([]); children[s]!.set(k, nx); }
      s = nx;
    }
    if (!own[s]!.includes(owner)) own[s]!.push(owner);
  }
  const n = children.length;
  if (n > MAX_STATES) throw new Error('automaton too large; split the literals with buildAutomata');
  const delta = new Uint16Array(n * K);
  const fail = new Int32Array(n);
  const dict = new Int32Array(n).fill(-1); // next state on the fail chain that owns literals
  const hasOut = new Uint8Array(n);
  // BFS to fill the DFA.
  const queue: number[] = [];
  for (let k = 0; k < K; k++) {
    const nx = children[0]!.get(k);
    if (nx !== undefined) { delta[k] = nx; fail[nx] = 0; queue.push(nx); }
  }
  for (let qi = 0; qi < queue.length; qi++) {
    const s = queue[qi]!;
    const f = fail[s]!;
    dict[s] = own[f]!.length > 0 ? f : dict[f]!;
    if (own[s]!.length > 0 || dict[s]! >= 0) hasOut[s] = 1;
    for (let k = 0; k < K; k++) {
      const nx = children[s]!.get(k);
      if (nx !== undefined) { fail[nx] = delta[f * K + k]!; delta[s * K + k] = nx; queue.push(nx); }
      else delta[s * K + k] = delta[f * K + k]!;
    }
  }
  // Owners of every state in one flat list: state s owns ownerList[ownerStart[s] .. ownerStart[s + 1]).
  const ownerStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) ownerStart[i + 1] = ownerStart[i]! + own[i]!.length;
  const ownerList = new Int32Array(ownerStart[n]!);
  for (let i = 0; i < n; i++) ownerList.set(own[i]!, ownerStart[i]!);
  // The table scan() walks: a transition holds the next state's row offset (state × stride, the stride
  // even), with the low bit set when that state ends a literal. One load and one bit test per character.
  const stride = K + (K & 1);
  const table = new Int32Array(n * stride); // one element type for every automaton keeps scan() monomorphic
  for (let st = 0; st < n; st++) {
    for (let k = 0; k < K; k++) { const to = delta[st * K + k]!; table[st * stride + k] = to * stride + hasOut[to]!; }
  }
  return { states: n, scan: scanText };

  /** One pass of the table over `text`; false, part-way, at a non-ASCII character unless `lowered`. */
  function scanText(text: string, hit: (owner: number) => void, lowered: boolean): boolean {
    let row = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      let k: number;
      if (c < 128) k = ascii[c]!;
      else if (!lowered) return false;
      else k = high.get(c) ?? 0;
      const to = table[row + k]!;
      row = to & ~1;
      if (to !== row) {
        const s = row / stride;
        let t = ownerStart[s + 1]! > ownerStart[s]! ? s : dict[s]!;
        while (t >= 0) {
          for (let j = ownerStart[t]!, end = ownerStart[t + 1]!; j < end; j++) hit(ownerList[j]!);
          t = dict[t]!;
        }
      }
    }
    return true;
  }
}

/** How often a character turns up in telemetry values, roughly: letters and digits are everywhere. */
const ANCHOR_WEIGHT: Readonly<Record<string, number>> = { ' ': 8, '.': 6, '\\': 6, '-': 6, ':': 4, '/': 3, '_': 3, ',': 2, '=': 2, '{': 2, '}': 2 };
const MAX_ANCHORS = 6;

/**
 * A few caseless characters (punctuation or space) such that every literal holds at least one, chosen
 * rare first: a text holding none of them holds no literal, which `indexOf` tells faster than a scan.
 * Null when some literal has none (e.g. a plain word) or it would take more than a few.
 */
export function anchorCharacters(literals: readonly string[]): string[] | null {
  const caseless = (c: string) => c >= ' ' && c <= '~' && !/[A-Za-z0-9]/.test(c);
  let open = literals.map((l) => new Set([...l].filter(caseless)));
  if (open.some((chars) => chars.size === 0)) return null;
  const anchors: string[] = [];
  while (open.length > 0) {
    const covers = new Map<string, number>();
    for (const chars of open) for (const c of chars) covers.set(c, (covers.get(c) ?? 0) + 1);
    let best = '';
    let bestScore = 0;
    for (const [c, n] of covers) { const score = n / (ANCHOR_WEIGHT[c] ?? 1); if (score > bestScore) { best = c; bestScore = score; } }
    anchors.push(best);
    if (anchors.length > MAX_ANCHORS) return null;
    open = open.filter((chars) => !chars.has(best));
  }
  return anchors;
}

/** Characters a JSON text may write escaped (`\"`, `\\`, `\/`): a literal's window must avoid them, and non-ASCII. */
const JSON_SAFE = /^[\x20-\x21\x23-\x2e\x30-\x5b\x5d-\x7e]+$/;
/** Characters roughly from rare to common in telemetry text: a window starting with a rare one is quicker to search. */
const RARITY = 'qjzxvkwyfbgp;!#%&*+=?@^_`|~<>{}[]()$\',0123456789hmucdlrtsnoiae:.- ';
/** Non-ASCII characters whose lower case holds an ASCII letter (U+0130 İ → i̇, U+212A Kelvin → k). */
const LOWER_TO_ASCII = '\\u0130\\u212a';

/**
 * One search over an event's JSON text (with no \uXXXX escape: DetectionInput.text) that finds every
 * event in which some field value may hold one of the keyword literals (ignoring case); null when the
 * literals do not allow one. Each literal gives a window of up to 4 characters that JSON writes as
 * they are, matched in either case; a character whose lower case is ASCII anywhere in the text also
 * matches (then the fields are scanned one by one). Keys and JSON punctuation can only add matches,
 * never hide one.
 */
export function keywordGate(literals: readonly string[]): RegExp | null {
  // A window's score: the rarer its characters the better.
  const rank = (c: string) => { const r = RARITY.indexOf(c); return r < 0 ? RARITY.length : r; };
  const score = (w: string) => [...w].reduce((sum, c) => sum + rank(c), 0);
  // Few alternatives keep the search quick: windows are chosen greedily, each covering the most
  // literals not yet covered (then the rarest). '::' (Mimikatz modules) comes first when literals
  // have it: the pair is rare in telemetry, though a lone ':' follows every key of the text.
  const windows: string[] = [];
  let open = [...literals];
  if (open.some((l) => l.includes('::'))) { windows.push('::'); open = open.filter((l) => !l.includes('::')); }
  while (open.length > 0) {
    const candidates = new Set<string>();
    for (const literal of open) {
      const width = Math.min(4, literal.length);
      for (let i = 0; i + width <= literal.length; i++) {
        const w = literal.slice(i, i + width);
        if (width >= 2 && JSON_SAFE.test(w)) candidates.add(w);
      }
    }
    let best: string | null = null;
    let bestCovers = 0;
    for (const w of candidates) {
      const covers = open.filter((l) => l.includes(w)).length;
      if (covers > bestCovers || (covers === bestCovers && best !== null && score(w) < score(best))) { best = w; bestCovers = covers; }
    }
    if (best === null) return null;
    windows.push(best);
    open = open.filter((l) => !l.includes(best));
  }
  const caseless = (w: string) => [...w].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(windows.map(caseless).concat(`[${LOWER_TO_ASCII}]`).join('|'));
}
