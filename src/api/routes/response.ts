import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import {
  ACTION_STATES, type ActionFilter, type ActionRecord, type Actor, type ResponseModule,
} from '../../response/index.js';
import { requireRole } from '../auth.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function idsOf(body: unknown): string[] {
  const ids = isRecord(body) ? body.ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || ids.some((id) => typeof id !== 'string' || id === '')) {
    throw new VigilError('bad_request', 400, "'ids' must be a list of 1 to 1,000 action ids");
  }
  return [...new Set(ids as string[])];
}

function actorOf(request: FastifyRequest): Actor {
  const principal = request.principal!;
  return { id: `${principal.kind}:${principal.id}`, name: principal.name };
}

/** The sensor's device: its enrolled DeviceId, or its sensor id when it was created without enrollment. */
function deviceOf(request: FastifyRequest): string {
  const principal = request.principal!;
  return principal.deviceId ?? principal.id;
}

const CSV_COLUMNS: readonly (keyof ActionRecord)[] = [
  'id', 'createdAt', 'kind', 'targetType', 'target', 'state', 'source', 'requestedBy', 'decidedBy', 'decidedAt',
  'decisionReason', 'rejectReason', 'investigationId', 'verdict', 'message', 'completedAt', 'undoOf', 'undoneBy',
];

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  // Spreadsheet formula injection: cells starting with = + - @ are shown as text.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function actionsCsv(actions: readonly ActionRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const a of actions) lines.push(CSV_COLUMNS.map((c) => csvCell(a[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function intParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new VigilError('bad_request', 400, `'${name}' must be a non-negative integer`);
  return n;
}

/**
 * The action center (pending / history, approve, reject, undo, manual actions), investigations, the audit
 * log, and the sensors' command channel (CONTRACTS.md "Command channel").
 */
