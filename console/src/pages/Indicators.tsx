import { useMemo, useRef, useState } from 'react';
import { api, ApiError, listOf, qs, RawBody } from '../api';
import { RequireRole } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, ConfirmButton, Dialog, ErrorView, Field, PageHeader, Result } from '../components/ui';
import { download, SEVERITY_ORDER, time, toCsv, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import type { Indicator } from '../model';

const TYPES = ['sha256', 'sha1', 'md5', 'ipv4', 'ipv6', 'cidr', 'domain', 'url', 'cert'];
const ACTIONS: Record<string, string[]> = {
  sha256: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'], sha1: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'],
  md5: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'], ipv4: ['allow', 'audit', 'warn', 'block'], ipv6: ['allow', 'audit', 'warn', 'block'],
  cidr: ['allow', 'audit', 'warn', 'block'], domain: ['allow', 'audit', 'warn', 'block'], url: ['allow', 'audit', 'warn', 'block'], cert: ['allow', 'block_and_remediate'],
};
const EXPORT_COLUMNS = ['type', 'value', 'action', 'title', 'description', 'severity', 'expiresAt', 'generateAlert', 'source'] as const;

export default function Indicators() {
  const [q, setQ] = useState('');
  const [showExpired, setShowExpired] = useState(false);
  const { data, error, loading, reload } = useApi<unknown>(`/api/v1/indicators${qs({ limit: 1000, includeExpired: showExpired || undefined })}`);
  useLive(['indicator.changed'], reload);
  const [editing, setEditing] = useState<Indicator | 'new' | null>(null);
  const del = useAction();
  const all = listOf<Indicator>(data, 'indicators');
  const rows = useMemo(() => all.filter((i) => (showExpired || (i.state ?? 'active') === 'active')
    && (!q || `${i.value} ${i.title} ${i.type}`.toLowerCase().includes(q.toLowerCase()))), [all, q, showExpired]);
  const columns: Column<Indicator>[] = [
    { id: 'value', label: 'Value', width: 'minmax(200px, 3fr)', value: (i) => i.value, render: (i) => <span className="mono">{i.value}</span> },
    { id: 'type', label: 'Type', width: '90px', value: (i) => i.type },
    { id: 'action', label: 'Action', width: '160px', value: (i) => i.action, render: (i) => <Badge value={i.action} kind="state" /> },
    { id: 'title', label: 'Title', width: 'minmax(150px, 2fr)', value: (i) => i.title },
    { id: 'severity', label: 'Severity', width: '120px', value: (i) => i.severity ?? '', sortValue: (i) => SEVERITY_ORDER[i.severity ?? ''] ?? 0, render: (i) => <Badge value={i.severity} kind="severity" /> },
    { id: 'expires', label: 'Expires', width: '170px', value: (i) => i.expiresAt ?? '', render: (i) => i.expiresAt ? time(i.expiresAt) : <span className="muted">never</span> },
    { id: 'state', label: 'State', width: '100px', value: (i) => i.state ?? 'active', render: (i) => <Badge value={i.state ?? 'active'} kind="state" /> },
    { id: 'source', label: 'Source', width: '120px', value: (i) => i.source ?? '', hidden: true },
    { id: 'createdBy', label: 'Created by', width: '140px', value: (i) => i.createdBy ?? '', hidden: true },
  ];
  return (
    <div>
      <PageHeader title="Indicators" sub="Hashes, addresses, domains, URLs and certificates: blocked, warned or allowed on every sensor">
        <RequireRole role="analyst">
          <button type="button" className="primary" onClick={() => setEditing('new')}>Add indicator</button>
          <ImportButton onDone={reload} />
        </RequireRole>
        <button type="button" className="secondary" onClick={() => download('indicators.csv', toCsv(EXPORT_COLUMNS, rows.map((i) => EXPORT_COLUMNS.map((c) => i[c]))))}>Export CSV</button>
      </PageHeader>
      <div className="filters card" role="search" aria-label="Filter indicators">
        <Field label="Search">{(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} />}</Field>
        <label><input type="checkbox" checked={showExpired} onChange={(e) => setShowExpired(e.target.checked)} /> Show expired and deleted</label>
      </div>
      <ErrorView error={error} what="Loading indicators" />
      <Result error={del.error} done={del.done} what="Delete" />
      <DataTable
        label="Indicators" testId="indicators-table" rows={rows} columns={[...columns, {
          id: 'edit', label: '', width: '160px', value: () => '',
          render: (i) => (
            <RequireRole role="analyst">
              <span className="confirm">
                <button type="button" onClick={() => setEditing(i)} aria-label={`Edit ${i.value}`}>Edit</button>
                <ConfirmButton label="Delete" confirm="Sure?" onConfirm={() => void del.run(async () => { await api.del(`/api/v1/indicators/${encodeURIComponent(i.id)}`); reload(); }, 'Indicator deleted.')} />
              </span>
            </RequireRole>
          ),
        }]}
        rowKey={(i) => i.id} chooser initialSort={{ id: 'severity', desc: true }} empty={loading ? 'Loading…' : 'No indicators.'}
      />
      {editing ? <IndicatorForm indicator={editing === 'new' ? null : editing} onClose={() => setEditing(null)} onSaved={() => { setEditing(null); reload(); }} /> : null}
    </div>
  );
}

