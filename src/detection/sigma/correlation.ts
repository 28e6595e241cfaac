// Sigma correlation rules (Sigma correlation rules specification v2.1) over a stream, with bounded
// memory: per correlation at most `maxGroups` group keys (least recently used evicted), per group at
// most `maxEventsPerGroup` events, and every event older than the timespan dropped.
//
// Windows slide with event time. A condition with only lower bounds (gt/gte), and value_avg /
// value_percentile, is checked as each event arrives; a condition with an upper bound (lt, lte, eq,
// neq) can only be decided when the window closes, so such groups use a window that opens at the
// group's first event and is decided when a later event (or `flush`) passes its end — a documented
// approximation of a sliding window. A group that fires starts afresh.
import type { CorrelationOperator, SigmaCorrelationDocument } from './sigma-rule.js';
import { sourceEvent } from './event-context.js';
import type { DetectionInput, Match, RuleInfo } from './sigma-engine.js';

/** Field values of whatever matched: a rule's event, or a fired correlation's group. */
export interface MatchSource {
  field(name: string): string | null;
}

export interface Correlator {
  /** True when some correlation consumes matches of this rule/correlation key. */
  consumes(key: string): boolean;
  /** False when only correlations without `generate` reference the rule. */
  emits(key: string): boolean;
  feed(key: string, source: MatchSource, input: DetectionInput): Match[];
  flush(nowMs?: number): Match[];
}

export interface CorrelatorOptions {
  resolve(ref: string): string | undefined;
  nameOf(key: string): string;
  maxGroups: number;
  maxEventsPerGroup: number;
}

interface Entry { readonly t: number; readonly rule: number; readonly value: string | null; readonly input: DetectionInput }
interface Group { entries: Entry[]; start: number; readonly values: Record<string, string | null> }

interface Compiled {
  readonly doc: SigmaCorrelationDocument;
  readonly info: RuleInfo;
  readonly refs: readonly string[]; // resolved keys, in `rules` order
  readonly groups: Map<string, Group>;
  readonly immediate: boolean;
}

const MAX_EVENTS_IN_MATCH = 50;

export function eventTime(input: DetectionInput): number {
  const ts = input.row.Timestamp;
  if (typeof ts === 'number') return ts;
  if (typeof ts === 'string') { const t = Date.parse(ts); if (!Number.isNaN(t)) return t; }
  const raw = sourceEvent(input) ?? undefined;
  const st = raw?.TimeCreated_SystemTime ?? raw?.SystemTime ?? raw?.UtcTime;
  if (typeof st === 'string') {
    const t = Date.parse(/Z$|[+-]\d\d:?\d\d$/.test(st) ? st : `${st.replace(' ', 'T')}Z`);
    if (!Number.isNaN(t)) return t;
  }
  return Date.now();
}

function holds(cond: Readonly<Partial<Record<CorrelationOperator, number>>>, x: number): boolean {
  for (const [op, v] of Object.entries(cond) as [CorrelationOperator, number][]) {
    switch (op) {
      case 'gt': if (!(x > v)) return false; break;
      case 'gte': if (!(x >= v)) return false; break;
      case 'lt': if (!(x < v)) return false; break;
      case 'lte': if (!(x <= v)) return false; break;
      case 'eq': if (x !== v) return false; break;
      case 'neq': if (x === v) return false; break;
    }
  }
  return true;
}

