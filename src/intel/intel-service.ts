// The intelligence service: indicators in a state table, live matching of every ingested row, the
// versioned feed that sensors long-poll, expiry, retro-hunts, STIX import/export and the TAXII collection.
import { monotonicFactory, ulid } from 'ulid';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { VigilError } from '../errors/index.js';
import { tableDef, type CanonicalRow, type RaisedAlert } from '../schema/index.js';
import type { Bus } from '../bus/index.js';
import { decodeValue, quoteIdent, type Migration, type Store } from '../store/index.js';
import {
  invalid, normaliseValue, validateIndicator, type CleanInput, type Indicator, type IndicatorAction,
  type IndicatorType,
} from './indicator-model.js';
import { createIndicatorIndex, type Candidate } from './indicator-index.js';
import {
  additional, alerts, fileEvidence, impactedEvidence, indicatorAlert, matchRow, pick, SLOTS, type Decision, type MatchContext,
} from './row-matcher.js';
import { ExpiryHeap } from './expiry-heap.js';
import { csvField, parseCsv } from './csv.js';
import {
  attackIds, checkObject, indicatorToStix, newStixId, stixToInput, versionOf, type StixBundle, type StixObject,
} from './stix.js';
import { parseIp } from './ip.js';

/** What a sensor receives from the feed (CONTRACTS.md "Indicator feed"). */
export interface FeedIndicator {
  readonly id: string;
  readonly type: IndicatorType;
  readonly value: string;
  readonly action: IndicatorAction;
  readonly severity: string;
  readonly title: string;
  readonly expiresAt: string | null;
}

export interface FeedResponse {
  readonly version: number;
  readonly indicators: readonly FeedIndicator[];
  readonly removed: readonly string[];
  /** True when this is a full snapshot (since=0, or a `since` this server never issued): replace, don't merge. */
  readonly full: boolean;
}

export interface ImportRejection {
  readonly index: number;
  readonly line?: number;
  readonly field?: string;
  readonly error: string;
}

export interface ImportReport {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: readonly ImportRejection[];
  readonly ids: readonly string[];
}

export interface StixImportReport {
  readonly indicatorsCreated: number;
  readonly indicatorsUpdated: number;
  readonly indicatorsRevoked: number;
  /** Other objects kept (malware, attack patterns, relationships, indicators Vigil cannot enforce, …). */
  readonly objectsStored: number;
  readonly skipped: readonly { index: number; id: string; reason: string }[];
  readonly rejected: readonly ImportRejection[];
}

export interface RemediationProposal {
  readonly deviceId: string;
  readonly kind: 'quarantine_file';
  readonly params: { readonly sha256?: string; readonly path?: string };
  readonly reason: string;
  readonly indicatorId: string;
}

export interface RetroHuntReport {
  readonly indicators: number;
  readonly rowsExamined: number;
  readonly sightings: number;
  readonly alerts: number;
  readonly remediations: number;
  readonly truncated: boolean;
}

