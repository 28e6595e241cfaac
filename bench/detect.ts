// Detection throughput, single thread. Input: Windows events as evtx_dump JSON lines — SigmaHQ's
// regression events mixed with deterministic synthetic benign Sysmon/Security events (about 1
// malicious to 1,000 benign). All SigmaHQ rules loaded. Measures end-to-end (JSON text line →
// JSON.parse → normaliseWindowsEvent → engine.evaluate), a JSON.parse-only pass over the same
// lines, and RSS. Last line: `detect: <N> events/s, <R> of parse-only, <M> MB`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDetectionEngine } from '../src/detection/index.js';
import { normaliseWindowsEvent } from '../src/ingest/index.js';
import { SIGMA_DATA, sigmaRuleSources, splitConcatenatedJson, walk } from '../scripts/sigma-common.js';
import { benign, int } from './benign-windows-events.js';

const BENIGN_PER_MALICIOUS = 1000;
const ROUNDS = 3;

// --- build the input stream ---
const malicious: string[] = [];
for (const file of walk(join(SIGMA_DATA, 'regression_data'), /\.json$/)) {
  for (const ev of splitConcatenatedJson(readFileSync(file, 'utf8'))) malicious.push(JSON.stringify(ev));
}
const lines: string[] = [];
let t = Date.parse('2026-11-02T08:00:00Z');
for (const m of malicious) {
  for (let i = 0; i < BENIGN_PER_MALICIOUS; i++) { t += int(1, 40); lines.push(JSON.stringify(benign(t))); }
  lines.push(m);
}
const bytes = lines.reduce((s, l) => s + l.length, 0);
console.log(`input: ${lines.length} events (${malicious.length} regression events), ${(bytes / 1e6).toFixed(0)} MB of JSON`);

const engine = createDetectionEngine();
const t0 = performance.now();
const report = engine.load(sigmaRuleSources());
console.log(`rules: ${report.loaded}/${report.total} loaded in ${(performance.now() - t0).toFixed(0)} ms`);

function parseOnly(): number {
  let n = 0;
  const s = performance.now();
  for (const line of lines) { const ev = JSON.parse(line) as { Event?: unknown }; if (ev.Event) n++; }
  if (n !== lines.length) throw new Error('parse pass lost events');
  return lines.length / ((performance.now() - s) / 1000);
}

let detections = 0;
const fired = new Set<string>();
function endToEnd(): number {
  detections = 0;
  const s = performance.now();
  for (const line of lines) {
    const input = normaliseWindowsEvent(JSON.parse(line));
    if (!input) continue;
    const matches = engine.evaluate(input);
    if (matches.length) { detections += matches.length; for (const m of matches) fired.add(m.rule.key); }
  }
  return lines.length / ((performance.now() - s) / 1000);
}

endToEnd(); // warm-up: builds the logsource buckets and lets the JIT settle
parseOnly();
let best = 0;
let bestParse = 0;
for (let r = 0; r < ROUNDS; r++) {
  bestParse = Math.max(bestParse, parseOnly());
  best = Math.max(best, endToEnd());
}
const rss = process.memoryUsage().rss / 1024 / 1024;
console.log(`detections: ${detections} matches per pass, ${fired.size} distinct rules fired`);
console.log(`parse-only: ${Math.round(bestParse)} events/s`);
console.log(`detect: ${Math.round(best)} events/s, ${(best / bestParse).toFixed(2)} of parse-only, ${Math.round(rss)} MB`);
