import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Principal } from '../../identity/index.js';
import type { IncidentEvent, IncidentService, ListQuery } from '../../incidents/index.js';
import type { RiskLevel } from '../../schema/index.js';
import { requireRole } from '../auth.js';

export interface IncidentRouteDeps {
  readonly incidents: IncidentService;
  /**
   * Resolves a bearer token: the event stream also accepts `?access_token=`, because a browser's
   * EventSource cannot set an Authorization header.
   */
  readonly authenticate?: (token: string) => Promise<Principal | undefined>;
  /** Comment line sent on an idle stream (default 15 s) so proxies keep it open. */
  readonly heartbeatMs?: number;
}

type Query = Record<string, string | undefined>;

const RISK_LEVELS: readonly RiskLevel[] = ['none', 'informational', 'low', 'medium', 'high'];
/** A client that stops reading is dropped once this much is waiting to be sent to it. */
const MAX_BUFFERED = 4 * 1024 * 1024;

function listQuery(q: Query, principal: Principal | undefined): ListQuery {
  let limit: number | undefined;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (!Number.isInteger(limit)) throw new VigilError('bad_request', 400, "'limit' must be an integer", { field: 'limit' });
  }
  let assignee = q.assignee ?? q.assignedTo;
  if (assignee === 'me') assignee = principal?.name;
  return {
    status: q.status, severity: q.severity, assignee, deviceId: q.deviceId, user: q.user, since: q.since, until: q.until,
    text: q.text ?? q.q, sort: q.sort, limit, cursor: q.cursor, incidentId: q.incidentId, suppressed: q.suppressed,
    detectionSource: q.detectionSource, classification: q.classification, determination: q.determination,
  };
}

function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new VigilError('bad_request', 400, 'body must be a JSON object');
  return b as Record<string, unknown>;
}

const actor = (request: FastifyRequest) => request.principal!.name;
const pick = (b: Record<string, unknown>, ...names: string[]) => names.map((n) => b[n]).find((v) => v !== undefined);

/**
 * Alerts, incidents, suppression rules, risk, and the live event stream.
 * Readers read; analysts change incidents and alerts; admins manage suppression rules.
 */
