// A logsource bucket's prefilter: from its rules' needs, per field, an automaton over the contains
// literals plus exact-value and last-path-segment lookups; keyword literals (any field) in one more
// automaton. `collect` reports every rule whose need a literal of the event satisfies.
//
// A raw Windows event is read in one pass over its own fields: each field goes to its index, or to
// the keyword scan when no index of it holds the keyword literals. Only fields the event lacks but
// the row's table maps to a canonical column are then looked up by name.
import { forEachKeywordText, toText, type EventContext } from './event-context.js';
import { anchorCharacters, buildAutomata, keywordGate, selectiveWindow, type LiteralAutomaton } from './prefilter.js';
import { ANY_FIELD, type Need } from './rule-compiler.js';
import { createValueMemo, type MemoBudget, type ValueMemo } from './value-memo.js';

/** What the prefilter reads of an entry: its need and its field renames. */
export interface PrefilterEntry {
  readonly need: Need | null;
  readonly aliases: ReadonlyMap<number, number> | null;
}

export interface FieldPrefilter {
  /** Entries without a need: evaluated on every event. */
  readonly always: readonly number[];
  /** Calls `hit(i)` (possibly more than once) for each entry `i` whose need the event may satisfy. */
  collect(ctx: EventContext, hit: (owner: number) => void): void;
}

/** One field's index: the owners (entry indices) whose literals a value of the field holds. */
interface FieldIndex {
  readonly field: number;
  readonly name: string;
  readonly automaton: LiteralAutomaton | null;
  readonly exact: ReadonlyMap<string, readonly number[]> | null;
  readonly tail: ReadonlyMap<string, readonly number[]> | null;
  /** The owners each recently seen value hit (value-memo.ts). */
  readonly memo: ValueMemo<Int32Array>;
}

/** A raw field's indexes, and whether the keyword scan must still read it (no index of it holds the keywords). */
interface RawField { readonly indexes: readonly FieldIndex[]; readonly keywords: boolean }

const NO_OWNERS = new Int32Array(0);

