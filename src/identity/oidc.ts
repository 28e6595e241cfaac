import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type { Store } from '../store/index.js';
import type { Accounts, User } from './accounts.js';
import { hashClientSecret, type Directory, type App } from './directory.js';
import type { CaDecision, CaPolicies } from './conditional-access.js';
import { evaluatePolicies } from './conditional-access.js';
import type { IdentityKeys } from './keys.js';
import { publicJwk } from './keys.js';
import { createStateAdapterClass } from './state-adapter.js';
import { loginPage, messagePage } from './login-page.js';
import type { SignInLog } from './sign-in-log.js';
import type { ComplianceState } from '../schema/index.js';

/** What identity needs to know about a device (posture supplies it). */
export interface DeviceView {
  readonly id: string;
  readonly hostname: string;
  readonly os: string;
  readonly complianceState: ComplianceState;
  readonly complianceReason: string;
  readonly publicKeyJwk: Readonly<Record<string, unknown>> | null;
}

export interface DeviceSource {
  /** Re-evaluates (sensor silence included) and returns the device; undefined when not enrolled. */
  evaluate(deviceId: string): Promise<DeviceView | undefined>;
}

/** Signature algorithms a device assertion may use (asymmetric only). */
const DEVICE_ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

/** The mount point of the provider inside the platform's HTTP server. */
export const OIDC_PREFIX = '/oidc';
/** Path of the SSF management resource (RFC 8707 resource indicator = base URL + this). */
export const SSF_RESOURCE_PATH = '/ssf';

