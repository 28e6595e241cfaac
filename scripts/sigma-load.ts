// Loads every SigmaHQ rule file (rules* folders) and lists each document that did not load, with
// file, line and reason. Last line: `load: <L>/<T> rules loaded`.
import { createDetectionEngine } from '../src/detection/index.js';
import { sigmaRuleSources } from './sigma-common.js';

const showWarnings = process.argv.includes('--warnings');
const engine = createDetectionEngine();
const t0 = performance.now();
const report = engine.load(sigmaRuleSources());
const ms = performance.now() - t0;
for (const p of report.failed) console.log(`not loaded: ${p.file}:${p.line}:${p.column}: ${p.reason}`);
if (showWarnings) for (const w of report.warnings) console.log(`warning: ${w.file}:${w.line}: ${w.reason}`);
const unmapped = report.rules.filter((r) => !r.mapped).length;
const waiting = report.rules.filter((r) => r.unresolvedPlaceholders);
for (const r of waiting) console.log(`loaded disabled: ${r.file}:${r.line}: needs values for ${r.unresolvedPlaceholders!.join(', ')}`);
if (waiting.length) console.log(`${waiting.length} rules wait for |expand placeholder values (vigil serve --sigma-placeholders <file>)`);
console.log(`${report.warnings.length} warnings (${unmapped} rules with a logsource Vigil has no events for); compiled in ${ms.toFixed(0)} ms`);
console.log(`load: ${report.loaded}/${report.total} rules loaded`);
