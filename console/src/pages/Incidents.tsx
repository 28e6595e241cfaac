import { useMemo, useRef, useState } from 'react';
import { api, listOf, qs } from '../api';
import { RequireRole } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, ErrorView, Field, PageHeader, Result } from '../components/ui';
import { ago, SEVERITY_ORDER, str, time, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import { CLASSIFICATIONS, DETERMINATIONS, INCIDENT_STATUSES, SEVERITIES, type Incident } from '../model';
import { Link, navigate, useSearchParams } from '../router';

const RANGES: Record<string, number | null> = { '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5, '180d': 180 * 864e5, all: null };
const PAGE_SIZES = [50, 100, 500];

function sinceOf(range: string): string | undefined {
  const ms = RANGES[range];
  return ms ? new Date(Date.now() - ms).toISOString() : undefined;
}

export default function Incidents() {
  const [params, setParams] = useSearchParams();
  const f = {
    status: params.get('status') ?? '', severity: params.get('severity') ?? '', assignee: params.get('assignee') ?? '',
    device: params.get('device') ?? '', user: params.get('user') ?? '', tag: params.get('tag') ?? '',
    range: params.get('range') ?? '30d', q: params.get('q') ?? '',
  };
  const sort = { id: params.get('sort') ?? 'updated', desc: params.get('order') !== 'asc' };
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1);
  const pageSize = PAGE_SIZES.includes(Number(params.get('size'))) ? Number(params.get('size')) : 50;
  const since = useMemo(() => sinceOf(f.range), [f.range]);
  // The device filter takes a name; the API filters by DeviceId.
  const inventory = useApi<unknown>('/api/v1/devices');
  const devices = listOf<{ id: string; hostname: string }>(inventory.data, 'devices');
  const deviceId = devices.find((d) => d.hostname.toLowerCase() === f.device.toLowerCase())?.id ?? f.device;
  // Filters go to the server; the same filters also apply here, so a server that ignores one still shows the right rows.
  const path = `/api/v1/incidents${qs({
    status: f.status, severity: f.severity, assignedTo: f.assignee, deviceId, user: f.user, tag: f.tag, since, q: f.q, limit: 1000,
  })}`;
  const { data, error, loading, reload } = useApi<unknown>(path);
  const debounce = useRef<ReturnType<typeof setTimeout>>(undefined);
  const status = useLive(['incident.created', 'incident.updated', 'alert.raised', 'alert.updated'], () => {
    clearTimeout(debounce.current);
    debounce.current = setTimeout(reload, 250);
  });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const bulk = useAction();
  const [assignTo, setAssignTo] = useState('');
  const [classification, setClassification] = useState('truePositive');
  const [determination, setDetermination] = useState('multiStagedAttack');
  const [note, setNote] = useState('');

  const all = listOf<Incident>(data, 'incidents');
  const rows = useMemo(() => all.filter((i) => {
    if (f.status && i.status !== f.status) return false;
    if (f.severity && i.severity !== f.severity) return false;
    if (f.assignee && !str(i.assignedTo).toLowerCase().includes(f.assignee.toLowerCase())) return false;
    if (f.tag && ![...(i.customTags ?? []), ...(i.systemTags ?? [])].some((t) => t.toLowerCase() === f.tag.toLowerCase())) return false;
    if (f.device && i.devices && !i.devices.some((d) => d.toLowerCase().includes(f.device.toLowerCase()))) return false;
    if (f.user && i.users && !i.users.some((u) => u.toLowerCase().includes(f.user.toLowerCase()))) return false;
    if (since && i.lastUpdateDateTime && i.lastUpdateDateTime < since && (i.createdDateTime ?? '') < since) return false;
    if (f.q) {
      const q = f.q.toLowerCase();
      if (![i.displayName, i.id, i.assignedTo, ...(i.customTags ?? [])].some((v) => str(v).toLowerCase().includes(q))) return false;
    }
    return true;
  }), [all, f.status, f.severity, f.assignee, f.tag, f.device, f.user, since, f.q]);

  const columns: Column<Incident>[] = [
    { id: 'name', label: 'Incident', width: 'minmax(280px, 3fr)', value: (i) => i.displayName, render: (i) => <Link to={`/incidents/${encodeURIComponent(i.id)}`}>{i.displayName || i.id}</Link> },
    { id: 'severity', label: 'Severity', width: '120px', value: (i) => i.severity, sortValue: (i) => SEVERITY_ORDER[i.severity] ?? 0, render: (i) => <Badge value={i.severity} kind="severity" /> },
    { id: 'status', label: 'Status', width: '120px', value: (i) => i.status, render: (i) => <Badge value={i.status} kind="status" /> },
    { id: 'alerts', label: 'Alerts', width: '80px', value: (i) => i.alertCount ?? 0 },
    { id: 'assignee', label: 'Assigned to', width: '150px', value: (i) => i.assignedTo ?? '', render: (i) => i.assignedTo ? str(i.assignedTo) : <span className="muted">Unassigned</span> },
    { id: 'classification', label: 'Classification', width: '170px', value: (i) => (i.classification && i.classification !== 'unknown' ? titleCase(i.classification) : '') },
    { id: 'tags', label: 'Tags', width: '160px', value: (i) => [...(i.customTags ?? []), ...(i.systemTags ?? [])].join(', ') },
    { id: 'created', label: 'First activity', width: '180px', value: (i) => i.firstActivityDateTime ?? i.createdDateTime ?? '', render: (i) => time(i.firstActivityDateTime ?? i.createdDateTime) },
    { id: 'updated', label: 'Last update', width: '130px', value: (i) => i.lastUpdateDateTime ?? '', render: (i) => <span title={time(i.lastUpdateDateTime)}>{ago(i.lastUpdateDateTime)}</span> },
    { id: 'id', label: 'Id', width: '240px', value: (i) => i.id, hidden: true },
  ];
  const sortColumn = columns.find((c) => c.id === sort.id) ?? columns[8];
  const sorted = useMemo(() => {
    const key = sortColumn.sortValue ?? sortColumn.value;
    const out = [...rows].sort((a, b) => {
      const x = key(a) as string | number;
      const y = key(b) as string | number;
      return x === y ? 0 : x < y ? -1 : 1;
    });
    return sort.desc ? out.reverse() : out;
  }, [rows, sortColumn, sort.desc]);
  const pages = Math.max(1, Math.ceil(sorted.length / pageSize));
  const shown = sorted.slice((Math.min(page, pages) - 1) * pageSize, Math.min(page, pages) * pageSize);

  const patchSelected = (body: Record<string, unknown>, verb: string) => bulk.run(async () => {
    const ids = [...selected];
    const withNote = note.trim() ? { ...body, comment: note.trim() } : body;
    const results = await Promise.allSettled(ids.map((id) => api.patch(`/api/v1/incidents/${encodeURIComponent(id)}`, withNote)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    reload();
    if (failed.length) throw new Error(`${failed.length} of ${ids.length} could not be ${verb}: ${(failed[0].reason as Error).message}`);
    setSelected(new Set());
    setNote('');
  }, `${ids(selected)} ${verb}.`);

  return (
    <div>
      <PageHeader title="Incidents" sub={<><span>{rows.length} matching</span><span aria-hidden="true">·</span><span data-testid="queue-live">{status === 'live' ? 'updating live' : status === 'unavailable' ? 'live updates unavailable; refreshing every 15 s' : 'connecting to live updates…'}</span></>}>
        <button type="button" className="secondary" onClick={reload} disabled={loading}>Refresh</button>
      </PageHeader>
      <form className="filters card" role="search" aria-label="Filter incidents" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search">{(id) => <input id={id} type="search" placeholder="Name, id, tag…" value={f.q} onChange={(e) => setParams({ q: e.target.value, page: undefined })} />}</Field>
        <Field label="Status">{(id) => (
          <select id={id} value={f.status} onChange={(e) => setParams({ status: e.target.value, page: undefined })}>
            <option value="">Any</option>
            {INCIDENT_STATUSES.map((s) => <option key={s} value={s}>{titleCase(s)}</option>)}
          </select>
        )}</Field>
        <Field label="Severity">{(id) => (
          <select id={id} value={f.severity} onChange={(e) => setParams({ severity: e.target.value, page: undefined })}>
            <option value="">Any</option>
            {SEVERITIES.map((s) => <option key={s} value={s}>{titleCase(s)}</option>)}
          </select>
        )}</Field>
        <Field label="Assigned to">{(id) => <input id={id} value={f.assignee} onChange={(e) => setParams({ assignee: e.target.value, page: undefined })} size={12} />}</Field>
        <Field label="Device">{(id) => <input id={id} list="incident-devices" value={f.device} onChange={(e) => setParams({ device: e.target.value, page: undefined })} size={12} />}</Field>
        <datalist id="incident-devices">{devices.map((d) => <option key={d.id} value={d.hostname} />)}</datalist>
        <Field label="User">{(id) => <input id={id} value={f.user} onChange={(e) => setParams({ user: e.target.value, page: undefined })} size={12} />}</Field>
        <Field label="Tag">{(id) => <input id={id} value={f.tag} onChange={(e) => setParams({ tag: e.target.value, page: undefined })} size={10} />}</Field>
        <Field label="Time">{(id) => (
          <select id={id} value={f.range} onChange={(e) => setParams({ range: e.target.value, page: undefined })}>
            <option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="30d">Last 30 days</option>
            <option value="180d">Last 6 months</option><option value="all">Any time</option>
          </select>
        )}</Field>
      </form>
      <ErrorView error={error} what="Loading incidents" />
      <RequireRole role="analyst">
        {selected.size > 0 ? (
          <div className="bulkbar" role="region" aria-label="Bulk actions">
            <strong>{selected.size} selected</strong>
            <label htmlFor="bulk-assign">Assign to</label>
            <input id="bulk-assign" value={assignTo} onChange={(e) => setAssignTo(e.target.value)} size={12} placeholder="user name" />
            <button type="button" disabled={bulk.pending || !assignTo} onClick={() => patchSelected({ assignedTo: assignTo }, 'assigned')}>Assign</button>
            <label htmlFor="bulk-note">Note</label>
            <input id="bulk-note" value={note} onChange={(e) => setNote(e.target.value)} size={18} placeholder="why (kept as a comment)" />
            <button type="button" disabled={bulk.pending} onClick={() => patchSelected({ status: 'resolved' }, 'resolved')}>Resolve</button>
            <label htmlFor="bulk-class">Classification</label>
            <select id="bulk-class" value={classification} onChange={(e) => { setClassification(e.target.value); setDetermination(DETERMINATIONS[e.target.value][0]); }}>
              {CLASSIFICATIONS.map((c) => <option key={c} value={c}>{titleCase(c)}</option>)}
            </select>
            <select aria-label="Determination" value={determination} onChange={(e) => setDetermination(e.target.value)}>
              {DETERMINATIONS[classification].map((d) => <option key={d} value={d}>{titleCase(d)}</option>)}
            </select>
            <button type="button" disabled={bulk.pending} onClick={() => patchSelected({ classification, determination }, 'classified')}>Classify</button>
            <button type="button" className="ghost" onClick={() => setSelected(new Set())}>Clear</button>
          </div>
        ) : null}
      </RequireRole>
      <Result error={bulk.error} done={bulk.done} what="Bulk update" />
      <DataTable
        label="Incidents" testId="incidents-table" rows={shown} columns={columns} rowKey={(i) => i.id} chooser csvName="incidents"
        sort={sort} onSortChange={(s) => setParams({ sort: s.id, order: s.desc ? undefined : 'asc' })}
        selected={selected} onSelectedChange={setSelected}
        onOpen={(i) => navigate(`/incidents/${encodeURIComponent(i.id)}`)}
        empty={loading ? 'Loading…' : error ? 'No incidents to show.' : 'No incidents match these filters.'}
      />
      <nav className="pager" aria-label="Pages">
        <label htmlFor="page-size">Per page</label>
        <select id="page-size" value={pageSize} onChange={(e) => setParams({ size: e.target.value, page: undefined })}>
          {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
        <button type="button" disabled={page <= 1} onClick={() => setParams({ page: String(page - 1) })}>Previous</button>
        <span>Page {Math.min(page, pages)} of {pages}</span>
        <button type="button" disabled={page >= pages} onClick={() => setParams({ page: String(page + 1) })}>Next</button>
      </nav>
    </div>
  );
}

function ids(set: ReadonlySet<string>): string {
  return set.size === 1 ? '1 incident' : `${set.size} incidents`;
}
