// `vigil scan <files|dirs…>`: offline Sigma detection over log files (evtx_dump JSON, canonical NDJSON,
// Winlogbeat / NXLog / OTRF JSON lines), like Hayabusa or Chainsaw. A progress bar on a terminal,
// then a summary table (rule, level, hits, author — DRL 1.1 requires the author); --json for machines.
import { createDetectionEngine, readPlaceholders, readRuleFiles, scanFiles, vigilRulePack, type PlaceholderValues, type ScanProgress } from '../detection/index.js';

const USAGE = `usage: vigil scan [--rules <file|dir>]… [--placeholders <file.yml|json>] [--json] [--show-errors] <file|dir>…

  --rules         Sigma rule files or folders (repeatable); default: Vigil's own rule pack
  --placeholders  YAML or JSON file of Sigma |expand placeholder values, e.g. Admins: [alice, bob]
  --json          print the summary as JSON
  --show-errors   list rules that did not load and unreadable records
`;

export async function runScan(argv: string[]): Promise<number> {
  const rules: string[] = [];
  const inputs: string[] = [];
  let json = false;
  let showErrors = false;
  let placeholders: PlaceholderValues = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rules') rules.push(argv[++i] ?? '');
    else if (a === '--json') json = true;
    else if (a === '--show-errors') showErrors = true;
    else if (a === '--placeholders') placeholders = readPlaceholders(argv[++i] ?? '');
    else if (a === '--help' || a === '-h') { process.stdout.write(USAGE); return 0; }
    else if (a.startsWith('--')) { process.stderr.write(`vigil scan: unknown option ${a}\n${USAGE}`); return 2; }
    else inputs.push(a);
  }
  if (inputs.length === 0 || rules.some((r) => r === '')) { process.stderr.write(USAGE); return 2; }

  const engine = createDetectionEngine({ placeholders });
  const report = engine.load(rules.length ? readRuleFiles(rules) : vigilRulePack());
  const waiting = report.rules.filter((r) => r.unresolvedPlaceholders);
  if (!json) process.stderr.write(`rules: ${report.loaded} loaded, ${report.failed.length} skipped${waiting.length ? `, ${waiting.length} disabled until --placeholders gives ${[...new Set(waiting.flatMap((r) => r.unresolvedPlaceholders!))].join(', ')}` : ''}\n`);
  if (showErrors && !json) for (const f of report.failed) process.stderr.write(`  skipped ${f.file}:${f.line}:${f.column}: ${f.reason}\n`);

  const tty = process.stderr.isTTY && !json;
  let lastDraw = 0;
  const draw = (p: ScanProgress) => {
    const now = Date.now();
    if (now - lastDraw < 100 && p.bytesDone < p.bytesTotal) return;
    lastDraw = now;
    const frac = p.bytesTotal ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    process.stderr.write(`\r[${bar}] file ${p.fileIndex + 1}/${p.files} ${(frac * 100).toFixed(0).padStart(3)}%  ${p.events} events  ${p.matches} hits`);
  };
  const summary = await scanFiles(engine, inputs, { onProgress: tty ? draw : undefined });
  if (tty) process.stderr.write('\n');

  if (json) {
    process.stdout.write(`${JSON.stringify({ rulesLoaded: report.loaded, rulesSkipped: report.failed, ...summary }, null, 2)}\n`);
    return 0;
  }
  const rows = summary.rules.map((r) => [r.title, r.level, String(r.hits), r.author ?? '']);
  const head = ['rule', 'level', 'hits', 'author'];
  const widths = head.map((h, i) => Math.min(70, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.slice(0, widths[i]).padEnd(widths[i]!))).join('  ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  for (const f of summary.files) {
    if (showErrors && f.unreadable) for (const e of f.errors) process.stderr.write(`  ${f.file}${e.line ? `:${e.line}` : ''}: ${e.reason}\n`);
  }
  const unreadable = summary.files.reduce((s, f) => s + f.unreadable, 0);
  process.stdout.write(`\n${summary.files.length} files, ${summary.events} events, ${summary.matches} hits from ${summary.rules.length} rules`
    + `${unreadable ? `, ${unreadable} unreadable records` : ''} in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`);
  return 0;
}
