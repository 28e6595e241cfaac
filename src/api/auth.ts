import type { FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../errors/index.js';
import type { Principal } from '../identity/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const RANK: Record<string, number> = { reader: 1, analyst: 2, responder: 3, admin: 4 };
export type RequiredRole = 'reader' | 'analyst' | 'responder' | 'admin' | 'sensor';

/**
 * A preHandler that admits only principals with at least `role` (reader < analyst < responder < admin).
 * 'sensor' admits sensors only: a sensor token may ingest and nothing else, and people may not ingest
 * as a sensor.
 */
export function requireRole(role: RequiredRole) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal) throw new VigilError('unauthorized', 401, 'authentication required: send Authorization: Bearer <token>');
    if (role === 'sensor') {
      if (principal.kind !== 'sensor') throw new VigilError('forbidden', 403, 'only a sensor token may ingest');
      return;
    }
    if (principal.kind === 'sensor' || (RANK[principal.role] ?? 0) < RANK[role]) {
      throw new VigilError('forbidden', 403, `this needs the ${role} role or higher`);
    }
  };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