export interface IndicatorFilter {
  readonly type?: string;
  readonly action?: string;
  readonly source?: string;
  readonly incidentId?: string;
  /** Substring of value or title. */
  readonly q?: string;
  readonly includeExpired?: boolean;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface EntityToIndicator {
  readonly kind: string;
  readonly key: string;
  readonly incidentId: string;
  readonly action?: string;
  readonly title?: string;
  readonly severity?: string;
  readonly expiresAt?: string | null;
  readonly deviceGroups?: readonly string[];
}

export interface TaxiiCollectionInfo {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly can_read: boolean;
  readonly can_write: boolean;
  readonly media_types: readonly string[];
}

export interface TaxiiRecord {
  readonly seq: number;
  readonly id: string;
  readonly version: string;
  /** Microseconds since the epoch. */
  readonly dateAdded: number;
  readonly object: StixObject;
}

export interface TaxiiQuery {
  readonly addedAfter?: number;
  readonly limit: number;
  readonly next?: string;
  readonly ids?: readonly string[];
  readonly types?: readonly string[];
  /** 'last' (default), 'first', 'all', or specific versions. */
  readonly versions?: readonly string[];
}

export interface TaxiiPage {
  readonly records: readonly TaxiiRecord[];
  readonly more: boolean;
  readonly next?: string;
}

export interface TaxiiStatus {
  readonly id: string;
  readonly status: 'complete';
  readonly request_timestamp: string;
  readonly total_count: number;
  readonly success_count: number;
  readonly successes: readonly { id: string; version: string; message?: string }[];
  readonly failure_count: number;
  readonly failures: readonly { id: string; version: string; message: string }[];
  readonly pending_count: number;
  readonly pendings: readonly never[];
}

export interface TaxiiData {
  collections(): readonly TaxiiCollectionInfo[];
  collection(id: string): TaxiiCollectionInfo | undefined;
  objects(collectionId: string, query: TaxiiQuery): Promise<TaxiiPage>;
  versions(collectionId: string, objectId: string, query: TaxiiQuery): Promise<TaxiiPage>;
  add(collectionId: string, objects: readonly unknown[], actor: string): Promise<TaxiiStatus>;
  status(id: string): TaxiiStatus | undefined;
  remove(collectionId: string, objectId: string, versions: readonly string[] | undefined, actor: string): Promise<number>;
}

export interface IntelService {
  create(input: unknown, actor: string, options?: { retroHunt?: boolean }): Promise<Indicator>;
  update(id: string, patch: unknown, actor: string): Promise<Indicator>;
  remove(id: string, actor: string): Promise<void>;
  get(id: string): Indicator | undefined;
  list(filter?: IndicatorFilter): Promise<{ indicators: Indicator[]; nextCursor: string | null }>;
  /** Bulk create-or-update (matched on type, value and scope). Bad elements are reported with their index; the rest land. */
  importMany(items: readonly unknown[], actor: string, options?: { retroHunt?: boolean; lines?: readonly number[] }): Promise<ImportReport>;
  importCsv(text: string, actor: string, options?: { retroHunt?: boolean }): Promise<ImportReport>;
  /** Active indicators (and expired ones with includeExpired). */
  exportAll(options?: { includeExpired?: boolean }): Indicator[];
  exportCsv(options?: { includeExpired?: boolean }): string;
  /** The versioned feed: changes after `since`, waiting up to `waitMs` for one when there is none. */
  feed(request: { since: number; waitMs: number; deviceId?: string }): Promise<FeedResponse>;
  /** The current feed version (grows by one per change). */
  version(): number;
  /** Number of active indicators. */
  size(): number;
  /** Pure matching of one row (what the bus handler does before raising alerts); exposed for benchmarks and tools. */
  match(table: string, row: CanonicalRow): Decision[];
  /** What the 'telemetry.ingested' subscription runs; returns the alerts raised. */
  handleRows(table: string, sensorId: string, rows: readonly CanonicalRow[]): Promise<RaisedAlert[]>;
  /**
   * Whether an allow indicator wins for this entity (file = a hash, ip = an address, url = a URL or host;
   * 'domain' is accepted too). Detection and incidents consult it to suppress alerts on allowed entities.
   */
  isAllowed(entityKind: string, key: string, deviceId?: string): boolean;
  /** Turns an entity of an incident into an indicator linked to that incident (response/console call it). */
  indicatorFromEntity(entity: EntityToIndicator, actor?: string): Promise<Indicator>;
  /** Searches stored telemetry backwards for sightings of these indicators and raises alerts for them. */
  retroHunt(ids: readonly string[], options?: { days?: number }): Promise<RetroHuntReport>;
  /** Expires what is due now (also runs on a timer). Returns how many expired. */
  sweep(): Promise<number>;
  importStix(input: unknown, actor: string, options?: { source?: string; defaultAction?: IndicatorAction; retroHunt?: boolean }): Promise<StixImportReport>;
  exportStix(): Promise<StixBundle>;
  /** ATT&CK technique ids linked to an indicator through STIX relationships. */
  techniquesOf(indicatorId: string): string[];
  readonly taxii: TaxiiData;
  /** Resolves when background work started so far (retro-hunts) has finished. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export type GroupNames = string | readonly string[] | undefined;

export interface IntelOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly now?: () => number;
  /**
   * The device group of a device (posture): its id and/or name, which an indicator's deviceGroups may name.
   * Answers are cached for 30 s. Without it, scoped indicators apply nowhere.
   */
  readonly deviceGroupOf?: (deviceId: string) => GroupNames | Promise<GroupNames>;
  /** Queues a remediation (response). Used for block_and_remediate sightings found by retro-hunts. */
  readonly proposeRemediation?: (proposal: RemediationProposal) => Promise<unknown> | unknown;
  /** How far back a retro-hunt looks (default 30 days, as advanced hunting's retention). */
  readonly retroHuntDays?: number;
  /** Rows a retro-hunt examines per table at most (default 50,000). */
  readonly retroHuntMaxRows?: number;
  /** How often the expiry sweep runs (default 1,000 ms); 0 = only when sweep() is called. */
  readonly sweepIntervalMs?: number;
  /** Most active indicators (default 5,000,000; Defender allows 15,000 per tenant). */
  readonly maxIndicators?: number;
  /** Called when background work fails (a retro-hunt); the service keeps going. */
  readonly onError?: (error: unknown, context: string) => void;
}

const DAY_MS = 86_400_000;
const TAXII_COLLECTION_TITLE = 'Vigil indicators';
const STIX_MEDIA = 'application/stix+json;version=2.1';

const migrations = (dialect: 'sqlite' | 'postgres'): Migration[] => [{
  version: 1,
  name: 'indicators, STIX objects, TAXII collections',
  async up(db) {
    await db.schema.createTable('intel_indicators')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('device_groups', 'text', (c) => c.notNull())
      .addColumn('generate_alert', 'integer', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('incident_id', 'text')
      .addColumn('external_id', 'text')
      .addColumn('recommended_actions', 'text')
      .addColumn('stix_id', 'text')
      .addColumn('stix', 'text')
      .addColumn('stix_version', 'bigint')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_intel_indicators_version').on('intel_indicators').column('version').execute();
    await db.schema.createIndex('ix_intel_indicators_value').on('intel_indicators').columns(['type', 'value']).execute();
    await db.schema.createTable('intel_stix_objects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('json', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('intel_taxii_collections')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('can_read', 'integer', (c) => c.notNull())
      .addColumn('can_write', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createTable('intel_taxii_objects')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
      .addColumn('collection', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('date_added', 'bigint', (c) => c.notNull())
      .addColumn('latest', 'integer', (c) => c.notNull())
      .addColumn('first', 'integer', (c) => c.notNull())
      .addColumn('json', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_intel_taxii_latest').on('intel_taxii_objects').columns(['collection', 'latest', 'seq']).execute();
    await db.schema.createIndex('ix_intel_taxii_id').on('intel_taxii_objects').columns(['collection', 'id', 'version']).execute();
  },
}];

type Row = Record<string, any>;

function fromRow(r: Row): Indicator {
  return {
    id: r.id, type: r.type, value: r.value, action: r.action, title: r.title, description: r.description, severity: r.severity,
    expiresAt: r.expires_at ?? null, deviceGroups: JSON.parse(r.device_groups), generateAlert: Boolean(r.generate_alert),
    source: r.source, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at, incidentId: r.incident_id ?? null,
    externalId: r.external_id ?? null, recommendedActions: r.recommended_actions ?? null, stixId: r.stix_id ?? null,
    state: r.state, version: Number(r.version),
  };
}

function toRow(ind: Indicator, stix?: { obj: StixObject; version: number } | null): Row {
  return {
    id: ind.id, type: ind.type, value: ind.value, action: ind.action, title: ind.title, description: ind.description,
    severity: ind.severity, expires_at: ind.expiresAt, device_groups: JSON.stringify(ind.deviceGroups),
    generate_alert: ind.generateAlert ? 1 : 0, source: ind.source, created_by: ind.createdBy, created_at: ind.createdAt,
    updated_at: ind.updatedAt, incident_id: ind.incidentId, external_id: ind.externalId, recommended_actions: ind.recommendedActions,
    stix_id: ind.stixId, stix: stix ? JSON.stringify(stix.obj) : null, stix_version: stix ? stix.version : null,
    state: ind.state, version: ind.version,
  };
}

const uniqKey = (type: string, value: string, groups: readonly string[]) => `${type}|${value}|${groups.join(',')}`;

const toFeed = (i: Indicator): FeedIndicator => ({
  id: i.id, type: i.type, value: i.value, action: i.action, severity: i.severity, title: i.title, expiresAt: i.expiresAt,
});

const CHUNK = 400;

export async function createIntelService(options: IntelOptions): Promise<IntelService> {
  const { store, bus } = options;
  const now = options.now ?? Date.now;
  const db = store.db;
  await store.migrate('intel', migrations(store.dialect));

  const byId = new Map<string, Indicator>(); // every indicator, tombstones included (the feed needs them)
  const uniq = new Map<string, string>(); // active: type|value|groups → id
  const byStixId = new Map<string, string>();
  const stixOriginal = new Map<string, { obj: StixObject; version: number }>(); // indicator id → imported STIX object
  const index = createIndicatorIndex();
  const heap = new ExpiryHeap();
  // The change log: logVersions[i] is the version at which logIds[i] last changed (stale entries skipped by version).
  let logVersions: number[] = [];
  let logIds: string[] = [];
  let version = 0;
  const waiters = new Set<() => void>();
  const background = new Set<Promise<unknown>>();
  let closed = false;

  // Related STIX objects (malware, attack patterns, relationships) for ATT&CK techniques on alerts.
  const stixObjects = new Map<string, StixObject>();
  // Device groups, cached briefly: matching is synchronous, so callers warm the cache first (ensureGroups).
  const groupCache = new Map<string, { groups: readonly string[]; until: number }>();
  let scopedActive = 0;
  const GROUP_TTL_MS = 30_000;
  async function ensureGroups(deviceIds: Iterable<unknown>) {
    if (!options.deviceGroupOf || scopedActive === 0) return;
    const t = now();
    const missing = new Set<string>();
    for (const id of deviceIds) {
      if (typeof id !== 'string' || id === '') continue;
      const hit = groupCache.get(id);
      if (!hit || hit.until <= t) missing.add(id);
    }
    await Promise.all([...missing].map(async (id) => {
      let answer: GroupNames;
      try { answer = await options.deviceGroupOf!(id); } catch (error) { options.onError?.(error, 'deviceGroupOf'); answer = undefined; }
      const groups = answer === undefined ? [] : typeof answer === 'string' ? [answer] : [...answer];
      groupCache.set(id, { groups, until: now() + GROUP_TTL_MS });
      if (groupCache.size > 100_000) groupCache.delete(groupCache.keys().next().value!);
    }));
  }
  const groupOf = (deviceId: string): readonly string[] => groupCache.get(deviceId)?.groups ?? [];
  const matchCtx = (): MatchContext => ({ now: now(), groupOf });
  // Scratch space for the synchronous hot path (one row at a time), reused to spare the garbage collector.
  const liveCtx = { now: 0, groupOf };
  const scratchCandidates: Candidate[] = [];
  const scratchDecisions: Decision[] = [];
  const NO_DECISIONS: Decision[] = [];

  function activate(ind: Indicator) {
    index.add(ind);
    if (ind.deviceGroups.length) scopedActive++;
    uniq.set(uniqKey(ind.type, ind.value, ind.deviceGroups), ind.id);
    if (ind.expiresAt) heap.push(Date.parse(ind.expiresAt), ind.id);
  }
  function deactivate(ind: Indicator) {
    index.remove(ind);
    if (ind.deviceGroups.length) scopedActive--;
    const key = uniqKey(ind.type, ind.value, ind.deviceGroups);
    if (uniq.get(key) === ind.id) uniq.delete(key);
  }
  function remember(ind: Indicator) {
    const previous = byId.get(ind.id);
    if (previous?.state === 'active') deactivate(previous);
    byId.set(ind.id, ind);
    if (ind.stixId) byStixId.set(ind.stixId, ind.id);
    if (ind.state === 'active') activate(ind);
    logVersions.push(ind.version);
    logIds.push(ind.id);
  }

  // Load state.
  {
    const rows = await db.selectFrom('intel_indicators').selectAll().orderBy('version').execute();
    for (const r of rows) {
      const ind = fromRow(r);
      remember(ind);
      if (r.stix) stixOriginal.set(ind.id, { obj: JSON.parse(r.stix), version: Number(r.stix_version) });
      version = Math.max(version, ind.version);
    }
    for (const r of await db.selectFrom('intel_stix_objects').select(['json']).execute()) {
      const obj = JSON.parse(r.json) as StixObject;
      stixObjects.set(obj.id, obj);
    }
  }
  let collections = (await db.selectFrom('intel_taxii_collections').selectAll().execute()).map((r): TaxiiCollectionInfo => ({
    id: r.id, title: r.title, description: r.description, can_read: Boolean(r.can_read), can_write: Boolean(r.can_write), media_types: [STIX_MEDIA],
  }));
  if (collections.length === 0) {
    const c = { id: crypto.randomUUID(), title: TAXII_COLLECTION_TITLE, description: "Every indicator Vigil enforces, as STIX 2.1, with related malware, attack patterns and relationships. Objects added here become Vigil indicators.", can_read: 1, can_write: 1 };
    await db.insertInto('intel_taxii_collections').values(c).execute();
    collections = [{ ...c, can_read: true, can_write: true, media_types: [STIX_MEDIA] }];
  }
  const mainCollection = collections[0].id;
  let lastDateAdded = Number((await db.selectFrom('intel_taxii_objects').select(sql<number>`max(date_added)`.as('m')).executeTakeFirst())?.m ?? 0);

  const nextId = monotonicFactory(); // ULIDs; within one millisecond the random part counts up (cheap for bulk imports)

  /**
   * Multi-row INSERT. On SQLite a precompiled statement text with ? placeholders (bulk imports of a million
   * indicators spend most of their time building query trees otherwise); elsewhere the query builder.
   */
  async function insertRows(tx: Kysely<any>, table: string, rows: readonly Row[]) {
    if (rows.length === 0) return;
    const columns = Object.keys(rows[0]);
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK);
      if (store.dialect !== 'sqlite') { await tx.insertInto(table).values(part).execute(); continue; }
      const tuple = `(${columns.map(() => '?').join(',')})`;
      const params: unknown[] = [];
      for (const row of part) for (const c of columns) params.push(row[c]);
      await tx.executeQuery(CompiledQuery.raw(
        `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) VALUES ${part.map(() => tuple).join(',')}`, params));
    }
  }

  // Writes run one at a time so versions and the in-memory state follow the table exactly.
  let chain: Promise<unknown> = Promise.resolve();
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const result = chain.then(work);
    chain = result.catch(() => undefined);
    return result;
  }

  function notify() {
    for (const wake of [...waiters]) wake();
  }

  function track<T>(work: Promise<T>): Promise<T> {
    background.add(work);
    work.catch((error) => options.onError?.(error, 'intel background work')).finally(() => background.delete(work));
    return work;
  }

  /** A TAXII date_added in microseconds, strictly increasing so pages never split a tie. */
  function nextDateAdded(): number {
    lastDateAdded = Math.max(now() * 1000, lastDateAdded + 1);
    return lastDateAdded;
  }

  async function taxiiInsert(tx: typeof db, entries: { obj: StixObject; isNew: boolean }[]) {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      const values: Row[] = [];
      for (const { obj, isNew } of chunk) {
        const v = new Date(versionOf(obj)).toISOString();
        let latest = 1;
        let first = 1;
        if (!isNew) {
          const current = await tx.selectFrom('intel_taxii_objects').select(['version', 'seq'])
            .where('collection', '=', mainCollection).where('id', '=', obj.id).where('latest', '=', 1).executeTakeFirst();
          if (current) {
            first = 0;
            if (current.version === v) continue; // this exact version is already there
            if (Date.parse(current.version) > Date.parse(v)) latest = 0;
            else await tx.updateTable('intel_taxii_objects').set({ latest: 0 }).where('seq', '=', current.seq).execute();
          }
        }
        values.push({ collection: mainCollection, id: obj.id, version: v, date_added: nextDateAdded(), latest, first, json: JSON.stringify(obj) });
      }
      await insertRows(tx, 'intel_taxii_objects', values);
    }
  }

  function stixFor(ind: Indicator): StixObject {
    const original = stixOriginal.get(ind.id);
    if (original && original.version === ind.version) return original.obj;
    return indicatorToStix(ind, original?.obj);
  }

  interface Change { ind: Indicator; previous?: Indicator; change: 'created' | 'updated' | 'deleted' | 'expired'; stix?: StixObject | null }

  /** Persists a batch of changes (versions assigned here), then applies them in memory and wakes the feed. */
  async function commit(changes: Change[]): Promise<Indicator[]> {
    if (changes.length === 0) return [];
    const stamped = changes.map((c) => {
      const ind = { ...c.ind, version: ++version } as Indicator;
      return { ...c, ind };
    });
    const nextStix = new Map<string, { obj: StixObject; version: number }>();
    try {
      await db.transaction().execute(async (tx) => {
        const inserts: Row[] = [];
        for (const c of stamped) {
          let stix: { obj: StixObject; version: number } | null = stixOriginal.get(c.ind.id) ?? null;
          if (c.stix) stix = { obj: c.stix, version: c.ind.version };
          else if (stix && c.change === 'updated') stix = { obj: stix.obj, version: stix.version }; // original kept, now diverged
          if (stix) nextStix.set(c.ind.id, stix);
          if (c.change === 'created') inserts.push(toRow(c.ind, stix));
          else await tx.updateTable('intel_indicators').set(toRow(c.ind, stix)).where('id', '=', c.ind.id).execute();
        }
        await insertRows(tx, 'intel_indicators', inserts);
        const mirror = stamped.filter((c) => c.change !== 'expired').map((c) => {
          const s = nextStix.get(c.ind.id);
          const obj = s && s.version === c.ind.version ? s.obj : indicatorToStix(c.ind, s?.obj);
          return { obj: c.change === 'deleted' ? { ...obj, revoked: true, modified: new Date(now()).toISOString() } : obj, isNew: c.change === 'created' };
        });
        await taxiiInsert(tx as typeof db, mirror);
      });
    } catch (error) {
      version -= stamped.length;
      throw error;
    }
    for (const c of stamped) {
      const s = nextStix.get(c.ind.id);
      if (s) stixOriginal.set(c.ind.id, s);
      remember(c.ind);
    }
    compactLog();
    notify();
    for (const c of stamped) await bus.publish('indicator.changed', { indicatorId: c.ind.id, change: c.change });
    return stamped.map((c) => c.ind);
  }

  function compactLog() {
    if (logIds.length < 1024 || logIds.length < byId.size * 2) return;
    const v: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < logIds.length; i++) {
      if (byId.get(logIds[i])?.version === logVersions[i]) { v.push(logVersions[i]); ids.push(logIds[i]); }
    }
    logVersions = v;
    logIds = ids;
  }

  function build(clean: CleanInput, actor: string, extra: Partial<Indicator> = {}): Indicator {
    const at = new Date(now()).toISOString();
    return {
      id: nextId(), ...clean, createdBy: actor, createdAt: at, updatedAt: at, stixId: newStixId('indicator'),
      state: 'active', version: 0, ...extra,
    };
  }

  function merged(existing: Indicator, clean: CleanInput): Indicator {
    return { ...existing, ...clean, incidentId: clean.incidentId ?? existing.incidentId, updatedAt: new Date(now()).toISOString() };
  }

  const sameContent = (a: Indicator, b: CleanInput) =>
    a.action === b.action && a.title === b.title && a.description === b.description && a.severity === b.severity
    && a.expiresAt === b.expiresAt && a.generateAlert === b.generateAlert && a.source === b.source
    && (b.incidentId === null || a.incidentId === b.incidentId) && a.externalId === b.externalId && a.recommendedActions === b.recommendedActions;

  function activeCount() { return index.size; }

  function capacity(adding: number) {
    const max = options.maxIndicators ?? 5_000_000;
    if (activeCount() + adding > max) throw new VigilError('indicator_limit', 409, `at most ${max} active indicators; delete or let some expire first`);
  }

  function huntLater(inds: readonly Indicator[], retro: boolean | undefined) {
    if (retro === false) return;
    const targets = inds.filter((i) => i.action !== 'allow');
    if (targets.length) void track(service.retroHunt(targets.map((i) => i.id)));
  }

  // ---------- retro-hunt ----------
  function conditions(table: string, inds: readonly Indicator[]): { where: string; params: unknown[] }[] {
    const slots = SLOTS[table] ?? [];
    const def = tableDef(table)!;
    const out: { where: string; params: unknown[] }[] = [];
    const byType = new Map<IndicatorType, string[]>();
    for (const i of inds) {
      if (!byType.has(i.type)) byType.set(i.type, []);
      byType.get(i.type)!.push(i.value);
    }
    const inList = (column: string, values: string[], lower: boolean) => {
      for (let k = 0; k < values.length; k += CHUNK) {
        const part = values.slice(k, k + CHUNK);
        out.push({ where: `${lower ? `lower(${quoteIdent(column)})` : quoteIdent(column)} IN (${part.map(() => '?').join(',')})`, params: part });
      }
    };
    const likeList = (column: string, values: string[]) => {
      for (let k = 0; k < values.length; k += 50) {
        const part = values.slice(k, k + 50);
        out.push({
          where: `(${part.map(() => `lower(${quoteIdent(column)}) LIKE ? ESCAPE '\\'`).join(' OR ')})`,
          params: part.map((v) => `%${v.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`),
        });
      }
    };
    for (const slot of slots) {
      if (slot.kind === 'file') {
        for (const [type, column] of [['sha256', slot.sha256], ['sha1', slot.sha1], ['md5', slot.md5]] as const) {
          if (column && def.byName.has(column) && byType.has(type)) inList(column, byType.get(type)!, true);
        }
      } else if (slot.kind === 'cert') {
        if (byType.has('cert')) likeList('AdditionalFields', byType.get('cert')!);
      } else if (slot.kind === 'ip') {
        const exact = [...(byType.get('ipv4') ?? []), ...(byType.get('ipv6') ?? [])];
        if (exact.length) inList(slot.column, exact, true);
        // IPv4 ranges narrow the scan to their whole leading octets (10.1.0.0/16 → '10.1.%'); others scan the column.
        const ranges = byType.get('cidr') ?? [];
        const prefixes = ranges.map((r) => {
          const [net, bits] = r.split('/');
          const whole = Math.floor(Number(bits) / 8);
          return net.includes(':') || whole === 0 ? undefined : `${net.split('.').slice(0, whole).join('.')}.`;
        });
        if (prefixes.some((p) => p === undefined)) out.push({ where: `${quoteIdent(slot.column)} IS NOT NULL AND ${quoteIdent(slot.column)} <> ''`, params: [] });
        else if (prefixes.length) {
          for (let k = 0; k < prefixes.length; k += 50) {
            const part = prefixes.slice(k, k + 50) as string[];
            out.push({ where: `(${part.map(() => `${quoteIdent(slot.column)} LIKE ?`).join(' OR ')})`, params: part.map((p) => `${p}%`) });
          }
        }
      } else {
        const hosts = [...(byType.get('domain') ?? []), ...(byType.get('url') ?? []).map((u) => u.replace(/^https?:\/\//, ''))];
        if (hosts.length) likeList(slot.column, hosts);
        const ips = [...(byType.get('ipv4') ?? []), ...(byType.get('ipv6') ?? [])];
        if (ips.length) likeList(slot.column, ips);
      }
    }
    return out;
  }

  function decode(table: string, columns: readonly string[], values: readonly unknown[]): CanonicalRow {
    const def = tableDef(table)!;
    const row: CanonicalRow = {};
    columns.forEach((name, i) => {
      const column = def.byName.get(name);
      if (column) row[name] = decodeValue(column.type, values[i]);
      else if (name === '_SensorId') row._SensorId = values[i];
    });
    return row;
  }

  async function recipientsOf(messageId: unknown): Promise<string[]> {
    if (typeof messageId !== 'string' || messageId === '') return [];
    const result = await store.query(
      `SELECT DISTINCT "RecipientEmailAddress" FROM "EmailEvents" WHERE "NetworkMessageId" = ? LIMIT 1000`, [messageId], { timeoutMs: 10_000 });
    return result.rows.map((r) => String(r[0])).filter((r) => r && r !== 'null');
  }

  function techniques(ind: Indicator): string[] {
    return ind.stixId ? service.techniquesOf(ind.id) : [];
  }

  async function raise(alerts: RaisedAlert[]) {
    for (const alert of alerts) await bus.publish('alert.raised', { alert });
  }

  // ---------- antivirus detections from the agent ----------
  function antivirusAlert(sensorId: string, row: CanonicalRow): RaisedAlert | undefined {
    const extra = additional(row) ?? {};
    const threat = String(extra.ThreatName ?? 'Unknown threat');
    const indicatorId = typeof extra.IndicatorId === 'string' && extra.IndicatorId ? extra.IndicatorId : undefined;
    const quarantined = extra.Action === 'quarantined';
    const file = fileEvidence(row, { threatName: threat, engine: extra.Engine ?? null, action: extra.Action ?? null });
    const deviceId = typeof row.DeviceId === 'string' ? row.DeviceId : undefined;
    if (!indicatorId && file && service.isAllowed('file', file.key, deviceId)) return undefined; // an allow indicator overrides a bad verdict
    const ind = indicatorId ? byId.get(indicatorId) : undefined;
    const at = typeof row.Timestamp === 'string' ? row.Timestamp : new Date(now()).toISOString();
    const impacted = impactedEvidence('DeviceEvents', row);
    const where = impacted[0]?.label ?? sensorId;
    return {
      alertId: ulid(),
      title: `'${threat}' malware was ${quarantined ? 'prevented' : 'detected'}`,
      description: `${String(extra.Engine ?? 'antivirus')} detection of ${threat} in ${String(row.FolderPath ?? row.FileName ?? 'a file')} on ${where}; `
        + `${quarantined ? 'the file was quarantined' : 'the file was not remediated'}.${ind ? ` Indicator: ${ind.title}.` : ''}`,
      severity: ind?.severity ?? (quarantined ? 'medium' : 'high'),
      category: 'Malware',
      detectionSource: indicatorId ? 'customTi' : 'antivirus',
      serviceSource: 'endpoint',
      mitreTechniques: ind ? techniques(ind) : [],
      tactics: [],
      rule: indicatorId
        ? { id: indicatorId, title: ind?.title ?? threat, source: 'indicator' }
        : { id: `antivirus:${String(extra.Engine ?? 'agent')}:${threat}`, title: threat, source: extra.Engine === 'yara' ? 'yara' : 'builtin' },
      firstActivity: at,
      lastActivity: at,
      evidence: file ? [...impacted, file] : impacted,
      events: [{ table: 'DeviceEvents', reportId: row.ReportId as string | number, sensorId, row }],
      dedupKey: `${indicatorId ? 'customTi' : 'antivirus'}|${indicatorId ?? threat}|${deviceId ?? sensorId}|${file?.key ?? String(row.FolderPath ?? '')}`,
    };
  }

  // ---------- mail (issue 9): the mail gateway's verdicts ----------
  // An EmailEvents row whose ThreatTypes carry Malware or Phish (the gateway's verdict, with its DetectionMethods)
  // becomes an alert with the mailbox, the message and the sender as entities, and the condemned attachments
  // (AdditionalFields.Files, keyed by SHA-256) and URLs, so mail and endpoint alerts about one file meet.
  function mailAlert(sensorId: string, row: CanonicalRow): RaisedAlert | undefined {
    const threats = String(row.ThreatTypes ?? '').split(',').map((t) => t.trim()).filter((t) => t === 'Malware' || t === 'Phish');
    if (threats.length === 0) return undefined;
    const extra = additional(row) ?? {};
    const files = Array.isArray(extra.Files) ? extra.Files as Record<string, unknown>[] : [];
    const urls = Array.isArray(extra.Urls) ? (extra.Urls as unknown[]).filter((u): u is string => typeof u === 'string') : [];
    const fileEv = files.map((f) => fileEvidence({ SHA256: f.SHA256, SHA1: f.SHA1, MD5: f.MD5, FileName: f.FileName }, { fileType: f.FileType ?? null }))
      .filter((e): e is NonNullable<typeof e> => e !== undefined);
    const urlEv = urls.map((u) => ({ kind: 'url' as const, key: u, label: u, role: 'Related' as const }));
    const malware = threats.includes('Malware');
    const blocked = row.DeliveryAction === 'Blocked';
    const at = typeof row.Timestamp === 'string' ? row.Timestamp : new Date(now()).toISOString();
    const rcpt = String(row.RecipientEmailAddress ?? '').toLowerCase();
    const names = String(row.ThreatNames ?? '') || threats.join(', ');
    return {
      alertId: ulid(),
      title: malware ? (blocked ? 'Email messages containing malware were blocked' : 'Email messages containing malware were delivered')
        : (blocked ? 'Phishing email was blocked' : 'Phishing email was delivered'),
      description: `The mail gateway judged a message from ${String(row.SenderFromAddress ?? 'an unknown sender')} to ${rcpt} `
        + `('${String(row.Subject ?? '')}') as ${threats.join(' and ')} (${names}; ${String(row.DetectionMethods ?? '')}); `
        + `delivery: ${String(row.DeliveryAction ?? '')} to ${String(row.DeliveryLocation ?? '')}.`,
      severity: blocked ? 'medium' : 'high',
      category: malware ? 'Malware' : 'InitialAccess',
      detectionSource: 'mail',
      serviceSource: 'email',
      mitreTechniques: malware ? ['T1566.001'] : ['T1566.002'],
      tactics: ['InitialAccess'],
      rule: { id: `mail:${malware ? 'malware' : 'phish'}`, title: `Mail gateway ${malware ? 'malware' : 'phish'} verdict`, source: 'builtin' },
      firstActivity: at,
      lastActivity: at,
      evidence: [...impactedEvidence('EmailEvents', row), ...fileEv, ...urlEv],
      events: [{ table: 'EmailEvents', reportId: row.ReportId as string | number, sensorId, row }],
      dedupKey: `mail|${String(row.NetworkMessageId ?? '')}|${rcpt}`,
    };
  }

  async function alertsFor(table: string, sensorId: string, row: CanonicalRow, decisions: readonly Decision[], seen: Set<string>, retro: boolean) {
    const out: RaisedAlert[] = [];
    for (const d of decisions) {
      if (!alerts(d.indicator)) continue;
      const recipients = table === 'EmailUrlInfo' ? await recipientsOf(row.NetworkMessageId) : undefined;
      const alert = indicatorAlert({ table, sensorId, row, decision: d, retro, recipients, techniques: techniques(d.indicator) });
      if (seen.has(alert.dedupKey)) continue;
      seen.add(alert.dedupKey);
      out.push(alert);
    }
    return out;
  }

  const unsubscribe = bus.subscribe('telemetry.ingested', async ({ table, sensorId, rows }) => {
    await service.handleRows(table, sensorId, rows);
  }, { name: 'intel' });

  const timer = (options.sweepIntervalMs ?? 1000) > 0
    ? setInterval(() => { if (heap.peek() <= now()) void service.sweep().catch((e) => options.onError?.(e, 'intel sweep')); }, options.sweepIntervalMs ?? 1000)
    : undefined;
  timer?.unref();

  const service: IntelService = {
    async create(input, actor, opts = {}) {
      const created = await serial(async () => {
        const clean = validateIndicator(input, now());
        const existing = uniq.get(uniqKey(clean.type, clean.value, clean.deviceGroups));
        if (existing) throw new VigilError('conflict', 409, `an active ${clean.type} indicator for ${clean.value} with this scope already exists: ${existing}`, { field: 'value' });
        capacity(1);
        const [ind] = await commit([{ ind: build(clean, actor), change: 'created' }]);
        return ind;
      });
      huntLater([created], opts.retroHunt);
      return created;
    },

    async update(id, patch, _actor) {
      const result = await serial(async () => {
        const existing = byId.get(id);
        if (!existing || existing.state === 'deleted') throw new VigilError('not_found', 404, 'indicator not found');
        if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw invalid('body', 'must be a JSON object');
        const p = patch as Record<string, unknown>;
        for (const field of ['type', 'value'] as const) {
          if (p[field] !== undefined && p[field] !== existing[field]
            && !(field === 'value' && typeof p.value === 'string' && safeNormalise(existing.type, p.value) === existing.value)) {
            throw invalid(field, 'cannot change; delete this indicator and create a new one');
          }
        }
        const expiryUnchanged = p.expiresAt === undefined || p.expiresAt === existing.expiresAt;
        const body: Record<string, unknown> = { ...existing, ...p, type: existing.type, value: existing.value };
        // A new action without a generateAlert takes that action's default (allow never alerts, audit always does).
        if (p.action !== undefined && p.generateAlert === undefined) delete body.generateAlert;
        const clean = validateIndicator(expiryUnchanged && existing.expiresAt && existing.state !== 'active' ? { ...body, expiresAt: null } : body, now());
        const next = merged(existing, expiryUnchanged && existing.state !== 'active' ? { ...clean, expiresAt: existing.expiresAt } : clean);
        const key = uniqKey(next.type, next.value, next.deviceGroups);
        const holder = uniq.get(key);
        if (holder && holder !== id) throw new VigilError('conflict', 409, `another active indicator has this value and scope: ${holder}`, { field: 'deviceGroups' });
        const state = next.expiresAt && Date.parse(next.expiresAt) <= now() ? 'expired' : 'active';
        const [ind] = await commit([{ ind: { ...next, state }, previous: existing, change: 'updated' }]);
        return ind;
      });
      return result;
    },

    async remove(id, _actor) {
      await serial(async () => {
        const existing = byId.get(id);
        if (!existing || existing.state === 'deleted') throw new VigilError('not_found', 404, 'indicator not found');
        await commit([{ ind: { ...existing, state: 'deleted', updatedAt: new Date(now()).toISOString() }, previous: existing, change: 'deleted' }]);
      });
    },

    get(id) {
      const ind = byId.get(id);
      return ind && ind.state !== 'deleted' ? ind : undefined;
    },

    async list(filter = {}) {
      const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 1000);
      let q = db.selectFrom('intel_indicators').selectAll()
        .where('state', 'in', filter.includeExpired ? ['active', 'expired'] : ['active']);
      if (filter.type) q = q.where('type', '=', filter.type);
      if (filter.action) q = q.where('action', '=', filter.action);
      if (filter.source) q = q.where('source', '=', filter.source);
      if (filter.incidentId) q = q.where('incident_id', '=', filter.incidentId);
      if (filter.q) {
        const like = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
        q = q.where((eb) => eb.or([
          eb(sql`lower(value)`, 'like', sql`${like} ESCAPE '\\'`), eb(sql`lower(title)`, 'like', sql`${like} ESCAPE '\\'`),
        ]));
      }
      if (filter.cursor) q = q.where('id', '>', filter.cursor);
      const rows = await q.orderBy('id').limit(limit + 1).execute();
      const page = rows.slice(0, limit).map(fromRow);
      return { indicators: page, nextCursor: rows.length > limit ? page[page.length - 1].id : null };
    },

    async importMany(items, actor, opts = {}) {
      const rejected: ImportRejection[] = [];
      const report = await serial(async () => {
        const t = now();
        const changes: Change[] = [];
        const inBatch = new Map<string, number>();
        let unchanged = 0;
        items.forEach((item, index) => {
          const line = opts.lines?.[index];
          try {
            const clean = validateIndicator(item, t);
            const key = uniqKey(clean.type, clean.value, clean.deviceGroups);
            if (inBatch.has(key)) throw invalid('value', `duplicates element ${inBatch.get(key)} of this import`);
            inBatch.set(key, index);
            const existingId = uniq.get(key);
            const existing = existingId ? byId.get(existingId) : undefined;
            if (existing) {
              if (sameContent(existing, clean)) unchanged++;
              else changes.push({ ind: merged(existing, clean), previous: existing, change: 'updated' });
            } else {
              changes.push({ ind: build(clean, actor), change: 'created' });
            }
          } catch (error) {
            if (!(error instanceof VigilError)) throw error;
            const field = (error.detail as { field?: string } | undefined)?.field;
            rejected.push({ index, ...(line !== undefined ? { line } : {}), ...(field ? { field } : {}), error: error.message });
          }
        });
        capacity(changes.filter((c) => c.change === 'created').length);
        const done: Indicator[] = [];
        for (let i = 0; i < changes.length; i += 20_000) done.push(...await commit(changes.slice(i, i + 20_000)));
        return {
          created: changes.filter((c) => c.change === 'created').length,
          updated: changes.filter((c) => c.change === 'updated').length,
          unchanged, rejected, ids: done.map((d) => d.id), done,
        };
      });
      huntLater(report.done, opts.retroHunt);
      const { done: _done, ...rest } = report;
      return rest;
    },

    async importCsv(text, actor, opts = {}) {
      const { rows, lines } = parseCsv(text);
      if (rows.length === 0) throw invalid('body', 'the CSV is empty; the first line names the columns (type,value,action,title,…)');
      const header = rows[0].map((h) => h.trim());
      for (const need of ['type', 'value', 'action', 'title']) {
        if (!header.includes(need)) throw invalid('body', `the CSV header lacks the '${need}' column`);
      }
      const items = rows.slice(1).map((cells) => {
        const item: Record<string, unknown> = {};
        header.forEach((name, i) => {
          const cell = cells[i] ?? '';
          if (cell === '') return;
          if (name === 'deviceGroups') item.deviceGroups = cell.split(';').map((g) => g.trim()).filter(Boolean);
          else if (name === 'generateAlert') item.generateAlert = /^(true|1|yes)$/i.test(cell) ? true : /^(false|0|no)$/i.test(cell) ? false : cell;
          else if (['type', 'value', 'action', 'title', 'description', 'severity', 'expiresAt', 'source', 'externalId', 'recommendedActions', 'incidentId'].includes(name)) item[name] = cell;
        });
        return item;
      });
      return service.importMany(items, actor, { ...opts, lines: lines.slice(1) });
    },

    exportAll(opts = {}) {
      const out: Indicator[] = [];
      for (const ind of byId.values()) if (ind.state === 'active' || (opts.includeExpired && ind.state === 'expired')) out.push(ind);
      return out.sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    exportCsv(opts = {}) {
      const columns = ['id', 'type', 'value', 'action', 'title', 'description', 'severity', 'expiresAt', 'deviceGroups', 'generateAlert',
        'source', 'createdBy', 'createdAt', 'updatedAt', 'incidentId', 'externalId', 'recommendedActions', 'state'] as const;
      const lines = [columns.join(',')];
      for (const ind of service.exportAll(opts)) lines.push(columns.map((c) => csvField(ind[c])).join(','));
      return `${lines.join('\r\n')}\r\n`;
    },

    async feed({ since, waitMs, deviceId }) {
      if (deviceId) await ensureGroups([deviceId]);
      const applies = (ind: Indicator) => ind.deviceGroups.length === 0
        || (deviceId !== undefined && groupOf(deviceId).some((g) => ind.deviceGroups.includes(g)));
      const compute = (): FeedResponse | undefined => {
        // since 0 (a new sensor) or a version this server never issued (its database was replaced): everything.
        // At version 0 there is nothing yet, and the sensor waits like any other that is up to date.
        if (since > version || (since <= 0 && version > 0)) {
          const indicators: FeedIndicator[] = [];
          for (const ind of byId.values()) if (ind.state === 'active' && applies(ind)) indicators.push(toFeed(ind));
          return { version, indicators, removed: [], full: true };
        }
        if (since === version || since <= 0) return undefined;
        // First log entry after `since` (the log is in version order).
        let lo = 0;
        let hi = logVersions.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (logVersions[mid] <= since) lo = mid + 1; else hi = mid;
        }
        const indicators: FeedIndicator[] = [];
        const removed: string[] = [];
        const seen = new Set<string>();
        for (let i = logVersions.length - 1; i >= lo; i--) {
          const id = logIds[i];
          if (seen.has(id)) continue;
          seen.add(id);
          const ind = byId.get(id)!;
          if (ind.state === 'active' && applies(ind)) indicators.push(toFeed(ind));
          else removed.push(id);
        }
        return { version, indicators: indicators.reverse(), removed: removed.reverse(), full: false };
      };
      const ready = compute();
      const nothing = (): FeedResponse => ({ version, indicators: [], removed: [], full: since <= 0 });
      if (ready || waitMs <= 0 || closed) return ready ?? nothing();
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timeout); waiters.delete(done); resolve(); };
        const timeout = setTimeout(done, waitMs);
        waiters.add(done);
      });
      return compute() ?? nothing();
    },

