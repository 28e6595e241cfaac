import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BatchWriter, Migration, Store } from './store.js';
import { createSqliteBatchWriter } from './batch-writer.js';
import { createSqliteTelemetry, ensureTelemetryTables } from './sqlite-telemetry.js';
import { createQueryWorkers } from './query-workers.js';
import { createGroupWriter } from './group-writer.mjs';

export interface SqliteStoreOptions {
  /** Database file, or ':memory:' (tests; `query` then needs a file and refuses). */
  readonly file: string;
  /**
   * 'normal' (default) keeps every committed transaction across a process crash (kill -9) in WAL mode;
   * 'full' also across power loss, at a cost in ingest throughput.
   */
  readonly synchronous?: 'normal' | 'full';
  /**
   * A module that exports `registerSqlFunctions(db)`; it is loaded on each read-only query connection
   * (hunting registers its KQL functions there).
   */
  readonly queryFunctionsModule?: string;
}

/** The embedded store: one SQLite file in WAL mode (https://www.sqlite.org/wal.html). */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const handle = new Database(options.file);
  handle.pragma('journal_mode = WAL');
  handle.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  handle.pragma('busy_timeout = 5000');
  handle.pragma('foreign_keys = ON');
  handle.pragma('cache_size = -65536'); // 64 MiB of page cache: index updates on ingest stay in memory
  ensureTelemetryTables(handle);
  handle.exec(`CREATE TABLE IF NOT EXISTS "_migrations" (
    "module" TEXT NOT NULL, "version" INTEGER NOT NULL, "name" TEXT NOT NULL, "applied_at" INTEGER NOT NULL,
    PRIMARY KEY ("module", "version"))`);

  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
  // Store.batch: statements prepared once per SQL text (bounded), run in one transaction.
  const runBatch = createGroupWriter(handle);
  const workers = options.file === ':memory:' ? undefined : createQueryWorkers(options.file, options.queryFunctionsModule);
  const writers = new Set<BatchWriter>();

  return {
    dialect: 'sqlite',
    db,
    telemetry: createSqliteTelemetry(handle),

    async migrate(module: string, migrations: readonly Migration[]) {
      const done = await db.selectFrom('_migrations').select('version').where('module', '=', module).execute();
      const applied = new Set(done.map((r) => Number(r.version)));
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        await db.transaction().execute(async (tx) => {
          await migration.up(tx);
          await tx.insertInto('_migrations')
            .values({ module, version: migration.version, name: migration.name, applied_at: Date.now() })
            .execute();
        });
      }
    },

    async query(text, params = [], queryOptions = {}) {
      if (!workers) {
        const statement = handle.prepare(text);
        if (!statement.reader) throw new Error('query() is read-only');
        statement.raw(true);
        const columns = statement.columns().map((c) => c.name);
        const rows: unknown[][] = [];
        const max = queryOptions.maxRows ?? Infinity;
        let truncated = false;
        for (const row of statement.iterate(...params) as Iterable<unknown[]>) {
          if (rows.length >= max) { truncated = true; break; }
          rows.push(row);
        }
        return { columns, rows, truncated };
      }
      return workers.run(text, params, queryOptions);
    },

    async batch(groups) {
      // Under kysely's connection lock, so no other transaction through `db` is open on the connection meanwhile.
      await db.connection().execute(async () => { runBatch(groups); });
    },

    openBatchWriter() {
      if (options.file === ':memory:') return undefined;
      const writer = createSqliteBatchWriter(options.file, options.synchronous === 'full' ? 'FULL' : 'NORMAL',
        (fn) => db.connection().execute(fn));
      writers.add(writer);
      return writer;
    },

    async close() {
      await Promise.all([...writers].map((w) => w.close()));
      await workers?.close();
      await db.destroy(); // closes the better-sqlite3 handle too
    },
  };
}

