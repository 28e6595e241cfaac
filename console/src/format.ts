// Display helpers. Everything returned is plain text; React renders it as text nodes.

export function str(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function time(value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value as string);
  if (Number.isNaN(d.getTime())) return str(value);
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function ago(value: unknown, now = Date.now()): string {
  const d = new Date(value as string).getTime();
  if (!Number.isFinite(d)) return '';
  const s = Math.round((now - d) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** First present field among `keys` (APIs differ in naming: createdAt vs createdDateTime). */
export function pick(record: unknown, ...keys: string[]): unknown {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as Record<string, unknown>;
  for (const k of keys) if (r[k] !== undefined && r[k] !== null) return r[k];
  return undefined;
}

export function titleCase(text: string): string {
  return text.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
}

const CSV_DANGEROUS = /^[=+\-@\t\r]/;
/** CSV text (RFC 4180) with spreadsheet formula injection defused. */
export function toCsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (v: unknown) => {
    let text = str(v);
    if (CSV_DANGEROUS.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.map(cell).join(','), ...rows.map((r) => r.map(cell).join(','))].join('\r\n') + '\r\n';
}

export function download(filename: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const SEVERITY_ORDER: Record<string, number> = { high: 4, medium: 3, low: 2, informational: 1, unknown: 0, none: 0 };
