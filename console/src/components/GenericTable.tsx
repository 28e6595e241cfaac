// A table for records whose exact shape this console version does not know: columns from their keys.
import { useMemo } from 'react';
import { str, time, titleCase } from '../format';
import { DataTable, type Column } from './DataTable';

export function GenericTable({ rows, label, prefer = [], csvName, extra }: { rows: Record<string, unknown>[]; label: string; prefer?: string[]; csvName?: string; extra?: Column<Record<string, unknown>>[] }) {
  const columns = useMemo<Column<Record<string, unknown>>[]>(() => {
    const keys = new Set<string>();
    for (const r of rows.slice(0, 200)) for (const k of Object.keys(r)) keys.add(k);
    const order = [...prefer.filter((k) => keys.has(k)), ...[...keys].filter((k) => !prefer.includes(k))];
    return [...order.map((k, i) => ({
      id: k, label: titleCase(k), hidden: i >= 7, width: i === 0 ? 'minmax(200px, 2fr)' : 'minmax(120px, 1fr)',
      value: (r: Record<string, unknown>) => r[k],
      render: (r: Record<string, unknown>) => /(At|Time|Date|Seen)$/.test(k) && typeof r[k] === 'string' ? time(r[k]) : str(r[k]),
    })), ...(extra ?? [])];
  }, [rows, prefer, extra]);
  if (rows.length === 0) return <div className="empty">None yet.</div>;
  return <DataTable label={label} rows={rows} columns={columns} rowKey={(r) => str(r.id ?? r.name ?? JSON.stringify(r))} chooser csvName={csvName} maxHeight={420} />;
}
