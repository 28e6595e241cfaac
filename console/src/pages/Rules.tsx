import { useMemo, useRef, useState } from 'react';
import { api, isMissingRoute, listOf, qs } from '../api';
import { RequireRole } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Card, ErrorView, Field, PageHeader, Result, Tabs } from '../components/ui';
import { SEVERITY_ORDER, str, time } from '../format';
import { useAction, useApi } from '../hooks';
import { useSearchParams } from '../router';

interface Rule {
  key?: string; pack?: string; line?: number; mapped?: boolean; tags?: string[];
  id: string; frequency?: string; alert?: { title?: string; severity?: string }; lastRunAt?: string | null; lastRunStatus?: string | null; createdBy?: string; title?: string; name?: string; author?: string; source?: string; kind?: string; type?: string; level?: string; severity?: string;
  unresolvedPlaceholders?: string[];
  status?: string; enabled?: boolean; hits?: number; hitCount?: number; lastHit?: string; references?: string[]; license?: string; query?: string; file?: string;
}
/** Custom detections come from hunting (KQL); everything under /api/v1/rules is Sigma (rules and correlations). */
const isCustom = (r: Rule) => r.source === 'kql';
const ruleKey = (r: Rule) => r.key ?? r.id;
/** A Sigma rule waiting for `|expand` placeholder values cannot be enabled until the server is given them. */
const waiting = (r: Rule) => (r.unresolvedPlaceholders?.length ? `needs ${r.unresolvedPlaceholders.join(', ')}` : '');

