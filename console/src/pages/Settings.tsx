import { useState } from 'react';
import { api, listOf } from '../api';
import { GenericTable } from '../components/GenericTable';
import { Card, ConfirmButton, Dialog, ErrorView, Field, Loading, PageHeader, Result, Tabs } from '../components/ui';
import { str, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import { useSearchParams } from '../router';

const LEVELS = ['full', 'semi_all', 'semi_core', 'semi_non_temp', 'none'];
const LEVEL_NAMES: Record<string, string> = {
  full: 'Full – remediate threats automatically', semi_all: 'Semi – approval for any remediation', semi_core: 'Semi – approval for core folders',
  semi_non_temp: 'Semi – approval for non-temp folders', none: 'No automated response',
};
const TABS = [
  { id: 'groups', label: 'Device groups' }, { id: 'compliance', label: 'Compliance policies' }, { id: 'ca', label: 'Conditional Access' },
  { id: 'apps', label: 'Apps' }, { id: 'accounts', label: 'Users and roles' }, { id: 'sensors', label: 'Sensors and enrollment' }, { id: 'mail', label: 'Mail policy' },
];

export default function Settings() {
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'groups';
  return (
    <div>
      <PageHeader title="Settings" />
      <Tabs value={tab} onChange={(t) => setParams({ tab: t === 'groups' ? undefined : t })} tabs={TABS} />
      {tab === 'groups' ? <Groups /> : null}
      {tab === 'compliance' ? <CompliancePolicies /> : null}
      {tab === 'ca' ? <JsonEditable path="/api/v1/conditional-access/policies" keyName="policies" title="Conditional Access policies" prefer={['name', 'state', 'targets', 'conditions', 'grant']} replace="put"
        template={{ name: 'Require a compliant device', state: 'enabled', targets: { includeUsers: ['all'], includeApps: ['all'] }, conditions: {}, grant: 'requireCompliantDevice' }} /> : null}
      {tab === 'apps' ? <JsonEditable path="/api/v1/apps" keyName="apps" title="Apps" prefer={['name', 'id', 'redirectUris', 'resource', 'grantTypes', 'confidential']} replace="patch"
        template={{ name: 'Corporate app', redirectUris: ['https://app.example.com/callback'], resource: 'https://app.example.com', grantTypes: ['authorization_code', 'refresh_token'], confidential: true }} /> : null}
      {tab === 'accounts' ? <Accounts /> : null}
      {tab === 'sensors' ? <Sensors /> : null}
      {tab === 'mail' ? <ListOf path="/api/v1/mail/policy" keyName="policies" title="Mail policy" /> : null}
    </div>
  );
}

function ListOf({ path, keyName, title, prefer }: { path: string; keyName: string; title: string; prefer?: string[] }) {
  const { data, error, loading } = useApi<unknown>(path);
  const rows = listOf<Record<string, unknown>>(data, keyName);
  const single = !Array.isArray(data) && data && typeof data === 'object' && rows.length === 0 ? data as Record<string, unknown> : null;
  return (
    <Card title={title}>
      <ErrorView error={error} what={`Loading ${title.toLowerCase()}`} />
      {loading ? <Loading /> : null}
      {single ? <pre className="cmdline">{JSON.stringify(single, null, 2)}</pre> : !error && !loading ? <GenericTable rows={rows} label={title} prefer={prefer} csvName={keyName} /> : null}
    </Card>
  );
}

interface Group { id: string; name: string; automationLevel: string; compliancePolicyId?: string }

const MAX_RISKS = ['clear', 'low', 'medium', 'high'];

function CompliancePolicies() {
  const { data, error, loading, reload } = useApi<unknown>('/api/v1/compliance-policies');
  const act = useAction();
  const [name, setName] = useState('');
  const [maxRisk, setMaxRisk] = useState('low');
  const policies = listOf<{ id: string; name: string; maxRisk: string; maxSensorSilenceSeconds: number | null }>(data, 'compliancePolicies');
  const update = (id: string, patch: Record<string, unknown>, label: string) => act.run(async () => { await api.patch(`/api/v1/compliance-policies/${encodeURIComponent(id)}`, patch); reload(); }, `${label} saved.`);
  return (
    <Card title="Compliance policies">
      <p className="muted">A device is compliant while its machine risk is at or under the policy's maximum (Intune's "require the device to be at or under the machine risk score") and its sensor has reported recently enough.</p>
      <ErrorView error={error} what="Loading compliance policies" />
      {loading ? <Loading /> : null}
      <Result error={act.error} done={act.done} what="Compliance policy" />
      {policies.length ? (
        <table className="simple">
          <thead><tr><th>Policy</th><th>Maximum machine risk</th><th>Sensor silent at most (seconds)</th></tr></thead>
          <tbody>
            {policies.map((p) => (
              <tr key={p.id}>
                <td>{p.name} <span className="muted">{p.id}</span></td>
                <td>
                  <select aria-label={`Maximum risk of ${p.name}`} value={p.maxRisk} onChange={(e) => void update(p.id, { maxRisk: e.target.value }, p.name)}>
                    {MAX_RISKS.map((r) => <option key={r} value={r}>{titleCase(r)}</option>)}
                  </select>
                </td>
                <td>
                  <input
                    aria-label={`Longest sensor silence of ${p.name}`} type="number" min={0} defaultValue={p.maxSensorSilenceSeconds ?? ''} placeholder="no rule"
                    onBlur={(e) => {
                      const v = e.target.value === '' ? null : Number(e.target.value);
                      if (v !== p.maxSensorSilenceSeconds) void update(p.id, { maxSensorSilenceSeconds: v }, p.name);
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!error ? (
        <form className="row" style={{ marginTop: 12 }} onSubmit={(e) => { e.preventDefault(); void act.run(async () => { await api.post('/api/v1/compliance-policies', { name, maxRisk }); setName(''); reload(); }, 'Policy created.'); }}>
          <Field label="New policy name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
          <Field label="Maximum machine risk">{(id) => <select id={id} value={maxRisk} onChange={(e) => setMaxRisk(e.target.value)}>{MAX_RISKS.map((r) => <option key={r} value={r}>{titleCase(r)}</option>)}</select>}</Field>
          <button type="submit" className="primary" disabled={act.pending}>Add policy</button>
        </form>
      ) : null}
    </Card>
  );
}

/** Records edited as JSON (policies with nested conditions), with the API's validation message on save. */
function JsonEditable({ path, keyName, title, prefer, template, replace }: { path: string; keyName: string; title: string; prefer: string[]; template: Record<string, unknown>; replace: 'put' | 'patch' }) {
  const { data, error, loading, reload } = useApi<unknown>(path);
  const rows = listOf<Record<string, unknown>>(data, keyName);
  const [editing, setEditing] = useState<{ id: string | null; text: string } | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const act = useAction();
  const del = useAction();
  const save = () => act.run(async () => {
    let body: unknown;
    try { body = JSON.parse(editing!.text); } catch (e) { throw new Error(`not valid JSON: ${(e as Error).message}`); }
    if (editing!.id) await (replace === 'put' ? api.put : api.patch)(`${path}/${encodeURIComponent(editing!.id)}`, body);
    else {
      const created = await api.post<Record<string, unknown>>(path, body);
      // A client secret is returned once, at creation.
      if (typeof created?.clientSecret === 'string') setSecret(created.clientSecret);
    }
    setEditing(null);
    reload();
  });
  const editable = (r: Record<string, unknown>) => {
    const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = r;
    return JSON.stringify(rest, null, 2);
  };
  return (
    <Card title={title} actions={<button type="button" className="primary" onClick={() => setEditing({ id: null, text: JSON.stringify(template, null, 2) })}>New</button>}>
      <ErrorView error={error} what={`Loading ${title.toLowerCase()}`} />
      {loading ? <Loading /> : null}
      <Result error={del.error} done={del.done} what="Delete" />
      {secret ? <div className="notice ok" role="status"><strong>Client secret</strong> — shown once; copy it now:<pre className="cmdline" data-testid="secret">{secret}</pre></div> : null}
      {!error && !loading ? (
        <GenericTable rows={rows} label={title} prefer={prefer} csvName={keyName} extra={[{
          id: 'edit', label: '', width: '220px', value: () => '',
          render: (r) => (
            <span className="confirm">
              <button type="button" onClick={() => setEditing({ id: str(r.id), text: editable(r) })}>Edit</button>
              <ConfirmButton label="Delete" confirm="Sure?" onConfirm={() => void del.run(async () => { await api.del(`${path}/${encodeURIComponent(str(r.id))}`); reload(); }, 'Deleted.')} />
            </span>
          ),
        }]} />
      ) : null}
      {editing ? (
        <Dialog title={editing.id ? `Edit ${title.toLowerCase()}` : `New — ${title.toLowerCase()}`} onClose={() => setEditing(null)}>
          <Field label="JSON">{(id) => <textarea id={id} className="mono" rows={16} value={editing.text} onChange={(e) => setEditing({ ...editing, text: e.target.value })} spellCheck={false} />}</Field>
          <Result error={act.error} done={null} what="Saving" />
          <button type="button" className="primary" disabled={act.pending} onClick={() => void save()}>Save</button>
        </Dialog>
      ) : null}
    </Card>
  );
}

function Groups() {
  const { data, error, loading, reload } = useApi<unknown>('/api/v1/device-groups');
  const policies = useApi<unknown>('/api/v1/compliance-policies');
  const act = useAction();
  const [name, setName] = useState('');
  const [level, setLevel] = useState('semi_all');
  const groups = listOf<Group>(data, 'deviceGroups');
  const policyList = listOf<{ id: string; name: string }>(policies.data, 'compliancePolicies');
  const update = (g: Group, patch: Partial<Group>) => act.run(async () => { await api.patch(`/api/v1/device-groups/${encodeURIComponent(g.id)}`, patch); reload(); }, `${g.name} saved.`);
  return (
    <Card title="Device groups and automation levels">
      <ErrorView error={error} what="Loading device groups" />
      {loading ? <Loading /> : null}
      <Result error={act.error} done={act.done} what="Device group" />
      {groups.length ? (
        <table className="simple">
          <thead><tr><th>Group</th><th>Automation level</th><th>Compliance policy</th><th /></tr></thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.id}>
                <td>{g.name} <span className="muted">{g.id}</span></td>
                <td>
                  <select aria-label={`Automation level of ${g.name}`} value={g.automationLevel} onChange={(e) => void update(g, { automationLevel: e.target.value })}>
                    {LEVELS.map((l) => <option key={l} value={l}>{LEVEL_NAMES[l]}</option>)}
                  </select>
                </td>
                <td>
                  {policyList.length ? (
                    <select aria-label={`Compliance policy of ${g.name}`} value={g.compliancePolicyId ?? ''} onChange={(e) => void update(g, { compliancePolicyId: e.target.value })}>
                      {policyList.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
                    </select>
                  ) : str(g.compliancePolicyId)}
                </td>
                <td>{g.id === 'default' ? <span className="muted">default group</span> : <ConfirmButton label="Delete" confirm="Delete group?" onConfirm={() => void act.run(async () => { await api.del(`/api/v1/device-groups/${encodeURIComponent(g.id)}`); reload(); }, 'Group deleted.')} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!error ? (
        <form className="row" style={{ marginTop: 12 }} onSubmit={(e) => { e.preventDefault(); void act.run(async () => { await api.post('/api/v1/device-groups', { name, automationLevel: level }); setName(''); reload(); }, 'Group created.'); }}>
          <Field label="New group name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
          <Field label="Automation level">{(id) => <select id={id} value={level} onChange={(e) => setLevel(e.target.value)}>{LEVELS.map((l) => <option key={l} value={l}>{LEVEL_NAMES[l]}</option>)}</select>}</Field>
          <button type="submit" className="primary" disabled={act.pending}>Add group</button>
        </form>
      ) : null}
    </Card>
  );
}

function Accounts() {
  const { data, error, reload } = useApi<unknown>('/api/v1/users');
  const act = useAction();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState('analyst');
  const [password, setPassword] = useState('');
  const users = listOf<Record<string, unknown>>(data, 'users');
  return (
    <Card title="Console users and roles">
      <ErrorView error={error} what="Loading users" />
      <GenericTable rows={users} label="Console users" prefer={['username', 'displayName', 'role', 'email', 'createdAt']} csvName="console-users" />
      <form className="row" style={{ marginTop: 12 }} onSubmit={(e) => { e.preventDefault(); void act.run(async () => { await api.post('/api/v1/users', { username, role, password: password || undefined }); setUsername(''); setPassword(''); reload(); }, `User ${username} created.`); }}>
        <Field label="Username">{(id) => <input id={id} value={username} onChange={(e) => setUsername(e.target.value)} required />}</Field>
        <Field label="Role">{(id) => <select id={id} value={role} onChange={(e) => setRole(e.target.value)}>{['reader', 'analyst', 'responder', 'admin'].map((r) => <option key={r} value={r}>{titleCase(r)}</option>)}</select>}</Field>
        <Field label="Password">{(id) => <input id={id} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}</Field>
        <button type="submit" className="primary" disabled={act.pending}>Add user</button>
      </form>
      <Result error={act.error} done={act.done} what="Creating the user" />
    </Card>
  );
}

function Sensors() {
  const { data, error, reload } = useApi<unknown>('/api/v1/sensors');
  const act = useAction();
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [group, setGroup] = useState('');
  const sensors = listOf<Record<string, unknown>>(data, 'sensors');
  return (
    <>
      <Card title="Sensors">
        <ErrorView error={error} what="Loading sensors" />
        <GenericTable rows={sensors} label="Sensors" prefer={['name', 'id', 'deviceId', 'createdAt', 'lastSeen', 'revoked']} csvName="sensors" extra={[{
          id: 'revoke', label: '', width: '200px', value: () => '',
          render: (s) => s.revokedAt || s.revoked ? null : <ConfirmButton label="Revoke" confirm="Revoke?" onConfirm={() => void act.run(async () => { await api.del(`/api/v1/sensors/${encodeURIComponent(str(s.id))}`); reload(); }, 'Sensor revoked.')} />,
        }]} />
        <form className="row" style={{ marginTop: 12 }} onSubmit={(e) => { e.preventDefault(); void act.run(async () => { const r = await api.post<{ token: string }>('/api/v1/sensors', { name }); setSecret({ label: `Token of sensor ${name}`, value: r.token }); setName(''); reload(); }); }}>
          <Field label="New sensor name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
          <button type="submit" className="primary" disabled={act.pending}>Create sensor</button>
        </form>
      </Card>
      <Card title="Enrollment tokens">
        <p className="muted">A one-time token (valid 24 hours) that an agent exchanges for its own identity: <code>vigil agent --enroll &lt;token&gt;</code>.</p>
        <form className="row" onSubmit={(e) => { e.preventDefault(); void act.run(async () => { const r = await api.post<{ token: string }>('/api/v1/enrollment-tokens', { deviceGroup: group || undefined }); setSecret({ label: 'Enrollment token', value: r.token }); }); }}>
          <Field label="Device group (optional)">{(id) => <input id={id} value={group} onChange={(e) => setGroup(e.target.value)} />}</Field>
          <button type="submit" className="primary" disabled={act.pending}>Create enrollment token</button>
        </form>
      </Card>
      <Result error={act.error} done={act.done} what="Sensors" />
      {secret ? (
        <div className="notice ok" role="status">
          <strong>{secret.label}</strong> — shown once; copy it now:
          <pre className="cmdline" data-testid="secret">{secret.value}</pre>
        </div>
      ) : null}
    </>
  );
}
