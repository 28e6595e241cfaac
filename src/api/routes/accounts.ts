import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Accounts, Role } from '../../identity/index.js';
import { bearerToken, requireRole } from '../auth.js';
import { createFailureLimiter } from '../rate-limiter.js';

const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

function requireString(body: unknown, field: string): string {
  const value = (body as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'string' || value === '') throw new VigilError('bad_request', 400, `'${field}' is required (a string)`);
  return value;
}

/** Sign-in, the caller's identity, users (admin), sensors (admin) and API tokens (admin). */
export function registerAccountRoutes(app: FastifyInstance, deps: { accounts: Accounts; audit?: (entry: { actor: string; action: string; target: string }) => Promise<void> }) {
  const { accounts } = deps;
  const limiter = createFailureLimiter({ max: 10, windowMs: 5 * 60 * 1000 });

  app.post('/api/v1/auth/login', async (request) => {
    const username = requireString(request.body, 'username');
    const password = requireString(request.body, 'password');
    const key = `${username}|${request.ip}`;
    if (limiter.blocked(key)) throw new VigilError('rate_limited', 429, 'too many failed sign-ins; wait a few minutes');
    const session = await accounts.login(username, password, SESSION_TTL_MS);
    if (!session) {
      limiter.fail(key);
      throw new VigilError('invalid_credentials', 401, 'wrong username or password');
    }
    limiter.reset(key);
    await deps.audit?.({ actor: username, action: 'sign-in', target: session.user.id });
    return session;
  });

  app.post('/api/v1/auth/logout', { preHandler: requireRole('reader') }, async (request, reply) => {
    await accounts.logout(bearerToken(request)!);
    return reply.status(204).send();
  });

  app.get('/api/v1/me', { preHandler: requireRole('reader') }, async (request) => request.principal);

  app.get('/api/v1/users', { preHandler: requireRole('admin') }, async () => ({ users: await accounts.listUsers() }));
  app.post('/api/v1/users', { preHandler: requireRole('admin') }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const user = await accounts.createUser({
      username: requireString(body, 'username'),
      password: typeof body.password === 'string' ? body.password : undefined,
      role: requireString(body, 'role') as Role,
      displayName: typeof body.displayName === 'string' ? body.displayName : undefined,
      email: typeof body.email === 'string' ? body.email : undefined,
    });
    await deps.audit?.({ actor: request.principal!.name, action: 'user.create', target: user.id });
    return reply.status(201).send(user);
  });

  app.get('/api/v1/sensors', { preHandler: requireRole('admin') }, async () => ({ sensors: await accounts.listSensors() }));
  app.post('/api/v1/sensors', { preHandler: requireRole('admin') }, async (request, reply) => {
    const { sensor, token } = await accounts.createSensor(requireString(request.body, 'name'), request.principal!.name);
    await deps.audit?.({ actor: request.principal!.name, action: 'sensor.create', target: sensor.id });
    return reply.status(201).send({ ...sensor, token });
  });
  app.delete<{ Params: { id: string } }>('/api/v1/sensors/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await accounts.revokeSensor(request.params.id);
    await deps.audit?.({ actor: request.principal!.name, action: 'sensor.revoke', target: request.params.id });
    return reply.status(204).send();
  });

  app.post('/api/v1/enrollment-tokens', { preHandler: requireRole('admin') }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const created = await accounts.createEnrollmentToken({
      name: typeof body.name === 'string' ? body.name : undefined,
      deviceGroup: typeof body.deviceGroup === 'string' ? body.deviceGroup : undefined,
      createdBy: request.principal!.name,
    });
    await deps.audit?.({ actor: request.principal!.name, action: 'enrollment-token.create', target: created.id });
    return reply.status(201).send(created);
  });

  // A new device has no credential yet: the one-time enrollment token in the body is its proof.
  app.post('/api/v1/enroll', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const jwk = body.publicKeyJwk;
    if (jwk !== undefined && (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk))) {
      throw new VigilError('bad_request', 400, "'publicKeyJwk' must be a JWK object");
    }
    const enrollment = await accounts.enroll({
      token: requireString(body, 'token'),
      hostname: requireString(body, 'hostname'),
      os: typeof body.os === 'string' ? body.os : 'Linux',
      osVersion: typeof body.osVersion === 'string' ? body.osVersion : '',
      publicKeyJwk: jwk as Record<string, unknown> | undefined,
    });
    await deps.audit?.({ actor: `device:${enrollment.deviceId}`, action: 'device.enroll', target: enrollment.sensorId });
    return reply.status(201).send(enrollment);
  });

  app.post('/api/v1/tokens', { preHandler: requireRole('admin') }, async (request, reply) => {
    const created = await accounts.createApiToken(requireString(request.body, 'name'), requireString(request.body, 'role') as Role, request.principal!.id);
    return reply.status(201).send(created);
  });
}
