// `vigil rules import <file|dir>…`: load Sigma rule files and print the load report (loaded, skipped
// and why, with file:line:column). `vigil rules list <file|dir>…`: the rules those files define.
// Against a running platform the same work is DetectionService.importRules (rules kept in the store).
import { importRules } from '../detection/index.js';

const USAGE = `usage: vigil rules import [--json] <file|dir>…
       vigil rules list [--json] <file|dir>…
`;

export async function runRules(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const json = rest.includes('--json');
  const paths = rest.filter((a) => a !== '--json');
  if ((sub !== 'import' && sub !== 'list') || paths.length === 0) { process.stderr.write(USAGE); return 2; }
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
