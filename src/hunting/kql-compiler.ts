// KQL syntax tree → one SQL SELECT over the telemetry tables (storage conventions in CONTRACTS.md:
// datetime as epoch ms, bool 0/1, dynamic as JSON text). Every pipe stage becomes a subquery
// `SELECT … FROM (<previous stage>) AS _tN`, which SQLite flattens where it can.
import { TABLES } from '../schema/index.js';
import type {
  Binding, Column, CompileContext, Env, KqlType, Relation, Scope, SExpr,
} from './compiler-types.js';
import { semanticError } from './kql-errors.js';
import type { Expr, JoinKey, NamedExpr, Query, SortItem, TabularOp } from './kql-nodes.js';
import { compileAggregate, compileFunction, deriveAggName, isAggregateName } from './kql-functions.js';
import { likeEscape, type SqlDialect } from './sql-dialect.js';
import { tableFunction } from './table-functions.js';
import { textIndexName } from './hunting-indexes.js';

export interface CompileOptions {
  readonly dialect: SqlDialect;
  /** now() for the whole query (epoch ms). */
  readonly now: number;
  /** Hunting window on Timestamp, in days; 0 or null for none. */
  readonly windowDays: number | null;
  /**
   * Values looked up in the data for operators whose output columns depend on it (bag_unpack, pivot),
   * by the operator's position. A missing entry makes compilation throw ProbeNeeded with the SQL to run.
   */
  readonly probes?: ReadonlyMap<number, readonly string[]>;
  /** Only rows with _Seq above this, per table (continuous custom detections read just the new rows). */
  readonly sinceSeq?: ReadonlyMap<string, number>;
  /** Trigram text indexes present: table → column → watermark (highest _Seq indexed; rows above are scanned). */
  readonly textIndexes?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** (Column, Timestamp) hunting indexes present: table → leading columns (huntingIndexColumns). */
  readonly huntingIndexes?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Tables that exist; defaults to every canonical table. */
  readonly tables?: ReadonlyMap<string, { readonly columns: readonly { readonly name: string; readonly type: string }[] }>;
}

/** Compilation needs distinct values from the data first (evaluate bag_unpack / pivot). */
export class ProbeNeeded extends Error {
  constructor(readonly pos: number, readonly sql: string, readonly what: string) {
    super(`${what} needs to read the data to know its columns`);
  }
}

export interface CompiledQuery {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly columns: readonly Column[];
  readonly render: { chart: string; properties: Readonly<Record<string, unknown>> } | null;
  readonly tables: readonly string[];
}

/** Compile a parsed query to SQL. Throws KqlError('kql_semantic') for unknown names and unsupported features. */
export function compileKql(text: string, query: Query, options: CompileOptions): CompiledQuery {
  const ctx: CompileContext = {
    text,
    dialect: options.dialect,
    now: options.now,
    windowStart: options.windowDays ? options.now - options.windowDays * 86_400_000 : null,
    ctes: [],
    render: null,
    aliasCounter: 0,
    tablesRead: new Set(),
  };
  const compiler = new Compiler(ctx, options.tables ?? (TABLES as unknown as CompileOptions['tables'] & object), options.probes ?? new Map(), options.sinceSeq ?? new Map(), options.textIndexes ?? new Map(), options.huntingIndexes ?? new Map());
  let rel = compiler.compileQuery(query, { parent: null, names: new Map() });
  if (rel.columns.some((c) => isHidden(c.name))) rel = compiler.reselect(rel, rel.columns.filter((c) => !isHidden(c.name)));
  const withClause = ctx.ctes.length ? `WITH ${ctx.ctes.map((c) => `${c.name} AS (${c.sql})`).join(', ')} ` : '';
  return Object.freeze({
    sql: withClause + rel.sql,
    params: [],
    columns: rel.columns,
    render: ctx.render,
    tables: [...ctx.tablesRead],
  });
}

/**
 * has_any / has_all lists up to this long get a LIKE per term before the JavaScript term test. Measured
 * over 2.4M command lines: a LIKE costs ~65 ns per term and row, the JS test ~100 ns per term plus
 * ~500 ns per call, so the prefilter wins at every length tried (2, 8, 16 terms); the cap bounds the SQL.
 */
const MAX_LIKE_PREFILTER_TERMS = 32;

/** Hidden columns (never shown): _IngestedAt for ingestion_time(), _Seq for text-index lookups. */
const HIDDEN_INGESTION = '$IngestionTime';
const HIDDEN_SEQ = '$Seq';
export function isHidden(name: string): boolean {
  return name.startsWith(HIDDEN_INGESTION) || name.startsWith(HIDDEN_SEQ);
}

const STRING_TYPES = new Set<KqlType>(['string', 'guid']);
const NUMERIC = new Set<KqlType>(['int', 'long', 'real']);

function toKqlType(t: string): KqlType {
  switch (t) {
    case 'string': case 'int': case 'long': case 'real': case 'bool': case 'datetime': case 'timespan': case 'dynamic': case 'guid':
      return t;
    case 'double': case 'decimal': return 'real';
    case 'boolean': return 'bool';
    case 'date': return 'datetime';
    case 'time': return 'timespan';
    case 'uniqueid': return 'guid';
    default: return 'string';
  }
}

export class Compiler {
  constructor(
    readonly ctx: CompileContext,
    private readonly tables: NonNullable<CompileOptions['tables']>,
    private readonly probes: ReadonlyMap<number, readonly string[]> = new Map(),
    private readonly sinceSeq: ReadonlyMap<string, number> = new Map(),
    private readonly textIndexes: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map(),
    private readonly huntingIndexes: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  ) {}

  /** Distinct values the data holds for an operator at `pos`; `sql` yields them in column "v". */
  probe(pos: number, sql: string, what: string): readonly string[] {
    const values = this.probes.get(pos);
    if (!values) throw new ProbeNeeded(pos, sql, what);
    return values;
  }

  get d(): SqlDialect {
    return this.ctx.dialect;
  }

  err(pos: number, message: string): never {
    throw semanticError(this.ctx.text, pos, message);
  }

  alias(): string {
    return `_t${++this.ctx.aliasCounter}`;
  }

  q(name: string): string {
    return this.d.ident(name);
  }

  // ---- statements and environments -------------------------------------------------------
  compileQuery(query: Query, env: Env): Relation {
    const result = this.runStatements(query, env);
    if (!result || result.kind !== 'relation') {
      this.err(0, 'The query must end with a tabular expression (for example a table name followed by operators)');
    }
    return result.rel;
  }

  /** Bind lets, then compile the last expression statement (tabular or scalar). */
  runStatements(query: Query, env: Env): { kind: 'relation'; rel: Relation } | { kind: 'scalar'; sexpr: SExpr } | null {
    const local: Env = { parent: env, names: new Map() };
    let result: { kind: 'relation'; rel: Relation } | { kind: 'scalar'; sexpr: SExpr } | null = null;
    for (const st of query.statements) {
      if (st.kind === 'let') {
        const frame: Env = { parent: local.parent, names: new Map(local.names) };
        local.names.set(st.name, this.bindingFor(st.value, frame));
      } else if (st.kind === 'expr') {
        if (this.isTabular(st.expr, local)) result = { kind: 'relation', rel: this.tabular(st.expr, local) };
        else result = { kind: 'scalar', sexpr: this.scalar(st.expr, emptyScope(), local) };
      }
    }
    return result;
  }

  bindingFor(value: Expr, env: Env): Binding {
    if (value.kind === 'lambda') return { kind: 'lambda', node: value, env };
    if (this.isTabular(value, env)) return { kind: 'tabular', expr: value, env };
    return { kind: 'scalar', expr: value, env };
  }

  lookup(env: Env | null, name: string): Binding | undefined {
    for (let e = env; e; e = e.parent) {
      const b = e.names.get(name);
      if (b) return b;
    }
    return undefined;
  }

  tableDef(name: string): readonly Column[] | undefined {
    const t = this.tables.get(name);
    return t ? t.columns.map((c) => ({ name: c.name, type: toKqlType(c.type) })) : undefined;
  }

  isTabular(e: Expr, env: Env): boolean {
    switch (e.kind) {
      case 'pipe': case 'union': case 'datatable': case 'print': case 'range': case 'search':
        return true;
      case 'ident': {
        const b = this.lookup(env, e.name);
        if (b) return b.kind === 'tabular' || b.kind === 'relation';
        return this.tables.has(e.name);
      }
      case 'call': {
        if (e.name === 'materialize' || e.name === 'view' || e.name === 'table') return true;
        const b = this.lookup(env, e.name);
        if (b?.kind === 'lambda') {
          const last = [...b.node.body.statements].reverse().find((s) => s.kind === 'expr');
          if (!last || last.kind !== 'expr') return false;
          const inner: Env = { parent: b.env, names: new Map() };
          for (const p of b.node.params) {
            inner.names.set(p.name, p.type === 'table' ? { kind: 'relation', rel: { sql: 'SELECT 1', columns: [] } } : { kind: 'value', sexpr: { sql: 'NULL', type: 'string' } });
          }
          for (const st of b.node.body.statements) if (st.kind === 'let') inner.names.set(st.name, this.bindingFor(st.value, inner));
          return this.isTabular(last.expr, inner);
        }
        return tableFunction(e.name) !== undefined && !b;
      }
      default:
        return false;
    }
  }