    version: () => version,
    size: () => activeCount(),

    match(table, row) {
      const slots = SLOTS[table];
      if (slots === undefined) return NO_DECISIONS;
      liveCtx.now = now();
      scratchDecisions.length = 0;
      matchRow(index, slots, row, liveCtx, scratchDecisions, scratchCandidates);
      return scratchDecisions.length === 0 ? NO_DECISIONS : scratchDecisions.slice();
    },

    async handleRows(table, sensorId, rows) {
      const raised: RaisedAlert[] = [];
      const seen = new Set<string>();
      const slots = SLOTS[table];
      if (scopedActive > 0) await ensureGroups(rows.map((r) => r.DeviceId));
      const ctx = matchCtx();
      const decisions: Decision[] = [];
      for (const row of rows) {
        if (table === 'DeviceEvents' && row.ActionType === 'AntivirusDetection') {
          const alert = antivirusAlert(sensorId, row);
          if (alert && !seen.has(alert.dedupKey)) { seen.add(alert.dedupKey); raised.push(alert); }
          continue;
        }
        if (table === 'EmailEvents' && row.ThreatTypes) { // mail (issue 9): the gateway's verdict; indicator matching goes on below
          const alert = mailAlert(sensorId, row);
          if (alert && !seen.has(alert.dedupKey)) { seen.add(alert.dedupKey); raised.push(alert); }
        }
        if (!slots || index.size === 0) continue;
        decisions.length = 0;
        matchRow(index, slots, row, ctx, decisions, scratchCandidates);
        if (decisions.length) raised.push(...await alertsFor(table, sensorId, row, decisions, seen, false));
      }
      await raise(raised);
      return raised;
    },

