import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import { OIDC_PREFIX, type Access } from '../../identity/index.js';

/**
 * Public protocol endpoints of identity: the OpenID provider (mounted under /oidc by handing the raw
 * request to oidc-provider's Koa callback before Fastify parses any body) and the SSF 1.0 transmitter
 * (/.well-known/ssf-configuration and /ssf/*), authorised by OAuth client-credentials tokens from the
 * provider with scope ssf.manage (changes) or ssf.read (reads), per the CAEP interoperability profile.
 */
export function registerSsfRoutes(app: FastifyInstance, deps: { access: Access }) {
  const { access } = deps;

  // Console sign-in through the provider: a Vigil access token for <base>/api is a principal too
  // (after app.ts's own tokens were tried), re-checked against Conditional Access on every request.
  app.addHook('onRequest', async (request) => {
    if (request.principal || !request.url.startsWith('/api/')) return;
    const match = /^Bearer\s+(\S+\.\S+\.\S+)$/i.exec(request.headers.authorization ?? '');
    if (match) request.principal = await access.authenticateAccessToken(match[1]);
  });

  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    access.oidc.handle(request.raw, reply.raw);
  };
  app.all(OIDC_PREFIX, { onRequest: handOver }, async () => undefined);
  app.all(`${OIDC_PREFIX}/*`, { onRequest: handOver }, async () => undefined);

  app.get('/.well-known/ssf-configuration', async (_request, reply) => {
    reply.header('cache-control', 'max-age=300');
    return access.transmitter.metadata();
  });
  app.get('/ssf/jwks', async () => access.transmitter.jwks());

  /** RFC 6750 bearer check; the receiver is the token's client (client_id). */
  async function receiver(request: FastifyRequest, reply: FastifyReply, scope: 'ssf.manage' | 'ssf.read'): Promise<string> {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const claims = match ? await access.oidc.verifyAccessToken(match[1], access.oidc.ssfResource) : undefined;
    if (!claims || typeof claims.client_id !== 'string') {
      reply.header('www-authenticate', match ? 'Bearer error="invalid_token"' : 'Bearer');
      throw new VigilError('invalid_token', 401, 'a valid SSF access token (client credentials, resource /ssf) is required');
    }
    const scopes = String(claims.scope ?? '').split(' ');
    if (!scopes.includes(scope) && !(scope === 'ssf.read' && scopes.includes('ssf.manage'))) {
      reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
      throw new VigilError('insufficient_scope', 403, `this needs scope ${scope}`);
    }
    return claims.client_id;
  }
  const streamIdOf = (request: FastifyRequest) => {
    const id = (request.query as Record<string, unknown>).stream_id;
    return typeof id === 'string' && id !== '' ? id : undefined;
  };

  app.post('/ssf/streams', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    return reply.status(201).send(await access.transmitter.create(owner, request.body));
  });
  app.get('/ssf/streams', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.read');
    return access.transmitter.read(owner, streamIdOf(request));
  });
  app.patch('/ssf/streams', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    return access.transmitter.update(owner, request.body, false);
  });
  app.put('/ssf/streams', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    return access.transmitter.update(owner, request.body, true);
  });
  app.delete('/ssf/streams', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    const id = streamIdOf(request);
    if (!id) throw new VigilError('bad_request', 400, "'stream_id' query parameter is required");
    await access.transmitter.remove(owner, id);
    return reply.status(204).send();
  });
  app.get('/ssf/status', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.read');
    const id = streamIdOf(request);
    if (!id) throw new VigilError('bad_request', 400, "'stream_id' query parameter is required");
    return access.transmitter.status(owner, id);
  });
  app.post('/ssf/status', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    return access.transmitter.setStatus(owner, request.body);
  });
  app.post('/ssf/subjects/add', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    await access.transmitter.addSubject(owner, request.body);
    return reply.status(200).send();
  });
  app.post('/ssf/subjects/remove', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    await access.transmitter.removeSubject(owner, request.body);
    return reply.status(204).send();
  });
  app.post('/ssf/verify', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.manage');
    await access.transmitter.verify(owner, request.body);
    return reply.status(204).send();
  });
  app.post<{ Params: { id: string } }>('/ssf/poll/:id', async (request, reply) => {
    const owner = await receiver(request, reply, 'ssf.read');
    return access.transmitter.poll(owner, request.params.id, request.body ?? {});
  });
}
