import { ulid } from 'ulid';
import { VigilError } from '../errors/index.js';
import type { Bus } from '../bus/index.js';
import type { Store } from '../store/index.js';
import type { AuditLog } from './audit-log.js';
import { normaliseTarget } from './action-kinds.js';
import type { CommandChannel } from './command-channel.js';
import {
  TERMINAL_STATES, type ActionKind, type ActionRecord, type ActionSource, type ActionState, type CommandRecord, type TargetType,
} from './types.js';

/** Who asks or decides: a principal's id and display name. */
export interface Actor {
  readonly id: string;
  readonly name: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'system:automated-investigation', name: 'system:automated-investigation' };

export interface CreateActionInput {
  readonly kind: string;
  readonly target: string;
  readonly params?: unknown;
  readonly source: ActionSource;
  readonly requestedBy: Actor;
  readonly comment?: string;
  /** 'auto' runs at once; 'approval' waits in the action center. */
  readonly decision: 'auto' | 'approval';
  readonly decisionReason?: string;
  readonly investigationId?: string;
  readonly alertIds?: readonly string[];
  readonly verdict?: 'malicious' | 'suspicious';
  readonly undoOf?: string;
}

export interface ActionFilter {
  /** 'pending' = proposed or pending approval; 'history' = everything else; or one state. */
  readonly state?: 'pending' | 'history' | ActionState;
  readonly kind?: string;
  readonly targetType?: TargetType;
  readonly target?: string;
  readonly source?: ActionSource;
  readonly investigationId?: string;
  /** Created at or after (ISO 8601 or epoch ms). */
  readonly since?: string | number;
  readonly limit?: number;
}

export interface BatchResult {
  readonly done: ActionRecord[];
  readonly errors: { readonly id: string; readonly error: string; readonly message: string }[];
}

export interface ActionService {
  registerKind(plugin: ActionKind): void;
  kinds(): readonly ActionKind[];
  kind(name: string): ActionKind | undefined;
  create(input: CreateActionInput): Promise<ActionRecord>;
  approve(ids: readonly string[], by: Actor, comment?: string): Promise<BatchResult>;
  reject(ids: readonly string[], by: Actor, reason: string): Promise<BatchResult>;
  /** Issues the reversing action of a succeeded, undoable action. */
  undo(id: string, by: Actor): Promise<ActionRecord>;
  get(id: string): Promise<ActionRecord | undefined>;
  list(filter?: ActionFilter): Promise<ActionRecord[]>;
  /** Actions of an investigation not yet in a terminal state. */
  openCount(investigationId: string): Promise<number>;
  /**
   * Pending for 7 days → rejected; commands past their 3-day retry window → timed out; work a crash
   * interrupted (an action left proposed or approved for over a minute) is finished.
   */
  sweep(): Promise<{ expired: number; timedOut: number; recovered: number }>;
  /** Called with every action whose state changed (after it is stored). */
  onChange(listener: (action: ActionRecord) => Promise<void> | void): void;
  /** The command channel reports: moves the command's action along. */
  commandUpdated(command: CommandRecord): Promise<void>;
}

export interface ActionServiceOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly audit: AuditLog;
  readonly commands: CommandChannel;
  readonly now: () => number;
  /** The approver must not be the requester; manual actions then wait for a second responder. */
  readonly fourEyes?: boolean;
  /** Pending actions count as rejected after this long. Default 7 days. */
  readonly pendingExpiryMs?: number;
  readonly onError?: (error: unknown, context: string) => void;
}

const iso = (ms: unknown) => (ms == null ? undefined : new Date(Number(ms)).toISOString());
const opt = <T>(v: T | null | undefined) => (v == null ? undefined : v);

function toAction(r: any): ActionRecord {
  return {
    id: r.id, kind: r.kind, targetType: r.target_type, target: r.target, params: JSON.parse(r.params), state: r.state,
    source: r.source, requestedBy: r.requested_by, requestedById: r.requested_by_id, comment: opt(r.comment),
    decisionReason: opt(r.decision_reason), decidedBy: opt(r.decided_by), decidedAt: iso(r.decided_at),
    rejectReason: opt(r.reject_reason), investigationId: opt(r.investigation_id), alertIds: JSON.parse(r.alert_ids),
    verdict: opt(r.verdict), commandId: opt(r.command_id), message: opt(r.message),
    output: r.output == null ? undefined : JSON.parse(r.output), undoOf: opt(r.undo_of), undoneBy: opt(r.undone_by),
    createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!, dispatchedAt: iso(r.dispatched_at), completedAt: iso(r.completed_at),
  };
}

