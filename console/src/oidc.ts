// Sign-in through Vigil's own OpenID provider (authorization code + PKCE, public client 'vigil-console',
// resource <origin>/api). The provider's access token is then used as the API bearer token.
const CLIENT_ID = 'vigil-console';
const CALLBACK = '/oidc-callback';
const PENDING_KEY = 'vigil.oidc';

interface Discovery { authorization_endpoint: string; token_endpoint: string }

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The provider's endpoints, or null when this server has no provider (or the browser cannot do PKCE here). */
export async function discoverProvider(): Promise<Discovery | null> {
  if (!globalThis.crypto?.subtle) return null; // PKCE needs a secure context (https or localhost)
  try {
    const response = await fetch('/oidc/.well-known/openid-configuration', { headers: { accept: 'application/json' } });
    if (!response.ok) return null;
    const doc = (await response.json()) as Partial<Discovery>;
    return doc.authorization_endpoint && doc.token_endpoint ? { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint } : null;
  } catch {
    return null;
  }
}

/** Leaves for the provider's sign-in page; it comes back to /oidc-callback. */
export async function startProviderSignIn(provider: Discovery): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, tokenEndpoint: provider.token_endpoint }));
  const params = new URLSearchParams({
    client_id: CLIENT_ID, redirect_uri: `${location.origin}${CALLBACK}`, response_type: 'code', scope: 'openid',
    code_challenge: challenge, code_challenge_method: 'S256', state, resource: `${location.origin}/api`,
  });
  location.assign(`${provider.authorization_endpoint}?${params}`);
}

export function isProviderCallback(): boolean {
  return location.pathname === CALLBACK;
}

/** Exchanges the code the provider sent back for an access token (or throws with the provider's reason). */
export async function finishProviderSignIn(): Promise<string> {
  const query = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as { verifier: string; state: string; tokenEndpoint: string } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (query.get('error')) throw new Error(`The identity provider refused the sign-in: ${query.get('error_description') ?? query.get('error')}`);
  if (!pending || query.get('state') !== pending.state) throw new Error('This sign-in was not started here (state mismatch); start again.');
  const code = query.get('code');
  if (!code) throw new Error('The identity provider sent no authorization code.');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: pending.verifier, redirect_uri: `${location.origin}${CALLBACK}`, client_id: CLIENT_ID }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !body.access_token) throw new Error(`The token exchange failed: ${body.error_description ?? body.error ?? response.status}`);
  return body.access_token;
}