  // ---- tabular expressions ---------------------------------------------------------------
  tabular(e: Expr, env: Env): Relation {
    switch (e.kind) {
      case 'ident':
        return this.tableRef(e.name, e.pos, env, false) ?? this.err(e.pos, this.unknownTableMessage(e.name));
      case 'pipe':
        return this.applyOp(this.tabular(e.input, env), e.op, env, e.pos);
      case 'union':
        return this.union(null, e.tables, e.options, env, e.pos);
      case 'datatable':
        return this.datatable(e, env);
      case 'print': {
        const scope = emptyScope();
        const items = e.items.map((it, i) => {
          const s = this.scalar(it.expr, scope, env);
          return { name: it.name ?? `print_${i}`, s };
        });
        return { sql: `SELECT ${items.map((i) => `${i.s.sql} AS ${this.q(i.name)}`).join(', ')}`, columns: items.map((i) => ({ name: i.name, type: i.s.type })) };
      }
      case 'range': {
        const from = this.scalar(e.from, emptyScope(), env);
        const to = this.scalar(e.to, emptyScope(), env);
        const step = this.scalar(e.step, emptyScope(), env);
        const a = this.alias();
        const sql = `SELECT x AS ${this.q(e.name)} FROM (WITH RECURSIVE ${a}(x, n) AS (SELECT ${from.sql}, 0 UNION ALL SELECT x + ${step.sql}, n + 1 FROM ${a} WHERE x + ${step.sql} <= ${to.sql} AND n < 1000000) SELECT x FROM ${a})`;
        return { sql, columns: [{ name: e.name, type: from.type }] };
      }
      case 'search':
        return this.searchSource(e, env);
      case 'call':
        return this.tabularCall(e, env, null);
      default:
        this.err(e.pos, 'Expected a table or a tabular expression here');
    }
  }

  unknownTableMessage(name: string): string {
    return `Unknown table or variable '${name}': Vigil has no table, function or let statement with this name`;
  }

  /** A table or tabular let by name. */
  tableRef(name: string, pos: number, env: Env, fuzzy: boolean): Relation | null {
    const b = this.lookup(env, name);
    if (b) {
      if (b.kind === 'relation') return b.rel;
      if (b.kind === 'tabular') return this.letRelation(name, b);
      if (b.kind === 'lambda' && b.node.params.length === 0) return this.callLambda(b, [], env, pos, null).rel ?? this.err(pos, `'${name}' is not tabular`);
      this.err(pos, `'${name}' is a scalar value, not a table`);
    }
    const cols = this.tableDef(name);
    if (!cols) {
      if (fuzzy) return null;
      return null;
    }
    this.ctx.tablesRead.add(name);
    const list = cols.map((c) => this.q(c.name)).join(', ');
    const hasTs = cols.some((c) => c.name === 'Timestamp');
    const conds: string[] = [];
    if (hasTs && this.ctx.windowStart !== null) conds.push(`${this.q('Timestamp')} >= ${this.ctx.windowStart}`);
    const since = this.sinceSeq.get(name);
    if (since !== undefined) conds.push(`${this.q('_Seq')} > ${Math.trunc(since)}`);
    const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
    // The row's ingestion time travels as a hidden column until the first project/summarize (ingestion_time()).
    return {
      sql: `SELECT ${list}, ${this.q('_IngestedAt')} AS ${this.q(HIDDEN_INGESTION)}, ${this.q('_Seq')} AS ${this.q(HIDDEN_SEQ)} FROM ${this.q(name)}${where}`,
      columns: [...cols, { name: HIDDEN_INGESTION, type: 'datetime' }, { name: HIDDEN_SEQ, type: 'long' }],
      table: name,
    };
  }

  letRelation(name: string, b: Extract<Binding, { kind: 'tabular' }>): Relation {
    if (!b.cte) {
      const rel = this.tabular(b.expr, b.env);
      const cteName = this.q(`_let_${name}_${++this.ctx.aliasCounter}`);
      this.ctx.ctes.push({ name: cteName, sql: rel.sql });
      b.cte = { sql: `SELECT * FROM ${cteName}`, columns: rel.columns };
    }
    return b.cte;
  }

  tabularCall(e: Extract<Expr, { kind: 'call' }>, env: Env, input: Relation | null): Relation {
    if (e.name === 'materialize' || e.name === 'view') {
      if (e.args.length !== 1) this.err(e.pos, `${e.name}() takes one tabular argument`);
      return this.tabular(e.args[0], env);
    }
    if (e.name === 'table') {
      const a = e.args[0];
      if (!a || a.kind !== 'literal' || typeof a.value !== 'string') this.err(e.pos, "table() takes a table name as a string");
      return this.tableRef(a.value as string, e.pos, env, false) ?? this.err(e.pos, this.unknownTableMessage(a.value as string));
    }
    const b = this.lookup(env, e.name);
    if (b?.kind === 'lambda') {
      const r = this.callLambda(b, e.args, env, e.pos, input);
      if (!r.rel) this.err(e.pos, `'${e.name}' returns a scalar, not a table`);
      return r.rel;
    }
    const tf = tableFunction(e.name);
    if (tf) return tf(this, e, env, input);
    this.err(e.pos, `Unknown function '${e.name}': Vigil does not provide this table function`);
  }

  callLambda(
    b: Extract<Binding, { kind: 'lambda' }>, args: readonly Expr[], env: Env, pos: number, input: Relation | null,
    scope: Scope = emptyScope(),
  ): { rel?: Relation; sexpr?: SExpr } {
    const frame: Env = { parent: b.env, names: new Map() };
    let ai = 0;
    b.node.params.forEach((p) => {
      if (p.type === 'table' && input && !frame.names.size && ai === 0 && args.length < b.node.params.length) {
        frame.names.set(p.name, { kind: 'relation', rel: input });
        return;
      }
      const arg = args[ai++];
      if (!arg) {
        if (p.default) frame.names.set(p.name, { kind: 'value', sexpr: this.scalar(p.default, emptyScope(), b.env) });
        else this.err(pos, `Missing argument '${p.name}'`);
        return;
      }
      if (p.type === 'table') frame.names.set(p.name, { kind: 'relation', rel: this.tabular(arg, env) });
      else frame.names.set(p.name, { kind: 'value', sexpr: this.scalar(arg, scope, env) });
    });
    const r = this.runStatements(b.node.body, frame);
    if (!r) this.err(pos, 'The function body has no result expression');
    return r.kind === 'relation' ? { rel: r.rel } : { sexpr: r.sexpr };
  }

  /** Rows of `rel` with expression-level access, wrapped so its columns can be referenced as alias."col". */
  from(rel: Relation): { alias: string; scope: Scope; fromSql: string } {
    const alias = this.alias();
    return { alias, scope: { columns: rel.columns, alias, local: new Map(), aggregate: false, table: rel.table }, fromSql: `(${rel.sql}) AS ${alias}` };
  }

  col(alias: string | null, name: string): string {
    return alias ? `${alias}.${this.q(name)}` : this.q(name);
  }

  selectList(cols: readonly Column[], alias: string | null): string {
    return cols.length ? cols.map((c) => `${this.col(alias, c.name)} AS ${this.q(c.name)}`).join(', ') : 'NULL AS "_empty"';
  }

