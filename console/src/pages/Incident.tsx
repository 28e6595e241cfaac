import { useMemo, useState } from 'react';
import { api, ApiError, listOf, qs } from '../api';
import { RequireRole, useAuth } from '../auth';
import { ActionsTable } from '../components/ActionsPanel';
import { DataTable, type Column } from '../components/DataTable';
import { AttackGraph } from '../components/Graph';
import { Badge, Card, ErrorView, Field, KeyValues, Loading, PageHeader, Result, Tabs } from '../components/ui';
import { SEVERITY_ORDER, str, time, titleCase } from '../format';
import { storyGraph } from '../graph-model';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import { CLASSIFICATIONS, DETERMINATIONS, INCIDENT_STATUSES, TACTIC_ORDER, type ActionRecord, type Alert, type Evidence, type IncidentDetail } from '../model';
import { Link, navigate, useSearchParams } from '../router';

export default function Incident({ params }: { params: Record<string, string> }) {
  const id = params.id;
  const { data: incident, error, loading, reload } = useApi<IncidentDetail>(`/api/v1/incidents/${encodeURIComponent(id)}`);
  const actions = useApi<unknown>(`/api/v1/actions${qs({ limit: 1000 })}`);
  const investigations = useApi<unknown>(`/api/v1/investigations${qs({ incidentId: id })}`);
  useLive(['incident.updated', 'alert.raised', 'alert.updated', 'action.changed'], (e) => {
    if (e.type === 'action.changed') { actions.reload(); investigations.reload(); }
    else reload();
  });
  const [search, setSearch] = useSearchParams();
  const tab = search.get('tab') ?? 'story';

  if (loading && !incident) return <Loading />;
  if (error || !incident) return <><PageHeader title="Incident" /><ErrorView error={error ?? new Error('incident not found')} what="Loading the incident" /></>;

  const alerts = incident.alerts ?? [];
  const alertIds = new Set(alerts.map((a) => a.id));
  const entityKeys = new Set((incident.entities ?? []).map((e) => e.key));
  const invs = listOf<Investigation>(investigations.data, 'investigations');
  const byId = new Map<string, ActionRecord>();
  for (const a of invs.flatMap((i) => i.actions ?? [])) byId.set(a.id, a);
  // The action list is fresher than an investigation's copy; it wins.
  for (const a of listOf<ActionRecord>(actions.data, 'actions')) {
    if (byId.has(a.id) || (a.alertIds ?? []).some((x) => alertIds.has(x)) || entityKeys.has(a.target)) byId.set(a.id, a);
  }
  const related = [...byId.values()];
  const pending = related.filter((a) => a.state === 'pendingApproval' || a.state === 'proposed');
  const tactics = [...new Set(alerts.flatMap((a) => a.tactics ?? (a.category ? [a.category] : [])))]
    .sort((a, b) => TACTIC_ORDER.indexOf(norm(a)) - TACTIC_ORDER.indexOf(norm(b)));
  const techniques = [...new Set(alerts.flatMap((a) => a.mitreTechniques ?? []))];

  return (
    <div>
      <PageHeader
        title={incident.displayName || incident.id}
        sub={<><Badge value={incident.severity} kind="severity" /><Badge value={incident.status} kind="status" /><span>Incident {incident.id}</span></>}
      >
        <Link to="/incidents">← Queue</Link>
      </PageHeader>
      {incident.redirectIncidentId ? <div className="notice">Merged into <Link to={`/incidents/${encodeURIComponent(incident.redirectIncidentId)}`}>{incident.redirectIncidentId}</Link>.</div> : null}
      <Card title="Summary">
        <KeyValues items={[
          ['Severity', <Badge value={incident.severity} kind="severity" />],
          ['Status', <Badge value={incident.status} kind="status" />],
          ['Assigned to', incident.assignedTo ?? 'Unassigned'],
          ['Classification', incident.classification && incident.classification !== 'unknown' ? `${titleCase(incident.classification)}${incident.determination && incident.determination !== 'unknown' ? ` — ${titleCase(incident.determination)}` : ''}` : 'Not set'],
          ['MITRE tactics', tactics.length ? tactics.map(titleCase).join(' → ') : ''],
          ['Techniques', techniques.join(', ')],
          ['Alerts', String(incident.alertCount ?? alerts.length)],
          ['First activity', time(incident.firstActivityDateTime)],
          ['Last activity', time(incident.lastActivityDateTime)],
          ['Tags', [...(incident.customTags ?? []), ...(incident.systemTags ?? [])].join(', ')],
          ['Pending actions', String(pending.length)],
        ]} />
        <RequireRole role="analyst"><Manage incident={incident} onChanged={reload} /></RequireRole>
      </Card>
      <Tabs
        value={tab} onChange={(t) => setSearch({ tab: t === 'story' ? undefined : t })}
        tabs={[
          { id: 'story', label: 'Attack story' },
          { id: 'alerts', label: `Alerts (${alerts.length})` },
          { id: 'evidence', label: `Evidence and response${pending.length ? ` (${pending.length} pending)` : ''}` },
          { id: 'comments', label: `Comments and activity (${(incident.comments ?? []).length})` },
        ]}
      />
      {tab === 'story' ? <Story incident={incident} /> : null}
      {tab === 'alerts' ? <AlertsList alerts={alerts} /> : null}
      {tab === 'evidence' ? <EvidenceTab incident={incident} actions={related} investigations={invs} actionsError={actions.error ?? investigations.error} onChanged={() => { actions.reload(); investigations.reload(); reload(); }} /> : null}
      {tab === 'comments' ? <CommentsTab incident={incident} onChanged={reload} /> : null}
    </div>
  );
}

