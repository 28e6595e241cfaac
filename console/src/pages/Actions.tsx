import { useMemo } from 'react';
import { listOf, qs } from '../api';
import { ActionsTable } from '../components/ActionsPanel';
import { ErrorView, Field, PageHeader, Tabs } from '../components/ui';
import { titleCase } from '../format';
import { useApi } from '../hooks';
import { useLive } from '../live';
import type { ActionRecord } from '../model';
import { useSearchParams } from '../router';

const RANGES: Record<string, number> = { day: 864e5, week: 7 * 864e5, '30d': 30 * 864e5, '6m': 182 * 864e5 };

export default function Actions() {
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'history' ? 'history' : 'pending';
  const range = params.get('range') ?? '30d';
  const kind = params.get('kind') ?? '';
  const targetType = params.get('targetType') ?? '';
  const source = params.get('source') ?? '';
  const since = useMemo(() => new Date(Date.now() - (RANGES[range] ?? RANGES['30d'])).toISOString(), [range]);
  const { data, error, loading, reload } = useApi<unknown>(`/api/v1/actions${qs({ state: tab, since, kind, targetType, source, limit: 10000 })}`);
  const kinds = useApi<unknown>('/api/v1/actions/kinds');
  useLive(['action.changed'], reload);
  const actions = listOf<ActionRecord>(data, 'actions').filter((a) => (!kind || a.kind === kind) && (!targetType || a.targetType === targetType) && (!source || a.source === source));
  const kindNames = listOf<{ kind: string }>(kinds.data, 'kinds').map((k) => k.kind);
  return (
    <div>
      <PageHeader title="Action center" sub="Remediation waiting for approval, and what was done"><button type="button" className="secondary" onClick={reload} disabled={loading}>Refresh</button></PageHeader>
      <Tabs value={tab} onChange={(t) => setParams({ tab: t === 'pending' ? undefined : t })} tabs={[{ id: 'pending', label: 'Pending' }, { id: 'history', label: 'History' }]} />
      <div className="filters card" role="search" aria-label="Filter actions">
        <Field label="Action">{(id) => (
          <select id={id} value={kind} onChange={(e) => setParams({ kind: e.target.value })}>
            <option value="">Any</option>{kindNames.map((k) => <option key={k} value={k}>{titleCase(k)}</option>)}
          </select>
        )}</Field>
        <Field label="Target type">{(id) => (
          <select id={id} value={targetType} onChange={(e) => setParams({ targetType: e.target.value })}>
            <option value="">Any</option>{['device', 'user', 'email', 'indicator'].map((k) => <option key={k} value={k}>{titleCase(k)}</option>)}
          </select>
        )}</Field>
        <Field label="Source">{(id) => (
          <select id={id} value={source} onChange={(e) => setParams({ source: e.target.value })}>
            <option value="">Any</option>{['manual', 'automated', 'undo'].map((k) => <option key={k} value={k}>{titleCase(k)}</option>)}
          </select>
        )}</Field>
        <Field label="Time">{(id) => (
          <select id={id} value={range} onChange={(e) => setParams({ range: e.target.value })}>
            <option value="day">Last day</option><option value="week">Last week</option><option value="30d">Last 30 days</option><option value="6m">Last 6 months</option>
          </select>
        )}</Field>
      </div>
      <ErrorView error={error} what="Loading actions" />
      <ActionsTable actions={actions} onChanged={reload} csvName={`actions-${tab}`} testId="actions-table" />
    </div>
  );
}
