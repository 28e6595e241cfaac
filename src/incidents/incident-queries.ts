// Read side: lists with filters, sorting and cursor pagination, and the incident detail view.
import type { Kysely } from 'kysely';
import { VigilError } from '../errors/index.js';
import { SEVERITIES } from '../schema/index.js';
import {
  ALERT_STATUSES, INCIDENT_STATUSES, SEVERITY_RANK, entityId,
  type Alert, type Incident, type IncidentDetail, type IncidentEntity, type TimelineEntry,
} from './incident-model.js';
import { activityFromRow, alertFromRow, commentFromRow, incidentFromRow } from './incident-rows.js';

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface ListQuery {
  /** Comma-separated statuses. Incidents default to all but redirected. */
  readonly status?: string;
  /** Comma-separated severities. */
  readonly severity?: string;
  /** A name, or 'none' for unassigned. */
  readonly assignee?: string;
  readonly deviceId?: string;
  /** A user key (lower-case UPN or account name). */
  readonly user?: string;
  /** Inclusive lower bound on last activity (ISO 8601). */
  readonly since?: string;
  /** Exclusive upper bound on first activity (ISO 8601). */
  readonly until?: string;
  /** Case-insensitive substring of the title, or an exact id. */
  readonly text?: string;
  /** Field to sort by, '-' prefix for descending (default '-lastActivity'). */
  readonly sort?: string;
  readonly limit?: number;
  readonly cursor?: string;
  /** Alerts only. */
  readonly incidentId?: string;
  /** Alerts only: 'false' (default) hides suppressed alerts, 'true' shows only them, 'all' both. */
  readonly suppressed?: string;
  readonly detectionSource?: string;
  readonly classification?: string;
  readonly determination?: string;
}

const SORTS: Readonly<Record<string, string>> = {
  lastActivity: 'last_activity', lastActivityDateTime: 'last_activity',
  firstActivity: 'first_activity', firstActivityDateTime: 'first_activity',
  created: 'created_at', createdDateTime: 'created_at',
  updated: 'updated_at', lastUpdateDateTime: 'updated_at',
  severity: 'severity_rank',
};

function list(value: string | undefined, allowed: readonly string[], field: string): string[] | undefined {
  if (value === undefined || value === '') return undefined;
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!allowed.includes(p)) throw new VigilError('bad_request', 400, `'${field}' must be among ${allowed.join(', ')}`, { field });
  return parts;
}

function time(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new VigilError('bad_request', 400, `'${field}' must be an ISO 8601 time`, { field });
  return ms;
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch { /* falls through */ }
  throw new VigilError('bad_request', 400, "'cursor' is not one this server issued", { field: 'cursor' });
}

const encodeCursor = (value: number, id: string) => Buffer.from(JSON.stringify([value, id])).toString('base64url');
const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function pageParams(q: ListQuery) {
  const sortRaw = q.sort ?? '-lastActivity';
  const desc = sortRaw.startsWith('-');
  const column = SORTS[desc ? sortRaw.slice(1) : sortRaw];
  if (!column) throw new VigilError('bad_request', 400, `'sort' must be one of ${Object.keys(SORTS).join(', ')} (prefix '-' for descending)`, { field: 'sort' });
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new VigilError('bad_request', 400, "'limit' must be an integer from 1 to 1000", { field: 'limit' });
  return { column, desc, limit, after: q.cursor ? decodeCursor(q.cursor) : undefined };
}

/** Applies keyset pagination over (column, id) and returns a page. */
async function paginate<T>(query: any, p: ReturnType<typeof pageParams>, map: (row: any) => T): Promise<Page<T>> {
  const op = p.desc ? '<' : '>';
  if (p.after) {
    const [v, id] = p.after;
    query = query.where((eb: any) => eb.or([eb(p.column, op, v), eb.and([eb(p.column, '=', v), eb('id', op, id)])]));
  }
  const dir = p.desc ? 'desc' : 'asc';
  const rows: any[] = await query.orderBy(p.column, dir).orderBy('id', dir).limit(p.limit + 1).execute();
  const more = rows.length > p.limit;
  const slice = more ? rows.slice(0, p.limit) : rows;
  const last = slice[slice.length - 1];
  return { items: slice.map(map), nextCursor: more && last ? encodeCursor(Number(last[p.column]), last.id) : null };
}

