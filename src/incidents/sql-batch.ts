// Pre-written SQL for the hot path: multi-row inserts and upserts without building a query tree per value.
// Placeholders follow the store's dialect (`?` for SQLite, `$n` for PostgreSQL); the SQL itself is plain
// ANSI plus `ON CONFLICT`, which both speak.
import { CompiledQuery } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Keep each statement well under SQLite's 32,766 bound parameters. */
const MAX_PARAMS = 30_000;

const q = (name: string) => `"${name}"`;

function placeholders(dialect: Dialect, rows: number, cols: number): string {
  if (dialect === 'sqlite') {
    const one = `(${'?,'.repeat(cols - 1)}?)`;
    return `${`${one},`.repeat(rows - 1)}${one}`;
  }
  const parts: string[] = [];
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const one: string[] = [];
    for (let c = 0; c < cols; c++) one.push(`$${++n}`);
    parts.push(`(${one.join(',')})`);
  }
  return parts.join(',');
}

export interface InsertSpec {
  readonly table: string;
  readonly columns: readonly string[];
  /** Conflict target; with `update` the listed columns take the new values, without it conflicting rows are skipped. */
  readonly conflict?: readonly string[];
  readonly update?: readonly string[];
}

/** Multi-row INSERT statements for `rows` (each an array in `columns` order), chunked under the parameter bound. */
export function insertRows(dialect: Dialect, spec: InsertSpec, rows: readonly (readonly unknown[])[]): CompiledQuery[] {
  if (rows.length === 0) return [];
  const per = Math.max(1, Math.floor(MAX_PARAMS / spec.columns.length));
  const head = `INSERT INTO ${q(spec.table)} (${spec.columns.map(q).join(',')}) VALUES `;
  let tail = '';
  if (spec.conflict) {
    tail = ` ON CONFLICT (${spec.conflict.map(q).join(',')}) `
      + (spec.update?.length ? `DO UPDATE SET ${spec.update.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : 'DO NOTHING');
  }
  const out: CompiledQuery[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    out.push(CompiledQuery.raw(head + placeholders(dialect, chunk.length, spec.columns.length) + tail, params));
  }
  return out;
}

/** One statement with `?` placeholders rewritten for the dialect. */
export function statement(dialect: Dialect, text: string, params: readonly unknown[]): CompiledQuery {
  if (dialect === 'sqlite') return CompiledQuery.raw(text, [...params]);
  let n = 0;
  return CompiledQuery.raw(text.replace(/\?/g, () => `$${++n}`), [...params]);
}

export interface UpdateSpec {
  readonly table: string;
  /** The column that finds each row (first value of each row). */
  readonly key: string;
  /** The columns set from the rest of each row's values, in order. */
  readonly columns: readonly string[];
}

/**
 * Updates many rows by key, each with its own values: on SQLite one `UPDATE … FROM (VALUES …)` per chunk
 * (SQLite 3.33+; a VALUES list names its columns column1, column2, …). PostgreSQL would need typed VALUES,
 * so there each row is its own statement.
 */
export function updateRows(dialect: Dialect, spec: UpdateSpec, rows: readonly (readonly unknown[])[]): CompiledQuery[] {
  if (rows.length === 0) return [];
  const width = spec.columns.length + 1;
  const sets = spec.columns.map((c, i) => `${q(c)} = v.column${i + 2}`).join(', ');
  if (dialect !== 'sqlite') {
    const text = `UPDATE ${q(spec.table)} SET ${spec.columns.map((c) => `${q(c)} = ?`).join(', ')} WHERE ${q(spec.key)} = ?`;
    return rows.map((row) => statement(dialect, text, [...row.slice(1), row[0]]));
  }
  const per = Math.max(1, Math.floor(MAX_PARAMS / width));
  const out: CompiledQuery[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    out.push(CompiledQuery.raw(
      `UPDATE ${q(spec.table)} SET ${sets} FROM (VALUES ${placeholders(dialect, chunk.length, width)}) AS v WHERE ${q(spec.table)}.${q(spec.key)} = v.column1`,
      params));
  }
  return out;
}