function toEpoch(value: string | number): number {
  const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new VigilError('bad_request', 400, `'since' is not a valid time: ${String(value)}`);
  return ms;
}

export function createActionService(options: ActionServiceOptions): ActionService {
  const { store, bus, audit, commands, now } = options;
  const db = store.db;
  const pendingExpiryMs = options.pendingExpiryMs ?? 7 * 24 * 60 * 60 * 1000;
  const registry = new Map<string, ActionKind>();
  const listeners: Array<(action: ActionRecord) => Promise<void> | void> = [];
  // Actions whose executor is running in this process (recovery leaves them alone).
  const executing = new Set<string>();
  const RECOVER_AFTER_MS = 60_000;

  async function get(id: string) {
    const row = await db.selectFrom('response_actions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAction(row) : undefined;
  }

  /** Moves an action from one of `from` to `to`; false when it was not in `from` (someone else moved it). */
  async function transition(id: string, from: readonly ActionState[], to: ActionState, patch: Record<string, unknown> = {}): Promise<ActionRecord | undefined> {
    const t = now();
    const row = await db.updateTable('response_actions')
      .set({ ...patch, state: to, updated_at: t, ...(TERMINAL_STATES.has(to) ? { completed_at: t } : {}) })
      .where('id', '=', id).where('state', 'in', from).returningAll().executeTakeFirst();
    if (!row) return undefined;
    const action = toAction(row);
    await bus.publish('action.changed', { actionId: id, kind: action.kind, state: to });
    await notify(action);
    return action;
  }

  // A failing listener (an investigation's bookkeeping) must not undo or fail the state change itself.
  async function notify(action: ActionRecord) {
    for (const listener of listeners) {
      try {
        await listener(action);
      } catch (error) {
        options.onError?.(error, `action.changed listener for ${action.id}`);
      }
    }
  }

  async function execute(action: ActionRecord): Promise<ActionRecord> {
    executing.add(action.id);
    try {
      return await executeNow(action);
    } finally {
      executing.delete(action.id);
    }
  }

  async function executeNow(action: ActionRecord): Promise<ActionRecord> {
    const plugin = registry.get(action.kind);
    if (!plugin) {
      return (await transition(action.id, ['approved'], 'failed', { message: `no executor is registered for '${action.kind}'` })) ?? action;
    }
    let outcome;
    try {
      outcome = await plugin.execute(action, {
        now,
        enqueueCommand: (input) => commands.enqueue(input),
      });
    } catch (error) {
      const message = error instanceof VigilError && error.expose ? error.message : 'the executor failed';
      const failed = (await transition(action.id, ['approved'], 'failed', { message })) ?? action;
      await audit.record({ actor: 'system:response', action: 'action.failed', target: action.id, details: { kind: action.kind, target: action.target, message } });
      return failed;
    }
    if (outcome.state === 'dispatched') {
      return (await transition(action.id, ['approved'], 'dispatched', { command_id: outcome.commandId, dispatched_at: now() })) ?? action;
    }
    // Executors that finish in-process still pass through running, so every action has the same lifecycle.
    await transition(action.id, ['approved'], 'running', { dispatched_at: now() });
    const done = await transition(action.id, ['running'], outcome.state, {
      message: outcome.message ?? null, output: outcome.output === undefined ? null : JSON.stringify(outcome.output),
    });
    await audit.record({ actor: 'system:response', action: `action.${outcome.state}`, target: action.id, details: { kind: action.kind, target: action.target, ...(outcome.message ? { message: outcome.message } : {}) } });
    return done ?? action;
  }

  async function batch(ids: readonly string[], run: (id: string) => Promise<ActionRecord>): Promise<BatchResult> {
    const done: ActionRecord[] = [];
    const errors: { id: string; error: string; message: string }[] = [];
    for (const id of ids) {
      try {
        done.push(await run(id));
      } catch (error) {
        if (!(error instanceof VigilError) || !error.expose) throw error;
        errors.push({ id, error: error.code, message: error.message });
      }
    }
    return { done, errors };
  }

  async function pendingOrThrow(id: string): Promise<ActionRecord> {
    const action = await get(id);
    if (!action) throw new VigilError('not_found', 404, `action ${id} not found`);
    if (action.state !== 'pendingApproval' && action.state !== 'proposed') {
      throw new VigilError('conflict', 409, `action ${id} is ${action.state}, not pending approval`);
    }
    return action;
  }

  const service: ActionService = {
    registerKind(plugin) {
      if (registry.has(plugin.kind)) throw new VigilError('conflict', 409, `action kind '${plugin.kind}' is already registered`);
      registry.set(plugin.kind, plugin);
    },
    kinds: () => [...registry.values()],
    kind: (name) => registry.get(name),

    async create(input) {
      const plugin = registry.get(input.kind);
      if (!plugin) throw new VigilError('bad_request', 400, `unknown action kind '${input.kind}' (known: ${[...registry.keys()].sort().join(', ')})`);
      const params = plugin.validate(input.params);
      const target = normaliseTarget(plugin.targetType, input.target);
      const t = now();
      const id = ulid(t);
      // Four-eyes: a person's own manual action waits for someone else's approval.
      const decision = input.decision === 'auto' && options.fourEyes && input.source === 'manual' ? 'approval' : input.decision;
      const decisionReason = decision !== input.decision ? 'four-eyes: another responder must approve' : input.decisionReason;
      const row = {
        id, kind: plugin.kind, target_type: plugin.targetType, target, params: JSON.stringify(params), state: 'proposed',
        source: input.source, requested_by: input.requestedBy.name, requested_by_id: input.requestedBy.id,
        comment: input.comment ?? null, decision_reason: decisionReason ?? null, investigation_id: input.investigationId ?? null,
        alert_ids: JSON.stringify(input.alertIds ?? []), verdict: input.verdict ?? null, undo_of: input.undoOf ?? null,
        created_at: t, updated_at: t,
      };
      await db.insertInto('response_actions').values(row).execute();
      const proposed = toAction(row);
      await bus.publish('action.changed', { actionId: id, kind: plugin.kind, state: 'proposed' });
      await notify(proposed);
      await audit.record({
        actor: input.requestedBy.name, action: 'action.create', target: id,
        details: { kind: plugin.kind, target, params, source: input.source, decision, ...(decisionReason ? { reason: decisionReason } : {}), ...(input.investigationId ? { investigationId: input.investigationId } : {}) },
      });
      if (decision === 'approval') {
        return (await transition(id, ['proposed'], 'pendingApproval', { pending_since: t }))!;
      }
      const approved = (await transition(id, ['proposed'], 'approved', { decided_by: input.requestedBy.name, decided_at: t }))!;
      return execute(approved);
    },

    approve(ids, by, comment) {
      return batch(ids, async (id) => {
        const action = await pendingOrThrow(id);
        if (options.fourEyes && action.requestedById === by.id) {
          throw new VigilError('forbidden', 403, `four-eyes: ${by.name} requested action ${id} and may not approve it`);
        }
        const approved = await transition(id, ['pendingApproval', 'proposed'], 'approved', { decided_by: by.name, decided_at: now() });
        if (!approved) throw new VigilError('conflict', 409, `action ${id} was decided meanwhile`);
        await audit.record({ actor: by.name, action: 'action.approve', target: id, details: { kind: action.kind, target: action.target, ...(comment ? { comment } : {}) } });
        return execute(approved);
      });
    },

    reject(ids, by, reason) {
      return batch(ids, async (id) => {
        const action = await pendingOrThrow(id);
        const rejected = await transition(id, ['pendingApproval', 'proposed'], 'rejected', { decided_by: by.name, decided_at: now(), reject_reason: reason });
        if (!rejected) throw new VigilError('conflict', 409, `action ${id} was decided meanwhile`);
        await audit.record({ actor: by.name, action: 'action.reject', target: id, details: { kind: action.kind, target: action.target, reason } });
        return rejected;
      });
    },

    async undo(id, by) {
      const action = await get(id);
      if (!action) throw new VigilError('not_found', 404, `action ${id} not found`);
      const plugin = registry.get(action.kind);
      const reverse = plugin?.undo?.(action);
      if (!reverse) throw new VigilError('conflict', 409, `'${action.kind}' cannot be undone`);
      if (action.state !== 'succeeded') throw new VigilError('conflict', 409, `only a succeeded action can be undone; ${id} is ${action.state}`);
      if (action.undoneBy) throw new VigilError('conflict', 409, `action ${id} was already undone by ${action.undoneBy}`);
      // Claim the original first so two undo requests cannot both issue one.
      const claim = await db.updateTable('response_actions').set({ undone_by: 'pending', updated_at: now() })
        .where('id', '=', id).where('undone_by', 'is', null).executeTakeFirst();
      if (Number(claim.numUpdatedRows) === 0) throw new VigilError('conflict', 409, `action ${id} is already being undone`);
      try {
        const undo = await service.create({
          kind: reverse.kind, target: action.target, params: reverse.params, source: 'undo', requestedBy: by,
          decision: 'auto', decisionReason: `undo of ${id}`, undoOf: id, alertIds: action.alertIds,
        });
        await db.updateTable('response_actions').set({ undone_by: undo.id }).where('id', '=', id).execute();
        await audit.record({ actor: by.name, action: 'action.undo', target: id, details: { kind: action.kind, undoAction: undo.id } });
        return undo;
      } catch (error) {
        await db.updateTable('response_actions').set({ undone_by: null }).where('id', '=', id).execute();
        throw error;
      }
    },

    get,

    async list(filter = {}) {
      let query = db.selectFrom('response_actions').selectAll();
      if (filter.state === 'pending') query = query.where('state', 'in', ['proposed', 'pendingApproval']);
      else if (filter.state === 'history') query = query.where('state', 'not in', ['proposed', 'pendingApproval']);
      else if (filter.state) query = query.where('state', '=', filter.state);
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.targetType) query = query.where('target_type', '=', filter.targetType);
      if (filter.target) query = query.where('target', '=', filter.target);
      if (filter.source) query = query.where('source', '=', filter.source);
      if (filter.investigationId) query = query.where('investigation_id', '=', filter.investigationId);
      if (filter.since !== undefined) query = query.where('created_at', '>=', toEpoch(filter.since));
      const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 500), 1), 10_000);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toAction);
    },

    async openCount(investigationId) {
      const row = await db.selectFrom('response_actions').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('investigation_id', '=', investigationId).where('state', 'not in', [...TERMINAL_STATES]).executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async sweep() {
      const t = now();
      const lapsed = await db.selectFrom('response_actions').select('id')
        .where('state', 'in', ['proposed', 'pendingApproval']).where('pending_since', '<=', t - pendingExpiryMs).execute();
      let expired = 0;
      for (const { id } of lapsed) {
        const reason = 'expired: pending approval for 7 days';
        const rejected = await transition(id, ['pendingApproval', 'proposed'], 'rejected', { decided_by: 'system:expiry', decided_at: t, reject_reason: reason });
        if (!rejected) continue;
        expired++;
        await audit.record({ actor: 'system:expiry', action: 'action.expire', target: id, details: { kind: rejected.kind, target: rejected.target, reason } });
      }
      const timedOut = (await commands.expire()).length;

      // Recovery: a restart can interrupt an action between its steps.
      let recovered = 0;
      const stale = t - RECOVER_AFTER_MS;
      const stuck = await db.selectFrom('response_actions').selectAll()
        .where('state', 'in', ['proposed', 'approved']).where('updated_at', '<=', stale).execute();
      for (const row of stuck) {
        if (executing.has(row.id)) continue;
        if (row.state === 'proposed') {
          // The decision was lost: the cautious outcome is to ask.
          if (await transition(row.id, ['proposed'], 'pendingApproval', { pending_since: Number(row.created_at), decision_reason: row.decision_reason ?? 'interrupted before a decision' })) recovered++;
          continue;
        }
        const command = await db.selectFrom('response_commands').select('id').where('action_id', '=', row.id).executeTakeFirst();
        if (command) {
          if (await transition(row.id, ['approved'], 'dispatched', { command_id: command.id, dispatched_at: t })) recovered++;
          const current = await commands.get(command.id);
          if (current && current.state !== 'queued' && current.state !== 'delivered') await service.commandUpdated(current);
        } else {
          await execute(toAction(row));
          recovered++;
        }
      }
      await db.updateTable('response_actions').set({ undone_by: null })
        .where('undone_by', '=', 'pending').where('updated_at', '<=', stale).execute();
      return { expired, timedOut, recovered };
    },

    onChange(listener) {
      listeners.push(listener);
    },

    async commandUpdated(command) {
      if (!command.actionId) return;
      const details = { kind: command.kind, target: command.deviceId, command: command.id, ...(command.message ? { message: command.message } : {}) };
      // 'approved' too: a fast agent can answer before the dispatch itself is recorded.
      const patch = {
        message: command.message ?? null, output: command.output === undefined ? null : JSON.stringify(command.output), command_id: command.id,
      };
      switch (command.state) {
        case 'running':
          await transition(command.actionId, ['approved', 'dispatched'], 'running', patch);
          return;
        case 'succeeded':
        case 'failed': {
          const done = await transition(command.actionId, ['approved', 'dispatched', 'running'], command.state, patch);
          if (done) await audit.record({ actor: `device:${command.deviceId}`, action: `action.${command.state}`, target: command.actionId, details });
          return;
        }
        case 'expired': {
          const done = await transition(command.actionId, ['approved', 'dispatched', 'running'], 'timedOut', patch);
          if (done) await audit.record({ actor: 'system:response', action: 'action.timedOut', target: command.actionId, details });
          return;
        }
        default:
      }
    },
  };
  return service;
}
