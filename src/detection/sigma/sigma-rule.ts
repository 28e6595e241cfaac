// The Sigma document model (rules, correlations, filters; Sigma v2.1) and its parser from YAML.
// Every problem is reported with its file, line and column; one bad document never stops the rest.
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import { RuleCompileError, type RuleLocation, type RuleProblem } from '../errors.js';

/** Text of one rule file (or inline YAML) to load. */
export interface RuleSource {
  readonly text: string;
  /** File path or label used in reports and provenance. */
  readonly file?: string;
  /** Name of the pack the rule came from (e.g. 'sigmahq', 'vigil'). */
  readonly pack?: string;
}

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export const SIGMA_LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];

export interface SigmaLogsource {
  readonly product?: string;
  readonly category?: string;
  readonly service?: string;
  readonly definition?: string;
}

/** Metadata every document kind may carry. */
export interface SigmaMeta {
  readonly title: string;
  readonly id?: string;
  readonly name?: string;
  readonly status?: string;
  readonly description?: string;
  readonly author?: string;
  readonly references: readonly string[];
  readonly tags: readonly string[];
  readonly level?: SigmaLevel;
  readonly license?: string;
  readonly falsepositives: readonly string[];
  readonly date?: string;
  readonly modified?: string;
  /** Where the document starts. */
  readonly location: RuleLocation;
  readonly pack?: string;
}

export interface SigmaRuleDocument extends SigmaMeta {
  readonly type: 'rule';
  readonly logsource: SigmaLogsource;
  /** Search identifiers (everything under `detection` except `condition`, `timeframe`). */
  readonly detection: Readonly<Record<string, unknown>>;
  /** One or more conditions (a list is ORed). */
  readonly conditions: readonly string[];
  readonly locate: Locator;
}

export type CorrelationType =
  | 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered' | 'value_sum' | 'value_avg' | 'value_percentile';
export const CORRELATION_TYPES: readonly CorrelationType[] = [
  'event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum', 'value_avg', 'value_percentile',
];

export type CorrelationOperator = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';
export const CORRELATION_OPERATORS: readonly CorrelationOperator[] = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];

export interface SigmaCorrelationDocument extends SigmaMeta {
  readonly type: 'correlation';
  readonly correlation: {
    readonly type: CorrelationType;
    readonly rules: readonly string[];
    readonly groupBy: readonly string[];
    readonly timespanMs: number;
    readonly condition: Readonly<Partial<Record<CorrelationOperator, number>>>;
    readonly field?: readonly string[];
    readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  };
  readonly generate: boolean;
}

export interface SigmaFilterDocument extends SigmaMeta {
  readonly type: 'filter';
  readonly logsource: SigmaLogsource;
  readonly rules: readonly string[];
  readonly detection: Readonly<Record<string, unknown>>;
  readonly conditions: readonly string[];
  readonly locate: Locator;
}

export type SigmaDocument = SigmaRuleDocument | SigmaCorrelationDocument | SigmaFilterDocument;

/** Maps a YAML path inside a document to its location in the file. */
export type Locator = (path: readonly (string | number)[]) => RuleLocation;

export interface ParseResult {
  readonly documents: readonly SigmaDocument[];
  readonly problems: readonly RuleProblem[];
}

