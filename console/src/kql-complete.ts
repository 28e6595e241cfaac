// KQL highlighting tokens and completion suggestions from the schema (no DOM: testable in node).
import { ALL_COLUMNS, FUNCTIONS, KEYWORDS, OPERATORS, SCHEMA, TABLE_NAMES } from './kql-schema.js';

export type Tok = { text: string; cls?: string };
const TOKEN = /(\/\/[^\n]*)|("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|@"[^"]*"?)|(\b\d+(?:\.\d+)?(?:[a-z]+)?\b)|([A-Za-z_][\w-]*~?)|(\s+)|([^\w\s])/g;

export function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let m: RegExpExecArray | null;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(text))) {
    const [all, comment, string, number, ident] = m;
    if (comment) out.push({ text: all, cls: 'tok-comment' });
    else if (string) out.push({ text: all, cls: 'tok-str' });
    else if (number) out.push({ text: all, cls: 'tok-num' });
    else if (ident) {
      const next = text.slice(TOKEN.lastIndex).match(/^\s*\(/);
      if (SCHEMA.has(ident)) out.push({ text: all, cls: 'tok-table' });
      else if (next && FUNCTIONS.includes(ident)) out.push({ text: all, cls: 'tok-fn' });
      else if (KEYWORDS.has(ident)) out.push({ text: all, cls: 'tok-kw' });
      else if (ALL_COLUMNS.has(ident)) out.push({ text: all, cls: 'tok-col' });
      else out.push({ text: all });
    } else if (m[6]) out.push({ text: all, cls: 'tok-op' });
    else out.push({ text: all });
  }
  return out;
}

export interface Suggestion { label: string; kind: 'table' | 'column' | 'operator' | 'function' | 'keyword'; detail?: string }

/** What fits at the caret: tables at the start of a pipeline, operators after '|', otherwise columns of the tables in use. */
export function suggest(text: string, caret: number): { from: number; items: Suggestion[] } {
  const before = text.slice(0, caret);
  const word = /[A-Za-z_][\w-]*$/.exec(before)?.[0] ?? '';
  const from = caret - word.length;
  const head = before.slice(0, from).replace(/\/\/[^\n]*/g, '');
  const lastPipe = head.lastIndexOf('|');
  const afterPipe = lastPipe >= 0 && /^\s*$/.test(head.slice(lastPipe + 1));
  const pipelineStart = /^\s*$/.test(head) || /(;|\(|union\s+(?:[\w-]+\s*,\s*)*|join\s+(?:kind\s*=\s*\w+\s+)?\(?\s*|,\s*)\s*$/.test(head) && !/\|\s*[^|]*\b(where|project|extend|summarize|by)\b[^|]*$/.test(head);
  const used = TABLE_NAMES.filter((t) => new RegExp(`\\b${t}\\b`).test(text));
  const lower = word.toLowerCase();
  const match = (s: string) => s.toLowerCase().startsWith(lower);
  let items: Suggestion[];
  if (afterPipe) {
    items = OPERATORS.filter(match).map((o) => ({ label: o, kind: 'operator' as const }));
  } else if (pipelineStart) {
    items = TABLE_NAMES.filter(match).map((t) => ({ label: t, kind: 'table' as const, detail: `${SCHEMA.get(t)!.length} columns` }));
  } else {
    const cols = new Map<string, string>();
    for (const t of used.length ? used : TABLE_NAMES) for (const c of SCHEMA.get(t) ?? []) if (!cols.has(c.name)) cols.set(c.name, c.type);
    items = [
      ...[...cols].filter(([c]) => match(c)).sort(([a], [b]) => a.length - b.length).map(([c, type]) => ({ label: c, kind: 'column' as const, detail: type })),
      ...FUNCTIONS.filter(match).map((f) => ({ label: f, kind: 'function' as const })),
      ...[...KEYWORDS].filter((k) => word && match(k)).map((k) => ({ label: k, kind: 'keyword' as const })),
      ...TABLE_NAMES.filter((t) => word && match(t)).map((t) => ({ label: t, kind: 'table' as const })),
    ];
  }
  if (!word && !afterPipe && !pipelineStart) items = items.filter((i) => i.kind === 'column');
  return { from, items: items.slice(0, 50) };
}
