// Custom detection rules: a KQL query run on a schedule (or continuously on new rows) whose result
// rows become alerts. Frequencies and lookbacks, required columns and the 100-alerts-per-run cap follow
// Defender (MicrosoftDocs/defender-docs: defender-xdr/custom-detection-rules.md).
import { sql, type Kysely } from 'kysely';
import { ulid } from 'ulid';
import type { Bus } from '../bus/index.js';
import { VigilError } from '../errors/index.js';
import type { EntityKind, Evidence, RaisedAlert, Severity } from '../schema/index.js';
import { SEVERITIES } from '../schema/index.js';
import type { Migration, Store } from '../store/index.js';
import type { HuntingService, HuntResult } from './hunting-service.js';
import { KqlError } from './kql-errors.js';
import type { Expr, Query } from './kql-nodes.js';
import { parseKql } from './kql-parser.js';

export type RuleFrequency = 'continuous' | '1h' | '3h' | '12h' | '24h';

const HOUR = 3_600_000;
/** Defender: every 1 h looks back 4 h, 3 h → 12 h, 12 h → 48 h, 24 h → 30 days. */
const SCHEDULE: Record<Exclude<RuleFrequency, 'continuous'>, { every: number; lookback: number }> = {
  '1h': { every: HOUR, lookback: 4 * HOUR },
  '3h': { every: 3 * HOUR, lookback: 12 * HOUR },
  '12h': { every: 12 * HOUR, lookback: 48 * HOUR },
  '24h': { every: 24 * HOUR, lookback: 30 * 24 * HOUR },
};
/** At most this many alerts per rule run. */
export const MAX_ALERTS_PER_RUN = 100;

/** Which result column holds each entity (impacted assets and related evidence). */
export type EntityMapping = Partial<Record<EntityKind, string>>;

export interface RuleInput {
  readonly name: string;
  readonly query: string;
  readonly frequency: RuleFrequency;
  readonly enabled?: boolean;
  readonly alert: {
    /** May use {{Column}} placeholders filled from the result row. */
    readonly title: string;
    readonly description?: string;
    readonly severity: Severity;
    readonly category: string;
    readonly mitreTechniques?: readonly string[];
    readonly recommendedActions?: string;
  };
  readonly entities: EntityMapping;
}

export interface Rule extends RuleInput {
  readonly id: string;
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastRunAt: string | null;
  readonly lastRunStatus: string | null;
  readonly nextRunAt: string | null;
}

export interface RunReport {
  readonly ruleId: string;
  readonly rows: number;
  readonly alerts: number;
  /** More than MAX_ALERTS_PER_RUN new rows: the rest wait for the next run. */
  readonly capped: boolean;
  readonly error?: string;
}

export interface CustomDetections {
  create(input: RuleInput, createdBy: string): Promise<Rule>;
  update(id: string, input: RuleInput): Promise<Rule>;
  get(id: string): Promise<Rule>;
  list(): Promise<readonly Rule[]>;
  remove(id: string): Promise<void>;
  /** Run one rule now (scheduled lookback, or new rows for continuous rules). */
  run(id: string): Promise<RunReport>;
  /** Run every enabled scheduled rule whose time has come. */
  runDue(): Promise<readonly RunReport[]>;
  /** Start the scheduler and the continuous-rule subscription. */
  start(): void;
  stop(): Promise<void>;
}

export interface CustomDetectionOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly hunting: HuntingService;
  readonly now?: () => number;
  /** How often the scheduler looks for due rules (default 60 s). */
  readonly tickMs?: number;
  /** Continuous rules run at most this often after new rows arrive (default 1 s). */
  readonly continuousDelayMs?: number;
}

const ENTITY_KINDS: readonly EntityKind[] = ['device', 'user', 'mailbox', 'process', 'file', 'ip', 'url', 'sender', 'mailMessage'];

