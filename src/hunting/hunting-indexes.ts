// Indexes that advanced hunting's typical queries need on the telemetry tables, as DDL the store runs
// (CREATE INDEX IF NOT EXISTS, so repeated start-ups are cheap) when `--hunting-indexes on`.
// Measured with `npm run bench:hunt`: SQLite has no hash aggregation, so `summarize … by DeviceName` /
// `by FileName` and `where FileName == …` read a covering (Column, Timestamp) index in key order instead
// of sorting every row of the window. Each index costs ingest throughput, so only the high-volume
// endpoint tables and their most-used keys.
const TABLES_WITH_FILES = ['DeviceProcessEvents', 'DeviceFileEvents', 'DeviceImageLoadEvents'];
const DEVICE_TABLES = [...TABLES_WITH_FILES, 'DeviceNetworkEvents', 'DeviceRegistryEvents', 'DeviceEvents'];

/** One (Column, Timestamp) hunting index. */
export interface HuntingIndexSpec {
  readonly name: string;
  readonly table: string;
  readonly column: string;
}

export const HUNTING_INDEX_SPECS: readonly HuntingIndexSpec[] = Object.freeze([
  ...DEVICE_TABLES.map((table) => ({ name: `ix_${table}_hunt_device`, table, column: 'DeviceName' })),
  ...TABLES_WITH_FILES.map((table) => ({ name: `ix_${table}_hunt_file`, table, column: 'FileName' })),
]);

export const HUNTING_INDEXES: readonly string[] = Object.freeze(
  HUNTING_INDEX_SPECS.map((i) => `CREATE INDEX IF NOT EXISTS "${i.name}" ON "${i.table}" ("${i.column}", "Timestamp")`),
);

/**
 * Table → columns that lead a (Column, Timestamp) hunting index, for the index names found in the
 * database (the compiler streams `summarize … by` on them only when the index is really there).
 */
export function huntingIndexColumns(indexNames: Iterable<string>): ReadonlyMap<string, ReadonlySet<string>> {
  const present = new Set(indexNames);
  const map = new Map<string, Set<string>>();
  for (const i of HUNTING_INDEX_SPECS) {
    if (!present.has(i.name)) continue;
    if (!map.has(i.table)) map.set(i.table, new Set());
    map.get(i.table)!.add(i.column);
  }
  return map;
}

/** Long text columns searched with has/contains/startswith, served by a trigram index when enabled. */
export const TEXT_INDEXED_COLUMNS: readonly (readonly [string, string])[] = Object.freeze([
  ['DeviceProcessEvents', 'ProcessCommandLine'],
  ['DeviceProcessEvents', 'InitiatingProcessCommandLine'],
]);

export function textIndexName(table: string, column: string): string {
  return `${table}__text_${column}`;
}

/** Table recording, per text index, the highest _Seq it has indexed (rows above are scanned). */
export const TEXT_INDEX_WATERMARKS = 'hunting_text_watermarks';

/**
 * Opt-in term/substring indexes: an FTS5 trigram table per column (external content, so the text is
 * stored once). `has`, `contains`, `startswith` and `endswith` with a literal of 3+ characters then read
 * only the rows the index finds, plus the not-yet-indexed tail above the watermark, instead of every row
 * in the time range (https://sqlite.org/fts5.html#the_trigram_tokenizer). The text indexer fills them in
 * batches behind ingest (createTextIndexer), which costs far less than indexing row by row in triggers.
 */
export const HUNTING_TEXT_INDEXES: readonly string[] = Object.freeze([
  `CREATE TABLE IF NOT EXISTS "${TEXT_INDEX_WATERMARKS}" ("name" TEXT PRIMARY KEY, "seq" INTEGER NOT NULL)`,
  ...TEXT_INDEXED_COLUMNS.flatMap(([t, c]) => [
    `CREATE VIRTUAL TABLE IF NOT EXISTS "${textIndexName(t, c)}" USING fts5("${c}", content='${t}', content_rowid='_Seq', tokenize='trigram', detail='none')`,
    `INSERT OR IGNORE INTO "${TEXT_INDEX_WATERMARKS}" ("name", "seq") VALUES ('${textIndexName(t, c)}', 0)`,
  ]),
]);
