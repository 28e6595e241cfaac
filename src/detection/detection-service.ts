// Live detection: every row announced on 'telemetry.ingested' runs through the Sigma engine; each
// match becomes an alert ('alert.raised', plus AlertInfo/AlertEvidence rows). Rules are managed here
// too: imported files are kept in the store with their provenance, and rules can be enabled or disabled.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import type { Bus } from '../bus/index.js';
import type { RaisedAlert } from '../schema/index.js';
import type { Store } from '../store/index.js';
import { alertFromMatch, alertRows } from './alert-builder.js';
import { DetectionError } from './errors.js';
import { scanFiles, type ScanOptions, type ScanSummary } from './scan/scan-files.js';
import {
  createDetectionEngine, type DetectionEngine, type DetectionInput, type LoadReport, type Match, type RuleInfo,
} from './sigma/sigma-engine.js';
import type { RuleSource } from './sigma/sigma-rule.js';

/** A rule as listed: the engine's view plus its provenance. */
export interface RuleRecord extends RuleInfo {
  /** When the file holding it was imported (ISO 8601). */
  readonly importedAt?: string;
}

export interface DetectionServiceOptions {
  readonly bus: Bus;
  readonly store: Store;
  /** Rules to import at start (e.g. Vigil's own pack); stored like any import. */
  readonly rules?: readonly RuleSource[];
  /** Values for Sigma `|expand` placeholders. */
  readonly placeholders?: Readonly<Record<string, readonly string[]>>;
  /** Rule products that run on canonical rows without `_Raw` (default ['linux']). */
  readonly canonicalProducts?: readonly string[];
  /** Sensor id under which AlertInfo/AlertEvidence rows are written (default 'detection'). */
  readonly sensorId?: string;
  /** Subscribe to 'telemetry.ingested' (default true). */
  readonly subscribe?: boolean;
  /** Called for a row that fails inside the engine; the row is skipped (fail soft). */
  readonly onError?: (error: unknown, context: { table: string; index: number }) => void;
}

export interface DetectionService {
  readonly engine: DetectionEngine;
  /** Load rule files or folders (.yml/.yaml, recursively) and keep them with their provenance. */
  importRules(paths: readonly string[], options?: { pack?: string }): Promise<LoadReport>;
  /** Load rule texts (API uploads) and keep them. */
  importRuleSources(sources: readonly RuleSource[]): Promise<LoadReport>;
  listRules(): Promise<RuleRecord[]>;
  setRuleEnabled(key: string, enabled: boolean): Promise<RuleRecord>;
  /** Evaluate rows of a table and raise alerts for matches (what the subscriber does). */
  process(table: string, sensorId: string, rows: readonly Record<string, unknown>[]): Promise<RaisedAlert[]>;
  /** Offline scan with the loaded rules (alerts are not raised). */
  scanFiles(paths: readonly string[], options?: ScanOptions): Promise<ScanSummary>;
  close(): void;
}

