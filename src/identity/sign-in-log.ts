import { ulid } from 'ulid';
import type { Store } from '../store/index.js';
import type { CaDecision } from './conditional-access.js';
import type { App } from './directory.js';
import type { User } from './accounts.js';

/** The sensor id under which the identity provider's own sign-in rows are stored. */
export const IDP_SENSOR_ID = 'vigil-idp';

export interface SignInRecord {
  /** 'authorize' (interactive sign-in), 'token:authorization_code', 'token:refresh_token'. */
  readonly endpoint: string;
  readonly user: User;
  readonly app: App;
  readonly deviceId: string | null;
  readonly device?: { readonly hostname: string; readonly os: string; readonly complianceState: string };
  readonly decision: CaDecision | undefined;
  /** Entra error code when the failure is not a CA decision (e.g. 50057 disabled, 50097 device proof). */
  readonly errorCode?: number;
  readonly failure?: string;
  readonly ip: string;
  readonly userAgent: string;
  readonly sessionId?: string;
}

export interface SignInLog {
  record(entry: SignInRecord): Promise<void>;
}

/**
 * Every sign-in and token decision as an EntraIdSignInEvents row (Defender's schema), so that analysts
 * hunt Conditional Access outcomes with the queries they know: ConditionalAccessStatus 0 success,
 * 1 failure, 2 not applied; ConditionalAccessPolicies lists each policy's result; ErrorCode 53000 is
 * Entra's "device is not compliant", 53003 "blocked by Conditional Access".
 */
export function createSignInLog({ store, now = Date.now }: { store: Store; now?: () => number }): SignInLog {
  return {
    async record(e) {
      const d = e.decision;
      const blocked = d?.blockedBy;
      const errorCode = e.errorCode ?? (blocked ? (blocked.policy.grant === 'requireCompliantDevice' ? 53000 : 53003) : 0);
      const row = {
        Timestamp: new Date(now()).toISOString(),
        Application: e.app.name,
        ApplicationId: e.app.id,
        LogonType: e.endpoint === 'authorize' ? '["interactiveUser"]' : '["nonInteractiveUser"]',
        ErrorCode: errorCode,
        CorrelationId: ulid(),
        SessionId: e.sessionId ?? null,
        AccountDisplayName: e.user.displayName,
        AccountObjectId: e.user.id,
        AccountUpn: e.user.email ?? e.user.username,
        AlternateSignInName: e.user.username,
        ResourceDisplayName: e.app.name,
        ResourceId: e.app.resource,
        DeviceName: e.device?.hostname ?? null,
        EntraIdDeviceId: e.deviceId,
        OSPlatform: e.device?.os ?? null,
        DeviceTrustType: e.deviceId ? 'Vigil enrolled' : null,
        IsManaged: e.deviceId ? 1 : 0,
        IsCompliant: e.device?.complianceState === 'compliant' ? 1 : 0,
        ConditionalAccessPolicies: JSON.stringify(d?.policies ?? []),
        ConditionalAccessStatus: d ? d.status : 2,
        RiskDetails: blocked ? `${blocked.policy.name}: ${blocked.reason}` : e.failure ?? null,
        IPAddress: e.ip,
        UserAgent: e.userAgent,
        EndpointCall: e.endpoint,
        ReportId: ulid(),
        TokenIssuerType: 'Vigil',
      };
      await store.telemetry.append('EntraIdSignInEvents', IDP_SENSOR_ID, [row]);
    },
  };
}