export function registerResponseRoutes(app: FastifyInstance, deps: { response: ResponseModule; maxUploadBytes?: number }) {
  const { response } = deps;
  const { actions, commands, investigations, audit } = response;

  // Long-polls must not hold the server open on shutdown.
  app.addHook('preClose', async () => {
    commands.close();
  });

  if (!app.hasContentTypeParser('application/gzip')) {
    app.addContentTypeParser('application/gzip', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  }

  // ---- action center ----
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/actions', { preHandler: requireRole('reader') }, async (request, reply) => {
    const q = request.query;
    const state = q.state;
    if (state && state !== 'pending' && state !== 'history' && !(ACTION_STATES as readonly string[]).includes(state)) {
      throw new VigilError('bad_request', 400, `'state' must be pending, history or one of ${ACTION_STATES.join(', ')}`);
    }
    const limit = intParam(q.limit, 'limit');
    // The history tab shows 30 days unless asked otherwise (defender-xdr.md §4).
    const since = q.since ?? (state === 'history' ? response.now() - 30 * 24 * 60 * 60 * 1000 : undefined);
    const filter: ActionFilter = {
      state: state as ActionFilter['state'], kind: str(q.kind), targetType: str(q.targetType) as ActionFilter['targetType'],
      target: str(q.target), source: str(q.source) as ActionFilter['source'], investigationId: str(q.investigationId), since, limit,
    };
    const list = await actions.list(filter);
    if ((request.headers.accept ?? '').includes('text/csv')) {
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="actions-${state ?? 'all'}.csv"`);
      return actionsCsv(list);
    }
    return { actions: list };
  });

  app.get('/api/v1/actions/kinds', { preHandler: requireRole('reader') }, async () => ({
    kinds: actions.kinds().map((k) => ({ kind: k.kind, targetType: k.targetType, description: k.description, undoable: Boolean(k.undo) })),
  }));

  app.get<{ Params: { id: string } }>('/api/v1/actions/:id', { preHandler: requireRole('reader') }, async (request) => {
    const action = await actions.get(request.params.id);
    if (!action) throw new VigilError('not_found', 404, `action ${request.params.id} not found`);
    const files = action.commandId ? await commands.files(action.commandId) : [];
    return { ...action, files };
  });

  app.post('/api/v1/actions', { preHandler: requireRole('responder') }, async (request, reply) => {
    const body = request.body;
    if (!isRecord(body) || typeof body.kind !== 'string') throw new VigilError('bad_request', 400, "send {kind, target, params?, comment?}");
    const comment = body.comment === undefined ? undefined : String(body.comment).slice(0, 2000);
    const action = await actions.create({
      kind: body.kind, target: body.target as string, params: body.params, source: 'manual', requestedBy: actorOf(request),
      comment, decision: 'auto', decisionReason: 'manual action by a responder',
    });
    return reply.status(201).send(action);
  });

  app.post('/api/v1/actions/approve', { preHandler: requireRole('responder') }, async (request) => {
    const ids = idsOf(request.body);
    const comment = isRecord(request.body) && typeof request.body.comment === 'string' ? request.body.comment.slice(0, 2000) : undefined;
    const result = await actions.approve(ids, actorOf(request), comment);
    return { approved: result.done, errors: result.errors };
  });

  app.post('/api/v1/actions/reject', { preHandler: requireRole('responder') }, async (request) => {
    const ids = idsOf(request.body);
    const reason = isRecord(request.body) ? request.body.reason : undefined;
    if (typeof reason !== 'string' || reason.trim() === '') throw new VigilError('bad_request', 400, "'reason' is required");
    const result = await actions.reject(ids, actorOf(request), reason.slice(0, 2000));
    return { rejected: result.done, errors: result.errors };
  });

  app.post<{ Params: { id: string } }>('/api/v1/actions/:id/undo', { preHandler: requireRole('responder') }, async (request, reply) => {
    const undo = await actions.undo(request.params.id, actorOf(request));
    return reply.status(201).send(undo);
  });

  app.get<{ Params: { id: string } }>('/api/v1/response/files/:id', { preHandler: requireRole('responder') }, async (request, reply) => {
    const found = await commands.readFile(request.params.id);
    if (!found) throw new VigilError('not_found', 404, `file ${request.params.id} not found`);
    await audit.record({ actor: request.principal!.name, action: 'file.download', target: found.file.id, details: { commandId: found.file.commandId } });
    reply.header('content-type', 'application/gzip');
    reply.header('content-disposition', `attachment; filename="${found.file.deviceId}-${found.file.id}.gz"`);
    return reply.send(found.data);
  });

  // ---- investigations ----
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/investigations', { preHandler: requireRole('reader') }, async (request) => {
    const limit = intParam(request.query.limit, 'limit');
    return { investigations: await investigations.list({ incidentId: str(request.query.incidentId), alertId: str(request.query.alertId), limit }) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/investigations/:id', { preHandler: requireRole('reader') }, async (request) => {
    const found = await investigations.get(request.params.id);
    if (!found) throw new VigilError('not_found', 404, `investigation ${request.params.id} not found`);
    return found;
  });

  // ---- audit log ----
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/audit', { preHandler: requireRole('admin') }, async (request) => {
    const q = request.query;
    return {
      entries: await audit.list({
        afterSeq: intParam(q.after, 'after'), limit: intParam(q.limit, 'limit'),
        actor: str(q.actor), action: str(q.action), target: str(q.target),
      }),
    };
  });
  app.get('/api/v1/audit/verify', { preHandler: requireRole('admin') }, async () => audit.verify());

  // ---- command channel (sensor side) ----
  app.get<{ Querystring: { wait?: string } }>('/api/v1/agent/commands', { preHandler: requireRole('sensor') }, async (request, reply) => {
    const wait = request.query.wait === undefined ? 0 : Number(request.query.wait);
    if (!Number.isFinite(wait) || wait < 0) throw new VigilError('bad_request', 400, "'wait' must be a number of seconds from 0 to 30");
    // A sensor that hangs up stops waiting at once (its poll is not left holding a waiter).
    const controller = new AbortController();
    const abort = () => controller.abort();
    reply.raw.once('close', abort);
    try {
      return { commands: await commands.poll(deviceOf(request), Math.min(wait, 30) * 1000, controller.signal) };
    } finally {
      reply.raw.off('close', abort);
    }
  });

  app.post<{ Params: { id: string } }>('/api/v1/agent/commands/:id/result', { preHandler: requireRole('sensor') }, async (request) => {
    const body = request.body;
    if (!isRecord(body) || !['running', 'succeeded', 'failed'].includes(body.status as string)) {
      throw new VigilError('bad_request', 400, "'status' must be running, succeeded or failed");
    }
    if (body.message !== undefined && typeof body.message !== 'string') throw new VigilError('bad_request', 400, "'message' must be a string");
    const { changed, command } = await commands.report(deviceOf(request), request.params.id, {
      status: body.status as 'running' | 'succeeded' | 'failed', message: (body.message as string | undefined)?.slice(0, 4000), output: body.output,
    });
    return { id: command.id, state: command.state, changed };
  });

  app.post<{ Params: { id: string } }>('/api/v1/agent/commands/:id/files', {
    preHandler: requireRole('sensor'), bodyLimit: deps.maxUploadBytes ?? 256 * 1024 * 1024,
  }, async (request, reply) => {
    if (!Buffer.isBuffer(request.body)) throw new VigilError('unsupported_media_type', 415, 'send the file as Content-Type: application/gzip');
    const file = await commands.upload(deviceOf(request), request.params.id, request.body);
    return reply.status(201).send({ fileId: file.id, size: file.size, sha256: file.sha256 });
  });
}
