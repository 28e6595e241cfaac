// A KQL editor: a textarea over a highlighted copy of its text (so input stays native and accessible),
// with completion of tables, columns, operators and functions from the schema.
import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { suggest, tokenize, type Suggestion } from '../kql-complete';

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
