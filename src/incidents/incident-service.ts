// Alerts → incidents: correlation, deduplication, merges, suppression, SOC workflow, device and user risk.
//
// The hot path (alerts arriving on the bus) decides in memory, from indexes of what is open and recent,
// and writes behind in batches: one transaction per batch of alerts, multi-row statements. Reads and
// analyst changes first flush what is pending, so they always see every alert accepted so far, and
// they run one at a time with correlation paused.
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import type { Kysely } from 'kysely';
import type { Bus } from '../bus/index.js';
import { VigilError } from '../errors/index.js';
import { SEVERITIES, type DomainEvents, type DomainEventType, type RaisedAlert, type RiskLevel, type Severity } from '../schema/index.js';
import type { Store } from '../store/index.js';
import {
  correlates, RISK_ORDER, SEVERITY_RANK, entityId, maxSeverity, parseClassification, parseDetermination,
  type Alert, type AlertStatus, type Classification, type Comment, type Determination, type Incident, type IncidentDetail,
  type IncidentStatus, type RiskEntry, type SuppressionRule, type SuppressionRuleInput,
} from './incident-model.js';
import { incidentName, tacticKey } from './incident-naming.js';
import { incidentMigrations } from './incident-tables.js';
import { incidentDetail, listAlerts, listIncidents, resolveIncidentRow, type ListQuery, type Page } from './incident-queries.js';
import { alertFromRow, commentFromRow, parseJson, suppressionFromRow, type AlertData } from './incident-rows.js';
import { RiskTracker } from './risk-tracker.js';
import { compileWrites, insertRows, writeGroups, type Dialect, type InsertSpec, type SpecRows, type UpdateSpec } from './sql-batch.js';
import { compileSuppression, parseSuppressionInput, suppressionMatches, type CompiledSuppression } from './suppression.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_COMMENT = 30_000;
const MAX_MERGE_SOURCES = 5;
const FLUSH_DELAY_MS = 20;

/** The audit log as response exports it (`createAuditLog`), injected by the composition root. */
export interface AuditSink {
  record(entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }): unknown;
}

export interface IncidentServiceOptions {
  readonly store: Store;
  readonly bus: Bus;
  /** Alerts correlate with incidents, and identical alerts fold together, within this time of each other (default 24 h). */
  readonly windowMs?: number;
  /** Clock for record-keeping times (epoch ms); correlation compares the alerts' own activity times. */
  readonly now?: () => number;
  readonly audit?: AuditSink;
  /** An incident stops growing past this many distinct entities (Defender's "maximum entity count"; default 500). */
  readonly maxIncidentEntities?: number;
  /**
   * Pending changes that start a write at once when none is running (default 5,000); while one runs,
   * four times as many make the next alert wait for it.
   */
  readonly batchSize?: number;
  /** Called with failures of background writes and bad alerts (which are skipped). */
  readonly onError?: (error: unknown, context: Record<string, unknown>) => void;
  /** Subscribe to 'alert.raised' on the bus (default true). */
  readonly subscribe?: boolean;
}

export interface IncidentPatch {
  readonly status?: unknown;
  readonly assignedTo?: unknown;
  readonly classification?: unknown;
  readonly determination?: unknown;
  readonly customTags?: unknown;
  readonly displayName?: unknown;
  readonly description?: unknown;
  /** A note that travels with the change as a comment (Defender asks for one when resolving). */
  readonly comment?: unknown;
}

export interface AlertPatch {
  readonly status?: unknown;
  readonly assignedTo?: unknown;
  readonly classification?: unknown;
  readonly determination?: unknown;
}

export type IncidentEvent = { [K in DomainEventType]: { type: K; payload: DomainEvents[K] } }[DomainEventType];

export interface ResolveResult {
  readonly resolved: readonly string[];
  readonly alreadyResolved: readonly string[];
  readonly notFound: readonly string[];
}

export interface IncidentService {
  /** Correlates alerts (the 'alert.raised' subscriber calls this); resolves once they are decided in memory. */
  ingest(alerts: readonly RaisedAlert[]): Promise<void>;
  /** Writes everything pending. */
  flush(): Promise<void>;
  getIncident(id: string): Promise<IncidentDetail | undefined>;
  listIncidents(query?: ListQuery): Promise<Page<Incident>>;
  getAlert(id: string): Promise<Alert | undefined>;
  listAlerts(query?: ListQuery): Promise<Page<Alert>>;
  updateIncident(id: string, patch: IncidentPatch, actor: string): Promise<IncidentDetail>;
  addComment(id: string, text: unknown, author: string): Promise<Comment>;
  /** Manual merge (at most 5 sources) under the same no-merge conditions as automatic ones. */
  mergeIncidents(targetId: string, sourceIds: readonly string[], actor: string): Promise<IncidentDetail>;
  updateAlert(id: string, patch: AlertPatch, actor: string): Promise<Alert>;
  /** Moves an alert to another open incident. */
  linkAlert(alertId: string, incidentId: string, actor: string): Promise<Alert>;
  /** Moves an alert out into a new incident of its own. */
  unlinkAlert(alertId: string, actor: string): Promise<{ alert: Alert; incident: IncidentDetail }>;
  /** Resolves alerts (response calls this after remediation); lowers risk and resolves emptied incidents. */
  resolveAlerts(alertIds: readonly string[], options: { by: string; reason: string }): Promise<ResolveResult>;
  listSuppressionRules(): Promise<SuppressionRule[]>;
  getSuppressionRule(id: string): Promise<SuppressionRule | undefined>;
  /** Creates a rule; with `applyToExisting` (default true) active matching alerts are suppressed too. */
  createSuppressionRule(input: unknown, actor: string, options?: { applyToExisting?: boolean }): Promise<{ rule: SuppressionRule; suppressedAlerts: number }>;
  updateSuppressionRule(id: string, input: unknown, actor: string): Promise<SuppressionRule>;
  deleteSuppressionRule(id: string, actor: string): Promise<void>;
  getDeviceRisk(deviceId: string): RiskLevel;
  getUserRisk(userKey: string): RiskLevel;
  /** Devices at or above `minLevel` (default informational), highest first. */
  listRiskyDevices(options?: { minLevel?: RiskLevel }): RiskEntry[];
  listRiskyUsers(options?: { minLevel?: RiskLevel }): RiskEntry[];
  /** Every event this service publishes, as it publishes it (the SSE stream listens here). */
  watch(listener: (event: IncidentEvent) => void): () => void;
  stats(): { alerts: number; deduplicated: number; suppressed: number; incidents: number; merges: number; openIncidents: number; activeAlerts: number };
  /** Unsubscribes and writes what is pending. */
  stop(): Promise<void>;
}

/** An open incident as correlation keeps it in memory. */
interface OpenIncident {
  id: string;
  status: IncidentStatus;
  redirectIncidentId: string | null;
  assignedTo: string | null;
  classification: Classification;
  determination: Determination;
  title: string;
  titleCustom: boolean;
  /** Something the generated name depends on grew since `title` was made; it is made again when next read (titleOf). */
  titleStale: boolean;
  severity: Severity;
  customTags: Set<string>;
  systemTags: Set<string>;
  description: string | null;
  alertIds: Set<string>;
  entities: Set<string>;
  tactics: Set<string>;
  devices: Set<string>;
  users: Set<string>;
  mailboxes: Set<string>;
  titles: string[];
  sources: Set<string>;
  alertCount: number;
  createdMs: number;
  updatedMs: number;
  resolvedMs: number | null;
  firstMs: number;
  lastMs: number;
  /** Its entities are in the correlation index (it is open and within the window of recent alerts). */
  indexed: boolean;
  /** The alert correlation last looked at it for (`considering`), so each incident is a candidate once. */
  considered: number;
}

/** An alert that is not resolved: for dedup, risk, and moving between incidents. */
interface HotAlert {
  id: string;
  incidentId: string | null;
  severity: Severity;
  suppressed: boolean;
  count: number;
  firstMs: number;
  lastMs: number;
  updatedMs: number;
  dedupKey: string;
  devices: string[];
  users: string[];
  /** The `gen` of the pending batch that writes it (new or counted again); 0 when none has. */
  pendingGen: number;
}

interface NewAlert {
  readonly hot: HotAlert;
  readonly raised: RaisedAlert;
  readonly suppressionRuleId: string | null;
  readonly assignedTo: string | null;
  /** Its correlating entities, each once: entity id, kind, key, entity id, kind, key, … */
  readonly ents: readonly string[];
  readonly createdMs: number;
}

interface Pending {
  /** Tells this batch from the others (HotAlert.pendingGen). */
  gen: number;
  incidents: Map<string, OpenIncident>;
  newAlerts: NewAlert[];
  dirtyAlerts: HotAlert[];
  index: [string, string][];
  /** Merged incidents: their stored alerts move to the target (the final one, when merges chain within a batch). */
  moves: Map<string, OpenIncident>;
  activity: unknown[][];
  risk: Map<string, unknown[]>;
  /** Coalesced updates (dedup counts, alerts joining an incident), published after the write. */
  /** Alerts counted again, and incidents alerts joined (with the last alert that joined); their events are made when the batch is written. */
  countEvents: Map<HotAlert | OpenIncident, string | null>;
  size: number;
}

/** A new, empty batch; `gen` numbers the batches of one service (HotAlert.pendingGen 0 means none). */
const emptyPending = (gen: number): Pending => ({
  gen, incidents: new Map(), newAlerts: [], dirtyAlerts: [], index: [], moves: new Map(), activity: [],
  risk: new Map(), countEvents: new Map(), size: 0,
});

