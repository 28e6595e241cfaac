import { VigilError } from '../errors/index.js';
import { tableDef, type CanonicalRow, type TableName } from '../schema/index.js';
import type { Store } from '../store/index.js';
import type { Bus } from '../bus/index.js';
import { validateRows, type RowRejection } from './row-validator.js';
import { normaliseWindowsEvent } from './windows-normaliser.js';

export interface IngestResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: readonly RowRejection[];
}

export interface IngestCounters {
  onAccepted(table: string, n: number): void;
  onRejected(table: string, n: number): void;
  onDuplicates(table: string, n: number): void;
}

export interface IngestService {
  /** Validates, commits durably, then announces `telemetry.ingested`. Good rows land even when others are bad. */
  ingest(table: string, sensorId: string, rows: readonly unknown[]): Promise<IngestResult>;
  /** Normalises Windows events (evtx_dump JSON) into their canonical tables, then ingests them. */
  ingestWindows(sensorId: string, events: readonly unknown[]): Promise<IngestResult>;
}

export interface IngestOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly counters?: IngestCounters;
}

export function createIngestService({ store, bus, counters }: IngestOptions): IngestService {
  async function commit(table: TableName, sensorId: string, rows: readonly CanonicalRow[]) {
    const result = await store.telemetry.append(table, sensorId, rows);
    counters?.onAccepted(table, result.inserted);
    if (result.duplicates) counters?.onDuplicates(table, result.duplicates);
    if (result.insertedRows.length > 0) await bus.publish('telemetry.ingested', { table, sensorId, rows: result.insertedRows });
    return result;
  }

  return {
    async ingest(table, sensorId, input) {
      const def = tableDef(table);
      if (!def) throw new VigilError('unknown_table', 404, `unknown table '${table}'; see the schema for the 24 canonical tables`);
      const { rows, rejected } = validateRows(def, input);
      if (rejected.length) counters?.onRejected(table, rejected.length);
      const result = await commit(def.name, sensorId, rows);
      return { accepted: result.inserted, duplicates: result.duplicates, rejected };
    },

    async ingestWindows(sensorId, events) {
      const byTable = new Map<TableName, { rows: CanonicalRow[] }>();
      const rejected: RowRejection[] = [];
      events.forEach((event, index) => {
        const normalised = normaliseWindowsEvent(event);
        if (!normalised) {
          rejected.push({ index, error: 'not a Windows event in evtx_dump JSON form (expected {"Event": {"System": …}})' });
          return;
        }
        const def = tableDef(normalised.table)!;
        const check = validateRows(def, [normalised.row]);
        if (check.rejected.length) {
          rejected.push({ index, error: check.rejected[0].error });
          return;
        }
        if (!byTable.has(def.name)) byTable.set(def.name, { rows: [] });
        byTable.get(def.name)!.rows.push(check.rows[0]);
      });
      if (rejected.length) counters?.onRejected('windows', rejected.length);
      let accepted = 0;
      let duplicates = 0;
      for (const [table, { rows }] of byTable) {
        const result = await commit(table, sensorId, rows);
        accepted += result.inserted;
        duplicates += result.duplicates;
      }
      return { accepted, duplicates, rejected };
    },
  };
}