export function createCorrelator(
  list: readonly { doc: SigmaCorrelationDocument; info: RuleInfo }[], options: CorrelatorOptions,
): Correlator {
  const consumers = new Map<string, { c: Compiled; index: number }[]>();
  const generated = new Set<string>();
  const referenced = new Set<string>();
  const compiled: Compiled[] = [];
  for (const { doc, info } of list) {
    const refs = doc.correlation.rules.map((r) => options.resolve(r));
    if (refs.some((r) => r === undefined)) continue; // reported at load; cannot fire
    const cond = doc.correlation.condition;
    const type = doc.correlation.type;
    const upper = ['lt', 'lte', 'eq', 'neq'].some((op) => op in cond);
    const immediate = type === 'value_avg' || type === 'value_percentile' || !upper;
    const c: Compiled = { doc, info, refs: refs as string[], groups: new Map(), immediate };
    compiled.push(c);
    refs.forEach((key, index) => {
      let l = consumers.get(key!);
      if (!l) { l = []; consumers.set(key!, l); }
      l.push({ c, index });
      referenced.add(key!);
      if (doc.generate) generated.add(key!);
    });
  }

  function aggregate(c: Compiled, g: Group): number {
    const e = g.entries;
    switch (c.doc.correlation.type) {
      case 'event_count': return e.length;
      case 'value_count': return new Set(e.filter((x) => x.value !== null).map((x) => x.value)).size;
      case 'value_sum': return e.reduce((s, x) => s + (Number.isFinite(Number(x.value)) && x.value !== null ? Number(x.value) : 0), 0);
      case 'value_avg': {
        const nums = e.map((x) => (x.value === null ? NaN : Number(x.value))).filter(Number.isFinite);
        return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : NaN;
      }
      case 'value_percentile': {
        // Percentile rank (0–100) of the newest event's value among the window's values: for numbers
        // the share of values ≤ it, for text the share of equal values (how common it is).
        const last = e[e.length - 1]?.value ?? null;
        if (last === null) return NaN;
        const n = Number(last);
        const numeric = last.trim() !== '' && Number.isFinite(n);
        const vals = e.map((x) => x.value).filter((v): v is string => v !== null);
        const count = numeric ? vals.filter((v) => Number(v) <= n).length : vals.filter((v) => v === last).length;
        return (100 * count) / vals.length;
      }
      case 'temporal': return new Set(e.map((x) => x.rule)).size;
      case 'temporal_ordered': {
        let next = 0;
        for (const x of e) if (x.rule === next) { next++; if (next === c.refs.length) break; }
        return next;
      }
    }
  }

  function satisfied(c: Compiled, g: Group): boolean {
    const x = aggregate(c, g);
    if (Number.isNaN(x)) return false;
    const type = c.doc.correlation.type;
    const cond = c.doc.correlation.condition;
    if ((type === 'temporal' || type === 'temporal_ordered') && Object.keys(cond).length === 0) return x === c.refs.length;
    return holds(cond, x);
  }

  function fire(c: Compiled, g: Group, input: DetectionInput): Match[] {
    const events = g.entries.slice(-MAX_EVENTS_IN_MATCH).map((x) => x.input);
    const match: Match = { rule: c.info, input, events, group: { ...g.values } };
    const out: Match[] = [];
    if (!referenced.has(c.info.key) || generated.has(c.info.key)) out.push(match);
    // Chained correlations consume this one's match, with its group values as fields.
    const values = g.values;
    out.push(...feed(c.info.key, { field: (name) => values[name] ?? null }, input));
    return out;
  }

  function feed(key: string, source: MatchSource, input: DetectionInput): Match[] {
    const list = consumers.get(key);
    if (!list) return [];
    const t = eventTime(input);
    const out: Match[] = [];
    for (const { c, index } of list) {
      const corr = c.doc.correlation;
      const ruleName = options.nameOf(key);
      const values: Record<string, string | null> = {};
      for (const gb of corr.groupBy) {
        const alias = corr.aliases[gb];
        const fieldName = alias?.[ruleName] ?? alias?.[key] ?? gb;
        values[gb] = source.field(fieldName);
      }
      const gkey = corr.groupBy.map((f) => values[f] ?? '').join('\u0001');
      let g = c.groups.get(gkey);
      if (g) c.groups.delete(gkey); // re-insert below: Map order is the LRU order
      else {
        g = { entries: [], start: t, values };
        while (c.groups.size >= options.maxGroups) c.groups.delete(c.groups.keys().next().value!);
      }
      c.groups.set(gkey, g);
      const value = corr.field && corr.field.length > 0
        ? (corr.field.length === 1 ? source.field(corr.field[0]!) : corr.field.map((f) => source.field(f) ?? '').join('\u0001'))
        : null;
      const entry: Entry = { t, rule: index, value, input };
      if (c.immediate) {
        const from = t - corr.timespanMs;
        let drop = 0;
        while (drop < g.entries.length && g.entries[drop]!.t < from) drop++;
        if (drop) g.entries.splice(0, drop);
        g.entries.push(entry);
        if (g.entries.length > options.maxEventsPerGroup) g.entries.shift();
        if (satisfied(c, g)) {
          const fired = fire(c, g, input);
          g.entries = [];
          out.push(...fired);
        }
      } else {
        if (g.entries.length > 0 && t - g.start > corr.timespanMs) {
          if (satisfied(c, g)) out.push(...fire(c, g, g.entries[g.entries.length - 1]!.input));
          g.entries = [];
        }
        if (g.entries.length === 0) g.start = t;
        g.entries.push(entry);
        if (g.entries.length > options.maxEventsPerGroup) g.entries.shift();
      }
    }
    return out;
  }

  return {
    consumes: (key) => consumers.has(key),
    emits: (key) => !referenced.has(key) || generated.has(key),
    feed,
    flush(nowMs) {
      const out: Match[] = [];
      for (const c of compiled) {
        if (c.immediate) continue;
        for (const [k, g] of c.groups) {
          if (g.entries.length === 0) continue;
          if (nowMs !== undefined && nowMs - g.start <= c.doc.correlation.timespanMs) continue;
          if (satisfied(c, g)) out.push(...fire(c, g, g.entries[g.entries.length - 1]!.input));
          c.groups.delete(k);
        }
      }
      return out;
    },
  };
}