/** Parse one file's text into Sigma documents (multi-document YAML allowed). */
export function parseSigmaYaml(source: RuleSource): ParseResult {
  const file = source.file ?? '<inline>';
  const lineCounter = new LineCounter();
  const documents: SigmaDocument[] = [];
  const problems: RuleProblem[] = [];
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(source.text, { lineCounter, uniqueKeys: false, prettyErrors: false }) as Document.Parsed[];
  } catch (err) {
    problems.push({ file, line: 1, column: 1, reason: `YAML: ${(err as Error).message}` });
    return { documents, problems };
  }
  if (!Array.isArray(docs)) docs = [docs as unknown as Document.Parsed];
  for (const doc of docs) {
    const at = (offset: number | undefined): RuleLocation => {
      const p = lineCounter.linePos(offset ?? 0);
      return { file, line: p.line, column: p.col };
    };
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      problems.push({ ...at(e.pos[0]), reason: `YAML: ${e.message.split('\n')[0]}` });
      continue;
    }
    if (doc.contents === null) continue; // empty document (e.g. trailing ---)
    // Points at the key of the last map entry on the path (or the list item), where a reader looks.
    const locate: Locator = (path) => {
      let node: Node | null | undefined = doc.contents as Node;
      let last: Node | null | undefined = node;
      for (const key of path) {
        if (isMap(node)) {
          const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
          if (!pair) break;
          last = (pair.key as Node) ?? last;
          node = pair.value as Node;
        } else if (isSeq(node) && typeof key === 'number') {
          node = node.items[key] as Node;
          if (node) last = node;
        } else break;
      }
      return at(last?.range?.[0]);
    };
    const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
    const docLocation = locate([]);
    try {
      documents.push(toDocument(data, locate, docLocation, source.pack));
    } catch (err) {
      if (err instanceof RuleCompileError) {
        const meta = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
        problems.push({
          ...locate(err.path), reason: err.message,
          ruleId: typeof meta.id === 'string' ? meta.id : undefined,
          title: typeof meta.title === 'string' ? meta.title : undefined,
        });
      } else throw err;
    }
  }
  return { documents, problems };
}

const fail = (reason: string, ...path: (string | number)[]): never => {
  throw new RuleCompileError(reason, path);
};

function str(v: unknown, key: string, required = false): string | undefined {
  if (v === undefined || v === null) {
    if (required) fail(`"${key}" is required`, key);
    return undefined;
  }
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return fail(`"${key}" must be a string`, key);
}

function strList(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((x) => (x instanceof Date ? x.toISOString().slice(0, 10) : String(x)));
  return fail(`"${key}" must be a list of strings`, key);
}

function meta(d: Record<string, unknown>, location: RuleLocation, pack: string | undefined): SigmaMeta {
  const title = str(d.title, 'title', true)!;
  if (title.length > 256) fail('"title" is longer than 256 characters', 'title');
  const level = str(d.level, 'level');
  if (level !== undefined && !SIGMA_LEVELS.includes(level as SigmaLevel)) fail(`unknown level "${level}"`, 'level');
  const author = Array.isArray(d.author) ? d.author.map(String).join(', ') : str(d.author, 'author');
  return {
    title, id: str(d.id, 'id'), name: str(d.name, 'name'), status: str(d.status, 'status'),
    description: str(d.description, 'description'), author,
    references: strList(d.references, 'references'), tags: strList(d.tags, 'tags'),
    level: level as SigmaLevel | undefined, license: str(d.license, 'license'),
    falsepositives: strList(d.falsepositives, 'falsepositives'),
    date: str(d.date, 'date'), modified: str(d.modified, 'modified'), location, pack,
  };
}

function logsource(v: unknown, key: string): SigmaLogsource {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(`"${key}" must be a map`, key);
  const l = v as Record<string, unknown>;
  const lower = (x: unknown, k: string) => str(x, k)?.toLowerCase();
  const out = {
    product: lower(l.product, 'product'), category: lower(l.category, 'category'),
    service: lower(l.service, 'service'), definition: str(l.definition, 'definition'),
  };
  if (!out.product && !out.category && !out.service) fail('"logsource" needs a product, category or service', key);
  return out;
}

function conditions(v: unknown, ...path: (string | number)[]): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string')) return v as string[];
  return fail('"condition" must be a string or a list of strings', ...path);
}

function toDocument(data: unknown, locate: Locator, location: RuleLocation, pack: string | undefined): SigmaDocument {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return fail('a Sigma document must be a YAML map');
  const d = data as Record<string, unknown>;
  if (d.correlation !== undefined) return correlationDoc(d, location, pack);
  if (d.filter !== undefined && d.detection === undefined) {
    const f = d.filter as Record<string, unknown>;
    if (!f || typeof f !== 'object' || Array.isArray(f)) return fail('"filter" must be a map', 'filter');
    const rules = strList(f.rules, 'rules');
    if (rules.length === 0) fail('"filter.rules" needs at least one rule id or name', 'filter');
    if (f.condition === undefined) fail('"filter.condition" is required', 'filter');
    const detection: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f)) if (k !== 'rules' && k !== 'condition') detection[k] = v;
    return {
      ...meta(d, location, pack), type: 'filter', logsource: logsource(d.logsource, 'logsource'), rules, detection,
      conditions: conditions(f.condition, 'filter', 'condition'),
      locate: (p) => locate(['filter', ...p]),
    };
  }
  const det = d.detection;
  if (!det || typeof det !== 'object' || Array.isArray(det)) return fail('"detection" must be a map', 'detection');
  const dm = det as Record<string, unknown>;
  if (dm.condition === undefined) fail('"detection.condition" is required', 'detection');
  const detection: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dm)) if (k !== 'condition' && k !== 'timeframe') detection[k] = v;
  const m = meta(d, location, pack);
  return {
    ...m, type: 'rule', logsource: logsource(d.logsource, 'logsource'), detection,
    conditions: conditions(dm.condition, 'detection', 'condition'),
    locate: (p) => locate(['detection', ...p]),
  };
}

