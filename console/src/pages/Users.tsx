import { useMemo, useState } from 'react';
import { listOf } from '../api';
import { DataTable, type Column } from '../components/DataTable';
import { Badge, ErrorView, Field, PageHeader } from '../components/ui';
import { SEVERITY_ORDER, str, time } from '../format';
import { useApi } from '../hooks';
import { useAuth } from '../auth';
import { useLive } from '../live';
import { Link, navigate } from '../router';

export interface DirectoryUser {
  id?: string; key?: string; username?: string; upn?: string; displayName?: string; email?: string; role?: string;
  riskLevel?: string; disabled?: boolean; enabled?: boolean; state?: string; lastSignIn?: string; createdAt?: string;
}
export const userKey = (u: DirectoryUser) => str(u.username ?? u.key ?? u.upn ?? u.id);
export const userState = (u: DirectoryUser) => u.state ?? (u.disabled === true || u.enabled === false ? 'disabled' : 'enabled');

export default function Users() {
  // Admins see every account; other roles see the users that carry risk (GET /api/v1/users is admin-only).
  const { can } = useAuth();
  const admin = can('admin');
  const accounts = useApi<unknown>(admin ? '/api/v1/users' : null);
  const risky = useApi<unknown>('/api/v1/risk/users');
  const reload = () => { accounts.reload(); risky.reload(); };
  useLive(['user.risk-changed', 'session.revoked'], reload);
  const riskOf = new Map(listOf<{ id: string; riskLevel: string }>(risky.data, 'items').map((r) => [r.id.toLowerCase(), r.riskLevel]));
  const data = admin ? accounts.data : { users: listOf<{ id: string; riskLevel: string }>(risky.data, 'items').map((r) => ({ key: r.id, username: r.id, riskLevel: r.riskLevel })) };
  const error = admin ? accounts.error : risky.error;
  const loading = admin ? accounts.loading : risky.loading;
  const [q, setQ] = useState('');
  const users = listOf<DirectoryUser>(data, 'users').map((u) => ({ ...u, riskLevel: u.riskLevel ?? riskOf.get(userKey(u).toLowerCase()) ?? 'none' }));
  const rows = useMemo(() => users.filter((u) => !q || [u.username, u.displayName, u.upn, u.email].some((v) => str(v).toLowerCase().includes(q.toLowerCase()))), [users, q]);
  const columns: Column<DirectoryUser>[] = [
    { id: 'name', label: 'User', width: 'minmax(200px, 2fr)', value: (u) => u.displayName ?? userKey(u), render: (u) => <Link to={`/users/${encodeURIComponent(userKey(u))}`}>{u.displayName ?? userKey(u)}</Link> },
    { id: 'key', label: 'Account', width: '200px', value: (u) => u.upn ?? u.email ?? userKey(u) },
    { id: 'risk', label: 'Risk level', width: '120px', value: (u) => u.riskLevel ?? '', sortValue: (u) => SEVERITY_ORDER[u.riskLevel ?? ''] ?? 0, render: (u) => <Badge value={u.riskLevel ?? 'none'} kind="risk" /> },
    { id: 'state', label: 'State', width: '110px', value: userState, render: (u) => <Badge value={userState(u)} kind="state" /> },
    { id: 'last', label: 'Last sign-in', width: '190px', value: (u) => u.lastSignIn ?? '', render: (u) => time(u.lastSignIn) },
  ];
  return (
    <div>
      <PageHeader title="Users" sub={admin ? 'Accounts that sign in to the console and, through Vigil, to corporate apps' : 'Users with risk (an admin sees every account)'}><button type="button" className="secondary" onClick={reload} disabled={loading}>Refresh</button></PageHeader>
      <div className="filters card" role="search" aria-label="Filter users">
        <Field label="Search">{(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} />}</Field>
      </div>
      <ErrorView error={error} what="Loading users" />
      <DataTable label="Users" rows={rows} columns={columns} rowKey={userKey} chooser csvName="users" initialSort={{ id: 'risk', desc: true }} onOpen={(u) => navigate(`/users/${encodeURIComponent(userKey(u))}`)} empty={loading ? 'Loading…' : 'No users.'} />
    </div>
  );
}
