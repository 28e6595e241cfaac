// A KQL editor: a textarea over a highlighted copy of its text (so input stays native and accessible),
// with completion of tables, columns, operators and functions from the schema.
import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { ALL_COLUMNS, FUNCTIONS, KEYWORDS, OPERATORS, SCHEMA, TABLE_NAMES } from '../kql-schema';

type Tok = { text: string; cls?: string };
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

interface Suggestion { label: string; kind: 'table' | 'column' | 'operator' | 'function' | 'keyword'; detail?: string }

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

export function KqlEditor({ value, onChange, onRun, label }: { value: string; onChange(v: string): void; onRun(): void; label: string }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [open, setOpen] = useState<{ from: number; items: Suggestion[]; caret: number } | null>(null);
  const [active, setActive] = useState(0);
  const highlighted = useMemo<ReactNode[]>(() => tokenize(value).map((t, i) => (t.cls ? <span key={i} className={t.cls}>{t.text}</span> : t.text)), [value]);

  const refresh = (text: string, caret: number, explicit = false) => {
    const s = suggest(text, caret);
    const word = text.slice(s.from, caret);
    if (s.items.length && (explicit || word.length >= 1 || /\|\s*$/.test(text.slice(0, caret)))) {
      setOpen({ ...s, caret });
      setActive(0);
    } else setOpen(null);
  };
  const accept = (item: Suggestion) => {
    if (!open) return;
    const insert = item.kind === 'function' ? `${item.label}(` : item.kind === 'operator' ? `${item.label} ` : item.label;
    const next = value.slice(0, open.from) + insert + value.slice(open.caret);
    onChange(next);
    setOpen(null);
    const caret = open.from + insert.length;
    requestAnimationFrame(() => { ref.current?.setSelectionRange(caret, caret); ref.current?.focus(); });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if ((e.ctrlKey || e.metaKey || e.shiftKey) && e.key === 'Enter') { e.preventDefault(); setOpen(null); onRun(); return; }
    if (e.ctrlKey && e.key === ' ') { e.preventDefault(); refresh(value, e.currentTarget.selectionStart, true); return; }
    if (!open) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive((a) => (a + 1) % open.items.length); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((a) => (a - 1 + open.items.length) % open.items.length); }
    else if (e.key === 'Enter' || e.key === 'Tab') {
      // Nothing left to complete (the word is already the suggestion): Enter is a new line again.
      if (value.slice(open.from, open.caret) === open.items[active].label) { setOpen(null); if (e.key === 'Tab') e.preventDefault(); return; }
      e.preventDefault();
      accept(open.items[active]);
    }
    else if (e.key === 'Escape') { e.preventDefault(); setOpen(null); }
  };
  const caretPos = (() => {
    if (!open) return { line: 0, col: 0 };
    const lines = value.slice(0, open.from).split('\n');
    return { line: lines.length, col: lines[lines.length - 1].length };
  })();
  const listId = 'kql-completions';
  return (
    <div className="kql">
      <pre aria-hidden="true">{highlighted}{'\n'}</pre>
      <textarea
        ref={ref} value={value} spellCheck={false} aria-label={label} data-testid="kql-editor"
        role="combobox" aria-expanded={open !== null} aria-controls={listId} aria-autocomplete="list"
        aria-activedescendant={open ? `${listId}-${active}` : undefined}
        onChange={(e) => { onChange(e.target.value); refresh(e.target.value, e.target.selectionStart); }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setOpen(null), 150)}
      />
      {open ? (
        <ul className="completions" id={listId} role="listbox" aria-label="Completions" style={{ top: `calc(${caretPos.line * 19.5}px + 12px)`, left: `calc(${caretPos.col}ch + 12px)` }}>
          {open.items.map((item, i) => (
            <li key={`${item.kind}:${item.label}`} id={`${listId}-${i}`} role="option" aria-selected={i === active} onMouseDown={(e) => { e.preventDefault(); accept(item); }}>
              <span>{item.label}</span><span className="kind">{item.detail ? `${item.kind} · ${item.detail}` : item.kind}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