const norm = (t: string) => t.toLowerCase().replace(/[\s_]+/g, '-');

function Story({ incident }: { incident: IncidentDetail }) {
  const graph = useMemo(() => storyGraph(incident), [incident]);
  const [selected, setSelected] = useState<string | null>(null);
  const entity = (incident.entities ?? []).find((e) => `${e.kind}:${e.key}` === selected);
  const alerts = [...(incident.alerts ?? [])].sort((a, b) => str(a.firstActivityDateTime).localeCompare(str(b.firstActivityDateTime)));
  return (
    <div>
      <Card title="Attack story graph" actions={<span className="muted">Select an entity to see its relations</span>}>
        <AttackGraph nodes={graph.nodes} edges={graph.edges} onSelect={(n) => setSelected(n.id)} />
        {entity ? (
          <div className="notice" role="status">
            <strong>{titleCase(entity.kind)}:</strong> {entity.label} <span className="muted">({entity.key})</span>
            {entity.roles?.length ? <> — {entity.roles.join(', ')}</> : null} — in {entity.alertIds?.length ?? 0} alert(s).{' '}
            <EntityLink kind={entity.kind} id={entity.key} />
          </div>
        ) : null}
      </Card>
      <Card title="Alerts timeline">
        <ol className="timeline" aria-label="Alerts in time order">
          {alerts.map((a) => (
            <li key={a.id}>
              <span className="when">{time(a.firstActivityDateTime ?? a.createdDateTime)}</span>
              <span>
                <Badge value={a.severity} kind="severity" />{' '}
                <Link to={`/alerts/${encodeURIComponent(a.id)}`}>{a.title}</Link>
                {a.count && a.count > 1 ? <span className="muted"> ×{a.count}</span> : null}
                <div className="muted">{[a.category, a.detectionSource, (a.mitreTechniques ?? []).join(' ')].filter(Boolean).join(' · ')}</div>
              </span>
            </li>
          ))}
        </ol>
        {alerts.length === 0 ? <div className="empty">No alerts.</div> : null}
      </Card>
    </div>
  );
}

export function EntityLink({ kind, id }: { kind: string; id: string }) {
  if (kind === 'device') return <Link to={`/devices/${encodeURIComponent(id)}`}>Open device</Link>;
  if (kind === 'user') return <Link to={`/users/${encodeURIComponent(id)}`}>Open user</Link>;
  return null;
}

function AlertsList({ alerts }: { alerts: Alert[] }) {
  const columns: Column<Alert>[] = [
    { id: 'title', label: 'Alert', width: 'minmax(260px, 3fr)', value: (a) => a.title, render: (a) => <Link to={`/alerts/${encodeURIComponent(a.id)}`}>{a.title}</Link> },
    { id: 'severity', label: 'Severity', width: '120px', value: (a) => a.severity, sortValue: (a) => SEVERITY_ORDER[a.severity] ?? 0, render: (a) => <Badge value={a.severity} kind="severity" /> },
    { id: 'status', label: 'Status', width: '110px', value: (a) => a.status, render: (a) => <Badge value={a.status} kind="status" /> },
    { id: 'category', label: 'Category', width: '160px', value: (a) => a.category ?? '' },
    { id: 'source', label: 'Detection source', width: '140px', value: (a) => a.detectionSource ?? '' },
    { id: 'first', label: 'First activity', width: '180px', value: (a) => a.firstActivityDateTime ?? '', render: (a) => time(a.firstActivityDateTime) },
    { id: 'count', label: 'Count', width: '80px', value: (a) => a.count ?? 1 },
  ];
  return <DataTable label="Alerts" rows={alerts} columns={columns} rowKey={(a) => a.id} initialSort={{ id: 'first', desc: false }} onOpen={(a) => navigate(`/alerts/${encodeURIComponent(a.id)}`)} csvName="incident-alerts" />;
}

