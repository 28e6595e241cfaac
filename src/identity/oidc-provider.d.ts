// oidc-provider ships no types (@types lags at 9.12); Vigil uses it through a narrow, checked surface in oidc.ts.
declare module 'oidc-provider';
