// Runs SigmaHQ's regression data through the engine with every SigmaHQ rule loaded at once:
// each info.yml names a rule and its event file(s); the rule must fire at least match_count times
// (once when none is given), as SigmaHQ's own regression runner checks.
// Last line: `regression: <P>/<T> passed`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { createDetectionEngine } from '../src/detection/index.js';
import { normaliseWindowsEvent } from '../src/ingest/index.js';
import { SIGMA_DATA, sigmaRuleSources, parseJsonDocuments, walk } from './sigma-common.js';

const verbose = process.argv.includes('--verbose');
const engine = createDetectionEngine();
const report = engine.load(sigmaRuleSources());
console.log(`loaded ${report.loaded}/${report.total} SigmaHQ documents (${report.failed.length} failed)`);

interface Info {
  rule_metadata?: { id: string; title?: string }[];
  regression_tests_info?: { name?: string; type?: string; match_count?: number; path?: string }[];
}

let passed = 0;
let total = 0;
for (const infoPath of walk(join(SIGMA_DATA, 'regression_data'), /^info\.ya?ml$/)) {
  const info = parse(readFileSync(infoPath, 'utf8')) as Info;
  for (const meta of info.rule_metadata ?? []) {
    for (const test of info.regression_tests_info ?? []) {
      if (test.type !== 'evtx' || !test.path) continue;
      total++;
      const jsonPath = join(SIGMA_DATA, test.path.replace(/\.evtx$/, '.json'));
      const want = test.match_count ?? 1;
      const where = dirname(infoPath).slice(SIGMA_DATA.length + 1);
      if (!existsSync(jsonPath)) { console.log(`FAIL ${where}: no JSON rendering of ${test.path}`); continue; }
      if (!engine.rule(meta.id)) {
        const why = report.failed.find((f) => f.ruleId === meta.id);
        console.log(`FAIL ${where}: rule ${meta.id} not loaded${why ? ` (${why.reason})` : ''}`);
        continue;
      }
      let hits = 0;
      const events = parseJsonDocuments(readFileSync(jsonPath, 'utf8'), jsonPath);
      for (const ev of events) {
        const input = normaliseWindowsEvent(ev);
        if (!input) continue;
        for (const m of engine.evaluate(input)) if (m.rule.key === meta.id) hits++;
      }
      if (hits >= want) {
        passed++;
        if (verbose) console.log(`ok   ${where}: ${hits} ≥ ${want}`);
        if (hits > want && verbose) console.log(`     (warning: ${hits} matches, expected ${want})`);
      } else {
        console.log(`FAIL ${where}: rule ${meta.id} fired ${hits} time(s), expected ≥ ${want} over ${events.length} event(s)`);
      }
    }
  }
}
console.log(`regression: ${passed}/${total} passed`);
