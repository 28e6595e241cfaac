import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import { STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, type IntelService, type TaxiiQuery, type TaxiiRecord } from '../../intel/index.js';
import { bearerToken, requireRole } from '../auth.js';

export interface IntelRouteDeps {
  readonly intel: IntelService;
  /** Resolves a bearer token (or a Basic password) to a principal, for the TAXII routes outside /api. */
  readonly authenticate: (token: string) => Promise<Principal | undefined>;
  readonly audit?: (entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }) => Promise<unknown> | unknown;
}

const bool = (v: unknown) => v === 'true' || v === '1';

function intParam(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new VigilError('bad_request', 400, `'${name}' must be an integer from ${min} to ${max}`, { field: name });
  return n;
}

const actorOf = (request: FastifyRequest) => request.principal?.name ?? 'unknown';

/**
 * Indicators (CRUD, bulk CSV/JSON import and export, from-entity, retro-hunt), the sensor feed,
 * STIX 2.1 bundles and the TAXII 2.1 server (discovery at /taxii2/, API root /taxii2/vigil/).
 */
export function registerIntelRoutes(app: FastifyInstance, deps: IntelRouteDeps) {
  const { intel } = deps;

  app.register(async (api) => {
    api.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    api.addContentTypeParser(['application/stix+json', 'application/taxii+json'], { parseAs: 'string' }, (_req, body, done) => {
      try { done(null, JSON.parse(body as string)); } catch { done(new VigilError('invalid_json', 400, 'the body is not valid JSON'), undefined); }
    });

    api.get<{ Querystring: Record<string, string> }>('/api/v1/indicators', { preHandler: requireRole('reader') }, async (request) => {
      const q = request.query;
      return intel.list({
        type: q.type, action: q.action, source: q.source, incidentId: q.incidentId, q: q.q, includeExpired: bool(q.includeExpired),
        limit: intParam(q.limit, 'limit', 1, 1000, 100), cursor: q.cursor,
      });
    });

    api.get<{ Querystring: { format?: string; includeExpired?: string } }>('/api/v1/indicators/export', { preHandler: requireRole('reader') }, async (request, reply) => {
      const includeExpired = bool(request.query.includeExpired);
      const format = request.query.format ?? 'json';
      if (format === 'csv') {
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="indicators.csv"');
        return intel.exportCsv({ includeExpired });
      }
      if (format !== 'json') throw new VigilError('bad_request', 400, "'format' is csv or json", { field: 'format' });
      return { indicators: intel.exportAll({ includeExpired }) };
    });

    api.get<{ Params: { id: string } }>('/api/v1/indicators/:id', { preHandler: requireRole('reader') }, async (request) => {
      const ind = intel.get(request.params.id);
      if (!ind) throw new VigilError('not_found', 404, 'indicator not found');
      return ind;
    });

    api.post('/api/v1/indicators', { preHandler: requireRole('analyst') }, async (request, reply) => {
      const ind = await intel.create(request.body, actorOf(request));
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.create', target: ind.id, details: { type: ind.type, value: ind.value, action: ind.action } });
      return reply.status(201).send(ind);
    });

    api.patch<{ Params: { id: string } }>('/api/v1/indicators/:id', { preHandler: requireRole('analyst') }, async (request) => {
      const ind = await intel.update(request.params.id, request.body, actorOf(request));
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.update', target: ind.id });
      return ind;
    });

    api.delete<{ Params: { id: string } }>('/api/v1/indicators/:id', { preHandler: requireRole('analyst') }, async (request, reply) => {
      await intel.remove(request.params.id, actorOf(request));
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.delete', target: request.params.id });
      return reply.status(204).send();
    });

    api.post<{ Querystring: { retroHunt?: string } }>('/api/v1/indicators/import', { preHandler: requireRole('analyst') }, async (request) => {
      const retroHunt = request.query.retroHunt === undefined ? undefined : bool(request.query.retroHunt);
      const body = request.body;
      const report = typeof body === 'string'
        ? await intel.importCsv(body, actorOf(request), { retroHunt })
        : await intel.importMany(
          Array.isArray(body) ? body : Array.isArray((body as { indicators?: unknown })?.indicators) ? (body as { indicators: unknown[] }).indicators
            : (() => { throw new VigilError('bad_request', 400, 'send text/csv, a JSON array of indicators, or {"indicators": [...]}'); })(),
          actorOf(request), { retroHunt });
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.import', target: 'indicators', details: { created: report.created, updated: report.updated, rejected: report.rejected.length } });
      return { created: report.created, updated: report.updated, unchanged: report.unchanged, rejected: report.rejected };
    });

    api.post('/api/v1/indicators/from-entity', { preHandler: requireRole('analyst') }, async (request, reply) => {
      const b = (request.body ?? {}) as Record<string, any>;
      const ind = await intel.indicatorFromEntity({
        kind: String(b.kind ?? ''), key: String(b.key ?? ''), incidentId: String(b.incidentId ?? ''), action: b.action, title: b.title,
        severity: b.severity, expiresAt: b.expiresAt, deviceGroups: b.deviceGroups,
      }, actorOf(request));
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.from-entity', target: ind.id, details: { incidentId: b.incidentId } });
      return reply.status(201).send(ind);
    });

    api.post<{ Params: { id: string }; Querystring: { days?: string } }>('/api/v1/indicators/:id/retro-hunt', { preHandler: requireRole('analyst') }, async (request) => {
      if (!intel.get(request.params.id)) throw new VigilError('not_found', 404, 'indicator not found');
      return intel.retroHunt([request.params.id], { days: intParam(request.query.days, 'days', 1, 3650, 30) });
    });

    // The sensor feed (CONTRACTS.md): deltas after `since`, long-polled up to `wait` seconds.
    api.get<{ Querystring: { since?: string; wait?: string } }>('/api/v1/intel/feed', { preHandler: requireRole('sensor') }, async (request) => {
      const since = intParam(request.query.since, 'since', 0, Number.MAX_SAFE_INTEGER, 0);
      const wait = intParam(request.query.wait, 'wait', 0, 30, 0);
      const deviceId = (request.principal as { deviceId?: string } | undefined)?.deviceId;
      return intel.feed({ since, waitMs: wait * 1000, deviceId });
    });

    api.get('/api/v1/intel/stix', { preHandler: requireRole('reader') }, async (_request, reply) => {
      return reply.header('content-type', STIX_MEDIA_TYPE).send(Buffer.from(JSON.stringify(await intel.exportStix())));
    });

    api.post<{ Querystring: { defaultAction?: string; retroHunt?: string } }>('/api/v1/intel/stix', { preHandler: requireRole('analyst') }, async (request) => {
      const report = await intel.importStix(request.body, actorOf(request), {
        source: 'stix', defaultAction: request.query.defaultAction as never,
        retroHunt: request.query.retroHunt === undefined ? undefined : bool(request.query.retroHunt),
      });
      await deps.audit?.({ actor: actorOf(request), action: 'indicator.stix-import', target: 'indicators', details: { created: report.indicatorsCreated } });
      return report;
    });
  });

  app.register(async (taxii) => registerTaxii(taxii, deps), { prefix: '/taxii2' });
}

