import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { IngestResult, IngestService } from '../../ingest/index.js';
import { requireRole } from '../auth.js';

/** A body as rows: a JSON array, or NDJSON where an unreadable line becomes a marker that is rejected with its index. */
function rowsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (typeof body === 'string') {
    const rows: unknown[] = [];
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      try {
        rows.push(JSON.parse(line));
      } catch {
        rows.push(UNREADABLE);
      }
    }
    return rows;
  }
  if (body && typeof body === 'object') return [body];
  throw new VigilError('bad_request', 400, 'send a JSON array of rows, or NDJSON (one row per line)');
}

const UNREADABLE = Symbol('unreadable line');

function withUnreadable(rows: unknown[], run: (rows: unknown[]) => Promise<IngestResult>): Promise<IngestResult> {
  const unreadable = rows.flatMap((r, i) => (r === UNREADABLE ? [i] : []));
  if (unreadable.length === 0) return run(rows);
  // Keep indexes of the original body: replace the unreadable lines by values the validator rejects.
  const patched = rows.map((r) => (r === UNREADABLE ? 'unreadable' : r));
  return run(patched).then((result) => ({
    ...result,
    rejected: result.rejected.map((r) => (unreadable.includes(r.index) ? { index: r.index, error: 'line is not valid JSON' } : r)),
  }));
}

export function registerIngestRoutes(app: FastifyInstance, deps: { ingest: IngestService }) {
  app.post<{ Params: { table: string } }>('/api/v1/ingest/:table', { preHandler: requireRole('sensor') }, async (request) => {
    const sensorId = request.principal!.id;
    const rows = rowsOf(request.body);
    if (request.params.table === 'windows') return withUnreadable(rows, (r) => deps.ingest.ingestWindows(sensorId, r));
    return withUnreadable(rows, (r) => deps.ingest.ingest(request.params.table, sensorId, r));
  });
}
