import type Database from 'better-sqlite3';
import { TABLES, tableDef, type CanonicalRow, type ColumnDef, type TableDef } from '../schema/index.js';
import { VigilError } from '../errors/index.js';
import type { AppendResult, ReadOptions, ReadPage, TelemetryStore } from './store.js';
import { decodeRow, encodeValue, quoteIdent, sqlType } from './row-codec.js';

const SYSTEM_COLUMNS = ['_SensorId', '_IngestedAt', '_Raw'] as const;

/** Creates every canonical table and adds columns the schema gained since (schema-driven evolution). */
export function ensureTelemetryTables(db: Database.Database): void {
  for (const table of TABLES.values()) {
    const name = quoteIdent(table.name);
    const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${sqlType(c.type)}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${name} (
      "_Seq" INTEGER PRIMARY KEY, "_SensorId" TEXT NOT NULL, "_IngestedAt" INTEGER NOT NULL, "_Raw" TEXT,
      ${columns.join(',\n      ')})`);
    const existing = new Set((db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map((r) => r.name));
    for (const column of table.columns) {
      if (!existing.has(column.name)) db.exec(`ALTER TABLE ${name} ADD COLUMN ${quoteIdent(column.name)} ${sqlType(column.type)}`);
    }
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`ux_${table.name}_report`)} ON ${name} ("_SensorId", "ReportId")`);
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`ix_${table.name}_time`)} ON ${name} ("Timestamp")`);
    // No DeviceId index: measured, it tripled the cost of an ingest batch (rows of many devices interleave),
    // while device queries are bounded by time and served by the Timestamp index.
    db.exec(`DROP INDEX IF EXISTS ${quoteIdent(`ix_${table.name}_device`)}`);
  }
}

function requireTable(table: string): TableDef {
  const def = tableDef(table);
  if (!def) throw new VigilError('unknown_table', 404, `unknown table '${table}'`);
  return def;
}

function toEpoch(value: string | number, what: string): number {
  const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new VigilError('bad_request', 400, `'${what}' is not a valid time: ${String(value)}`);
  return ms;
}

export function createSqliteTelemetry(db: Database.Database): TelemetryStore {
  // One prepared statement per table and column set: rows from one sensor share a shape, and binding
  // only the columns present is much cheaper than binding ~60 mostly-null parameters.
  const statements = new Map<string, { run(values: unknown[]): { changes: number } }>();

  function statementFor(def: TableDef, columns: readonly ColumnDef[]) {
    const key = `${def.name}\0${columns.map((c) => c.name).join('\0')}`;
    let statement = statements.get(key);
    if (!statement) {
      const names = [...SYSTEM_COLUMNS, ...columns.map((c) => c.name)];
      statement = db.prepare(
        `INSERT OR IGNORE INTO ${quoteIdent(def.name)} (${names.map(quoteIdent).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`,
      );
      if (statements.size > 1000) statements.clear();
      statements.set(key, statement);
    }
    return statement;
  }

  function insert(def: TableDef, row: CanonicalRow, sensorId: string, now: number): boolean {
    const columns: ColumnDef[] = [];
    for (const name in row) {
      const column = def.byName.get(name);
      if (column && row[name] !== undefined && row[name] !== null) columns.push(column);
    }
    const values: unknown[] = new Array(columns.length + 3);
    values[0] = sensorId;
    values[1] = now;
    values[2] = row._Raw == null ? null : JSON.stringify(row._Raw);
    for (let i = 0; i < columns.length; i++) values[i + 3] = encodeValue(columns[i].type, row[columns[i].name]);
    return statementFor(def, columns).run(values).changes === 1;
  }

  const appendTx = db.transaction((def: TableDef, sensorId: string, rows: readonly CanonicalRow[]) => {
    const now = Date.now();
    return rows.map((row) => insert(def, row, sensorId, now));
  });

  return {
    async append(table, sensorId, rows): Promise<AppendResult> {
      const def = requireTable(table);
      const fresh = rows.length === 0 ? [] : appendTx(def, sensorId, rows);
      const insertedRows = rows.filter((_, i) => fresh[i]);
      return { inserted: insertedRows.length, duplicates: rows.length - insertedRows.length, insertedRows, fresh };
    },

    async read(table, options: ReadOptions = {}): Promise<ReadPage> {
      const def = requireTable(table);
      const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 10_000);
      const where: string[] = [];
      const params: unknown[] = [];
      if (options.cursor !== undefined) {
        if (!/^\d+$/.test(options.cursor)) throw new VigilError('bad_request', 400, `'cursor' is not a cursor from this API`);
        where.push('"_Seq" > ?');
        params.push(Number(options.cursor));
      }
      if (options.since !== undefined) where.push('"Timestamp" >= ?'), params.push(toEpoch(options.since, 'since'));
      if (options.until !== undefined) where.push('"Timestamp" < ?'), params.push(toEpoch(options.until, 'until'));
      if (options.deviceId !== undefined) {
        if (!def.byName.has('DeviceId')) throw new VigilError('bad_request', 400, `table '${table}' has no DeviceId column`);
        where.push('"DeviceId" = ?');
        params.push(options.deviceId);
      }
      const sql = `SELECT * FROM ${quoteIdent(def.name)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY "_Seq" LIMIT ?`;
      const stored = db.prepare(sql).all(...params, limit + 1) as Record<string, unknown>[];
      const page = stored.slice(0, limit);
      const rows = page.map((r) => decodeRow(def, r));
      return stored.length > limit ? { rows, nextCursor: String(page[page.length - 1]._Seq) } : { rows };
    },

    async count(table) {
      const def = requireTable(table);
      return (db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(def.name)}`).get() as { n: number }).n;
    },
  };
}
