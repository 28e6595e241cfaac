// The Sigma detection engine as a pure library: load rule files, evaluate canonical rows
// (with their raw source event when there is one), correlate matches over a stream.
//
// Speed comes from four things: rules are indexed by logsource (an event only meets the rules of
// its channel/EventID or table), a multi-literal prefilter skips rules whose required literals do
// not occur, the prefilter indexes the rarest of each rule's necessary conditions on the telemetry
// seen (need-tuning.ts), and each field is lower-cased at most once per event.
import type { CanonicalRow } from '../../schema/index.js';
import { RuleCompileError, type RuleProblem } from '../errors.js';
import { createCorrelator, type Correlator, type MatchSource } from './correlation.js';
import { EventContext, sourceEvent } from './event-context.js';
import { FIELD_MAPPINGS } from './field-mapping.js';
import {
  CANONICAL_CATEGORY_TABLES, DEFAULT_CANONICAL_PRODUCTS, WINDOWS_CATEGORY_SOURCES, WINDOWS_SERVICE_CHANNELS,
} from './logsource-mapping.js';
import { buildFieldPrefilter, type FieldPrefilter } from './field-prefilter.js';
import { createMemoBudget } from './value-memo.js';
import { createNeedTuning, DEFAULT_TUNING, type NeedTuning, type TunedEntry, type TuningOptions } from './need-tuning.js';
import { compileDetection, type CompiledDetection, type FieldTable, type Predicate } from './rule-compiler.js';
import {
  parseSigmaYaml, type RuleSource, type SigmaCorrelationDocument, type SigmaFilterDocument, type SigmaLevel,
  type SigmaLogsource, type SigmaRuleDocument,
} from './sigma-rule.js';

/** What the engine evaluates: a canonical row of a table, and the flattened source event when there is one. */
export interface DetectionInput {
  readonly table: string;
  /** Read only when a rule needs a canonical column the source event lacks (it may be made on demand). */
  readonly row: CanonicalRow;
  /** The flattened source event (e.g. a Windows event's fields by Sigma name); else `row._Raw`, if any. */
  readonly raw?: Readonly<Record<string, unknown>>;
  /** The columns `row` can have, when known without making it: a column outside it is absent. */
  readonly columns?: ReadonlySet<string>;
  /**
   * The source event's JSON text, when every field of `raw` is a string, number, boolean or null read
   * from it, and no string in it has a \uXXXX escape: one search of it can then rule out the keyword
   * literals for all fields at once.
   */
  readonly text?: string;
}

/** A loaded rule or correlation, with its provenance. */
export interface RuleInfo {
  /** The rule's id, or its name, or `file#n` when it has neither. */
  readonly key: string;
  readonly kind: 'rule' | 'correlation';
  readonly id?: string;
  readonly name?: string;
  readonly title: string;
  readonly description?: string;
  readonly status?: string;
  readonly level: SigmaLevel;
  readonly author?: string;
  readonly references: readonly string[];
  readonly tags: readonly string[];
  readonly license?: string;
  readonly falsepositives: readonly string[];
  readonly logsource?: SigmaLogsource;
  readonly file: string;
  readonly line: number;
  readonly pack?: string;
  readonly enabled: boolean;
  /** False when the logsource maps to no known event source (the rule loads but cannot fire). */
  readonly mapped: boolean;
  /**
   * `|expand` placeholders the configuration gives no values for: the rule is held, disabled, and
   * cannot be enabled until they are configured.
   */
  readonly unresolvedPlaceholders?: readonly string[];
}

/** One detection: a rule (or correlation) and the event(s) that made it fire. */
export interface Match {
  readonly rule: RuleInfo;
  /** The event that completed the match. */
  readonly input: DetectionInput;
  /** Every contributing event (one for a plain rule; the window's events, capped, for a correlation). */
  readonly events: readonly DetectionInput[];
  /** Correlation group-by values. */
  readonly group?: Readonly<Record<string, string | null>>;
}