    isAllowed(entityKind, key, deviceId) {
      if (index.size === 0 || typeof key !== 'string' || key === '') return false;
      const candidates: Candidate[] = [];
      switch (entityKind) {
        case 'file': {
          const k = key.toLowerCase();
          index.file(k.length === 64 ? k : undefined, k.length === 40 ? k : undefined, k.length === 32 ? k : undefined, candidates);
          index.cert(k, candidates);
          break;
        }
        case 'ip': index.ip(key, candidates); break;
        case 'url': case 'domain': index.url(key, candidates); break;
        default: return false;
      }
      const winner = pick(candidates, deviceId ? { DeviceId: deviceId } : undefined, matchCtx());
      return winner?.live.ind.action === 'allow';
    },

    async indicatorFromEntity(entity, actor = 'system') {
      const key = String(entity.key ?? '').trim();
      if (!entity.incidentId) throw invalid('incidentId', 'is required');
      let type: IndicatorType;
      switch (entity.kind) {
        case 'file': type = key.length === 64 ? 'sha256' : key.length === 40 ? 'sha1' : 'md5'; break;
        case 'ip': {
          const ip = parseIp(key);
          if (!ip) throw invalid('key', 'is not an IP address');
          type = ip.v === 4 ? 'ipv4' : 'ipv6';
          break;
        }
        case 'url': type = /^[a-z][a-z0-9+.-]*:\/\//i.test(key) || key.includes('/') ? 'url' : 'domain'; break;
        case 'domain': type = 'domain'; break;
        default: throw invalid('kind', `entities of kind '${entity.kind}' cannot become indicators (file, ip, url or domain can)`);
      }
      const action = entity.action ?? (type === 'sha256' || type === 'sha1' || type === 'md5' ? 'block_and_remediate' : 'block');
      const input = {
        type, value: key, action,
        title: entity.title ?? `${entity.kind} ${key} from incident ${entity.incidentId}`,
        description: `Confirmed malicious in incident ${entity.incidentId}.`,
        severity: entity.severity ?? 'high',
        expiresAt: entity.expiresAt ?? null,
        deviceGroups: entity.deviceGroups ?? [],
        source: 'incident',
        incidentId: entity.incidentId,
      };
      const clean = validateIndicator(input, now());
      const existingId = uniq.get(uniqKey(clean.type, clean.value, clean.deviceGroups));
      if (existingId) {
        const existing = byId.get(existingId)!;
        return service.update(existingId, { action: clean.action, incidentId: existing.incidentId ?? entity.incidentId }, actor);
      }
      return service.create(input, actor);
    },

