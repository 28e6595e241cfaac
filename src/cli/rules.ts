// `vigil rules import <file|dir>…`: load Sigma rule files and print the load report (loaded, skipped
// and why, with file:line:column). `vigil rules list <file|dir>…`: the rules those files define.
// Against a running platform the same work is DetectionService.importRules (rules kept in the store).
import { importRules, readRuleFiles } from '../detection/index.js';

const USAGE = `usage: vigil rules import [--json] [--server URL --token T] <file|dir>…
       vigil rules list [--json] <file|dir>…

  import without --server checks the files and prints the load report; with --server (or VIGIL_SERVER and
  VIGIL_TOKEN, an admin token) the platform loads them, keeps them with their provenance and runs them live.
`;

/** Uploads rule files to a running platform (POST /api/v1/rules/import) and prints its load report. */
async function importToServer(server: string, token: string, paths: readonly string[], json: boolean): Promise<number> {
  const files = readRuleFiles(paths).map((r) => ({ path: r.file ?? 'rule.yml', text: r.text }));
  const res = await fetch(`${server.replace(/\/$/, '')}/api/v1/rules/import`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ files }),
  });
  const body = await res.json() as { loaded?: number; total?: number; failed?: { file?: string; line?: number; column?: number; reason: string }[]; warnings?: unknown[]; message?: string };
  if (!res.ok) { process.stderr.write(`vigil rules import: ${res.status} ${body.message ?? ''}\n`); return 1; }
  if (json) { process.stdout.write(`${JSON.stringify(body, null, 2)}\n`); return body.failed?.length ? 1 : 0; }
  for (const f of body.failed ?? []) process.stdout.write(`skipped ${f.file}:${f.line}:${f.column}: ${f.reason}\n`);
  process.stdout.write(`${body.loaded} loaded into ${server}, ${body.failed?.length ?? 0} skipped, ${body.warnings?.length ?? 0} warnings (of ${body.total} documents)\n`);
  return body.failed?.length ? 1 : 0;
}

export async function runRules(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const [sub, ...rest] = argv;
  const json = rest.includes('--json');
  const option = (name: string) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined; };
  const server = option('--server') ?? env.VIGIL_SERVER;
  const token = option('--token') ?? env.VIGIL_TOKEN;
  const paths = rest.filter((a, i) => a !== '--json' && a !== '--server' && a !== '--token' && rest[i - 1] !== '--server' && rest[i - 1] !== '--token');
  if ((sub !== 'import' && sub !== 'list') || paths.length === 0) { process.stderr.write(USAGE); return 2; }
  if (sub === 'import' && server) {
    if (!token) { process.stderr.write('vigil rules import: --server needs --token (or VIGIL_TOKEN), an admin token\n'); return 2; }
    return importToServer(server, token, paths, json);
  }
  const { report } = importRules(paths);
  if (sub === 'list') {
    if (json) { process.stdout.write(`${JSON.stringify(report.rules, null, 2)}\n`); return 0; }
    for (const r of report.rules) process.stdout.write(`${r.level.padEnd(13)} ${r.key.padEnd(38)} ${r.title}${r.author ? ` — ${r.author}` : ''}\n`);
    return 0;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ total: report.total, loaded: report.loaded, failed: report.failed, warnings: report.warnings }, null, 2)}\n`);
    return report.failed.length ? 1 : 0;
  }
  for (const f of report.failed) process.stdout.write(`skipped ${f.file}:${f.line}:${f.column}: ${f.reason}\n`);
  process.stdout.write(`${report.loaded} loaded, ${report.failed.length} skipped, ${report.warnings.length} warnings (of ${report.total} documents)\n`);
  return report.failed.length ? 1 : 0;
}
