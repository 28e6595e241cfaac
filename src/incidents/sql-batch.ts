// Pre-written SQL for the hot path: each table's write is one statement text and rows of parameters.
// Through Store.batch (SQLite) each text is prepared once and run per row; without it the rows go through
// kysely as multi-row statements. Placeholders follow the store's dialect (`?` for SQLite, `$n` for
// PostgreSQL); the SQL itself is plain ANSI plus `ON CONFLICT`, which both speak.
import { CompiledQuery } from 'kysely';
import type { WriteGroup } from '../store/index.js';

export type Dialect = 'sqlite' | 'postgres';

/** Keep each statement well under SQLite's 32,766 bound parameters. */
const MAX_PARAMS = 30_000;

const q = (name: string) => `"${name}"`;

/** VALUES tuples of `cols` parameters each, followed by the same SQL literals in every tuple. */
function placeholders(dialect: Dialect, rows: number, cols: number, literals: readonly string[] = []): string {
  const tail = literals.map((l) => `,${l}`).join('');
  if (dialect === 'sqlite') {
    const one = `(${'?,'.repeat(cols - 1)}?${tail})`;
    return `${`${one},`.repeat(rows - 1)}${one}`;
  }
  const parts: string[] = [];
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const one: string[] = [];
    for (let c = 0; c < cols; c++) one.push(`$${++n}`);
    parts.push(`(${one.join(',')}${tail})`);
  }
  return parts.join(',');
}

export interface InsertSpec {
  readonly kind: 'insert';
  readonly table: string;
  readonly columns: readonly string[];
  /** Columns every row sets to the same SQL literal (no parameter to pass per row), after `columns`. */
  readonly fixed?: readonly (readonly [column: string, literal: string])[];
  /** Conflict target; with `update` the listed columns take the new values, without it conflicting rows are skipped. */
  readonly conflict?: readonly string[];
  readonly update?: readonly string[];
}

export interface UpdateSpec {
  readonly kind: 'update';
  readonly table: string;
  /** The columns set, from each row's first values in order. */
  readonly columns: readonly string[];
  /** The column that finds the rows to change (each row's last value). */
  readonly key: string;
}

export type WriteSpec = InsertSpec | UpdateSpec;

/** Rows waiting for one spec's statement. */
export interface SpecRows {
  readonly spec: WriteSpec;
  readonly rows: readonly (readonly unknown[])[];
}

function conflictClause(spec: InsertSpec): string {
  if (!spec.conflict) return '';
  return ` ON CONFLICT (${spec.conflict.map(q).join(',')}) `
    + (spec.update?.length ? `DO UPDATE SET ${spec.update.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : 'DO NOTHING');
}

const insertColumns = (spec: Omit<InsertSpec, 'kind'>) => [...spec.columns, ...(spec.fixed ?? []).map(([c]) => c)].map(q).join(',');
const fixedLiterals = (spec: Omit<InsertSpec, 'kind'>) => (spec.fixed ?? []).map(([, literal]) => literal);

const rowSql = new WeakMap<WriteSpec, string>();

/** The one-row statement of a spec (SQLite placeholders), made once per spec. */
export function rowStatement(spec: WriteSpec): string {
  let text = rowSql.get(spec);
  if (text === undefined) {
    text = spec.kind === 'insert'
      ? `INSERT INTO ${q(spec.table)} (${insertColumns(spec)}) VALUES ${placeholders('sqlite', 1, spec.columns.length, fixedLiterals(spec))}${conflictClause(spec)}`
      : `UPDATE ${q(spec.table)} SET ${spec.columns.map((c) => `${q(c)} = ?`).join(', ')} WHERE ${q(spec.key)} = ?`;
    rowSql.set(spec, text);
  }
  return text;
}

/** Groups for Store.batch, in order. */
export function writeGroups(writes: readonly SpecRows[]): WriteGroup[] {
  return writes.filter((w) => w.rows.length > 0).map((w) => ({ sql: rowStatement(w.spec), rows: w.rows }));
}

/** The same writes as multi-row statements for kysely (a store without `batch`), in order. */
export function compileWrites(dialect: Dialect, writes: readonly SpecRows[]): CompiledQuery[] {
  const out: CompiledQuery[] = [];
  for (const w of writes) out.push(...(w.spec.kind === 'insert' ? insertRows(dialect, w.spec, w.rows) : updateRows(dialect, w.spec, w.rows)));
  return out;
}

/** Multi-row INSERT statements for `rows` (each an array in `columns` order), chunked under the parameter bound. */
export function insertRows(dialect: Dialect, spec: Omit<InsertSpec, 'kind'>, rows: readonly (readonly unknown[])[]): CompiledQuery[] {
  if (rows.length === 0) return [];
  const per = Math.max(1, Math.floor(MAX_PARAMS / spec.columns.length));
  const head = `INSERT INTO ${q(spec.table)} (${insertColumns(spec)}) VALUES `;
  const tail = conflictClause({ kind: 'insert', ...spec });
  const out: CompiledQuery[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    out.push(CompiledQuery.raw(head + placeholders(dialect, chunk.length, spec.columns.length, fixedLiterals(spec)) + tail, params));
  }
  return out;
}

/**
 * Updates many rows by key, each with its own values: on SQLite one `UPDATE … FROM (VALUES …)` per chunk
 * (SQLite 3.33+; a VALUES list names its columns column1, column2, …). PostgreSQL would need typed VALUES,
 * so there each row is its own statement.
 */
export function updateRows(dialect: Dialect, spec: UpdateSpec, rows: readonly (readonly unknown[])[]): CompiledQuery[] {
  if (rows.length === 0) return [];
  const width = spec.columns.length + 1;
  if (dialect !== 'sqlite') return rows.map((row) => statement(dialect, rowStatement(spec), row));
  const sets = spec.columns.map((c, i) => `${q(c)} = v.column${i + 1}`).join(', ');
  const per = Math.max(1, Math.floor(MAX_PARAMS / width));
  const out: CompiledQuery[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    out.push(CompiledQuery.raw(
      `UPDATE ${q(spec.table)} SET ${sets} FROM (VALUES ${placeholders(dialect, chunk.length, width)}) AS v WHERE ${q(spec.table)}.${q(spec.key)} = v.column${width}`,
      params));
  }
  return out;
}

/** One statement with `?` placeholders rewritten for the dialect. */
export function statement(dialect: Dialect, text: string, params: readonly unknown[]): CompiledQuery {
  if (dialect === 'sqlite') return CompiledQuery.raw(text, [...params]);
  let n = 0;
  return CompiledQuery.raw(text.replace(/\?/g, () => `$${++n}`), [...params]);
}