export function registerIncidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps) {
  const { incidents } = deps;
  const reader = { preHandler: requireRole('reader') };
  const analyst = { preHandler: requireRole('analyst') };
  const admin = { preHandler: requireRole('admin') };

  app.get<{ Querystring: Query }>('/api/v1/incidents', reader, async (request) => {
    const page = await incidents.listIncidents(listQuery(request.query, request.principal));
    return { items: page.items, nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>('/api/v1/incidents/:id', reader, async (request) => {
    const incident = await incidents.getIncident(request.params.id);
    if (!incident) throw new VigilError('not_found', 404, `incident ${request.params.id} not found`);
    return incident;
  });

  app.patch<{ Params: { id: string } }>('/api/v1/incidents/:id', analyst, async (request) => {
    const b = body(request);
    return incidents.updateIncident(request.params.id, {
      status: b.status,
      assignedTo: pick(b, 'assignedTo', 'assignee'),
      classification: b.classification,
      determination: b.determination,
      customTags: pick(b, 'customTags', 'tags'),
      displayName: pick(b, 'displayName', 'title'),
      description: b.description,
      comment: pick(b, 'comment', 'resolvingComment'),
    }, actor(request));
  });

  app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/comments', analyst, async (request, reply) => {
    const b = body(request);
    const comment = await incidents.addComment(request.params.id, pick(b, 'text', 'comment'), actor(request));
    return reply.status(201).send(comment);
  });

  app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/merge', analyst, async (request) => {
    const sourceIds = body(request).sourceIds;
    if (!Array.isArray(sourceIds)) throw new VigilError('bad_request', 400, "'sourceIds' must be a list of incident ids", { field: 'sourceIds' });
    return incidents.mergeIncidents(request.params.id, sourceIds as string[], actor(request));
  });

  app.get<{ Querystring: Query }>('/api/v1/alerts', reader, async (request) => {
    const page = await incidents.listAlerts(listQuery(request.query, request.principal));
    return { items: page.items, nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>('/api/v1/alerts/:id', reader, async (request) => {
    const alert = await incidents.getAlert(request.params.id);
    if (!alert) throw new VigilError('not_found', 404, `alert ${request.params.id} not found`);
    return alert;
  });

  app.patch<{ Params: { id: string } }>('/api/v1/alerts/:id', analyst, async (request) => {
    const b = body(request);
    return incidents.updateAlert(request.params.id, {
      status: b.status, assignedTo: pick(b, 'assignedTo', 'assignee'), classification: b.classification, determination: b.determination,
    }, actor(request));
  });

  app.post<{ Params: { id: string } }>('/api/v1/alerts/:id/link', analyst, async (request) => {
    return incidents.linkAlert(request.params.id, body(request).incidentId as string, actor(request));
  });

  app.post<{ Params: { id: string } }>('/api/v1/alerts/:id/unlink', analyst, async (request) => {
    return incidents.unlinkAlert(request.params.id, actor(request));
  });

  app.get('/api/v1/suppression-rules', reader, async () => ({ items: await incidents.listSuppressionRules() }));
  app.get<{ Params: { id: string } }>('/api/v1/suppression-rules/:id', reader, async (request) => {
    const rule = await incidents.getSuppressionRule(request.params.id);
    if (!rule) throw new VigilError('not_found', 404, `suppression rule ${request.params.id} not found`);
    return rule;
  });
  app.post<{ Querystring: Query }>('/api/v1/suppression-rules', admin, async (request, reply) => {
    const { rule, suppressedAlerts } = await incidents.createSuppressionRule(request.body, actor(request), {
      applyToExisting: request.query.applyToExisting !== 'false',
    });
    return reply.status(201).send({ ...rule, suppressedAlerts });
  });
  app.patch<{ Params: { id: string } }>('/api/v1/suppression-rules/:id', admin, async (request) =>
    incidents.updateSuppressionRule(request.params.id, request.body, actor(request)));
  app.delete<{ Params: { id: string } }>('/api/v1/suppression-rules/:id', admin, async (request, reply) => {
    await incidents.deleteSuppressionRule(request.params.id, actor(request));
    return reply.status(204).send();
  });

  const minLevel = (q: Query): RiskLevel | undefined => {
    if (q.minLevel === undefined) return undefined;
    if (!RISK_LEVELS.includes(q.minLevel as RiskLevel)) throw new VigilError('bad_request', 400, `'minLevel' must be one of ${RISK_LEVELS.join(', ')}`, { field: 'minLevel' });
    return q.minLevel as RiskLevel;
  };
  app.get<{ Querystring: Query }>('/api/v1/risk/devices', reader, async (request) => ({ items: incidents.listRiskyDevices({ minLevel: minLevel(request.query) }) }));
  app.get<{ Querystring: Query }>('/api/v1/risk/users', reader, async (request) => ({ items: incidents.listRiskyUsers({ minLevel: minLevel(request.query) }) }));
  app.get<{ Params: { id: string } }>('/api/v1/risk/devices/:id', reader, async (request) => ({ deviceId: request.params.id, riskLevel: incidents.getDeviceRisk(request.params.id) }));
  app.get<{ Params: { id: string } }>('/api/v1/risk/users/:id', reader, async (request) => ({ userId: request.params.id, riskLevel: incidents.getUserRisk(request.params.id) }));

  // Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html): incident, alert and risk changes.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => { for (const end of [...streams]) end(); });

  app.get<{ Querystring: Query }>('/api/v1/stream', async (request, reply) => {
    if (!request.principal && request.query.access_token && deps.authenticate) {
      request.principal = await deps.authenticate(request.query.access_token);
    }
    await requireRole('reader')(request, reply);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    let seq = 0;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unwatch();
      streams.delete(end);
      res.end();
    };
    const send = (event: IncidentEvent) => {
      if (ended) return;
      if (res.writableLength > MAX_BUFFERED) { end(); return; }
      res.write(`id: ${++seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.payload)}\n\n`);
    };
    const unwatch = incidents.watch(send);
    const heartbeat = setInterval(() => { if (!ended) res.write(': heartbeat\n\n'); }, deps.heartbeatMs ?? 15_000);
    heartbeat.unref();
    streams.add(end);
    request.raw.on('close', end);
    res.on('close', end);
  });
}