    async retroHunt(ids, opts = {}) {
      const inds = ids.map((id) => byId.get(id)).filter((i): i is Indicator => i !== undefined && i.state === 'active');
      const wanted = new Set(inds.map((i) => i.id));
      const since = now() - (opts.days ?? options.retroHuntDays ?? 30) * DAY_MS;
      const cap = options.retroHuntMaxRows ?? 50_000;
      let rowsExamined = 0;
      let sightings = 0;
      let truncated = false;
      const raised: RaisedAlert[] = [];
      const seen = new Set<string>();
      const proposals = new Map<string, RemediationProposal>();
      for (const table of Object.keys(SLOTS)) {
        const slots = SLOTS[table];
        for (const cond of conditions(table, inds)) {
          const result = await store.query(
            `SELECT * FROM ${quoteIdent(table)} WHERE "Timestamp" >= ? AND ${cond.where} ORDER BY "_Seq" LIMIT ?`,
            [since, ...cond.params, cap], { timeoutMs: 60_000, maxRows: cap });
          if (result.rows.length >= cap) truncated = true;
          for (const values of result.rows) {
            rowsExamined++;
            const row = decode(table, result.columns, values);
            const sensorId = String(row._SensorId ?? '');
            delete row._SensorId;
            await ensureGroups([row.DeviceId]);
            const decisions: Decision[] = [];
            matchRow(index, slots, row, matchCtx(), decisions); // full index: precedence against every indicator
            const mine = decisions.filter((d) => wanted.has(d.indicator.id));
            if (mine.length === 0) continue;
            sightings += mine.length;
            raised.push(...await alertsFor(table, sensorId, row, mine, seen, true));
            for (const d of mine) {
              if (d.indicator.action !== 'block_and_remediate' || d.slot.kind !== 'file') continue;
              if (typeof row.DeviceId !== 'string' || !row.DeviceId) continue;
              const sha256 = typeof row.SHA256 === 'string' && row.SHA256 ? row.SHA256.toLowerCase() : undefined;
              const path = typeof row.FolderPath === 'string' && row.FolderPath ? row.FolderPath : undefined;
              const key = `${row.DeviceId}|${sha256 ?? d.observed}|${path ?? ''}`;
              if (!proposals.has(key)) {
                proposals.set(key, {
                  deviceId: row.DeviceId, kind: 'quarantine_file',
                  params: { ...(sha256 ? { sha256 } : {}), ...(path ? { path } : {}) },
                  reason: `retro-hunt: ${d.indicator.title} (indicator ${d.indicator.id}, ${d.indicator.type} ${d.indicator.value}) seen at ${String(row.Timestamp)}`,
                  indicatorId: d.indicator.id,
                });
              }
            }
          }
        }
      }
      await raise(raised);
      let remediations = 0;
      if (options.proposeRemediation) {
        for (const p of proposals.values()) {
          try { await options.proposeRemediation(p); remediations++; } catch (error) { options.onError?.(error, 'proposeRemediation'); }
        }
      }
      return { indicators: inds.length, rowsExamined, sightings, alerts: raised.length, remediations, truncated };
    },

