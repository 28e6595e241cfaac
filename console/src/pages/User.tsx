import { api, qs } from '../api';
import { RequireRole } from '../auth';
import { Badge, Card, ConfirmButton, ErrorView, KeyValues, Loading, PageHeader, Result } from '../components/ui';
import { str, time } from '../format';
import { useAction, useApi } from '../hooks';
import { useLive } from '../live';
import { Link } from '../router';
import { Sessions } from './Device';
import { SignIns } from '../components/SignIns';
import { userState, type DirectoryUser } from './Users';

export default function User({ params }: { params: Record<string, string> }) {
  const key = params.id;
  const user = useApi<DirectoryUser & Record<string, unknown>>(`/api/v1/users/${encodeURIComponent(key)}`);
  useLive(['user.risk-changed', 'session.revoked'], () => { user.reload(); });
  const act = useAction();
  const respond = (kind: string, label: string) => act.run(async () => {
    await api.post('/api/v1/actions', { kind, target: key, params: {} });
    user.reload();
  }, `${label} requested.`);
  if (user.loading && !user.data) return <Loading />;
  const u = user.data;
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
        <SignIns title="Sign-ins and token decisions (last 7 days)" match={(r) => [r.AlternateSignInName, r.AccountUpn, r.AccountObjectId].some((v) => typeof v === 'string' && v.toLowerCase() === key.toLowerCase()) || (u?.id !== undefined && r.AccountObjectId === u.id)} />
      </Card>
      <Sessions path={`/api/v1/sessions${qs({ user: key })}`} />
    </div>
  );
}
