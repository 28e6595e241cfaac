// Identity: people, sensors and their credentials (the OIDC provider, Conditional Access and CAEP join here).
export { createAccounts, ROLES } from './accounts.js';
export type { Accounts, AccountsOptions, Principal, Role, User, Sensor, Enrollment, EnrollInput } from './accounts.js';
// Access (issue 5): the OIDC provider (mounted at /oidc), Conditional Access, the SSF/CAEP transmitter
// (/.well-known/ssf-configuration, /ssf/*); createAccess wires them to posture and the risk events.
export { createAccess, CONSOLE_CLIENT_ID } from './access.js';
export type { Access, AccessOptions, IdentityUserActions } from './access.js';
export { OIDC_PREFIX, SSF_RESOURCE_PATH } from './oidc.js';
export type { OidcProvider } from './oidc.js';
export { evaluatePolicies, normalisePolicy } from './conditional-access.js';
export type { CaPolicy, CaPolicies, CaDecision, CaTargets, CaConditions, CaGrant, CaState, SignInContext, PolicyResult } from './conditional-access.js';
export type { Directory, Group, App, AppInput, AppGrantType, UserRisk } from './directory.js';
export { IDP_SENSOR_ID } from './sign-in-log.js';
export { EVENTS as SSF_EVENTS, EVENTS_SUPPORTED, PUSH_DELIVERY, POLL_DELIVERY, validSubject, subjectMatches } from './ssf/index.js';
export type { Transmitter, StreamConfig, OutgoingEvent, Subject } from './ssf/index.js';