  applyOp(input: Relation, op: TabularOp, env: Env, pos: number): Relation {
    switch (op.kind) {
      case 'where': {
        const f = this.from(input);
        const p = this.scalar(op.predicate, f.scope, env);
        const touched = input.table ? new Set([...(input.touched ?? []), ...identsOf(op.predicate)]) : undefined;
        return { sql: `SELECT * FROM ${f.fromSql} WHERE ${this.truthy(p)}`, columns: input.columns, table: input.table, touched };
      }
      case 'extend': {
        const f = this.from(input);
        const outs = new Map<string, SExpr>();
        const added: Column[] = [];
        let auto = 1;
        for (const item of op.items) {
          const s = this.scalar(item.expr, f.scope, env);
          const names = item.name?.split(',') ?? [null];
          if (names.length > 1) this.err(item.expr.pos, 'extend (a, b) = … is not supported');
          let name = names[0];
          if (!name) {
            name = deriveByName(item.expr, auto - 1);
            if (name === `Column${auto}`) auto++;
          }
          outs.set(name, s);
          f.scope.local.set(name, s);
          if (!input.columns.some((c) => c.name === name) && !added.some((c) => c.name === name)) added.push({ name, type: s.type });
        }
        const columns: Column[] = [
          ...input.columns.map((c) => (outs.has(c.name) ? { name: c.name, type: outs.get(c.name)!.type } : c)),
          ...added.map((c) => ({ name: c.name, type: outs.get(c.name)!.type })),
        ];
        const list = columns.map((c) => `${outs.has(c.name) ? outs.get(c.name)!.sql : this.col(f.alias, c.name)} AS ${this.q(c.name)}`);
        return { sql: `SELECT ${list.join(', ')} FROM ${f.fromSql}`, columns };
      }
      case 'project': {
        const f = this.from(input);
        const items: { name: string; s: SExpr }[] = [];
        let auto = 1;
        for (const item of op.items) {
          if (!item.name && item.expr.kind === 'ident' && /\*/.test(item.expr.name)) {
            for (const c of this.matchColumns(input.columns, item.expr.name)) items.push({ name: c.name, s: { sql: this.col(f.alias, c.name), type: c.type } });
            continue;
          }
          const s = this.scalar(item.expr, f.scope, env);
          let name = item.name;
          if (!name) {
            name = deriveByName(item.expr, auto - 1);
            if (name === `Column${auto}`) auto++;
          }
          f.scope.local.set(name, s);
          const existing = items.findIndex((i) => i.name === name);
          if (existing >= 0) items.splice(existing, 1);
          items.push({ name, s });
        }
        return {
          sql: `SELECT ${items.map((i) => `${i.s.sql} AS ${this.q(i.name)}`).join(', ')} FROM ${f.fromSql}`,
          columns: items.map((i) => ({ name: i.name, type: i.s.type })),
        };
      }
      case 'projectAway': {
        const drop = new Set(op.columns.flatMap((p) => this.matchColumns(input.columns, p, pos, true).map((c) => c.name)));
        return this.reselect(input, input.columns.filter((c) => !drop.has(c.name)));
      }
      case 'projectKeep': {
        const keep = new Set(op.columns.flatMap((p) => this.matchColumns(input.columns, p, pos, true).map((c) => c.name)));
        return this.reselect(input, input.columns.filter((c) => keep.has(c.name)));
      }
      case 'projectReorder': {
        const first: Column[] = [];
        for (const p of op.columns) {
          for (const c of this.matchColumns(input.columns, p, pos, false)) if (!first.includes(c)) first.push(c);
        }
        return this.reselect(input, [...first, ...input.columns.filter((c) => !first.includes(c))]);
      }
      case 'projectRename': {
        const f = this.from(input);
        const renames = new Map<string, string>();
        for (const it of op.items) {
          if (!input.columns.some((c) => c.name === it.from)) this.err(pos, `project-rename: unknown column '${it.from}'`);
          renames.set(it.from, it.name);
        }
        const cols = input.columns.filter((c) => ![...renames.values()].includes(c.name) || renames.has(c.name));
        const out = cols.map((c) => ({ from: c.name, name: renames.get(c.name) ?? c.name, type: c.type }));
        return {
          sql: `SELECT ${out.map((c) => `${this.col(f.alias, c.from)} AS ${this.q(c.name)}`).join(', ')} FROM ${f.fromSql}`,
          columns: out.map((c) => ({ name: c.name, type: c.type })),
        };
      }
      case 'summarize':
        return this.summarize(input, op.aggs, op.by, env, pos);
      case 'join':
        return this.join(input, op.joinKind, this.joinRight(op.right, env), op.on, op.lookup, pos);
      case 'union':
        return this.union(input, op.tables, op.options, env, pos);
      case 'sort': {
        const f = this.from(input);
        return { sql: `SELECT * FROM ${f.fromSql} ORDER BY ${this.orderBy(op.by, f.scope, env)}`, columns: input.columns };
      }
      case 'top': {
        const f = this.from(input);
        const n = this.scalar(op.count, emptyScope(), env);
        return { sql: `SELECT * FROM ${f.fromSql} ORDER BY ${this.orderBy([op.by], f.scope, env)} LIMIT ${n.sql}`, columns: input.columns };
      }
      case 'take': {
        const n = this.scalar(op.count, emptyScope(), env);
        return { sql: `SELECT * FROM (${input.sql}) AS ${this.alias()} LIMIT ${n.sql}`, columns: input.columns };
      }
      case 'sample': {
        const n = this.scalar(op.count, emptyScope(), env);
        return { sql: `SELECT * FROM (${input.sql}) AS ${this.alias()} ORDER BY random() LIMIT ${n.sql}`, columns: input.columns };
      }
      case 'distinct': {
        if (op.items === 'all') {
          const visible = input.columns.filter((c) => !isHidden(c.name));
          const a = this.alias();
          return { sql: `SELECT DISTINCT ${this.selectList(visible, a)} FROM (${input.sql}) AS ${a}`, columns: visible };
        }
        const f = this.from(input);
        const items = op.items.map((it, i) => {
          const s = this.scalar(it.expr, f.scope, env);
          return { name: it.name ?? deriveByName(it.expr, i), s };
        });
        return {
          sql: `SELECT DISTINCT ${items.map((i) => `${i.s.sql} AS ${this.q(i.name)}`).join(', ')} FROM ${f.fromSql}`,
          columns: items.map((i) => ({ name: i.name, type: i.s.type })),
        };
      }
      case 'count':
        return { sql: `SELECT count(*) AS ${this.q(op.name)} FROM (${input.sql}) AS ${this.alias()}`, columns: [{ name: op.name, type: 'long' }] };
      case 'mvExpand':
        return this.mvExpand(input, op, env);
      case 'mvApply':
        return this.mvApply(input, op, env);
      case 'parse':
        return this.parseOp(input, op, env);
      case 'makeSeries':
        return this.makeSeries(input, op, env, pos);
      case 'evaluate':
        return this.evaluate(input, op, env, pos);
      case 'invoke':
        return this.tabularCall({ kind: 'call', name: op.name, args: op.args, pos }, env, input);
      case 'render':
        this.ctx.render = { chart: op.chart, properties: op.properties };
        return input;
      case 'serialize': {
        if (!op.items.length) return input;
        return this.applyOp(input, { kind: 'extend', items: op.items }, env, pos);
      }
      case 'as':
        return input;
      case 'getschema': {
        const rows = input.columns.filter((c) => !isHidden(c.name)).map((c, i) => `SELECT ${this.d.string(c.name)} AS "ColumnName", ${i} AS "ColumnOrdinal", ${this.d.string(`System.${systemType(c.type)}`)} AS "DataType", ${this.d.string(c.type)} AS "ColumnType"`);
        return {
          sql: rows.length ? rows.join(' UNION ALL ') : `SELECT NULL AS "ColumnName", NULL AS "ColumnOrdinal", NULL AS "DataType", NULL AS "ColumnType" WHERE 0`,
          columns: [{ name: 'ColumnName', type: 'string' }, { name: 'ColumnOrdinal', type: 'int' }, { name: 'DataType', type: 'string' }, { name: 'ColumnType', type: 'string' }],
        };
      }
      case 'search': {
        const f = this.from(input);
        const p = this.scalar(this.searchTerms(op.predicate), f.scope, env);
        return { sql: `SELECT * FROM ${f.fromSql} WHERE ${this.truthy(p)}`, columns: input.columns };
      }
      case 'unsupported':
        this.err(pos, `The '${op.name}' operator is not supported`);
    }
  }

  /**
   * search "term": a bare string in boolean position matches rows where any string or dynamic column
   * has the term (case-insensitive), as Kusto's search does.
   */
  searchTerms(e: Expr): Expr {
    if (e.kind === 'literal' && e.type === 'string') return { kind: 'call', name: '$search_any', args: [e], pos: e.pos };
    if (e.kind === 'binary' && (e.op === 'and' || e.op === 'or')) return { ...e, left: this.searchTerms(e.left), right: this.searchTerms(e.right) };
    if (e.kind === 'call' && e.name === 'not') return { ...e, args: e.args.map((a) => this.searchTerms(a)) };
    return e;
  }

  reselect(input: Relation, cols: readonly Column[]): Relation {
    const a = this.alias();
    return { sql: `SELECT ${this.selectList(cols, a)} FROM (${input.sql}) AS ${a}`, columns: cols };
  }

  matchColumns(cols: readonly Column[], pattern: string, pos = 0, strict = false): Column[] {
    if (!pattern.includes('*')) {
      const c = cols.find((x) => x.name === pattern);
      if (!c && strict) this.err(pos, `Unknown column '${pattern}'`);
      return c ? [c] : [];
    }
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return cols.filter((c) => re.test(c.name));
  }

  orderBy(items: readonly SortItem[], scope: Scope, env: Env): string {
    return items.map((it) => {
      const s = this.scalar(it.expr, scope, env);
      const nulls = it.nulls ? ` NULLS ${it.nulls.toUpperCase()}` : '';
      return `${s.sql} ${it.desc ? 'DESC' : 'ASC'}${nulls}`;
    }).join(', ');
  }

  /** SQL truth test of a compiled predicate. */
  truthy(s: SExpr): string {
    if (s.type === 'bool') return s.sql;
    if (s.type === 'string') return `(${s.sql} = 'true')`;
    return `(${s.sql})`;
  }

  datatable(e: Extract<Expr, { kind: 'datatable' }>, env: Env): Relation {
    const cols = e.columns.map((c) => ({ name: c.name, type: toKqlType(c.type) }));
    const rows: string[] = [];
    for (let i = 0; i < e.values.length; i += cols.length) {
      const vals = cols.map((c, j) => {
        const s = this.scalar(e.values[i + j], emptyScope(), env);
        return c.type === 'dynamic' && s.type !== 'dynamic' && s.type === 'string' ? `json_quote(${s.sql})` : s.sql;
      });
      rows.push(`SELECT ${vals.map((v, j) => `${v} AS ${this.q(cols[j].name)}`).join(', ')}`);
    }
    if (!rows.length) return { sql: `SELECT ${cols.map((c) => `NULL AS ${this.q(c.name)}`).join(', ')} WHERE 0`, columns: cols };
    return { sql: rows.join(' UNION ALL '), columns: cols };
  }

  // ---- union, join -----------------------------------------------------------------------
  union(
    input: Relation | null, tables: readonly Expr[], options: { kind: 'inner' | 'outer'; isfuzzy: boolean; withsource: string | null },
    env: Env, pos: number,
  ): Relation {
    const parts: { rel: Relation; source: string }[] = [];
    if (input) parts.push({ rel: input, source: '' });
    for (const t of tables) {
      if (t.kind === 'ident' && t.name.includes('*')) {
        const re = new RegExp(`^${t.name.replace(/\*/g, '.*')}$`);
        for (const name of this.tables.keys()) if (re.test(name)) parts.push({ rel: this.tableRef(name, t.pos, env, true)!, source: name });
        continue;
      }
      if (t.kind === 'ident') {
        const rel = this.tableRef(t.name, t.pos, env, options.isfuzzy);
        if (!rel) {
          if (options.isfuzzy) continue;
          this.err(t.pos, this.unknownTableMessage(t.name));
        }
        parts.push({ rel, source: t.name });
        continue;
      }
      parts.push({ rel: this.tabular(t, env), source: '' });
    }
    if (!parts.length) this.err(pos, 'union has no tables that exist in Vigil');
    let columns: Column[] = [];
    if (options.kind === 'inner') {
      columns = parts[0].rel.columns.filter((c) => parts.every((p) => p.rel.columns.some((x) => x.name === c.name)));
    } else {
      for (const p of parts) {
        for (const c of p.rel.columns) {
          const existing = columns.find((x) => x.name === c.name);
          if (!existing) columns.push(c);
          else if (existing.type !== c.type) {
            // Kusto would create Name_type columns; Vigil keeps one column and the first type.
          }
        }
      }
    }
    const ws = options.withsource;
    const selects = parts.map((p) => {
      const a = this.alias();
      const list = columns.map((c) => (p.rel.columns.some((x) => x.name === c.name) ? `${this.col(a, c.name)} AS ${this.q(c.name)}` : `NULL AS ${this.q(c.name)}`));
      if (ws) list.unshift(`${this.d.string(p.source)} AS ${this.q(ws)}`);
      return `SELECT ${list.join(', ')} FROM (${p.rel.sql}) AS ${a}`;
    });
    if (ws) columns = [{ name: ws, type: 'string' }, ...columns];
    return { sql: selects.join(' UNION ALL '), columns };
  }

  joinRight(e: Expr, env: Env): Relation {
    return this.tabular(e, env);
  }

