import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { CAEP_PREFIX, RISC_PREFIX, SSF_PREFIX, metadataErrors, setPayloadErrors } from './validate.js';

/** RFC 8935 §2.3 / IANA "Security Event Token Error Codes" (+ SSF's invalid_state). */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied' | 'invalid_state';

export interface SetOutcome {
  /** 202 accepted, 400 rejected (with err), 401 failed endpoint authentication. */
  readonly status: 202 | 400 | 401;
  readonly err?: SetErrorCode;
  readonly description?: string;
  readonly jti?: string;
  readonly type?: string;
}

export interface AccessTokenResult {
  readonly ok: boolean;
  /** The token's claims when it verified. */
  readonly claims?: JWTPayload & Record<string, unknown>;
  /** 401 response to send when !ok. */
  readonly status?: 401;
  readonly wwwAuthenticate?: string;
  readonly error?: string;
}

export interface ReceiverOptions {
  /** Issuer of the access tokens (Vigil's OIDC issuer, e.g. https://vigil.example/oidc). */
  readonly tokenIssuer: string;
  /** This app's resource indicator: the `aud` its access tokens carry. */
  readonly audience: string;
  /** Where the token signing keys are (default tokenIssuer + '/jwks', oidc-provider's path). */
  readonly tokenJwksUri?: string;
  /** The SSF transmitter's issuer (metadata `issuer` = SET `iss`). */
  readonly transmitterIssuer: string;
  /** Metadata URL (default: the SSF 1.0 §7.2 path-insertion rule applied to transmitterIssuer). */
  readonly metadataUrl?: string;
  /** The SET audience this receiver expects (the stream's `aud`). */
  readonly setAudience: string;
  /** When set, pushed SETs must come with exactly this Authorization header value. */
  readonly pushAuthorization?: string;
  /** `realm` in WWW-Authenticate. */
  readonly realm?: string;
  /** Called after every accepted SET has been applied (e.g. for logs, metrics or tests). */
  readonly onEvent?: (event: { type: string; jti: string; subject: Record<string, unknown>; claims: Record<string, unknown> }) => void;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export interface StreamSetup {
  /** A client-credentials access token for the transmitter's management API (scope ssf.manage). */
  readonly accessToken: () => Promise<string>;
  /** Push to this URL (with `authorization`), or poll when omitted. */
  readonly push?: { readonly endpointUrl: string; readonly authorization?: string };
  readonly eventsRequested?: readonly string[];
  readonly description?: string;
}

export interface Receiver {
  /** Verifies a Vigil JWT access token and checks it against the revocation cut-offs. */
  checkAccessToken(token: string | undefined): Promise<AccessTokenResult>;
  /** Handles one pushed SET (RFC 8935): the compact JWS body and the request's Authorization header. */
  receivePush(body: string, contentType: string | undefined, authorization: string | undefined): Promise<SetOutcome>;
  /** Verifies and applies one SET (push or poll). */
  receiveSet(jwt: string): Promise<SetOutcome>;
  /** Fetches and checks the transmitter metadata (issuer must equal transmitterIssuer). */
  metadata(): Promise<Record<string, any>>;
  /** Creates (or reuses) this receiver's stream and verifies it; returns the stream configuration. */
  connect(setup: StreamSetup): Promise<Record<string, any>>;
  /** One RFC 8936 poll round: acks what the previous round accepted, reports errors in setErrs. */
  pollOnce(options?: { maxEvents?: number; returnImmediately?: boolean }): Promise<{ received: number; moreAvailable: boolean }>;
  /** Polls in a loop (long poll) until stop() is called. */
  startPolling(): void;
  /** The cut-off (ms) that applies to these token claims, if any. */
  cutoffFor(claims: Record<string, unknown>): number | undefined;
  stop(): Promise<void>;
}

const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** SSF 1.0 §7.2: the well-known segment goes between host and path. */
export function ssfMetadataUrl(issuer: string): string {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}/.well-known/ssf-configuration${path}`;
}

/** `WWW-Authenticate` for a revoked token: a Microsoft-compatible claims challenge. */
export function claimsChallenge(realm: string, cutoffMs: number): string {
  const claims = Buffer.from(JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.ceil(cutoffMs / 1000)) } } })).toString('base64');
  return `Bearer realm="${realm}", error="insufficient_claims", claims="${claims}"`;
}

/**
 * A resource server's half of continuous access evaluation: validates Vigil's JWT access tokens and
 * applies CAEP events (received by push or poll) as revocation cut-offs per user, device and session.
 * Depends only on jose and node, so any Node app can embed it.
 */
export function createReceiver(options: ReceiverOptions): Receiver {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const realm = options.realm ?? options.audience;
  const tokenKeys = createRemoteJWKSet(new URL(options.tokenJwksUri ?? `${options.tokenIssuer.replace(/\/$/, '')}/jwks`));
  let setKeys: JWTVerifyGetKey | undefined;
  let meta: Record<string, any> | undefined;
  let stream: Record<string, any> | undefined;
  let streamToken: (() => Promise<string>) | undefined;
  let expectedState: string | undefined;
  // Cut-offs keyed by "user|device|session" with '*' for an absent member; a token is cut when any
  // key built from its own (sub, did, sid) with members replaced by '*' holds a time ≥ its issue time.
  const cutoffs = new Map<string, number>();
  const deniedDevices = new Map<string, number>();
  const deniedUsers = new Map<string, number>();
  const seenJtis = new Map<string, number>();
  const verified = new Map<string, JWTPayload & Record<string, unknown>>();
  let polling = false;
  let pollLoop: Promise<void> | undefined;
  let pollAbort: AbortController | undefined;
  const toAck: string[] = [];
  const toErr: Record<string, { err: string; description: string }> = {};

  const cut = (user: string | undefined, device: string | undefined, session: string | undefined, at: number) => {
    const key = `${user ?? '*'}|${device ?? '*'}|${session ?? '*'}`;
    cutoffs.set(key, Math.max(cutoffs.get(key) ?? 0, at));
  };

  function cutoffFor(claims: Record<string, unknown>): number | undefined {
    const u = typeof claims.sub === 'string' ? claims.sub : '*';
    const d = typeof claims.did === 'string' ? claims.did : '*';
    const s = typeof claims.sid === 'string' ? claims.sid : '*';
    let best: number | undefined;
    for (const uu of [u, '*']) for (const dd of [d, '*']) for (const ss of [s, '*']) {
      if (uu === '*' && dd === '*' && ss === '*') continue;
      const t = cutoffs.get(`${uu}|${dd}|${ss}`);
      if (t !== undefined && (best === undefined || t > best)) best = t;
    }
    if (d !== '*' && deniedDevices.has(d)) best = Math.max(best ?? 0, deniedDevices.get(d)!, Number.MAX_SAFE_INTEGER);
    if (u !== '*' && deniedUsers.has(u)) best = Math.max(best ?? 0, Number.MAX_SAFE_INTEGER);
    return best;
  }

  /** Maps a subject identifier to the token claims it names: iss_sub from the token issuer → sub / did. */
  function members(subject: Record<string, any>): { user?: string; device?: string; session?: string } | undefined {
    const simple = (s: any): string | undefined => {
      if (!isObj(s)) return undefined;
      if (s.format === 'iss_sub' && s.iss === options.tokenIssuer) return s.sub;
      if (s.format === 'opaque') return s.id;
      return undefined;
    };
    if (subject.format === 'complex') {
      const out = { user: simple(subject.user), device: simple(subject.device), session: simple(subject.session) };
      return out.user || out.device || out.session ? out : undefined;
    }
    if (subject.format === 'iss_sub') {
      const user = simple(subject);
      return user ? { user } : undefined;
    }
    return undefined;
  }

  function apply(type: string, event: Record<string, any>, subject: Record<string, any>, iat: number): void {
    const at = Math.round(((typeof event.event_timestamp === 'number' ? event.event_timestamp : undefined) ?? iat) * 1000);
    const m = members(subject);
    if (!m) return; // a subject this app does not know: tolerated silently
    switch (type) {
      case `${CAEP_PREFIX}session-revoked`:
      case `${CAEP_PREFIX}credential-change`:
      case `${RISC_PREFIX}sessions-revoked`:
        cut(m.user, m.device, m.session, at);
        break;
      case `${CAEP_PREFIX}device-compliance-change`:
        if (!m.device) return;
        if (event.current_status === 'not-compliant') {
          cut(undefined, m.device, undefined, at);
          deniedDevices.set(m.device, at);
        } else {
          // Back to compliant: no longer denied, but tokens from before the cut-off stay dead.
          deniedDevices.delete(m.device);
        }
        break;
      case `${CAEP_PREFIX}risk-level-change`:
        if (event.current_level === 'HIGH') cut(event.principal === 'USER' ? m.user : undefined, event.principal === 'DEVICE' ? m.device : undefined, undefined, at);
        break;
      case `${RISC_PREFIX}account-disabled`:
        if (m.user) { cut(m.user, undefined, undefined, at); deniedUsers.set(m.user, at); }
        break;
      case `${RISC_PREFIX}account-enabled`:
        if (m.user) deniedUsers.delete(m.user);
        break;
      default:
        break;
    }
  }

  async function loadMetadata(): Promise<Record<string, any>> {
    if (meta) return meta;
    const res = await doFetch(options.metadataUrl ?? ssfMetadataUrl(options.transmitterIssuer), { headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`SSF metadata: HTTP ${res.status}`);
    const m = await res.json();
    const errs = metadataErrors(m);
    if (errs.length) throw new Error(`SSF metadata invalid: ${errs.join('; ')}`);
    // SSF 1.0 §7.2.1: the issuer in the metadata must be the one we asked for.
    if (m.issuer !== options.transmitterIssuer) throw new Error(`SSF metadata issuer ${m.issuer} is not ${options.transmitterIssuer}`);
    meta = m;
    setKeys = createRemoteJWKSet(new URL(m.jwks_uri));
    return m;
  }

  const reject = (err: SetErrorCode, description: string, jti?: string): SetOutcome => ({ status: 400, err, description, ...(jti ? { jti } : {}) });

  async function receiveSet(jwt: string): Promise<SetOutcome> {
    let header;
    let unverified: Record<string, any>;
    try {
      header = decodeProtectedHeader(jwt);
      unverified = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    } catch {
      return reject('invalid_request', 'the body is not a compact JWS');
    }
    const jti = typeof unverified.jti === 'string' ? unverified.jti : undefined;
    if (header.typ !== 'secevent+jwt') return reject('invalid_request', `typ must be secevent+jwt, got ${String(header.typ)}`, jti);
    if (header.alg === 'none' || !header.alg) return reject('invalid_key', 'unsigned SET', jti);
    await loadMetadata();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, setKeys!, { algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] }));
    } catch (error) {
      if (error instanceof joseErrors.JWTClaimValidationFailed) return reject('invalid_request', error.message, jti);
      return reject('invalid_key', 'signature verification failed', jti);
    }
    if (payload.iss !== options.transmitterIssuer || payload.iss !== meta!.issuer) return reject('invalid_issuer', `unexpected issuer ${String(payload.iss)}`, jti);
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(options.setAudience)) return reject('invalid_audience', `unexpected audience ${JSON.stringify(payload.aud)}`, jti);
    const errs = setPayloadErrors(payload);
    if (errs.length) return reject('invalid_request', errs.join('; '), jti);
    if (typeof payload.iat === 'number' && payload.iat * 1000 > now() + 60_000) return reject('invalid_request', 'iat is in the future', jti);
    const critical: string[] = Array.isArray(meta!.critical_subject_members) ? meta!.critical_subject_members : [];
    const [type, event] = Object.entries(payload.events as Record<string, Record<string, any>>)[0];
    const subject = (payload.sub_id ?? event.subject) as Record<string, any>;
    if (critical.some((m) => subject.format === 'complex' && !['user', 'device', 'session', 'tenant', 'application', 'org_unit', 'group'].includes(m))) {
      return reject('invalid_request', 'a critical subject member is not understood', jti);
    }
    // A duplicate jti is acknowledged again, not applied twice.
    if (seenJtis.has(payload.jti!)) return { status: 202, jti: payload.jti, type };
    if (type === `${SSF_PREFIX}verification`) {
      if (expectedState !== undefined && event.state !== undefined && event.state !== expectedState) return reject('invalid_state', 'verification state does not match', jti);
      if (event.state !== undefined && event.state === expectedState) expectedState = undefined;
    } else {
      apply(type, event, subject, payload.iat as number);
    }
    seenJtis.set(payload.jti!, now());
    if (seenJtis.size > 100_000) for (const [k] of seenJtis) { seenJtis.delete(k); if (seenJtis.size <= 50_000) break; }
    options.onEvent?.({ type, jti: payload.jti!, subject, claims: event });
    return { status: 202, jti: payload.jti, type };
  }

  async function management(method: string, url: string, body?: unknown) {
    const token = await streamToken!();
    const res = await doFetch(url, {
      method, headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const receiver: Receiver = {
    async checkAccessToken(token) {
      const fail = (error: string, description: string): AccessTokenResult => ({
        ok: false, status: 401, error, wwwAuthenticate: token ? `Bearer realm="${realm}", error="${error}", error_description="${description}"` : `Bearer realm="${realm}"`,
      });
      if (!token) return fail('invalid_request', 'no access token');
      let claims: JWTPayload & Record<string, unknown>;
      const cached = verified.get(token);
      if (cached && (cached.exp === undefined || cached.exp * 1000 > now())) {
        claims = cached;
      } else {
        try {
          ({ payload: claims } = await jwtVerify(token, tokenKeys, { issuer: options.tokenIssuer, audience: options.audience, typ: 'at+jwt' }));
        } catch {
          verified.delete(token);
          return fail('invalid_token', 'the access token is invalid or expired');
        }
        // A token's signature is checked once; revocation is checked on every request below.
        if (verified.size >= 10_000) verified.delete(verified.keys().next().value!);
        verified.set(token, claims);
      }
      const cutoff = cutoffFor(claims);
      const issued = typeof claims.iat_ms === 'number' ? claims.iat_ms : (claims.iat ?? 0) * 1000;
      if (cutoff !== undefined && issued <= cutoff) {
        const shown = cutoff === Number.MAX_SAFE_INTEGER ? now() : cutoff;
        return { ok: false, status: 401, error: 'insufficient_claims', wwwAuthenticate: claimsChallenge(realm, shown), claims };
      }
      return { ok: true, claims };
    },
    async receivePush(body, contentType, authorization) {
      if (options.pushAuthorization !== undefined && authorization !== options.pushAuthorization) {
        return { status: 401, err: 'authentication_failed', description: 'the Authorization header does not match the stream' };
      }
      if (!/^application\/secevent\+jwt\b/i.test(contentType ?? '')) return reject('invalid_request', 'Content-Type must be application/secevent+jwt');
      return receiveSet(body.trim());
    },
    receiveSet,
    metadata: loadMetadata,
    async connect(setup) {
      const m = await loadMetadata();
      streamToken = setup.accessToken;
      const request = {
        ...(setup.push ? { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: setup.push.endpointUrl, ...(setup.push.authorization ? { authorization_header: setup.push.authorization } : {}) } }
          : { delivery: { method: 'urn:ietf:rfc:8936' } }),
        events_requested: setup.eventsRequested ?? [
          `${CAEP_PREFIX}session-revoked`, `${CAEP_PREFIX}device-compliance-change`, `${CAEP_PREFIX}risk-level-change`, `${CAEP_PREFIX}credential-change`,
          `${RISC_PREFIX}account-disabled`, `${RISC_PREFIX}account-enabled`,
        ],
        ...(setup.description ? { description: setup.description } : {}),
      };
      let created = await management('POST', m.configuration_endpoint, request);
      if (created.status === 409) {
        const list = await management('GET', m.configuration_endpoint);
        const existing = Array.isArray(list.body) ? list.body[0] : undefined;
        if (!existing) throw new Error('SSF stream create: 409 and no existing stream');
        created = await management('PUT', m.configuration_endpoint, { stream_id: existing.stream_id, ...request });
      }
      if (created.status !== 201 && created.status !== 200) throw new Error(`SSF stream create: HTTP ${created.status} ${JSON.stringify(created.body)}`);
      if (created.body.iss !== options.transmitterIssuer) throw new Error(`SSF stream iss ${created.body.iss} is not ${options.transmitterIssuer}`);
      stream = created.body;
      expectedState = randomBytes(16).toString('base64url');
      const verified = await management('POST', m.verification_endpoint, { stream_id: stream!.stream_id, state: expectedState });
      if (verified.status !== 204 && verified.status !== 429) throw new Error(`SSF verification: HTTP ${verified.status}`);
      return stream!;
    },
    async pollOnce({ maxEvents = 100, returnImmediately = true } = {}) {
      if (!stream || stream.delivery?.method !== 'urn:ietf:rfc:8936') throw new Error('no poll stream: connect() without push first');
      const ack = toAck.splice(0);
      const setErrs = Object.fromEntries(Object.entries(toErr));
      for (const k of Object.keys(toErr)) delete toErr[k];
      const token = await streamToken!();
      pollAbort = new AbortController();
      const res = await doFetch(stream.delivery.endpoint_url, {
        method: 'POST', signal: pollAbort.signal,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ maxEvents, returnImmediately, ack, ...(Object.keys(setErrs).length ? { setErrs } : {}) }),
      });
      if (res.status !== 200) {
        toAck.push(...ack);
        Object.assign(toErr, setErrs);
        throw new Error(`SSF poll: HTTP ${res.status}`);
      }
      const body = await res.json() as { sets?: Record<string, string>; moreAvailable?: boolean };
      let received = 0;
      for (const [jti, jwt] of Object.entries(body.sets ?? {})) {
        received++;
        const outcome = await receiveSet(jwt);
        if (outcome.status === 202) toAck.push(jti);
        else toErr[jti] = { err: outcome.err ?? 'invalid_request', description: outcome.description ?? '' };
      }
      // Acknowledge at once when nothing else is pending, so the transmitter stops redelivering.
      if (received > 0 && !body.moreAvailable && maxEvents > 0) {
        const acks = toAck.splice(0);
        const errs = Object.fromEntries(Object.entries(toErr));
        for (const k of Object.keys(toErr)) delete toErr[k];
        const r = await doFetch(stream.delivery.endpoint_url, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ maxEvents: 0, returnImmediately: true, ack: acks, ...(Object.keys(errs).length ? { setErrs: errs } : {}) }),
        });
        await r.arrayBuffer();
      }
      return { received, moreAvailable: Boolean(body.moreAvailable) };
    },
    startPolling() {
      if (polling) return;
      polling = true;
      pollLoop = (async () => {
        let backoff = 250;
        while (polling) {
          try {
            await receiver.pollOnce({ returnImmediately: false });
            backoff = 250;
          } catch {
            if (!polling) break;
            await new Promise((r) => setTimeout(r, backoff));
            backoff = Math.min(backoff * 2, 30_000);
          }
        }
      })();
    },
    cutoffFor,
    async stop() {
      polling = false;
      pollAbort?.abort();
      await pollLoop?.catch(() => undefined);
    },
  };
  return receiver;
}
