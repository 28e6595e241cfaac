// Test helper: the hunting service over an in-memory SQLite database laid out as the store lays out
// telemetry (one table per canonical table, epoch-ms datetimes, JSON dynamics), without worker threads.
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { TABLES } from '../schema/index.js';
import { createHuntingService, type HuntingService } from './hunting-service.js';
import { registerKqlSqliteFunctions } from './sqlite-functions.js';

export interface TestHunting {
  readonly hunting: HuntingService;
  readonly db: Database.Database;
  /** The same database through kysely, as Store.db. */
  readonly kysely: Kysely<any>;
  /** Insert rows in in-memory form (ISO datetimes, objects for dynamic, booleans). */
  insert(table: string, rows: readonly Record<string, unknown>[]): void;
  close(): void;
}

export function createTestHunting(options: { now: number; maxRows?: number; windowDays?: number }): TestHunting {
  const db = new Database(':memory:');
  for (const t of TABLES.values()) {
    db.exec(`CREATE TABLE "${t.name}" ("_Seq" INTEGER PRIMARY KEY, "_SensorId" TEXT NOT NULL DEFAULT 'test', "_IngestedAt" INTEGER NOT NULL DEFAULT 0, "_Raw" TEXT, ${t.columns.map((c) => `"${c.name}"`).join(', ')})`);
  }
  registerKqlSqliteFunctions(db);
  const store = {
    dialect: 'sqlite' as const,
    async query(sql: string, params: readonly unknown[] = [], opts: { maxRows?: number } = {}) {
      const st = db.prepare(sql);
      st.raw(true);
      const rows: unknown[][] = [];
      let truncated = false;
      for (const r of st.iterate(...params) as Iterable<unknown[]>) {
        if (rows.length >= (opts.maxRows ?? Infinity)) {
          truncated = true;
          break;
        }
        rows.push(r);
      }
      return { columns: st.columns().map((c) => c.name), rows, truncated };
    },
  };
  const hunting = createHuntingService({ store, now: () => options.now, maxRows: options.maxRows, defaultWindowDays: options.windowDays });
  return {
    hunting,
    db,
    kysely: new Kysely<any>({ dialect: new SqliteDialect({ database: db }) }),
    insert(table, rows) {
      const def = TABLES.get(table as never)!;
      for (const row of rows) {
        const cols = Object.keys(row);
        const values = cols.map((c) => {
          const type = def.byName.get(c)?.type;
          const v = row[c];
          if (v === null || v === undefined) return null;
          if (type === 'datetime') return Date.parse(String(v));
          if (type === 'bool') return v ? 1 : 0;
          if (type === 'dynamic') return JSON.stringify(v);
          return v;
        });
        db.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}, "_IngestedAt") VALUES (${cols.map(() => '?').join(', ')}, ?)`)
          .run(...values, options.now);
      }
    },
    close: () => db.close(),
  };
}