/** `<int><s|m|h|d>` → milliseconds (correlation spec, "Time Selection"). */
export function parseTimespan(v: string): number | undefined {
  const m = /^(\d+)([smhdwMy]?)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 }[m[2]!]!;
  return n * unit * 1000;
}

function correlationDoc(d: Record<string, unknown>, location: RuleLocation, pack: string | undefined): SigmaCorrelationDocument {
  const c = d.correlation as Record<string, unknown>;
  if (!c || typeof c !== 'object' || Array.isArray(c)) return fail('"correlation" must be a map', 'correlation');
  const type = str(c.type, 'type') as CorrelationType | undefined;
  if (!type || !CORRELATION_TYPES.includes(type)) fail(`unknown correlation type "${String(c.type)}"`, 'correlation', 'type');
  const rules = strList(c.rules, 'rules');
  if (rules.length === 0) fail('"correlation.rules" needs at least one rule id or name', 'correlation');
  const groupBy = strList(c['group-by'], 'group-by');
  const ts = str(c.timespan ?? c.timeframe, 'timespan');
  if (ts === undefined) fail('"correlation.timespan" is required', 'correlation');
  const timespanMs = parseTimespan(ts!);
  if (timespanMs === undefined || timespanMs <= 0) fail(`bad timespan "${ts}"`, 'correlation', 'timespan');
  const condition: Partial<Record<CorrelationOperator, number>> = {};
  let field: string[] | undefined;
  if (c.condition !== undefined) {
    if (!c.condition || typeof c.condition !== 'object' || Array.isArray(c.condition)) fail('"correlation.condition" must be a map', 'correlation', 'condition');
    for (const [k, v] of Object.entries(c.condition as Record<string, unknown>)) {
      if (k === 'field') { field = strList(v, 'field'); continue; }
      if (!CORRELATION_OPERATORS.includes(k as CorrelationOperator)) fail(`unknown condition operator "${k}"`, 'correlation', 'condition', k);
      const n = Number(v);
      if (typeof v === 'boolean' || v === null || Number.isNaN(n)) fail(`condition "${k}" needs a number`, 'correlation', 'condition', k);
      condition[k as CorrelationOperator] = n;
    }
  }
  const needsCondition = type !== 'temporal' && type !== 'temporal_ordered';
  if (needsCondition && Object.keys(condition).length === 0) fail(`a ${type} correlation needs a condition`, 'correlation');
  if (type!.startsWith('value_') && (!field || field.length === 0)) fail(`a ${type} correlation needs "condition.field"`, 'correlation', 'condition');
  const aliases: Record<string, Record<string, string>> = {};
  if (c.aliases !== undefined) {
    if (!c.aliases || typeof c.aliases !== 'object') fail('"correlation.aliases" must be a map', 'correlation', 'aliases');
    for (const [alias, m] of Object.entries(c.aliases as Record<string, unknown>)) {
      if (!m || typeof m !== 'object') fail(`alias "${alias}" must map rule names to fields`, 'correlation', 'aliases', alias);
      aliases[alias] = Object.fromEntries(Object.entries(m as Record<string, unknown>).map(([r, f]) => [r, String(f)]));
    }
  }
  const generate = d.generate === true || c.generate === true;
  return {
    ...meta(d, location, pack), type: 'correlation',
    correlation: { type: type!, rules, groupBy, timespanMs: timespanMs!, condition, field, aliases },
    generate,
  };
}