const MIGRATIONS = [{
  version: 1,
  name: 'rule files and rules',
  async up(db: Kysely<any>) {
    await db.schema.createTable('detection_rule_files')
      .addColumn('file', 'text', (c) => c.primaryKey())
      .addColumn('pack', 'text')
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('imported_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('detection_rules')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('file', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('imported_at', 'bigint', (c) => c.notNull())
      .execute();
  },
}] as const;

/** Every .yml/.yaml file under the given files and folders, sorted, as rule sources. */
export function readRuleFiles(paths: readonly string[], pack?: string): RuleSource[] {
  const out: RuleSource[] = [];
  const walk = (p: string, named: boolean) => {
    const st = statSync(p);
    if (st.isDirectory()) { for (const n of readdirSync(p).sort()) walk(join(p, n), false); return; }
    if (named || /\.ya?ml$/i.test(p)) out.push({ file: resolve(p), text: readFileSync(p, 'utf8'), pack });
  };
  for (const p of paths) walk(p, true);
  return out;
}

const SKIP_TABLES = new Set(['AlertInfo', 'AlertEvidence', 'BehaviorInfo']);

export async function createDetectionService(options: DetectionServiceOptions): Promise<DetectionService> {
  const { bus, store } = options;
  const sensorId = options.sensorId ?? 'detection';
  await store.migrate('detection', MIGRATIONS);
  const db = store.db;
  const engine = createDetectionEngine({ placeholders: options.placeholders, canonicalProducts: options.canonicalProducts });
  const importedAt = new Map<string, number>(); // file → epoch ms

  // Reload what was imported before, then re-apply the enabled flags.
  const files = await db.selectFrom('detection_rule_files').selectAll().orderBy('imported_at').execute() as { file: string; pack: string | null; text: string; imported_at: number }[];
  engine.load(files.map((f) => ({ file: f.file, text: f.text, pack: f.pack ?? undefined })));
  for (const f of files) importedAt.set(f.file, Number(f.imported_at));
  const flags = await db.selectFrom('detection_rules').select(['key', 'enabled']).execute() as { key: string; enabled: number }[];
  for (const r of flags) if (!Number(r.enabled)) engine.setEnabled(r.key, false);

  async function importRuleSources(sources: readonly RuleSource[]): Promise<LoadReport> {
    const report = engine.load(sources);
    const now = Date.now();
    const loadedFiles = new Set(report.rules.map((r) => r.file));
    for (const s of sources) {
      const file = s.file ?? '<inline>';
      if (!loadedFiles.has(file)) continue;
      importedAt.set(file, now);
      await db.deleteFrom('detection_rule_files').where('file', '=', file).execute();
      await db.insertInto('detection_rule_files').values({ file, pack: s.pack ?? null, text: s.text, imported_at: now }).execute();
    }
    for (const r of report.rules) {
      const existing = await db.selectFrom('detection_rules').select('enabled').where('key', '=', r.key).executeTakeFirst() as { enabled: number } | undefined;
      if (existing) {
        await db.updateTable('detection_rules').set({ file: r.file, title: r.title, imported_at: now }).where('key', '=', r.key).execute();
        if (!Number(existing.enabled)) engine.setEnabled(r.key, false);
      } else {
        await db.insertInto('detection_rules').values({ key: r.key, file: r.file, title: r.title, enabled: 1, imported_at: now }).execute();
      }
    }
    return report;
  }

  if (options.rules && options.rules.length > 0) await importRuleSources(options.rules);

  const record = (r: RuleInfo): RuleRecord => {
    const at = importedAt.get(r.file);
    return { ...r, importedAt: at === undefined ? undefined : new Date(at).toISOString() };
  };

  async function raise(matches: readonly Match[], fallbackSensor: string): Promise<RaisedAlert[]> {
    const alerts = matches.map((m) => alertFromMatch(m, { sensorId: fallbackSensor }));
    if (alerts.length === 0) return alerts;
    const info = alerts.map((a) => alertRows(a));
    await store.telemetry.append('AlertInfo', sensorId, info.map((x) => x.info));
    const evidence = info.flatMap((x) => x.evidence);
    if (evidence.length) await store.telemetry.append('AlertEvidence', sensorId, evidence);
    for (const alert of alerts) await bus.publish('alert.raised', { alert });
    return alerts;
  }

  async function processRows(table: string, rowSensor: string, rows: readonly Record<string, unknown>[]): Promise<RaisedAlert[]> {
    if (SKIP_TABLES.has(table)) return [];
    const matches: Match[] = [];
    rows.forEach((row, index) => {
      try {
        const input: DetectionInput = { table, row: row._SensorId === undefined ? { ...row, _SensorId: rowSensor } : row };
        matches.push(...engine.evaluate(input));
      } catch (error) {
        options.onError?.(error, { table, index });
      }
    });
    return raise(matches, rowSensor);
  }

  const unsubscribe = options.subscribe === false
    ? () => {}
    : bus.subscribe('telemetry.ingested', async (event) => { await processRows(event.table, event.sensorId, event.rows); }, { name: 'detection' });

  return {
    engine,
    importRules: (paths, o) => importRuleSources(readRuleFiles(paths, o?.pack)),
    importRuleSources,
    listRules: async () => engine.rules().map(record),
    async setRuleEnabled(key, enabled) {
      const unresolved = engine.rule(key)?.unresolvedPlaceholders;
      if (enabled && unresolved) {
        throw new DetectionError('placeholders_unresolved', 409, `rule ${key} needs values for ${unresolved.join(', ')} (the --sigma-placeholders file) before it can be enabled`);
      }
      if (!engine.setEnabled(key, enabled)) throw new DetectionError('not_found', 404, `rule ${key} not found`);
      await db.updateTable('detection_rules').set({ enabled: enabled ? 1 : 0 }).where('key', '=', key).execute();
      return record(engine.rule(key)!);
    },
    process: processRows,
    scanFiles: (paths, o) => scanFiles(engine, paths, o),
    close: () => unsubscribe(),
  };
}

