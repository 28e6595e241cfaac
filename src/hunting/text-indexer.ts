// Fills the opt-in trigram text indexes (HUNTING_TEXT_INDEXES) in batches behind ingest. Queries stay
// correct while it lags: rows above an index's watermark are scanned instead of looked up.
import { sql } from 'kysely';
import type { Store } from '../store/index.js';
import { TEXT_INDEX_WATERMARKS, TEXT_INDEXED_COLUMNS, textIndexName } from './hunting-indexes.js';

export interface TextIndexer {
  /** Index every row ingested so far (in batches); resolves with the number of rows indexed. */
  catchUp(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export interface TextIndexerOptions {
  readonly store: Pick<Store, 'db'>;
  /** Rows per write transaction: small enough not to hold ingest up for long (default 5,000). */
  readonly batchRows?: number;
  /** How often to look for new rows (default 2 s). */
  readonly intervalMs?: number;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function createTextIndexer(options: TextIndexerOptions): TextIndexer {
  const db = options.store.db;
  const batch = options.batchRows ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;

  async function indexes(): Promise<{ table: string; column: string; name: string; seq: number }[]> {
    const exists = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${TEXT_INDEX_WATERMARKS}`.execute(db);
    if (!exists.rows.length) return [];
    const marks = await sql<{ name: string; seq: number }>`SELECT name, seq FROM ${sql.raw(q(TEXT_INDEX_WATERMARKS))}`.execute(db);
    const byName = new Map(marks.rows.map((r) => [r.name, Number(r.seq)]));
    return TEXT_INDEXED_COLUMNS.filter(([t, c]) => byName.has(textIndexName(t, c)))
      .map(([table, column]) => ({ table, column, name: textIndexName(table, column), seq: byName.get(textIndexName(table, column))! }));
  }

  async function catchUp(): Promise<number> {
    let total = 0;
    for (const ix of await indexes()) {
      const max = await sql<{ m: number | null }>`SELECT MAX("_Seq") AS m FROM ${sql.raw(q(ix.table))}`.execute(db);
      const top = Number(max.rows[0]?.m ?? 0);
      let seq = ix.seq;
      while (seq < top) {
        const upto = Math.min(seq + batch, top);
        await db.transaction().execute(async (tx) => {
          const res = await sql`INSERT INTO ${sql.raw(q(ix.name))} (rowid, ${sql.raw(q(ix.column))})
            SELECT "_Seq", ${sql.raw(q(ix.column))} FROM ${sql.raw(q(ix.table))}
            WHERE "_Seq" > ${seq} AND "_Seq" <= ${upto} AND ${sql.raw(q(ix.column))} IS NOT NULL`.execute(tx);
          total += Number(res.numAffectedRows ?? 0);
          await sql`UPDATE ${sql.raw(q(TEXT_INDEX_WATERMARKS))} SET seq = ${upto} WHERE name = ${ix.name}`.execute(tx);
        });
        seq = upto;
      }
    }
    return total;
  }

  const once = (): Promise<number> => {
    running ??= catchUp().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    catchUp: once,
    start() {
      if (timer) return;
      timer = setInterval(() => void once().catch(() => undefined), options.intervalMs ?? 2_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