const INCIDENT_COLUMNS = [
  'id', 'title', 'title_custom', 'status', 'severity', 'severity_rank', 'classification', 'determination', 'assigned_to',
  'custom_tags', 'system_tags', 'description', 'redirect_incident_id', 'alert_count', 'created_at', 'updated_at',
  'resolved_at', 'first_activity', 'last_activity',
];
const ALERT_COLUMNS = [
  'id', 'incident_id', 'title', 'severity', 'severity_rank', 'assigned_to',
  'detection_source', 'service_source', 'category', 'rule_id', 'dedup_key', 'count', 'first_activity', 'last_activity',
  'created_at', 'updated_at', 'suppressed', 'suppression_rule_id', 'data',
];
/** What every new alert starts as, in the statement itself rather than in each row's parameters. */
const NEW_ALERT_FIXED = [['status', "'new'"], ['classification', "'unknown'"], ['determination', "'unknown'"], ['resolved_at', 'NULL']] as const;
const ENTITY_COLUMNS = ['entity', 'alert_id'];
const ACTIVITY_COLUMNS = ['id', 'incident_id', 'alert_id', 'actor', 'action', 'details', 'at'];
const RISK_COLUMNS = ['kind', 'key', 'level', 'active_alerts', 'reason', 'updated_at'];

// The hot path's writes, in the order a batch runs them.
const W_INCIDENTS: InsertSpec = { kind: 'insert', table: 'incidents', columns: INCIDENT_COLUMNS, conflict: ['id'], update: INCIDENT_COLUMNS.slice(1) };
const W_ALERTS: InsertSpec = { kind: 'insert', table: 'incident_alerts', columns: ALERT_COLUMNS, fixed: NEW_ALERT_FIXED, conflict: ['id'] };
const W_ALERT_ENTITIES: InsertSpec = { kind: 'insert', table: 'incident_alert_entities', columns: ENTITY_COLUMNS, conflict: ENTITY_COLUMNS };
const W_ALERT_COUNTS: UpdateSpec = { kind: 'update', table: 'incident_alerts', columns: ['count', 'first_activity', 'last_activity', 'updated_at', 'incident_id'], key: 'id' };
const W_ENTITY_INDEX: InsertSpec = { kind: 'insert', table: 'incident_entity_index', columns: ['entity', 'incident_id'], conflict: ['entity', 'incident_id'] };
/** Merges: the stored alerts of a source incident move to its target. */
const W_ALERT_MOVES: UpdateSpec = { kind: 'update', table: 'incident_alerts', columns: ['incident_id'], key: 'incident_id' };
const W_ACTIVITY: InsertSpec = { kind: 'insert', table: 'incident_activity', columns: ACTIVITY_COLUMNS };
const W_RISK: InsertSpec = { kind: 'insert', table: 'incident_risk', columns: RISK_COLUMNS, conflict: ['kind', 'key'], update: RISK_COLUMNS.slice(2) };

/**
 * Entity kinds the tables index (incidents and alerts are filtered by device and user); the other kinds
 * correlate in memory only, and their evidence stays in the alert's `data`.
 */
const listed = (kind: string) => kind === 'device' || kind === 'user';

const OPEN_STATUSES: readonly IncidentStatus[] = ['active', 'inProgress'];
const isOpen = (status: string) => status === 'active' || status === 'inProgress';

/** ULIDs from a pooled CSPRNG: the default draws from the OS once per character, which shows at bench rates. */
function createUlid(): (time: number) => string {
  const pool = new Uint8Array(4096);
  let at = pool.length;
  const factory = monotonicFactory(() => {
    if (at >= pool.length) { randomFillSync(pool); at = 0; }
    return pool[at++] / 256;
  });
  return (time) => factory(time);
}

