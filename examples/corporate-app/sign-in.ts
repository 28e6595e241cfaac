// What a browser (with the device's agent) does to sign in to a corporate app through Vigil:
// authorization code + PKCE with a device assertion, over plain HTTP. Used by the tests, the bench and the demo.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';

export interface DeviceCredential {
  readonly deviceId: string;
  /** The private key the device enrolled (its public JWK is in the inventory). */
  readonly privateKey: CryptoKey | KeyObject;
  readonly alg?: string;
}

/** A single-use device assertion (JWT, ≤ 5 min) for Vigil's `device_assertion` authorization parameter. */
export async function deviceAssertion(device: DeviceCredential, issuer: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: device.alg ?? 'ES256', typ: 'JWT' })
    .setIssuer(device.deviceId).setSubject(device.deviceId).setAudience(issuer)
    .setIssuedAt().setExpirationTime('2m').setJti(randomBytes(12).toString('base64url'))
    .sign(device.privateKey);
}

export interface SignInInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly username: string;
  readonly password: string;
  readonly device?: DeviceCredential;
  /** A ready-made device assertion (instead of `device`), e.g. to show that one cannot be replayed. */
  readonly deviceAssertion?: string;
  readonly resource?: string;
  readonly scope?: string;
  /** Reuse a browser's cookies (SSO); filled in as the flow goes. */
  readonly cookies?: Map<string, string>;
}

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly expires_in: number;
  readonly token_type: string;
}

export type SignInResult =
  | { readonly ok: true; readonly tokens: Tokens }
  | { readonly ok: false; readonly stage: 'authorize' | 'login' | 'token'; readonly error: string; readonly error_description?: string };

function remember(jar: Map<string, string>, res: Response) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name); else jar.set(name, value);
  }
}
const cookieHeader = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

function basic(clientId: string, secret: string) {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function tokenRequest(issuer: string, clientId: string, clientSecret: string | undefined, form: Record<string, string>) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(form);
  if (clientSecret) headers.authorization = basic(clientId, clientSecret); else body.set('client_id', clientId);
  const res = await fetch(`${issuer}/token`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() as Record<string, any> };
}

/** Signs in through the login page; returns the tokens, or the OAuth error with its description. */
export async function signIn(input: SignInInput): Promise<SignInResult> {
  const jar = input.cookies ?? new Map<string, string>();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('base64url');
  const params = new URLSearchParams({
    client_id: input.clientId, redirect_uri: input.redirectUri, response_type: 'code', scope: input.scope ?? 'openid offline_access',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state,
    ...(input.resource ? { resource: input.resource } : {}),
  });
  if (input.deviceAssertion) params.set('device_assertion', input.deviceAssertion);
  else if (input.device) params.set('device_assertion', await deviceAssertion(input.device, input.issuer));
  const origin = new URL(input.issuer).origin;
  let url = `${input.issuer}/auth?${params}`;
  let loggedIn = false;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
    remember(jar, res);
    if (res.status === 200 && !loggedIn) {
      // The login page: post the form to its action.
      const html = await res.text();
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      if (!action) return { ok: false, stage: 'login', error: 'no_login_form', error_description: html.slice(0, 200) };
      const post = await fetch(new URL(action.replace(/&amp;/g, '&'), origin), {
        method: 'POST', redirect: 'manual',
        headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: input.username, password: input.password }),
      });
      remember(jar, post);
      loggedIn = true;
      if (post.status !== 303 && post.status !== 302) return { ok: false, stage: 'login', error: 'login_failed', error_description: `HTTP ${post.status}` };
      url = new URL(post.headers.get('location')!, origin).href;
      continue;
    }
    if (res.status === 302 || res.status === 303) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location')!, origin);
      if (next.href.startsWith(input.redirectUri)) {
        const q = next.searchParams;
        if (q.get('error')) return { ok: false, stage: 'authorize', error: q.get('error')!, ...(q.get('error_description') ? { error_description: q.get('error_description')! } : {}) };
        if (q.get('state') !== state) return { ok: false, stage: 'authorize', error: 'state_mismatch' };
        const token = await tokenRequest(input.issuer, input.clientId, input.clientSecret, {
          grant_type: 'authorization_code', code: q.get('code')!, code_verifier: verifier, redirect_uri: input.redirectUri,
        });
        if (token.status !== 200) return { ok: false, stage: 'token', error: token.body.error, error_description: token.body.error_description };
        return { ok: true, tokens: token.body as Tokens };
      }
      url = next.href;
      continue;
    }
    const text = await res.text();
    return { ok: false, stage: 'authorize', error: `http_${res.status}`, error_description: text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300) };
  }
  return { ok: false, stage: 'authorize', error: 'too_many_redirects' };
}

/** Refreshes: the tokens, or the OAuth error (invalid_grant with the policy named when Conditional Access refuses). */
export async function refresh(input: { issuer: string; clientId: string; clientSecret?: string; refreshToken: string }) {
  const r = await tokenRequest(input.issuer, input.clientId, input.clientSecret, { grant_type: 'refresh_token', refresh_token: input.refreshToken });
  return r.status === 200 ? { ok: true as const, tokens: r.body as Tokens } : { ok: false as const, status: r.status, error: r.body.error as string, error_description: r.body.error_description as string | undefined };
}

/** A client-credentials token for the SSF management API (scope ssf.manage ssf.read). */
export async function clientCredentials(input: { issuer: string; clientId: string; clientSecret: string; resource: string; scope?: string }): Promise<string> {
  const r = await tokenRequest(input.issuer, input.clientId, input.clientSecret, { grant_type: 'client_credentials', resource: input.resource, scope: input.scope ?? 'ssf.manage ssf.read' });
  if (r.status !== 200) throw new Error(`client credentials: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token as string;
}
