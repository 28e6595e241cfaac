// The store: database handles, migrations, the telemetry writer and read-only query execution.
export type { Store, Migration, TelemetryStore, AppendResult, ReadOptions, ReadPage, QueryOptions, QueryResult, WriteGroup, BatchWriter } from './store.js';
export { createSqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { encodeValue, decodeValue, quoteIdent } from './row-codec.js';
