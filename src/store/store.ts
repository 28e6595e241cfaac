import type { Kysely } from 'kysely';
import type { CanonicalRow } from '../schema/index.js';

/** One versioned schema change of a module's state tables. Versions start at 1 and only grow. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Kysely<any>): Promise<void>;
}

export interface AppendResult {
  readonly inserted: number;
  readonly duplicates: number;
  /** The rows that were new, in input order (duplicates left out). */
  readonly insertedRows: readonly CanonicalRow[];
  /** For each input row: true when it was new. */
  readonly fresh: readonly boolean[];
}

export interface ReadOptions {
  /** Inclusive lower bound on Timestamp (ISO 8601 or epoch ms). */
  readonly since?: string | number;
  /** Exclusive upper bound on Timestamp. */
  readonly until?: string | number;
  readonly deviceId?: string;
  /** At most this many rows (default 100, max 10,000). */
  readonly limit?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
}

export interface ReadPage {
  readonly rows: readonly CanonicalRow[];
  /** Present when more rows follow. */
  readonly nextCursor?: string;
}

/** Telemetry tables: append-only, deduplicated per sensor on ReportId. */
export interface TelemetryStore {
  /** Commits the rows (already validated) durably before resolving. */
  append(table: string, sensorId: string, rows: readonly CanonicalRow[]): Promise<AppendResult>;
  read(table: string, options?: ReadOptions): Promise<ReadPage>;
  count(table: string): Promise<number>;
}

export interface QueryOptions {
  /** Cancel the query after this long (VigilError 'query_timeout', 408). */
  readonly timeoutMs?: number;
  /** Stop after this many rows and set `truncated`. */
  readonly maxRows?: number;
}

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly unknown[][];
  readonly truncated: boolean;
}

/** One statement and the rows of parameters it runs with (see Store.batch). */
export interface WriteGroup {
  readonly sql: string;
  readonly rows: readonly (readonly unknown[])[];
}

/** Batches (as for Store.batch) written in order, each in one transaction, beside the main thread. */
export interface BatchWriter {
  /**
   * Resolves once the batch is committed; batches commit in the order they were written. Rejects with
   * code 'writer_ended' once the writer is closed or its thread has gone (later batches fail the same way).
   */
  write(groups: readonly WriteGroup[]): Promise<void>;
  /** Waits for the batches already written, then ends the writer. */
  close(): Promise<void>;
}

/**
 * The platform's database. State tables go through `db` (kysely, dialect-neutral);
 * telemetry goes through `telemetry`; hunting runs read-only SQL through `query`.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly db: Kysely<any>;
  readonly telemetry: TelemetryStore;
  /** Applies the module's migrations that have not run yet, in version order, each in a transaction. */
  migrate(module: string, migrations: readonly Migration[]): Promise<void>;
  /** Read-only SQL off the request path, with a timeout and a row cap. */
  query(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult>;
  /**
   * Hot write paths (incidents): runs each group's statement once per row, all in one transaction, each
   * SQL text prepared once and then reused (`?` placeholders). Optional: without it, write through `db`.
   */
  batch?(groups: readonly WriteGroup[]): Promise<void>;
  /**
   * The same batches written off the main thread, on a connection of their own (SQLite file stores:
   * a worker thread), so the caller goes on working while one commits. Optional, and undefined where
   * the store cannot (an in-memory database): then use `batch`. Close it before the store.
   */
  openBatchWriter?(): BatchWriter | undefined;
  close(): Promise<void>;
}
