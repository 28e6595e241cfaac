import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Store } from '../../store/index.js';
import { requireRole } from '../auth.js';

interface EventsQuery { since?: string; until?: string; deviceId?: string; limit?: string; cursor?: string }

/** Raw telemetry by table, oldest first, with cursor pagination (hunting gives the full query language). */
export function registerEventRoutes(app: FastifyInstance, deps: { store: Store }) {
  app.get<{ Params: { table: string }; Querystring: EventsQuery }>('/api/v1/events/:table', { preHandler: requireRole('reader') }, async (request) => {
    const q = request.query;
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new VigilError('bad_request', 400, "'limit' must be a positive integer");
    }
    const page = await deps.store.telemetry.read(request.params.table, { since: q.since, until: q.until, deviceId: q.deviceId, limit, cursor: q.cursor });
    return { rows: page.rows, nextCursor: page.nextCursor ?? null };
  });
}
