// Indexes that advanced hunting's typical queries need on the telemetry tables, as DDL the store runs
// (CREATE INDEX IF NOT EXISTS, so repeated start-ups are cheap). Measured with `npm run bench:hunt`:
// SQLite has no hash aggregation, so `summarize … by DeviceName` / `by FileName` and `where FileName == …`
// read a covering (Column, Timestamp) index in key order instead of sorting every row of the window.
// Each index costs ingest throughput, so only the high-volume endpoint tables and their most-used keys.
const TABLES_WITH_FILES = ['DeviceProcessEvents', 'DeviceFileEvents', 'DeviceImageLoadEvents'];
const DEVICE_TABLES = [...TABLES_WITH_FILES, 'DeviceNetworkEvents', 'DeviceRegistryEvents', 'DeviceEvents'];

export const HUNTING_INDEXES: readonly string[] = Object.freeze([
  ...DEVICE_TABLES.map((t) => `CREATE INDEX IF NOT EXISTS "ix_${t}_hunt_device" ON "${t}" ("DeviceName", "Timestamp")`),
  ...TABLES_WITH_FILES.map((t) => `CREATE INDEX IF NOT EXISTS "ix_${t}_hunt_file" ON "${t}" ("FileName", "Timestamp")`),
]);

/** Columns that lead an index of a table (the compiler streams `summarize … by` on them). */
export const INDEXED_LEADING_COLUMNS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  DEVICE_TABLES.map((t) => [t, new Set(TABLES_WITH_FILES.includes(t) ? ['DeviceName', 'FileName'] : ['DeviceName'])]),
);

/** Long text columns searched with has/contains/startswith, served by a trigram index when enabled. */
export const TEXT_INDEXED_COLUMNS: readonly (readonly [string, string])[] = Object.freeze([
  ['DeviceProcessEvents', 'ProcessCommandLine'],
  ['DeviceProcessEvents', 'InitiatingProcessCommandLine'],
]);

export function textIndexName(table: string, column: string): string {
  return `${table}__text_${column}`;
}

/**
 * Opt-in term/substring indexes: an FTS5 trigram table per column (external content, so the text is
 * stored once) kept in step by triggers. `has`, `contains`, `startswith` and `endswith` with a literal
 * of 3+ characters then read only the matching rows instead of every row in the time range
 * (https://sqlite.org/fts5.html#the_trigram_tokenizer). Costs ingest time and disk; measured by bench:hunt.
 */
export const HUNTING_TEXT_INDEXES: readonly string[] = Object.freeze(TEXT_INDEXED_COLUMNS.flatMap(([t, c]) => {
  const fts = `"${textIndexName(t, c)}"`;
  return [
    `CREATE VIRTUAL TABLE IF NOT EXISTS ${fts} USING fts5("${c}", content='${t}', content_rowid='_Seq', tokenize='trigram', detail='none')`,
    `CREATE TRIGGER IF NOT EXISTS "${textIndexName(t, c)}_ai" AFTER INSERT ON "${t}" WHEN new."${c}" IS NOT NULL BEGIN INSERT INTO ${fts}(rowid, "${c}") VALUES (new."_Seq", new."${c}"); END`,
    `CREATE TRIGGER IF NOT EXISTS "${textIndexName(t, c)}_ad" AFTER DELETE ON "${t}" WHEN old."${c}" IS NOT NULL BEGIN INSERT INTO ${fts}(${fts}, rowid, "${c}") VALUES ('delete', old."_Seq", old."${c}"); END`,
    // Rows already in the table (enabling the index later): index them once.
    `INSERT INTO ${fts}(${fts}) SELECT 'rebuild' WHERE NOT EXISTS (SELECT 1 FROM "${textIndexName(t, c)}_docsize" LIMIT 1) AND EXISTS (SELECT 1 FROM "${t}" LIMIT 1)`,
  ];
}));