export async function listIncidents(db: Kysely<any>, q: ListQuery): Promise<Page<Incident>> {
  const p = pageParams(q);
  let query = db.selectFrom('incidents').selectAll();
  const statuses = list(q.status, INCIDENT_STATUSES, 'status');
  query = statuses ? query.where('status', 'in', statuses) : query.where('status', '!=', 'redirected');
  const severities = list(q.severity, SEVERITIES, 'severity');
  if (severities) query = query.where('severity', 'in', severities);
  if (q.assignee) query = q.assignee === 'none' ? query.where('assigned_to', 'is', null) : query.where('assigned_to', '=', q.assignee);
  if (q.classification) query = query.where('classification', '=', q.classification);
  if (q.determination) query = query.where('determination', '=', q.determination);
  for (const entity of [q.deviceId ? entityId('device', q.deviceId) : undefined, q.user ? entityId('user', q.user.toLowerCase()) : undefined]) {
    if (!entity) continue;
    query = query.where('id', 'in', db.selectFrom('incident_entity_index').select('incident_id').where('entity', '=', entity));
  }
  const since = time(q.since, 'since');
  if (since !== undefined) query = query.where('last_activity', '>=', since);
  const until = time(q.until, 'until');
  if (until !== undefined) query = query.where('first_activity', '<', until);
  if (q.text) {
    const text = q.text;
    query = query.where((eb) => eb.or([eb(eb.fn('lower', ['title']), 'like', likePattern(text)), eb('id', '=', text), eb(eb.fn('lower', ['custom_tags']), 'like', likePattern(text))]));
  }
  return paginate(query, p, incidentFromRow);
}

export async function listAlerts(db: Kysely<any>, q: ListQuery): Promise<Page<Alert>> {
  const p = pageParams(q);
  let query = db.selectFrom('incident_alerts').selectAll();
  const statuses = list(q.status, ALERT_STATUSES, 'status');
  if (statuses) query = query.where('status', 'in', statuses);
  const severities = list(q.severity, SEVERITIES, 'severity');
  if (severities) query = query.where('severity', 'in', severities);
  if (q.assignee) query = q.assignee === 'none' ? query.where('assigned_to', 'is', null) : query.where('assigned_to', '=', q.assignee);
  if (q.incidentId) query = query.where('incident_id', '=', q.incidentId);
  if (q.detectionSource) query = query.where('detection_source', '=', q.detectionSource);
  if (q.classification) query = query.where('classification', '=', q.classification);
  if (q.determination) query = query.where('determination', '=', q.determination);
  const suppressed = q.suppressed ?? 'false';
  if (!['true', 'false', 'all'].includes(suppressed)) throw new VigilError('bad_request', 400, "'suppressed' must be true, false or all", { field: 'suppressed' });
  if (suppressed !== 'all') query = query.where('suppressed', '=', suppressed === 'true' ? 1 : 0);
  for (const entity of [q.deviceId ? entityId('device', q.deviceId) : undefined, q.user ? entityId('user', q.user.toLowerCase()) : undefined]) {
    if (!entity) continue;
    query = query.where('id', 'in', db.selectFrom('incident_alert_entities').select('alert_id').where('entity', '=', entity));
  }
  const since = time(q.since, 'since');
  if (since !== undefined) query = query.where('last_activity', '>=', since);
  const until = time(q.until, 'until');
  if (until !== undefined) query = query.where('first_activity', '<', until);
  if (q.text) {
    const text = q.text;
    query = query.where((eb) => eb.or([eb(eb.fn('lower', ['title']), 'like', likePattern(text)), eb('id', '=', text), eb('rule_id', '=', text)]));
  }
  return paginate(query, p, (row) => alertFromRow(row, false));
}

