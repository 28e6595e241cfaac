import { ulid } from 'ulid';
import type { Bus } from '../bus/index.js';
import type { Store } from '../store/index.js';
import type { Posture } from '../posture/index.js';
import type { ComplianceState, RiskLevel } from '../schema/index.js';
import type { Accounts, Principal } from './accounts.js';
import { createCaPolicies, type CaPolicies } from './conditional-access.js';
import { createDirectory, type Directory } from './directory.js';
import { loadIdentityKeys } from './keys.js';
import { createOidcProvider, grantDeviceMigration, type OidcProvider } from './oidc.js';
import { createSignInLog } from './sign-in-log.js';
import { migrateState } from './state-adapter.js';
import { createTransmitter, EVENTS, type OutgoingEvent, type Transmitter } from './ssf/transmitter.js';

/** What response drives through identity (response's UserActions interface). */
export interface IdentityUserActions {
  /** Refuses every sign-in and token of the user at the provider and revokes their sessions. */
  disable(userKey: string, reason?: string): Promise<void>;
  /** Lifts a disable or a password-reset requirement. */
  enable(userKey: string): Promise<void>;
  /**
   * Refuses sign-in until an administrator lifts the requirement (enable) after the password was
   * changed, and revokes the user's sessions.
   */
  requirePasswordReset(userKey: string, reason?: string): Promise<void>;
  /** Revokes every grant, refresh token and session of the user and tells every receiver (CAEP session-revoked). */
  revokeSessions(userKey: string, reason?: string): Promise<void>;
  /** Marks the user high risk (Conditional Access may then block) and revokes their sessions. */
  confirmCompromised(userKey: string, reason?: string): Promise<void>;
}

export interface Access {
  readonly oidc: OidcProvider;
  readonly transmitter: Transmitter;
  readonly directory: Directory;
  readonly policies: CaPolicies;
  readonly userActions: IdentityUserActions;
  /**
   * The console signs analysts in through the provider (client 'vigil-console', public, PKCE; resource
   * <base>/api). This turns such an access token into an API principal with the user's role, after the
   * same Conditional Access checks as at sign-in, on every request; undefined when invalid or refused.
   */
  authenticateAccessToken(token: string): Promise<Principal | undefined>;
  /** Call once the platform's public URL is known (after listen). */
  start(baseUrl: string): Promise<void>;
  close(): Promise<void>;
}

export interface AccessOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly accounts: Accounts;
  readonly posture: Posture;
  readonly accessTokenTtl?: number;
  readonly minVerificationInterval?: number;
  readonly pushRetryDelaysMs?: readonly number[];
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

/** The console's OAuth client, registered at start. */
export const CONSOLE_CLIENT_ID = 'vigil-console';

/** CAEP risk levels are LOW, MEDIUM and HIGH only; no risk is expressed as LOW. */
function caepLevel(level: RiskLevel): 'LOW' | 'MEDIUM' | 'HIGH' {
  return level === 'high' ? 'HIGH' : level === 'medium' ? 'MEDIUM' : 'LOW';
}
const caepCompliance = (s: ComplianceState) => (s === 'noncompliant' ? 'not-compliant' : 'compliant');

/**
 * Access follows device health: the identity provider, Conditional Access and the SSF/CAEP transmitter,
 * wired to posture and risk events. On noncompliance it revokes the device's grants in the provider and
 * pushes CAEP device-compliance-change, session-revoked and risk-level-change; on high user risk,
 * session-revoked for the user; on recovery, device-compliance-change back to compliant.
 */
