import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Receiver } from './receiver.js';

const bearer = (header: string | undefined) => /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; if (body.length > limit) { reject(new Error('too large')); req.destroy(); } });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export interface MiddlewareOptions {
  /** Where the transmitter pushes SETs (default /ssf/events). */
  readonly eventsPath?: string;
  /** Paths that need no token (e.g. a health check). */
  readonly publicPaths?: readonly string[];
}

/**
 * node:http middleware: `(req, res, next)`. POST eventsPath receives pushed SETs (202, or 400 with
 * {err, description}); every other request needs a valid, unrevoked Vigil access token, whose claims
 * are put on `req.vigil` before next() runs; otherwise 401 with WWW-Authenticate.
 */
export function nodeMiddleware(receiver: Receiver, options: MiddlewareOptions = {}) {
  const eventsPath = options.eventsPath ?? '/ssf/events';
  const open = new Set(options.publicPaths ?? []);
  return (req: IncomingMessage & { vigil?: Record<string, unknown> }, res: ServerResponse, next: () => void) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === eventsPath && req.method === 'POST') {
      readBody(req).then(async (body) => {
        const outcome = await receiver.receivePush(body, req.headers['content-type'], req.headers.authorization);
        if (outcome.status === 202) { res.writeHead(202); res.end(); return; }
        res.writeHead(outcome.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ err: outcome.err, description: outcome.description }));
      }).catch(() => { res.writeHead(400, { 'content-type': 'application/json' }); res.end(JSON.stringify({ err: 'invalid_request', description: 'unreadable body' })); });
      return;
    }
    if (open.has(path)) return next();
    receiver.checkAccessToken(bearer(req.headers.authorization)).then((result) => {
      if (!result.ok) {
        res.writeHead(401, { 'www-authenticate': result.wwwAuthenticate!, 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: result.error }));
        return;
      }
      req.vigil = result.claims;
      next();
    }, () => { res.writeHead(500); res.end(); });
  };
}

/**
 * A Fastify plugin (register it with `app.register(fastifyReceiver(receiver))`, or call it on the root
 * instance for it to cover every route): a content-type parser for application/secevent+jwt, the push
 * route, and an onRequest hook that checks tokens and sets `request.vigil`. Typed structurally so that
 * the library does not depend on Fastify.
 */
export function fastifyReceiver(receiver: Receiver, options: MiddlewareOptions = {}) {
  const eventsPath = options.eventsPath ?? '/ssf/events';
  const open = new Set(options.publicPaths ?? []);
  return async (app: any) => {
    app.addContentTypeParser('application/secevent+jwt', { parseAs: 'string' }, (_req: unknown, body: string, done: (e: Error | null, v?: unknown) => void) => done(null, body));
    app.post(eventsPath, async (request: any, reply: any) => {
      const outcome = await receiver.receivePush(String(request.body ?? ''), request.headers['content-type'], request.headers.authorization);
      if (outcome.status === 202) return reply.status(202).send();
      return reply.status(outcome.status).send({ err: outcome.err, description: outcome.description });
    });
    app.addHook('onRequest', async (request: any, reply: any) => {
      const path = String(request.url).split('?')[0];
      if (path === eventsPath || open.has(path)) return;
      const result = await receiver.checkAccessToken(bearer(request.headers.authorization));
      if (!result.ok) {
        reply.header('www-authenticate', result.wwwAuthenticate).status(401).send({ error: result.error });
        return reply;
      }
      request.vigil = result.claims;
    });
  };
}