export interface OidcOptions {
  readonly store: Store;
  readonly accounts: Accounts;
  readonly directory: Directory;
  readonly policies: CaPolicies;
  readonly devices: DeviceSource;
  readonly keys: IdentityKeys;
  readonly signInLog: SignInLog;
  /** Access token lifetime in seconds (default 600). Short by design: live sessions are cut by CAEP anyway. */
  readonly accessTokenTtl?: number;
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

export interface OidcProvider {
  /** Builds the provider for the now-known public base URL (issuer = base + /oidc). */
  start(baseUrl: string): void;
  readonly issuer: string;
  readonly ssfResource: string;
  /** Serves a request under /oidc (the provider and its login pages). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Verifies an access token this provider issued for `audience`; undefined when invalid. */
  verifyAccessToken(token: string, audience: string): Promise<Record<string, unknown> | undefined>;
  /** Revokes every grant (and its codes, refresh and opaque tokens) bound to the device. Returns what was revoked. */
  revokeDevice(deviceId: string): Promise<{ grants: number; users: string[] }>;
  /** Revokes every grant and session of the user (by accounts user id). */
  revokeUser(userId: string): Promise<{ grants: number }>;
  /** Accounts user ids with grants bound to the device. */
  usersOfDevice(deviceId: string): Promise<string[]>;
  /**
   * Per-request check of a verified access token for an API Vigil itself serves (the console's): the user
   * must still exist and be unblocked, and Conditional Access for the token's app and device must pass now.
   */
  checkRequest(claims: Record<string, unknown>): Promise<{ user: User } | { denied: string }>;
}

interface Binding { grantId: string; deviceId: string | null; accountId: string; clientId: string; createdAt: number }

/**
 * The built-in OpenID Connect provider (panva/oidc-provider 9.13.3): authorization code + PKCE (always),
 * refresh tokens, client credentials, RFC 9068 JWT access tokens with the device claim `did`.
 *
 * Device proof: the client passes `device_assertion` on the authorization request: a JWT signed (ES256 /
 * RS256 / EdDSA) with the key the device enrolled with, `iss` = `sub` = the device id, `aud` = the issuer,
 * lifetime ≤ 5 min, single use (`jti`). Without a valid assertion the sign-in has no device ("unknown").
 *
 * Conditional Access runs at sign-in (the interaction), at code exchange and at every refresh
 * (getResourceServerInfo runs for every access token issued); each decision is logged to EntraIdSignInEvents.
 */
export function createOidcProvider(options: OidcOptions): OidcProvider {
  const { store, accounts, directory, policies, devices, keys, signInLog } = options;
  const now = options.now ?? Date.now;
  const db = store.db;
  let provider: any;
  let issuer = '';
  let baseUrl = '';
  const localJwks = createLocalJWKSet({ keys: keys.oidc.map(publicJwk) });

  async function binding(grantId: string | undefined): Promise<Binding | undefined> {
    if (!grantId) return undefined;
    const r = await db.selectFrom('idp_grant_devices').selectAll().where('grant_id', '=', grantId).executeTakeFirst();
    return r ? { grantId, deviceId: r.device_id ?? null, accountId: r.account_id, clientId: r.client_id, createdAt: Number(r.created_at) } : undefined;
  }

  async function decide(user: User, app: App, deviceId: string | null): Promise<{ decision: CaDecision; device?: DeviceView }> {
    const device = deviceId ? await devices.evaluate(deviceId) : undefined;
    const userKey = user.username.toLowerCase();
    const decision = evaluatePolicies(await policies.list(), {
      userKey, userGroups: await directory.groupsOf(userKey), userRisk: (await directory.userRisk(userKey)).riskLevel, appId: app.id,
      ...(device ? { device: { id: device.id, complianceState: device.complianceState, reason: device.complianceReason } } : {}),
    });
    return { decision, device };
  }

  const describe = (d: CaDecision) => `Conditional Access policy '${d.blockedBy!.policy.name}' (${d.blockedBy!.policy.id}) ${d.blockedBy!.reason}`;

  async function verifyDeviceAssertion(assertion: unknown): Promise<{ deviceId?: string; error?: string }> {
    if (assertion === undefined || assertion === '') return {};
    if (typeof assertion !== 'string') return { error: 'device_assertion must be a JWT' };
    try {
      const unverified = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8'));
      const deviceId = String(unverified.iss ?? '');
      const device = await devices.evaluate(deviceId);
      if (!device?.publicKeyJwk) return { error: 'device_assertion names a device that is not enrolled with a key' };
      const header = decodeProtectedHeader(assertion);
      const key = await importJWK(device.publicKeyJwk as JWK, header.alg);
      const { payload } = await jwtVerify(assertion, key, { issuer: deviceId, subject: deviceId, audience: issuer, maxTokenAge: '5m', requiredClaims: ['jti', 'iat', 'exp'], algorithms: DEVICE_ALGS });
      if ((payload.exp as number) - (payload.iat as number) > 300) return { error: 'device_assertion lifetime exceeds 5 minutes' };
      // Single use: remember the jti until the assertion expires.
      const seen = await db.selectFrom('oidc_state').select('id').where('model', '=', 'DeviceAssertion').where('id', '=', `${deviceId}:${payload.jti}`).executeTakeFirst();
      if (seen) return { error: 'device_assertion was already used' };
      await db.insertInto('oidc_state').values({ model: 'DeviceAssertion', id: `${deviceId}:${payload.jti}`, payload: '{}', expires_at: (payload.exp as number) * 1000 + 60_000 }).execute();
      return { deviceId };
    } catch (error) {
      return { error: `device_assertion is invalid: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** Account states that refuse every sign-in and token, whatever the policies say (Entra error codes). */
  async function blockOf(user: User): Promise<{ code: number; description: string } | undefined> {
    if (user.disabled) return { code: 50057, description: 'the user account is disabled' };
    const block = await directory.userBlock(user.username);
    if (block?.kind === 'disabled') return { code: 50057, description: `the user account is disabled: ${block.reason}` };
    if (block?.kind === 'password_reset') return { code: 50142, description: `a password reset is required before signing in: ${block.reason}` };
    return undefined;
  }

  /** The token-endpoint gate (code exchange and refresh); client credentials carry no user. */
  async function gateToken(ctx: any, client: any) {
    const grantType = ctx.oidc.params?.grant_type;
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') return;
    const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
    const bound = await binding(source?.grantId);
    const user = await accounts.getUser(source?.accountId ?? '');
    const app = await directory.getApp(client.clientId);
    if (!user || !app) throw new errors.InvalidGrant('the user or app no longer exists');
    const endpoint = grantType === 'refresh_token' ? 'token:refresh_token' : 'token:authorization_code';
    const blocked = await blockOf(user);
    if (blocked) {
      await signInLog.record({ endpoint, user, app, deviceId: bound?.deviceId ?? null, decision: undefined, errorCode: blocked.code, failure: blocked.description, ip: ctx.ip, userAgent: ctx.get('user-agent'), sessionId: source?.sid });
      throw new errors.CustomOIDCProviderError('invalid_grant', blocked.description);
    }
    const { decision, device } = await decide(user, app, bound?.deviceId ?? null);
    await signInLog.record({ endpoint, user, app, deviceId: bound?.deviceId ?? null, device, decision, ip: ctx.ip, userAgent: ctx.get('user-agent'), sessionId: source?.sid });
    if (!decision.allowed) throw new errors.CustomOIDCProviderError('invalid_grant', describe(decision));
  }

  function build() {
    const Adapter = createStateAdapterClass(db, {
      now,
      async findClient(id) {
        const app = await directory.getApp(id);
        if (!app) return undefined;
        // The secret is kept hashed: oidc-provider holds the hash and compareClientSecret (below) hashes
        // what the client presents.
        const secretHash = await directory.appSecretHash(id);
        return {
          client_id: app.id, client_name: app.name,
          ...(secretHash ? { client_secret: secretHash, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
          redirect_uris: [...app.redirectUris],
          grant_types: [...app.grantTypes],
          response_types: app.grantTypes.includes('authorization_code') ? ['code'] : [],
        };
      },
    });
    const policy = interactionPolicy.base();
    // Every authorization request goes through the interaction, so that the device is proven and
    // Conditional Access evaluated each time; an existing SSO session skips only the password.
    policy.get('login')!.checks.add(new interactionPolicy.Check('device_check', 'device proof and Conditional Access are evaluated at every sign-in',
      (ctx: any) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT)));

    const p = new Provider(issuer, {
      adapter: Adapter as any,
      jwks: { keys: keys.oidc as any },
      cookies: { keys: [...keys.cookieKeys] },
      pkce: { required: () => true },
      extraParams: ['device_assertion'],
      interactions: { policy, url: (_ctx: any, interaction: any) => `${OIDC_PREFIX}/interaction/${interaction.uid}` },
      claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
      scopes: ['openid', 'offline_access', 'profile', 'email', 'ssf.manage', 'ssf.read'],
      async findAccount(_ctx: any, sub: string) {
        const user = await accounts.getUser(sub);
        if (!user || user.disabled) return undefined;
        return {
          accountId: user.id,
          async claims() {
            return { sub: user.id, name: user.displayName, preferred_username: user.username, ...(user.email ? { email: user.email } : {}) };
          },
        };
      },
      // First-party apps: a refresh token whenever the app may refresh, without offline_access consent.
      issueRefreshToken: async (_ctx: any, client: any) => client.grantTypeAllowed('refresh_token'),
      ttl: {
        AccessToken: options.accessTokenTtl ?? 600, AuthorizationCode: 60, ClientCredentials: 3600, IdToken: 3600,
        Interaction: 600, Session: 14 * 24 * 3600, Grant: 14 * 24 * 3600, RefreshToken: 14 * 24 * 3600,
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        revocation: { enabled: true },
        introspection: { enabled: true },
        resourceIndicators: {
          enabled: true,
          async defaultResource(_ctx: any, client: any, oneOf?: string[]) {
            if (oneOf) return oneOf;
            return (await directory.getApp(client.clientId))?.resource;
          },
          useGrantedResource: async () => true,
          async getResourceServerInfo(ctx: any, resource: string, client: any) {
            if (resource === `${baseUrl}${SSF_RESOURCE_PATH}`) {
              if (ctx.oidc.params?.grant_type !== 'client_credentials') throw new errors.InvalidTarget('the SSF management API takes client credentials tokens');
              return { scope: 'ssf.manage ssf.read', audience: resource, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
            }
            const app = await directory.appByResource(resource);
            if (!app) throw new errors.InvalidTarget(`unknown resource '${resource}'`);
            if (ctx.oidc.route === 'token') await gateToken(ctx, client);
            return { scope: 'openid profile email offline_access', audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          },
        },
      },
      async extraTokenClaims(_ctx: any, token: any) {
        const bound = await binding(token.grantId);
        // `did`: the device the sign-in was proven from; `iat_ms`: issue time in ms, so that a resource
        // server can tell a token issued right after a revocation from one issued in the same second before it.
        return { ...(bound?.deviceId ? { did: bound.deviceId } : {}), iat_ms: now() };
      },
      renderError: async (ctx: any, out: Record<string, string>) => {
        ctx.type = 'html';
        ctx.body = messagePage('Sign-in error', `${out.error}: ${out.error_description ?? ''}`);
      },
    } as any);
    // Behind a TLS-terminating proxy (an https public URL), trust X-Forwarded-* for the issuer's scheme and cookies.
    p.proxy = baseUrl.startsWith('https:');
    (p.Client.prototype as any).compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: unknown) {
      if (typeof presented !== 'string' || typeof this.clientSecret !== 'string') return false;
      const expected = Buffer.from(this.clientSecret);
      const actual = Buffer.from(hashClientSecret(presented));
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    };
    p.on('server_error', (_ctx: any, error: unknown) => options.log?.('error', 'oidc server_error', error));
    provider = p;
  }

  const failures = createFailureCounter(10, 5 * 60_000, now);
  const readForm = (req: IncomingMessage) => new Promise<URLSearchParams>((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; if (body.length > 64 * 1024) { reject(new Error('form too large')); req.destroy(); } });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });

  /** Finishes an interaction for a user that authenticated (password or SSO): device proof, CA, grant, binding. */
  async function completeSignIn(req: IncomingMessage, res: ServerResponse, details: any, user: User) {
    const params = details.params as Record<string, unknown>;
    const app = await directory.getApp(String(params.client_id));
    const ip = req.socket.remoteAddress ?? '';
    const userAgent = String(req.headers['user-agent'] ?? '');
    if (!app) return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown app' }, { mergeWithLastSubmission: false });
    const blocked = await blockOf(user);
    if (blocked) {
      await signInLog.record({ endpoint: 'authorize', user, app, deviceId: null, decision: undefined, errorCode: blocked.code, failure: blocked.description, ip, userAgent });
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: blocked.description }, { mergeWithLastSubmission: false });
    }
    const proof = await verifyDeviceAssertion(params.device_assertion);
    if (proof.error) {
      await signInLog.record({ endpoint: 'authorize', user, app, deviceId: null, decision: undefined, errorCode: 50097, failure: proof.error, ip, userAgent });
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: proof.error }, { mergeWithLastSubmission: false });
    }
    const deviceId = proof.deviceId ?? null;
    const { decision, device } = await decide(user, app, deviceId);
    await signInLog.record({ endpoint: 'authorize', user, app, deviceId, device, decision, ip, userAgent });
    if (!decision.allowed) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: describe(decision) }, { mergeWithLastSubmission: false });
    }
    const grant = new provider.Grant({ accountId: user.id, clientId: app.id });
    const requested = String(params.scope ?? 'openid').split(' ');
    grant.addOIDCScope(requested.filter((s) => ['openid', 'profile', 'email', 'offline_access'].includes(s)).join(' '));
    const resources = params.resource ? [params.resource].flat().map(String) : [app.resource];
    for (const r of resources) grant.addResourceScope(r, requested.filter((s) => ['openid', 'profile', 'email', 'offline_access'].includes(s)).join(' '));
    const grantId = await grant.save();
    await db.insertInto('idp_grant_devices').values({ grant_id: grantId, device_id: deviceId, account_id: user.id, client_id: app.id, created_at: now() }).execute();
    return provider.interactionFinished(req, res, {
      login: { accountId: user.id, amr: ['pwd'], ...(deviceId ? { acr: 'urn:vigil:acr:device-bound' } : {}) },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, path: string) {
    const details = await provider.interactionDetails(req, res);
    const uid = details.uid as string;
    const app = await directory.getApp(String(details.params.client_id));
    const appName = app?.name ?? String(details.params.client_id);
    if (req.method === 'GET' && path === `/interaction/${uid}`) {
      // SSO: an existing session skips the password but not the device proof nor Conditional Access.
      if (details.session?.accountId && details.params.prompt !== 'login') {
        const user = await accounts.getUser(details.session.accountId);
        if (user && !user.disabled) return completeSignIn(req, res, details, user);
      }
      res.writeHead(200, PAGE_HEADERS);
      return res.end(loginPage({ action: `${OIDC_PREFIX}/interaction/${uid}/login`, appName, abort: `${OIDC_PREFIX}/interaction/${uid}/abort` }));
    }
    if (req.method === 'POST' && path === `/interaction/${uid}/login`) {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const key = `${username.toLowerCase()}|${req.socket.remoteAddress ?? ''}`;
      const again = (error: string) => {
        res.writeHead(200, PAGE_HEADERS);
        return res.end(loginPage({ action: `${OIDC_PREFIX}/interaction/${uid}/login`, appName, abort: `${OIDC_PREFIX}/interaction/${uid}/abort`, error, username }));
      };
      if (failures.blocked(key)) return again('Too many failed sign-ins. Wait a few minutes and try again.');
      const session = await accounts.login(username, password, 60_000);
      if (!session) {
        failures.fail(key);
        return again('Wrong username or password.');
      }
      failures.reset(key);
      // The short accounts session only proved the password; the OIDC session takes over.
      await accounts.logout(session.token);
      return completeSignIn(req, res, details, session.user);
    }
    if (path === `/interaction/${uid}/abort`) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in' }, { mergeWithLastSubmission: false });
    }
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(messagePage('Not found', 'No such sign-in step.'));
  }

  async function revokeGrants(grantIds: readonly string[]) {
    for (const grantId of grantIds) {
      for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'BackchannelAuthenticationRequest', 'DeviceCode']) {
        await provider[model]?.adapter?.revokeByGrantId?.(grantId);
      }
      await provider.Grant.adapter.destroy(grantId);
      await db.deleteFrom('idp_grant_devices').where('grant_id', '=', grantId).execute();
    }
  }

  return {
    start(url) {
      baseUrl = url.replace(/\/$/, '');
      issuer = `${baseUrl}${OIDC_PREFIX}`;
      build();
    },
    get issuer() { return issuer; },
    get ssfResource() { return `${baseUrl}${SSF_RESOURCE_PATH}`; },
    handle(req, res) {
      if (!provider) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('starting');
        return;
      }
      const original = req.url ?? '/';
      const path = original.slice(OIDC_PREFIX.length).split('?')[0] || '/';
      if (path.startsWith('/interaction/')) {
        interaction(req, res, path).catch((error) => {
          options.log?.('warn', 'sign-in interaction failed', error);
          if (!res.headersSent) {
            res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
            res.end(messagePage('Sign-in failed', 'This sign-in has expired or is invalid. Go back to the app and start again.'));
          }
        });
        return;
      }
      (req as any).originalUrl = original;
      req.url = original.slice(OIDC_PREFIX.length) || '/';
      provider.callback()(req, res);
    },
    async verifyAccessToken(token, audience) {
      try {
        const { payload } = await jwtVerify(token, localJwks, { issuer, audience, typ: 'at+jwt' });
        return payload as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
    async revokeDevice(deviceId) {
      const rows = await db.selectFrom('idp_grant_devices').select(['grant_id', 'account_id']).where('device_id', '=', deviceId).execute();
      await revokeGrants(rows.map((r: any) => r.grant_id));
      return { grants: rows.length, users: [...new Set(rows.map((r: any) => String(r.account_id)))] };
    },
    async revokeUser(userId) {
      const grants = await db.selectFrom('oidc_state').select('id').where('model', '=', 'Grant').where('account_id', '=', userId).execute();
      await revokeGrants(grants.map((r: any) => r.id));
      await db.deleteFrom('oidc_state').where('model', '=', 'Session').where('account_id', '=', userId).execute();
      return { grants: grants.length };
    },
    async checkRequest(claims) {
      const user = await accounts.getUser(String(claims.sub ?? ''));
      if (!user) return { denied: 'unknown user' };
      const blocked = await blockOf(user);
      if (blocked) return { denied: blocked.description };
      const app = await directory.getApp(String(claims.client_id ?? ''));
      if (!app) return { denied: 'unknown app' };
      const { decision } = await decide(user, app, typeof claims.did === 'string' ? claims.did : null);
      return decision.allowed ? { user } : { denied: describe(decision) };
    },
    async usersOfDevice(deviceId) {
      const rows = await db.selectFrom('idp_grant_devices').select('account_id').where('device_id', '=', deviceId).execute();
      return [...new Set(rows.map((r: any) => String(r.account_id)))];
    },
  };
}

/** The sign-in page: no caching, no framing (clickjacking), no scripts, forms only to ourselves. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
};

/** Failed password attempts per key (username|ip) in a sliding window; blocks after `max`. */
function createFailureCounter(max: number, windowMs: number, now: () => number) {
  const seen = new Map<string, number[]>();
  const recent = (key: string) => (seen.get(key) ?? []).filter((t) => t > now() - windowMs);
  return {
    blocked: (key: string) => recent(key).length >= max,
    fail(key: string) {
      if (seen.size > 50_000) seen.clear();
      seen.set(key, [...recent(key), now()]);
    },
    reset: (key: string) => { seen.delete(key); },
  };
}

export const grantDeviceMigration = {
  version: 1,
  name: 'grant to device bindings',
  async up(db: any) {
    await db.schema.createTable('idp_grant_devices')
      .addColumn('grant_id', 'text', (c: any) => c.primaryKey())
      .addColumn('device_id', 'text')
      .addColumn('account_id', 'text', (c: any) => c.notNull())
      .addColumn('client_id', 'text', (c: any) => c.notNull())
      .addColumn('created_at', 'bigint', (c: any) => c.notNull())
      .execute();
    await db.schema.createIndex('idp_grant_devices_device').on('idp_grant_devices').column('device_id').execute();
  },
};
