import { api, isMissingRoute, listOf, qs } from '../api';
import { RequireRole } from '../auth';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, Card, ConfirmButton, ErrorView, KeyValues, Loading, PageHeader, Result } from '../components/ui';
import { str, time } from '../format';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import { Link } from '../router';
import { Sessions } from './Device';
import { userState, type DirectoryUser } from './Users';

interface SignIn { at?: string; timestamp?: string; app?: string; clientId?: string; decision?: string; result?: string; reason?: string; deviceId?: string; deviceName?: string; policy?: string; ip?: string }

export default function User({ params }: { params: Record<string, string> }) {
  const key = params.id;
  const user = useApi<DirectoryUser & Record<string, unknown>>(`/api/v1/users/${encodeURIComponent(key)}`);
  const signIns = useApi<unknown>(`/api/v1/sign-ins${qs({ user: key, limit: 500 })}`);
  useLive(['user.risk-changed', 'session.revoked'], () => { user.reload(); signIns.reload(); });
  const act = useAction();
  const respond = (kind: string, label: string) => act.run(async () => {
    await api.post('/api/v1/actions', { kind, target: key, params: {} });
    user.reload();
  }, `${label} requested.`);
  if (user.loading && !user.data) return <Loading />;
  const u = user.data;
  const rows = listOf<SignIn>(signIns.data, 'signIns');
  const columns: Column<SignIn>[] = [
    { id: 'at', label: 'Time', width: '190px', value: (s) => s.at ?? s.timestamp ?? '', render: (s) => time(s.at ?? s.timestamp) },
    { id: 'app', label: 'App', width: '160px', value: (s) => s.app ?? s.clientId ?? '' },
    { id: 'decision', label: 'Decision', width: '120px', value: (s) => s.decision ?? s.result ?? '', render: (s) => <Badge value={s.decision ?? s.result} kind="state" /> },
    { id: 'reason', label: 'Why', width: 'minmax(260px, 3fr)', value: (s) => [s.policy, s.reason].filter(Boolean).join(': ') },
    { id: 'device', label: 'Device', width: '180px', value: (s) => s.deviceName ?? s.deviceId ?? '', render: (s) => s.deviceId ? <Link to={`/devices/${encodeURIComponent(s.deviceId)}`}>{s.deviceName ?? s.deviceId}</Link> : str(s.deviceName) },
    { id: 'ip', label: 'IP', width: '130px', value: (s) => s.ip ?? '' },
  ];
  return (
    <div>
      <PageHeader title={u?.displayName ?? key} sub={u ? <><Badge value={u.riskLevel ?? 'none'} kind="risk" /><Badge value={userState(u)} kind="state" /><span className="muted">{key}</span></> : key}>
        <Link to="/users">← Users</Link>
      </PageHeader>
      <ErrorView error={user.error} what="Loading the user" />
      <RequireRole role="responder">
        <div className="card page-actions" role="group" aria-label="User actions">
          {u && userState(u) === 'disabled'
            ? <button type="button" onClick={() => respond('enable_user', 'Enable')} disabled={act.pending}>Enable user</button>
            : <ConfirmButton className="danger" label="Disable user" confirm="Disable this account?" onConfirm={() => void respond('disable_user', 'Disable')} disabled={act.pending} />}
          <button type="button" disabled={act.pending} onClick={() => act.run(async () => { await api.post(`/api/v1/users/${encodeURIComponent(key)}/revoke-sessions`); user.reload(); }, 'Sessions revoked.')}>Revoke sessions</button>
          <button type="button" onClick={() => respond('require_password_reset', 'Password reset')} disabled={act.pending}>Require password reset</button>
          <ConfirmButton label="Confirm compromised" confirm="Mark this user compromised (risk high)?" onConfirm={() => void respond('confirm_compromised', 'Confirm compromised')} disabled={act.pending} />
          <div style={{ flexBasis: '100%' }}><Result error={act.error} done={act.done} what="User action" /></div>
        </div>
      </RequireRole>
      {u ? (
        <Card title="Overview">
          <KeyValues items={[
            ['Display name', str(u.displayName)], ['Account', str(u.upn ?? u.email ?? u.username ?? key)], ['Risk level', <Badge value={u.riskLevel ?? 'none'} kind="risk" />],
            ['Risk reason', str(u.riskReason)], ['Role', str(u.role)], ['Groups', (Array.isArray(u.groups) ? u.groups : []).map((g) => str((g as { name?: string }).name ?? g)).join(', ')],
            ['State', userState(u)], ['Last sign-in', time(u.lastSignIn)], ['Created', time(u.createdAt)],
          ]} />
        </Card>
      ) : null}
      <Card title="Conditional Access decisions">
        <ErrorView error={signIns.error} what="Loading sign-ins" />
        {isMissingRoute(signIns.error) ? null : <DataTable label="Sign-ins" rows={rows} columns={columns} rowKey={(s) => `${s.at ?? s.timestamp}|${s.app ?? s.clientId}|${s.deviceId}`} initialSort={{ id: 'at', desc: true }} csvName={`sign-ins-${key}`} maxHeight={360} empty="No sign-ins recorded." />}
      </Card>
      <Sessions path={`/api/v1/sessions${qs({ user: key })}`} />
    </div>
  );
}