export async function createAccess(options: AccessOptions): Promise<Access> {
  const { store, bus, accounts, posture } = options;
  const now = options.now ?? Date.now;
  await migrateState(store);
  await store.migrate('identity.grants', [grantDeviceMigration, {
    version: 2,
    name: 'revocation cut-offs',
    async up(db) {
      await db.schema.createTable('idp_cutoffs')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idp_cutoffs_pk', ['kind', 'id'])
        .execute();
    },
  }]);
  const keys = await loadIdentityKeys(store);
  const directory = await createDirectory({ store, now });
  const policies = await createCaPolicies({ store, now });
  const signInLog = createSignInLog({ store, now });
  const oidc = createOidcProvider({
    store, accounts, directory, policies, keys, signInLog, now, log: options.log, accessTokenTtl: options.accessTokenTtl,
    devices: {
      async evaluate(id) {
        const d = await posture.evaluate(id);
        return d ? { id: d.id, hostname: d.hostname, os: d.os, complianceState: d.complianceState, complianceReason: d.complianceReason, publicKeyJwk: d.publicKeyJwk } : undefined;
      },
    },
  });
  const transmitter = await createTransmitter({
    store, signingKey: keys.ssf, now, log: options.log, minVerificationInterval: options.minVerificationInterval, retryDelaysMs: options.pushRetryDelaysMs,
  });

  const deviceSubject = (deviceId: string) => ({ format: 'complex', device: { format: 'iss_sub', iss: oidc.issuer, sub: deviceId } });
  const userSubject = (userId: string) => ({ format: 'complex', user: { format: 'iss_sub', iss: oidc.issuer, sub: userId } });
  const emit = (e: OutgoingEvent) => transmitter.emit(e);
  const reason = (text: string) => ({ en: text });

  /**
   * Cut-offs for Vigil's own API (the console's tokens), the same rule the receiver library applies at
   * the apps: a token issued at or before the cut-off of its user or device stays dead.
   */
  async function setCutoff(kind: 'user' | 'device', id: string, at: number) {
    await store.db.insertInto('idp_cutoffs').values({ kind, id, at }).onConflict((oc) => oc.columns(['kind', 'id']).doUpdateSet({ at })).execute();
  }
  async function cutoffOf(kind: 'user' | 'device', id: string): Promise<number> {
    const r = await store.db.selectFrom('idp_cutoffs').select('at').where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return r ? Number(r.at) : 0;
  }

  async function revokeUser(userId: string, why: string, txn: string) {
    const t = now() / 1000;
    await setCutoff('user', userId, now());
    await oidc.revokeUser(userId);
    await emit({ type: EVENTS.sessionRevoked, subject: userSubject(userId), txn, claims: { event_timestamp: t, initiating_entity: 'policy', reason_admin: reason(why) } });
    await bus.publish('session.revoked', { subject: { userId }, reason: why });
  }

  const subscriptions = [
    bus.subscribe('device.compliance-changed', async (e) => {
      const t = now() / 1000;
      const txn = ulid();
      if (e.new === 'noncompliant') {
        // Cut the live sessions at the apps first (the < 1 s goal): the three SETs go out together,
        // then the provider's grants bound to the device are revoked.
        const device = await posture.getDevice(e.deviceId);
        await Promise.all([
          emit({ type: EVENTS.sessionRevoked, subject: deviceSubject(e.deviceId), txn, claims: {
            event_timestamp: t, initiating_entity: 'policy', reason_admin: reason(`device noncompliant: ${e.reason}`), reason_user: reason('Your device is out of compliance with company policy.'),
          } }),
          emit({ type: EVENTS.deviceComplianceChange, subject: deviceSubject(e.deviceId), txn, claims: {
            previous_status: caepCompliance(e.old), current_status: 'not-compliant', event_timestamp: t, initiating_entity: 'policy', reason_admin: reason(e.reason),
          } }),
          // risk-level-change only when risk is the cause (not, e.g., a silent sensor).
          ...(device && (device.riskLevel === 'medium' || device.riskLevel === 'high') ? [emit({ type: EVENTS.riskLevelChange, subject: deviceSubject(e.deviceId), txn, claims: {
            principal: 'DEVICE', current_level: caepLevel(device.riskLevel), risk_reason: e.reason, event_timestamp: t, reason_admin: reason(e.reason),
          } })] : []),
        ]);
        await setCutoff('device', e.deviceId, Math.round(t * 1000));
        const revoked = await oidc.revokeDevice(e.deviceId);
        await bus.publish('session.revoked', { subject: { deviceId: e.deviceId }, reason: `device noncompliant (${revoked.grants} grant(s) revoked): ${e.reason}` });
      } else if (e.new === 'compliant' && e.old === 'noncompliant') {
        await emit({ type: EVENTS.deviceComplianceChange, subject: deviceSubject(e.deviceId), txn, claims: {
          previous_status: 'not-compliant', current_status: 'compliant', event_timestamp: t, initiating_entity: 'policy', reason_admin: reason(e.reason),
        } });
        const device = await posture.getDevice(e.deviceId);
        if (device) {
          await emit({ type: EVENTS.riskLevelChange, subject: deviceSubject(e.deviceId), txn, claims: {
            principal: 'DEVICE', current_level: caepLevel(device.riskLevel), risk_reason: e.reason, event_timestamp: t, reason_admin: reason(e.reason),
          } });
        }
      }
    }, { name: 'identity.caep-device' }),
    bus.subscribe('user.risk-changed', async (e) => {
      const key = e.userId.toLowerCase();
      await directory.setUserRisk(key, e.new, e.reason);
      const user = await accounts.findUserByName(key.includes('@') ? key.split('@')[0] : key);
      if (!user) return;
      const txn = ulid();
      await emit({ type: EVENTS.riskLevelChange, subject: userSubject(user.id), txn, claims: {
        principal: 'USER', current_level: caepLevel(e.new), previous_level: caepLevel(e.old), risk_reason: e.reason, event_timestamp: now() / 1000, reason_admin: reason(e.reason),
      } });
      if (e.new === 'high') await revokeUser(user.id, `user risk high: ${e.reason}`, txn);
    }, { name: 'identity.caep-user' }),
  ];

  let base = '';
  const findUser = async (userKey: string) => {
    const key = userKey.toLowerCase();
    return accounts.findUserByName(key.includes('@') ? key.split('@')[0] : key);
  };

  return {
    oidc, transmitter, directory, policies,
    userActions: {
      async disable(userKey, why = 'disabled by response') {
        await directory.setUserBlock(userKey, 'disabled', why);
        const user = await findUser(userKey);
        if (!user) return;
        const txn = ulid();
        // RISC 1.0 account-disabled, so that apps refuse the user until account-enabled.
        await emit({ type: EVENTS.accountDisabled, subject: userSubject(user.id), txn, claims: {} });
        await revokeUser(user.id, `user disabled: ${why}`, txn);
      },
      async enable(userKey) {
        const block = await directory.userBlock(userKey);
        await directory.clearUserBlock(userKey);
        const user = await findUser(userKey);
        if (user && block?.kind === 'disabled') await emit({ type: EVENTS.accountEnabled, subject: userSubject(user.id), txn: ulid(), claims: {} });
      },
      async requirePasswordReset(userKey, why = 'password reset required by response') {
        await directory.setUserBlock(userKey, 'password_reset', why);
        const user = await findUser(userKey);
        if (user) await revokeUser(user.id, `password reset required: ${why}`, ulid());
      },
      async revokeSessions(userKey, why = 'sessions revoked by an administrator') {
        const user = await findUser(userKey);
        if (user) await revokeUser(user.id, why, ulid());
      },
      async confirmCompromised(userKey, why = 'user confirmed compromised') {
        const old = (await directory.userRisk(userKey)).riskLevel;
        await bus.publish('user.risk-changed', { userId: userKey.toLowerCase(), old, new: 'high', reason: why });
      },
    },
    async authenticateAccessToken(token) {
      const claims = await oidc.verifyAccessToken(token, `${base}/api`);
      if (!claims || claims.client_id !== CONSOLE_CLIENT_ID) return undefined;
      const issued = typeof claims.iat_ms === 'number' ? claims.iat_ms : Number(claims.iat ?? 0) * 1000;
      if (issued <= await cutoffOf('user', String(claims.sub))) return undefined;
      if (typeof claims.did === 'string' && issued <= await cutoffOf('device', claims.did)) return undefined;
      const checked = await oidc.checkRequest(claims);
      if ('denied' in checked) return undefined;
      return { kind: 'user', id: checked.user.id, name: checked.user.username, role: checked.user.role };
    },
    async start(baseUrl) {
      base = baseUrl.replace(/\/$/, '');
      // The console's client follows the public URL (it may change between runs).
      const redirectUris = [`${base}/`, `${base}/oidc-callback`];
      const existing = await directory.getApp(CONSOLE_CLIENT_ID);
      if (!existing) {
        await directory.createApp({ id: CONSOLE_CLIENT_ID, name: 'Vigil console', redirectUris, resource: `${base}/api`, grantTypes: ['authorization_code', 'refresh_token'], confidential: false });
      } else if (existing.resource !== `${base}/api` || JSON.stringify(existing.redirectUris) !== JSON.stringify(redirectUris)) {
        await directory.updateApp(CONSOLE_CLIENT_ID, { redirectUris, resource: `${base}/api` });
      }
      oidc.start(baseUrl);
      await transmitter.start(baseUrl);
    },
    async close() {
      for (const off of subscriptions) off();
      await transmitter.close();
    },
  };
}
