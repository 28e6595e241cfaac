import { useEffect, useState } from 'react';
import { api, ApiError, listOf, qs } from '../api';
import { RequireRole } from '../auth';
import { ActionsTable } from '../components/ActionsPanel';
import { summarise, TimelineTable, type TimelineItem } from '../components/Timeline';
import { Badge, Card, Dialog, ErrorView, Field, KeyValues, Loading, PageHeader, Result, Tabs } from '../components/ui';
import { ago, str, time, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import type { ActionRecord, Alert, Device as DeviceModel } from '../model';
import { isolationFromActions } from '../isolation';
import { Link, useSearchParams } from '../router';
import { SignIns } from '../components/SignIns';

const DEVICE_TABLES = ['DeviceProcessEvents', 'DeviceFileEvents', 'DeviceNetworkEvents', 'DeviceLogonEvents', 'DeviceEvents', 'DeviceRegistryEvents'];
const RANGES: Record<string, number> = { '1h': 3600e3, '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5 };

export default function Device({ params }: { params: Record<string, string> }) {
  const id = params.id;
  const device = useApi<DeviceModel>(`/api/v1/devices/${encodeURIComponent(id)}`);
  const actions = useApi<unknown>(`/api/v1/actions${qs({ targetType: 'device', target: id, limit: 500 })}`);
  useLive(['device.risk-changed', 'device.compliance-changed', 'action.changed'], (e) => {
    if (e.type === 'action.changed') actions.reload();
    else device.reload();
  });
  const [search, setSearch] = useSearchParams();
  const tab = search.get('tab') ?? 'timeline';
  const d = device.data;
  const deviceActions = listOf<ActionRecord>(actions.data, 'actions');
  if (device.loading && !d) return <Loading />;
  if (device.error || !d) {
    return <><PageHeader title="Device" sub={id} /><ErrorView error={device.error ?? new Error('device not found')} what="Loading the device" /></>;
  }
  const isolation = d.isolationState ?? (d.isolated === true ? 'isolated' : actions.error ? '' : isolationFromActions(deviceActions));
  return (
    <div>
      <PageHeader title={d.hostname || d.id} sub={<><Badge value={d.riskLevel} kind="risk" /><Badge value={d.complianceState} kind="compliance" />{isolation ? <Badge value={isolation} kind="state" /> : null}<span className="muted">{d.id}</span></>}>
        <Link to="/devices">← Devices</Link>
      </PageHeader>
      <RequireRole role="responder">
        <ResponseButtons device={d} isolation={isolation} onDone={actions.reload} />
      </RequireRole>
      <Card title="Overview">
        <KeyValues items={[
          ['Risk level', <Badge value={d.riskLevel} kind="risk" />], ['Compliance', <Badge value={d.complianceState} kind="compliance" />],
          ['Compliance reason', d.complianceReason ?? ''], ['Isolation', isolation],
          ['OS', [d.os, d.osVersion].filter(Boolean).join(' ')], ['Group', d.group ? `${d.group.name} (automation: ${titleCase(d.group.automationLevel ?? '')})` : d.groupId ?? ''],
          ['Primary user', d.primaryUser ? <Link to={`/users/${encodeURIComponent(d.primaryUser)}`}>{d.primaryUser}</Link> : ''],
          ['Last seen', d.lastSeen ? `${ago(d.lastSeen)} (${time(d.lastSeen)})` : 'never'], ['Enrolled', time(d.enrolledAt)], ['Sensor', d.sensorId ?? ''],
        ]} />
      </Card>
      <Tabs value={tab} onChange={(t) => setSearch({ tab: t === 'timeline' ? undefined : t })} tabs={[
        { id: 'timeline', label: 'Timeline' }, { id: 'actions', label: `Actions (${deviceActions.length})` },
        { id: 'compliance', label: 'Compliance history' }, { id: 'sessions', label: 'Sign-ins and sessions' },
      ]} />
      {tab === 'timeline' ? <DeviceTimeline deviceId={d.id} /> : null}
      {tab === 'actions' ? <Card><ErrorView error={actions.error} what="Loading actions" /><ActionsTable actions={deviceActions} onChanged={actions.reload} csvName={`actions-${d.hostname || d.id}`} testId="device-actions" /></Card> : null}
      {tab === 'compliance' ? (
        <Card title="Compliance history">
          <ol className="timeline">
            {[...(d.history ?? [])].reverse().map((h, i) => (
              <li key={i}><span className="when">{time(h.at)}</span><span><Badge value={h.old} kind="compliance" /> → <Badge value={h.new} kind="compliance" /> <span className="muted">{h.reason}</span></span></li>
            ))}
          </ol>
          {(d.history ?? []).length === 0 ? <div className="empty">No compliance changes recorded.</div> : null}
        </Card>
      ) : null}
      {tab === 'sessions' ? (
        <>
          <Card title="Sign-ins from this device"><SignIns title="Conditional Access decisions for this device (last 7 days)" match={(r) => r.EntraIdDeviceId === d.id} /></Card>
          <Sessions path={`/api/v1/sessions${qs({ deviceId: d.id })}`} />
        </>
      ) : null}
    </div>
  );
}

export function Sessions({ path }: { path: string }) {
  const { data, error, loading } = useApi<unknown>(path);
  const sessions = listOf<Record<string, unknown>>(data, 'sessions');
  return (
    <Card title="Active sessions">
      <ErrorView error={error} what="Loading sessions" />
      {loading ? <Loading /> : null}
      {!error && !loading && sessions.length === 0 ? <div className="empty">No active sessions.</div> : null}
      {sessions.length ? (
        <table className="simple">
          <thead><tr><th>User</th><th>App</th><th>Device</th><th>Started</th><th>Expires</th></tr></thead>
          <tbody>
            {sessions.map((s, i) => (
              <tr key={str(s.id ?? i)}>
                <td>{str(s.user ?? s.userId ?? s.subject ?? s.username)}</td><td>{str(s.app ?? s.clientId ?? s.client)}</td><td>{str(s.deviceName ?? s.deviceId)}</td>
                <td>{time(s.createdAt ?? s.startedAt ?? s.issuedAt)}</td><td>{time(s.expiresAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

function DeviceTimeline({ deviceId }: { deviceId: string }) {
  const [range, setRange] = useState('7d');
  const [state, setState] = useState<{ items: TimelineItem[]; errors: Error[]; loading: boolean }>({ items: [], errors: [], loading: true });
  const [tick, setTick] = useState(0);
  useLive(['alert.raised'], () => setTick((t) => t + 1));
  useEffect(() => {
    let cancelled = false;
    const since = new Date(Date.now() - RANGES[range]).toISOString();
    setState((s) => ({ ...s, loading: true }));
    const loads = DEVICE_TABLES.map(async (table) => {
      const page = await api.get<{ rows: Record<string, unknown>[] }>(`/api/v1/events/${table}${qs({ deviceId, since, limit: 1000 })}`);
      return (page.rows ?? []).map((r): TimelineItem => ({ at: str(r.Timestamp), source: table, action: str(r.ActionType) || table, summary: summarise(table, r), row: r }));
    });
    loads.push(api.get<unknown>(`/api/v1/alerts${qs({ deviceId, since, limit: 1000 })}`).then((data) => listOf<Alert>(data, 'alerts')
      .filter((a) => !a.evidence || a.evidence.some((e) => e.kind === 'device' && e.key === deviceId))
      .map((a): TimelineItem => ({ at: a.firstActivityDateTime ?? a.createdDateTime ?? '', source: 'Alert', action: a.title, summary: `${a.severity} · ${a.category ?? ''} · ${a.status}`, alertId: a.id, severity: a.severity }))));
    Promise.allSettled(loads).then((results) => {
      if (cancelled) return;
      const items = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
      setState({ items, errors, loading: false });
    });
    return () => { cancelled = true; };
  }, [deviceId, range, tick]);
  const missingAlerts = state.errors.find((e) => e instanceof ApiError && e.path.startsWith('/api/v1/alerts'));
  const other = state.errors.find((e) => e !== missingAlerts);
  return (
    <Card title="Timeline" actions={(
      <label>Time range{' '}
        <select value={range} onChange={(e) => setRange(e.target.value)}>
          <option value="1h">Last hour</option><option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="30d">Last 30 days</option>
        </select>
      </label>
    )}>
      {missingAlerts ? <ErrorView error={missingAlerts} what="Alerts on the timeline" /> : null}
      {other ? <ErrorView error={other} what="Telemetry" /> : null}
      {state.loading ? <Loading /> : <TimelineTable items={state.items} testId="device-timeline" />}
    </Card>
  );
}

function ResponseButtons({ device, isolation, onDone }: { device: DeviceModel; isolation: string; onDone(): void }) {
  const act = useAction();
  const [dialog, setDialog] = useState<null | 'isolate' | 'scan' | 'stop'>(null);
  const [comment, setComment] = useState('');
  const [scanType, setScanType] = useState('quick');
  const [sha256, setSha256] = useState('');
  const [path, setPath] = useState('');
  const [pid, setPid] = useState('');
  const create = (kind: string, params: Record<string, unknown>, label: string) => act.run(async () => {
    await api.post('/api/v1/actions', { kind, target: device.id, params, comment: comment || undefined });
    setDialog(null);
    setComment('');
    onDone();
  }, `${label} requested for ${device.hostname || device.id}.`);
  const isolated = isolation === 'isolated';
  return (
    <div className="card">
      <div className="page-actions" role="group" aria-label="Response actions">
        {isolated
          ? <button type="button" onClick={() => create('release', {}, 'Release from isolation')} disabled={act.pending}>Release from isolation</button>
          : <button type="button" className="danger" onClick={() => setDialog('isolate')} disabled={act.pending}>Isolate device</button>}
        <button type="button" onClick={() => setDialog('scan')} disabled={act.pending}>Run antivirus scan</button>
        <button type="button" onClick={() => create('collect_package', {}, 'Investigation package collection')} disabled={act.pending}>Collect investigation package</button>
        <button type="button" onClick={() => setDialog('stop')} disabled={act.pending}>Stop and quarantine file</button>
        <button type="button" onClick={() => create('restrict_app', {}, 'App restriction')} disabled={act.pending}>Restrict app execution</button>
      </div>
      <Result error={act.error} done={act.done} what="Response action" />
      {dialog === 'isolate' ? (
        <Dialog title={`Isolate ${device.hostname || device.id}`} onClose={() => setDialog(null)}>
          <p>The device loses network access except to Vigil until it is released.</p>
          <Field label="Comment">{(id) => <textarea id={id} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />}</Field>
          <Result error={act.error} done={null} what="Isolation" />
          <button type="button" className="danger" disabled={act.pending} onClick={() => create('isolate', {}, 'Isolation')}>Isolate</button>
        </Dialog>
      ) : null}
      {dialog === 'scan' ? (
        <Dialog title="Run antivirus scan" onClose={() => setDialog(null)}>
          <Field label="Scan type">{(id) => <select id={id} value={scanType} onChange={(e) => setScanType(e.target.value)}><option value="quick">Quick</option><option value="full">Full</option></select>}</Field>
          <Field label="Comment">{(id) => <textarea id={id} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />}</Field>
          <Result error={act.error} done={null} what="Scan" />
          <button type="button" className="primary" disabled={act.pending} onClick={() => create('run_scan', { type: scanType }, `${titleCase(scanType)} scan`)}>Start scan</button>
        </Dialog>
      ) : null}
      {dialog === 'stop' ? (
        <Dialog title="Stop and quarantine file" onClose={() => setDialog(null)}>
          <p>Stops every process running the file and moves the file into quarantine.</p>
          <Field label="SHA-256">{(id) => <input id={id} value={sha256} onChange={(e) => setSha256(e.target.value.trim())} placeholder="64 hex characters" />}</Field>
          <Field label="Path (optional)">{(id) => <input id={id} value={path} onChange={(e) => setPath(e.target.value)} />}</Field>
          <Field label="Process id (optional)">{(id) => <input id={id} value={pid} inputMode="numeric" onChange={(e) => setPid(e.target.value.trim())} />}</Field>
          <Field label="Comment">{(id) => <textarea id={id} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />}</Field>
          <Result error={act.error} done={null} what="Stop and quarantine" />
          <button
            type="button" className="danger" disabled={act.pending || (!sha256 && !path)}
            onClick={() => act.run(async () => {
              const stop: Record<string, unknown> = {};
              if (sha256) stop.sha256 = sha256;
              if (pid) stop.pid = Number(pid);
              if (stop.sha256 || stop.pid) await api.post('/api/v1/actions', { kind: 'stop_process', target: device.id, params: stop, comment: comment || undefined });
              const quarantine: Record<string, unknown> = {};
              if (sha256) quarantine.sha256 = sha256;
              if (path) quarantine.path = path;
              await api.post('/api/v1/actions', { kind: 'quarantine_file', target: device.id, params: quarantine, comment: comment || undefined });
              setDialog(null);
              onDone();
            }, 'Stop and quarantine requested.')}
          >Stop and quarantine</button>
        </Dialog>
      ) : null}
    </div>
  );
}
