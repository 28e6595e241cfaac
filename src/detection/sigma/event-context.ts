// Per-event field access for compiled rules: resolves a Sigma field name against the raw source
// event (`_Raw`) first and the canonical row second, and lower-cases each field at most once.
import type { FieldAccess } from './rule-compiler.js';
import type { DetectionInput } from './sigma-engine.js';

/** A field value as Sigma compares it: text, or a list of texts for an array; null when absent. */
export function toText(v: unknown): string | readonly string[] | null {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : x === null || x === undefined ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x)));
  return JSON.stringify(v);
}

/**
 * Calls `f` with the text of one field value as a keyword scan reads it (arrays element-wise). A string
 * shorter than `minLength` is skipped, and so is a number unless `numbers` is set and its text can be
 * `minLength` long; booleans are never keyword text.
 */
export function forEachKeywordText(v: unknown, f: (s: string) => void, minLength: number, numbers: boolean): void {
  if (typeof v === 'string') { if (v.length >= minLength) f(v); }
  else if (typeof v === 'number') {
    // An integer with fewer characters than the shortest literal cannot hold one: skip the String().
    if (numbers && !(Number.isInteger(v) && Math.abs(v) < 10 ** (minLength - 2))) f(String(v));
  } else if (v !== null && v !== undefined && typeof v !== 'boolean') {
    const t = toText(v);
    if (typeof t === 'string') f(t); else if (t !== null) for (const x of t) f(x);
  }
}

/** The flattened source event of an input, if it has one. */
export function sourceEvent(input: DetectionInput): Record<string, unknown> | null {
  if (input.raw !== undefined) return input.raw as Record<string, unknown>;
  const raw = input.row._Raw;
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
}

function lowerText(t: string | readonly string[] | null): string | readonly string[] | null {
  if (t === null) return null;
  if (typeof t === 'string') return t.toLowerCase();
  return t.map((s) => s.toLowerCase());
}

export class EventContext implements FieldAccess {
  raw: Record<string, unknown> | null = null;
  private input: DetectionInput = { table: '', row: {} };
  /** Sigma field → canonical column for the row's table. */
  columns: Readonly<Record<string, string>> | null = null;
  /** Per-rule source renames (e.g. Image → NewProcessName on Security 4688), by field id. */
  aliases: ReadonlyMap<number, number> | null = null;
  private gen = 1;
  private stamp = new Uint32Array(64);
  private lc: (string | readonly string[] | null)[] = [];
  private txStamp = new Uint32Array(64);
  private tx: (string | readonly string[] | null)[] = [];
  private kw: string[] | null = null;
  private kwCased: string[] | null = null;

  constructor(private readonly names: readonly string[]) {}

  /** Point the context at a new event; all caches are invalidated in O(1). */
  reset(input: DetectionInput, raw: Record<string, unknown> | null, columns: Readonly<Record<string, string>> | null): void {
    this.input = input;
    this.raw = raw;
    this.columns = columns;
    this.aliases = null;
    this.kw = null;
    this.kwCased = null;
    this.gen++;
    if (this.gen === 0xffffffff) { this.gen = 1; this.stamp.fill(0); this.txStamp.fill(0); }
    if (this.stamp.length < this.names.length) {
      const size = Math.max(this.names.length, this.stamp.length * 2);
      this.stamp = new Uint32Array(size);
      this.txStamp = new Uint32Array(size);
    }
  }

  /** DetectionInput.text of the event, if it has one. */
  get sourceText(): string | null {
    return this.input.text ?? null;
  }

  private resolve(id: number): number {
    if (this.aliases !== null) { const a = this.aliases.get(id); if (a !== undefined) return a; }
    return id;
  }

  private lookup(id: number): unknown {
    const name = this.names[id]!;
    const raw = this.raw;
    if (raw !== null) {
      const v = raw[name];
      if (v !== undefined) return v;
      const col = this.columns?.[name];
      // The row is asked only for a column it can have: it may be made on demand.
      if (col === undefined || this.input.columns?.has(col) === false) return undefined;
      return this.input.row[col];
    }
    const row = this.input.row;
    const col = this.columns?.[name];
    if (col !== undefined) { const v = row[col]; if (v !== undefined) return v; }
    const v = row[name];
    if (v !== undefined) return v;
    const extra = row.AdditionalFields;
    if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) return (extra as Record<string, unknown>)[name];
    return undefined;
  }

  value(id: number): unknown {
    return this.lookup(this.resolve(id));
  }

  text(id: number): string | readonly string[] | null {
    return this.textOf(this.resolve(id));
  }

  private textOf(r: number): string | readonly string[] | null {
    if (r < this.txStamp.length && this.txStamp[r] === this.gen) return this.tx[r]!;
    const t = toText(this.lookup(r));
    if (r < this.txStamp.length) { this.txStamp[r] = this.gen; this.tx[r] = t; }
    return t;
  }

  lower(id: number): string | readonly string[] | null {
    const r = this.resolve(id);
    if (r < this.stamp.length && this.stamp[r] === this.gen) return this.lc[r]!;
    const t = lowerText(this.textOf(r));
    if (r < this.stamp.length) { this.stamp[r] = this.gen; this.lc[r] = t; }
    return t;
  }

  /**
   * Calls `f` with every string value of the event (arrays element-wise), without allocating a list.
   * Numbers are passed as text only when `numbers` is set and their text can be `minLength` long.
   */
  forEachValue(f: (s: string) => void, minLength = 1, numbers = true): void {
    const src = this.raw ?? this.input.row;
    if (this.kwCased !== null) { for (const s of this.kwCased) if (s.length >= minLength) f(s); return; }
    for (const k in src) forEachKeywordText(src[k], f, minLength, numbers);
  }

  keywordTextsCased(): readonly string[] {
    if (this.kwCased === null) {
      const out: string[] = [];
      const src = this.raw ?? this.input.row;
      for (const v of Object.values(src)) {
        const t = toText(v);
        if (t === null) continue;
        if (typeof t === 'string') out.push(t); else out.push(...t);
      }
      this.kwCased = out;
    }
    return this.kwCased;
  }

  keywordTexts(): readonly string[] {
    if (this.kw === null) this.kw = this.keywordTextsCased().map((s) => s.toLowerCase());
    return this.kw;
  }
}
