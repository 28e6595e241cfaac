// Conversions between the state tables' rows and the API shapes.
import type { RaisedAlert, Severity } from '../schema/index.js';
import type {
  Activity, Alert, AlertStatus, Classification, Comment, Determination, Incident, IncidentStatus, SuppressionRule,
} from './incident-model.js';

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const isoReq = (ms: unknown): string => new Date(Number(ms)).toISOString();

export function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try { return JSON.parse(text) as T; } catch { return fallback; }
}

/** The heavy part of an alert, kept as JSON in `incident_alerts.data`. */
export interface AlertData {
  readonly description: string;
  readonly mitreTechniques: readonly string[];
  readonly tactics: readonly string[];
  readonly rule: RaisedAlert['rule'] | null;
  readonly evidence: RaisedAlert['evidence'];
  readonly events: RaisedAlert['events'];
}

export function alertFromRow(row: Record<string, any>, withEvents: boolean): Alert {
  const data = parseJson<Partial<AlertData>>(row.data, {});
  return {
    id: row.id,
    incidentId: row.incident_id ?? null,
    status: row.status as AlertStatus,
    severity: row.severity as Severity,
    classification: row.classification as Classification,
    determination: row.determination as Determination,
    serviceSource: row.service_source,
    detectionSource: row.detection_source,
    detectorId: row.rule_id ?? null,
    title: row.title,
    description: data.description ?? '',
    category: row.category,
    assignedTo: row.assigned_to ?? null,
    mitreTechniques: data.mitreTechniques ?? [],
    tactics: data.tactics ?? [],
    rule: data.rule ?? null,
    evidence: data.evidence ?? [],
    ...(withEvents ? { events: data.events ?? [] } : {}),
    count: Number(row.count),
    dedupKey: row.dedup_key,
    suppressed: Number(row.suppressed) === 1,
    suppressionRuleId: row.suppression_rule_id ?? null,
    createdDateTime: isoReq(row.created_at),
    lastUpdateDateTime: isoReq(row.updated_at),
    resolvedDateTime: iso(row.resolved_at),
    firstActivityDateTime: isoReq(row.first_activity),
    lastActivityDateTime: isoReq(row.last_activity),
  };
}

export function incidentFromRow(row: Record<string, any>): Incident {
  return {
    id: row.id,
    displayName: row.title,
    status: row.status as IncidentStatus,
    severity: row.severity as Severity,
    classification: row.classification as Classification,
    determination: row.determination as Determination,
    assignedTo: row.assigned_to ?? null,
    customTags: parseJson<string[]>(row.custom_tags, []),
    systemTags: parseJson<string[]>(row.system_tags, []),
    description: row.description ?? null,
    redirectIncidentId: row.redirect_incident_id ?? null,
    alertCount: Number(row.alert_count),
    createdDateTime: isoReq(row.created_at),
    lastUpdateDateTime: isoReq(row.updated_at),
    resolvedDateTime: iso(row.resolved_at),
    firstActivityDateTime: isoReq(row.first_activity),
    lastActivityDateTime: isoReq(row.last_activity),
  };
}

export function commentFromRow(row: Record<string, any>): Comment {
  return { id: row.id, incidentId: row.incident_id, author: row.author, text: row.text, createdDateTime: isoReq(row.created_at) };
}

export function activityFromRow(row: Record<string, any>): Activity {
  return {
    id: row.id, incidentId: row.incident_id, alertId: row.alert_id ?? null, actor: row.actor, action: row.action,
    details: parseJson<Record<string, unknown>>(row.details, {}), at: isoReq(row.at),
  };
}

export function suppressionFromRow(row: Record<string, any>): SuppressionRule {
  return {
    id: row.id,
    name: row.name,
    ruleId: row.rule_id ?? null,
    entity: row.entity_key ? { ...(row.entity_kind ? { kind: row.entity_kind } : {}), key: row.entity_key } : null,
    fields: parseJson<Record<string, string[]>>(row.fields, {}),
    expiresAt: iso(row.expires_at),
    comment: row.comment,
    enabled: Number(row.enabled) === 1,
    createdBy: row.created_by,
    createdAt: isoReq(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: isoReq(row.updated_at),
  };
}
