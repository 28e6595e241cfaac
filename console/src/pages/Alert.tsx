import { useMemo } from 'react';
import { api } from '../api';
import { RequireRole } from '../auth';
import { Card, Badge, ErrorView, KeyValues, Loading, PageHeader, Result } from '../components/ui';
import { DataTable, type Column } from '../components/DataTable';
import { ProcessTree } from '../components/ProcessTree';
import { str, time, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import type { Alert as AlertModel, EventRef } from '../model';
import { Link, navigate } from '../router';
import { EntityLink } from './Incident';

/** A KQL query for the telemetry around an alert: same device, an hour either side, or the same file anywhere. */
export function relatedQuery(alert: AlertModel): string {
  const first = Date.parse(alert.firstActivityDateTime ?? alert.createdDateTime ?? '') || Date.now();
  const last = Date.parse(alert.lastActivityDateTime ?? '') || first;
  const from = new Date(first - 3600_000).toISOString();
  const to = new Date(last + 3600_000).toISOString();
  const device = (alert.evidence ?? []).find((e) => e.kind === 'device');
  const file = (alert.evidence ?? []).find((e) => e.kind === 'file' && /^[0-9a-f]{64}$/.test(e.key));
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const table = alert.events?.[0]?.table ?? 'DeviceProcessEvents';
  if (file) {
    return `union DeviceProcessEvents, DeviceFileEvents, DeviceEvents\n| where SHA256 == ${quote(file.key)}\n| project Timestamp, DeviceName, ActionType, FileName, FolderPath, SHA256, InitiatingProcessFileName\n| order by Timestamp asc\n| take 1000`;
  }
  const where = device ? `\n| where DeviceId == ${quote(device.key)}` : '';
  return `${table}\n| where Timestamp between (datetime(${from}) .. datetime(${to}))${where}\n| order by Timestamp asc\n| take 1000`;
}

export default function Alert({ params }: { params: Record<string, string> }) {
  const { data: alert, error, loading, reload } = useApi<AlertModel>(`/api/v1/alerts/${encodeURIComponent(params.id)}`);
  const act = useAction();
  const setStatus = (status: string) => act.run(async () => {
    await api.patch(`/api/v1/alerts/${encodeURIComponent(params.id)}`, { status });
    reload();
  }, `Alert ${status === 'resolved' ? 'resolved' : status === 'new' ? 'reopened' : 'in progress'}.`);
  const events = alert?.events ?? [];
  const eventColumns = useMemo<Column<EventRef>[]>(() => {
    const names = new Set<string>();
    for (const e of events) for (const k of Object.keys(e.row ?? {})) names.add(k);
    const preferred = ['Timestamp', 'DeviceName', 'ActionType', 'FileName', 'ProcessCommandLine', 'InitiatingProcessFileName', 'RemoteIP', 'RemoteUrl', 'AccountName'];
    const order = [...preferred.filter((n) => names.has(n)), ...[...names].filter((n) => !preferred.includes(n))];
    return [
      { id: '_table', label: 'Table', width: '170px', value: (e) => e.table },
      ...order.map((n, i) => ({ id: n, label: n, width: n === 'ProcessCommandLine' ? 'minmax(280px, 3fr)' : '170px', value: (e: EventRef) => e.row?.[n], hidden: i >= 8 })),
    ];
  }, [events]);
  if (loading && !alert) return <Loading />;
  if (error || !alert) return <><PageHeader title="Alert" /><ErrorView error={error ?? new Error('alert not found')} what="Loading the alert" /></>;
  const rule = alert.rule;
  return (
    <div>
      <PageHeader title={alert.title} sub={<><Badge value={alert.severity} kind="severity" /><Badge value={alert.status} kind="status" /><span>Alert {alert.id}</span></>}>
        {alert.incidentId ? <Link to={`/incidents/${encodeURIComponent(alert.incidentId)}`}>← Incident</Link> : null}
        <button type="button" className="primary" onClick={() => navigate(`/hunting?q=${encodeURIComponent(relatedQuery(alert))}`)}>Hunt for related events</button>
      </PageHeader>
      <RequireRole role="analyst">
        <div className="card page-actions" role="group" aria-label="Alert status">
          {alert.status !== 'resolved'
            ? <button type="button" disabled={act.pending} onClick={() => setStatus('resolved')}>Resolve alert</button>
            : <button type="button" disabled={act.pending} onClick={() => setStatus('new')}>Reopen alert</button>}
          {alert.status === 'new' ? <button type="button" disabled={act.pending} onClick={() => setStatus('inProgress')}>Mark in progress</button> : null}
          <Result error={act.error} done={act.done} what="Alert update" />
        </div>
      </RequireRole>
      <div className="grid-2">
        <Card title="Details">
          {alert.description ? <p className="pre">{alert.description}</p> : null}
          <KeyValues items={[
            ['Category', alert.category ?? ''], ['Detection source', alert.detectionSource ?? ''], ['Service source', alert.serviceSource ?? ''],
            ['MITRE techniques', (alert.mitreTechniques ?? []).join(', ')], ['Tactics', (alert.tactics ?? []).map(titleCase).join(', ')],
            ['First activity', time(alert.firstActivityDateTime)], ['Last activity', time(alert.lastActivityDateTime)],
            ['Assigned to', alert.assignedTo ?? ''], ['Classification', alert.classification && alert.classification !== 'unknown' ? titleCase(alert.classification) : ''],
            ['Occurrences', String(alert.count ?? 1)],
          ]} />
        </Card>
        <Card title="Rule">
          {rule ? (
            <KeyValues items={[
              ['Title', rule.title], ['Author', <span data-testid="rule-author">{rule.author ?? 'not stated by the rule'}</span>],
              ['Source', rule.source ?? ''], ['Rule id', rule.id], ['License', rule.license ?? ''],
              ['References', (rule.references ?? []).length ? (
                <ul>{(rule.references ?? []).map((r) => <li key={r}>{/^https?:\/\//i.test(r) ? <a href={r} target="_blank" rel="noopener noreferrer">{r}</a> : r}</li>)}</ul>
              ) : ''],
              ['Rule page', <Link to={`/rules?id=${encodeURIComponent(rule.id)}`}>Open in Rules</Link>],
            ]} />
          ) : <div className="empty">No rule recorded for this alert ({alert.detectionSource ?? 'unknown source'}).</div>}
        </Card>
      </div>
      <Card title="Process tree"><ProcessTree rows={events.map((e) => e.row ?? {})} /></Card>
      <Card title={`Matched events (${events.length})`}>
        <DataTable label="Matched events" rows={events} columns={eventColumns} rowKey={(e) => `${e.table}|${e.sensorId}|${str(e.reportId)}`} chooser csvName="alert-events" maxHeight={360} />
      </Card>
      <Card title="Evidence">
        <ul>
          {(alert.evidence ?? []).map((e) => (
            <li key={`${e.kind}:${e.key}`}><strong>{e.kind}</strong> {e.label} <span className="muted">{e.key !== e.label ? e.key : ''} {e.role ? `(${e.role})` : ''}</span> <EntityLink kind={e.kind} id={e.key} /></li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
