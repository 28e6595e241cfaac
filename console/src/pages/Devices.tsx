import { useMemo, useState } from 'react';
import { listOf, qs } from '../api';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, ErrorView, Field, PageHeader } from '../components/ui';
import { ago, SEVERITY_ORDER, str, time } from '../format';
import { useApi } from '../hooks';
import { useLive } from '../live';
import type { ActionRecord, Device } from '../model';
import { isolationFromActions } from '../isolation';
import { Link, navigate } from '../router';

export function isolationOf(d: Device, actions?: ReadonlyMap<string, ActionRecord[]>): string {
  if (d.isolationState) return d.isolationState;
  if (d.isolated === true) return 'isolated';
  if (d.isolated === false) return 'not isolated';
  return actions ? isolationFromActions(actions.get(d.id) ?? []) : '';
}

export default function Devices() {
  const { data, error, loading, reload } = useApi<unknown>('/api/v1/devices');
  const groups = useApi<unknown>('/api/v1/device-groups');
  // Isolation is a response state: the latest isolate/release action of each device says it.
  const isolations = useApi<unknown>(`/api/v1/actions${qs({ kind: 'isolate', limit: 5000 })}`);
  const releases = useApi<unknown>(`/api/v1/actions${qs({ kind: 'release', limit: 5000 })}`);
  useLive(['device.risk-changed', 'device.compliance-changed', 'device.enrolled', 'action.changed'], (e) => {
    if (e.type === 'action.changed' || e.type === 'poll') { isolations.reload(); releases.reload(); }
    if (e.type !== 'action.changed') reload();
  });
  const byDevice = useMemo(() => {
    if (isolations.error || releases.error) return undefined;
    const map = new Map<string, ActionRecord[]>();
    for (const a of [...listOf<ActionRecord>(isolations.data, 'actions'), ...listOf<ActionRecord>(releases.data, 'actions')]) {
      if (a.targetType !== 'device') continue;
      map.set(a.target, [...(map.get(a.target) ?? []), a]);
    }
    return map;
  }, [isolations.data, releases.data, isolations.error, releases.error]);
  const [q, setQ] = useState('');
  const [risk, setRisk] = useState('');
  const [compliance, setCompliance] = useState('');
  const groupName = new Map(listOf<{ id: string; name: string }>(groups.data, 'deviceGroups').map((g) => [g.id, g.name]));
  const devices = listOf<Device>(data, 'devices');
  const rows = useMemo(() => devices.filter((d) =>
    (!risk || d.riskLevel === risk) && (!compliance || d.complianceState === compliance)
    && (!q || [d.hostname, d.id, d.os, d.primaryUser].some((v) => str(v).toLowerCase().includes(q.toLowerCase())))), [devices, q, risk, compliance]);
  const columns: Column<Device>[] = [
    { id: 'name', label: 'Device', width: 'minmax(200px, 2fr)', value: (d) => d.hostname || d.id, render: (d) => <Link to={`/devices/${encodeURIComponent(d.id)}`}>{d.hostname || d.id}</Link> },
    { id: 'risk', label: 'Risk level', width: '120px', value: (d) => d.riskLevel ?? '', sortValue: (d) => SEVERITY_ORDER[d.riskLevel ?? ''] ?? 0, render: (d) => <Badge value={d.riskLevel} kind="risk" /> },
    { id: 'compliance', label: 'Compliance', width: '140px', value: (d) => d.complianceState ?? '', render: (d) => <Badge value={d.complianceState} kind="compliance" /> },
    { id: 'isolation', label: 'Isolation', width: '170px', value: (d) => isolationOf(d, byDevice), render: (d) => isolationOf(d, byDevice) ? <Badge value={isolationOf(d, byDevice)} kind="state" /> : <span className="muted">—</span> },
    { id: 'lastSeen', label: 'Last seen', width: '130px', value: (d) => d.lastSeen ?? '', render: (d) => <span title={time(d.lastSeen)}>{d.lastSeen ? ago(d.lastSeen) : 'never'}</span> },
    { id: 'os', label: 'OS', width: '170px', value: (d) => [d.os, d.osVersion].filter(Boolean).join(' ') },
    { id: 'group', label: 'Group', width: '140px', value: (d) => d.group?.name ?? groupName.get(d.groupId ?? '') ?? d.groupId ?? '' },
    { id: 'user', label: 'Primary user', width: '140px', value: (d) => d.primaryUser ?? '' },
    { id: 'id', label: 'Device id', width: '320px', value: (d) => d.id, hidden: true },
  ];
  return (
    <div>
      <PageHeader title="Devices" sub={`${devices.length} devices`}><button type="button" className="secondary" onClick={reload} disabled={loading}>Refresh</button></PageHeader>
      <div className="filters card" role="search" aria-label="Filter devices">
        <Field label="Search">{(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name, id, OS, user" />}</Field>
        <Field label="Risk level">{(id) => (
          <select id={id} value={risk} onChange={(e) => setRisk(e.target.value)}>
            <option value="">Any</option>{['high', 'medium', 'low', 'informational', 'none'].map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        )}</Field>
        <Field label="Compliance">{(id) => (
          <select id={id} value={compliance} onChange={(e) => setCompliance(e.target.value)}>
            <option value="">Any</option>{['compliant', 'noncompliant', 'unknown'].map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        )}</Field>
      </div>
      <ErrorView error={error} what="Loading devices" />
      <DataTable label="Devices" testId="devices-table" rows={rows} columns={columns} rowKey={(d) => d.id} chooser csvName="devices" initialSort={{ id: 'risk', desc: true }} onOpen={(d) => navigate(`/devices/${encodeURIComponent(d.id)}`)} empty={loading ? 'Loading…' : 'No devices.'} />
    </div>
  );
}
