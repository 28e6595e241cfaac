import { VigilError } from '../errors/index.js';
import type { ActionKind, ActionRecord, TargetType, UserActions } from './types.js';

type Params = Record<string, unknown>;

const bad = (kind: string, message: string) => new VigilError('bad_request', 400, `${kind}: ${message}`);

function objectOf(kind: string, params: unknown): Params {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) throw bad(kind, 'params must be an object');
  return params as Params;
}

function only(kind: string, p: Params, allowed: readonly string[]): void {
  const extra = Object.keys(p).filter((k) => !allowed.includes(k));
  if (extra.length) throw bad(kind, `unknown parameter${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
}

const SHA256 = /^[0-9a-f]{64}$/;

function sha256Param(kind: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw bad(kind, "'sha256' is required");
    return undefined;
  }
  if (typeof value !== 'string' || !SHA256.test(value.toLowerCase())) throw bad(kind, "'sha256' must be 64 hex digits");
  return value.toLowerCase();
}

function pathParam(kind: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw bad(kind, "'path' is required");
    return undefined;
  }
  if (typeof value !== 'string' || value === '' || value.length > 4096 || value.includes('\0')) {
    throw bad(kind, "'path' must be a non-empty path");
  }
  if (!value.startsWith('/') && !/^[a-z]:\\/i.test(value) && !value.startsWith('%')) throw bad(kind, "'path' must be absolute");
  return value;
}

/** A device action carried out by the agent over the command channel; the command has the action's kind and params. */
function deviceKind(kind: string, description: string, validate: (p: Params) => Params, extra: Partial<ActionKind> = {}): ActionKind {
  return {
    kind,
    targetType: 'device',
    description,
    validate: (params) => validate(objectOf(kind, params)),
    async execute(action, context) {
      const command = await context.enqueueCommand({ deviceId: action.target, kind, params: action.params, actionId: action.id });
      return { state: 'dispatched', commandId: command.id };
    },
    ...extra,
  };
}

const none = (kind: string) => (p: Params) => {
  only(kind, p, []);
  return {};
};

/** Device actions (Defender's respond-machine-alerts, adapted): the agent's command kinds. */
export function deviceActionKinds(): ActionKind[] {
  return [
    deviceKind('isolate', 'Isolate the device from the network (the channel to Vigil stays open)', (p) => {
      only('isolate', p, ['allow']);
      const allow = p.allow ?? [];
      if (!Array.isArray(allow) || allow.some((h) => typeof h !== 'string' || h === '' || h.length > 255)) {
        throw bad('isolate', "'allow' must be a list of host names or addresses");
      }
      return { allow };
    }, { undo: () => ({ kind: 'release', params: {} }) }),
    deviceKind('release', 'Release the device from isolation', none('release')),
    deviceKind('stop_process', 'Stop a process by pid and/or every process whose image has the SHA-256', (p) => {
      only('stop_process', p, ['pid', 'sha256', 'path']);
      const pid = p.pid;
      if (pid !== undefined && (!Number.isInteger(pid) || (pid as number) <= 0)) throw bad('stop_process', "'pid' must be a positive integer");
      const sha256 = sha256Param('stop_process', p.sha256, false);
      if (pid === undefined && sha256 === undefined) throw bad('stop_process', "give 'pid' or 'sha256'");
      const path = pathParam('stop_process', p.path, false);
      return { ...(pid !== undefined ? { pid } : {}), ...(sha256 ? { sha256 } : {}), ...(path ? { path } : {}) };
    }, { pathOf: (p) => (typeof p.path === 'string' ? p.path : undefined) }),
    deviceKind('quarantine_file', 'Move a file into quarantine (by path and/or every copy with the SHA-256)', (p) => {
      only('quarantine_file', p, ['path', 'sha256']);
      const path = pathParam('quarantine_file', p.path, false);
      const sha256 = sha256Param('quarantine_file', p.sha256, false);
      if (!path && !sha256) throw bad('quarantine_file', "give 'path' or 'sha256'");
      return { ...(path ? { path } : {}), ...(sha256 ? { sha256 } : {}) };
    }, {
      pathOf: (p) => (typeof p.path === 'string' ? p.path : undefined),
      // Restores every quarantined copy of the same file on the device ("and X more instances").
      undo: (action: ActionRecord) => {
        const sha256 = typeof action.params.sha256 === 'string' ? action.params.sha256
          : typeof (action.output as Params | undefined)?.sha256 === 'string' ? (action.output as Params).sha256 as string : undefined;
        return sha256 ? { kind: 'restore_file', params: { sha256 } } : undefined;
      },
    }),
    deviceKind('restore_file', 'Restore a quarantined file', (p) => {
      only('restore_file', p, ['sha256']);
      return { sha256: sha256Param('restore_file', p.sha256, true) };
    }),
    deviceKind('run_scan', 'Antivirus scan, quick or full', (p) => {
      only('run_scan', p, ['type']);
      const type = p.type ?? 'quick';
      if (type !== 'quick' && type !== 'full') throw bad('run_scan', "'type' must be 'quick' or 'full'");
      return { type };
    }),
    deviceKind('collect_package', 'Collect an investigation package (uploaded over the channel)', none('collect_package')),
    deviceKind('restrict_app', 'Restrict app execution to trusted binaries', none('restrict_app'), {
      undo: () => ({ kind: 'unrestrict_app', params: {} }),
    }),
    deviceKind('unrestrict_app', 'Remove the app execution restriction', none('unrestrict_app')),
    deviceKind('remove_persistence', 'Remove a persistence file (cron table, systemd unit)', (p) => {
      only('remove_persistence', p, ['path']);
      return { path: pathParam('remove_persistence', p.path, true) };
    }, { pathOf: (p) => (typeof p.path === 'string' ? p.path : undefined) }),
  ];
}

function userKind(kind: string, description: string, run: (key: string) => Promise<void>, undo?: string): ActionKind {
  return {
    kind,
    targetType: 'user',
    description,
    validate(params) {
      const p = objectOf(kind, params);
      only(kind, p, []);
      return {};
    },
    async execute(action) {
      try {
        await run(action.target);
        return { state: 'succeeded' };
      } catch (error) {
        return { state: 'failed', message: error instanceof VigilError && error.expose ? error.message : 'the identity provider refused the action' };
      }
    },
    ...(undo ? { undo: () => ({ kind: undo, params: {} }) } : {}),
  };
}

/**
 * User actions (Defender for Identity's remediation actions), carried out by identity's implementation.
 * Only the kinds whose method identity provides are returned (disable is undoable only with enable).
 */
export function userActionKinds(users: Partial<UserActions>): ActionKind[] {
  const kinds: ActionKind[] = [];
  const { disable, enable, revokeSessions, requirePasswordReset, confirmCompromised } = users;
  if (disable) kinds.push(userKind('disable_user', 'Disable the account', (k) => disable.call(users, k), enable ? 'enable_user' : undefined));
  if (enable) kinds.push(userKind('enable_user', 'Enable the account', (k) => enable.call(users, k)));
  if (revokeSessions) kinds.push(userKind('revoke_sessions', 'Revoke every session and refresh token of the user', (k) => revokeSessions.call(users, k)));
  if (requirePasswordReset) kinds.push(userKind('require_password_reset', 'Require a password change at next sign-in', (k) => requirePasswordReset.call(users, k)));
  if (confirmCompromised) kinds.push(userKind('confirm_compromised', 'Confirm the user compromised (user risk high)', (k) => confirmCompromised.call(users, k)));
  return kinds;
}

/** Target keys, per the entity-key contract: devices by DeviceId, users lower-case, hashes lower-case. */
export function normaliseTarget(targetType: TargetType, target: unknown): string {
  if (typeof target !== 'string' || target.trim() === '' || target.length > 512) {
    throw new VigilError('bad_request', 400, "'target' is required (a device id, user key, message id or indicator value)");
  }
  const value = target.trim();
  return targetType === 'user' ? value.toLowerCase() : value;
}

const INDICATOR_TYPES = ['sha256', 'sha1', 'md5', 'ipv4', 'ipv6', 'cidr', 'domain', 'url', 'cert'] as const;
const INDICATOR_ACTIONS = ['allow', 'audit', 'warn', 'block', 'block_and_remediate'] as const;

/**
 * The add_indicator kind (target: the indicator's value), carried out by intel's indicator store. Intel
 * validates and canonicalises the value; the action's requester becomes the indicator's creator.
 */
export function indicatorActionKind(create: (input: Record<string, unknown>, actor: string) => Promise<{ readonly id: string }>): ActionKind {
  const kind = 'add_indicator';
  return {
    kind,
    targetType: 'indicator',
    description: 'Add a custom indicator (allow, audit, warn, block, block and remediate), shared with every sensor',
    validate(params) {
      const p = objectOf(kind, params);
      only(kind, p, ['type', 'action', 'title', 'severity', 'expiresAt', 'description']);
      if (!INDICATOR_TYPES.includes(p.type as never)) throw bad(kind, `'type' must be one of ${INDICATOR_TYPES.join(', ')}`);
      if (!INDICATOR_ACTIONS.includes(p.action as never)) throw bad(kind, `'action' must be one of ${INDICATOR_ACTIONS.join(', ')}`);
      for (const field of ['title', 'severity', 'expiresAt', 'description']) {
        if (p[field] !== undefined && (typeof p[field] !== 'string' || (p[field] as string).length > 2000)) throw bad(kind, `'${field}' must be a string`);
      }
      return { ...p };
    },
    async execute(action) {
      const p = action.params;
      try {
        const created = await create({
          type: p.type, value: action.target, action: p.action,
          title: typeof p.title === 'string' ? p.title : `${String(p.action)} ${action.target} (response action ${action.id})`,
          ...(p.severity !== undefined ? { severity: p.severity } : {}),
          ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
          ...(p.description !== undefined ? { description: p.description } : {}),
          source: 'response',
        }, action.requestedBy);
        return { state: 'succeeded', message: `indicator ${created.id} added`, output: { indicatorId: created.id } };
      } catch (error) {
        return { state: 'failed', message: error instanceof VigilError && error.expose ? error.message : 'intel refused the indicator' };
      }
    },
  };
}