  join(left: Relation, kind: string, right: Relation, on: readonly JoinKey[], lookup: boolean, pos: number): Relation {
    for (const k of on) {
      if (!left.columns.some((c) => c.name === k.left)) this.err(k.pos, `join: the left side has no column '${k.left}'`);
      if (!right.columns.some((c) => c.name === k.right)) this.err(k.pos, `join: the right side has no column '${k.right}'`);
    }
    const la = this.alias();
    const ra = this.alias();
    const cond = on.map((k) => `${this.col(la, k.left)} = ${this.col(ra, k.right)}`).join(' AND ') || '1';
    if (kind === 'leftsemi' || kind === 'leftanti') {
      const ex = `EXISTS (SELECT 1 FROM (${right.sql}) AS ${ra} WHERE ${cond})`;
      return { sql: `SELECT * FROM (${left.sql}) AS ${la} WHERE ${kind === 'leftanti' ? 'NOT ' : ''}${ex}`, columns: left.columns };
    }
    if (kind === 'rightsemi' || kind === 'rightanti') {
      const ex = `EXISTS (SELECT 1 FROM (${left.sql}) AS ${la} WHERE ${cond})`;
      return { sql: `SELECT * FROM (${right.sql}) AS ${ra} WHERE ${kind === 'rightanti' ? 'NOT ' : ''}${ex}`, columns: right.columns };
    }
    // Output: all left columns, then right columns; a right name already taken gets the next free suffix.
    const used = new Set(left.columns.map((c) => c.name));
    const rightKeysSameName = new Set(on.filter((k) => k.left === k.right).map((k) => k.right));
    const out: { sql: string; name: string; type: KqlType }[] = left.columns.map((c) => ({ sql: this.col(la, c.name), name: c.name, type: c.type }));
    for (const c of right.columns) {
      if (lookup && rightKeysSameName.has(c.name)) continue;
      let name = c.name;
      if (used.has(name)) {
        let i = 1;
        while (used.has(`${c.name}${i}`)) i++;
        name = `${c.name}${i}`;
      }
      used.add(name);
      out.push({ sql: this.col(ra, c.name), name, type: c.type });
    }
    // For a full/right outer join the KQL key columns keep their own side's values.
    let leftSql = left.sql;
    if (kind === 'innerunique') {
      leftSql = this.d.dedupe(left.sql, this.alias(), on.map((k) => this.q(k.left)));
    }
    const sqlJoin = { innerunique: 'JOIN', inner: 'JOIN', leftouter: 'LEFT JOIN', rightouter: 'RIGHT JOIN', fullouter: 'FULL JOIN' }[kind];
    if (!sqlJoin) this.err(pos, `Unsupported join kind '${kind}'`);
    return {
      sql: `SELECT ${out.map((o) => `${o.sql} AS ${this.q(o.name)}`).join(', ')} FROM (${leftSql}) AS ${la} ${sqlJoin} (${right.sql}) AS ${ra} ON ${cond}`,
      columns: out.map((o) => ({ name: o.name, type: o.type })),
    };
  }

  // ---- summarize ---------------------------------------------------------------------------
  summarize(input: Relation, aggs: readonly NamedExpr[], by: readonly NamedExpr[], env: Env, pos: number): Relation {
    const isArg = (e: Expr): boolean => e.kind === 'call' && /^(arg_max|arg_min|argmax|argmin)$/.test(e.name);
    const argCalls = aggs.map((a) => a.expr).filter(isArg) as Extract<Expr, { kind: 'call' }>[];
    const minMaxCount = aggs.filter((a) => a.expr.kind === 'call' && /^(min|max)$/.test(a.expr.name)).length;
    // SQLite returns the arg_max row's values for bare columns when the query has exactly one min()/max();
    // otherwise each arg_max/arg_min ranks rows per group with a window function.
    const bare = this.d.bareColumnArgMax && argCalls.length === 1 && minMaxCount === 0;
    let source = input;
    // SQLite groups by sorting into a temporary B-tree. When the first key leads a (Column, Timestamp)
    // hunting index of the table and that index covers everything the query reads, the rows can come in
    // key order instead: only when the index really exists (an ordered read of an unindexed table would
    // sort whole rows), and not with ingestion_time() (_IngestedAt is not in the index).
    const leading = by[0]?.expr;
    let streamKeys: SExpr[] | null = null;
    let naturalOrder = false;
    const covered = new Set(['Timestamp', leading?.kind === 'ident' ? leading.name : '']);
    // A narrower time filter is better served by the Timestamp index and a sort, so it opts out.
    const indexed = input.table !== undefined && leading?.kind === 'ident' && this.huntingIndexes.get(input.table)?.has(leading.name)
      && !(input.touched?.has('Timestamp'))
      && [...(input.touched ?? []), ...by.flatMap((b) => identsOf(b.expr)), ...aggs.flatMap((a) => identsOf(a.expr))].every((n) => covered.has(n))
      && ![...by, ...aggs].some((x) => callsFunction(x.expr, 'ingestion_time'));
    if (indexed && !argCalls.length) {
      // `by Column` or `by Column, Timestamp`: the index order is the GROUP BY order, so SQLite reads the
      // index and aggregates as it goes, with no sort and no subquery (checked with EXPLAIN QUERY PLAN).
      const keyNames = by.map((b) => (b.expr.kind === 'ident' ? b.expr.name : null));
      naturalOrder = keyNames.length === 1 || (keyNames.length === 2 && keyNames[1] === 'Timestamp');
      if (!naturalOrder) {
        // Other keys (`by DeviceName, bin(Timestamp, 1h)`): rows in key order from a subquery that reads
        // just the covered columns; SQLite sorts only the rest of the key, per block of the first.
        const o = this.from(input);
        streamKeys = by.map((b) => this.scalar(b.expr, o.scope, env));
        const keep = input.columns.filter((c) => covered.has(c.name));
        const keyCols = streamKeys.map((k, i) => `${k.sql} AS "_k${i}"`);
        source = {
          sql: `SELECT ${[...keep.map((c) => `${this.col(o.alias, c.name)} AS ${this.q(c.name)}`), ...keyCols].join(', ')} FROM ${o.fromSql} ORDER BY ${streamKeys.map((_, i) => `"_k${i}"`).join(', ')}`,
          columns: [...keep, ...streamKeys.map((k, i) => ({ name: `_k${i}`, type: k.type }))],
        };
      }
    }
    if (argCalls.length && !bare) {
      const pre = this.from(input);
      const part = by.map((b) => this.scalar(b.expr, pre.scope, env).sql);
      const ranks = argCalls.map((call, k) => {
        if (!call.args.length) this.err(call.pos, `${call.name}() needs at least one argument`);
        const key = this.scalar(call.args[0], pre.scope, env);
        const desc = call.name === 'arg_max' || call.name === 'argmax';
        return `ROW_NUMBER() OVER (${part.length ? `PARTITION BY ${part.join(', ')} ` : ''}ORDER BY ${key.sql} ${desc ? 'DESC' : 'ASC'} NULLS LAST) AS "_rn${k}"`;
      });
      source = {
        sql: `SELECT ${pre.alias}.*, ${ranks.join(', ')} FROM ${pre.fromSql}`,
        columns: [...input.columns, ...argCalls.map((_, k) => ({ name: `_rn${k}`, type: 'long' as KqlType }))],
      };
    }
    const f = this.from(source);
    const used = new Set<string>();
    const uniq = (n: string) => {
      let name = n;
      let i = 1;
      while (used.has(name)) name = `${n}${i++}`;
      used.add(name);
      return name;
    };
    const byItems = by.map((b, i) => {
      // Unary + keeps SQLite from reading a non-covering index in key order to skip the sort: that is a
      // random row fetch per input row, far slower than scanning and sorting.
      const s = streamKeys
        ? { sql: this.col(f.alias, `_k${i}`), type: streamKeys[i].type }
        : ((k) => (this.d.name === 'sqlite' && b.expr.kind === 'ident' && !naturalOrder ? { ...k, sql: `+${k.sql}` } : k))(this.scalar(b.expr, f.scope, env));
      return { name: uniq(b.name ?? deriveByName(b.expr, i)), s };
    });
    const outAggs: { name: string; s: SExpr }[] = [];
    const aggScope: Scope = { ...f.scope, aggregate: true, local: new Map() };
    let argIndex = 0;
    for (const a of aggs) {
      const e = a.expr;
      if (e.kind === 'call' && isArg(e)) {
        const k = argIndex++;
        const isMax = e.name === 'arg_max' || e.name === 'argmax';
        if (e.args.length < 1) this.err(e.pos, `${e.name}() needs at least one argument`);
        const pick = (sql: string) => (bare ? sql : `max(CASE WHEN ${this.col(f.alias, `_rn${k}`)} = 1 THEN ${sql} END)`);
        const key = this.scalar(e.args[0], f.scope, env);
        const names = a.name?.split(',') ?? [];
        const keyName = uniq(names[0] ?? deriveByName(e.args[0], 0));
        outAggs.push({ name: keyName, s: { sql: `${isMax ? 'max' : 'min'}(${key.sql})`, type: key.type } });
        let ni = 1;
        for (const r of e.args.slice(1)) {
          if (r.kind === 'star') {
            for (const c of input.columns) {
              if (used.has(c.name) || isHidden(c.name)) continue;
              outAggs.push({ name: uniq(c.name), s: { sql: pick(this.col(f.alias, c.name)), type: c.type } });
            }
          } else {
            const s = this.scalar(r, f.scope, env);
            outAggs.push({ name: uniq(names[ni++] ?? deriveByName(r, 0)), s: { sql: pick(s.sql), type: s.type } });
          }
        }
        continue;
      }
      if (e.kind === 'call' && e.name === 'percentiles') {
        const x = this.scalar(e.args[0], f.scope, env);
        for (const p of e.args.slice(1)) {
          const ps = this.scalar(p, emptyScope(), env);
          outAggs.push({ name: uniq(`percentile_${deriveByName(e.args[0], 0)}_${String(ps.value).replace('.', '_')}`), s: { sql: `${this.d.fn('percentile')}(${x.sql}, ${ps.sql})`, type: x.type === 'long' || x.type === 'int' ? 'long' : x.type } });
        }
        continue;
      }
      const s = this.scalar(e, aggScope, env);
      outAggs.push({ name: uniq(a.name ?? (e.kind === 'call' ? deriveAggName(e) : 'Column1')), s });
    }
    if (!byItems.length && !outAggs.length) this.err(pos, 'summarize needs an aggregation or a by clause');
    const list = [...byItems, ...outAggs].map((i) => `${i.s.sql} AS ${this.q(i.name)}`);
    const group = byItems.length ? ` GROUP BY ${byItems.map((_, i) => i + 1).join(', ')}` : '';
    return {
      sql: `SELECT ${list.join(', ')} FROM ${f.fromSql}${group}`,
      columns: [...byItems, ...outAggs].map((i) => ({ name: i.name, type: i.s.type })),
    };
  }

