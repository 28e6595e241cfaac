// Actions with approve / reject / undo, used by the action center and the incident page.
import { useState } from 'react';
import { api, listOf } from '../api';
import { useAuth } from '../auth';
import { ago, str, time, titleCase } from '../format';
import { useAction, useApi } from '../hooks';
import { PENDING_STATES, type ActionRecord, type Device } from '../model';
import { Link } from '../router';
import { DataTable, type Column } from './DataTable';
import { Badge, Result } from './ui';

export function targetLink(a: Pick<ActionRecord, 'targetType' | 'target'>, names?: ReadonlyMap<string, string>) {
  if (a.targetType === 'device') return <Link to={`/devices/${encodeURIComponent(a.target)}`} title={a.target}>{names?.get(a.target) ?? a.target}</Link>;
  if (a.targetType === 'user') return <Link to={`/users/${encodeURIComponent(a.target)}`}>{a.target}</Link>;
  return <span>{a.target}</span>;
}

export async function decide(ids: string[], verb: 'approve' | 'reject', comment: string): Promise<void> {
  const body = verb === 'approve' ? { ids, comment: comment || undefined } : { ids, reason: comment || 'rejected by analyst' };
  const result = await api.post<{ errors?: { id: string; message: string }[] }>(`/api/v1/actions/${verb}`, body);
  if (result?.errors?.length) throw new Error(`${result.errors.length} of ${ids.length} not ${verb}d: ${result.errors[0].message}`);
}

export function ActionsTable({ actions, onChanged, csvName, testId, maxHeight }: { actions: ActionRecord[]; onChanged(): void; csvName?: string; testId?: string; maxHeight?: number }) {
  const { can } = useAuth();
  const responder = can('responder');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [comment, setComment] = useState('');
  const act = useAction();
  // Device targets are ids; their names come from the inventory when the caller may read it.
  const inventory = useApi<unknown>('/api/v1/devices');
  const names = new Map(listOf<Device>(inventory.data, 'devices').map((d) => [d.id, d.hostname]));
  const nameOf = (a: ActionRecord) => (a.targetType === 'device' ? names.get(a.target) ?? a.target : a.target);
  const pendingSelected = actions.filter((a) => selected.has(a.id) && PENDING_STATES.has(a.state)).map((a) => a.id);
  const run = (ids: string[], verb: 'approve' | 'reject') => act.run(async () => {
    await decide(ids, verb, comment);
    setSelected(new Set());
    setComment('');
    onChanged();
  }, `${ids.length} action${ids.length === 1 ? '' : 's'} ${verb === 'approve' ? 'approved' : 'rejected'}.`);
  const undo = (id: string) => act.run(async () => {
    await api.post(`/api/v1/actions/${encodeURIComponent(id)}/undo`);
    onChanged();
  }, 'Undo requested.');

  const columns: Column<ActionRecord>[] = [
    { id: 'kind', label: 'Action', width: '150px', value: (a) => titleCase(a.kind) },
    { id: 'target', label: 'Target', width: 'minmax(150px, 2fr)', value: nameOf, render: (a) => targetLink(a, names) },
    { id: 'state', label: 'Status', width: '150px', value: (a) => a.state, render: (a) => <Badge value={a.state} kind="state" /> },
    { id: 'source', label: 'Source', width: '100px', value: (a) => a.source },
    { id: 'requestedBy', label: 'Requested by', width: 'minmax(120px, 1fr)', value: (a) => a.requestedBy },
    { id: 'created', label: 'Created', width: '110px', value: (a) => a.createdAt, render: (a) => <span title={time(a.createdAt)}>{ago(a.createdAt)}</span> },
    { id: 'reason', label: 'Reason', width: 'minmax(120px, 2fr)', value: (a) => a.rejectReason ?? a.decisionReason ?? a.message ?? '' },
    { id: 'decidedBy', label: 'Decided by', width: '140px', value: (a) => a.decidedBy ?? '', hidden: true },
    { id: 'params', label: 'Parameters', width: '220px', value: (a) => str(a.params ?? {}), hidden: true },
    { id: 'id', label: 'Id', width: '240px', value: (a) => a.id, hidden: true },
  ];
  if (responder) {
    // Second, so the decision buttons stay in view however many columns are shown.
    columns.splice(1, 0, {
      id: 'do', label: 'Decide', width: '190px', value: () => '',
      render: (a) => PENDING_STATES.has(a.state) ? (
        <span className="confirm">
          <button type="button" className="primary" disabled={act.pending} onClick={() => run([a.id], 'approve')} aria-label={`Approve ${a.kind} on ${nameOf(a)}`}>Approve</button>
          <button type="button" disabled={act.pending} onClick={() => run([a.id], 'reject')} aria-label={`Reject ${a.kind} on ${nameOf(a)}`}>Reject</button>
        </span>
      ) : a.state === 'succeeded' && !a.undoneBy && UNDOABLE.has(a.kind) ? (
        <button type="button" disabled={act.pending} onClick={() => undo(a.id)} aria-label={`Undo ${a.kind} on ${nameOf(a)}`}>Undo</button>
      ) : null,
    });
  }
  return (
    <div>
      {responder && pendingSelected.length > 0 ? (
        <div className="bulkbar" role="region" aria-label="Decide selected actions">
          <strong>{pendingSelected.length} pending selected</strong>
          <label htmlFor="decision-comment">Comment / reason</label>
          <input id="decision-comment" value={comment} onChange={(e) => setComment(e.target.value)} size={28} />
          <button type="button" className="primary" disabled={act.pending} onClick={() => run(pendingSelected, 'approve')}>Approve selected</button>
          <button type="button" disabled={act.pending} onClick={() => run(pendingSelected, 'reject')}>Reject selected</button>
        </div>
      ) : null}
      <Result error={act.error} done={act.done} what="Action" />
      <DataTable
        label="Actions" testId={testId} rows={actions} columns={columns} rowKey={(a) => a.id} chooser csvName={csvName}
        selected={responder ? selected : undefined} onSelectedChange={responder ? setSelected : undefined}
        initialSort={{ id: 'created', desc: true }} maxHeight={maxHeight}
        empty="No actions."
      />
    </div>
  );
}

/** Kinds whose success can be reversed (defender-xdr.md §3 "Undoable"). */
export const UNDOABLE = new Set(['isolate', 'quarantine_file', 'restrict_app', 'stop_and_quarantine', 'disable_user', 'remove_persistence']);

export function actionTime(a: ActionRecord): string {
  return time(a.completedAt ?? a.decidedAt ?? a.createdAt);
}