export interface LoadReport {
  /** Documents seen (rules, correlations, filters, and documents that failed to parse). */
  readonly total: number;
  readonly loaded: number;
  readonly failed: readonly RuleProblem[];
  /** Loaded, but worth knowing (unmapped logsource, duplicate id replaced, unresolved references). */
  readonly warnings: readonly RuleProblem[];
  readonly rules: readonly RuleInfo[];
}

export interface DetectionOptions {
  /**
   * Values for Sigma `|expand` placeholders, e.g. { "%Admins%": ["alice"] }. A rule using one that has no
   * values loads disabled, naming it (RuleInfo.unresolvedPlaceholders and a load warning).
   */
  readonly placeholders?: Readonly<Record<string, readonly string[]>>;
  /** Rule products that run on canonical rows without `_Raw` (besides product-less rules). Default ['linux']. */
  readonly canonicalProducts?: readonly string[];
  /** Correlation memory bounds. */
  readonly maxCorrelationGroups?: number;
  readonly maxEventsPerGroup?: number;
  /** When the prefilter re-chooses rules' needs (need-tuning.ts); the default suits live telemetry. */
  readonly tuning?: TuningOptions;
}

/** How hard one logsource bucket works: rules it holds, events it saw, rules evaluated per event. */
export interface BucketStats {
  /** `Channel/EventID` for Windows events, `table/ActionType` for canonical rows. */
  readonly source: string;
  readonly rules: number;
  readonly events: number;
  readonly evaluatedPerEvent: number;
  /** Rules whose indexed need tuning changed from the static guess. */
  readonly retuned: number;
}

export interface DetectionEngine {
  /** Parse and compile rule files; bad documents are reported and skipped. */
  load(sources: readonly RuleSource[]): LoadReport;
  /** Evaluate one event; returns rule matches and any correlations it completes. */
  evaluate(input: DetectionInput): Match[];
  /** Close correlation windows that ended before `nowMs` (default: all), emitting what they hold. */
  flush(nowMs?: number): Match[];
  rules(): RuleInfo[];
  rule(key: string): RuleInfo | undefined;
  /** Enable or disable a rule by key; returns false when no such rule. A rule with unresolved placeholders stays disabled. */
  setEnabled(key: string, enabled: boolean): boolean;
  /** Remove a rule by key. */
  remove(key: string): boolean;
  /** Prefilter statistics per logsource bucket seen since rules last changed, busiest first. */
  bucketStats(): BucketStats[];
}

interface WindowsTarget {
  readonly channel: string; // lower-cased, or '*'
  readonly eventIds: ReadonlySet<number> | null;
  readonly where: Predicate | null;
  readonly aliases: ReadonlyMap<number, number> | null;
}
interface CanonicalTarget { readonly table: string; readonly actionTypes: ReadonlySet<string> | null }

interface CompiledRule {
  info: RuleInfo;
  readonly doc: SigmaRuleDocument;
  readonly detection: CompiledDetection;
  readonly windows: readonly WindowsTarget[];
  readonly canonical: readonly CanonicalTarget[];
  /** Product allowed on canonical rows. */
  readonly canonicalOk: boolean;
  /** Emit its own matches (false when only correlations without `generate` use it). */
  emit: boolean;
  readonly order: number;
}

interface BucketEntry extends TunedEntry {
  readonly rule: CompiledRule;
  readonly match: Predicate;
}

interface Bucket {
  readonly source: string;
  readonly entries: readonly BucketEntry[];
  /** Over the entries' current needs; rebuilt when tuning changes one. */
  prefilter: FieldPrefilter;
  readonly tuning: NeedTuning;
  readonly stamp: Uint32Array;
  gen: number;
  readonly candidates: number[];
  readonly hit: (owner: number) => void;
  events: number;
  evaluated: number;
}

function createFieldTable(): FieldTable & { readonly names: string[] } {
  const ids = new Map<string, number>();
  const names: string[] = [];
  return {
    names,
    intern(name) {
      let id = ids.get(name);
      if (id === undefined) { id = names.length; names.push(name); ids.set(name, id); }
      return id;
    },
    name: (id) => names[id]!,
  };
}