function IndicatorForm({ indicator, onClose, onSaved }: { indicator: Indicator | null; onClose(): void; onSaved(): void }) {
  const [type, setType] = useState(indicator?.type ?? 'sha256');
  const [value, setValue] = useState(indicator?.value ?? '');
  const [action, setAction] = useState(indicator?.action ?? 'block');
  const [title, setTitle] = useState(indicator?.title ?? '');
  const [description, setDescription] = useState(indicator?.description ?? '');
  const [severity, setSeverity] = useState(indicator?.severity ?? 'medium');
  const [expiresAt, setExpiresAt] = useState(indicator?.expiresAt ? indicator.expiresAt.slice(0, 16) : '');
  const [generateAlert, setGenerateAlert] = useState(indicator?.generateAlert ?? true);
  const act = useAction();
  const save = () => act.run(async () => {
    const body = {
      type, value: value.trim(), action, title, description, severity, generateAlert,
      expiresAt: expiresAt ? new Date(`${expiresAt}:00Z`).toISOString() : null,
    };
    if (indicator) await api.patch(`/api/v1/indicators/${encodeURIComponent(indicator.id)}`, body);
    else await api.post('/api/v1/indicators', body);
    onSaved();
  });
  const field = act.error instanceof ApiError ? act.error.detail.field : undefined;
  return (
    <Dialog title={indicator ? 'Edit indicator' : 'Add indicator'} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void save(); }} aria-label="Indicator">
        <div className="row">
          <Field label="Type">{(id) => <select id={id} value={type} onChange={(e) => { setType(e.target.value); if (!ACTIONS[e.target.value].includes(action)) setAction(ACTIONS[e.target.value][0]); }}>{TYPES.map((t) => <option key={t} value={t}>{t}</option>)}</select>}</Field>
          <Field label="Action">{(id) => <select id={id} value={action} onChange={(e) => setAction(e.target.value)}>{ACTIONS[type].map((a) => <option key={a} value={a}>{titleCase(a)}</option>)}</select>}</Field>
        </div>
        <Field label="Value">{(id) => <input id={id} value={value} onChange={(e) => setValue(e.target.value)} required aria-invalid={field === 'value' || undefined} />}</Field>
        <Field label="Title">{(id) => <input id={id} value={title} onChange={(e) => setTitle(e.target.value)} required aria-invalid={field === 'title' || undefined} />}</Field>
        <Field label="Description">{(id) => <textarea id={id} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
        <div className="row">
          <Field label="Severity">{(id) => <select id={id} value={severity} onChange={(e) => setSeverity(e.target.value)}>{['informational', 'low', 'medium', 'high'].map((s) => <option key={s} value={s}>{titleCase(s)}</option>)}</select>}</Field>
          <Field label="Expires (UTC)" hint="Empty: never">{(id) => <input id={id} type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />}</Field>
        </div>
        <label><input type="checkbox" checked={generateAlert} onChange={(e) => setGenerateAlert(e.target.checked)} /> Generate an alert when it matches</label>
        <div data-testid="indicator-error"><Result error={act.error} done={null} what={indicator ? 'Saving the indicator' : 'Creating the indicator'} /></div>
        <div className="page-actions" style={{ marginTop: 10 }}>
          <button type="submit" className="primary" disabled={act.pending}>{indicator ? 'Save' : 'Create'}</button>
          <button type="button" className="ghost" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function ImportButton({ onDone }: { onDone(): void }) {
  const input = useRef<HTMLInputElement>(null);
  const act = useAction();
  const [report, setReport] = useState<string | null>(null);
  return (
    <>
      <input
        ref={input} type="file" accept=".csv,.json,text/csv,application/json" hidden aria-label="Indicator file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          void act.run(async () => {
            const text = await file.text();
            const isJson = file.name.endsWith('.json') || /^\s*[[{]/.test(text);
            let body: unknown = new RawBody(text, 'text/csv');
            if (isJson) {
              try { body = JSON.parse(text); } catch { throw new Error(`${file.name} is not valid JSON`); }
            }
            const result = await api.post<Record<string, unknown>>('/api/v1/indicators/import', body);
            const imported = Number(result?.created ?? 0) + Number(result?.updated ?? 0);
            const rejected = Array.isArray(result?.rejected) ? result.rejected as { index?: number; line?: number; message?: string; error?: string }[] : [];
            setReport(`${imported} imported, ${rejected.length} rejected${rejected.length ? `: ${rejected.slice(0, 5).map((r) => `${r.line !== undefined ? `line ${r.line}` : `#${r.index}`} ${r.message ?? r.error}`).join('; ')}` : ''}.`);
            onDone();
          });
        }}
      />
      <button type="button" onClick={() => input.current?.click()} disabled={act.pending}>Import…</button>
      {act.error ? <div style={{ flexBasis: '100%' }}><ErrorView error={act.error} what="Import" /></div> : null}
      {report ? <div className="notice ok" role="status" style={{ flexBasis: '100%' }}>{report}</div> : null}
    </>
  );
}
