import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { CustomDetectionRuleInput, CustomDetections, HuntingService } from '../../hunting/index.js';
import { requireRole } from '../auth.js';

interface HuntBody {
  query?: unknown;
}

/**
 * Advanced hunting: POST /api/v1/hunt {query} runs KQL over the telemetry tables (readers and up).
 * 200 → {columns: [{name, type}], rows, truncated, stats: {elapsedMs, rowsReturned, tables}, render?};
 * 400 → {error: 'kql_syntax' | 'kql_semantic', message, line, column} or {error: 'kql_execution', message};
 * 408 → {error: 'query_timeout'} when the query ran past the configured timeout and was cancelled.
 */
export function registerHuntingRoutes(app: FastifyInstance, deps: { hunting: HuntingService; rules?: CustomDetections }) {
  app.post<{ Body: HuntBody }>('/api/v1/hunt', { preHandler: requireRole('reader'), bodyLimit: 256 * 1024 }, async (request) => {
    const query = request.body?.query;
    if (typeof query !== 'string' || !query.trim()) {
      throw new VigilError('bad_request', 400, "'query' must be a non-empty KQL string");
    }
    return deps.hunting.hunt(query);
  });

  const rules = deps.rules;
  if (!rules) return;
  // Custom detection rules (KQL + frequency + alert details + entity mapping), checked at save.
  app.get('/api/v1/hunting/rules', { preHandler: requireRole('reader') }, async () => ({ rules: await rules.list() }));
  app.get<{ Params: { id: string } }>('/api/v1/hunting/rules/:id', { preHandler: requireRole('reader') }, async (request) => rules.get(request.params.id));
  app.post<{ Body: CustomDetectionRuleInput }>('/api/v1/hunting/rules', { preHandler: requireRole('analyst') }, async (request, reply) => {
    const rule = await rules.create(request.body, request.principal?.name ?? 'unknown');
    return reply.status(201).send(rule);
  });
  app.put<{ Params: { id: string }; Body: CustomDetectionRuleInput }>('/api/v1/hunting/rules/:id', { preHandler: requireRole('analyst') },
    async (request) => rules.update(request.params.id, request.body));
  app.delete<{ Params: { id: string } }>('/api/v1/hunting/rules/:id', { preHandler: requireRole('analyst') }, async (request, reply) => {
    await rules.remove(request.params.id);
    return reply.status(204).send();
  });
  app.post<{ Params: { id: string } }>('/api/v1/hunting/rules/:id/run', { preHandler: requireRole('analyst') }, async (request) => rules.run(request.params.id));
}