// ---------------- TAXII 2.1 (https://docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html) ----------------

const API_ROOT = '/taxii2/vigil/';
/** Routes are registered under the /taxii2 prefix. */
const ROOT = '/vigil/';

class TaxiiError extends VigilError {}

/** TAXII timestamps carry microseconds (date_added is stored in µs). */
function taxiiTime(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us % 1000).padStart(3, '0')}Z`;
}

function parseTaxiiTime(text: string, field: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(text);
  const base = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || !Number.isFinite(base)) throw new TaxiiError('bad_request', 400, `'${field}' must be a timestamp like 2026-01-31T12:00:00.000000Z`);
  return base * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

function list(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function taxiiQuery(q: Record<string, unknown>): TaxiiQuery {
  const limitText = q.limit as string | undefined;
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1) throw new TaxiiError('bad_request', 400, "'limit' must be a positive integer");
  const next = q.next as string | undefined;
  if (next !== undefined && !/^\d+$/.test(next)) throw new TaxiiError('bad_request', 400, "'next' is not a value this server sent");
  const versions = list(q['match[version]']);
  for (const v of versions ?? []) if (!['last', 'first', 'all'].includes(v)) parseTaxiiTime(v, 'match[version]');
  const specVersions = list(q['match[spec_version]']);
  if (specVersions && !specVersions.includes('2.1')) throw new TaxiiError('not_found', 404, 'this collection holds STIX 2.1 objects only');
  return {
    limit: Math.min(limit, 1000), // the server's page cap
    next,
    addedAfter: q.added_after === undefined ? undefined : parseTaxiiTime(String(q.added_after), 'added_after'),
    ids: list(q['match[id]']),
    types: list(q['match[type]']),
    versions: versions?.map((v) => (['last', 'first', 'all'].includes(v) ? v : new Date(Math.floor(parseTaxiiTime(v, 'match[version]') / 1000)).toISOString())),
  };
}

function pageHeaders(reply: FastifyReply, records: readonly TaxiiRecord[]) {
  if (records.length === 0) return;
  reply.header('X-TAXII-Date-Added-First', taxiiTime(records[0].dateAdded));
  reply.header('X-TAXII-Date-Added-Last', taxiiTime(records[records.length - 1].dateAdded));
}

function acceptable(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    if (type === '*/*' || type === 'application/*') return true;
    if (type !== 'application/taxii+json') return false;
    const version = params.find((p) => p.startsWith('version='));
    return !version || version === 'version=2.1';
  });
}

function registerTaxii(taxii: FastifyInstance, deps: IntelRouteDeps) {
  const { intel } = deps;
  taxii.addContentTypeParser(['application/taxii+json', 'application/stix+json'], { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, JSON.parse(body as string)); } catch { done(new TaxiiError('bad_request', 400, 'the body is not valid JSON'), undefined); }
  });

  // TAXII lives outside /api, so it authenticates here: Bearer, or HTTP Basic with an API token as the password (§1.6.9).
  taxii.addHook('onRequest', async (request) => {
    if (!request.principal) {
      let token = bearerToken(request);
      const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!token && basic) token = Buffer.from(basic[1], 'base64').toString('utf8').split(':').slice(1).join(':');
      if (token) request.principal = await deps.authenticate(token);
    }
    if (!request.principal) throw new TaxiiError('unauthorized', 401, 'authentication required: Bearer token, or Basic with an API token as password');
    if (request.principal.kind === 'sensor') throw new TaxiiError('forbidden', 403, 'sensor tokens cannot use TAXII');
    if (!acceptable(request.headers.accept)) throw new TaxiiError('not_acceptable', 406, `this server speaks ${TAXII_MEDIA_TYPE}`);
  });

  taxii.setErrorHandler((error: any, request, reply) => {
    const status = error instanceof VigilError ? error.status : typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'TAXII request failed');
    const description = status >= 500 ? 'internal error' : String(error.message ?? 'bad request').replace(/^FST_\w+:\s*/, '');
    if (status === 401) reply.header('WWW-Authenticate', 'Basic realm="vigil-taxii", Bearer');
    // §3.6.1 error message resource.
    return reply.status(status).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify({
      title: status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 406 ? 'Not Acceptable'
        : status === 415 ? 'Unsupported Media Type' : status >= 500 ? 'Internal Server Error' : 'Bad Request',
      description,
      http_status: String(status),
      ...(error instanceof VigilError ? { error_code: error.code } : {}),
    })));
  });

  taxii.setNotFoundHandler((_request, _reply) => { throw new TaxiiError('not_found', 404, 'no such TAXII resource'); });

  const send = (reply: FastifyReply, body: unknown, status = 200) =>
    reply.status(status).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body))); // a Buffer keeps the media type exactly as TAXII spells it

  const role = (need: 'reader' | 'analyst') => async (request: FastifyRequest, reply: FastifyReply) => {
    try { await requireRole(need)(request, reply); } catch (e) { throw new TaxiiError('forbidden', 403, (e as Error).message); }
  };

  const collectionOf = (id: string, write = false) => {
    const c = intel.taxii.collection(id);
    if (!c) throw new TaxiiError('not_found', 404, 'collection not found');
    if (write ? !c.can_write : !c.can_read) throw new TaxiiError('forbidden', 403, `this collection cannot be ${write ? 'written' : 'read'}`);
    return c;
  };

  const origin = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  taxii.get('/', { preHandler: role('reader') }, async (request, reply) => send(reply, {
    title: 'Vigil TAXII server',
    description: 'Threat intelligence shared by Vigil: every indicator it enforces, as STIX 2.1.',
    default: `${origin(request)}${API_ROOT}`,
    api_roots: [`${origin(request)}${API_ROOT}`],
  }));

  taxii.get(ROOT, { preHandler: role('reader') }, async (_request, reply) => send(reply, {
    title: 'Vigil', description: 'Indicators, malware, attack patterns and relationships.',
    versions: [TAXII_MEDIA_TYPE], max_content_length: 10_485_760,
  }));

  taxii.get<{ Params: { statusId: string } }>(`${ROOT}status/:statusId/`, { preHandler: role('reader') }, async (request, reply) => {
    const status = intel.taxii.status(request.params.statusId);
    if (!status) throw new TaxiiError('not_found', 404, 'status not found');
    return send(reply, status);
  });

  taxii.get(`${ROOT}collections/`, { preHandler: role('reader') }, async (_request, reply) => send(reply, { collections: intel.taxii.collections() }));

  taxii.get<{ Params: { id: string } }>(`${ROOT}collections/:id/`, { preHandler: role('reader') }, async (request, reply) => {
    const c = intel.taxii.collection(request.params.id);
    if (!c) throw new TaxiiError('not_found', 404, 'collection not found');
    return send(reply, c);
  });

  taxii.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(`${ROOT}collections/:id/objects/`, { preHandler: role('reader') }, async (request, reply) => {
    const c = collectionOf(request.params.id);
    const page = await intel.taxii.objects(c.id, taxiiQuery(request.query));
    pageHeaders(reply, page.records);
    return send(reply, { more: page.more, ...(page.next ? { next: page.next } : {}), ...(page.records.length ? { objects: page.records.map((r) => r.object) } : {}) });
  });

  taxii.post<{ Params: { id: string } }>(`${ROOT}collections/:id/objects/`, { preHandler: role('analyst') }, async (request, reply) => {
    const type = (request.headers['content-type'] ?? '').toLowerCase().replace(/\s/g, '');
    if (!type.startsWith('application/taxii+json')) throw new TaxiiError('unsupported_media_type', 415, `send ${TAXII_MEDIA_TYPE}`);
    const c = collectionOf(request.params.id, true);
    const body = request.body as { objects?: unknown } | undefined;
    if (!body || !Array.isArray(body.objects)) throw new TaxiiError('bad_request', 400, 'send an envelope: {"objects": [...]}');
    const status = await intel.taxii.add(c.id, body.objects, actorOf(request));
    return send(reply, status, 202);
  });

  taxii.get<{ Params: { id: string; objectId: string }; Querystring: Record<string, unknown> }>(`${ROOT}collections/:id/objects/:objectId/`, { preHandler: role('reader') }, async (request, reply) => {
    const c = collectionOf(request.params.id);
    const page = await intel.taxii.objects(c.id, { ...taxiiQuery(request.query), ids: [request.params.objectId] });
    if (page.records.length === 0 && !request.query.next) throw new TaxiiError('not_found', 404, 'object not found');
    pageHeaders(reply, page.records);
    return send(reply, { more: page.more, ...(page.next ? { next: page.next } : {}), objects: page.records.map((r) => r.object) });
  });

  taxii.delete<{ Params: { id: string; objectId: string }; Querystring: Record<string, unknown> }>(`${ROOT}collections/:id/objects/:objectId/`, { preHandler: role('analyst') }, async (request, reply) => {
    const c = collectionOf(request.params.id, true);
    const versions = taxiiQuery(request.query).versions;
    const deleted = await intel.taxii.remove(c.id, request.params.objectId, versions, actorOf(request));
    if (deleted === 0) throw new TaxiiError('not_found', 404, 'object not found');
    return reply.status(200).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.alloc(0));
  });

  taxii.get<{ Params: { id: string; objectId: string }; Querystring: Record<string, unknown> }>(`${ROOT}collections/:id/objects/:objectId/versions/`, { preHandler: role('reader') }, async (request, reply) => {
    const c = collectionOf(request.params.id);
    const page = await intel.taxii.versions(c.id, request.params.objectId, taxiiQuery(request.query));
    if (page.records.length === 0 && !request.query.next && request.query.added_after === undefined) throw new TaxiiError('not_found', 404, 'object not found');
    pageHeaders(reply, page.records);
    return send(reply, { more: page.more, ...(page.next ? { next: page.next } : {}), ...(page.records.length ? { versions: page.records.map((r) => r.version) } : {}) });
  });

  taxii.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(`${ROOT}collections/:id/manifest/`, { preHandler: role('reader') }, async (request, reply) => {
    const c = collectionOf(request.params.id);
    const page = await intel.taxii.objects(c.id, taxiiQuery(request.query));
    pageHeaders(reply, page.records);
    return send(reply, {
      more: page.more, ...(page.next ? { next: page.next } : {}),
      ...(page.records.length ? {
        objects: page.records.map((r) => ({ id: r.id, date_added: taxiiTime(r.dateAdded), version: r.version, media_type: STIX_MEDIA_TYPE })),
      } : {}),
    });
  });
}
