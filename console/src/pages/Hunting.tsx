import { useMemo, useState } from 'react';
import { api, ApiError } from '../api';
import { RequireRole } from '../auth';
import { RenderedChart } from '../components/Charts';
import { DataTable, type Column } from '../components/DataTable';
import { KqlEditor } from '../components/KqlEditor';
import { SCHEMA, TABLE_NAMES } from '../kql-schema';
import { Card, Dialog, ErrorView, Field, PageHeader, Result } from '../components/ui';
import { str } from '../format';
import { useAction, useStored } from '../hooks';
import { useSearchParams } from '../router';

interface HuntResult {
  columns: (string | { name: string; type?: string })[];
  rows: unknown[][];
  truncated?: boolean;
  stats?: { elapsedMs?: number; rowsReturned?: number; tables?: string[] };
  render?: { chart: string; properties?: Record<string, unknown> } | null;
}
interface Row { i: number; r: unknown[] }
interface Saved { name: string; query: string; savedAt: string }

const EXAMPLE = `DeviceProcessEvents
| where Timestamp > ago(7d)
| summarize Processes = count() by bin(Timestamp, 1h)
| render timechart`;

export default function Hunting() {
  const [params] = useSearchParams();
  const [query, setQuery] = useState(() => params.get('q') ?? EXAMPLE);
  const [result, setResult] = useState<HuntResult | null>(null);
  const [ranQuery, setRanQuery] = useState('');
  const run = useAction();
  const [saved, setSaved] = useStored<Saved[]>('vigil.savedQueries', []);
  const [saveName, setSaveName] = useState('');
  const [ruleDialog, setRuleDialog] = useState(false);

  const execute = () => run.run(async () => {
    const r = await api.post<HuntResult>('/api/v1/hunt', { query });
    setResult(r);
    setRanQuery(query);
  });

  const columns = useMemo<Column<Row>[]>(() => (result?.columns ?? []).map((c, i) => {
    const name = typeof c === 'string' ? c : c.name;
    return { id: `${i}:${name}`, label: name, width: i === 0 ? '200px' : 'minmax(140px, 1fr)', value: (row: Row) => row.r[i] };
  }), [result]);
  const rows = useMemo<Row[]>(() => (result?.rows ?? []).map((r, i) => ({ i, r })), [result]);
  const names = (result?.columns ?? []).map((c) => (typeof c === 'string' ? c : c.name));
  const position = run.error instanceof ApiError && (run.error.detail.line !== undefined) ? ` (line ${str(run.error.detail.line)}, column ${str(run.error.detail.column)})` : '';

  return (
    <div>
      <PageHeader title="Advanced hunting" sub="KQL over the Defender advanced-hunting schema. Ctrl+Enter runs; Ctrl+Space completes." />
      <div className="hunt-layout">
        <div>
          <Card>
            <KqlEditor value={query} onChange={setQuery} onRun={() => void execute()} label="KQL query" />
            <div className="page-actions" style={{ marginTop: 10 }}>
              <button type="button" className="primary" onClick={() => void execute()} disabled={run.pending || !query.trim()}>{run.pending ? 'Running…' : 'Run query'}</button>
              <input aria-label="Name to save the query as" placeholder="Query name" value={saveName} onChange={(e) => setSaveName(e.target.value)} />
              <button type="button" disabled={!saveName.trim()} onClick={() => {
                setSaved([{ name: saveName.trim(), query, savedAt: new Date().toISOString() }, ...saved.filter((s) => s.name !== saveName.trim())]);
                setSaveName('');
              }}>Save query</button>
              <RequireRole role="analyst"><button type="button" onClick={() => setRuleDialog(true)} disabled={!query.trim()}>Create detection rule</button></RequireRole>
            </div>
            {run.error ? <ErrorView error={position ? new ApiError((run.error as ApiError).status, (run.error as ApiError).code, run.error.message + position, 'POST', '/api/v1/hunt') : run.error} what="The query" /> : null}
          </Card>
          {result ? (
            <>
              {result.render ? <Card title={`Chart (${result.render.chart})`}><RenderedChart chart={result.render.chart} columns={names} rows={result.rows} /></Card> : null}
              <Card title="Results">
                <p className="muted" data-testid="hunt-stats">
                  {result.rows.length.toLocaleString()} rows{result.truncated ? ' (truncated: narrow the query to see everything)' : ''}
                  {result.stats?.elapsedMs !== undefined ? ` · ${result.stats.elapsedMs} ms` : ''}
                  {result.stats?.tables?.length ? ` · ${result.stats.tables.join(', ')}` : ''}
                </p>
                <DataTable label="Query results" testId="hunt-results" rows={rows} columns={columns} rowKey={(r) => String(r.i)} chooser csvName="hunting-results" />
              </Card>
            </>
          ) : null}
        </div>
        <Card title="Saved queries">
          {saved.length === 0 ? <div className="empty">Saved queries are kept in this browser.</div> : null}
          <ul className="saved">
            {saved.map((s) => (
              <li key={s.name}>
                <button type="button" className="link" onClick={() => setQuery(s.query)} title={s.query}>{s.name}</button>
                <button type="button" className="ghost" aria-label={`Delete saved query ${s.name}`} onClick={() => setSaved(saved.filter((x) => x.name !== s.name))}>✕</button>
              </li>
            ))}
          </ul>
          <h3>Schema</h3>
          <SchemaBrowser onInsert={(t) => setQuery(query ? `${query}${t}` : t)} />
        </Card>
      </div>
      {ruleDialog ? <CreateRuleDialog query={ranQuery || query} columns={ranQuery === query ? names : []} onClose={() => setRuleDialog(false)} /> : null}
    </div>
  );
}