const migrations: Migration[] = [{
  version: 1,
  name: 'custom detection rules and the rows they alerted on',
  async up(db) {
    await db.schema.createTable('hunting_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('frequency', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('last_run_at', 'text')
      .addColumn('last_run_status', 'text')
      .addColumn('next_run_at', 'bigint')
      .addColumn('cursor', 'text')
      .execute();
    await db.schema.createTable('hunting_rule_hits')
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('row_key', 'text', (c) => c.notNull())
      .addColumn('alerted_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('hunting_rule_hits_pk', ['rule_id', 'row_key'])
      .execute();
  },
}];

/** Walks the query for operators continuous (NRT) rules may not use. */
function usesJoinOrUnion(q: Query): boolean {
  const visit = (e: Expr): boolean => {
    switch (e.kind) {
      case 'union': return true;
      case 'pipe': return e.op.kind === 'join' || e.op.kind === 'union' || visit(e.input);
      case 'call': return e.args.some(visit);
      case 'binary': return visit(e.left) || visit(e.right);
      case 'inList': return visit(e.left) || e.list.some(visit);
      default: return false;
    }
  };
  return q.statements.some((s) => (s.kind === 'expr' || s.kind === 'let') && visit(s.kind === 'expr' ? s.expr : s.value));
}

/** Checks a rule at save: the query compiles and returns Timestamp, ReportId and every mapped entity column. */
export function validateRule(input: RuleInput, hunting: HuntingService): void {
  const bad = (message: string) => new VigilError('invalid_rule', 400, message);
  if (!input || typeof input !== 'object') throw bad('the rule must be an object');
  if (typeof input.name !== 'string' || !input.name.trim()) throw bad("'name' is required");
  if (typeof input.query !== 'string' || !input.query.trim()) throw bad("'query' is required");
  if (!['continuous', '1h', '3h', '12h', '24h'].includes(input.frequency)) throw bad("'frequency' must be continuous, 1h, 3h, 12h or 24h");
  const a = input.alert;
  if (!a || typeof a.title !== 'string' || !a.title.trim()) throw bad("'alert.title' is required");
  if (!SEVERITIES.includes(a.severity)) throw bad(`'alert.severity' must be one of ${SEVERITIES.join(', ')}`);
  if (typeof a.category !== 'string' || !a.category.trim()) throw bad("'alert.category' is required");
  if (a.mitreTechniques && (!Array.isArray(a.mitreTechniques) || a.mitreTechniques.some((t) => !/^T\d{4}(\.\d{3})?$/.test(t)))) {
    throw bad("'alert.mitreTechniques' must be technique ids such as T1059.001");
  }
  const mapping = input.entities ?? {};
  const kinds = Object.keys(mapping);
  if (!kinds.length) throw bad("'entities' must map at least one entity kind to a result column");
  for (const k of kinds) if (!ENTITY_KINDS.includes(k as EntityKind)) throw bad(`unknown entity kind '${k}'`);
  const compiled = hunting.compile(input.query);
  const columns = new Set(compiled.columns.map((c) => c.name));
  for (const required of ['Timestamp', 'ReportId']) {
    if (!columns.has(required)) throw bad(`the query must return a ${required} column (custom detections need Timestamp, ReportId and an entity column)`);
  }
  for (const [kind, column] of Object.entries(mapping)) {
    if (!columns.has(column as string)) throw bad(`entity '${kind}' is mapped to '${column}', which the query does not return`);
  }
  if (input.frequency === 'continuous') {
    if (usesJoinOrUnion(parseKql(input.query))) throw bad('continuous rules may not use join or union');
    if (/(^|[^:])\/\//.test(input.query.replace(/(["'])(?:\\.|(?!\1).)*\1/g, '""'))) throw bad('continuous rules may not contain comments');
  }
}

function fill(template: string, row: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    const v = row[name];
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

function evidence(kind: EntityKind, value: unknown, row: Record<string, unknown>): Evidence | null {
  if (value === null || value === undefined || value === '') return null;
  const label = String(value);
  const key = kind === 'user' || kind === 'mailbox' || kind === 'sender' ? label.toLowerCase() : label;
  const role = kind === 'device' || kind === 'user' || kind === 'mailbox' ? 'Impacted' : 'Related';
  const details: Record<string, unknown> = {};
  for (const c of ['DeviceId', 'DeviceName', 'FileName', 'FolderPath', 'SHA256', 'SHA1', 'ProcessCommandLine', 'AccountUpn', 'RemoteIP', 'RemoteUrl']) {
    if (row[c] !== undefined && row[c] !== null && row[c] !== '') details[c] = row[c];
  }
  return { kind, key, label, role, details };
}

export async function createCustomDetections(options: CustomDetectionOptions): Promise<CustomDetections> {
  const { store, bus, hunting } = options;
  const clock = options.now ?? Date.now;
  await store.migrate('hunting.rules', migrations);
  const db: Kysely<any> = store.db;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const pendingContinuous = new Set<string>();
  let continuousTimer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const toRule = (r: Record<string, any>): Rule => {
    const body = JSON.parse(r.body) as RuleInput;
    return {
      ...body, id: r.id, enabled: Number(r.enabled) === 1, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
      lastRunAt: r.last_run_at ?? null, lastRunStatus: r.last_run_status ?? null,
      nextRunAt: r.next_run_at === null || r.next_run_at === undefined ? null : new Date(Number(r.next_run_at)).toISOString(),
    };
  };
  const row = async (id: string) => {
    const r = await db.selectFrom('hunting_rules').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new VigilError('not_found', 404, `custom detection rule ${id} not found`);
    return r as Record<string, any>;
  };
  const clean = (input: RuleInput): RuleInput => ({
    name: input.name.trim(), query: input.query, frequency: input.frequency, enabled: input.enabled !== false,
    alert: { ...input.alert, mitreTechniques: [...(input.alert.mitreTechniques ?? [])] }, entities: { ...input.entities },
  });
  const validate = (input: RuleInput) => {
    try {
      validateRule(input, hunting);
    } catch (error) {
      if (error instanceof KqlError) throw new VigilError('invalid_rule', 400, `the query does not compile: ${error.message}`, { line: error.line, column: error.column });
      throw error;
    }
  };

  /** Highest _Seq of each table a rule reads: continuous rules start from "now", not from history. */
  async function seqCursor(query: string): Promise<Record<string, number>> {
    const tables = hunting.compile(query).tables;
    const cursor: Record<string, number> = {};
    for (const t of tables) {
      const r = await store.query(`SELECT COALESCE(MAX("_Seq"), 0) FROM "${t.replace(/"/g, '""')}"`, []);
      cursor[t] = Number(r.rows[0]?.[0] ?? 0);
    }
    return cursor;
  }

  async function alertsFrom(rule: Rule, result: HuntResult): Promise<{ alerts: number; capped: boolean }> {
    const names = result.columns.map((c) => c.name);
    const table = hunting.compile(rule.query).tables[0] ?? 'hunting';
    let alerts = 0;
    let capped = false;
    for (const values of result.rows) {
      const r: Record<string, unknown> = Object.fromEntries(names.map((n, i) => [n, values[i]]));
      const rowKey = `${String(r.ReportId)}|${String(r.Timestamp)}|${Object.values(rule.entities).map((c) => String(r[c as string] ?? '')).join('|')}`;
      const inserted = await db.insertInto('hunting_rule_hits').values({ rule_id: rule.id, row_key: rowKey, alerted_at: clock() })
        .onConflict((oc) => oc.doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) continue;
      if (alerts >= MAX_ALERTS_PER_RUN) {
        // Not alerted this run: forget the hit so the next run raises it.
        await db.deleteFrom('hunting_rule_hits').where('rule_id', '=', rule.id).where('row_key', '=', rowKey).execute();
        capped = true;
        continue;
      }
      const ev = Object.entries(rule.entities)
        .map(([kind, column]) => evidence(kind as EntityKind, r[column as string], r))
        .filter((x): x is Evidence => x !== null);
      const at = typeof r.Timestamp === 'string' ? r.Timestamp : new Date(clock()).toISOString();
      const alert: RaisedAlert = {
        alertId: ulid(),
        title: fill(rule.alert.title, r),
        description: fill(rule.alert.description ?? '', r),
        severity: rule.alert.severity,
        category: rule.alert.category,
        detectionSource: 'customDetection',
        serviceSource: 'Vigil advanced hunting',
        mitreTechniques: rule.alert.mitreTechniques ?? [],
        tactics: [],
        rule: { id: rule.id, title: rule.name, source: 'kql' },
        firstActivity: at,
        lastActivity: at,
        evidence: ev,
        events: [{ table, reportId: (r.ReportId as string | number) ?? '', sensorId: '', row: r }],
        dedupKey: `kql:${rule.id}:${ev.map((e) => `${e.kind}=${e.key}`).join(',')}`,
      };
      await bus.publish('alert.raised', { alert });
      alerts++;
    }
    return { alerts, capped };
  }

  async function runRule(id: string): Promise<RunReport> {
    const r = await row(id);
    const rule = toRule(r);
    const started = clock();
    let report: RunReport;
    try {
      let result: HuntResult;
      let cursor: Record<string, number> | null = null;
      if (rule.frequency === 'continuous') {
        const since = r.cursor ? (JSON.parse(r.cursor) as Record<string, number>) : await seqCursor(rule.query);
        cursor = await seqCursor(rule.query);
        result = await hunting.hunt(rule.query, { sinceSeq: new Map(Object.entries(since)), maxRows: 10_000 });
        // Rows committed after the cursor was read are picked up next time; rows between are covered now.
        cursor = Object.fromEntries(Object.entries(cursor).map(([t, seq]) => [t, Math.max(seq, since[t] ?? 0)]));
      } else {
        const s = SCHEDULE[rule.frequency];
        result = await hunting.hunt(rule.query, { windowDays: s.lookback / (24 * HOUR), maxRows: 10_000 });
      }
      const { alerts, capped } = await alertsFrom(rule, result);
      report = { ruleId: id, rows: result.rows.length, alerts, capped };
      await db.updateTable('hunting_rules').set({
        last_run_at: new Date(started).toISOString(),
        last_run_status: `ok: ${result.rows.length} rows, ${alerts} alerts${capped ? ' (capped at 100)' : ''}`,
        ...(cursor ? { cursor: JSON.stringify(cursor) } : {}),
        ...(rule.frequency !== 'continuous' ? { next_run_at: started + SCHEDULE[rule.frequency].every } : {}),
      }).where('id', '=', id).execute();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report = { ruleId: id, rows: 0, alerts: 0, capped: false, error: message };
      await db.updateTable('hunting_rules').set({
        last_run_at: new Date(started).toISOString(),
        last_run_status: `failed: ${message}`.slice(0, 500),
        ...(rule.frequency !== 'continuous' ? { next_run_at: started + SCHEDULE[rule.frequency].every } : {}),
      }).where('id', '=', id).execute();
    }
    return report;
  }

  // Runs are serialised: the store's query worker runs one query at a time anyway.
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = running.then(fn, fn);
    running = p.catch(() => undefined);
    return p;
  };

  const api: CustomDetections = {
    async create(input, createdBy) {
      validate(input);
      const id = ulid();
      const now = new Date(clock()).toISOString();
      const body = clean(input);
      await db.insertInto('hunting_rules').values({
        id, body: JSON.stringify(body), enabled: body.enabled ? 1 : 0, frequency: body.frequency, created_by: createdBy,
        created_at: now, updated_at: now, next_run_at: body.frequency === 'continuous' ? null : clock(),
        cursor: body.frequency === 'continuous' ? JSON.stringify(await seqCursor(body.query)) : null,
      }).execute();
      return toRule(await row(id));
    },
    async update(id, input) {
      const existing = await row(id);
      validate(input);
      const body = clean(input);
      await db.updateTable('hunting_rules').set({
        body: JSON.stringify(body), enabled: body.enabled ? 1 : 0, frequency: body.frequency, updated_at: new Date(clock()).toISOString(),
        next_run_at: body.frequency === 'continuous' ? null : existing.next_run_at ?? clock(),
        cursor: body.frequency === 'continuous' ? existing.cursor ?? JSON.stringify(await seqCursor(body.query)) : null,
      }).where('id', '=', id).execute();
      return toRule(await row(id));
    },
    async get(id) {
      return toRule(await row(id));
    },
    async list() {
      const rows = await db.selectFrom('hunting_rules').selectAll().orderBy('created_at').execute();
      return rows.map((r) => toRule(r as Record<string, any>));
    },
    async remove(id) {
      await row(id);
      await db.deleteFrom('hunting_rule_hits').where('rule_id', '=', id).execute();
      await db.deleteFrom('hunting_rules').where('id', '=', id).execute();
    },
    run: (id) => serial(() => runRule(id)),
    async runDue() {
      const due = await db.selectFrom('hunting_rules').select('id')
        .where('enabled', '=', 1).where('frequency', '!=', 'continuous').where(sql`next_run_at`, '<=', clock()).execute();
      const reports: RunReport[] = [];
      for (const d of due) reports.push(await serial(() => runRule(String(d.id))));
      return reports;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void api.runDue().catch(() => undefined), options.tickMs ?? 60_000);
      timer.unref();
      unsubscribe = bus.subscribe('telemetry.ingested', async (event) => {
        const rules = await db.selectFrom('hunting_rules').select(['id', 'body']).where('enabled', '=', 1).where('frequency', '=', 'continuous').execute();
        for (const r of rules) {
          const body = JSON.parse(String(r.body)) as RuleInput;
          if (new RegExp(`\\b${event.table}\\b`).test(body.query)) pendingContinuous.add(String(r.id));
        }
        if (pendingContinuous.size && !continuousTimer) {
          continuousTimer = setTimeout(() => {
            continuousTimer = undefined;
            const ids = [...pendingContinuous];
            pendingContinuous.clear();
            for (const id of ids) void api.run(id).catch(() => undefined);
          }, options.continuousDelayMs ?? 1000);
          continuousTimer.unref();
        }
      }, { name: 'hunting.custom-detections' });
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (continuousTimer) clearTimeout(continuousTimer);
      continuousTimer = undefined;
      unsubscribe?.();
      unsubscribe = undefined;
      await running;
    },
  };
  return api;
}
