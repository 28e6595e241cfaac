import type { CanonicalRow, ColumnDef, TableDef } from '../schema/index.js';

export interface RowRejection {
  readonly index: number;
  readonly error: string;
}

const INTEGER_TEXT = /^-?\d+$/;
/** Already in canonical form (UTC, milliseconds): kept as is, which saves a parse and a format per value. */
const CANONICAL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Coerces one JSON value to its column's type; returns an error text when it cannot. */
function coerce(column: ColumnDef, value: unknown): { value: unknown } | { error: string } {
  if (value === null || value === undefined) return { value: null };
  const bad = (want: string) => ({ error: `column '${column.name}' must be ${want}, got ${JSON.stringify(value).slice(0, 60)}` });
  switch (column.type) {
    case 'string':
      if (typeof value === 'string') return { value };
      if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
      return bad('a string');
    case 'int':
    case 'long': {
      const n = typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
      if (typeof n === 'number' && Number.isSafeInteger(n)) {
        if (column.type === 'int' && (n < -2147483648 || n > 2147483647)) return bad('a 32-bit integer');
        return { value: n };
      }
      return bad('an integer');
    }
    case 'real':
      if (typeof value === 'number' && Number.isFinite(value)) return { value };
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return { value: Number(value) };
      return bad('a number');
    case 'bool':
      if (typeof value === 'boolean') return { value };
      if (value === 0 || value === 1) return { value: value === 1 };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return bad('a boolean');
    case 'datetime': {
      if (typeof value === 'string' && CANONICAL_TIME.test(value)) return { value };
      const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return bad('an ISO 8601 time or epoch milliseconds');
      return { value: new Date(ms).toISOString() };
    }
    case 'dynamic':
      return { value };
  }
}

/**
 * Validates a batch against its table: every row must be an object with a Timestamp and a ReportId and
 * only the table's columns (or `_Raw`, the flattened source event). Good rows are kept; each bad row is
 * reported with its index.
 */
export function validateRows(table: TableDef, input: readonly unknown[]): { rows: CanonicalRow[]; rejected: RowRejection[] } {
  const rows: CanonicalRow[] = [];
  const rejected: RowRejection[] = [];
  input.forEach((candidate, index) => {
    const error = validateOne(table, candidate, rows);
    if (error) rejected.push({ index, error });
  });
  return { rows, rejected };
}

function validateOne(table: TableDef, candidate: unknown, out: CanonicalRow[]): string | undefined {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) return 'row must be a JSON object';
  const source = candidate as Record<string, unknown>;
  const row: CanonicalRow = {};
  for (const key in source) {
    const value = source[key];
    const column = table.byName.get(key);
    // Fast path: the value already has its column's type.
    if (column !== undefined && value !== null && value !== undefined) {
      const type = column.type;
      if ((type === 'string' && typeof value === 'string')
        || ((type === 'long' || type === 'real') && typeof value === 'number' && (type === 'real' ? Number.isFinite(value) : Number.isSafeInteger(value)))
        || (type === 'bool' && typeof value === 'boolean')
        || (type === 'datetime' && typeof value === 'string' && CANONICAL_TIME.test(value))) {
        row[key] = value;
        continue;
      }
    }
    if (key === '_Raw') {
      const raw = source._Raw;
      if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) return "'_Raw' must be an object";
      row._Raw = raw;
      continue;
    }
    if (!column) return `unknown column '${key}' for table ${table.name}`;
    const result = coerce(column, value);
    if ('error' in result) return result.error;
    row[key] = result.value;
  }
  if (row.Timestamp == null) return "missing 'Timestamp'";
  if (row.ReportId == null || row.ReportId === '') return "missing 'ReportId' (unique per sensor; it makes retries safe)";
  out.push(row);
  return undefined;
}