/** Follows redirects (a merged incident's id keeps resolving to where its alerts went). */
export async function resolveIncidentRow(db: Kysely<any>, id: string): Promise<{ row: Record<string, any>; redirectedFrom?: string } | undefined> {
  let row = await db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  for (let hops = 0; row.status === 'redirected' && row.redirect_incident_id && hops < 32; hops++) {
    const next = await db.selectFrom('incidents').selectAll().where('id', '=', row.redirect_incident_id).executeTakeFirst();
    if (!next) break;
    row = next;
  }
  return row.id === id ? { row } : { row, redirectedFrom: id };
}

/** The detail view carries at most this many alerts (the earliest); the rest page through GET /alerts?incidentId=. */
const MAX_DETAIL_ALERTS = 1000;

export async function incidentDetail(db: Kysely<any>, id: string): Promise<IncidentDetail | undefined> {
  const found = await resolveIncidentRow(db, id);
  if (!found) return undefined;
  const incident = incidentFromRow(found.row);
  const alertRows = await db.selectFrom('incident_alerts').selectAll().where('incident_id', '=', incident.id)
    .orderBy('first_activity', 'asc').orderBy('id', 'asc').limit(MAX_DETAIL_ALERTS + 1).execute();
  const truncated = alertRows.length > MAX_DETAIL_ALERTS;
  const alerts = alertRows.slice(0, MAX_DETAIL_ALERTS).map((r) => alertFromRow(r, false));
  const entities = new Map<string, { kind: any; key: string; label: string; roles: Set<any>; alertIds: Set<string> }>();
  for (const a of alerts) {
    for (const ev of a.evidence) {
      if (!ev || typeof ev.key !== 'string') continue;
      const id = entityId(ev.kind, ev.key);
      let e = entities.get(id);
      if (!e) entities.set(id, e = { kind: ev.kind, key: ev.key, label: ev.label ?? ev.key, roles: new Set(), alertIds: new Set() });
      e.roles.add(ev.role);
      e.alertIds.add(a.id);
    }
  }
  const comments = (await db.selectFrom('incident_comments').selectAll().where('incident_id', '=', incident.id)
    .orderBy('created_at', 'asc').orderBy('id', 'asc').execute()).map(commentFromRow);
  const activity = (await db.selectFrom('incident_activity').selectAll().where('incident_id', '=', incident.id)
    .orderBy('at', 'asc').orderBy('id', 'asc').execute()).map(activityFromRow);
  const timeline: TimelineEntry[] = [
    ...alerts.map((a) => ({ kind: 'alert' as const, at: a.firstActivityDateTime, alertId: a.id, title: a.title, severity: a.severity, count: a.count })),
    ...activity.map((a) => ({ kind: 'activity' as const, at: a.at, actor: a.actor, action: a.action, details: a.details })),
    ...comments.map((c) => ({ kind: 'comment' as const, at: c.createdDateTime, author: c.author, text: c.text })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const entityList: IncidentEntity[] = [...entities.values()]
    .map((e) => ({ kind: e.kind, key: e.key, label: e.label, roles: [...e.roles].sort(), alertIds: [...e.alertIds].sort() }))
    .sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind < b.kind ? -1 : 1));
  return {
    ...incident,
    alerts,
    entities: entityList,
    evidence: alerts.flatMap((a) => a.evidence.map((e) => ({ ...e, alertId: a.id }))),
    comments,
    activity,
    timeline,
    ...(found.redirectedFrom ? { redirectedFrom: found.redirectedFrom } : {}),
    ...(truncated ? { alertsTruncated: true } : {}),
  };
}

export const severityRank = (s: keyof typeof SEVERITY_RANK) => SEVERITY_RANK[s];
