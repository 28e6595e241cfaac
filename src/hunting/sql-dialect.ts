// The SQL that differs between database engines, in one place. The compiler emits standard SQL
// through these hooks; SQLite is implemented now, and a PostgreSQL dialect implements the same
// interface (jsonb ->/#>> for JSON access, DISTINCT ON for dedupe, ILIKE, and the kql_* helpers
// as SQL functions) without touching the compiler's structure.
// Still written inline by the compiler and to move behind this interface with the PostgreSQL dialect:
// json_valid/json_type/json_array/json_object/json_array_length, `COLLATE NOCASE` for =~, instr/substr,
// random(), unary + on GROUP BY keys, and FTS5 trigram lookups (pg_trgm GIN indexes there).

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  ident(name: string): string;
  string(value: string): string;
  /** JSON path access on JSON text; `path` segments are property names or array indexes. Missing → NULL. */
  jsonGet(base: string, path: readonly (string | number)[]): string;
  /** JSON path access with a computed segment (SQL expression yielding a key or an index). */
  jsonGetDynamic(base: string, segment: string, numeric: boolean): string;
  /** Case-insensitive LIKE with `\` as escape. */
  ilike(value: string, pattern: string): string;
  /** Rows of `sql` with one arbitrary row per distinct `keys` (KQL innerunique left side). */
  dedupe(sql: string, alias: string, keys: readonly string[]): string;
  /** Expand a JSON array (or wrap a scalar) into rows: a FROM item exposing `key` and `value`. */
  jsonEach(valueSql: string, alias: string): string;
  /** JSON array of `value` over the group; `distinct` drops duplicates; nulls are skipped. */
  jsonGroupArray(value: string, distinct: boolean, filter: string | null): string;
  /** Name of a helper registered on the connection (registerSqlFunctions). */
  fn(name: string): string;
  /** True when the engine returns the row of a single min()/max() for bare columns (SQLite). */
  readonly bareColumnArgMax: boolean;
}

// SQLite text literals cannot hold NUL: those characters are spliced in with char(0).
const quote = (s: string) => (s.includes('\0')
  ? `(${s.split('\0').map((p) => `'${p.replace(/'/g, "''")}'`).join(' || char(0) || ')})`
  : `'${s.replace(/'/g, "''")}'`);

function jsonPath(path: readonly (string | number)[]): string {
  let p = '$';
  for (const seg of path) {
    if (typeof seg === 'number') p += seg < 0 ? `[#${seg}]` : `[${seg}]`;
    else p += `."${seg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return p;
}

export const sqliteDialect: SqlDialect = Object.freeze({
  name: 'sqlite' as const,
  ident: (name: string) => `"${name.replace(/"/g, '""')}"`,
  string: quote,
  jsonGet: (base: string, path: readonly (string | number)[]) =>
    `(CASE WHEN json_valid(${base}) THEN json_extract(${base}, ${quote(jsonPath(path))}) END)`,
  jsonGetDynamic: (base: string, segment: string, numeric: boolean) =>
    numeric
      ? `(CASE WHEN json_valid(${base}) THEN json_extract(${base}, '$[' || (CASE WHEN (${segment}) < 0 THEN '#' || CAST(${segment} AS INTEGER) ELSE CAST(${segment} AS INTEGER) END) || ']') END)`
      : `(CASE WHEN json_valid(${base}) THEN json_extract(${base}, '$."' || replace((${segment}), '"', '\\"') || '"') END)`,
  ilike: (value: string, pattern: string) => `(${value} LIKE ${pattern} ESCAPE '\\')`,
  dedupe: (sql: string, alias: string, keys: readonly string[]) =>
    `SELECT * FROM (${sql}) AS ${alias} GROUP BY ${keys.join(', ')}`,
  jsonEach: (valueSql: string, alias: string) =>
    `json_each(CASE WHEN json_valid(${valueSql}) AND json_type(${valueSql}) IN ('array', 'object') THEN ${valueSql} ELSE json_array(${valueSql}) END) AS ${alias}`,
  jsonGroupArray: (value: string, distinct: boolean, filter: string | null) =>
    `json_group_array(${distinct ? 'DISTINCT ' : ''}${value}) FILTER (WHERE ${value} IS NOT NULL${filter ? ` AND (${filter})` : ''})`,
  fn: (name: string) => `kql_${name}`,
  bareColumnArgMax: true,
});

/** Escape a value for use inside a LIKE pattern with `\` as the escape character. */
export function likeEscape(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