    async sweep() {
      return serial(async () => {
        const t = now();
        const due: Indicator[] = [];
        while (heap.peek() <= t) {
          const { exp, id } = heap.pop()!;
          const ind = byId.get(id);
          if (ind && ind.state === 'active' && ind.expiresAt && Date.parse(ind.expiresAt) === exp) due.push(ind);
        }
        await commit(due.map((ind) => ({ ind: { ...ind, state: 'expired' as const }, previous: ind, change: 'expired' as const })));
        return due.length;
      });
    },

    async importStix(input, actor, opts = {}) {
      const objects: unknown[] | undefined = Array.isArray(input) ? input
        : input && typeof input === 'object' && Array.isArray((input as { objects?: unknown }).objects) ? (input as { objects: unknown[] }).objects : undefined;
      if (!objects) throw invalid('body', "a STIX bundle ({type:'bundle', id, objects:[…]}) or an envelope ({objects:[…]}) is required");
      if (input && typeof input === 'object' && !Array.isArray(input) && (input as { type?: unknown }).type !== undefined && (input as { type?: unknown }).type !== 'bundle') {
        throw invalid('type', "a STIX bundle has type 'bundle'");
      }
      const source = opts.source ?? 'stix';
      const rejected: ImportRejection[] = [];
      const skipped: { index: number; id: string; reason: string }[] = [];
      const others: StixObject[] = [];
      const report = await serial(async () => {
        const t = now();
        const changes: Change[] = [];
        let revoked = 0;
        objects.forEach((raw, index) => {
          const problem = checkObject(raw);
          if (problem) { rejected.push({ index, error: problem }); return; }
          const obj = raw as StixObject;
          if (obj.type !== 'indicator') { others.push(obj); return; }
          const existingId = byStixId.get(obj.id);
          const existing = existingId ? byId.get(existingId) : undefined;
          if (existing && existing.state !== 'deleted') {
            const known = stixOriginal.get(existing.id)?.obj;
            const knownVersion = known ? versionOf(known) : existing.updatedAt;
            if (Date.parse(versionOf(obj)) < Date.parse(knownVersion) || (known && versionOf(known) === versionOf(obj) && JSON.stringify(known) === JSON.stringify(obj))) return;
          }
          if (obj.revoked === true) {
            if (existing && existing.state !== 'deleted') {
              changes.push({ ind: { ...existing, state: 'deleted', updatedAt: new Date(t).toISOString() }, previous: existing, change: 'deleted', stix: obj });
              revoked++;
            } else others.push(obj);
            return;
          }
          const mapped = stixToInput(obj, source, opts.defaultAction);
          if (typeof mapped === 'string') { skipped.push({ index, id: obj.id, reason: mapped }); others.push(obj); return; }
          let clean: CleanInput;
          try {
            clean = validateIndicator(mapped, t);
          } catch (error) {
            if (!(error instanceof VigilError)) throw error;
            skipped.push({ index, id: obj.id, reason: error.message });
            others.push(obj);
            return;
          }
          const holderId = existing && existing.state !== 'deleted' ? existing.id : uniq.get(uniqKey(clean.type, clean.value, clean.deviceGroups));
          const holder = holderId ? byId.get(holderId) : undefined;
          const createdAt = typeof obj.created === 'string' ? new Date(obj.created).toISOString() : new Date(t).toISOString();
          const updatedAt = typeof obj.modified === 'string' ? new Date(obj.modified).toISOString() : createdAt;
          if (holder && holder.state === 'active') {
            changes.push({ ind: { ...merged(holder, clean), stixId: obj.id, updatedAt }, previous: holder, change: 'updated', stix: obj });
          } else {
            changes.push({ ind: build(clean, actor, { stixId: obj.id, createdAt, updatedAt }), change: 'created', stix: obj });
          }
        });
        capacity(changes.filter((c) => c.change === 'created').length);
        const done = await commit(changes);
        // Everything else is kept as is: related malware, attack patterns, relationships, unenforceable indicators.
        let stored = 0;
        await db.transaction().execute(async (tx) => {
          const fresh: { obj: StixObject; isNew: boolean }[] = [];
          for (const obj of others) {
            const current = stixObjects.get(obj.id);
            if (current && Date.parse(versionOf(current)) > Date.parse(versionOf(obj))) continue;
            if (current && JSON.stringify(current) === JSON.stringify(obj)) continue;
            const row = { id: obj.id, type: obj.type, version: versionOf(obj), json: JSON.stringify(obj) };
            if (current) await tx.updateTable('intel_stix_objects').set(row).where('id', '=', obj.id).execute();
            else await tx.insertInto('intel_stix_objects').values(row).execute();
            fresh.push({ obj, isNew: !current });
            stored++;
          }
          await taxiiInsert(tx as typeof db, fresh);
        });
        for (const obj of others) {
          const current = stixObjects.get(obj.id);
          if (!current || Date.parse(versionOf(current)) <= Date.parse(versionOf(obj))) stixObjects.set(obj.id, obj);
        }
        return { changes, done, revoked, stored };
      });
      huntLater(report.done.filter((d) => d.state === 'active'), opts.retroHunt);
      return {
        indicatorsCreated: report.changes.filter((c) => c.change === 'created').length,
        indicatorsUpdated: report.changes.filter((c) => c.change === 'updated').length,
        indicatorsRevoked: report.revoked,
        objectsStored: report.stored,
        skipped, rejected,
      };
    },