  // ---- mv-expand, mv-apply, parse, make-series, evaluate ------------------------------------
  mvExpand(input: Relation, op: Extract<TabularOp, { kind: 'mvExpand' }>, env: Env): Relation {
    const f = this.from(input);
    const joins: string[] = [];
    const replaced = new Map<string, SExpr>();
    const added: Column[] = [];
    let first = '';
    op.items.forEach((it, i) => {
      const s = this.scalar(it.expr, f.scope, env);
      const name = it.name ?? deriveByName(it.expr, i);
      const j = this.alias();
      if (i === 0) {
        joins.push(`, ${this.d.jsonEach(s.sql, j)}`);
        first = j;
      } else {
        joins.push(`LEFT JOIN ${this.d.jsonEach(s.sql, j)} ON ${j}.key = ${first}.key`);
      }
      const type: KqlType = it.toType ? toKqlType(it.toType) : 'dynamic';
      let val = `(CASE WHEN ${j}.type = 'object' OR ${j}.type = 'array' THEN json(${j}.value) ELSE ${j}.value END)`;
      if (type !== 'dynamic') val = this.convert({ sql: val, type: 'dynamic' }, type).sql;
      if (input.columns.some((c) => c.name === name)) replaced.set(name, { sql: val, type });
      else {
        replaced.set(name, { sql: val, type });
        added.push({ name, type });
      }
    });
    if (op.itemIndex) {
      replaced.set(op.itemIndex, { sql: `${first}.key`, type: 'long' });
      added.push({ name: op.itemIndex, type: 'long' });
    }
    const columns = [...input.columns.map((c) => (replaced.has(c.name) ? { name: c.name, type: replaced.get(c.name)!.type } : c)), ...added];
    const list = columns.map((c) => `${replaced.has(c.name) ? replaced.get(c.name)!.sql : this.col(f.alias, c.name)} AS ${this.q(c.name)}`);
    let where = '';
    if (op.limit) where = ` WHERE ${first}.key < ${this.scalar(op.limit, emptyScope(), env).sql}`;
    return { sql: `SELECT ${list.join(', ')} FROM ${f.fromSql}${joins.join(' ')}${where}`, columns };
  }

  mvApply(input: Relation, op: Extract<TabularOp, { kind: 'mvApply' }>, env: Env): Relation {
    // mv-apply x = arr on (where … | extend … | project …): the subquery runs per expanded element and its
    // output is joined back to the row's other columns. Vigil supports row-wise subqueries, which is what
    // hunting queries use; `project` inside keeps the outer columns.
    const expanded = this.mvExpand(input, { kind: 'mvExpand', items: op.items, limit: null, itemIndex: null }, env);
    const expandedNames = new Set(op.items.map((it) => it.name ?? (it.expr.kind === 'ident' ? it.expr.name : '')));
    const outer = input.columns.filter((c) => !expandedNames.has(c.name));
    const ops: TabularOp[] = [];
    let cur: Expr = op.body;
    while (cur.kind === 'pipe') {
      ops.unshift(cur.op);
      cur = cur.input;
    }
    if (cur.kind !== 'ident' || cur.name !== '$mvapply') this.err(0, 'mv-apply subqueries must start with an operator');
    let rel = expanded;
    for (const o of ops) {
      if (o.kind === 'where' || o.kind === 'extend' || o.kind === 'projectAway' || o.kind === 'projectRename') {
        rel = this.applyOp(rel, o, env, 0);
      } else if (o.kind === 'project') {
        const projected = this.applyOp(rel, o, env, 0);
        const keepOuter = outer.filter((c) => !projected.columns.some((p) => p.name === c.name));
        const items = o.items;
        rel = this.applyOp(rel, { kind: 'project', items: [...keepOuter.map((c) => ({ name: null, expr: { kind: 'ident', name: c.name, pos: 0 } as Expr })), ...items] }, env, 0);
      } else {
        this.err(0, `mv-apply with '${o.kind}' inside is not supported: only where, extend and project`);
      }
    }
    return rel;
  }

  parseOp(input: Relation, op: Extract<TabularOp, { kind: 'parse' }>, env: Env): Relation {
    const f = this.from(input);
    const src = this.convert(this.scalar(op.source, f.scope, env), 'string');
    let re = op.regexMode ? '' : '^';
    const cols: { name: string; type: KqlType; group: number }[] = [];
    op.parts.forEach((p, i) => {
      if (p.kind === 'wild') re += '.*?';
      else if (p.kind === 'text') re += op.regexMode ? p.text : p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      else {
        const last = i === op.parts.length - 1;
        const type = toKqlType(p.type);
        const body = type === 'long' || type === 'int' ? '-?\\d+' : type === 'real' ? '-?\\d+(?:\\.\\d+)?' : last ? '.*' : '.*?';
        re += `(${body})`;
        cols.push({ name: p.name, type, group: cols.length + 1 });
      }
    });
    if (op.parts.length && op.parts[op.parts.length - 1].kind === 'column' && !op.regexMode) re += '$';
    const reLit = this.d.string(`(?s)${re}`);
    const added = cols.map((c) => ({
      name: c.name,
      s: this.convert({ sql: `${this.d.fn('extract')}(${reLit}, ${c.group}, ${src.sql})`, type: 'string' }, c.type),
    }));
    const names = new Set(added.map((a) => a.name));
    const columns = [...input.columns.filter((c) => !names.has(c.name)), ...added.map((a) => ({ name: a.name, type: a.s.type }))];
    const list = [...input.columns.filter((c) => !names.has(c.name)).map((c) => `${this.col(f.alias, c.name)} AS ${this.q(c.name)}`), ...added.map((a) => `${a.s.sql} AS ${this.q(a.name)}`)];
    return { sql: `SELECT ${list.join(', ')} FROM ${f.fromSql}`, columns };
  }

  makeSeries(input: Relation, op: Extract<TabularOp, { kind: 'makeSeries' }>, env: Env, pos: number): Relation {
    // Per group: bin index → aggregate, then kql_series() builds the dense arrays.
    const f = this.from(input);
    const on = this.scalar(op.on, f.scope, env);
    const step = this.scalar(op.step, emptyScope(), env);
    const from = op.from ? this.scalar(op.from, emptyScope(), env) : null;
    const to = op.to ? this.scalar(op.to, emptyScope(), env) : null;
    if (!from || !to) this.err(pos, 'make-series needs from … to … (Vigil does not infer the range)');
    const byItems = op.by.map((b, i) => ({ name: b.name ?? deriveByName(b.expr, i), s: this.scalar(b.expr, f.scope, env) }));
    const aggScope: Scope = { ...f.scope, aggregate: true, local: new Map() };
    const aggs = op.aggs.map((a, i) => {
      const s = this.scalar(a.expr, aggScope, env);
      const def = op.defaults[i] ? this.scalar(op.defaults[i]!, emptyScope(), env) : { sql: '0', type: 'long' as KqlType };
      return { name: a.name ?? (a.expr.kind === 'call' ? deriveAggName(a.expr) : `Column${i + 1}`), s, def };
    });
    const onName = op.on.kind === 'ident' ? op.on.name : 'Timestamp';
    const inner = `SELECT ${byItems.map((b, i) => `${b.s.sql} AS _k${i}`).concat([`CAST((${on.sql} - ${from.sql}) / ${step.sql} AS INTEGER) AS _bin`], aggs.map((a, i) => `${a.s.sql} AS _a${i}`)).join(', ')} FROM ${f.fromSql} WHERE ${on.sql} >= ${from.sql} AND ${on.sql} < ${to.sql} GROUP BY ${byItems.map((_, i) => i + 1).concat([byItems.length + 1]).join(', ')}`;
    const n = `CAST(((${to.sql}) - (${from.sql}) + (${step.sql}) - 1) / (${step.sql}) AS INTEGER)`;
    const a2 = this.alias();
    const list = [
      ...byItems.map((b, i) => `${a2}._k${i} AS ${this.q(b.name)}`),
      ...aggs.map((a, i) => `${this.d.fn('series')}(${a2}._bin, ${a2}._a${i}, ${n}, ${a.def.sql}) AS ${this.q(a.name)}`),
      `${this.d.fn('series_axis')}(${from.sql}, ${step.sql}, ${n}) AS ${this.q(onName)}`,
    ];
    const group = byItems.length ? ` GROUP BY ${byItems.map((_, i) => `${a2}._k${i}`).join(', ')}` : '';
    return {
      sql: `SELECT ${list.join(', ')} FROM (${inner}) AS ${a2}${group}`,
      columns: [...byItems.map((b) => ({ name: b.name, type: b.s.type })), ...aggs.map((a) => ({ name: a.name, type: 'dynamic' as KqlType })), { name: onName, type: 'dynamic' }],
    };
  }

  evaluate(input: Relation, op: Extract<TabularOp, { kind: 'evaluate' }>, env: Env, pos: number): Relation {
    const fn = tableFunction(`evaluate:${op.plugin}`);
    if (fn) return fn(this, { kind: 'call', name: op.plugin, args: op.args, pos }, env, input);
    this.err(pos, `evaluate ${op.plugin}() is not supported by Vigil (its output columns depend on the data)`);
  }