export async function createIncidentService(options: IncidentServiceOptions): Promise<IncidentService> {
  const ulid = createUlid();
  const { store, bus } = options;
  const db = store.db;
  const dialect: Dialect = store.dialect;
  const windowMs = options.windowMs ?? DAY_MS;
  const now = options.now ?? Date.now;
  const maxEntities = options.maxIncidentEntities ?? 500;
  const batchSize = options.batchSize ?? 5000;
  const maxPending = batchSize * 4;
  const onError = options.onError ?? (() => {});

  await store.migrate('incidents', incidentMigrations(store.dialect));
  const writer = store.openBatchWriter?.();
  let writerEnded = false;

  const open = new Map<string, OpenIncident>();
  /** entity → the open incident (or, rarely, incidents) holding it; most entities sit in one incident, so no set for them. */
  const index = new Map<string, string | Set<string>>();
  const hot = new Map<string, HotAlert>();
  /** dedup key → the unresolved alert it folds into (always one that `hot` holds). */
  const dedup = new Map<string, HotAlert>();
  const deviceRisk = new RiskTracker();
  const userRisk = new RiskTracker();
  const riskInfo = new Map<string, { reason: string; updatedMs: number }>();
  const tacticKeys = new Map<string, string>();
  let suppressions: CompiledSuppression[] = [];
  const watchers = new Set<(event: IncidentEvent) => void>();
  const counters = { alerts: 0, deduplicated: 0, suppressed: 0, incidents: 0, merges: 0 };
  let watermark = 0;
  /** Candidates of the alert being correlated (reused), and that alert's number. */
  const found: OpenIncident[] = [];
  let considering = 0;
  let sinceYield = 0;
  let sinceSweep = 0;
  let pending = emptyPending(1);
  /** The batch being written last (batches are written one after another, in the order they were cut). */
  let writing: Promise<void> | undefined;
  let flushScheduled = false;
  let exclusiveChain: Promise<unknown> = Promise.resolve();
  let exclusiveCount = 0;
  let stopped = false;

  // ---------- start-up: rebuild the in-memory indexes from the tables ----------

  for (const row of await db.selectFrom('incident_suppression_rules').selectAll().execute()) {
    suppressions.push(compileSuppression(suppressionFromRow(row)));
  }
  await loadHotAlerts();
  await loadOpenIncidents(await db.selectFrom('incidents').selectAll().where('status', 'in', OPEN_STATUSES).execute());
  for (const inc of open.values()) watermark = Math.max(watermark, inc.lastMs);
  await syncStoredRisk();

  async function loadHotAlerts() {
    const rows = await db.selectFrom('incident_alerts')
      .select(['id', 'incident_id', 'severity', 'suppressed', 'count', 'first_activity', 'last_activity', 'updated_at', 'dedup_key', 'data'])
      .where('status', '!=', 'resolved').execute();
    for (const r of rows) {
      const a = hotFromRow(r);
      hot.set(a.id, a);
      const prev = dedup.get(a.dedupKey);
      if (!prev || prev.lastMs <= a.lastMs) dedup.set(a.dedupKey, a);
    }
    for (const a of hot.values()) {
      if (a.suppressed) continue;
      for (const d of a.devices) deviceRisk.adjust(d, a.severity, 1);
      for (const u of a.users) userRisk.adjust(u, a.severity, 1);
    }
  }

  /** An unresolved alert's memory entry from its row; impacted devices and users come from its evidence. */
  function hotFromRow(r: Record<string, any>): HotAlert {
    const evidence = parseJson<Partial<AlertData>>(r.data, {}).evidence ?? [];
    const devices: string[] = [];
    const users: string[] = [];
    for (const e of evidence) {
      if (!e || e.role !== 'Impacted' || typeof e.key !== 'string' || e.key === '') continue;
      if (e.kind === 'device' && !devices.includes(e.key)) devices.push(e.key);
      if (e.kind === 'user' && !users.includes(e.key)) users.push(e.key);
    }
    return {
      id: r.id, incidentId: r.incident_id ?? null, severity: r.severity, suppressed: Number(r.suppressed) === 1,
      count: Number(r.count), firstMs: Number(r.first_activity), lastMs: Number(r.last_activity), updatedMs: Number(r.updated_at),
      dedupKey: r.dedup_key, devices, users, pendingGen: 0,
    };
  }

  /** Builds the in-memory summaries of open incidents from their rows, alerts and entities. */
  async function buildSummaries(rows: readonly Record<string, any>[], handle: Kysely<any>) {
    const built = new Map<string, OpenIncident>();
    for (const r of rows) {
      built.set(r.id, {
        id: r.id, status: r.status, redirectIncidentId: r.redirect_incident_id ?? null, assignedTo: r.assigned_to ?? null,
        classification: r.classification, determination: r.determination, title: r.title, titleCustom: Number(r.title_custom) === 1, titleStale: false,
        severity: r.severity, customTags: new Set(parseJson<string[]>(r.custom_tags, [])), systemTags: new Set(parseJson<string[]>(r.system_tags, [])),
        description: r.description ?? null, alertIds: new Set(), entities: new Set(), tactics: new Set(), devices: new Set(),
        users: new Set(), mailboxes: new Set(), titles: [], sources: new Set(), alertCount: Number(r.alert_count),
        createdMs: Number(r.created_at), updatedMs: Number(r.updated_at), resolvedMs: r.resolved_at === null ? null : Number(r.resolved_at),
        firstMs: Number(r.first_activity), lastMs: Number(r.last_activity), indexed: false, considered: 0,
      });
    }
    const ids = [...built.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const alerts = await handle.selectFrom('incident_alerts')
        .select(['id', 'incident_id', 'title', 'detection_source', 'category', 'data', 'suppressed'])
        .where('incident_id', 'in', chunk).execute();
      for (const a of alerts) {
        const inc = built.get(a.incident_id)!;
        inc.alertIds.add(a.id);
        if (Number(a.suppressed) === 1) continue;
        const data = parseJson<Partial<AlertData>>(a.data, {});
        addTraits(inc, a.title, a.detection_source, a.category, data.tactics ?? []);
        for (const e of data.evidence ?? []) {
          if (e && typeof e.key === 'string' && correlates(e.kind, e.key)) addEntity(inc, entityId(e.kind, e.key), e.kind, e.key);
        }
      }
    }
    return built;
  }

  async function loadOpenIncidents(rows: readonly Record<string, any>[], handle: Kysely<any> = db) {
    const built = await buildSummaries(rows, handle);
    for (const inc of built.values()) {
      unindex(open.get(inc.id));
      open.set(inc.id, inc);
      if (isOpen(inc.status) && inc.lastMs >= watermark - windowMs) indexIncident(inc);
    }
  }

  async function syncStoredRisk() {
    const stored = await db.selectFrom('incident_risk').selectAll().execute();
    const seen = new Set<string>();
    for (const r of stored) {
      const tracker = r.kind === 'device' ? deviceRisk : userRisk;
      const key = `${r.kind}:${r.key}`;
      seen.add(key);
      riskInfo.set(key, { reason: r.reason, updatedMs: Number(r.updated_at) });
      if (tracker.level(r.key) !== r.level) {
        queueRisk(r.kind, r.key, 'recomputed at start');
      }
    }
    for (const [kind, tracker] of [['device', deviceRisk], ['user', userRisk]] as const) {
      for (const key of tracker.keys()) if (!seen.has(`${kind}:${key}`)) queueRisk(kind, key, 'recomputed at start');
    }
    if (pending.size > 0) await flushNow();
  }

  // ---------- memory helpers ----------

  /** tacticKey, remembered for the few dozen spellings alerts repeat (bounded). */
  function tacticOf(raw: string): string {
    let key = tacticKeys.get(raw);
    if (key === undefined) {
      if (tacticKeys.size >= 1024) tacticKeys.clear();
      tacticKeys.set(raw, key = tacticKey(raw));
    }
    return key;
  }

  function addTraits(inc: OpenIncident, title: string, source: string, category: string, tactics: readonly string[]) {
    for (const t of tactics) inc.tactics.add(tacticOf(t));
    if (category) inc.tactics.add(tacticOf(category));
    if (inc.titles.length < 2 && !inc.titles.includes(title)) inc.titles.push(title);
    inc.sources.add(source);
  }

  function addEntity(inc: OpenIncident, entity: string, kind: string, key: string): boolean {
    if (inc.entities.has(entity)) return false;
    inc.entities.add(entity);
    if (kind === 'device') inc.devices.add(key);
    else if (kind === 'user') inc.users.add(key);
    else if (kind === 'mailbox') inc.mailboxes.add(key);
    if (inc.indexed) indexAdd(entity, inc.id);
    return true;
  }

  function indexAdd(entity: string, id: string) {
    const held = index.get(entity);
    if (held === undefined) index.set(entity, id);
    else if (typeof held !== 'string') held.add(id);
    else if (held !== id) index.set(entity, new Set([held, id]));
  }

  function indexIncident(inc: OpenIncident) {
    inc.indexed = true;
    for (const e of inc.entities) indexAdd(e, inc.id);
  }

  function unindex(inc: OpenIncident | undefined) {
    if (!inc || !inc.indexed) return;
    inc.indexed = false;
    for (const e of inc.entities) {
      const held = index.get(e);
      if (held === undefined) continue;
      if (typeof held === 'string') {
        if (held === inc.id) index.delete(e);
        continue;
      }
      held.delete(inc.id);
      if (held.size === 1) index.set(e, held.values().next().value!);
      else if (held.size === 0) index.delete(e);
    }
  }

  /** Adds an open incident holding one of a new alert's entities to `found`, when it is within the window of the alert. */
  function consider(id: string, firstMs: number, lastMs: number) {
    const inc = open.get(id);
    if (!inc || inc.considered === considering) return;
    inc.considered = considering;
    if (firstMs - inc.lastMs > windowMs || inc.firstMs - lastMs > windowMs) return;
    found.push(inc);
  }

  /** How many of an alert's entities (flat triples) an incident does not hold yet. */
  function freshCount(inc: OpenIncident, ents: readonly string[]): number {
    let n = 0;
    for (let i = 0; i < ents.length; i += 3) if (!inc.entities.has(ents[i])) n++;
    return n;
  }

  /** Grows whenever something the generated name depends on grows (these sets only grow on the hot path). */
  const traitSize = (inc: OpenIncident) =>
    inc.tactics.size + inc.devices.size * 1e3 + inc.users.size * 1e6 + inc.mailboxes.size * 1e9 + inc.titles.length * 1e12 + inc.sources.size * 1e13;

  function titleOf(inc: OpenIncident): string {
    if (inc.titleStale) regenerateTitle(inc);
    return inc.title;
  }

  function regenerateTitle(inc: OpenIncident) {
    inc.titleStale = false;
    if (inc.titleCustom) return;
    inc.title = incidentName({
      tactics: inc.tactics, devices: inc.devices.size, users: inc.users.size, mailboxes: inc.mailboxes.size,
      titles: inc.titles, sources: inc.sources.size,
    });
  }

  const tagsJson = (tags: ReadonlySet<string>) => (tags.size === 0 ? '[]' : JSON.stringify([...tags]));

  function incidentRow(inc: OpenIncident): unknown[] {
    return [
      inc.id, titleOf(inc), inc.titleCustom ? 1 : 0, inc.status, inc.severity, SEVERITY_RANK[inc.severity], inc.classification,
      inc.determination, inc.assignedTo, tagsJson(inc.customTags), tagsJson(inc.systemTags), inc.description,
      inc.redirectIncidentId, inc.alertCount, inc.createdMs, inc.updatedMs, inc.resolvedMs, inc.firstMs, inc.lastMs,
    ];
  }

  function markIncident(inc: OpenIncident) {
    if (!pending.incidents.has(inc.id)) { pending.incidents.set(inc.id, inc); pending.size++; }
  }

  function activityRow(incidentId: string, alertId: string | null, actor: string, action: string, details: Record<string, unknown>, at: number): unknown[] {
    return [ulid(at), incidentId, alertId, actor, action, JSON.stringify(details), at];
  }

  function queueRisk(kind: 'device' | 'user', key: string, reason: string) {
    const tracker = kind === 'device' ? deviceRisk : userRisk;
    const at = now();
    const id = `${kind}:${key}`;
    riskInfo.set(id, { reason, updatedMs: at });
    if (!pending.risk.has(id)) pending.size++;
    pending.risk.set(id, [kind, key, tracker.level(key), tracker.active(key), reason, at]);
  }

  /**
   * Adds or removes one active alert from the risk of its impacted devices and users; emits each change.
   * Only level changes are written (with the active-alert count at that moment); counts are rebuilt at start.
   */
  function adjustRisk(a: HotAlert, delta: 1 | -1, why: string | (() => string), events: IncidentEvent[]) {
    // Most alerts change no level: the reason is only put into words for a change.
    let reason = typeof why === 'string' ? why : undefined;
    for (const d of a.devices) {
      const change = deviceRisk.adjust(d, a.severity, delta);
      if (!change) continue;
      reason ??= (why as () => string)();
      queueRisk('device', d, reason);
      events.push({ type: 'device.risk-changed', payload: { deviceId: d, old: change.old, new: change.new, reason } });
    }
    for (const u of a.users) {
      const change = userRisk.adjust(u, a.severity, delta);
      if (!change) continue;
      reason ??= (why as () => string)();
      queueRisk('user', u, reason);
      events.push({ type: 'user.risk-changed', payload: { userId: u, old: change.old, new: change.new, reason } });
    }
  }

  function mergeable(a: OpenIncident, b: OpenIncident): string | undefined {
    if (!isOpen(a.status) || !isOpen(b.status)) return 'a resolved or redirected incident is never merged';
    if (a.assignedTo !== b.assignedTo) return 'the incidents have different assignees';
    if (a.classification !== b.classification) return 'the incidents have different classifications';
    if (a.determination !== b.determination) return 'the incidents have different determinations';
    return undefined;
  }

  // ---------- the hot path ----------

  function parseTime(value: unknown, fallback: number): number {
    const ms = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isNaN(ms) ? fallback : ms;
  }

  function checkAlert(a: RaisedAlert): string | undefined {
    if (!a || typeof a !== 'object') return 'alert is not an object';
    if (typeof a.alertId !== 'string' || a.alertId === '') return "'alertId' is missing";
    if (typeof a.title !== 'string') return "'title' is missing";
    if (!SEVERITIES.includes(a.severity)) return `'severity' must be one of ${SEVERITIES.join(', ')}`;
    if (!Array.isArray(a.evidence)) return "'evidence' must be an array";
    return undefined;
  }

  function processAlert(raised: RaisedAlert, events: IncidentEvent[]) {
    const problem = checkAlert(raised);
    if (problem) {
      onError(new VigilError('invalid_alert', 400, problem), { alertId: (raised as { alertId?: unknown })?.alertId });
      return;
    }
    const at = now();
    const lastMs = parseTime(raised.lastActivity, at);
    const firstMs = Math.min(parseTime(raised.firstActivity, lastMs), lastMs);
    if (lastMs > watermark) watermark = lastMs;
    if (hot.has(raised.alertId)) return; // delivered twice

    const dedupKey = typeof raised.dedupKey === 'string' && raised.dedupKey !== ''
      ? raised.dedupKey
      : `${raised.rule?.id ?? raised.title}|${raised.evidence.map((e) => entityId(e.kind, e.key)).sort().join('|')}`;

    // Identical alert within the window: count it on the existing one.
    const prev = dedup.get(dedupKey);
    if (prev && firstMs - prev.lastMs <= windowMs && prev.firstMs - lastMs <= windowMs) {
      prev.count++;
      if (lastMs > prev.lastMs) prev.lastMs = lastMs;
      if (firstMs < prev.firstMs) prev.firstMs = firstMs;
      prev.updatedMs = at;
      if (prev.pendingGen !== pending.gen) { prev.pendingGen = pending.gen; pending.dirtyAlerts.push(prev); pending.size++; }
      pending.countEvents.set(prev, null);
      counters.deduplicated++;
      const inc = prev.incidentId ? open.get(prev.incidentId) : undefined;
      if (inc && lastMs > inc.lastMs) { inc.lastMs = lastMs; inc.updatedMs = at; markIncident(inc); }
      return;
    }

    // Flat triples (entity id, kind, key), one per entity, in evidence order.
    const ents: string[] = [];
    const devices: string[] = [];
    const users: string[] = [];
    for (const e of raised.evidence) {
      if (!e || typeof e.key !== 'string' || !correlates(e.kind, e.key)) continue;
      const ent = entityId(e.kind, e.key);
      let seen = false;
      for (let i = 0; i < ents.length; i += 3) if (ents[i] === ent) { seen = true; break; }
      if (!seen) ents.push(ent, e.kind, e.key);
      if (e.role === 'Impacted') {
        if (e.kind === 'device') { if (!devices.includes(e.key)) devices.push(e.key); }
        else if (e.kind === 'user' && !users.includes(e.key)) users.push(e.key);
      }
    }
    const entityCount = ents.length / 3;
    const alert: HotAlert = {
      id: raised.alertId, incidentId: null, severity: raised.severity, suppressed: false, count: 1, firstMs, lastMs,
      updatedMs: at, dedupKey, devices, users, pendingGen: pending.gen,
    };
    hot.set(alert.id, alert);
    dedup.set(dedupKey, alert);
    counters.alerts++;

    const rule = suppressions.length === 0 ? undefined : suppressions.find((s) => suppressionMatches(s, raised, at));
    if (rule) {
      alert.suppressed = true;
      counters.suppressed++;
      pending.newAlerts.push({ hot: alert, raised, suppressionRuleId: rule.rule.id, assignedTo: null, ents, createdMs: at });
      pending.size++;
      events.push({ type: 'alert.updated', payload: { alertId: alert.id, incidentId: '', changes: { created: true, suppressed: true, suppressionRuleId: rule.rule.id } } });
      return;
    }

    // Correlation: open incidents within the window that share an entity, oldest first.
    const candidates = found;
    candidates.length = 0;
    considering++;
    for (let i = 0; i < ents.length; i += 3) {
      const held = index.get(ents[i]);
      if (held === undefined) continue;
      if (typeof held === 'string') consider(held, firstMs, lastMs);
      else for (const id of held) consider(id, firstMs, lastMs);
    }
    // Oldest first (creation time, then id); a handful at most, so sorted in place by insertion.
    for (let i = 1; i < candidates.length; i++) {
      const c = candidates[i];
      let j = i - 1;
      for (; j >= 0 && (candidates[j].createdMs > c.createdMs || (candidates[j].createdMs === c.createdMs && candidates[j].id > c.id)); j--) {
        candidates[j + 1] = candidates[j];
      }
      candidates[j + 1] = c;
    }
    let target: OpenIncident | undefined;
    for (const c of candidates) {
      // Room for every key, or (near the limit) for the keys it does not hold yet.
      if (c.entities.size + entityCount <= maxEntities || c.entities.size + freshCount(c, ents) <= maxEntities) { target = c; break; }
    }
    let created = false;
    if (target) {
      for (const other of candidates) {
        if (other === target || !isOpen(other.status)) continue;
        if (mergeable(target, other) !== undefined) continue;
        if (target.entities.size + other.entities.size > maxEntities) continue;
        mergeInMemory(target, other, 'system', at, events);
      }
    } else {
      target = newIncident(at, firstMs, lastMs, null);
      created = true;
    }
    alert.incidentId = target.id;
    pending.newAlerts.push({ hot: alert, raised, suppressionRuleId: null, assignedTo: target.assignedTo, ents, createdMs: at });
    pending.size++;
    candidates.length = 0;
    attach(target, alert, raised, ents);
    target.updatedMs = at;
    markIncident(target);
    if (created) {
      pending.activity.push(activityRow(target.id, alert.id, 'system', 'created', { alertId: alert.id }, at));
      events.push({ type: 'incident.created', payload: { incidentId: target.id } });
    } else {
      // One update per incident per write: a burst of alerts joining it is one event, sent once it is stored.
      pending.countEvents.set(target, alert.id);
    }
    events.push({ type: 'alert.updated', payload: { alertId: alert.id, incidentId: target.id, changes: { created: true, severity: alert.severity } } });
    adjustRisk(alert, 1, () => `alert ${alert.id} (${alert.severity}): ${raised.title}`, events);

    if (++sinceSweep >= 10_000) sweep();
  }

  function newIncident(at: number, firstMs: number, lastMs: number, assignedTo: string | null): OpenIncident {
    const inc: OpenIncident = {
      id: ulid(at), status: 'active', redirectIncidentId: null, assignedTo, classification: 'unknown', determination: 'unknown',
      title: '', titleCustom: false, titleStale: true, severity: 'informational', customTags: new Set(), systemTags: new Set(), description: null,
      alertIds: new Set(), entities: new Set(), tactics: new Set(), devices: new Set(), users: new Set(), mailboxes: new Set(),
      titles: [], sources: new Set(), alertCount: 0, createdMs: at, updatedMs: at, resolvedMs: null, firstMs, lastMs, indexed: true,
      considered: 0,
    };
    open.set(inc.id, inc);
    counters.incidents++;
    return inc;
  }

  function attach(inc: OpenIncident, alert: HotAlert, raised: RaisedAlert, ents: readonly string[]) {
    inc.alertIds.add(alert.id);
    inc.alertCount++;
    if (inc.alertCount === 1) inc.severity = alert.severity;
    else inc.severity = maxSeverity(inc.severity, alert.severity);
    if (alert.firstMs < inc.firstMs) inc.firstMs = alert.firstMs;
    if (alert.lastMs > inc.lastMs) inc.lastMs = alert.lastMs;
    const before = traitSize(inc);
    addTraits(inc, raised.title, raised.detectionSource, raised.category, Array.isArray(raised.tactics) ? raised.tactics : []);
    for (let i = 0; i < ents.length; i += 3) {
      // Process keys are per event and always come with their device, so the table leaves them out.
      if (addEntity(inc, ents[i], ents[i + 1], ents[i + 2]) && listed(ents[i + 1])) pending.index.push([ents[i], inc.id]);
    }
    if (traitSize(inc) !== before) inc.titleStale = true;
  }

  /** Folds `source` into `target` (Defender's merge: alerts and tags move, the source redirects). */
  function mergeInMemory(target: OpenIncident, source: OpenIncident, actor: string, at: number, events: IncidentEvent[]) {
    for (const id of source.alertIds) {
      target.alertIds.add(id);
      const a = hot.get(id);
      // Rows already written move with the UPDATE below; pending inserts take the new id from memory.
      if (a) a.incidentId = target.id;
    }
    unindex(source);
    for (const e of source.entities) {
      const colon = e.indexOf(':');
      const kind = e.slice(0, colon);
      if (addEntity(target, e, kind, e.slice(colon + 1)) && listed(kind)) pending.index.push([e, target.id]);
    }
    for (const t of source.tactics) target.tactics.add(t);
    for (const s of source.sources) target.sources.add(s);
    for (const t of source.titles) if (target.titles.length < 2 && !target.titles.includes(t)) target.titles.push(t);
    for (const t of source.customTags) target.customTags.add(t);
    target.severity = maxSeverity(target.severity, source.severity);
    target.alertCount += source.alertCount;
    target.firstMs = Math.min(target.firstMs, source.firstMs);
    target.lastMs = Math.max(target.lastMs, source.lastMs);
    target.titleCustom = false; // a merge overwrites a custom name (manage-incidents.md)
    regenerateTitle(target);
    target.updatedMs = at;
    source.status = 'redirected';
    source.redirectIncidentId = target.id;
    source.systemTags.add('Redirected');
    source.updatedMs = at;
    source.resolvedMs = at;
    open.delete(source.id);
    markIncident(source);
    markIncident(target);
    pending.moves.set(source.id, target);
    pending.activity.push(activityRow(target.id, null, actor, 'merged', { sourceId: source.id }, at));
    pending.activity.push(activityRow(source.id, null, actor, 'redirected', { targetId: target.id }, at));
    counters.merges++;
    events.push({ type: 'incident.updated', payload: { incidentId: source.id, changes: { status: 'redirected', redirectIncidentId: target.id } } });
    events.push({ type: 'incident.updated', payload: { incidentId: target.id, changes: { mergedFrom: source.id, severity: target.severity, alertCount: target.alertCount, displayName: target.title } } });
  }

  /** Drops incidents and dedup keys that no new alert can reach any more from the memory indexes. */
  function sweep() {
    sinceSweep = 0;
    const horizon = watermark - windowMs;
    for (const inc of open.values()) if (inc.indexed && inc.lastMs < horizon) unindex(inc);
    dedup.forEach((a, key) => {
      if (a.lastMs < horizon) {
        dedup.delete(key);
        if (a.suppressed) hot.delete(a.id);
      }
    });
  }

  // ---------- writing behind ----------

  function buildWrites(p: Pending): SpecRows[] {
    const alertRows: unknown[][] = [];
    const entityRows: unknown[][] = [];
    for (const n of p.newAlerts) {
      const r = n.raised;
      const data: AlertData = {
        description: typeof r.description === 'string' ? r.description : '',
        mitreTechniques: Array.isArray(r.mitreTechniques) ? r.mitreTechniques : [],
        tactics: Array.isArray(r.tactics) ? r.tactics : [],
        rule: r.rule ?? null,
        evidence: r.evidence,
        events: Array.isArray(r.events) ? r.events : [],
      };
      const h = n.hot;
      alertRows.push([
        h.id, h.incidentId, r.title, r.severity, SEVERITY_RANK[r.severity], n.assignedTo,
        String(r.detectionSource ?? ''), String(r.serviceSource ?? ''), String(r.category ?? ''), r.rule?.id ?? null, h.dedupKey,
        h.count, h.firstMs, h.lastMs, n.createdMs, h.updatedMs, h.suppressed ? 1 : 0, n.suppressionRuleId, JSON.stringify(data),
      ]);
      // One row per listed entity and alert.
      for (let i = 0; i < n.ents.length; i += 3) if (listed(n.ents[i + 1])) entityRows.push([n.ents[i], h.id]);
    }
    const dirty: unknown[][] = [];
    for (const a of p.dirtyAlerts) dirty.push([a.count, a.firstMs, a.lastMs, a.updatedMs, a.incidentId, a.id]);
    const moves: unknown[][] = [];
    for (const [sourceId, first] of p.moves) {
      let target = first;
      for (let next = p.moves.get(target.id); next; next = p.moves.get(target.id)) target = next;
      moves.push([target.id, sourceId]);
    }
    return [
      { spec: W_INCIDENTS, rows: [...p.incidents.values()].map(incidentRow) },
      { spec: W_ALERTS, rows: alertRows },
      { spec: W_ALERT_ENTITIES, rows: entityRows },
      { spec: W_ALERT_COUNTS, rows: dirty },
      { spec: W_ENTITY_INDEX, rows: p.index },
      { spec: W_ALERT_MOVES, rows: moves },
      { spec: W_ACTIVITY, rows: p.activity },
      { spec: W_RISK, rows: [...p.risk.values()] },
    ];
  }

  /**
   * One transaction: on the store's background writer where it has one (correlation goes on while it
   * commits), else through its reused prepared statements, else as multi-row statements.
   */
  async function write(writes: readonly SpecRows[]): Promise<void> {
    if (writer && !writerEnded) {
      try {
        return await writer.write(writeGroups(writes));
      } catch (error) {
        // Its thread is gone: this batch is reported lost, and later ones go through Store.batch.
        if ((error as { code?: unknown }).code === 'writer_ended' && !stopped) writerEnded = true;
        throw error;
      }
    }
    if (store.batch) return store.batch(writeGroups(writes));
    const queries = compileWrites(dialect, writes);
    await db.transaction().execute(async (tx) => { for (const query of queries) await tx.executeQuery(query); });
  }

  /**
   * Cuts what is pending into a batch and writes it after the batches before it; its coalesced events
   * are published once it is stored. Resolves when that is done.
   */
  function writeBatch(): Promise<void> {
    const batch = pending;
    pending = emptyPending(batch.gen + 1);
    const coalesced = coalescedEvents(batch);
    const writes = buildWrites(batch);
    const before = writing;
    let done: Promise<void> | undefined;
    done = (async () => {
      // A failed batch before this one was reported to whoever waited for it.
      if (before) await before.catch(() => {});
      try {
        await write(writes);
      } finally {
        // Group commit: what piled up during this write goes next, as one batch (a small rest after the delay).
        if (writing === done) {
          if (pending.size >= batchSize) writeBehind();
          else if (pending.size > 0) scheduleFlush();
        }
      }
      if (coalesced.length > 0) await publish(coalesced);
    })();
    writing = done;
    const settle = () => { if (writing === done) writing = undefined; };
    done.then(settle, settle);
    return done;
  }

  function writeBehind() {
    writeBatch().catch((error) => onError(error, { during: 'flush' }));
  }

  /** Writes everything pending and waits for every batch before it. */
  async function flushNow(): Promise<void> {
    if (pending.size > 0) await writeBatch();
    else if (writing) await writing;
  }

  /** The batch's coalesced updates as they stand when it is written (published once it is stored). */
  function coalescedEvents(batch: Pending): IncidentEvent[] {
    const out: IncidentEvent[] = [];
    batch.countEvents.forEach((alertId, item) => {
      if ('alertIds' in item) {
        out.push({
          type: 'incident.updated',
          payload: { incidentId: item.id, changes: { alertAdded: alertId, severity: item.severity, alertCount: item.alertCount, displayName: titleOf(item) } },
        });
      } else {
        out.push({
          type: 'alert.updated',
          payload: { alertId: item.id, incidentId: item.incidentId ?? '', changes: { count: item.count, lastActivityDateTime: new Date(item.lastMs).toISOString() } },
        });
      }
    });
    return out;
  }

  function scheduleFlush() {
    if (flushScheduled) return;
    flushScheduled = true;
    // A short delay lets a burst share one transaction; reads flush first, so nobody sees the delay.
    setTimeout(() => {
      flushScheduled = false;
      // While a batch is being written, the next one is cut when it is stored.
      if (pending.size > 0 && !writing) writeBehind();
    }, FLUSH_DELAY_MS).unref();
  }

  async function publish(events: readonly IncidentEvent[]) {
    for (const event of events) {
      for (const w of watchers) {
        try { w(event); } catch (error) { onError(error, { during: 'watch' }); }
      }
      try {
        await bus.publish(event.type, event.payload as never);
      } catch (error) {
        if (!stopped) onError(error, { during: 'publish', type: event.type }); // at shutdown the bus closes first
      }
    }
  }

  async function ingest(alerts: readonly RaisedAlert[]) {
    while (exclusiveCount > 0) await exclusiveChain;
    const events: IncidentEvent[] = [];
    for (const a of alerts) {
      try {
        processAlert(a, events);
      } catch (error) {
        onError(error, { alertId: (a as { alertId?: unknown })?.alertId });
      }
    }
    // One batch is written at a time; the next one fills meanwhile, up to maxPending.
    if (pending.size >= batchSize) {
      if (!writing) writeBehind();
      else if (pending.size >= maxPending) await writing.catch(() => {});
      // A caller that never yields (a burst through the in-memory bus) would not see the write end, and
      // the batch would grow to maxPending; every so often it yields, so the next one is cut on time.
      else if (++sinceYield % 128 === 0) await new Promise<void>((resolve) => { setImmediate(resolve); });
    }
    if (pending.size > 0) scheduleFlush();
    await publish(events);
  }

  /** Runs an analyst's change alone: correlation waits, pending writes land first. */
  function exclusive<T>(fn: (events: IncidentEvent[]) => Promise<T>): Promise<T> {
    exclusiveCount++;
    const events: IncidentEvent[] = [];
    const run = exclusiveChain.then(async () => {
      await flushNow();
      let result: T;
      try {
        result = await fn(events);
      } catch (error) {
        // Refusals come before any change; anything else may have left memory ahead of a rolled-back transaction.
        if (!(error instanceof VigilError && error.status < 500)) await resync();
        throw error;
      }
      await flushNow();
      return result;
    });
    exclusiveChain = run.then(() => undefined, () => undefined).finally(() => { exclusiveCount--; });
    return run.then(async (result) => { await publish(events); return result; });
  }

  /** Rebuilds the memory indexes from the tables (nothing is pending while an analyst's change runs). */
  async function resync() {
    open.clear();
    index.clear();
    hot.clear();
    dedup.clear();
    deviceRisk.clear();
    userRisk.clear();
    await loadHotAlerts();
    await loadOpenIncidents(await db.selectFrom('incidents').selectAll().where('status', 'in', OPEN_STATUSES).execute());
  }

  // ---------- analyst changes (database first, then memory) ----------

  async function requireIncident(id: string) {
    const found = await resolveIncidentRow(db, id);
    if (!found) throw new VigilError('not_found', 404, `incident ${id} not found`);
    return found.row;
  }

  async function requireAlertRow(id: string) {
    const row = await db.selectFrom('incident_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new VigilError('not_found', 404, `alert ${id} not found`);
    return row;
  }

  /**
   * Recomputes an incident's derived fields (severity, counts, activity times, generated name) from its
   * alerts, rewrites its index rows, and refreshes the memory summary.
   */
  async function refreshIncident(tx: Kysely<any>, id: string) {
    const row = await tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const alerts = await tx.selectFrom('incident_alerts')
      .select(['id', 'severity', 'suppressed', 'first_activity', 'last_activity']).where('incident_id', '=', id).execute();
    const visible = alerts.filter((a) => Number(a.suppressed) === 0);
    const base = visible.length > 0 ? visible : alerts;
    let severity: Severity = row.severity;
    if (base.length > 0) severity = base.map((a) => a.severity as Severity).reduce(maxSeverity);
    const first = base.length ? Math.min(...base.map((a) => Number(a.first_activity))) : Number(row.first_activity);
    const last = base.length ? Math.max(...base.map((a) => Number(a.last_activity))) : Number(row.last_activity);
    await tx.updateTable('incidents').set({
      severity, severity_rank: SEVERITY_RANK[severity], alert_count: alerts.length, first_activity: first, last_activity: last,
    }).where('id', '=', id).execute();
    const fresh = await tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const summary = (await buildSummaries([fresh], tx)).get(id)!;
    unindex(open.get(id));
    if (isOpen(fresh.status)) {
      open.set(id, summary);
      if (summary.lastMs >= watermark - windowMs) indexIncident(summary);
    } else {
      open.delete(id);
    }
    // The entity index follows the alerts.
    await tx.deleteFrom('incident_entity_index').where('incident_id', '=', id).execute();
    for (const q of insertRows(dialect, W_ENTITY_INDEX,
      [...summary.entities].filter((e) => e.startsWith('device:') || e.startsWith('user:')).map((e) => [e, id]))) await tx.executeQuery(q);
    const inc = open.get(id);
    if (inc && !inc.titleCustom) {
      regenerateTitle(inc);
      if (inc.title !== fresh.title) await tx.updateTable('incidents').set({ title: inc.title }).where('id', '=', id).execute();
    }
  }

  async function insertActivity(tx: Kysely<any>, rows: unknown[][]) {
    for (const q of insertRows(dialect, W_ACTIVITY, rows)) await tx.executeQuery(q);
  }

  /** Marks alerts resolved in the database and memory; returns the ids that changed. */
  async function resolveAlertRows(tx: Kysely<any>, ids: readonly string[], at: number, reason: string, events: IncidentEvent[]) {
    if (ids.length === 0) return [];
    const rows = await tx.selectFrom('incident_alerts').select(['id', 'incident_id', 'status']).where('id', 'in', ids).where('status', '!=', 'resolved').execute();
    const changed = rows.map((r) => r.id as string);
    for (let i = 0; i < changed.length; i += 500) {
      await tx.updateTable('incident_alerts').set({ status: 'resolved', resolved_at: at, updated_at: at }).where('id', 'in', changed.slice(i, i + 500)).execute();
    }
    for (const r of rows) {
      const a = hot.get(r.id);
      if (a) {
        hot.delete(r.id);
        if (dedup.get(a.dedupKey) === a) dedup.delete(a.dedupKey);
        if (!a.suppressed) adjustRisk(a, -1, reason, events);
      }
      events.push({ type: 'alert.updated', payload: { alertId: r.id, incidentId: r.incident_id ?? '', changes: { status: 'resolved' } } });
    }
    return changed;
  }

  /** Brings a resolved alert back: it counts for risk again (unless suppressed). */
  async function reactivateAlert(tx: Kysely<any>, id: string, reason: string, events: IncidentEvent[]) {
    const a = hotFromRow(await tx.selectFrom('incident_alerts').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    hot.set(id, a);
    if (!dedup.has(a.dedupKey)) dedup.set(a.dedupKey, a);
    if (!a.suppressed) adjustRisk(a, 1, reason, events);
  }

  /** Resolves incidents whose alerts are now all resolved (the last alert's resolution closes the incident). */
  async function closeEmptiedIncidents(tx: Kysely<any>, incidentIds: Iterable<string>, actor: string, at: number, events: IncidentEvent[]) {
    for (const id of new Set(incidentIds)) {
      const row = await tx.selectFrom('incidents').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
      if (!row || !isOpen(row.status)) continue;
      const left = await tx.selectFrom('incident_alerts').select('id').where('incident_id', '=', id).where('status', '!=', 'resolved').where('suppressed', '=', 0).executeTakeFirst();
      if (left) continue;
      await tx.updateTable('incidents').set({ status: 'resolved', resolved_at: at, updated_at: at }).where('id', '=', id).execute();
      await insertActivity(tx, [activityRow(id, null, actor, 'status', { from: row.status, to: 'resolved', why: 'all alerts resolved' }, at)]);
      await refreshIncident(tx, id);
      events.push({ type: 'incident.updated', payload: { incidentId: id, changes: { status: 'resolved' } } });
    }
  }

  function assigneeOf(value: unknown): string | null {
    if (value === null || value === '') return null;
    if (typeof value !== 'string' || value.length > 320) throw new VigilError('bad_request', 400, "'assignedTo' must be a name (string) or null", { field: 'assignedTo' });
    return value;
  }

  async function updateIncident(id: string, patch: IncidentPatch, actor: string): Promise<IncidentDetail> {
    if (patch === null || typeof patch !== 'object') throw new VigilError('bad_request', 400, 'body must be a JSON object');
    const status = patch.status;
    if (status !== undefined && !['active', 'inProgress', 'resolved'].includes(status as string)) {
      throw new VigilError('bad_request', 400, "'status' must be active, inProgress or resolved", { field: 'status' });
    }
    const assignedTo = patch.assignedTo === undefined ? undefined : assigneeOf(patch.assignedTo);
    const classification = patch.classification === undefined ? undefined : parseClassification(patch.classification);
    const determination = patch.determination === undefined ? undefined : parseDetermination(patch.determination);
    let tags: string[] | undefined;
    if (patch.customTags !== undefined) {
      if (!Array.isArray(patch.customTags) || !patch.customTags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 100) || patch.customTags.length > 100) {
        throw new VigilError('bad_request', 400, "'tags' must be a list of at most 100 strings of 1–100 characters", { field: 'tags' });
      }
      tags = [...new Set(patch.customTags as string[])];
    }
    let title: string | undefined;
    if (patch.displayName !== undefined) {
      if (typeof patch.displayName !== 'string' || patch.displayName.trim() === '' || patch.displayName.length > 500) {
        throw new VigilError('bad_request', 400, "'title' must be a non-empty string of at most 500 characters", { field: 'title' });
      }
      title = patch.displayName.trim();
    }
    let description: string | null | undefined;
    if (patch.description !== undefined) {
      if (patch.description !== null && (typeof patch.description !== 'string' || patch.description.length > MAX_COMMENT)) {
        throw new VigilError('bad_request', 400, "'description' must be a string of at most 30,000 characters or null", { field: 'description' });
      }
      description = patch.description as string | null;
    }
    const comment = patch.comment === undefined ? undefined : commentText(patch.comment);

    const resolvedId = await exclusive(async (events) => {
      const row = await requireIncident(id);
      if (row.status === 'redirected') throw new VigilError('conflict', 409, 'a redirected incident cannot be changed');
      const at = now();
      const set: Record<string, unknown> = {};
      const activity: unknown[][] = [];
      const changes: Record<string, unknown> = {};
      const note = (field: string, from: unknown, to: unknown) => {
        activity.push(activityRow(row.id, null, actor, field, { from, to }, at));
        changes[field] = to;
      };
      if (title !== undefined && title !== row.title) { set.title = title; set.title_custom = 1; note('displayName', row.title, title); }
      if (description !== undefined && description !== row.description) { set.description = description; note('description', row.description, description); }
      if (assignedTo !== undefined && assignedTo !== (row.assigned_to ?? null)) { set.assigned_to = assignedTo; note('assignedTo', row.assigned_to ?? null, assignedTo); }
      if (classification !== undefined && classification !== row.classification) { set.classification = classification; note('classification', row.classification, classification); }
      if (determination !== undefined && determination !== row.determination) { set.determination = determination; note('determination', row.determination, determination); }
      if (tags !== undefined) {
        const old = parseJson<string[]>(row.custom_tags, []);
        if (JSON.stringify(old) !== JSON.stringify(tags)) { set.custom_tags = JSON.stringify(tags); note('customTags', old, tags); }
      }
      const newStatus = status as IncidentStatus | undefined;
      if (newStatus !== undefined && newStatus !== row.status) {
        set.status = newStatus;
        set.resolved_at = newStatus === 'resolved' ? at : null;
        note('status', row.status, newStatus);
      }
      await db.transaction().execute(async (tx) => {
        if (Object.keys(set).length > 0) {
          set.updated_at = at;
          await tx.updateTable('incidents').set(set).where('id', '=', row.id).execute();
          // Assignment, classification and determination apply to the incident's alerts too.
          const alertSet: Record<string, unknown> = {};
          if ('assigned_to' in set) alertSet.assigned_to = set.assigned_to;
          if ('classification' in set) alertSet.classification = set.classification;
          if ('determination' in set) alertSet.determination = set.determination;
          if (Object.keys(alertSet).length > 0) {
            await tx.updateTable('incident_alerts').set({ ...alertSet, updated_at: at }).where('incident_id', '=', row.id).execute();
          }
          if (newStatus === 'resolved') {
            const ids = (await tx.selectFrom('incident_alerts').select('id').where('incident_id', '=', row.id).where('status', '!=', 'resolved').execute()).map((r) => r.id as string);
            await resolveAlertRows(tx, ids, at, `incident ${row.id} resolved by ${actor}`, events);
          }
        }
        if (comment !== undefined) {
          await tx.insertInto('incident_comments').values({ id: ulid(at), incident_id: row.id, author: actor, text: comment, created_at: at }).execute();
          activity.push(activityRow(row.id, null, actor, 'commented', { length: comment.length }, at));
        }
        await insertActivity(tx, activity);
        await refreshIncident(tx, row.id);
      });
      if (Object.keys(changes).length > 0) events.push({ type: 'incident.updated', payload: { incidentId: row.id, changes } });
      return row.id as string;
    });
    return (await incidentDetail(db, resolvedId))!;
  }

  function commentText(value: unknown): string {
    if (typeof value !== 'string' || value.trim() === '') throw new VigilError('bad_request', 400, "'text' must be a non-empty string", { field: 'text' });
    if (value.length > MAX_COMMENT) throw new VigilError('bad_request', 400, 'a comment is at most 30,000 characters', { field: 'text' });
    return value;
  }

  async function addComment(id: string, text: unknown, author: string): Promise<Comment> {
    const body = commentText(text);
    return exclusive(async (events) => {
      const row = await requireIncident(id);
      const at = now();
      const c = { id: ulid(at), incident_id: row.id, author, text: body, created_at: at };
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('incident_comments').values(c).execute();
        await insertActivity(tx, [activityRow(row.id, null, author, 'commented', { commentId: c.id, length: body.length }, at)]);
      });
      events.push({ type: 'incident.updated', payload: { incidentId: row.id, changes: { commentAdded: c.id } } });
      return commentFromRow(c);
    });
  }

  async function mergeIncidents(targetId: string, sourceIds: readonly string[], actor: string): Promise<IncidentDetail> {
    if (!Array.isArray(sourceIds) || sourceIds.length === 0 || sourceIds.length > MAX_MERGE_SOURCES || !sourceIds.every((s) => typeof s === 'string')) {
      throw new VigilError('bad_request', 400, `'sourceIds' must list 1 to ${MAX_MERGE_SOURCES} incident ids`, { field: 'sourceIds' });
    }
    const finalId = await exclusive(async (events) => {
      const target = await requireIncident(targetId);
      if (!isOpen(target.status)) throw new VigilError('merge_refused', 409, `incident ${target.id} is ${target.status}; a closed incident is never merged into`);
      const sources: Record<string, any>[] = [];
      for (const sid of new Set(sourceIds)) {
        const s = await requireIncident(sid);
        if (s.id === target.id) throw new VigilError('bad_request', 400, 'an incident cannot be merged into itself');
        if (!isOpen(s.status)) throw new VigilError('merge_refused', 409, `incident ${s.id} is ${s.status}; closed incidents are not merged`);
        if ((s.assigned_to ?? null) !== (target.assigned_to ?? null)) throw new VigilError('merge_refused', 409, `incidents ${s.id} and ${target.id} have different assignees`);
        if (s.classification !== target.classification) throw new VigilError('merge_refused', 409, `incidents ${s.id} and ${target.id} have different classifications`);
        if (s.determination !== target.determination) throw new VigilError('merge_refused', 409, `incidents ${s.id} and ${target.id} have different determinations`);
        sources.push(s);
      }
      const at = now();
      await db.transaction().execute(async (tx) => {
        const tags = new Set(parseJson<string[]>(target.custom_tags, []));
        for (const s of sources) {
          for (const t of parseJson<string[]>(s.custom_tags, [])) tags.add(t);
          const moved = await tx.selectFrom('incident_alerts').select('id').where('incident_id', '=', s.id).execute();
          await tx.updateTable('incident_alerts').set({ incident_id: target.id }).where('incident_id', '=', s.id).execute();
          for (const m of moved) { const a = hot.get(m.id); if (a) a.incidentId = target.id; }
          const systemTags = new Set(parseJson<string[]>(s.system_tags, []));
          systemTags.add('Redirected');
          await tx.updateTable('incidents').set({
            status: 'redirected', redirect_incident_id: target.id, system_tags: JSON.stringify([...systemTags]), updated_at: at, resolved_at: at,
          }).where('id', '=', s.id).execute();
          await insertActivity(tx, [
            activityRow(target.id, null, actor, 'merged', { sourceId: s.id }, at),
            activityRow(s.id, null, actor, 'redirected', { targetId: target.id }, at),
          ]);
          await refreshIncident(tx, s.id);
          counters.merges++;
          events.push({ type: 'incident.updated', payload: { incidentId: s.id, changes: { status: 'redirected', redirectIncidentId: target.id } } });
        }
        await tx.updateTable('incidents').set({ custom_tags: JSON.stringify([...tags]), title_custom: 0, updated_at: at }).where('id', '=', target.id).execute();
        await refreshIncident(tx, target.id);
      });
      events.push({ type: 'incident.updated', payload: { incidentId: target.id, changes: { mergedFrom: sources.map((s) => s.id) } } });
      return target.id as string;
    });
    return (await incidentDetail(db, finalId))!;
  }

  async function updateAlert(id: string, patch: AlertPatch, actor: string): Promise<Alert> {
    if (patch === null || typeof patch !== 'object') throw new VigilError('bad_request', 400, 'body must be a JSON object');
    const status = patch.status as AlertStatus | undefined;
    if (status !== undefined && !['new', 'inProgress', 'resolved'].includes(status)) {
      throw new VigilError('bad_request', 400, "'status' must be new, inProgress or resolved", { field: 'status' });
    }
    const assignedTo = patch.assignedTo === undefined ? undefined : assigneeOf(patch.assignedTo);
    const classification = patch.classification === undefined ? undefined : parseClassification(patch.classification);
    const determination = patch.determination === undefined ? undefined : parseDetermination(patch.determination);
    await exclusive(async (events) => {
      const row = await requireAlertRow(id);
      const at = now();
      const set: Record<string, unknown> = {};
      const changes: Record<string, unknown> = {};
      const activity: unknown[][] = [];
      const note = (field: string, from: unknown, to: unknown) => {
        changes[field] = to;
        if (row.incident_id) activity.push(activityRow(row.incident_id, id, actor, `alert.${field}`, { from, to }, at));
      };
      if (assignedTo !== undefined && assignedTo !== (row.assigned_to ?? null)) { set.assigned_to = assignedTo; note('assignedTo', row.assigned_to ?? null, assignedTo); }
      if (classification !== undefined && classification !== row.classification) { set.classification = classification; note('classification', row.classification, classification); }
      if (determination !== undefined && determination !== row.determination) { set.determination = determination; note('determination', row.determination, determination); }
      const statusChanged = status !== undefined && status !== row.status;
      if (statusChanged) note('status', row.status, status);
      await db.transaction().execute(async (tx) => {
        if (Object.keys(set).length > 0) await tx.updateTable('incident_alerts').set({ ...set, updated_at: at }).where('id', '=', id).execute();
        if (statusChanged && status === 'resolved') {
          await resolveAlertRows(tx, [id], at, `alert ${id} resolved by ${actor}`, events);
          if (row.incident_id) await closeEmptiedIncidents(tx, [row.incident_id], actor, at, events);
        } else if (statusChanged) {
          await tx.updateTable('incident_alerts').set({ status, resolved_at: null, updated_at: at }).where('id', '=', id).execute();
          if (row.status === 'resolved') {
            await reactivateAlert(tx, id, `alert ${id} reopened by ${actor}`, events);
            // An alert that comes back reopens its resolved incident.
            const inc = row.incident_id ? await tx.selectFrom('incidents').select(['id', 'status']).where('id', '=', row.incident_id).executeTakeFirst() : undefined;
            if (inc && inc.status === 'resolved') {
              await tx.updateTable('incidents').set({ status: 'active', resolved_at: null, updated_at: at }).where('id', '=', inc.id).execute();
              activity.push(activityRow(inc.id, id, actor, 'status', { from: 'resolved', to: 'active', why: 'an alert was reopened' }, at));
              events.push({ type: 'incident.updated', payload: { incidentId: inc.id, changes: { status: 'active' } } });
            }
          }
        }
        await insertActivity(tx, activity);
        if (row.incident_id) await refreshIncident(tx, row.incident_id);
      });
      if (Object.keys(changes).length > 0 && !(statusChanged && status === 'resolved' && Object.keys(changes).length === 1)) {
        events.push({ type: 'alert.updated', payload: { alertId: id, incidentId: row.incident_id ?? '', changes } });
      }
    });
    return (await getAlert(id))!;
  }

  async function linkAlert(alertId: string, incidentId: string, actor: string): Promise<Alert> {
    if (typeof incidentId !== 'string' || incidentId === '') throw new VigilError('bad_request', 400, "'incidentId' is required", { field: 'incidentId' });
    await exclusive(async (events) => {
      const row = await requireAlertRow(alertId);
      const target = await requireIncident(incidentId);
      if (!isOpen(target.status)) throw new VigilError('conflict', 409, `incident ${target.id} is ${target.status}; link alerts to an open incident`);
      if (row.incident_id === target.id) return;
      await moveAlert(row, target, actor, events);
    });
    return (await getAlert(alertId))!;
  }

  async function moveAlert(row: Record<string, any>, target: Record<string, any>, actor: string, events: IncidentEvent[]) {
    const at = now();
    const sourceId: string | null = row.incident_id ?? null;
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('incident_alerts').set({ incident_id: target.id, assigned_to: target.assigned_to ?? null, updated_at: at }).where('id', '=', row.id).execute();
      const a = hot.get(row.id);
      if (a) a.incidentId = target.id;
      const activity = [activityRow(target.id, row.id, actor, 'alert.linked', { alertId: row.id, from: sourceId }, at)];
      if (sourceId) {
        activity.push(activityRow(sourceId, row.id, actor, 'alert.unlinked', { alertId: row.id, to: target.id }, at));
        const left = await tx.selectFrom('incident_alerts').select('id').where('incident_id', '=', sourceId).executeTakeFirst();
        if (!left) {
          // Its last alert left: the emptied incident points to where it went.
          await tx.updateTable('incidents').set({ status: 'redirected', redirect_incident_id: target.id, updated_at: at, resolved_at: at }).where('id', '=', sourceId).execute();
          events.push({ type: 'incident.updated', payload: { incidentId: sourceId, changes: { status: 'redirected', redirectIncidentId: target.id } } });
        }
      }
      await insertActivity(tx, activity);
      if (sourceId) await refreshIncident(tx, sourceId);
      await refreshIncident(tx, target.id);
    });
    if (sourceId) events.push({ type: 'incident.updated', payload: { incidentId: sourceId, changes: { alertRemoved: row.id } } });
    events.push({ type: 'incident.updated', payload: { incidentId: target.id, changes: { alertAdded: row.id } } });
    events.push({ type: 'alert.updated', payload: { alertId: row.id, incidentId: target.id, changes: { incidentId: target.id } } });
  }

  async function unlinkAlert(alertId: string, actor: string) {
    const newId = await exclusive(async (events) => {
      const row = await requireAlertRow(alertId);
      if (row.incident_id) {
        const siblings = await db.selectFrom('incident_alerts').select('id').where('incident_id', '=', row.incident_id).limit(2).execute();
        if (siblings.length < 2) throw new VigilError('conflict', 409, 'the alert is the only one in its incident');
      }
      const at = now();
      const id = ulid(at);
      const resolved = row.status === 'resolved';
      await db.insertInto('incidents').values({
        id, title: row.title, title_custom: 0, status: resolved ? 'resolved' : 'active', severity: row.severity, severity_rank: row.severity_rank,
        classification: 'unknown', determination: 'unknown', assigned_to: null, custom_tags: '[]', system_tags: '[]', description: null,
        redirect_incident_id: null, alert_count: 1, created_at: at, updated_at: at, resolved_at: resolved ? at : null,
        first_activity: row.first_activity, last_activity: row.last_activity,
      }).execute();
      counters.incidents++;
      await db.transaction().execute((tx) => insertActivity(tx, [activityRow(id, alertId, actor, 'created', { alertId, unlinkedFrom: row.incident_id ?? null }, at)]));
      events.push({ type: 'incident.created', payload: { incidentId: id } });
      await moveAlert(row, { id, assigned_to: null }, actor, events);
      return id;
    });
    return { alert: (await getAlert(alertId))!, incident: (await incidentDetail(db, newId))! };
  }

  async function resolveAlerts(alertIds: readonly string[], opts: { by: string; reason: string }): Promise<ResolveResult> {
    const ids = [...new Set(alertIds)];
    return exclusive(async (events) => {
      const at = now();
      const found = new Map<string, Record<string, any>>();
      for (let i = 0; i < ids.length; i += 500) {
        for (const r of await db.selectFrom('incident_alerts').select(['id', 'incident_id', 'status']).where('id', 'in', ids.slice(i, i + 500)).execute()) found.set(r.id, r);
      }
      const notFound = ids.filter((id) => !found.has(id));
      const alreadyResolved = ids.filter((id) => found.get(id)?.status === 'resolved');
      let resolved: string[] = [];
      await db.transaction().execute(async (tx) => {
        resolved = await resolveAlertRows(tx, ids.filter((id) => found.has(id)), at, opts.reason, events);
        const incidents = new Set<string>();
        const activity: unknown[][] = [];
        for (const id of resolved) {
          const inc = found.get(id)!.incident_id;
          if (!inc) continue;
          incidents.add(inc);
          activity.push(activityRow(inc, id, opts.by, 'alert.status', { from: found.get(id)!.status, to: 'resolved', reason: opts.reason }, at));
        }
        await insertActivity(tx, activity);
        await closeEmptiedIncidents(tx, incidents, opts.by, at, events);
        for (const inc of incidents) await refreshIncident(tx, inc);
      });
      return { resolved, alreadyResolved, notFound };
    });
  }

  async function getAlert(id: string): Promise<Alert | undefined> {
    await flushNow();
    const row = await db.selectFrom('incident_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? alertFromRow(row, true) : undefined;
  }

  // ---------- suppression rules ----------

  async function createSuppressionRule(input: unknown, actor: string, opts: { applyToExisting?: boolean } = {}) {
    const parsed = parseSuppressionInput(input);
    return exclusive(async (events) => {
      const at = now();
      const id = ulid(at);
      const row = suppressionRow(id, parsed, actor, at, undefined);
      await db.insertInto('incident_suppression_rules').values(row).execute();
      const rule = suppressionFromRow(row);
      const compiled = compileSuppression(rule);
      suppressions.push(compiled);
      let suppressedAlerts = 0;
      if (opts.applyToExisting !== false) suppressedAlerts = await applySuppression(compiled, actor, at, events);
      await options.audit?.record({ actor, action: 'suppression-rule.create', target: id, details: { rule, suppressedAlerts } });
      return { rule, suppressedAlerts };
    });
  }

  /** Suppresses active alerts that match a new rule: they leave risk and the default views. */
  async function applySuppression(c: CompiledSuppression, actor: string, at: number, events: IncidentEvent[]): Promise<number> {
    let query = db.selectFrom('incident_alerts').selectAll().where('status', '!=', 'resolved').where('suppressed', '=', 0);
    if (c.rule.ruleId) query = query.where('rule_id', '=', c.rule.ruleId);
    const rows = await query.execute();
    const matched: Record<string, any>[] = [];
    for (const r of rows) {
      const alert = alertFromRow(r, false);
      const raised = { ...alert, alertId: alert.id, firstActivity: alert.firstActivityDateTime, lastActivity: alert.lastActivityDateTime, events: [] } as unknown as RaisedAlert;
      if (suppressionMatches(c, raised, at)) matched.push(r);
    }
    if (matched.length === 0) return 0;
    await db.transaction().execute(async (tx) => {
      const ids = matched.map((r) => r.id as string);
      for (let i = 0; i < ids.length; i += 500) {
        await tx.updateTable('incident_alerts').set({ suppressed: 1, suppression_rule_id: c.rule.id, updated_at: at }).where('id', 'in', ids.slice(i, i + 500)).execute();
      }
      const activity: unknown[][] = [];
      for (const r of matched) {
        const a = hot.get(r.id);
        if (a && !a.suppressed) { a.suppressed = true; adjustRisk(a, -1, `alert ${r.id} suppressed by rule ${c.rule.id}`, events); }
        if (r.incident_id) activity.push(activityRow(r.incident_id, r.id, actor, 'alert.suppressed', { ruleId: c.rule.id }, at));
        events.push({ type: 'alert.updated', payload: { alertId: r.id, incidentId: r.incident_id ?? '', changes: { suppressed: true, suppressionRuleId: c.rule.id } } });
      }
      await insertActivity(tx, activity);
      for (const incId of new Set(matched.map((r) => r.incident_id).filter(Boolean))) await refreshIncident(tx, incId);
    });
    return matched.length;
  }

  function suppressionRow(id: string, p: SuppressionRuleInput, actor: string, at: number, old: SuppressionRule | undefined) {
    const entity = p.entity === undefined ? old?.entity ?? null : p.entity;
    return {
      id,
      name: p.name ?? old?.name ?? (p.ruleId ? `Suppress ${p.ruleId}` : 'Suppression rule'),
      rule_id: p.ruleId === undefined ? old?.ruleId ?? null : p.ruleId,
      entity_kind: entity?.kind ?? null,
      entity_key: entity?.key ?? null,
      fields: JSON.stringify(p.fields ?? old?.fields ?? {}),
      expires_at: p.expiresAt === undefined ? (old?.expiresAt ? Date.parse(old.expiresAt) : null) : p.expiresAt === null ? null : Date.parse(p.expiresAt),
      comment: p.comment ?? old?.comment ?? '',
      enabled: (p.enabled ?? old?.enabled ?? true) ? 1 : 0,
      created_by: old?.createdBy ?? actor,
      created_at: old ? Date.parse(old.createdAt) : at,
      updated_by: actor,
      updated_at: at,
    };
  }

  async function updateSuppressionRule(id: string, input: unknown, actor: string) {
    const parsed = parseSuppressionInput(input, true);
    return exclusive(async () => {
      const current = suppressions.find((s) => s.rule.id === id);
      if (!current) throw new VigilError('not_found', 404, `suppression rule ${id} not found`);
      const row = suppressionRow(id, parsed, actor, now(), current.rule);
      if (!row.rule_id && !row.entity_key && Object.keys(JSON.parse(row.fields)).length === 0) {
        throw new VigilError('bad_request', 400, 'a suppression rule needs at least one condition: ruleId, entity or fields');
      }
      const { id: _id, ...set } = row;
      await db.updateTable('incident_suppression_rules').set(set).where('id', '=', id).execute();
      const rule = suppressionFromRow(row);
      suppressions = suppressions.map((s) => (s.rule.id === id ? compileSuppression(rule) : s));
      await options.audit?.record({ actor, action: 'suppression-rule.update', target: id, details: { before: current.rule, after: rule } });
      return rule;
    });
  }

  async function deleteSuppressionRule(id: string, actor: string) {
    await exclusive(async () => {
      const current = suppressions.find((s) => s.rule.id === id);
      if (!current) throw new VigilError('not_found', 404, `suppression rule ${id} not found`);
      await db.deleteFrom('incident_suppression_rules').where('id', '=', id).execute();
      suppressions = suppressions.filter((s) => s.rule.id !== id);
      await options.audit?.record({ actor, action: 'suppression-rule.delete', target: id, details: { rule: current.rule } });
    });
  }

  // ---------- risk ----------

  function riskList(kind: 'device' | 'user', tracker: RiskTracker, minLevel: RiskLevel = 'informational'): RiskEntry[] {
    const min = RISK_ORDER[minLevel];
    const out: RiskEntry[] = [];
    for (const key of tracker.keys()) {
      const level = tracker.level(key);
      if (RISK_ORDER[level] < min) continue;
      const info = riskInfo.get(`${kind}:${key}`);
      out.push({ id: key, riskLevel: level, activeAlerts: tracker.active(key), reason: info?.reason ?? '', updatedAt: new Date(info?.updatedMs ?? now()).toISOString() });
    }
    return out.sort((a, b) => RISK_ORDER[b.riskLevel] - RISK_ORDER[a.riskLevel] || (a.id < b.id ? -1 : 1));
  }

  const unsubscribe = options.subscribe === false ? () => {} : bus.subscribe('alert.raised', (event) => ingest([event.alert]), { name: 'incidents' });

  return {
    ingest,
    flush: () => flushNow(),
    async getIncident(id) { await flushNow(); return incidentDetail(db, id); },
    async listIncidents(query = {}) { await flushNow(); return listIncidents(db, query); },
    getAlert,
    async listAlerts(query = {}) { await flushNow(); return listAlerts(db, query); },
    updateIncident,
    addComment,
    mergeIncidents,
    updateAlert,
    linkAlert,
    unlinkAlert,
    resolveAlerts,
    async listSuppressionRules() { return suppressions.map((s) => s.rule); },
    async getSuppressionRule(id) { return suppressions.find((s) => s.rule.id === id)?.rule; },
    createSuppressionRule,
    updateSuppressionRule,
    deleteSuppressionRule,
    getDeviceRisk: (id) => deviceRisk.level(id),
    getUserRisk: (key) => userRisk.level(key.toLowerCase()),
    listRiskyDevices: (o = {}) => riskList('device', deviceRisk, o.minLevel),
    listRiskyUsers: (o = {}) => riskList('user', userRisk, o.minLevel),
    watch(listener) { watchers.add(listener); return () => { watchers.delete(listener); }; },
    stats: () => ({ ...counters, openIncidents: open.size, activeAlerts: hot.size }),
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      await exclusiveChain;
      try {
        await flushNow();
      } finally {
        await writer?.close();
      }
      watchers.clear();
    },
  };
}