const LEVEL_DEFAULT: SigmaLevel = 'medium';

export function createDetectionEngine(options: DetectionOptions = {}): DetectionEngine {
  const fields = createFieldTable();
  /** One budget for all prefilter memos. */
  const memoBudget = createMemoBudget();
  const placeholders = options.placeholders ?? {};
  const canonicalProducts = new Set(options.canonicalProducts ?? DEFAULT_CANONICAL_PRODUCTS);
  const rules = new Map<string, CompiledRule>();
  const filters = new Map<string, { doc: SigmaFilterDocument; match: Predicate }>();
  const correlations = new Map<string, { doc: SigmaCorrelationDocument; info: RuleInfo }>();
  const buckets = new Map<string, Bucket>();
  const windowsBuckets = new Map<string, Map<unknown, Bucket>>();
  const ctx = new EventContext(fields.names);
  let correlator: Correlator | null = null;
  let order = 0;

  let lastChannel: string | null = null;
  let lastChannelBuckets = new Map<unknown, Bucket>();
  const invalidate = () => { buckets.clear(); windowsBuckets.clear(); lastChannel = null; correlator = null; };

  function windowsTargets(ls: SigmaLogsource): WindowsTarget[] {
    if (ls.product !== undefined && ls.product !== 'windows') return [];
    const aliasMap = (a?: Readonly<Record<string, string>>) => {
      if (!a) return null;
      const m = new Map<number, number>();
      for (const [from, to] of Object.entries(a)) m.set(fields.intern(from), fields.intern(to));
      return m;
    };
    const wherePred = (w?: Readonly<Record<string, readonly string[]>>): Predicate | null => {
      if (!w) return null;
      const checks = Object.entries(w).map(([f, vals]) => ({ id: fields.intern(f), vals: new Set(vals.map((v) => v.toLowerCase())) }));
      return (c) => checks.every(({ id, vals }) => { const t = c.lower(id); return typeof t === 'string' && vals.has(t); });
    };
    if (ls.category !== undefined) {
      const sources = WINDOWS_CATEGORY_SOURCES[ls.category];
      if (!sources) return [];
      const out: WindowsTarget[] = [];
      for (const s of sources) for (const ch of s.channels) {
        out.push({ channel: ch, eventIds: s.eventIds ? new Set(s.eventIds) : null, where: wherePred(s.where), aliases: aliasMap(s.fieldAliases) });
      }
      return out;
    }
    if (ls.service !== undefined) {
      const chans = WINDOWS_SERVICE_CHANNELS[ls.service];
      if (!chans) return [];
      return chans.map((ch) => ({ channel: ch, eventIds: null, where: null, aliases: null }));
    }
    return ls.product === 'windows' ? [{ channel: '*', eventIds: null, where: null, aliases: null }] : [];
  }

  function canonicalTargets(ls: SigmaLogsource): CanonicalTarget[] {
    if (ls.category === undefined) return [];
    return (CANONICAL_CATEGORY_TABLES[ls.category] ?? []).map((s) => ({
      table: s.table, actionTypes: s.actionTypes ? new Set(s.actionTypes.map((a) => a.toLowerCase())) : null,
    }));
  }

  function infoOf(doc: SigmaRuleDocument | SigmaCorrelationDocument, key: string, mapped: boolean, unresolved?: readonly string[]): RuleInfo {
    return Object.freeze({
      key, kind: doc.type === 'rule' ? 'rule' : 'correlation', id: doc.id, name: doc.name, title: doc.title,
      description: doc.description, status: doc.status, level: doc.level ?? LEVEL_DEFAULT, author: doc.author,
      references: doc.references, tags: doc.tags, license: doc.license, falsepositives: doc.falsepositives,
      logsource: doc.type === 'rule' ? doc.logsource : undefined, file: doc.location.file, line: doc.location.line,
      pack: doc.pack, enabled: unresolved === undefined, mapped,
      ...(unresolved ? { unresolvedPlaceholders: unresolved } : {}),
    } satisfies RuleInfo);
  }

  function load(sources: readonly RuleSource[]): LoadReport {
    const failed: RuleProblem[] = [];
    const warnings: RuleProblem[] = [];
    const loaded: RuleInfo[] = [];
    let total = 0;
    for (const source of sources) {
      const parsed = parseSigmaYaml(source);
      total += parsed.documents.length + parsed.problems.length;
      failed.push(...parsed.problems);
      parsed.documents.forEach((doc, index) => {
        const key = doc.id ?? doc.name ?? `${doc.location.file}#${index + 1}`;
        const where = { file: doc.location.file, line: doc.location.line, column: doc.location.column, ruleId: doc.id, title: doc.title };
        try {
          if (doc.type === 'rule') {
            const missing = new Set<string>();
            const detection = compileDetection(doc.detection, doc.conditions, { fields, placeholders, missingPlaceholders: missing });
            const unresolved = missing.size > 0 ? [...missing].sort() : undefined;
            const windows = windowsTargets(doc.logsource);
            const canonical = canonicalTargets(doc.logsource);
            const canonicalOk = doc.logsource.product === undefined || canonicalProducts.has(doc.logsource.product);
            const mapped = windows.length > 0 || (canonicalOk && canonical.length > 0);
            if (rules.has(key) || correlations.has(key)) warnings.push({ ...where, reason: `duplicate rule key "${key}" replaced` });
            const info = infoOf(doc, key, mapped, unresolved);
            if (unresolved) warnings.push({ ...where, reason: `loaded disabled: placeholder ${unresolved.join(', ')} has no configured value (set it in the placeholders file)` });
            if (!mapped) warnings.push({ ...where, reason: `logsource ${JSON.stringify(doc.logsource)} maps to no known event source` });
            rules.set(key, { info, doc, detection, windows, canonical, canonicalOk, emit: true, order: order++ });
            loaded.push(info);
          } else if (doc.type === 'filter') {
            const compiled = compileDetection(doc.detection, doc.conditions, { fields, placeholders });
            filters.set(key, { doc, match: compiled.match });
            loaded.push(Object.freeze({ ...infoOf({ ...doc, type: 'rule', detection: {}, conditions: [] } as SigmaRuleDocument, key, true) }));
          } else {
            const info = infoOf(doc, key, true);
            correlations.set(key, { doc, info });
            loaded.push(info);
          }
        } catch (err) {
          if (err instanceof RuleCompileError) {
            const loc = 'locate' in doc ? doc.locate(err.path) : doc.location;
            failed.push({ ...where, line: loc.line, column: loc.column, reason: err.message });
          } else throw err;
        }
      });
    }
    invalidate();
    // Correlation references are checked now, so the report says what cannot fire yet.
    for (const { doc } of correlations.values()) {
      for (const ref of doc.correlation.rules) {
        if (!resolveRef(ref)) warnings.push({ ...doc.location, ruleId: doc.id, title: doc.title, reason: `correlation references unknown rule "${ref}"` });
      }
    }
    for (const f of filters.values()) {
      for (const ref of f.doc.rules) {
        if (!resolveRef(ref)) warnings.push({ ...f.doc.location, ruleId: f.doc.id, title: f.doc.title, reason: `filter references unknown rule "${ref}"` });
      }
    }
    return { total, loaded: loaded.length, failed, warnings, rules: loaded };
  }

  function resolveRef(ref: string): string | undefined {
    if (rules.has(ref) || correlations.has(ref)) return ref;
    for (const [k, r] of rules) if (r.doc.name === ref || r.doc.id === ref) return k;
    for (const [k, c] of correlations) if (c.doc.name === ref || c.doc.id === ref) return k;
    return undefined;
  }

  function ensureCorrelator(): Correlator {
    if (correlator) return correlator;
    const active = [...correlations.values()].filter((c) => c.info.enabled);
    correlator = createCorrelator(active.map((c) => ({ doc: c.doc, info: c.info })), {
      resolve: resolveRef,
      nameOf: (key) => rules.get(key)?.doc.name ?? correlations.get(key)?.doc.name ?? key,
      maxGroups: options.maxCorrelationGroups ?? 10_000,
      maxEventsPerGroup: options.maxEventsPerGroup ?? 1_000,
    });
    for (const r of rules.values()) r.emit = correlator.emits(r.info.key);
    return correlator;
  }

  function entryFor(rule: CompiledRule, aliases: ReadonlyMap<number, number> | null, where: Predicate | null): BucketEntry {
    let match = rule.detection.match;
    const fs: Predicate[] = [];
    for (const f of filters.values()) {
      if (f.doc.rules.some((ref) => ref === rule.info.key || ref === rule.doc.id || ref === rule.doc.name)) fs.push(f.match);
    }
    if (fs.length > 0) {
      // Filters (Sigma filters spec): the rule matches only where no filter condition holds.
      const base = match;
      match = (c) => { if (!base(c)) return false; for (const f of fs) if (f(c)) return false; return true; };
    }
    if (where) { const inner = match; match = (c) => where(c) && inner(c); }
    const needs = rule.detection.needs;
    return { rule, match, aliases, needs, need: needs[0] ?? null };
  }

  function buildBucket(source: string, entries: BucketEntry[]): Bucket {
    entries.sort((a, b) => a.rule.order - b.rule.order);
    const stamp = new Uint32Array(entries.length);
    const candidates: number[] = [];
    const bucket: Bucket = {
      source, entries, prefilter: buildFieldPrefilter(entries, fields.names, memoBudget), tuning: createNeedTuning(entries, options.tuning ?? DEFAULT_TUNING),
      stamp, gen: 1, candidates, events: 0, evaluated: 0,
      hit: (o) => { if (stamp[o] !== bucket.gen) { stamp[o] = bucket.gen; candidates.push(o); } },
    };
    return bucket;
  }

  function windowsBucket(channel: string, eventIdValue: unknown, source: string): Bucket {
    const eventId = Number(eventIdValue);
    // The text a rule's `EventID: n` compares with (lower-cased), to leave out rules bound to other EventIDs.
    const eventIdText = typeof eventIdValue === 'string' ? eventIdValue.toLowerCase() : String(eventIdValue);
    const entries: BucketEntry[] = [];
    for (const rule of rules.values()) {
      if (!rule.info.enabled) continue;
      if (rule.detection.eventIds !== null && !rule.detection.eventIds.has(eventIdText)) continue;
      for (const t of rule.windows) {
        if ((t.channel === '*' || t.channel === channel) && (t.eventIds === null || t.eventIds.has(eventId))) {
          entries.push(entryFor(rule, t.aliases, t.where));
          break;
        }
      }
    }
    return buildBucket(source, entries);
  }

  function canonicalBucket(table: string, actionType: string): Bucket {
    const entries: BucketEntry[] = [];
    for (const rule of rules.values()) {
      if (!rule.info.enabled || !rule.canonicalOk) continue;
      if (rule.canonical.some((t) => t.table === table && (t.actionTypes === null || actionType === '' || t.actionTypes.has(actionType)))) {
        entries.push(entryFor(rule, null, null));
      }
    }
    return buildBucket(`${table}/${actionType}`, entries);
  }

  function evaluate(input: DetectionInput): Match[] {
    const raw = sourceEvent(input);
    let bucket: Bucket | undefined;
    const channel = raw !== null ? raw.Channel : undefined;
    if (typeof channel === 'string') {
      // Keyed by the channel as written and the EventID as given: no string building per event. The
      // last channel's buckets are at hand (comparing the text is cheaper than hashing it anew).
      let byId: Map<unknown, Bucket> | undefined;
      if (channel === lastChannel) byId = lastChannelBuckets;
      else {
        byId = windowsBuckets.get(channel);
        if (byId === undefined) { byId = new Map(); windowsBuckets.set(channel, byId); }
        lastChannel = channel;
        lastChannelBuckets = byId;
      }
      const eidValue = raw!.EventID;
      bucket = byId.get(eidValue);
      if (bucket === undefined) { bucket = windowsBucket(channel.toLowerCase(), eidValue, `${channel}/${String(eidValue)}`); byId.set(eidValue, bucket); }
    } else {
      const actionType = input.row.ActionType;
      const at = typeof actionType === 'string' ? actionType.toLowerCase() : '';
      const key = `${input.table}\u0001${at}`;
      bucket = buckets.get(key);
      if (bucket === undefined) { bucket = canonicalBucket(input.table, at); buckets.set(key, bucket); }
    }
    if (bucket.entries.length === 0) return [];
    ctx.reset(input, raw, FIELD_MAPPINGS[input.table as keyof typeof FIELD_MAPPINGS] ?? null);
    bucket.gen = bucket.gen === 0xffffffff ? 1 : bucket.gen + 1;
    if (bucket.gen === 1) bucket.stamp.fill(0);
    const cand = bucket.candidates;
    cand.length = 0;
    bucket.prefilter.collect(ctx, bucket.hit);
    bucket.events++;
    if (bucket.tuning.observe(cand, ctx)) bucket.prefilter = buildFieldPrefilter(bucket.entries, fields.names, memoBudget);
    for (const i of bucket.prefilter.always) bucket.hit(i);
    bucket.evaluated += cand.length;
    if (cand.length === 0) return [];
    if (cand.length > 1) cand.sort((a, b) => a - b);
    let out: Match[] | null = null;
    const corr = correlations.size > 0 ? ensureCorrelator() : null;
    for (const i of cand) {
      const e = bucket.entries[i]!;
      ctx.aliases = e.aliases;
      if (!e.match(ctx)) continue;
      out ??= [];
      if (corr === null || e.rule.emit) out.push({ rule: e.rule.info, input, events: [input] });
      if (corr !== null && corr.consumes(e.rule.info.key)) {
        const aliases = e.aliases;
        const source: MatchSource = {
          field: (name) => {
            ctx.aliases = aliases;
            const t = ctx.text(fields.intern(name));
            return t === null ? null : typeof t === 'string' ? t : t.join(',');
          },
        };
        out.push(...corr.feed(e.rule.info.key, source, input));
      }
    }
    ctx.aliases = null;
    return out ?? [];
  }

  function setEnabled(key: string, enabled: boolean): boolean {
    const r = rules.get(key);
    if (r) { r.info = Object.freeze({ ...r.info, enabled: enabled && !r.info.unresolvedPlaceholders }); invalidate(); return true; }
    const c = correlations.get(key);
    if (c) { c.info = Object.freeze({ ...c.info, enabled }); invalidate(); return true; }
    return false;
  }

  return {
    load,
    evaluate,
    flush: (nowMs) => (correlations.size > 0 ? ensureCorrelator().flush(nowMs) : []),
    rules: () => [...[...rules.values()].map((r) => r.info), ...[...correlations.values()].map((c) => c.info)],
    rule: (key) => rules.get(key)?.info ?? correlations.get(key)?.info,
    setEnabled,
    bucketStats: () => [...buckets.values(), ...[...windowsBuckets.values()].flatMap((m) => [...m.values()])]
      .filter((b) => b.events > 0)
      .sort((a, b) => b.events - a.events)
      .map((b) => ({
        source: b.source, rules: b.entries.length, events: b.events, evaluatedPerEvent: b.evaluated / b.events,
        retuned: b.entries.filter((e) => e.need !== (e.needs[0] ?? null)).length,
      })),
    remove: (key) => {
      const ok = rules.delete(key) || correlations.delete(key) || filters.delete(key);
      if (ok) invalidate();
      return ok;
    },
  };
}
