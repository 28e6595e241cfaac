import type { Bus } from '../bus/index.js';
import type { Store } from '../store/index.js';
import { deviceActionKinds, userActionKinds } from './action-kinds.js';
import { createActionService, type ActionService } from './action-service.js';
import type { AuditLog } from './audit-log.js';
import type { AutomationLevel } from './automation-levels.js';
import { createCommandChannel, type CommandChannel } from './command-channel.js';
import { createInvestigations, type Investigations, type ResolveAlerts } from './investigation.js';
import { RESPONSE_MIGRATIONS } from './migrations.js';
import type { ActionKind, UserActions } from './types.js';

export interface ResponseOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly audit: AuditLog;
  readonly now?: () => number;
  /** The device group's automation level (posture provides it). Default: 'semi_all' for every device. */
  readonly automationLevelOf?: (deviceId: string) => AutomationLevel | undefined | Promise<AutomationLevel | undefined>;
  /** Identity's user actions; a kind is registered for each method it provides. */
  readonly userActions?: Partial<UserActions>;
  /** Incidents' alert resolver, called when an investigation remediated everything. */
  readonly resolveAlerts?: ResolveAlerts;
  /** Four-eyes: an approver must not be the requester, and manual actions wait for a second responder. */
  readonly fourEyes?: boolean;
  /** Investigation packages and other uploads go here (default: in the database). */
  readonly filesDir?: string;
  /** How often the sweep (7-day pending expiry, 3-day command retry window) runs; 0 turns it off. Default 60 s. */
  readonly sweepIntervalMs?: number;
  /** A delivered command without a result is delivered again after this long. Default 60 s. */
  readonly redeliverAfterMs?: number;
  /** Start automated investigations from 'alert.raised'. Default true. */
  readonly investigate?: boolean;
  /** See InvestigationOptions.scriptFileWaitMs (default 2,000 ms). */
  readonly scriptFileWaitMs?: number;
  /** Called when a background task (sweep) fails. */
  readonly onError?: (error: unknown, context: string) => void;
}

/** The response module: actions and their kinds, the command channel, investigations and the sweep. */
export interface ResponseModule {
  readonly actions: ActionService;
  readonly commands: CommandChannel;
  readonly investigations: Investigations;
  readonly audit: AuditLog;
  readonly fourEyes: boolean;
  /** The module's clock (injected in tests). */
  readonly now: () => number;
  /** Adds an action kind (agent, identity, intel and mail plug theirs in here). */
  registerActionKind(plugin: ActionKind): void;
  /** Pending for 7 days → rejected; commands past the 3-day window → timed out. Runs on an interval too. */
  sweep(): Promise<{ expired: number; timedOut: number; recovered: number }>;
  /** Stops the sweep and answers waiting long-polls. */
  close(): Promise<void>;
}

export async function createResponse(options: ResponseOptions): Promise<ResponseModule> {
  const { store, bus, audit } = options;
  const now = options.now ?? Date.now;
  await store.migrate('response', RESPONSE_MIGRATIONS);

  let actions: ActionService | undefined;
  const commands = await createCommandChannel({
    store, now, filesDir: options.filesDir, redeliverAfterMs: options.redeliverAfterMs,
    onUpdate: (command) => actions!.commandUpdated(command),
  });
  actions = createActionService({ store, bus, audit, commands, now, fourEyes: options.fourEyes, onError: options.onError });
  for (const kind of deviceActionKinds()) actions.registerKind(kind);
  if (options.userActions) for (const kind of userActionKinds(options.userActions)) actions.registerKind(kind);

  const automationLevelOf = async (deviceId: string): Promise<AutomationLevel> =>
    (await options.automationLevelOf?.(deviceId)) ?? 'semi_all';
  const investigations = createInvestigations({
    store, bus, audit, actions, now, automationLevelOf, resolveAlerts: options.resolveAlerts, scriptFileWaitMs: options.scriptFileWaitMs,
  });
  actions.onChange((action) => investigations.actionChanged(action));

  const unsubscribe: Array<() => void> = [];
  if (options.investigate !== false) {
    unsubscribe.push(bus.subscribe('alert.raised', async ({ alert }) => {
      await investigations.handleAlert(alert);
    }, { name: 'response.investigations' }));
  }
  unsubscribe.push(bus.subscribe('alert.updated', async ({ alertId, incidentId }) => {
    if (incidentId) await investigations.linkIncident(alertId, incidentId);
  }, { name: 'response.incident-links' }));
  // A merged incident redirects to its target: its investigations show on the target.
  unsubscribe.push(bus.subscribe('incident.updated', async ({ incidentId, changes }) => {
    if (changes.status === 'redirected' && typeof changes.redirectIncidentId === 'string') {
      await investigations.moveIncident(incidentId, changes.redirectIncidentId);
    }
  }, { name: 'response.incident-merges' }));

  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    const run = sweeping.then(async () => {
      const result = await actions!.sweep();
      await investigations.sweep();
      return result;
    });
    sweeping = run.catch(() => undefined);
    return run;
  };
  const interval = options.sweepIntervalMs ?? 60_000;
  const timer = interval > 0
    ? setInterval(() => { sweep().catch((error) => options.onError?.(error, 'response sweep')); }, interval)
    : undefined;
  timer?.unref();

  return {
    actions, commands, investigations, audit, now, fourEyes: options.fourEyes ?? false,
    registerActionKind: (plugin) => actions!.registerKind(plugin),
    sweep,
    async close() {
      if (timer) clearInterval(timer);
      for (const stop of unsubscribe) stop();
      commands.close();
      await sweeping;
    },
  };
}
