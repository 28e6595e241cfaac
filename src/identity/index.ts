// Identity: people, sensors and their credentials (the OIDC provider, Conditional Access and CAEP join here).
export { createAccounts, ROLES } from './accounts.js';
export type { Accounts, AccountsOptions, Principal, Role, User, Sensor, Enrollment, EnrollInput } from './accounts.js';
