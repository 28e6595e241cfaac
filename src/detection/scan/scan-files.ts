// Offline detection over log files (`vigil scan`), like Hayabusa or Chainsaw over Windows logs:
// the format is detected per file, every record runs through the engine, and a summary counts hits
// per rule (with its author, as DRL 1.1 requires for any output that shows matches).
import { closeSync, createReadStream, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DetectionEngine, DetectionInput, Match } from '../sigma/sigma-engine.js';
import { normaliseWindowsEventText, parseJsonDocuments } from '../../ingest/index.js';
import { classifyRecord, toInput, type LogFormat } from './log-formats.js';

export interface ScanProgress {
  readonly file: string;
  readonly fileIndex: number;
  readonly files: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly events: number;
  readonly matches: number;
}

export interface ScanOptions {
  /** Called now and then (every few thousand records and at each file's end). */
  readonly onProgress?: (p: ScanProgress) => void;
  /** Called for every match, in order. */
  readonly onMatch?: (m: Match, file: string) => void;
  /** File name endings to scan inside folders (default .json, .jsonl, .ndjson, .log). */
  readonly extensions?: readonly string[];
}

export interface ScanFileResult {
  readonly file: string;
  readonly format: LogFormat;
  readonly events: number;
  readonly matches: number;
  /** Records that could not be read (bad JSON, unknown shape), with the first few locations. */
  readonly unreadable: number;
  readonly errors: readonly { readonly line?: number; readonly index?: number; readonly reason: string }[];
}

export interface RuleHits {
  readonly key: string;
  readonly title: string;
  readonly level: string;
  readonly author?: string;
  readonly hits: number;
}

export interface ScanSummary {
  readonly files: readonly ScanFileResult[];
  readonly events: number;
  readonly matches: number;
  /** Hits per rule, most severe level first, then most hits. */
  readonly rules: readonly RuleHits[];
  readonly elapsedMs: number;
}

const LEVEL_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
const DEFAULT_EXTENSIONS = ['.json', '.jsonl', '.ndjson', '.log'];

/** Expand folders into files (recursively, sorted), keeping files named directly. */
export function expandPaths(paths: readonly string[], extensions: readonly string[] = DEFAULT_EXTENSIONS): string[] {
  const out: string[] = [];
  const walk = (p: string, named: boolean) => {
    const st = statSync(p);
    if (st.isDirectory()) { for (const n of readdirSync(p).sort()) walk(join(p, n), false); return; }
    if (named || extensions.some((e) => p.toLowerCase().endsWith(e))) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

const MAX_ERRORS = 10;

export async function scanFiles(engine: DetectionEngine, paths: readonly string[], options: ScanOptions = {}): Promise<ScanSummary> {
  const started = performance.now();
  const files = expandPaths(paths, options.extensions);
  const hits = new Map<string, RuleHits & { hits: number }>();
  const results: ScanFileResult[] = [];
  let events = 0;
  let matches = 0;

  const record = (ms: readonly Match[], file: string) => {
    for (const m of ms) {
      matches++;
      const h = hits.get(m.rule.key);
      if (h) h.hits++;
      else hits.set(m.rule.key, { key: m.rule.key, title: m.rule.title, level: m.rule.level, author: m.rule.author, hits: 1 });
      options.onMatch?.(m, file);
    }
  };

  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    const size = statSync(file).size;
    let fileEvents = 0;
    let fileMatches = 0;
    let unreadable = 0;
    const errors: { line?: number; index?: number; reason: string }[] = [];
    const progress = (bytesDone: number) => options.onProgress?.({
      file, fileIndex: fi, files: files.length, bytesDone, bytesTotal: size, events, matches,
    });
    const evaluate = (input: DetectionInput) => {
      fileEvents++; events++;
      const ms = engine.evaluate(input);
      fileMatches += ms.length;
      record(ms, file);
    };
    const feed = (v: unknown, format: LogFormat, where: { line?: number; index?: number }) => {
      const input = format === 'unknown' ? undefined : toInput(v, format);
      if (!input) { unreadable++; if (errors.length < MAX_ERRORS) errors.push({ ...where, reason: 'not a record of a known format' }); return; }
      evaluate(input);
    };

    // Sniff: JSON Lines when the first non-empty line is a JSON value of its own.
    const head = readHead(file, 1 << 16);
    const firstLine = head.split('\n').find((l) => l.trim() !== '') ?? '';
    let lineFormat: LogFormat | undefined;
    try { lineFormat = classifyRecord(JSON.parse(firstLine)); } catch { lineFormat = undefined; }

    let format: LogFormat = lineFormat ?? 'unknown';
    if (lineFormat !== undefined) {
      const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      let lineNo = 0;
      let bytes = 0;
      for await (const line of rl) {
        lineNo++;
        bytes += line.length + 1;
        if (line.trim() === '') continue;
        let v: unknown;
        let windows: DetectionInput | undefined;
        try {
          // evtx_dump lines are read straight from their text (no parsed object is built for them).
          windows = lineFormat === 'evtx-json' ? normaliseWindowsEventText(line) : undefined;
          if (windows === undefined) v = JSON.parse(line);
        } catch {
          unreadable++; if (errors.length < MAX_ERRORS) errors.push({ line: lineNo, reason: 'line is not valid JSON' });
          continue;
        }
        if (windows !== undefined) evaluate(windows);
        else {
          // Formats can mix within a file (e.g. canonical rows of several tables); classify cheaply per line.
          const f = lineFormat === 'unknown' ? classifyRecord(v) : lineFormat;
          feed(v, f === 'unknown' ? classifyRecord(v) : f, { line: lineNo });
        }
        if (lineNo % 5000 === 0) progress(bytes);
      }
    } else {
      // evtx_dump output: pretty-printed objects back to back, or a JSON array.
      let values: unknown[] = [];
      try { values = parseJsonDocuments(readFileSync(file, 'utf8'), file); } catch (e) {
        unreadable++; errors.push({ reason: `not JSON: ${(e as Error).message}` });
      }
      format = values.length ? classifyRecord(values[0]) : 'unknown';
      values.forEach((v, index) => feed(v, classifyRecord(v), { index }));
    }
    const flushed = engine.flush();
    fileMatches += flushed.length;
    record(flushed, file);
    progress(size);
    results.push({ file, format, events: fileEvents, matches: fileMatches, unreadable, errors });
  }

  const rules = [...hits.values()].sort((a, b) => (LEVEL_ORDER[a.level] ?? 9) - (LEVEL_ORDER[b.level] ?? 9) || b.hits - a.hits || a.title.localeCompare(b.title));
  return { files: results, events, matches, rules, elapsedMs: performance.now() - started };
}

function readHead(file: string, bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync(file, 'r');
  try { const n = readSync(fd, buf, 0, bytes, 0); return buf.subarray(0, n).toString('utf8'); } finally { closeSync(fd); }
}