interface Investigation {
  id: string; status: string; title: string; startedAt: string; completedAt?: string;
  entities?: { kind: string; key: string; label: string; verdict: string }[]; log?: { at: string; message: string }[]; actions?: ActionRecord[];
}

function EvidenceTab({ incident, actions, investigations, actionsError, onChanged }: { incident: IncidentDetail; actions: ActionRecord[]; investigations: Investigation[]; actionsError: unknown; onChanged(): void }) {
  const verdicts = new Map<string, string>();
  for (const inv of investigations) for (const e of inv.entities ?? []) verdicts.set(`${e.kind}:${e.key}`, e.verdict);
  const verdictOf = (e: Evidence): string => {
    const v = verdicts.get(`${e.kind}:${e.key}`) ?? e.verdict ?? e.details?.verdict;
    return typeof v === 'string' ? v : '';
  };
  const evidence: Evidence[] = incident.evidence ?? (incident.alerts ?? []).flatMap((a) => (a.evidence ?? []).map((e) => ({ ...e, alertId: a.id })));
  const columns: Column<Evidence>[] = [
    { id: 'kind', label: 'Entity', width: '110px', value: (e) => e.kind },
    { id: 'label', label: 'Name', width: 'minmax(220px, 2fr)', value: (e) => e.label, render: (e) => <span>{e.label} {e.kind === 'device' || e.kind === 'user' ? <EntityLink kind={e.kind} id={e.key} /> : null}</span> },
    { id: 'key', label: 'Key', width: 'minmax(200px, 2fr)', value: (e) => e.key },
    { id: 'role', label: 'Role', width: '100px', value: (e) => e.role ?? '' },
    { id: 'verdict', label: 'Verdict', width: '120px', value: verdictOf, render: (e) => <Badge value={verdictOf(e)} kind="state" /> },
    { id: 'alert', label: 'Alert', width: '200px', value: (e) => e.alertId ?? '', render: (e) => e.alertId ? <Link to={`/alerts/${encodeURIComponent(e.alertId)}`}>{(incident.alerts ?? []).find((a) => a.id === e.alertId)?.title ?? e.alertId}</Link> : null },
  ];
  const { can } = useAuth();
  const toIndicator = useAction();
  const INDICATOR_KINDS = new Set(['file', 'ip', 'url']);
  if (can('analyst')) {
    columns.push({
      id: 'indicator', label: 'Indicator', width: '150px', value: () => '',
      render: (e) => INDICATOR_KINDS.has(e.kind) ? (
        <button type="button" disabled={toIndicator.pending} aria-label={`Block ${e.label} everywhere`}
          onClick={() => void toIndicator.run(async () => {
            await api.post('/api/v1/indicators/from-entity', { kind: e.kind, key: e.key, incidentId: incident.id, action: 'block' });
          }, `${e.label} is now a blocking indicator, sent to every sensor.`)}
        >Block everywhere</button>
      ) : null,
    });
  }
  const log = [
    ...investigations.flatMap((inv) => [
      { at: inv.startedAt, key: `${inv.id}-start`, text: `Investigation started: ${inv.title}`, state: inv.status },
      ...(inv.log ?? []).map((l, i) => ({ at: l.at, key: `${inv.id}-${i}`, text: l.message, state: '' })),
    ]),
    ...actions.map((a) => ({
      at: a.createdAt, key: a.id, state: a.state,
      text: `${titleCase(a.kind)} on ${a.target}${a.verdict ? ` (verdict ${a.verdict})` : ''}${a.decisionReason ? ` — ${a.decisionReason}` : ''}${a.decidedBy ? ` — decided by ${a.decidedBy}` : ''}${a.rejectReason ? ` — ${a.rejectReason}` : ''}`,
    })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <div>
      <Card title="Evidence">
        <Result error={toIndicator.error} done={toIndicator.done} what="Creating the indicator" />
        <DataTable label="Evidence" rows={evidence} columns={columns} rowKey={(e) => `${e.alertId}|${e.kind}|${e.key}`} csvName="evidence" maxHeight={360} />
      </Card>
      <Card title="Actions (approve pending ones here)">
        {actionsError && !(actionsError instanceof ApiError && actionsError.status === 403) ? <ErrorView error={actionsError} what="Loading actions" /> : null}
        <ActionsTable actions={actions} onChanged={onChanged} testId="incident-actions" maxHeight={320} />
      </Card>
      <Card title="Investigation log">
        {investigations.length ? <p className="muted">Automated investigations: {investigations.map((i) => `${i.title} (${titleCase(i.status)})`).join('; ')}</p> : null}
        <ol className="timeline" aria-label="Investigation log">
          {log.map((l) => (
            <li key={l.key}>
              <span className="when">{time(l.at)}</span>
              <span>{l.text} {l.state ? <Badge value={l.state} kind="state" /> : null}</span>
            </li>
          ))}
        </ol>
        {log.length === 0 ? <div className="empty">No investigation steps or actions for this incident.</div> : null}
      </Card>
    </div>
  );
}

function CommentsTab({ incident, onChanged }: { incident: IncidentDetail; onChanged(): void }) {
  const [text, setText] = useState('');
  const act = useAction();
  const activity = [...(incident.activity ?? [])].sort((a, b) => b.at.localeCompare(a.at));
  return (
    <div className="grid-2">
      <Card title="Comments">
        {(incident.comments ?? []).map((c) => (
          <div className="comment" key={c.id}>
            <div className="meta">{c.author} · {time(c.createdDateTime)}</div>
            <div className="pre">{c.text}</div>
          </div>
        ))}
        {(incident.comments ?? []).length === 0 ? <div className="empty">No comments yet.</div> : null}
        <RequireRole role="analyst">
          <form onSubmit={(e) => {
            e.preventDefault();
            void act.run(async () => {
              await api.post(`/api/v1/incidents/${encodeURIComponent(incident.id)}/comments`, { text });
              setText('');
              onChanged();
            });
          }}>
            <Field label="Add a comment">{(id) => <textarea id={id} rows={3} value={text} maxLength={30000} onChange={(e) => setText(e.target.value)} />}</Field>
            <Result error={act.error} done={null} what="Comment" />
            <button type="submit" className="primary" disabled={!text.trim() || act.pending}>Comment</button>
          </form>
        </RequireRole>
      </Card>
      <Card title="Activity log">
        <ol className="timeline" aria-label="Activity log">
          {activity.map((a) => (
            <li key={a.id}>
              <span className="when">{time(a.at)}</span>
              <span><strong>{a.actor}</strong> {titleCase(a.action)} {a.details && Object.keys(a.details).length ? <span className="muted">{str(a.details)}</span> : null}</span>
            </li>
          ))}
        </ol>
        {activity.length === 0 ? <div className="empty">No activity recorded.</div> : null}
      </Card>
    </div>
  );
}

function Manage({ incident, onChanged }: { incident: IncidentDetail; onChanged(): void }) {
  const { me } = useAuth();
  const act = useAction();
  const [status, setStatus] = useState(incident.status);
  const [assignee, setAssignee] = useState(incident.assignedTo ?? '');
  const [classification, setClassification] = useState(incident.classification ?? 'unknown');
  const [determination, setDetermination] = useState(incident.determination ?? 'unknown');
  const [note, setNote] = useState('');
  const save = (body: Record<string, unknown>, done: string) => act.run(async () => {
    await api.patch(`/api/v1/incidents/${encodeURIComponent(incident.id)}`, note.trim() ? { ...body, comment: note.trim() } : body);
    setNote('');
    onChanged();
  }, done);
  return (
    <div className="row" style={{ marginTop: 12 }}>
      <Field label="Status">{(id) => (
        <select id={id} value={status} onChange={(e) => setStatus(e.target.value)}>
          {INCIDENT_STATUSES.filter((s) => s !== 'redirected').map((s) => <option key={s} value={s}>{titleCase(s)}</option>)}
        </select>
      )}</Field>
      <Field label="Note (kept as a comment)">{(id) => <input id={id} value={note} onChange={(e) => setNote(e.target.value)} />}</Field>
      <button type="button" disabled={act.pending || status === incident.status} onClick={() => save({ status }, 'Status saved.')}>Set status</button>
      <Field label="Assigned to">{(id) => <input id={id} value={assignee} onChange={(e) => setAssignee(e.target.value)} />}</Field>
      <button type="button" disabled={act.pending} onClick={() => save({ assignedTo: assignee || null }, 'Assignment saved.')}>Assign</button>
      {me ? <button type="button" className="ghost" onClick={() => { setAssignee(me.name); void save({ assignedTo: me.name }, 'Assigned to you.'); }}>Assign to me</button> : null}
      <Field label="Classification">{(id) => (
        <select id={id} value={classification} onChange={(e) => { setClassification(e.target.value); setDetermination(DETERMINATIONS[e.target.value]?.[0] ?? 'unknown'); }}>
          {CLASSIFICATIONS.map((c) => <option key={c} value={c}>{titleCase(c)}</option>)}
        </select>
      )}</Field>
      <Field label="Determination">{(id) => (
        <select id={id} value={determination} onChange={(e) => setDetermination(e.target.value)}>
          {(DETERMINATIONS[classification] ?? ['unknown']).map((d) => <option key={d} value={d}>{titleCase(d)}</option>)}
        </select>
      )}</Field>
      <button type="button" disabled={act.pending} onClick={() => save({ classification, determination }, 'Classification saved.')}>Classify</button>
      <div style={{ flexBasis: '100%' }}><Result error={act.error} done={act.done} what="Update" /></div>
    </div>
  );
}
