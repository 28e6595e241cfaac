// A virtualised table: only the rows in view are in the DOM, so 10,000 rows scroll smoothly.
// Sortable headers, an optional column chooser, CSV export, row selection and keyboard navigation
// (arrow keys move between rows, Enter opens, Space selects).
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { download, str, toCsv } from '../format';

export interface Column<T> {
  id: string;
  label: string;
  /** The cell's value, used to sort and to export. */
  value(row: T): unknown;
  /** How the cell shows; text by default. */
  render?(row: T): ReactNode;
  width?: string;
  /** Hidden until chosen in the column chooser. */
  hidden?: boolean;
  /** Sort key when it differs from value (e.g. severity order). */
  sortValue?(row: T): number | string;
}

export interface DataTableProps<T> {
  label: string;
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey(row: T): string;
  rowHeight?: number;
  /** Height of the scrolling body in px; rows beyond it are windowed. */
  maxHeight?: number;
  selected?: ReadonlySet<string>;
  onSelectedChange?(next: Set<string>): void;
  onOpen?(row: T): void;
  chooser?: boolean;
  csvName?: string;
  initialSort?: { id: string; desc: boolean };
  /** Sorting done by the caller (server-side); headers then report through onSortChange. */
  sort?: { id: string; desc: boolean };
  onSortChange?(sort: { id: string; desc: boolean }): void;
  empty?: ReactNode;
  toolbar?: ReactNode;
  testId?: string;
}

const OVERSCAN = 8;
const SELECT_WIDTH = 44;

/** '180px' is fixed; 'minmax(180px, 2fr)' is at least 180 px and takes 2 shares of the spare width. */
function parseWidth(spec: string | undefined): { base: number; flex: number } {
  const px = spec && /^(\d+)px$/.exec(spec);
  if (px) return { base: Number(px[1]), flex: 0 };
  const mm = spec && /^minmax\((\d+)px,\s*([\d.]+)fr\)$/.exec(spec);
  if (mm) return { base: Number(mm[1]), flex: Number(mm[2]) };
  return { base: 120, flex: 1 };
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null || a === '') return 1;
  if (b === undefined || b === null || b === '') return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return str(a).localeCompare(str(b), undefined, { numeric: true });
}

