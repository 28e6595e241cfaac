import type { CanonicalRow, ColumnType, TableDef } from '../schema/index.js';

/** Storage form of one value: datetime → epoch ms, bool → 0/1, dynamic → JSON text. */
export function encodeValue(type: ColumnType, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'datetime':
      return typeof value === 'number' ? value : Date.parse(String(value));
    case 'bool':
      return value ? 1 : 0;
    case 'dynamic':
      return JSON.stringify(value);
    default:
      return value;
  }
}

/** In-memory form of one stored value: the inverse of encodeValue. */
export function decodeValue(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'datetime':
      return new Date(Number(value)).toISOString();
    case 'bool':
      return value === 1 || value === 1n || value === true;
    case 'dynamic':
      try {
        return JSON.parse(String(value));
      } catch {
        return String(value);
      }
    default:
      return typeof value === 'bigint' ? Number(value) : value;
  }
}

/** A stored row back to canonical form; system columns `_SensorId`, `_IngestedAt`, `_Raw` are kept. */
export function decodeRow(table: TableDef, stored: Record<string, unknown>): CanonicalRow {
  const row: CanonicalRow = {};
  for (const column of table.columns) row[column.name] = decodeValue(column.type, stored[column.name]);
  row._SensorId = stored._SensorId;
  row._IngestedAt = decodeValue('datetime', stored._IngestedAt);
  if (stored._Raw != null) row._Raw = decodeValue('dynamic', stored._Raw);
  return row;
}

const SQL_TYPES: Record<ColumnType, string> = {
  string: 'TEXT', int: 'INTEGER', long: 'INTEGER', real: 'REAL', bool: 'INTEGER', datetime: 'INTEGER', dynamic: 'TEXT',
};

export function sqlType(type: ColumnType): string {
  return SQL_TYPES[type];
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
