import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { HuntingService } from '../../hunting/index.js';
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
export function registerHuntingRoutes(app: FastifyInstance, deps: { hunting: HuntingService }) {
  app.post<{ Body: HuntBody }>('/api/v1/hunt', { preHandler: requireRole('reader'), bodyLimit: 256 * 1024 }, async (request) => {
    const query = request.body?.query;
    if (typeof query !== 'string' || !query.trim()) {
      throw new VigilError('bad_request', 400, "'query' must be a non-empty KQL string");
    }
    return deps.hunting.hunt(query);
  });
}
