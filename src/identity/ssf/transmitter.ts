import { createPrivateKey, sign as cryptoSign, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { sql } from 'kysely';
import { monotonicFactory, ulid } from 'ulid';
import { VigilError } from '../../errors/index.js';
import type { Migration, Store } from '../../store/index.js';
import { publicJwk } from '../keys.js';

export const PUSH = 'urn:ietf:rfc:8935';
export const POLL = 'urn:ietf:rfc:8936';
export const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
export const SSF_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type/';
export const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
export const EVENTS = {
  sessionRevoked: `${CAEP}session-revoked`,
  deviceComplianceChange: `${CAEP}device-compliance-change`,
  riskLevelChange: `${CAEP}risk-level-change`,
  credentialChange: `${CAEP}credential-change`,
  tokenClaimsChange: `${CAEP}token-claims-change`,
  assuranceLevelChange: `${CAEP}assurance-level-change`,
  accountDisabled: `${RISC}account-disabled`,
  accountEnabled: `${RISC}account-enabled`,
  verification: `${SSF_EVENT}verification`,
  streamUpdated: `${SSF_EVENT}stream-updated`,
} as const;

/** The CAEP events Vigil transmits (verification and stream-updated are always delivered). */
export const EVENTS_SUPPORTED: readonly string[] = [
  EVENTS.sessionRevoked, EVENTS.deviceComplianceChange, EVENTS.riskLevelChange, EVENTS.credentialChange,
  EVENTS.accountDisabled, EVENTS.accountEnabled,
];

export type Subject = Readonly<Record<string, unknown>>;
export type StreamStatus = 'enabled' | 'paused' | 'disabled';

export interface Delivery {
  readonly method: string;
  readonly endpoint_url?: string;
  readonly authorization_header?: string;
}

/** SSF 1.0 §8.1.1 stream configuration. */
export interface StreamConfig {
  readonly stream_id: string;
  readonly iss: string;
  readonly aud: string;
  readonly events_supported: readonly string[];
  readonly events_requested: readonly string[];
  readonly events_delivered: readonly string[];
  readonly delivery: Delivery;
  readonly min_verification_interval: number;
  readonly description?: string;
}

/** One event to transmit: what happened and to whom. */
export interface OutgoingEvent {
  readonly type: string;
  readonly subject: Subject;
  readonly claims: Readonly<Record<string, unknown>>;
  /** Shared by the SETs of one cause (RFC 8417 txn). */
  readonly txn: string;
}

export interface PollRequest {
  readonly maxEvents?: number;
  readonly returnImmediately?: boolean;
  readonly ack?: readonly string[];
  readonly setErrs?: Readonly<Record<string, { err: string; description?: string }>>;
}

export interface Transmitter {
  start(baseUrl: string): Promise<void>;
  readonly issuer: string;
  metadata(): Record<string, unknown>;
  jwks(): { keys: JWK[] };
  create(owner: string, body: unknown): Promise<StreamConfig>;
  read(owner: string, streamId?: string): Promise<StreamConfig | StreamConfig[]>;
  update(owner: string, body: unknown, replace: boolean): Promise<StreamConfig>;
  remove(owner: string, streamId: string): Promise<void>;
  status(owner: string, streamId: string): Promise<{ stream_id: string; status: StreamStatus; reason?: string }>;
  setStatus(owner: string, body: unknown): Promise<{ stream_id: string; status: StreamStatus; reason?: string }>;
  addSubject(owner: string, body: unknown): Promise<void>;
  removeSubject(owner: string, body: unknown): Promise<void>;
  verify(owner: string, body: unknown): Promise<void>;
  poll(owner: string, streamId: string, body: unknown): Promise<{ sets: Record<string, string>; moreAvailable: boolean }>;
  /** Signs and queues the event for every stream that asked for it; push delivery starts at once. */
  emit(event: OutgoingEvent): Promise<number>;
  /** Outbox rows of a stream (for tests and the console). */
  outbox(streamId: string): Promise<Array<{ jti: string; state: string; attempts: number; lastError: string | null }>>;
  close(): Promise<void>;
}

export interface TransmitterOptions {
  readonly store: Store;
  readonly signingKey: JWK;
  /** Receiver's audience for a management client (default: the client id). */
  readonly audienceOf?: (clientId: string) => Promise<string>;
  readonly minVerificationInterval?: number;
  /** Push retry delays in ms; after the last, the SET is dead-lettered ('failed'). */
  readonly retryDelaysMs?: readonly number[];
  /** Longest a long poll waits (ms). */
  readonly longPollMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}

const migrations: Migration[] = [{
  version: 1,
  name: 'ssf streams and outbox',
  async up(db) {
    await db.schema.createTable('ssf_streams')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('excluded', 'text', (c) => c.notNull())
      .addColumn('last_verification', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('ssf_outbox')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('stream_id', 'text', (c) => c.notNull())
      .addColumn('set_jwt', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull()) // pending | delivered | acked | failed
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ssf_outbox_stream').on('ssf_outbox').columns(['stream_id', 'state', 'created_at']).execute();
  },
}];

const bad = (m: string) => new VigilError('bad_request', 400, m);
const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 9493 / SSF §3 subject shape check (simple formats and `complex`). */
export function validSubject(s: unknown, nested = false): boolean {
  if (!isObj(s)) return false;
  if (!nested && s.format === undefined) {
    // SSF complex subject without explicit format is not allowed; `format: complex` is required.
    return false;
  }
  const str = (k: string) => typeof s[k] === 'string' && s[k] !== '';
  switch (s.format) {
    case 'account': return str('uri');
    case 'email': return str('email');
    case 'iss_sub': return str('iss') && str('sub');
    case 'opaque': return str('id');
    case 'phone_number': return str('phone_number');
    case 'did': return str('url');
    case 'uri': return str('uri');
    case 'jwt_id': return str('iss') && str('jti');
    case 'saml_assertion_id': return str('issuer') && str('assertion_id');
    case 'ip-addresses': return Array.isArray(s['ip-addresses']) && s['ip-addresses'].every((x: unknown) => typeof x === 'string');
    case 'aliases': return Array.isArray(s.identifiers) && s.identifiers.length > 0 && s.identifiers.every((i: any) => isObj(i) && i.format !== 'aliases' && validSubject(i, true));
    case 'complex': {
      const members = Object.entries(s).filter(([k]) => k !== 'format');
      return !nested && members.length > 0 && members.every(([, v]) => isObj(v) && v.format !== 'complex' && validSubject(v, true));
    }
    default: return typeof s.format === 'string';
  }
}

/** SSF §3.3 matching: simple subjects must be identical; complex ones match member-wise, absent = wildcard. */
export function subjectMatches(a: Subject, b: Subject): boolean {
  const same = (x: unknown, y: unknown) => JSON.stringify(sortKeys(x)) === JSON.stringify(sortKeys(y));
  if (a.format === 'complex' && b.format === 'complex') {
    return Object.keys(a).filter((k) => k !== 'format').every((k) => !(k in b) || same(a[k], b[k]));
  }
  if (a.format === 'complex') return Object.entries(a).some(([k, v]) => k !== 'format' && same(v, b));
  if (b.format === 'complex') return subjectMatches(b, a);
  return same(a, b);
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

/**
 * Vigil as an OpenID Shared Signals 1.0 transmitter: metadata, stream management, verification,
 * push delivery (RFC 8935) with retry and backoff and poll delivery (RFC 8936) with ack/setErrs;
 * SETs (RFC 8417) signed RS256. State (streams and an outbox of every SET) lives in the store.
 */
export async function createTransmitter(options: TransmitterOptions): Promise<Transmitter> {
  const { store } = options;
  await store.migrate('identity.ssf', migrations);
  const db = store.db;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const retryDelays = options.retryDelaysMs ?? [250, 500, 1000, 2000, 4000, 8000, 16000, 32000];
  const minVerification = options.minVerificationInterval ?? 15;
  const longPollMs = options.longPollMs ?? 25_000;
  const key = createPrivateKey({ key: options.signingKey as JsonWebKey, format: 'jwk' });
  const kid = options.signingKey.kid!;
  let base = '';
  let closed = false;
  // Monotonic, so that SETs created in the same millisecond keep their order in the outbox (and in delivery).
  const nextJti = monotonicFactory();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Map<string, Set<() => void>>();
  const inflight = new Set<Promise<unknown>>();
  const cache = new Map<string, { config: StreamConfig; owner: string; status: StreamStatus; reason?: string; excluded: Subject[] }>();

  const endpoints = () => ({
    configuration_endpoint: `${base}/ssf/streams`,
    status_endpoint: `${base}/ssf/status`,
    add_subject_endpoint: `${base}/ssf/subjects/add`,
    remove_subject_endpoint: `${base}/ssf/subjects/remove`,
    verification_endpoint: `${base}/ssf/verify`,
  });

  async function loadStreams() {
    cache.clear();
    for (const r of await db.selectFrom('ssf_streams').selectAll().execute() as any[]) {
      cache.set(r.id, { config: JSON.parse(r.config), owner: r.owner, status: r.status, ...(r.reason ? { reason: r.reason } : {}), excluded: JSON.parse(r.excluded) });
    }
  }
  async function persist(id: string) {
    const s = cache.get(id)!;
    await db.updateTable('ssf_streams').set({ config: JSON.stringify(s.config), status: s.status, reason: s.reason ?? null, excluded: JSON.stringify(s.excluded) }).where('id', '=', id).execute();
  }

  function owned(owner: string, streamId: unknown) {
    if (typeof streamId !== 'string' || streamId === '') throw bad("'stream_id' is required");
    const s = cache.get(streamId);
    if (!s || s.owner !== owner) throw new VigilError('not_found', 404, 'stream not found');
    return s;
  }

  function parseDelivery(d: unknown, streamId: string): Delivery {
    if (d === undefined) return { method: POLL, endpoint_url: `${base}/ssf/poll/${streamId}` };
    if (!isObj(d) || typeof d.method !== 'string') throw bad("'delivery.method' is required");
    if (d.method === POLL) {
      // SSF §8.1.1: the transmitter supplies the poll URL.
      return { method: POLL, endpoint_url: `${base}/ssf/poll/${streamId}` };
    }
    if (d.method !== PUSH) throw bad(`'delivery.method' must be ${PUSH} or ${POLL}`);
    if (typeof d.endpoint_url !== 'string' || !URL.canParse(d.endpoint_url) || !/^https?:$/.test(new URL(d.endpoint_url).protocol)) throw bad("push delivery needs an http(s) 'delivery.endpoint_url'");
    if (d.authorization_header !== undefined && typeof d.authorization_header !== 'string') throw bad("'delivery.authorization_header' must be a string");
    return { method: PUSH, endpoint_url: d.endpoint_url, ...(d.authorization_header ? { authorization_header: d.authorization_header } : {}) };
  }

  function parseRequested(v: unknown): string[] {
    if (v === undefined) return [...EVENTS_SUPPORTED];
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) throw bad("'events_requested' must be a list of event type URIs");
    return v as string[];
  }
  const delivered = (requested: readonly string[]) => EVENTS_SUPPORTED.filter((e) => requested.includes(e));

  /**
   * RS256 compact JWS with node:crypto's synchronous signer: WebCrypto (jose's signer) queues on the
   * libuv thread pool behind password hashing and file I/O, which cost tens of ms under load.
   */
  function sign(streamAud: string, event: OutgoingEvent): { jti: string; jwt: string } {
    const jti = nextJti();
    const header = { alg: 'RS256', typ: 'secevent+jwt', kid };
    const payload = { iss: base, aud: streamAud, iat: Math.floor(now() / 1000), jti, txn: event.txn, sub_id: event.subject, events: { [event.type]: event.claims } };
    const input = `${b64(header)}.${b64(payload)}`;
    return { jti, jwt: `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}` };
  }

  function wake(streamId: string) {
    for (const w of waiters.get(streamId) ?? []) w();
    waiters.delete(streamId);
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  }

  /** `stored` resolves when the outbox row exists: the first attempt runs alongside that write. */
  async function push(streamId: string, jti: string, jwt: string, attempt: number, stored: Promise<unknown> = Promise.resolve()): Promise<void> {
    if (closed) return;
    const s = cache.get(streamId);
    if (!s || s.config.delivery.method !== PUSH || s.status !== 'enabled') return; // paused: held; disabled/deleted: dropped
    let error: string | null = null;
    try {
      const res = await doFetch(s.config.delivery.endpoint_url!, {
        method: 'POST',
        headers: {
          'content-type': 'application/secevent+jwt', accept: 'application/json',
          ...(s.config.delivery.authorization_header ? { authorization: s.config.delivery.authorization_header } : {}),
        },
        body: jwt,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 202) {
        await res.arrayBuffer().catch(() => undefined);
        await stored;
        await db.updateTable('ssf_outbox').set({ state: 'delivered', attempts: attempt + 1, last_error: null }).where('jti', '=', jti).execute();
        return;
      }
      const text = await res.text().catch(() => '');
      error = `HTTP ${res.status} ${text.slice(0, 300)}`;
      // RFC 8935 §2.3: a 400 with an error code is a permanent rejection of this SET.
      if (res.status === 400) {
        await stored;
        await db.updateTable('ssf_outbox').set({ state: 'failed', attempts: attempt + 1, last_error: error }).where('jti', '=', jti).execute();
        options.log?.('warn', 'SET rejected by receiver', { streamId, jti, error });
        return;
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const last = attempt >= retryDelays.length;
    await stored;
    await db.updateTable('ssf_outbox').set({ state: last ? 'failed' : 'pending', attempts: attempt + 1, last_error: error }).where('jti', '=', jti).execute();
    if (last || closed) return;
    const timer = setTimeout(() => { timers.delete(timer); void track(push(streamId, jti, jwt, attempt + 1)); }, retryDelays[attempt]);
    timers.add(timer);
  }

  async function enqueue(streamId: string, event: OutgoingEvent): Promise<void> {
    const s = cache.get(streamId)!;
    const { jti, jwt } = sign(s.config.aud, event);
    const stored = db.insertInto('ssf_outbox').values({ jti, stream_id: streamId, set_jwt: jwt, state: 'pending', attempts: 0, last_error: null, created_at: now() }).execute();
    // Push at once, alongside the outbox write (the < 1 s goal); a failed attempt is retried from the outbox.
    if (s.config.delivery.method === PUSH) void track(push(streamId, jti, jwt, 0, stored));
    await stored;
    if (s.config.delivery.method !== PUSH) wake(streamId);
  }

  async function flushHeld(streamId: string) {
    const rows = await db.selectFrom('ssf_outbox').select(['jti', 'set_jwt', 'attempts']).where('stream_id', '=', streamId).where('state', '=', 'pending').orderBy('created_at').orderBy('jti').execute();
    for (const r of rows as any[]) await track(push(streamId, r.jti, r.set_jwt, Number(r.attempts)));
  }

  const streamSubject = (streamId: string): Subject => ({ format: 'opaque', id: streamId });
  /** Keeps the outbox bounded: delivered and acked SETs for a day, dead letters for 30 days (as Keycloak does). */
  let emitted = 0;
  async function prune() {
    const t = now();
    await db.deleteFrom('ssf_outbox').where('state', 'in', ['delivered', 'acked']).where('created_at', '<', t - 24 * 3600_000).execute();
    await db.deleteFrom('ssf_outbox').where('state', '=', 'failed').where('created_at', '<', t - 30 * 24 * 3600_000).execute();
  }

  const tx: Transmitter = {
    async start(baseUrl) {
      base = baseUrl.replace(/\/$/, '');
      await loadStreams();
      await prune();
      // Resume push deliveries interrupted by a restart.
      for (const [id, s] of cache) if (s.status === 'enabled' && s.config.delivery.method === PUSH) void track(flushHeld(id));
    },
    get issuer() { return base; },
    metadata() {
      return {
        spec_version: '1_0',
        issuer: base,
        jwks_uri: `${base}/ssf/jwks`,
        delivery_methods_supported: [PUSH, POLL],
        ...endpoints(),
        authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
        default_subjects: 'ALL',
      };
    },
    jwks: () => ({ keys: [publicJwk(options.signingKey)] }),

    async create(owner, body) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      for (const [id, s] of cache) {
        if (s.owner === owner) throw new VigilError('conflict', 409, `this receiver already has stream ${id}; one stream per receiver`);
      }
      const id = ulid();
      if (body.description !== undefined && typeof body.description !== 'string') throw bad("'description' must be a string");
      const requested = parseRequested(body.events_requested);
      const config: StreamConfig = {
        stream_id: id, iss: base, aud: options.audienceOf ? await options.audienceOf(owner) : owner,
        events_supported: [...EVENTS_SUPPORTED], events_requested: requested, events_delivered: delivered(requested),
        delivery: parseDelivery(body.delivery, id), min_verification_interval: minVerification,
        ...(typeof body.description === 'string' ? { description: body.description } : {}),
      };
      await db.insertInto('ssf_streams').values({ id, owner, config: JSON.stringify(config), status: 'enabled', reason: null, excluded: '[]', last_verification: null, created_at: now() }).execute();
      cache.set(id, { config, owner, status: 'enabled', excluded: [] });
      return config;
    },
    async read(owner, streamId) {
      if (streamId === undefined) return [...cache.values()].filter((s) => s.owner === owner).map((s) => s.config);
      return owned(owner, streamId).config;
    },
    async update(owner, body, replace) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      const s = owned(owner, body.stream_id);
      // Transmitter-set fields may be sent back but must not change.
      for (const f of ['iss', 'aud', 'events_supported', 'events_delivered', 'min_verification_interval'] as const) {
        if (body[f] !== undefined && JSON.stringify(body[f]) !== JSON.stringify(s.config[f])) throw bad(`'${f}' is set by the transmitter and cannot change`);
      }
      if (body.description !== undefined && typeof body.description !== 'string') throw bad("'description' must be a string");
      const requested = replace ? parseRequested(body.events_requested) : body.events_requested !== undefined ? parseRequested(body.events_requested) : s.config.events_requested;
      const delivery = replace ? parseDelivery(body.delivery, s.config.stream_id) : body.delivery !== undefined ? parseDelivery(body.delivery, s.config.stream_id) : s.config.delivery;
      const { description: _old, ...rest } = s.config;
      const description = replace ? body.description : body.description ?? s.config.description;
      s.config = { ...rest, events_requested: requested, events_delivered: delivered(requested), delivery, ...(description !== undefined ? { description } : {}) } as StreamConfig;
      await persist(s.config.stream_id);
      return s.config;
    },
    async remove(owner, streamId) {
      owned(owner, streamId);
      cache.delete(streamId);
      wake(streamId);
      await db.deleteFrom('ssf_streams').where('id', '=', streamId).execute();
      await db.deleteFrom('ssf_outbox').where('stream_id', '=', streamId).execute();
    },
    async status(owner, streamId) {
      const s = owned(owner, streamId);
      return { stream_id: streamId, status: s.status, ...(s.reason ? { reason: s.reason } : {}) };
    },
    async setStatus(owner, body) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      const s = owned(owner, body.stream_id);
      if (!['enabled', 'paused', 'disabled'].includes(body.status)) throw bad("'status' must be enabled, paused or disabled");
      if (body.reason !== undefined && typeof body.reason !== 'string') throw bad("'reason' must be a string");
      const was = s.status;
      s.status = body.status;
      s.reason = body.reason;
      await persist(body.stream_id);
      if (body.status === 'disabled') {
        // SSF §8.1.5: a disabled stream drops events; nothing held is delivered later.
        await db.updateTable('ssf_outbox').set({ state: 'failed', last_error: 'stream disabled' }).where('stream_id', '=', body.stream_id).where('state', '=', 'pending').execute();
      }
      if (was === 'paused' && body.status === 'enabled' && s.config.delivery.method === PUSH) void track(flushHeld(body.stream_id));
      return { stream_id: body.stream_id, status: s.status, ...(s.reason ? { reason: s.reason } : {}) };
    },
    async addSubject(owner, body) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      const s = owned(owner, body.stream_id);
      if (!validSubject(body.subject)) throw bad("'subject' must be a valid subject identifier");
      if (body.verified !== undefined && typeof body.verified !== 'boolean') throw bad("'verified' must be a boolean");
      // default_subjects is ALL: adding re-includes a subject that was removed.
      s.excluded = s.excluded.filter((x) => JSON.stringify(sortKeys(x)) !== JSON.stringify(sortKeys(body.subject)));
      await persist(body.stream_id);
    },
    async removeSubject(owner, body) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      const s = owned(owner, body.stream_id);
      if (!validSubject(body.subject)) throw bad("'subject' must be a valid subject identifier");
      s.excluded.push(body.subject);
      await persist(body.stream_id);
    },
    async verify(owner, body) {
      if (!isObj(body)) throw bad('the body must be a JSON object');
      const s = owned(owner, body.stream_id);
      if (body.state !== undefined && typeof body.state !== 'string') throw bad("'state' must be a string");
      const row = await db.selectFrom('ssf_streams').select('last_verification').where('id', '=', body.stream_id).executeTakeFirst();
      const t = now();
      if (row?.last_verification !== null && row?.last_verification !== undefined && t - Number(row.last_verification) < minVerification * 1000) {
        throw new VigilError('rate_limited', 429, `verification requested more often than every ${minVerification} s`);
      }
      await db.updateTable('ssf_streams').set({ last_verification: t }).where('id', '=', body.stream_id).execute();
      if (s.status === 'disabled') return;
      // SSF §8.1.4.2: the verification event follows asynchronously, echoing `state`.
      const event: OutgoingEvent = { type: EVENTS.verification, subject: streamSubject(body.stream_id), claims: body.state !== undefined ? { state: body.state } : {}, txn: ulid() };
      setImmediate(() => { void track(enqueue(body.stream_id, event)).catch((e) => options.log?.('error', 'verification SET failed', e)); });
    },
    async poll(owner, streamId, body) {
      const s = owned(owner, streamId);
      if (s.config.delivery.method !== POLL) throw bad('this stream delivers by push');
      const req = (body ?? {}) as PollRequest;
      if (!isObj(req)) throw bad('the body must be a JSON object');
      const max = req.maxEvents ?? 100;
      if (!Number.isInteger(max) || max < 0) throw bad("'maxEvents' must be a non-negative integer");
      if (req.ack !== undefined && (!Array.isArray(req.ack) || req.ack.some((j) => typeof j !== 'string'))) throw bad("'ack' must be a list of jti");
      if (req.setErrs !== undefined && !isObj(req.setErrs)) throw bad("'setErrs' must be an object keyed by jti");
      if (req.ack?.length) await db.updateTable('ssf_outbox').set({ state: 'acked' }).where('stream_id', '=', streamId).where('jti', 'in', req.ack).execute();
      for (const [jti, e] of Object.entries(req.setErrs ?? {})) {
        await db.updateTable('ssf_outbox').set({ state: 'failed', last_error: `${e?.err ?? 'unknown'}: ${e?.description ?? ''}` }).where('stream_id', '=', streamId).where('jti', '=', jti).execute();
        options.log?.('warn', 'SET rejected by poll receiver', { streamId, jti, err: e?.err });
      }
      if (max === 0) return { sets: {}, moreAvailable: false };
      const fetchPending = async () => (await db.selectFrom('ssf_outbox').select(['jti', 'set_jwt']).where('stream_id', '=', streamId).where('state', '=', 'pending')
        .orderBy('created_at').orderBy('jti').limit(max + 1).execute()) as any[];
      let rows = s.status === 'enabled' ? await fetchPending() : [];
      if (rows.length === 0 && req.returnImmediately === false && !closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, longPollMs);
          function done() { clearTimeout(timer); waiters.get(streamId)?.delete(done); resolve(); }
          if (!waiters.has(streamId)) waiters.set(streamId, new Set());
          waiters.get(streamId)!.add(done);
        });
        const still = cache.get(streamId);
        rows = still && still.status === 'enabled' ? await fetchPending() : [];
      }
      // RFC 8936 §2.4: SETs stay pending (and are redelivered) until acknowledged or errored.
      const page = rows.slice(0, max);
      if (page.length) await db.updateTable('ssf_outbox').set({ attempts: sql1() }).where('jti', 'in', page.map((r) => r.jti)).execute();
      return { sets: Object.fromEntries(page.map((r) => [r.jti, r.set_jwt])), moreAvailable: rows.length > max };
    },
    async emit(event) {
      if (++emitted % 500 === 0) await prune();
      let n = 0;
      for (const [id, s] of cache) {
        if (s.status === 'disabled' || !s.config.events_delivered.includes(event.type)) continue;
        if (s.excluded.some((x) => subjectMatches(x, event.subject))) continue;
        await enqueue(id, event);
        n++;
      }
      return n;
    },
    async outbox(streamId) {
      return (await db.selectFrom('ssf_outbox').selectAll().where('stream_id', '=', streamId).orderBy('created_at').orderBy('jti').execute())
        .map((r: any) => ({ jti: r.jti, state: r.state, attempts: Number(r.attempts), lastError: r.last_error ?? null }));
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const id of [...waiters.keys()]) wake(id);
      await Promise.allSettled([...inflight]);
    },
  };
  return tx;
}

const sql1 = () => sql`attempts + 1`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
