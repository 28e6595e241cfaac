// Conditional Access decisions: every sign-in and token decision is a row of EntraIdSignInEvents
// (Defender's schema), read through the telemetry API and filtered to one user or one device.
import { useEffect, useState } from 'react';
import { api, qs } from '../api';
import { str, time } from '../format';
import { Link } from '../router';
import { DataTable, type Column } from './DataTable';
import { Badge, ErrorView, Loading } from './ui';

type Row = Record<string, unknown>;
const PAGES = 10;

/** ConditionalAccessStatus: 0 success, 1 failure, 2 not applied (Entra's values). */
export function decisionOf(r: Row): string {
  if (Number(r.ErrorCode ?? 0) !== 0 || r.ConditionalAccessStatus === 1) return 'blocked';
  return r.ConditionalAccessStatus === 0 ? 'allowed' : 'allowed (no policy applied)';
}

function whyOf(r: Row): string {
  if (r.RiskDetails) return str(r.RiskDetails);
  if (Number(r.ErrorCode) === 53000) return 'device is not compliant';
  if (Number(r.ErrorCode) === 53003) return 'blocked by Conditional Access';
  let policies: { displayName?: string; result?: string }[] = [];
  try {
    const raw = typeof r.ConditionalAccessPolicies === 'string' ? JSON.parse(r.ConditionalAccessPolicies) : r.ConditionalAccessPolicies;
    if (Array.isArray(raw)) policies = raw;
  } catch {
    // Not JSON: shown as it is below.
  }
  const applied = policies.filter((p) => p.result && p.result !== 'notApplied').map((p) => `${p.displayName ?? '?'}: ${p.result}`);
  return applied.join('; ');
}

export function SignIns({ match, title, days = 7 }: { match(row: Row): boolean; title: string; days?: number }) {
  const [state, setState] = useState<{ rows: Row[]; error: Error | null; loading: boolean }>({ rows: [], error: null, loading: true });
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const since = new Date(Date.now() - days * 864e5).toISOString();
      const rows: Row[] = [];
      let cursor: string | null | undefined;
      for (let page = 0; page < PAGES; page++) {
        const result = await api.get<{ rows: Row[]; nextCursor: string | null }>(`/api/v1/events/EntraIdSignInEvents${qs({ since, limit: 1000, cursor })}`);
        rows.push(...result.rows.filter(match));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      if (!cancelled) setState({ rows, error: null, loading: false });
    })().catch((error: Error) => { if (!cancelled) setState({ rows: [], error, loading: false }); });
    return () => { cancelled = true; };
  }, [days]); // eslint-disable-line react-hooks/exhaustive-deps
  const columns: Column<Row>[] = [
    { id: 'at', label: 'Time', width: '190px', value: (r) => str(r.Timestamp), render: (r) => time(r.Timestamp) },
    { id: 'user', label: 'User', width: '120px', value: (r) => str(r.AlternateSignInName ?? r.AccountUpn) },
    { id: 'app', label: 'App', width: '160px', value: (r) => str(r.Application) },
    { id: 'decision', label: 'Decision', width: '120px', value: decisionOf, render: (r) => <Badge value={decisionOf(r).startsWith('allowed') ? 'allowed' : 'blocked'} kind="state" /> },
    { id: 'why', label: 'Why', width: 'minmax(240px, 3fr)', value: whyOf },
    { id: 'device', label: 'Device', width: '160px', value: (r) => str(r.DeviceName ?? r.EntraIdDeviceId), render: (r) => r.EntraIdDeviceId ? <Link to={`/devices/${encodeURIComponent(str(r.EntraIdDeviceId))}`}>{str(r.DeviceName ?? r.EntraIdDeviceId)}</Link> : <span className="muted">unmanaged</span> },
    { id: 'compliant', label: 'Compliant', width: '100px', value: (r) => (r.IsCompliant === 1 || r.IsCompliant === true ? 'yes' : 'no') },
    { id: 'ip', label: 'IP', width: '130px', value: (r) => str(r.IPAddress) },
    { id: 'endpoint', label: 'Step', width: '110px', value: (r) => str(r.EndpointCall), hidden: true },
    { id: 'session', label: 'Session', width: '200px', value: (r) => str(r.SessionId), hidden: true },
  ];
  return (
    <div>
      <h3>{title}</h3>
      <ErrorView error={state.error} what="Loading sign-ins" />
      {state.loading ? <Loading /> : null}
      {!state.loading && !state.error ? (
        <DataTable label={title} rows={state.rows} columns={columns} rowKey={(r) => str(r.ReportId ?? `${str(r.Timestamp)}|${str(r.CorrelationId)}`)} initialSort={{ id: 'at', desc: true }} chooser csvName="sign-ins" maxHeight={360} empty={`No sign-ins in the last ${days} days.`} />
      ) : null}
    </div>
  );
}
