// RFC 4180 CSV for bulk indicator import and export.

/** Parses CSV text into rows of fields (quoted fields may hold commas, quotes "" and newlines). */
export function parseCsv(text: string): { rows: string[][]; lines: number[] } {
  const rows: string[][] = [];
  const lines: number[] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      if (!(row.length === 1 && row[0] === '')) { rows.push(row); lines.push(rowLine); }
      row = []; field = ''; line++; rowLine = line;
    } else field += c;
  }
  row.push(field);
  if (!(row.length === 1 && row[0] === '')) { rows.push(row); lines.push(rowLine); }
  return { rows, lines };
}

/** One CSV field, quoted when it holds a comma, quote or line break; a leading =+-@ is prefixed with ' against formula injection. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = Array.isArray(value) ? value.join(';') : String(value);
  if (/^[=+\-@]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
