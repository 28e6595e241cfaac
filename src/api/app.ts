import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { VigilError } from '../errors/index.js';
import type { Accounts } from '../identity/index.js';
import { bearerToken } from './auth.js';
import type { Metrics } from './metrics.js';

export interface ApiOptions {
  readonly accounts: Accounts;
  readonly metrics: Metrics;
  /** Largest request body in bytes (413 beyond). */
  readonly bodyLimit: number;
  readonly logLevel: string;
  /** Ready when this says so (e.g. migrations done, bus connected). */
  readonly ready: () => boolean;
}

/** Fastify errors that are the caller's fault, by code → our error code. */
const CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_VALIDATION: 'bad_request',
};

/**
 * The HTTP server: JSON errors, authentication of every /api route, metrics and health endpoints.
 * Domain routes are added by the composition root with `app.register`.
 */
export function createApiServer(options: ApiOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    logger: { level: options.logLevel },
    // Per-request logs at ingest rates drown everything else; latency goes to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: false,
  });

  // NDJSON bodies arrive as text; the route splits them so one bad line is one rejected row.
  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson', 'application/jsonl'], { parseAs: 'string' },
    (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const token = bearerToken(request);
    if (token) request.principal = await options.accounts.authenticate(token);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.requestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: any, request, reply) => {
    if (error instanceof VigilError) {
      if (!error.expose) request.log.error({ err: error, detail: error.detail }, error.message);
      const body = error.expose
        ? { error: error.code, message: error.message, ...(isRecord(error.detail) && error.status < 500 ? publicDetail(error.detail) : {}) }
        : { error: 'internal', message: 'internal error' };
      return reply.status(error.status).send(body);
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status < 500) {
      const code = CLIENT_ERRORS[error.code] ?? (status === 429 ? 'rate_limited' : 'bad_request');
      return reply.status(status).send({ error: code, message: cleanMessage(error.message) });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ error: 'internal', message: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => (options.ready() ? { status: 'ready' } : reply.status(503).send({ status: 'starting' })));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return app;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Only `public*`-free, whitelisted location fields of a client error's detail are echoed (line, column, index). */
function publicDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['line', 'column', 'index', 'field']) if (key in detail) out[key] = detail[key];
  return out;
}

function cleanMessage(message: string): string {
  return message.replace(/^FST_\w+:\s*/, '');
}