  searchSource(e: Extract<Expr, { kind: 'search' }>, env: Env): Relation {
    const names = e.tables
      ? e.tables.flatMap((t) => (t.kind === 'ident' && t.name.includes('*')
        ? [...this.tables.keys()].filter((n) => new RegExp(`^${t.name.replace(/\*/g, '.*')}$`).test(n))
        : t.kind === 'ident' ? [t.name] : []))
      : [...this.tables.keys()];
    const tables = names.map((n) => ({ kind: 'ident', name: n, pos: e.pos }) as Expr);
    const u = this.union(null, tables, { kind: 'outer', isfuzzy: false, withsource: '$table' }, env, e.pos);
    return this.applyOp(u, { kind: 'search', predicate: e.predicate }, env, e.pos);
  }

  // ---- scalar expressions ------------------------------------------------------------------
  scalar(e: Expr, scope: Scope, env: Env): SExpr {
    switch (e.kind) {
      case 'literal':
        return this.literal(e.type, e.value);
      case 'ident':
        return this.identifier(e.name, e.pos, scope, env);
      case 'star':
        this.err(e.pos, "'*' is only allowed in arg_max/arg_min and a few functions");
        break;
      case 'member':
      case 'index':
        return this.access(e, scope, env);
      case 'call':
        return this.call(e, scope, env);
      case 'unary': {
        const o = this.scalar(e.operand, scope, env);
        if (o.isConst && typeof o.value === 'number') return this.literal(o.type === 'real' ? 'real' : o.type === 'timespan' ? 'timespan' : 'long', e.op === '-' ? -o.value : o.value);
        return { sql: `(${e.op}${o.sql})`, type: o.type };
      }
      case 'binary':
        return this.binary(e, scope, env);
      case 'inList':
        return this.inList(e, scope, env);
      case 'between': {
        const l = this.scalar(e.left, scope, env);
        const lo = this.scalar(e.low, scope, env);
        let hi = this.scalar(e.high, scope, env);
        if (l.type === 'datetime' && hi.type === 'timespan') hi = { sql: `(${lo.sql} + ${hi.sql})`, type: 'datetime' };
        const sql = `(${l.sql} BETWEEN ${this.coerceLike(lo, l).sql} AND ${this.coerceLike(hi, l).sql})`;
        return { sql: e.negated ? `(NOT COALESCE(${sql}, 0))` : sql, type: 'bool' };
      }
      case 'pipe': case 'union': case 'datatable': case 'print': case 'range': case 'search':
        return this.scalarSubquery(this.tabular(e, env));
      case 'lambda':
        this.err(e.pos, 'A function definition is only allowed in a let statement');
    }
    this.err(0, 'Unsupported expression');
  }

  scalarSubquery(rel: Relation): SExpr {
    if (!rel.columns.length) return { sql: 'NULL', type: 'string' };
    const a = this.alias();
    return { sql: `(SELECT ${this.col(a, rel.columns[0].name)} FROM (${rel.sql}) AS ${a} LIMIT 1)`, type: rel.columns[0].type };
  }

  literal(type: string, value: unknown): SExpr {
    switch (type) {
      case 'string':
        return { sql: this.d.string(String(value)), type: 'string', value, isConst: true };
      case 'long':
        return { sql: String(value), type: 'long', value, isConst: true };
      case 'real': {
        const v = value as number;
        const sql = Number.isInteger(v) ? `${v}.0` : String(v);
        return { sql, type: 'real', value, isConst: true };
      }
      case 'bool':
        return { sql: value ? '1' : '0', type: 'bool', value, isConst: true };
      case 'datetime':
        return { sql: value === null ? 'NULL' : String(Math.round(value as number)), type: 'datetime', value, isConst: true };
      case 'timespan':
        return { sql: String(value), type: 'timespan', value, isConst: true };
      case 'null':
        return { sql: 'NULL', type: 'string', value: null, isConst: true };
      case 'dynamic': {
        if (value === null) return { sql: 'NULL', type: 'dynamic', value, isConst: true };
        if (typeof value === 'string') return { sql: this.d.string(value), type: 'dynamic', value, isConst: true };
        if (typeof value === 'number') return { sql: String(value), type: 'dynamic', value, isConst: true };
        if (typeof value === 'boolean') return { sql: value ? 'true' : 'false', type: 'dynamic', value, isConst: true };
        return { sql: this.d.string(JSON.stringify(value)), type: 'dynamic', value, isConst: true };
      }
      default:
        return { sql: 'NULL', type: 'string', value: null, isConst: true };
    }
  }

  identifier(name: string, pos: number, scope: Scope, env: Env): SExpr {
    const local = scope.local.get(name);
    if (local) return local.isConst ? local : { sql: `(${local.sql})`, type: local.type };
    const col = scope.columns.find((c) => c.name === name);
    if (col) return { sql: this.col(scope.alias, name), type: col.type };
    const b = this.lookup(env, name);
    if (b) {
      if (b.kind === 'value') return b.sexpr;
      if (b.kind === 'scalar') {
        if (!b.compiled) b.compiled = this.scalar(b.expr, emptyScope(), b.env);
        return b.compiled;
      }
      if (b.kind === 'tabular' || b.kind === 'relation') {
        return this.scalarSubquery(b.kind === 'relation' ? b.rel : this.letRelation(name, b));
      }
      if (b.kind === 'lambda') this.err(pos, `'${name}' is a function: call it as ${name}()`);
    }
    if (name === 'TimeGenerated' && scope.columns.some((c) => c.name === 'Timestamp')) {
      return { sql: this.col(scope.alias, 'Timestamp'), type: 'datetime' };
    }
    if (this.tables.has(name)) return this.scalarSubquery(this.tableRef(name, pos, env, false)!);
    this.err(pos, `Unknown column or variable '${name}'`);
  }

  /** d.a.b[0] / d["k"] → one JSON path access on the base. */
  access(e: Extract<Expr, { kind: 'member' | 'index' }>, scope: Scope, env: Env): SExpr {
    let cur: Expr = e;
    const segs: Expr[] = [];
    while (cur.kind === 'member' || cur.kind === 'index') {
      segs.unshift(cur);
      cur = cur.object;
    }
    // A column named like `a.b` does not exist in the schema; `$left.X` is handled by the join parser.
    const base = this.scalar(cur, scope, env);
    if (base.type !== 'dynamic' && base.type !== 'string') {
      this.err(e.pos, `Property access needs a dynamic value; use parse_json() first`);
    }
    let sql = base.sql;
    let pending: (string | number)[] = [];
    const flush = () => {
      if (pending.length) {
        sql = this.d.jsonGet(sql, pending);
        pending = [];
      }
    };
    for (const s of segs) {
      if (s.kind === 'member') pending.push(s.name);
      else if (s.kind === 'index') {
        const idx = this.scalar(s.index, scope, env);
        if (idx.isConst && (typeof idx.value === 'number' || typeof idx.value === 'string')) pending.push(idx.value as string | number);
        else {
          flush();
          sql = this.d.jsonGetDynamic(sql, idx.sql, NUMERIC.has(idx.type));
        }
      }
    }
    flush();
    return { sql, type: 'dynamic' };
  }

  call(e: Extract<Expr, { kind: 'call' }>, scope: Scope, env: Env): SExpr {
    const b = this.lookup(env, e.name);
    if (b?.kind === 'lambda') {
      const r = this.callLambda(b, e.args, env, e.pos, null, scope);
      if (r.sexpr) return r.sexpr.isConst ? r.sexpr : { sql: `(${r.sexpr.sql})`, type: r.sexpr.type };
      return this.scalarSubquery(r.rel!);
    }
    if (e.name === '$search_any') {
      const term = this.scalar(e.args[0], scope, env);
      const cols = scope.columns.filter((c) => (c.type === 'string' || c.type === 'dynamic') && !isHidden(c.name));
      if (!cols.length) return { sql: '0', type: 'bool' };
      const like = typeof term.value === 'string' ? this.d.string(`%${likeEscape(term.value)}%`) : null;
      return {
        sql: `(${cols.map((c) => {
          const ref = this.col(scope.alias, c.name);
          return like ? `(${this.d.ilike(ref, like)} AND ${this.d.fn('has')}(${ref}, ${term.sql}))` : `${this.d.fn('has')}(${ref}, ${term.sql})`;
        }).join(' OR ')})`,
        type: 'bool',
      };
    }
    if (e.name === 'toscalar') {
      if (e.args.length !== 1) this.err(e.pos, 'toscalar() takes one argument');
      return this.isTabular(e.args[0], env) ? this.scalarSubquery(this.tabular(e.args[0], env)) : this.scalar(e.args[0], scope, env);
    }
    if (e.name === 'column_ifexists') {
      const name = e.args[0];
      if (!name || name.kind !== 'literal' || typeof name.value !== 'string') this.err(e.pos, 'column_ifexists() takes a column name string');
      const c = scope.columns.find((x) => x.name === name.value);
      if (c) return { sql: this.col(scope.alias, c.name), type: c.type };
      return e.args[1] ? this.scalar(e.args[1], scope, env) : { sql: 'NULL', type: 'string' };
    }
    if (isAggregateName(e.name)) {
      if (!scope.aggregate) this.err(e.pos, `${e.name}() is an aggregation: use it in summarize`);
      return compileAggregate(this, e, scope, env);
    }
    if (e.name === 'materialize' || this.isTabular(e, env)) return this.scalarSubquery(this.tabular(e, env));
    this.currentScope = scope;
    return compileFunction(this, e, scope, env);
  }

  private currentScope: Scope = emptyScope();

  /** ingestion_time(): the hidden _IngestedAt column while the table's rows are still whole, else null. */
  ingestionTimeRef(): string {
    const s = this.currentScope;
    return s.columns.some((c) => c.name === HIDDEN_INGESTION) ? this.col(s.alias, HIDDEN_INGESTION) : 'NULL';
  }

  /** Make a constant comparable with a value of another type (datetime strings, bools). */
  coerceLike(v: SExpr, like: SExpr): SExpr {
    if (like.type === 'datetime' && v.type === 'string' && v.isConst) return { sql: `${this.d.fn('todatetime')}(${v.sql})`, type: 'datetime' };
    return v;
  }

