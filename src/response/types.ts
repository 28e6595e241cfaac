import type { AutomationLevel } from './automation-levels.js';

/**
 * One lifecycle for every action (shared/reference/defender-xdr.md §3–§5):
 * proposed → pendingApproval → approved | rejected → dispatched → running → succeeded | failed | timedOut.
 * Actions that need no approval go proposed → approved; executors that finish at once go approved → running → done.
 */
export type ActionState =
  | 'proposed' | 'pendingApproval' | 'approved' | 'rejected' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'timedOut';
export const ACTION_STATES: readonly ActionState[] =
  ['proposed', 'pendingApproval', 'approved', 'rejected', 'dispatched', 'running', 'succeeded', 'failed', 'timedOut'];
export const TERMINAL_STATES: ReadonlySet<ActionState> = new Set(['rejected', 'succeeded', 'failed', 'timedOut']);

export type TargetType = 'device' | 'user' | 'email' | 'indicator';

/** Where an action came from (the action center's "action source"). */
export type ActionSource = 'manual' | 'automated' | 'undo';

export interface ActionRecord {
  readonly id: string;
  readonly kind: string;
  readonly targetType: TargetType;
  /** DeviceId, user key, NetworkMessageId (email) or indicator value. */
  readonly target: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly state: ActionState;
  readonly source: ActionSource;
  /** Name of the person or 'system:automated-investigation'. */
  readonly requestedBy: string;
  readonly requestedById: string;
  readonly comment?: string;
  /** Why it waits for approval, or why it ran at once. */
  readonly decisionReason?: string;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  /** Rejection reason ('expired after 7 days pending' for lapsed ones). */
  readonly rejectReason?: string;
  readonly investigationId?: string;
  readonly alertIds: readonly string[];
  readonly verdict?: 'malicious' | 'suspicious';
  readonly commandId?: string;
  readonly message?: string;
  readonly output?: unknown;
  readonly undoOf?: string;
  readonly undoneBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly dispatchedAt?: string;
  readonly completedAt?: string;
}

/** A command as the agent receives it over the channel. */
export interface AgentCommand {
  readonly id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly issuedAt: string;
}

export type CommandState = 'queued' | 'delivered' | 'running' | 'succeeded' | 'failed' | 'expired';

export interface CommandRecord extends AgentCommand {
  readonly deviceId: string;
  readonly actionId?: string;
  readonly state: CommandState;
  readonly deliveries: number;
  readonly lastDeliveredAt?: string;
  readonly expiresAt: string;
  readonly message?: string;
  readonly output?: unknown;
  readonly completedAt?: string;
}

/** What the agent reports: POST /api/v1/agent/commands/:id/result. */
export interface CommandResult {
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly message?: string;
  readonly output?: unknown;
}

/** Identity's side of user actions; the composition root passes identity's implementation. */
export interface UserActions {
  disable(userKey: string): Promise<void>;
  enable(userKey: string): Promise<void>;
  revokeSessions(userKey: string): Promise<void>;
  requirePasswordReset(userKey: string): Promise<void>;
  /** Marks the user compromised: user risk becomes high. */
  confirmCompromised(userKey: string): Promise<void>;
}

/** What an executor did: handed a command to the channel, or finished. */
export type ExecuteOutcome =
  | { readonly state: 'dispatched'; readonly commandId: string }
  | { readonly state: 'succeeded' | 'failed'; readonly message?: string; readonly output?: unknown };

export interface ActionContext {
  /** Queues a command for a device on the command channel. */
  enqueueCommand(input: { deviceId: string; kind: string; params: Readonly<Record<string, unknown>>; actionId: string }): Promise<CommandRecord>;
  readonly now: () => number;
}

/**
 * One kind of action as a plug-in: its target type, a validator of its parameters and its executor.
 * Agent, identity, intel and mail register theirs with `registerActionKind`.
 */
export interface ActionKind {
  readonly kind: string;
  readonly targetType: TargetType;
  readonly description: string;
  /** Returns the validated (normalised) parameters, or throws VigilError 'bad_request'. */
  validate(params: unknown): Record<string, unknown>;
  execute(action: ActionRecord, context: ActionContext): Promise<ExecuteOutcome>;
  /** The action that reverses a succeeded one, when the kind is undoable. */
  undo?(action: ActionRecord): { readonly kind: string; readonly params: Record<string, unknown> } | undefined;
  /** The file the action touches, for the folder-based automation levels. */
  pathOf?(params: Readonly<Record<string, unknown>>): string | undefined;
}

export type { AutomationLevel };
