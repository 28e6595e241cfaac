import { useMemo } from 'react';
import { listOf, qs } from '../api';
import { BarChart, PieChart, TimeChart } from '../components/Charts';
import { Card, ErrorView, PageHeader } from '../components/ui';
import { useApi } from '../hooks';
import { useLive } from '../live';
import type { ActionRecord, Alert, Device, Incident } from '../model';
import { Link } from '../router';

const SEV = ['high', 'medium', 'low', 'informational'];
const RISK = ['high', 'medium', 'low', 'informational', 'none'];

export default function Dashboard() {
  const since = useMemo(() => new Date(Date.now() - 7 * 864e5).toISOString(), []);
  const incidents = useApi<unknown>(`/api/v1/incidents${qs({ limit: 1000 })}`);
  const alerts = useApi<unknown>(`/api/v1/alerts${qs({ since, limit: 1000 })}`);
  const devices = useApi<unknown>('/api/v1/devices');
  const pending = useApi<unknown>(`/api/v1/actions${qs({ state: 'pending' })}`);
  useLive(['incident.created', 'incident.updated', 'alert.raised', 'device.risk-changed', 'device.compliance-changed', 'action.changed'], (e) => {
    if (e.type.startsWith('incident') || e.type === 'poll') incidents.reload();
    if (e.type.startsWith('alert') || e.type === 'poll') alerts.reload();
    if (e.type.startsWith('device') || e.type === 'poll') devices.reload();
    if (e.type === 'action.changed' || e.type === 'poll') pending.reload();
  });
  const inc = listOf<Incident>(incidents.data, 'incidents');
  const open = inc.filter((i) => i.status !== 'resolved' && i.status !== 'redirected');
  const dev = listOf<Device>(devices.data, 'devices');
  const acts = listOf<ActionRecord>(pending.data, 'actions');
  const al = listOf<Alert>(alerts.data, 'alerts');
  const buckets = new Map<number, number>();
  for (const a of al) {
    const t = Date.parse(a.firstActivityDateTime ?? a.createdDateTime ?? '');
    if (!Number.isFinite(t)) continue;
    const h = Math.floor(t / 3600e3) * 3600e3;
    buckets.set(h, (buckets.get(h) ?? 0) + 1);
  }
  const resolved = inc.filter((i) => i.resolvedDateTime && (i.firstActivityDateTime ?? i.createdDateTime));
  const mttc = resolved.length
    ? resolved.reduce((s, i) => s + (Date.parse(i.resolvedDateTime!) - Date.parse((i.firstActivityDateTime ?? i.createdDateTime)!)), 0) / resolved.length
    : null;
  return (
    <div>
      <PageHeader title="Dashboard" />
      <div className="grid-4">
        <Card><div className="stat" data-testid="open-incidents">{incidents.error ? '—' : open.length}</div><div className="stat-label"><Link to="/incidents?status=active">Open incidents</Link></div></Card>
        <Card><div className="stat">{pending.error ? '—' : acts.length}</div><div className="stat-label"><Link to="/actions">Pending actions</Link></div></Card>
        <Card><div className="stat">{devices.error ? '—' : dev.filter((d) => d.complianceState === 'noncompliant').length}</div><div className="stat-label"><Link to="/devices">Noncompliant devices</Link></div></Card>
        <Card><div className="stat">{mttc === null ? '—' : formatDuration(mttc)}</div><div className="stat-label">Mean time to contain ({resolved.length} resolved)</div></Card>
      </div>
      <div className="grid-charts">
        <Card title="Open incidents by severity">
          <ErrorView error={incidents.error} what="Incidents" />
          {!incidents.error ? <BarChart title="Open incidents by severity" bars={SEV.map((s) => ({ label: s, value: open.filter((i) => i.severity === s).length, cls: `sev-${s}` }))} height={200} width={320} /> : null}
        </Card>
        <Card title="Alerts over the last 7 days">
          <ErrorView error={alerts.error} what="Alerts" />
          {!alerts.error ? <TimeChart title="Alerts per hour" series={[{ name: 'alerts per hour', points: [...buckets].map(([x, y]) => ({ x, y })) }]} height={200} width={320} /> : null}
        </Card>
        <Card title="Devices by risk level">
          <ErrorView error={devices.error} what="Devices" />
          {!devices.error ? <PieChart title="Devices by risk level" slices={RISK.map((r) => ({ label: r, value: dev.filter((d) => (d.riskLevel ?? 'none') === r).length, cls: `sev-${r}` })).filter((s) => s.value > 0)} size={170} /> : null}
        </Card>
        <Card title="Devices by compliance">
          {!devices.error ? <PieChart title="Devices by compliance" slices={['compliant', 'noncompliant', 'unknown'].map((c, i) => ({ label: c, value: dev.filter((d) => (d.complianceState ?? 'unknown') === c).length, cls: ['c5', 'sev-high', 'c7'][i] })).filter((s) => s.value > 0)} size={170} /> : <ErrorView error={devices.error} what="Devices" />}
        </Card>
      </div>
    </div>
  );
}

function formatDuration(ms: number): string {
  const m = Math.round(ms / 60000);
  if (m < 60) return `${m} min`;
  if (m < 48 * 60) return `${(m / 60).toFixed(1)} h`;
  return `${(m / 1440).toFixed(1)} d`;
}
