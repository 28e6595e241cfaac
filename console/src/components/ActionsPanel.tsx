// Actions with approve / reject / undo, used by the action center and the incident page.
import { useState } from 'react';
import { api } from '../api';
import { useAuth } from '../auth';
import { ago, str, time, titleCase } from '../format';
import { useAction } from '../hooks';
import { PENDING_STATES, type ActionRecord } from '../model';
import { Link } from '../router';
import { DataTable, type Column } from './DataTable';
import { Badge, Result } from './ui';

export function targetLink(a: Pick<ActionRecord, 'targetType' | 'target'>) {
  if (a.targetType === 'device') return <Link to={`/devices/${encodeURIComponent(a.target)}`}>{a.target}</Link>;
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
    { id: 'kind', label: 'Action', width: '170px', value: (a) => titleCase(a.kind) },
    { id: 'target', label: 'Target', width: 'minmax(180px, 2fr)', value: (a) => a.target, render: targetLink },
    { id: 'state', label: 'Status', width: '150px', value: (a) => a.state, render: (a) => <Badge value={a.state} kind="state" /> },
    { id: 'source', label: 'Source', width: '110px', value: (a) => a.source },
    { id: 'requestedBy', label: 'Requested by', width: '200px', value: (a) => a.requestedBy },
    { id: 'created', label: 'Created', width: '120px', value: (a) => a.createdAt, render: (a) => <span title={time(a.createdAt)}>{ago(a.createdAt)}</span> },
    { id: 'reason', label: 'Reason', width: 'minmax(200px, 2fr)', value: (a) => a.rejectReason ?? a.decisionReason ?? a.message ?? '' },
    { id: 'decidedBy', label: 'Decided by', width: '140px', value: (a) => a.decidedBy ?? '', hidden: true },
    { id: 'params', label: 'Parameters', width: '220px', value: (a) => str(a.params ?? {}), hidden: true },
    { id: 'id', label: 'Id', width: '240px', value: (a) => a.id, hidden: true },
  ];
  if (responder) {
    columns.push({
      id: 'do', label: 'Decide', width: '220px', value: () => '',
      render: (a) => PENDING_STATES.has(a.state) ? (
        <span className="confirm">
          <button type="button" className="primary" disabled={act.pending} onClick={() => run([a.id], 'approve')} aria-label={`Approve ${a.kind} on ${a.target}`}>Approve</button>
          <button type="button" disabled={act.pending} onClick={() => run([a.id], 'reject')} aria-label={`Reject ${a.kind} on ${a.target}`}>Reject</button>
        </span>
      ) : a.state === 'succeeded' && !a.undoneBy && UNDOABLE.has(a.kind) ? (
        <button type="button" disabled={act.pending} onClick={() => undo(a.id)} aria-label={`Undo ${a.kind} on ${a.target}`}>Undo</button>
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
