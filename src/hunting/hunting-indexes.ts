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
