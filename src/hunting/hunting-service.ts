// Advanced hunting: KQL text → parse → compile → run on the store's read-only query connection.
// Limits follow Defender (MicrosoftDocs/defender-docs advanced-hunting-limits.md): 30 days of data,
// 30,000 result rows, a timeout that cancels the query.
import { VigilError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import type { Column, KqlType } from './compiler-types.js';
import { compileKql, ProbeNeeded, type CompiledQuery } from './kql-compiler.js';
import { semanticError } from './kql-errors.js';
import { huntingIndexColumns, TEXT_INDEX_WATERMARKS } from './hunting-indexes.js';
import { parseKql } from './kql-parser.js';
import { sqliteDialect, type SqlDialect } from './sql-dialect.js';
import { datetimeToString, timespanToString } from './sqlite-functions.js';

export interface HuntingOptions {
  readonly store: Pick<Store, 'query' | 'dialect'>;
  /** Rows older than this many days are outside every query (Defender: 30). 0 disables the window. */
  readonly defaultWindowDays?: number;
  /** Cancel a query after this long (Defender: 10 minutes). */
  readonly timeoutMs?: number;
  /** Result cap; more rows set `truncated` (Defender: 30,000). */
  readonly maxRows?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface HuntOptions {
  readonly timeoutMs?: number;
  readonly maxRows?: number;
  /** Hunting window in days (fractions allowed: a 4-hour lookback is 1/6). */
  readonly windowDays?: number;
  /** Only rows with _Seq above this, per table (continuous detections). */
  readonly sinceSeq?: ReadonlyMap<string, number>;
}

export interface HuntResult {
  readonly columns: readonly Column[];
  /** Values in API form: datetimes as ISO-8601 strings, timespans as [d.]hh:mm:ss, dynamic parsed, bools as booleans. */
  readonly rows: unknown[][];
  readonly truncated: boolean;
  readonly stats: { readonly elapsedMs: number; readonly rowsReturned: number; readonly rowsScanned?: number; readonly tables: readonly string[] };
  /** The `render` operator's chart, kept for the console. */
  readonly render?: { readonly chart: string; readonly properties: Readonly<Record<string, unknown>> };
}

export interface HuntingService {
  hunt(query: string, options?: HuntOptions): Promise<HuntResult>;
  /** Parse and compile only: the SQL a query becomes, planned for the indexes the last hunt() saw (tests, rule checks). */
  compile(query: string, options?: HuntOptions): CompiledQuery;
  /** compile() after reading which indexes the database has: the SQL hunt() would run (`--explain`). */
  explain(query: string, options?: HuntOptions): Promise<CompiledQuery>;
}

export function createHuntingService(options: HuntingOptions): HuntingService {
  const dialect: SqlDialect = sqliteDialect;
  if (options.store.dialect !== 'sqlite') {
    throw new VigilError('config_invalid', 500, 'hunting supports the SQLite store only for now');
  }
  const windowDays = options.defaultWindowDays ?? 30;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const maxRows = options.maxRows ?? 30_000;
  const clock = options.now ?? Date.now;

  // The hunting indexes (HUNTING_INDEXES, `--hunting-indexes on`) and the trigram text indexes
  // (HUNTING_TEXT_INDEXES) present, and how far each text index is filled: read before each query
  // (one small catalogue query), so the compiler plans for the indexes that really exist.
  let textIndexes: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map();
  let huntingIndexes: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  const refreshIndexes = async () => {
    const catalogue = await options.store.query(
      `SELECT type, name FROM sqlite_master WHERE (type = 'index' AND name LIKE 'ix\\_%\\_hunt\\_%' ESCAPE '\\') OR (type = 'table' AND name = '${TEXT_INDEX_WATERMARKS}')`,
      [], { maxRows: 1000 },
    );
    huntingIndexes = huntingIndexColumns(catalogue.rows.filter((r) => r[0] === 'index').map((r) => String(r[1])));
    if (!catalogue.rows.some((r) => r[0] === 'table')) {
      textIndexes = new Map();
      return;
    }
    const found = await options.store.query(`SELECT name, seq FROM "${TEXT_INDEX_WATERMARKS}"`, [], { maxRows: 1000 });
    const map = new Map<string, Map<string, number>>();
    for (const [name, seq] of found.rows) {
      const m = /^(.+)__text_(.+)$/.exec(String(name));
      if (!m) continue;
      if (!map.has(m[1])) map.set(m[1], new Map());
      map.get(m[1])!.set(m[2], Number(seq));
    }
    textIndexes = map;
  };

  const compileWith = (query: string, o: HuntOptions, now: number, probes: ReadonlyMap<number, readonly string[]>): CompiledQuery => {
    if (typeof query !== 'string' || !query.trim()) throw new VigilError('kql_syntax', 400, 'The query is empty');
    const tree = parseKql(query);
    return compileKql(query, tree, { dialect, now, windowDays: o.windowDays ?? windowDays, probes, sinceSeq: o.sinceSeq, textIndexes, huntingIndexes });
  };

  const compileOnly = (query: string, o: HuntOptions): CompiledQuery => {
    try {
      return compileWith(query, o, clock(), new Map());
    } catch (error) {
      if (error instanceof ProbeNeeded) throw semanticError(query, error.pos, `${error.message}: run the query instead of compiling it`);
      throw error;
    }
  };

  return {
    compile: (query, o = {}) => compileOnly(query, o),
    async explain(query, o = {}) {
      await refreshIndexes();
      return compileOnly(query, o);
    },
    async hunt(query, o = {}) {
      const started = performance.now();
      const now = clock();
      await refreshIndexes();
      // bag_unpack/pivot columns depend on the data: read the distinct keys first, then compile again.
      const probes = new Map<number, readonly string[]>();
      let compiled: CompiledQuery | undefined;
      for (let round = 0; !compiled; round++) {
        try {
          compiled = compileWith(query, o, now, probes);
        } catch (error) {
          if (!(error instanceof ProbeNeeded) || round >= 8) throw error;
          const found = await options.store.query(error.sql, [], { timeoutMs: o.timeoutMs ?? timeoutMs, maxRows: 1000 });
          probes.set(error.pos, found.rows.map((r) => (r[0] === null || r[0] === undefined ? '' : String(r[0]))));
        }
      }
      let result;
      try {
        result = await options.store.query(compiled.sql, compiled.params, { timeoutMs: o.timeoutMs ?? timeoutMs, maxRows: o.maxRows ?? maxRows });
      } catch (error) {
        if (error instanceof VigilError && error.code === 'query_timeout') throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new VigilError('kql_execution', 400, `The query could not run: ${message}`, { sql: compiled.sql }, { cause: error });
      }
      const converters = compiled.columns.map((c) => converter(c.type));
      const rows = result.rows.map((r) => r.map((v, i) => (converters[i] ? converters[i](v) : v)));
      return {
        columns: compiled.columns,
        rows,
        truncated: result.truncated,
        stats: { elapsedMs: Math.round(performance.now() - started), rowsReturned: rows.length, tables: compiled.tables },
        ...(compiled.render ? { render: compiled.render } : {}),
      };
    },
  };
}

/** SQL storage value → API value for a KQL type. */
export function converter(type: KqlType): (v: unknown) => unknown {
  switch (type) {
    case 'datetime':
      return (v) => (typeof v === 'number' ? new Date(v).toISOString() : v === null ? null : v);
    case 'timespan':
      return (v) => (typeof v === 'number' ? timespanToString(v) : v);
    case 'bool':
      return (v) => (v === null || v === undefined ? null : v === 1 || v === true || v === '1' || v === 'true');
    case 'dynamic':
      return (v) => {
        if (typeof v !== 'string') return v ?? null;
        const t = v.trimStart();
        if (t.startsWith('[') || t.startsWith('{') || t.startsWith('"')) {
          try {
            return JSON.parse(v);
          } catch {
            return v;
          }
        }
        return v;
      };
    case 'string':
    case 'guid':
      return (v) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v));
    case 'int':
    case 'long':
    case 'real':
      return (v) => (typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : v ?? null);
  }
}

export { datetimeToString };