export function buildFieldPrefilter(entries: readonly PrefilterEntry[], names: readonly string[], budget: MemoBudget): FieldPrefilter {
  const always: number[] = [];
  interface Literals { contains: { literal: string; owner: number }[]; exact: Map<string, number[]>; tail: Map<string, number[]> }
  const perField = new Map<number, Literals>();
  const add = (m: Map<string, number[]>, k: string, o: number) => { const l = m.get(k); if (l) { if (!l.includes(o)) l.push(o); } else m.set(k, [o]); };
  entries.forEach((e, i) => {
    if (e.need === null) { always.push(i); return; }
    for (const atom of e.need) {
      const field = atom.field === ANY_FIELD ? ANY_FIELD : e.aliases?.get(atom.field) ?? atom.field;
      let idx = perField.get(field);
      if (!idx) { idx = { contains: [], exact: new Map(), tail: new Map() }; perField.set(field, idx); }
      const lit = atom.literal;
      const sep = Math.max(lit.lastIndexOf('\\'), lit.lastIndexOf('/'));
      if (atom.kind === 'exact' && field !== ANY_FIELD) add(idx.exact, lit, i);
      // A suffix holding a path separator fixes the value's last path segment: index it by that.
      else if (atom.kind === 'suffix' && field !== ANY_FIELD && sep >= 0) add(idx.tail, lit.slice(sep + 1), i);
      else idx.contains.push({ literal: selectiveWindow(lit), owner: i });
    }
  });
  // Keyword literals also go into each field automaton that exists anyway, so a raw event's long
  // fields (command lines, paths) are scanned once; the keyword scan skips those fields.
  const keywordLiterals = perField.get(ANY_FIELD)?.contains ?? [];
  perField.delete(ANY_FIELD);
  const merged = new Set<string>();
  if (keywordLiterals.length > 0) {
    for (const [field, idx] of perField) {
      if (idx.contains.length === 0) continue;
      idx.contains.push(...keywordLiterals);
      merged.add(names[field]!);
    }
  }
  const keywords = keywordLiterals.length > 0 ? buildAutomata(keywordLiterals) : [];
  const indexes = [...perField].flatMap(([field, idx]) => {
    const autos = idx.contains.length ? buildAutomata(idx.contains) : [null];
    return autos.map((automaton, i): FieldIndex => ({
      field, name: names[field]!, automaton,
      exact: i === 0 && idx.exact.size ? idx.exact : null,
      tail: i === 0 && idx.tail.size ? idx.tail : null,
      memo: createValueMemo<Int32Array>(budget),
    }));
  });
  const rawFields = new Map<string, RawField>();
  for (const index of indexes) {
    const known = rawFields.get(index.name);
    rawFields.set(index.name, { indexes: [...(known?.indexes ?? []), index], keywords: !merged.has(index.name) });
  }
  /** Per table mapping (EventContext.columns): the indexes whose field it maps, read when the raw event lacks them. */
  const mappedIndexes = new Map<Readonly<Record<string, string>>, readonly FieldIndex[]>();

  const collected: number[] = [];
  const collectOwner = (o: number) => { collected.push(o); };

  /** The owners a value hits in one index, from the memo when the value was seen. */
  function prefilterValue(s: string, index: FieldIndex, hit: (o: number) => void): void {
    let owners = index.memo.get(s);
    if (owners === undefined) {
      collected.length = 0;
      const { automaton, exact, tail } = index;
      if (automaton !== null && s.length >= automaton.minLength) automaton.scan(s, collectOwner);
      if (exact !== null || tail !== null) {
        const lower = s.toLowerCase();
        if (exact !== null) { const o = exact.get(lower); if (o !== undefined) for (let i = 0; i < o.length; i++) collected.push(o[i]!); }
        if (tail !== null) {
          const cut = Math.max(lower.lastIndexOf('\\'), lower.lastIndexOf('/'));
          const o = tail.get(cut < 0 ? lower : lower.slice(cut + 1));
          if (o !== undefined) for (let i = 0; i < o.length; i++) collected.push(o[i]!);
        }
      }
      owners = collected.length === 0 ? NO_OWNERS : Int32Array.from(collected);
      index.memo.set(s, owners);
    }
    for (let i = 0; i < owners.length; i++) hit(owners[i]!);
  }

  function prefilterText(t: string | readonly string[], index: FieldIndex, hit: (o: number) => void): void {
    if (typeof t === 'string') prefilterValue(t, index, hit);
    else for (const s of t) prefilterValue(s, index, hit);
  }

  // Not memoised: the fields left to the keyword scan are mostly one-off values (GUIDs, times, ids).
  // Most hold none of the keywords' anchor characters, which indexOf finds faster than a scan.
  const anchors = anchorCharacters(keywordLiterals.map((l) => l.literal));
  function scanKeywords(s: string, hit: (o: number) => void): void {
    if (anchors !== null) {
      let anchored = false;
      for (let i = 0; i < anchors.length && !anchored; i++) anchored = s.includes(anchors[i]!);
      if (!anchored) return;
    }
    for (const automaton of keywords) automaton.scan(s, hit);
  }
  const keywordMin = keywords.reduce((m, a) => Math.min(m, a.minLength), Infinity);
  const keywordNumbers = keywords.some((a) => a.numeric);
  // A number's text in JSON may differ from String(number): with a numeric keyword, no gate.
  const gate = keywords.length > 0 && !keywordNumbers ? keywordGate(keywordLiterals.map((l) => l.literal)) : null;

  function collectRaw(raw: Record<string, unknown>, ctx: EventContext, hit: (o: number) => void): void {
    // The event's JSON text, searched once, may show that no field holds a keyword (keywordGate).
    const scanning = keywords.length > 0 && (gate === null || ctx.sourceText === null || gate.test(ctx.sourceText));
    for (const name in raw) {
      const v = raw[name];
      const field = rawFields.get(name);
      if (scanning && (field === undefined || field.keywords)) {
        // Strings, the usual value, here; arrays, objects and (for numeric keywords) numbers as forEachKeywordText reads them.
        if (typeof v === 'string') { if (v.length >= keywordMin) scanKeywords(v, hit); }
        else if (typeof v === 'object' ? v !== null : keywordNumbers && typeof v === 'number') forEachKeywordText(v, (s) => scanKeywords(s, hit), keywordMin, keywordNumbers);
      }
      if (field === undefined) continue;
      const t = typeof v === 'string' ? v : toText(v);
      if (t !== null) for (const index of field.indexes) prefilterText(t, index, hit);
    }
    const columns = ctx.columns;
    if (columns === null) return;
    let mapped = mappedIndexes.get(columns);
    if (mapped === undefined) { mapped = indexes.filter((index) => columns[index.name] !== undefined); mappedIndexes.set(columns, mapped); }
    for (const index of mapped) {
      if (raw[index.name] !== undefined) continue;
      const t = ctx.text(index.field);
      if (t !== null) prefilterText(t, index, hit);
    }
  }

  function collectRow(ctx: EventContext, hit: (o: number) => void): void {
    for (const index of indexes) {
      const t = ctx.text(index.field);
      if (t !== null) prefilterText(t, index, hit);
    }
    if (keywords.length > 0) ctx.forEachValue((s) => scanKeywords(s, hit), keywordMin, keywordNumbers);
  }

  return {
    always,
    collect: (ctx, hit) => { if (ctx.raw !== null) collectRaw(ctx.raw, ctx, hit); else collectRow(ctx, hit); },
  };
}