function SchemaBrowser({ onInsert }: { onInsert(text: string): void }) {
  return (
    <div>
      {TABLE_NAMES.map((t) => (
        <details key={t}>
          <summary>{t}</summary>
          <ul className="saved">
            {SCHEMA.get(t)!.map((c) => (
              <li key={c.name}><button type="button" className="link" onClick={() => onInsert(c.name)}>{c.name}</button><span className="muted">{c.type}</span></li>
            ))}
          </ul>
        </details>
      ))}
    </div>
  );
}

/** Result columns that usually carry each entity, first match wins. */
const ENTITY_COLUMNS: Record<string, string[]> = {
  device: ['DeviceId'], user: ['AccountUpn', 'InitiatingProcessAccountUpn', 'AccountName', 'InitiatingProcessAccountName'],
  file: ['SHA256', 'SHA1', 'MD5'], ip: ['RemoteIP', 'IPAddress', 'LocalIP'], url: ['RemoteUrl', 'Url'], mailbox: ['RecipientEmailAddress'],
};

function CreateRuleDialog({ query, columns, onClose }: { query: string; columns: string[]; onClose(): void }) {
  const [name, setName] = useState('');
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('medium');
  const [category, setCategory] = useState('SuspiciousActivity');
  const [frequency, setFrequency] = useState('1h');
  const [description, setDescription] = useState('');
  const [entities, setEntities] = useState<Record<string, string>>(() => Object.fromEntries(
    Object.entries(ENTITY_COLUMNS).map(([kind, cands]) => [kind, cands.find((c) => columns.includes(c)) ?? '']).filter(([, c]) => c),
  ));
  const act = useAction();
  return (
    <Dialog title="Create detection rule" onClose={onClose}>
      <p className="muted">The query runs on a schedule; every row it returns raises an alert.</p>
      <pre className="cmdline">{query}</pre>
      <Field label="Rule name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field label="Alert title" hint="May use {{Column}} from the result row">{(id) => <input id={id} value={title} onChange={(e) => setTitle(e.target.value)} />}</Field>
      <Field label="Description">{(id) => <textarea id={id} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <div className="row">
        <Field label="Severity">{(id) => <select id={id} value={severity} onChange={(e) => setSeverity(e.target.value)}>{['informational', 'low', 'medium', 'high'].map((s) => <option key={s}>{s}</option>)}</select>}</Field>
        <Field label="Category">{(id) => <input id={id} value={category} onChange={(e) => setCategory(e.target.value)} />}</Field>
        <Field label="Runs">{(id) => <select id={id} value={frequency} onChange={(e) => setFrequency(e.target.value)}>{[['continuous', 'Continuously (new rows)'], ['1h', 'Every hour'], ['3h', 'Every 3 hours'], ['12h', 'Every 12 hours'], ['24h', 'Every 24 hours']].map(([v, l]) => <option key={v} value={v}>{l}</option>)}</select>}</Field>
      </div>
      <h3>Entities</h3>
      <div className="row">
        {Object.keys(ENTITY_COLUMNS).map((kind) => (
          <Field key={kind} label={`${kind} column`}>{(id) => (
            <input id={id} list="rule-columns" value={entities[kind] ?? ''} onChange={(e) => setEntities({ ...entities, [kind]: e.target.value })} size={14} />
          )}</Field>
        ))}
        <datalist id="rule-columns">{columns.map((c) => <option key={c} value={c} />)}</datalist>
      </div>
      <Result error={act.error} done={act.done} what="Creating the rule" />
      <button type="button" className="primary" disabled={act.pending || !title.trim() || !name.trim()} onClick={() => act.run(async () => {
        const mapped = Object.fromEntries(Object.entries(entities).filter(([, c]) => c.trim()));
        await api.post('/api/v1/hunting/rules', { name, query, frequency, alert: { title, description, severity, category }, entities: mapped });
      }, 'Detection rule created; it is listed under Rules → Custom detections.')}>Create rule</button>
    </Dialog>
  );
}
