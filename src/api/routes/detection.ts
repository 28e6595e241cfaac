import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { DetectionService, RuleSource } from '../../detection/index.js';
import { requireRole } from '../auth.js';

type Audit = (entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }) => Promise<void>;

/** Sigma rules: list with provenance and hit counts, enable/disable, import (with its load report). */
export function registerDetectionRoutes(app: FastifyInstance, deps: { detection: DetectionService; audit?: Audit }) {
  const { detection } = deps;

  app.get('/api/v1/rules', { preHandler: requireRole('reader') }, async () => ({ rules: await detection.listRules() }));

  app.patch<{ Params: { key: string } }>('/api/v1/rules/:key', { preHandler: requireRole('admin') }, async (request) => {
    const enabled = (request.body as Record<string, unknown> | null)?.enabled;
    if (typeof enabled !== 'boolean') throw new VigilError('bad_request', 400, "'enabled' is required (true or false)");
    const rule = await detection.setRuleEnabled(request.params.key, enabled);
    await deps.audit?.({ actor: request.principal!.name, action: enabled ? 'rule.enable' : 'rule.disable', target: request.params.key });
    return rule;
  });

  // Body: { files: [{ path, text }] } — rule files as YAML text; the answer is the load report.
  app.post('/api/v1/rules/import', { preHandler: requireRole('admin') }, async (request) => {
    const files = (request.body as Record<string, unknown> | null)?.files;
    if (!Array.isArray(files) || files.length === 0) throw new VigilError('bad_request', 400, "'files' is required: [{ path, text }] with Sigma YAML");
    const sources: RuleSource[] = files.map((f, index) => {
      if (!f || typeof f.path !== 'string' || typeof f.text !== 'string') throw new VigilError('bad_request', 400, `files[${index}] needs 'path' and 'text' strings`, { index });
      return { file: f.path, text: f.text, pack: 'api' };
    });
    const report = await detection.importRuleSources(sources);
    await deps.audit?.({ actor: request.principal!.name, action: 'rules.import', target: 'rules', details: { loaded: report.loaded, failed: report.failed.length } });
    return { total: report.total, loaded: report.loaded, failed: report.failed, warnings: report.warnings };
  });
}