export default function Rules() {
  const { data, error, loading, reload } = useApi<Record<string, unknown>>('/api/v1/rules');
  const custom = useApi<unknown>('/api/v1/hunting/rules');
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'sigma';
  const [q, setQ] = useState(params.get('id') ?? '');
  const act = useAction();
  const rules = listOf<Rule>(data, 'rules');
  // Hit counts from the alerts the rules raised (the latest 1,000 alerts), when the rule list does not carry them.
  const alerts = useApi<unknown>(`/api/v1/alerts${qs({ limit: 1000 })}`);
  const hits = useMemo(() => {
    const map = new Map<string, { count: number; last: string }>();
    if (alerts.error) return undefined;
    for (const a of listOf<{ detectorId?: string | null; rule?: { id?: string } | null; createdDateTime?: string; count?: number }>(alerts.data, 'items')) {
      const id = a.rule?.id ?? a.detectorId;
      if (!id) continue;
      const entry = map.get(id) ?? { count: 0, last: '' };
      entry.count += a.count ?? 1;
      if ((a.createdDateTime ?? '') > entry.last) entry.last = a.createdDateTime ?? '';
      map.set(id, entry);
    }
    return map;
  }, [alerts.data, alerts.error]);
  const hitsOf = (r: Rule) => (hits ? hits.get(r.id ?? '') ?? hits.get(r.key ?? '') ?? { count: 0, last: '' } : undefined);
  const customRules = [...rules.filter(isCustom), ...listOf<Rule>(custom.data, 'rules').filter((r) => !rules.some((x) => x.id === r.id)).map((r) => ({ ...r, source: 'kql' }))];
  const list = tab === 'sigma' ? rules.filter((r) => !isCustom(r)) : customRules;
  const rows = useMemo(() => list.filter((r) => !q || [r.id, r.title, r.name, r.author].some((v) => str(v).toLowerCase().includes(q.toLowerCase()))), [list, q]);
  const [imported, setImported] = useState<{ total: number; loaded: number; failed: Record<string, unknown>[]; warnings?: Record<string, unknown>[] } | null>(null);
  const reportItems = [...(imported?.failed ?? []), ...(imported?.warnings ?? [])];
  const importAct = useAction();
  const fileInput = useRef<HTMLInputElement>(null);
  const importFiles = (files: FileList) => importAct.run(async () => {
    const sources = await Promise.all([...files].map(async (f) => ({ path: f.name, text: await f.text() })));
    const report = await api.post<{ total: number; loaded: number; failed: Record<string, unknown>[]; warnings?: Record<string, unknown>[] }>('/api/v1/rules/import', { files: sources });
    setImported(report);
    setParams({ tab: 'report' });
    reload();
  });
  const toggle = (r: Rule) => act.run(async () => {
    if (isCustom(r) && !rules.some((x) => x.id === r.id)) {
      // Custom detections are replaced whole (PUT /api/v1/hunting/rules/:id).
      const { id: _id, createdBy: _c, lastRunAt: _l, lastRunStatus: _s, source: _src, ...input } = r as Rule & Record<string, unknown>;
      for (const k of ['createdAt', 'updatedAt', 'nextRunAt']) delete (input as Record<string, unknown>)[k];
      await api.put(`/api/v1/hunting/rules/${encodeURIComponent(r.id)}`, { ...input, enabled: !(r.enabled ?? true) });
    } else {
      await api.patch(`/api/v1/rules/${encodeURIComponent(ruleKey(r))}`, { enabled: !(r.enabled ?? true) });
    }
    reload();
    custom.reload();
  }, `${r.title ?? r.name ?? r.id} ${(r.enabled ?? true) ? 'disabled' : 'enabled'}.`);
  const columns: Column<Rule>[] = [
    { id: 'title', label: 'Rule', width: 'minmax(220px, 3fr)', value: (r) => r.title ?? r.name ?? r.id },
    { id: 'level', label: 'Severity', width: '120px', value: (r) => r.level ?? r.severity ?? r.alert?.severity ?? '', sortValue: (r) => SEVERITY_ORDER[r.level ?? r.severity ?? r.alert?.severity ?? ''] ?? 0, render: (r) => <Badge value={r.level ?? r.severity ?? r.alert?.severity} kind="severity" /> },
    { id: 'author', label: tab === 'sigma' ? 'Author' : 'Created by', width: '150px', value: (r) => r.author ?? r.createdBy ?? '' },
    ...(tab === 'sigma' ? [] : [
      { id: 'frequency', label: 'Runs', width: '110px', value: (r: Rule) => r.frequency ?? '' },
      { id: 'lastRun', label: 'Last run', width: 'minmax(140px, 1fr)', value: (r: Rule) => [time(r.lastRunAt), r.lastRunStatus].filter(Boolean).join(' · ') },
    ]),
    { id: 'enabled', label: 'State', width: '110px', value: (r) => waiting(r) || ((r.enabled ?? true) ? 'enabled' : 'disabled'), render: (r) => <span title={waiting(r) || undefined}><Badge value={(r.enabled ?? true) ? 'enabled' : 'disabled'} kind="state" /></span> },
    { id: 'hits', label: 'Hits', width: '90px', value: (r) => r.hits ?? r.hitCount ?? hitsOf(r)?.count ?? '', render: (r) => String(r.hits ?? r.hitCount ?? hitsOf(r)?.count ?? '—') },
    { id: 'lastHit', label: 'Last hit', width: '170px', value: (r) => r.lastHit ?? hitsOf(r)?.last ?? '', render: (r) => time(r.lastHit ?? hitsOf(r)?.last), hidden: tab !== 'sigma' },
    { id: 'status', label: 'Status', width: '110px', value: (r) => r.status ?? '', hidden: true },
    ...(tab === 'sigma' ? [
      { id: 'kind', label: 'Kind', width: '110px', value: (r: Rule) => r.kind ?? '', hidden: true },
      { id: 'pack', label: 'Pack', width: '100px', value: (r: Rule) => r.pack ?? '' },
      { id: 'file', label: 'File', width: 'minmax(160px, 1fr)', value: (r: Rule) => (r.file ? `${r.file}${r.line ? `:${r.line}` : ''}` : ''), hidden: true },
      { id: 'mapped', label: 'Can fire', width: '90px', value: (r: Rule) => (r.mapped === false ? 'no (unmapped logsource)' : 'yes'), hidden: true },
    ] : []),
    { id: 'id', label: 'Id', width: '280px', value: (r) => r.id ?? r.key ?? '', hidden: true },
    { id: 'license', label: 'License', width: '120px', value: (r) => r.license ?? '', hidden: true },
  ];
  const withToggle: Column<Rule>[] = [...columns, {
    id: 'toggle', label: '', width: '110px', value: () => '',
    render: (r) => (waiting(r)
      ? <span className="muted" title={`This rule ${waiting(r)}: give the server these placeholder values (--sigma-placeholders) to enable it.`}>Needs values</span>
      : <RequireRole role={isCustom(r) ? 'analyst' : 'admin'}><button type="button" disabled={act.pending} onClick={() => toggle(r)}>{(r.enabled ?? true) ? 'Disable' : 'Enable'}</button></RequireRole>),
  }];
  return (
    <div>
      <PageHeader title="Rules" sub="Sigma rules and custom detections">
        <RequireRole role="admin">
          <input ref={fileInput} type="file" accept=".yml,.yaml" multiple hidden aria-label="Sigma rule files" onChange={(e) => { if (e.target.files?.length) void importFiles(e.target.files); e.target.value = ''; }} />
          <button type="button" disabled={importAct.pending} onClick={() => fileInput.current?.click()}>{importAct.pending ? 'Importing…' : 'Import Sigma rules…'}</button>
        </RequireRole>
        <button type="button" className="secondary" onClick={() => { reload(); custom.reload(); }} disabled={loading}>Refresh</button>
      </PageHeader>
      <ErrorView error={importAct.error} what="Import" />
      <Tabs value={tab} onChange={(t) => setParams({ tab: t === 'sigma' ? undefined : t })} tabs={[
        { id: 'sigma', label: `Sigma (${rules.filter((r) => !isCustom(r)).length})` }, { id: 'custom', label: `Custom detections (${customRules.length})` }, { id: 'report', label: `Import report (${reportItems.length})` },
      ]} />
      <ErrorView error={error} what="Loading rules" />
      {tab === 'custom' && custom.error && !customRules.length ? <ErrorView error={custom.error} what="Loading custom detections" /> : null}
      <Result error={act.error} done={act.done} what="Rule change" />
      {isMissingRoute(error) && customRules.length === 0 ? null : tab !== 'report' ? (
        <>
          <div className="filters card" role="search" aria-label="Filter rules"><Field label="Search">{(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} />}</Field></div>
          <DataTable key={tab} label="Rules" rows={rows} columns={withToggle} rowKey={(r) => `${r.source ?? 'sigma'}:${ruleKey(r)}`} chooser csvName="rules" initialSort={{ id: 'hits', desc: true }} empty={loading ? 'Loading…' : 'No rules.'} />
        </>
      ) : (
        <Card title="Import report">
          {imported ? <p>{imported.loaded} of {imported.total} rules loaded; {imported.failed.length} failed; {imported.warnings?.length ?? 0} warnings.</p> : null}
          {reportItems.length === 0 ? <div className="empty">{imported ? 'Every rule loaded.' : 'Import Sigma rule files to see what loaded and what failed, with file and line.'}</div> : (
            <ul>{reportItems.map((r, i) => <li key={i}><strong>{str(r.file ?? r.rule ?? r.id)}</strong>{r.line !== undefined ? `:${str(r.line)}` : ''} — {str(r.reason ?? r.message ?? r.error)}</li>)}</ul>
          )}
        </Card>
      )}
    </div>
  );
}
