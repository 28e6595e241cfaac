// npm run kql:corpus [-- <file.jsonl>]: runs every query of a JSON-lines file ({query} per line)
// against a store seeded with synthetic telemetry for every canonical table, and reports how many
// parse and how many execute without error. Last line: `kql: parsed <P>/<T>, executed <E>/<T>`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TABLES, type CanonicalRow } from '../src/schema/index.js';
import { createSqliteStore } from '../src/store/index.js';
import { createHuntingService, KQL_SQL_FUNCTIONS_MODULE, parseKql } from '../src/hunting/index.js';
import { seedRows } from './kql-seed.js';

const file = process.argv[2] ?? new URL('../../shared/data/kql/dev-queries.jsonl', import.meta.url).pathname;
const verbose = process.argv.includes('--verbose');
const queries = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
  const o = JSON.parse(l) as { query: string; path?: string; repo?: string };
  return { query: o.query, where: `${o.repo ?? ''}/${o.path ?? `#${i + 1}`}` };
});

const dir = mkdtempSync(join(tmpdir(), 'vigil-kql-corpus-'));
const store = await createSqliteStore({ file: join(dir, 'vigil.db'), queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE });
try {
  const now = Date.now();
  for (const table of TABLES.values()) {
    await store.telemetry.append(table.name, 'corpus-sensor', seedRows(table, 300, now) as CanonicalRow[]);
  }
  const hunting = createHuntingService({ store, timeoutMs: 30_000 });
  let parsed = 0;
  let executed = 0;
  const reasons = new Map<string, { count: number; examples: string[] }>();
  const fail = (stage: string, message: string, where: string) => {
    const key = `${stage}: ${message.replace(/ \(line \d+, column \d+\)$/, '').replace(/\d+ ms/, 'N ms').slice(0, 160)}`;
    const r = reasons.get(key) ?? { count: 0, examples: [] };
    r.count++;
    if (r.examples.length < 2) r.examples.push(where);
    reasons.set(key, r);
    if (verbose) console.log(`  ${where}: ${stage}: ${message}`);
  };
  for (const q of queries) {
    try {
      parseKql(q.query);
      parsed++;
    } catch (error) {
      fail('parse', (error as Error).message, q.where);
      continue;
    }
    try {
      await hunting.hunt(q.query);
      executed++;
    } catch (error) {
      fail('execute', (error as Error).message, q.where);
    }
  }
  const sorted = [...reasons.entries()].sort((a, b) => b[1].count - a[1].count);
  if (sorted.length) console.log('failures by reason:');
  for (const [reason, r] of sorted) console.log(`  ${String(r.count).padStart(3)}  ${reason}   [${r.examples.join(', ')}]`);
  console.log(`kql: parsed ${parsed}/${queries.length}, executed ${executed}/${queries.length}`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