  binary(e: Extract<Expr, { kind: 'binary' }>, scope: Scope, env: Env): SExpr {
    const op = e.op;
    if (op === 'and' || op === 'or') {
      const l = this.scalar(e.left, scope, env);
      const r = this.scalar(e.right, scope, env);
      return { sql: `(${this.truthy(l)} ${op.toUpperCase()} ${this.truthy(r)})`, type: 'bool' };
    }
    let l = this.scalar(e.left, scope, env);
    let r = this.scalar(e.right, scope, env);
    switch (op) {
      case '+': case '-': case '*': case '/': case '%': {
        let type: KqlType = l.type === 'real' || r.type === 'real' ? 'real' : l.type === 'int' && r.type === 'int' ? 'int' : 'long';
        if (l.type === 'datetime' && r.type === 'datetime' && op === '-') type = 'timespan';
        else if (l.type === 'datetime' || r.type === 'datetime') type = 'datetime';
        else if (l.type === 'timespan' && r.type === 'timespan' && op === '/') type = 'real';
        else if (l.type === 'timespan' || r.type === 'timespan') type = 'timespan';
        if (op === '/' && type === 'real') return { sql: `(CAST(${l.sql} AS REAL) / ${r.sql})`, type };
        if (op === '+' && (l.type === 'string' && r.type === 'string')) this.err(e.pos, "Use strcat() to join strings; '+' adds numbers");
        if (l.isConst && r.isConst && typeof l.value === 'number' && typeof r.value === 'number' && type !== 'real' && op !== '/' && op !== '%') {
          const v = op === '+' ? l.value + r.value : op === '-' ? l.value - r.value : l.value * r.value;
          return { sql: String(v), type, value: v, isConst: true };
        }
        return { sql: `(${l.sql} ${op} ${r.sql})`, type };
      }
      case '==': case '!=': case '<': case '>': case '<=': case '>=': {
        l = this.coerceLike(l, r);
        r = this.coerceLike(r, l);
        if (l.type === 'bool' && r.isConst && typeof r.value === 'string') r = { sql: r.value === 'true' ? '1' : '0', type: 'bool' };
        if ((op === '==' || op === '!=') && (STRING_TYPES.has(l.type) || STRING_TYPES.has(r.type)) && l.type !== 'dynamic' && r.type !== 'dynamic') {
          const lit = (x: SExpr) => x.isConst && typeof x.value === 'string' && x.value !== '';
          if (op === '==') {
            if (lit(r) || lit(l)) return { sql: `(${l.sql} = ${r.sql})`, type: 'bool' };
            return { sql: `(COALESCE(${l.sql}, '') = COALESCE(${r.sql}, ''))`, type: 'bool' };
          }
          return { sql: `(COALESCE(${l.sql}, '') <> COALESCE(${r.sql}, ''))`, type: 'bool' };
        }
        const sqlOp = op === '==' ? '=' : op === '!=' ? '<>' : op;
        if (op === '!=' && (l.type === 'dynamic' || r.type === 'dynamic')) {
          return { sql: `(COALESCE(${l.sql}, '') <> COALESCE(${r.sql}, ''))`, type: 'bool' };
        }
        return { sql: `(${l.sql} ${sqlOp} ${r.sql})`, type: 'bool' };
      }
      case '=~':
        if (r.isConst && typeof r.value === 'string' && r.value !== '') return { sql: `(${l.sql} = ${r.sql} COLLATE NOCASE)`, type: 'bool' };
        return { sql: `(COALESCE(${l.sql}, '') = COALESCE(${r.sql}, '') COLLATE NOCASE)`, type: 'bool' };
      case '!~':
        return { sql: `(COALESCE(${l.sql}, '') <> COALESCE(${r.sql}, '') COLLATE NOCASE)`, type: 'bool' };
      default: {
        const base = this.stringOp(op, l, r, e.pos);
        const narrowed = this.textIndexFilter(op, e.left, r, scope);
        return narrowed ? { sql: `(${narrowed} AND ${base.sql})`, type: 'bool' } : base;
      }
    }
  }

  /**
   * With a trigram index on the column (HUNTING_TEXT_INDEXES), a positive substring/term filter on a
   * literal of 3+ characters first narrows the rows to those the index finds.
   */
  textIndexFilter(op: string, left: Expr, r: SExpr, scope: Scope): string | null {
    const rows = this.textIndexRows(op, left, r, scope);
    return rows === null ? null : this.seqIn(scope, left, [rows]);
  }

  /** Rows the index found, or rows above its watermark that it has not seen yet. */
  seqIn(scope: Scope, left: Expr, subqueries: readonly string[]): string {
    const seq = this.col(scope.alias, HIDDEN_SEQ);
    const mark = left.kind === 'ident' && scope.table ? this.textIndexes.get(scope.table)?.get(left.name) ?? 0 : 0;
    return `(${seq} IN (${subqueries.join(' UNION ')}) OR ${seq} > ${Math.trunc(mark)})`;
  }

  /** The rowids a text index finds for a string filter, as a subquery, or null when no index serves it. */
  textIndexRows(op: string, left: Expr, r: SExpr, scope: Scope): string | null {
    if (!['has', 'contains', 'startswith', 'endswith', 'has_cs', 'contains_cs', 'startswith_cs', 'endswith_cs', 'hasprefix', 'hassuffix'].includes(op)) return null;
    if (left.kind !== 'ident' || !scope.table || !this.textIndexes.get(scope.table)?.has(left.name)) return null;
    if (!scope.columns.some((c) => c.name === HIDDEN_SEQ) || scope.local.has(left.name)) return null;
    // FTS5 serves LIKE without ESCAPE only, so literals with LIKE wildcards are left to the scan.
    if (!r.isConst || typeof r.value !== 'string' || [...r.value].length < 3 || /[%_\\]/.test(r.value)) return null;
    const v = r.value;
    const pattern = op.startsWith('startswith') ? `${v}%` : op.startsWith('endswith') ? `%${v}` : `%${v}%`;
    const fts = this.q(textIndexName(scope.table, left.name));
    return `SELECT rowid FROM ${fts} WHERE ${this.q(left.name)} LIKE ${this.d.string(pattern)}`;
  }

  /** has / contains / startswith / endswith / matches regex and their _cs and negated forms. */
  stringOp(op: string, l: SExpr, r: SExpr, pos: number): SExpr {
    const negated = op.startsWith('!') || op === 'notlike';
    const base = op.replace(/^!/, '');
    const ls = this.convert(l, 'string').sql;
    const lsafe = `COALESCE(${ls}, '')`;
    const rs = this.convert(r, 'string');
    const lit = rs.isConst && typeof rs.value === 'string' ? (rs.value as string) : null;
    const fn = (n: string) => this.d.fn(n);
    let sql: string;
    switch (base) {
      case 'contains': case 'contains~':
        sql = lit !== null ? this.d.ilike(lsafe, this.d.string(`%${likeEscape(lit)}%`)) : `(instr(lower(${lsafe}), lower(${rs.sql})) > 0)`;
        break;
      case 'contains_cs':
        sql = `(instr(${lsafe}, ${rs.sql}) > 0)`;
        break;
      case 'startswith':
        sql = lit !== null ? this.d.ilike(lsafe, this.d.string(`${likeEscape(lit)}%`)) : `(lower(substr(${lsafe}, 1, length(${rs.sql}))) = lower(${rs.sql}))`;
        break;
      case 'startswith_cs':
        sql = `(substr(${lsafe}, 1, length(${rs.sql})) = ${rs.sql})`;
        break;
      case 'endswith':
        sql = lit !== null ? this.d.ilike(lsafe, this.d.string(`%${likeEscape(lit)}`)) : `(lower(substr(${lsafe}, -length(${rs.sql}))) = lower(${rs.sql}))`;
        break;
      case 'endswith_cs':
        sql = `(substr(${lsafe}, -length(${rs.sql})) = ${rs.sql})`;
        break;
      case 'has': case 'has~':
        sql = lit !== null && lit !== ''
          ? `(${this.d.ilike(ls, this.d.string(`%${likeEscape(lit)}%`))} AND ${fn('has')}(${ls}, ${rs.sql}))`
          : `${fn('has')}(${lsafe}, ${rs.sql})`;
        break;
      case 'has_cs':
        sql = `(instr(${lsafe}, ${rs.sql}) > 0 AND ${fn('has_cs')}(${lsafe}, ${rs.sql}))`;
        break;
      case 'hasprefix':
        sql = `${fn('hasprefix')}(${lsafe}, ${rs.sql}, 0)`;
        break;
      case 'hasprefix_cs':
        sql = `${fn('hasprefix')}(${lsafe}, ${rs.sql}, 1)`;
        break;
      case 'hassuffix':
        sql = `${fn('hassuffix')}(${lsafe}, ${rs.sql}, 0)`;
        break;
      case 'hassuffix_cs':
        sql = `${fn('hassuffix')}(${lsafe}, ${rs.sql}, 1)`;
        break;
      case 'matches regex':
        sql = `${fn('regex_match')}(${lsafe}, ${rs.sql})`;
        break;
      case 'like': case 'notlike':
        sql = `(${lsafe} LIKE ${rs.sql})`;
        break;
      default:
        this.err(pos, `Unknown operator '${op}'`);
    }
    return { sql: negated ? `(NOT COALESCE(${sql}, 0))` : sql, type: 'bool' };
  }

  /** Items of an `in`/`has_any` list: constants, dynamic arrays, or the first column of tabular expressions. */
  listItems(list: readonly Expr[], scope: Scope, env: Env): { consts: unknown[]; exprs: SExpr[]; subqueries: string[]; arrays: SExpr[] } {
    const consts: unknown[] = [];
    const exprs: SExpr[] = [];
    const subqueries: string[] = [];
    const arrays: SExpr[] = [];
    for (const item of list) {
      if (this.isTabular(item, env)) {
        const rel = this.tabular(item, env);
        if (!rel.columns.length) continue;
        const a = this.alias();
        subqueries.push(`SELECT ${this.col(a, rel.columns[0].name)} AS v FROM (${rel.sql}) AS ${a}`);
        continue;
      }
      const s = this.scalar(item, scope, env);
      if (s.isConst) {
        if (Array.isArray(s.value)) consts.push(...(s.value as unknown[]).flat(Infinity));
        else consts.push(s.value);
      } else if (s.type === 'dynamic') arrays.push(s);
      else exprs.push(s);
    }
    return { consts, exprs, subqueries, arrays };
  }