export function DataTable<T>(props: DataTableProps<T>) {
  const rowHeight = props.rowHeight ?? 36;
  const maxHeight = props.maxHeight ?? 560;
  const [ownSort, setOwnSort] = useState<{ id: string; desc: boolean } | undefined>(props.initialSort);
  const sort = props.sort ?? ownSort;
  const [hidden, setHidden] = useState<Set<string>>(() => new Set(props.columns.filter((c) => c.hidden).map((c) => c.id)));
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState(0);
  const bodyRef = useRef<HTMLDivElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const focusPending = useRef(false);
  const [available, setAvailable] = useState(0);
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    setAvailable(el.clientWidth);
    const observer = new ResizeObserver(() => setAvailable(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const columns = props.columns.filter((c) => !hidden.has(c.id));
  const rows = useMemo(() => {
    if (!sort || props.sort) return props.rows;
    const column = props.columns.find((c) => c.id === sort.id);
    if (!column) return props.rows;
    const key = column.sortValue ?? column.value;
    const sorted = [...props.rows].sort((a, b) => compare(key(a), key(b)));
    return sort.desc ? sorted.reverse() : sorted;
  }, [props.rows, props.columns, sort, props.sort]);

  const total = rows.length;
  const viewHeight = Math.min(maxHeight, Math.max(total, 1) * rowHeight);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scrollTop + viewHeight) / rowHeight) + OVERSCAN);
  const visible = rows.slice(first, last);

  useEffect(() => {
    if (!focusPending.current) return;
    // The row may render only after the scroll below has been applied; keep trying until it is there.
    const row = bodyRef.current?.querySelector<HTMLElement>(`[data-index="${active}"]`);
    if (!row) return;
    focusPending.current = false;
    row.focus({ preventScroll: true });
  });

  const toggleSort = (id: string) => {
    const next = sort?.id === id ? { id, desc: !sort.desc } : { id, desc: false };
    if (props.onSortChange) props.onSortChange(next);
    else setOwnSort(next);
  };

  const selectable = props.selected !== undefined && props.onSelectedChange !== undefined;
  const toggleRow = (key: string) => {
    const next = new Set(props.selected);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    props.onSelectedChange!(next);
  };
  const allSelected = selectable && total > 0 && rows.every((r) => props.selected!.has(props.rowKey(r)));

  const moveTo = (index: number) => {
    const i = Math.max(0, Math.min(total - 1, index));
    setActive(i);
    focusPending.current = true;
    const body = bodyRef.current;
    if (!body) return;
    const top = i * rowHeight;
    let next = body.scrollTop;
    if (top < next) next = top;
    else if (top + rowHeight > next + body.clientHeight) next = top + rowHeight - body.clientHeight;
    body.scrollTop = next;
    setScrollTop(next);
  };

  // Every row is its own grid (rows are positioned absolutely), so widths are resolved here once, in pixels,
  // for the header and all rows alike.
  const specs = columns.map((c) => parseWidth(c.width));
  const fixed = (selectable ? SELECT_WIDTH : 0) + specs.reduce((a, s) => a + s.base, 0);
  const shares = specs.reduce((a, s) => a + s.flex, 0);
  const spare = Math.max(0, available - fixed - 2);
  const widths = specs.map((s) => Math.floor(s.base + (shares ? (spare * s.flex) / shares : 0)));
  const totalWidth = (selectable ? SELECT_WIDTH : 0) + widths.reduce((a, w) => a + w, 0);
  const template = [...(selectable ? [`${SELECT_WIDTH}px`] : []), ...widths.map((w) => `${w}px`)].join(' ');

  const exportCsv = () => {
    download(`${props.csvName ?? 'export'}.csv`, toCsv(columns.map((c) => c.label), rows.map((r) => columns.map((c) => c.value(r)))));
  };

  return (
    <div className="datatable" data-testid={props.testId}>
      <div className="table-toolbar">
        <span className="muted" aria-live="polite">{total.toLocaleString()} {total === 1 ? 'row' : 'rows'}</span>
        {props.toolbar}
        <span className="spacer" />
        {props.chooser ? (
          <details className="chooser">
            <summary>Columns</summary>
            <div className="chooser-menu">
              {props.columns.map((c) => (
                <label key={c.id}>
                  <input
                    type="checkbox" checked={!hidden.has(c.id)}
                    onChange={() => {
                      const next = new Set(hidden);
                      if (next.has(c.id)) next.delete(c.id);
                      else next.add(c.id);
                      setHidden(next);
                    }}
                  />{' '}
                  {c.label}
                </label>
              ))}
            </div>
          </details>
        ) : null}
        {props.csvName ? <button type="button" className="secondary" onClick={exportCsv}>Export CSV</button> : null}
      </div>
      <div className="dt-scroll" ref={scrollRef} role="table" aria-label={props.label} aria-rowcount={total + 1}>
        <div className="dt-row dt-head" role="row" style={{ gridTemplateColumns: template, width: totalWidth }}>
          {selectable ? (
            <div role="columnheader" className="dt-cell">
              <input
                type="checkbox" aria-label="Select all rows" checked={allSelected}
                onChange={() => props.onSelectedChange!(allSelected ? new Set() : new Set(rows.map(props.rowKey)))}
              />
            </div>
          ) : null}
          {columns.map((c) => (
            <div
              key={c.id} role="columnheader" className="dt-cell"
              aria-sort={sort?.id === c.id ? (sort.desc ? 'descending' : 'ascending') : 'none'}
            >
              <button type="button" className="sort" onClick={() => toggleSort(c.id)}>
                {c.label}
                <span aria-hidden="true">{sort?.id === c.id ? (sort.desc ? ' ▼' : ' ▲') : ''}</span>
              </button>
            </div>
          ))}
        </div>
        {total === 0 ? (
          <div className="empty">{props.empty ?? 'Nothing to show.'}</div>
        ) : (
          <div
            className="dt-body" ref={bodyRef} style={{ height: viewHeight, width: totalWidth }} role="rowgroup"
            onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
          >
            <div style={{ height: total * rowHeight, position: 'relative' }}>
              {visible.map((row, offset) => {
                const index = first + offset;
                const key = props.rowKey(row);
                const isSelected = selectable && props.selected!.has(key);
                return (
                  <div
                    key={key} role="row" aria-rowindex={index + 2} data-index={index}
                    className={`dt-row${isSelected ? ' selected' : ''}${props.onOpen ? ' clickable' : ''}`}
                    style={{ gridTemplateColumns: template, top: index * rowHeight, height: rowHeight, width: totalWidth }}
                    tabIndex={index === Math.min(active, total - 1) ? 0 : -1}
                    onFocus={() => setActive(index)}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a, button, input, select, label')) return;
                      props.onOpen?.(row);
                    }}
                    onKeyDown={(e) => {
                      if (e.target !== e.currentTarget) return;
                      if (e.key === 'ArrowDown') { e.preventDefault(); moveTo(index + 1); }
                      else if (e.key === 'ArrowUp') { e.preventDefault(); moveTo(index - 1); }
                      else if (e.key === 'PageDown') { e.preventDefault(); moveTo(index + Math.floor(viewHeight / rowHeight)); }
                      else if (e.key === 'PageUp') { e.preventDefault(); moveTo(index - Math.floor(viewHeight / rowHeight)); }
                      else if (e.key === 'Home') { e.preventDefault(); moveTo(0); }
                      else if (e.key === 'End') { e.preventDefault(); moveTo(total - 1); }
                      else if (e.key === 'Enter' && props.onOpen) { e.preventDefault(); props.onOpen(row); }
                      else if (e.key === ' ' && selectable) { e.preventDefault(); toggleRow(key); }
                    }}
                  >
                    {selectable ? (
                      <div role="cell" className="dt-cell">
                        <input type="checkbox" aria-label="Select row" checked={isSelected} onChange={() => toggleRow(key)} tabIndex={-1} />
                      </div>
                    ) : null}
                    {columns.map((c) => (
                      <div key={c.id} role="cell" className="dt-cell" title={str(c.value(row)).slice(0, 500)}>
                        {c.render ? c.render(row) : str(c.value(row))}
                      </div>
                    ))}
                  </div>
                );
              })}
            </div>
          </div>
        )}
      </div>
    </div>
  );
}
