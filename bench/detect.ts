// Detection throughput, single thread. Input: Windows events as evtx_dump JSON lines — SigmaHQ's
// regression events mixed with deterministic synthetic benign Sysmon/Security events (about 1
// malicious to 1,000 benign). All SigmaHQ rules loaded. Measures end-to-end as `vigil scan` runs it
// (JSON text line → normaliseWindowsEventText → engine.evaluate; the canonical row is made only when
// something needs it), the same with every row made (as ingest does, to store it), a JSON.parse-only
// pass over the same lines, and RSS with all rules loaded. Rates use this process's CPU time (one
// thread), so a busy shared machine does not distort them; wall-clock rates are printed too.
// Last line: `detect: <N> events/s, <R> of parse-only, <M> MB`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDetectionEngine } from '../src/detection/index.js';
import { normaliseWindowsEvent, normaliseWindowsEventText } from '../src/ingest/index.js';
import { SIGMA_DATA, sigmaRuleSources, parseJsonDocuments, walk } from '../scripts/sigma-common.js';
import { benign, int } from './benign-windows-events.js';

const BENIGN_PER_MALICIOUS = 1000;
const ROUNDS = 2;

// --- rules first: RSS is taken with every rule loaded and every logsource bucket built ---
const engine = createDetectionEngine();
const t0 = performance.now();
const report = engine.load(sigmaRuleSources());
console.log(`rules: ${report.loaded}/${report.total} loaded in ${(performance.now() - t0).toFixed(0)} ms`);
{
  let w = Date.parse('2026-11-01T00:00:00Z');
  for (let i = 0; i < 20_000; i++) { w += 5; const input = normaliseWindowsEvent(benign(w)); if (input) engine.evaluate(input); }
}
globalThis.gc?.();
const rssRules = process.memoryUsage().rss / 1024 / 1024;

// --- build the input stream ---
const malicious: string[] = [];
for (const file of walk(join(SIGMA_DATA, 'regression_data'), /\.json$/)) {
  for (const ev of parseJsonDocuments(readFileSync(file, 'utf8'), file)) malicious.push(JSON.stringify(ev));
}
const lines: string[] = [];
let t = Date.parse('2026-11-02T08:00:00Z');
for (const m of malicious) {
  for (let i = 0; i < BENIGN_PER_MALICIOUS; i++) { t += int(1, 40); lines.push(JSON.stringify(benign(t))); }
  lines.push(m);
}
const bytes = lines.reduce((s, l) => s + l.length, 0);
console.log(`input: ${lines.length} events (${malicious.length} regression events), ${(bytes / 1e6).toFixed(0)} MB of JSON`);


// Rates from CPU time of this (single-threaded) process and from wall time. On a shared, loaded
// machine the wall clock also counts time spent waiting for a core; CPU time does not.
interface Rate { wall: number; cpu: number }
function timed(f: () => void): Rate {
  const w = performance.now();
  const c = process.cpuUsage();
  f();
  const cu = process.cpuUsage(c);
  return { wall: lines.length / ((performance.now() - w) / 1000), cpu: lines.length / ((cu.user + cu.system) / 1e6) };
}
const best = (a: Rate, b: Rate): Rate => ({ wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) });

function parseOnly(): Rate {
  let n = 0;
  const r = timed(() => { for (const line of lines) { const ev = JSON.parse(line) as { Event?: unknown }; if (ev.Event) n++; } });
  if (n !== lines.length) throw new Error('parse pass lost events');
  return r;
}

function normalise(): Rate {
  return timed(() => { for (const line of lines) normaliseWindowsEventText(line); });
}

let detections = 0;
const fired = new Set<string>();
function endToEnd(withRows = false): Rate {
  detections = 0;
  let rows = 0;
  const rate = timed(() => {
    for (const line of lines) {
      const input = normaliseWindowsEventText(line);
      if (!input) continue;
      if (withRows && input.row) rows++;
      const matches = engine.evaluate(input);
      if (matches.length) { detections += matches.length; for (const m of matches) fired.add(m.rule.key); }
    }
  });
  if (withRows && rows !== lines.length) throw new Error('rows were not made for every event');
  return rate;
}

endToEnd(); // warm-up: lets the JIT settle on the real stream
let e2e: Rate = { wall: 0, cpu: 0 };
let parse: Rate = { wall: 0, cpu: 0 };
let norm: Rate = { wall: 0, cpu: 0 };
let stored: Rate = { wall: 0, cpu: 0 };
for (let r = 0; r < ROUNDS; r++) {
  parse = best(parse, parseOnly());
  norm = best(norm, normalise());
  e2e = best(e2e, endToEnd());
  // After the headline pass, so the rows it leaves behind do not weigh on it.
  stored = best(stored, endToEnd(true));
}
const us = (rate: number) => 1e6 / rate;
console.log(`detections: ${detections} matches per pass, ${fired.size} distinct rules fired`);
{
  const stats = engine.bucketStats();
  const events = stats.reduce((s, b) => s + b.events, 0);
  const evaluated = stats.reduce((s, b) => s + b.evaluatedPerEvent * b.events, 0);
  console.log(`prefilter: ${(evaluated / events).toFixed(2)} rules evaluated per event; ${stats.reduce((s, b) => s + b.retuned, 0)} rules index a rarer need than the static guess`);
}
console.log(`wall clock: ${Math.round(e2e.wall)} events/s end to end, parse-only ${Math.round(parse.wall)} events/s (${(e2e.wall / parse.wall).toFixed(2)})`);
console.log(`cpu time:   ${Math.round(e2e.cpu)} events/s end to end, parse-only ${Math.round(parse.cpu)} events/s, read+normalise ${Math.round(norm.cpu)} events/s`);
console.log(`per event (cpu): JSON.parse ${us(parse.cpu).toFixed(2)} µs; read and flatten the line ${us(norm.cpu).toFixed(2)} µs, evaluate ${(us(e2e.cpu) - us(norm.cpu)).toFixed(2)} µs`);
console.log(`with every canonical row made (as ingest stores them): ${Math.round(stored.cpu)} events/s, ${(stored.cpu / parse.cpu).toFixed(2)} of parse-only`);
console.log(`rss: ${Math.round(rssRules)} MB with all rules loaded, ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MB holding the ${(bytes / 1e6).toFixed(0)} MB input`);
console.log(`detect: ${Math.round(e2e.cpu)} events/s, ${(e2e.cpu / parse.cpu).toFixed(2)} of parse-only, ${Math.round(rssRules)} MB`);