    async exportStix() {
      const objects: StixObject[] = [];
      for (const ind of service.exportAll({ includeExpired: true })) objects.push(stixFor(ind));
      for (const obj of stixObjects.values()) objects.push(obj);
      return { type: 'bundle', id: newStixId('bundle'), objects };
    },

    techniquesOf(indicatorId) {
      const ind = byId.get(indicatorId);
      if (!ind?.stixId) return [];
      const out = new Set<string>();
      for (const obj of stixObjects.values()) {
        if (obj.type !== 'relationship' || obj.source_ref !== ind.stixId) continue;
        const target = stixObjects.get(String(obj.target_ref));
        if (target?.type === 'attack-pattern') for (const t of attackIds(target)) out.add(t);
      }
      return [...out];
    },

    taxii: undefined as unknown as TaxiiData,

    async settled() {
      for (let round = 0; round < 100 && background.size > 0; round++) await Promise.allSettled([...background]);
      await chain;
    },

    async close() {
      closed = true;
      unsubscribe();
      if (timer) clearInterval(timer);
      notify();
      await service.settled();
    },
  };

  // ---------- TAXII data (the routes live in src/api/routes/intel.ts) ----------
  const statuses = new Map<string, TaxiiStatus>();
  const taxii: TaxiiData = {
    collections: () => collections,
    collection: (id) => collections.find((c) => c.id === id),

    async objects(collectionId, query) {
      let q = db.selectFrom('intel_taxii_objects').select(['seq', 'id', 'version', 'date_added', 'json']).where('collection', '=', collectionId);
      const versions = query.versions?.length ? query.versions : ['last'];
      if (!versions.includes('all')) {
        const specific = versions.filter((v) => v !== 'last' && v !== 'first');
        q = q.where((eb) => eb.or([
          ...(versions.includes('last') ? [eb('latest', '=', 1)] : []),
          ...(versions.includes('first') ? [eb('first', '=', 1)] : []),
          ...(specific.length ? [eb('version', 'in', specific)] : []),
        ]));
      }
      if (query.ids?.length) q = q.where('id', 'in', [...query.ids]);
      if (query.types?.length) q = q.where((eb) => eb.or(query.types!.map((t) => eb('id', 'like', `${t}--%`))));
      if (query.addedAfter !== undefined) q = q.where('date_added', '>', query.addedAfter);
      if (query.next !== undefined) q = q.where('seq', '>', Number(query.next));
      const rows = await q.orderBy('seq').limit(query.limit + 1).execute();
      const page = rows.slice(0, query.limit);
      const more = rows.length > query.limit;
      return {
        records: page.map((r) => ({ seq: Number(r.seq), id: r.id, version: r.version, dateAdded: Number(r.date_added), object: JSON.parse(r.json) })),
        more,
        ...(more ? { next: String(page[page.length - 1].seq) } : {}),
      };
    },

    async versions(collectionId, objectId, query) {
      return taxii.objects(collectionId, { ...query, ids: [objectId], versions: ['all'] });
    },

    async add(collectionId, objects, actor) {
      const requestTimestamp = new Date(now()).toISOString();
      const successes: { id: string; version: string; message?: string }[] = [];
      const failures: { id: string; version: string; message: string }[] = [];
      if (collectionId === mainCollection) {
        const report = await service.importStix({ objects }, actor, { source: 'taxii' });
        const bad = new Map<number, string>();
        for (const r of report.rejected) bad.set(r.index, r.error);
        objects.forEach((raw, i) => {
          const o = (raw ?? {}) as Record<string, unknown>;
          const id = String(o.id ?? '');
          const version = typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : '';
          if (bad.has(i)) failures.push({ id, version, message: bad.get(i)! });
          else {
            const skip = report.skipped.find((s) => s.index === i);
            successes.push({ id, version, ...(skip ? { message: `stored; not enforced: ${skip.reason}` } : {}) });
          }
        });
      }
      const status: TaxiiStatus = {
        id: crypto.randomUUID(), status: 'complete', request_timestamp: requestTimestamp,
        total_count: objects.length, success_count: successes.length, successes, failure_count: failures.length, failures,
        pending_count: 0, pendings: [],
      };
      statuses.set(status.id, status);
      if (statuses.size > 1000) statuses.delete(statuses.keys().next().value!);
      return status;
    },

    status: (id) => statuses.get(id),

    async remove(collectionId, objectId, versions, actor) {
      let q = db.deleteFrom('intel_taxii_objects').where('collection', '=', collectionId).where('id', '=', objectId);
      if (versions?.length && !versions.includes('all')) q = q.where('version', 'in', [...versions]);
      const result = await q.executeTakeFirst();
      const deleted = Number(result.numDeletedRows);
      const remaining = await db.selectFrom('intel_taxii_objects').select(['seq', 'version']).where('collection', '=', collectionId)
        .where('id', '=', objectId).orderBy('seq').execute();
      if (remaining.length === 0) {
        const indicatorId = byStixId.get(objectId);
        if (indicatorId && byId.get(indicatorId)?.state !== 'deleted') await service.remove(indicatorId, actor);
        if (stixObjects.has(objectId)) {
          stixObjects.delete(objectId);
          await db.deleteFrom('intel_stix_objects').where('id', '=', objectId).execute();
        }
        // The revocation added above is itself a version; a deleted object leaves nothing behind.
        await db.deleteFrom('intel_taxii_objects').where('collection', '=', collectionId).where('id', '=', objectId).execute();
      } else {
        const newest = remaining.reduce((a, b) => (Date.parse(b.version) >= Date.parse(a.version) ? b : a));
        await db.updateTable('intel_taxii_objects').set({ latest: sql`CASE WHEN seq = ${newest.seq} THEN 1 ELSE 0 END` as any })
          .where('collection', '=', collectionId).where('id', '=', objectId).execute();
      }
      return deleted;
    },
  };
  (service as { taxii: TaxiiData }).taxii = taxii;

  return service;
}

function safeNormalise(type: IndicatorType, value: string): string | undefined {
  try { return normaliseValue(type, value); } catch { return undefined; }
}