  inList(e: Extract<Expr, { kind: 'inList' }>, scope: Scope, env: Env): SExpr {
    const l = this.scalar(e.left, scope, env);
    const items = this.listItems(e.list, scope, env);
    const op = e.op;
    const negated = op.startsWith('!');
    const base = op.replace(/^!/, '');
    const parts: string[] = [];
    if (base === 'in' || base === 'in~') {
      const ci = base === 'in~';
      const wrap = (s: string) => (ci ? `lower(${s})` : s);
      const lv = l.type === 'dynamic' || STRING_TYPES.has(l.type) ? wrap(`COALESCE(${l.sql}, '')`) : l.sql;
      const literals = [
        ...items.consts.filter((v) => v !== null && v !== undefined).map((v) => {
          if (typeof v === 'number') return l.type === 'string' ? this.d.string(String(v)) : String(v);
          if (typeof v === 'boolean') return v ? '1' : '0';
          const sv = String(v);
          if (l.type === 'datetime') return `${this.d.fn('todatetime')}(${this.d.string(sv)})`;
          return this.d.string(ci ? sv.toLowerCase() : sv);
        }),
        ...items.exprs.map((x) => wrap(x.sql)),
      ];
      if (literals.length) parts.push(`${lv} IN (${literals.join(', ')})`);
      for (const sq of items.subqueries) {
        const a = this.alias();
        parts.push(ci ? `${lv} IN (SELECT lower(${a}.v) FROM (${sq}) AS ${a})` : `${lv} IN (${sq})`);
      }
      for (const arr of items.arrays) {
        const a = this.alias();
        parts.push(`${lv} IN (SELECT ${wrap(`${a}.value`)} FROM ${this.d.jsonEach(arr.sql, a)})`);
      }
    } else {
      // has_any / has_all
      const all = base === 'has_all';
      const ls = `COALESCE(${this.convert(l, 'string').sql}, '')`;
      const consts = items.consts.filter((v) => v !== null && v !== undefined).map(String);
      if (consts.length) {
        let test = `${this.d.fn(all ? 'has_all' : 'has_any')}(${ls}, ${this.d.string(JSON.stringify(consts))})`;
        // The terms as substrings first, in native LIKEs (case-insensitive for ASCII, so ASCII terms only),
        // so the JavaScript term test runs only on rows that can match, not once per row.
        if (consts.length <= MAX_LIKE_PREFILTER_TERMS && consts.every((c) => c !== '' && /^[\x20-\x7e]+$/.test(c))) {
          const likes = consts.map((c) => this.d.ilike(ls, this.d.string(`%${likeEscape(c)}%`)));
          test = `((${likes.join(all ? ' AND ' : ' OR ')}) AND ${test})`;
        }
        // A text index narrows has_any to rows holding one of the terms (has_all: the first term).
        if (!negated && !items.exprs.length && !items.arrays.length && !items.subqueries.length) {
          const narrowing = (all ? consts.slice(0, 1) : consts).map((c) => this.textIndexRows('has', e.left, this.literal('string', c), scope));
          if (narrowing.length && narrowing.every((x) => x !== null)) {
            test = `(${this.seqIn(scope, e.left, narrowing as string[])} AND ${test})`;
          }
        }
        parts.push(test);
      }
      for (const x of items.exprs) parts.push(`${this.d.fn('has')}(${ls}, ${x.sql})`);
      for (const arr of items.arrays) parts.push(`${this.d.fn(all ? 'has_all' : 'has_any')}(${ls}, ${arr.sql})`);
      for (const sq of items.subqueries) {
        const a = this.alias();
        parts.push(all
          ? `NOT EXISTS (SELECT 1 FROM (${sq}) AS ${a} WHERE NOT ${this.d.fn('has')}(${ls}, ${a}.v))`
          : `EXISTS (SELECT 1 FROM (${sq}) AS ${a} WHERE ${this.d.fn('has')}(${ls}, ${a}.v))`);
      }
      if (!parts.length) parts.push(all ? '1' : '0');
      const sql = `(${parts.join(all ? ' AND ' : ' OR ')})`;
      return { sql: negated ? `(NOT COALESCE(${sql}, 0))` : sql, type: 'bool' };
    }
    const sql = parts.length ? `(${parts.join(' OR ')})` : '0';
    return { sql: negated ? `(NOT COALESCE(${sql}, 0))` : sql, type: 'bool' };
  }

  /** Convert a value to a KQL type with KQL's rules (tostring of null is ""). */
  convert(s: SExpr, to: KqlType): SExpr {
    if (s.type === to) return s;
    const fn = (n: string) => this.d.fn(n);
    switch (to) {
      case 'string':
        switch (s.type) {
          case 'datetime': return { sql: `${fn('datetime_tostring')}(${s.sql})`, type: 'string' };
          case 'timespan': return { sql: `${fn('timespan_tostring')}(${s.sql})`, type: 'string' };
          case 'bool': return { sql: `(CASE ${s.sql} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE '' END)`, type: 'string' };
          case 'guid': return { sql: s.sql, type: 'string' };
          case 'dynamic': return { sql: `${fn('dyn_tostring')}(${s.sql})`, type: 'string' };
          default: return { sql: `CAST(${s.sql} AS TEXT)`, type: 'string' };
        }
      case 'long': case 'int':
        if (s.type === 'real') return { sql: `CAST(${s.sql} AS INTEGER)`, type: to };
        if (NUMERIC.has(s.type) || s.type === 'datetime' || s.type === 'timespan') return { sql: s.sql, type: to };
        if (s.type === 'bool') return { sql: s.sql, type: to };
        return { sql: `${fn('tolong')}(${s.sql})`, type: to };
      case 'real':
        if (NUMERIC.has(s.type) || s.type === 'bool') return { sql: `CAST(${s.sql} AS REAL)`, type: 'real' };
        return { sql: `${fn('toreal')}(${s.sql})`, type: 'real' };
      case 'bool':
        if (NUMERIC.has(s.type)) return { sql: `(${s.sql} <> 0)`, type: 'bool' };
        return { sql: `${fn('tobool')}(${s.sql})`, type: 'bool' };
      case 'datetime':
        if (NUMERIC.has(s.type)) return { sql: s.sql, type: 'datetime' };
        return { sql: `${fn('todatetime')}(${s.sql})`, type: 'datetime' };
      case 'timespan':
        if (NUMERIC.has(s.type)) return { sql: s.sql, type: 'timespan' };
        return { sql: `${fn('totimespan')}(${s.sql})`, type: 'timespan' };
      case 'dynamic':
        if (s.type === 'datetime') return { sql: `${fn('datetime_tostring')}(${s.sql})`, type: 'dynamic' };
        return { sql: s.sql, type: 'dynamic' };
      case 'guid':
        return { sql: s.sql, type: 'guid' };
    }
  }
}

export function emptyScope(): Scope {
  return { columns: [], alias: null, local: new Map(), aggregate: false };
}

/**
 * Name KQL gives an unnamed expression: a column keeps its name, a property path joins with `_`
 * (RawEventData.Id → RawEventData_Id), a function of one of those takes its name (bin(Timestamp, 1h) →
 * Timestamp, tostring(d.k) → d_k), anything else is Column<n>.
 */
export function deriveByName(e: Expr, i: number): string {
  return pathName(e) ?? (e.kind === 'call' && e.args.length ? pathName(e.args[0]) : null) ?? `Column${i + 1}`;
}

function pathName(e: Expr): string | null {
  switch (e.kind) {
    case 'ident': return e.name;
    case 'member': {
      const base = pathName(e.object);
      return base === null ? null : `${base}_${e.name}`;
    }
    case 'index': {
      const base = pathName(e.object);
      if (base === null || e.index.kind !== 'literal') return null;
      return `${base}_${String(e.index.value)}`;
    }
    default: return null;
  }
}

/** Whether an expression calls the function `name` anywhere (a call's arguments included). */
export function callsFunction(e: Expr, name: string): boolean {
  switch (e.kind) {
    case 'call': return e.name === name || e.args.some((a) => callsFunction(a, name));
    case 'member': case 'index': return callsFunction(e.object, name);
    case 'binary': return callsFunction(e.left, name) || callsFunction(e.right, name);
    case 'unary': return callsFunction(e.operand, name);
    case 'inList': return callsFunction(e.left, name) || e.list.some((x) => callsFunction(x, name));
    case 'between': return callsFunction(e.left, name) || callsFunction(e.low, name) || callsFunction(e.high, name);
    default: return false;
  }
}

/** Every identifier an expression mentions (columns and let names alike). */
export function identsOf(e: Expr): string[] {
  switch (e.kind) {
    case 'ident': return [e.name];
    case 'member': case 'index': return identsOf(e.object);
    case 'call': return e.args.flatMap(identsOf);
    case 'binary': return [...identsOf(e.left), ...identsOf(e.right)];
    case 'unary': return identsOf(e.operand);
    case 'inList': return [...identsOf(e.left), ...e.list.flatMap(identsOf)];
    case 'between': return [...identsOf(e.left), ...identsOf(e.low), ...identsOf(e.high)];
    case 'literal': case 'star': return [];
    default: return ['*'];
  }
}

export function firstIdent(e: Expr): string | null {
  switch (e.kind) {
    case 'ident': return e.name;
    case 'member': return firstIdent(e.object);
    case 'index': return firstIdent(e.object);
    case 'call': {
      for (const a of e.args) {
        const x = firstIdent(a);
        if (x) return x;
      }
      return null;
    }
    case 'binary': return firstIdent(e.left) ?? firstIdent(e.right);
    default: return null;
  }
}

function systemType(t: KqlType): string {
  return ({ string: 'String', int: 'Int32', long: 'Int64', real: 'Double', bool: 'SByte', datetime: 'DateTime', timespan: 'TimeSpan', dynamic: 'Object', guid: 'Guid' } as const)[t];
}
