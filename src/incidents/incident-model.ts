// The alert and incident model, with the field names and enum values of Microsoft Graph security v1.0
// (security-alert.md, security-incident.md; see shared/reference/defender-xdr.md §1–2).
import { VigilError } from '../errors/index.js';
import type { DetectionSource, EntityKind, EventRef, Evidence, RiskLevel, RuleRef, Severity } from '../schema/index.js';

/** Graph alert `status`. */
export type AlertStatus = 'new' | 'inProgress' | 'resolved';
export const ALERT_STATUSES: readonly AlertStatus[] = ['new', 'inProgress', 'resolved'];

/** Graph incident `status` (awaitingAction is Defender Experts only and not used). */
export type IncidentStatus = 'active' | 'inProgress' | 'resolved' | 'redirected';
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['active', 'inProgress', 'resolved', 'redirected'];

export type Classification = 'unknown' | 'falsePositive' | 'truePositive' | 'informationalExpectedActivity' | 'unknownFutureValue';
export const CLASSIFICATIONS: readonly Classification[] = [
  'unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity', 'unknownFutureValue',
];

export type Determination =
  | 'unknown' | 'apt' | 'malware' | 'securityPersonnel' | 'securityTesting' | 'unwantedSoftware' | 'other'
  | 'multiStagedAttack' | 'compromisedUser' | 'phishing' | 'maliciousUserActivity' | 'clean' | 'insufficientData'
  | 'confirmedUserActivity' | 'lineOfBusinessApplication' | 'unknownFutureValue';
export const DETERMINATIONS: readonly Determination[] = [
  'unknown', 'apt', 'malware', 'securityPersonnel', 'securityTesting', 'unwantedSoftware', 'other', 'multiStagedAttack',
  'compromisedUser', 'phishing', 'maliciousUserActivity', 'clean', 'insufficientData', 'confirmedUserActivity',
  'lineOfBusinessApplication', 'unknownFutureValue',
];

/**
 * The Graph page spells four determination members two ways (defender-xdr.md, "Aliasing note"):
 * Vigil stores the enum-table spelling on the left of each pair and accepts the other as input.
 */
export const DETERMINATION_ALIASES: Readonly<Record<string, Determination>> = {
  compromisedAccount: 'compromisedUser',
  notMalicious: 'clean',
  notEnoughDataToValidate: 'insufficientData',
  confirmedActivity: 'confirmedUserActivity',
};

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { informational: 1, low: 2, medium: 3, high: 4 };
export const RISK_ORDER: Readonly<Record<RiskLevel, number>> = { none: 0, informational: 1, low: 2, medium: 3, high: 4 };
export const SEVERITY_BY_RANK: readonly Severity[] = ['informational', 'informational', 'low', 'medium', 'high'];

/** Entity kinds that correlate alerts into incidents (CONTRACTS.md entity keys). */
export const CORRELATING_KINDS: ReadonlySet<EntityKind> = new Set<EntityKind>([
  'device', 'user', 'mailbox', 'file', 'process', 'ip', 'url', 'sender',
]);

/** Addresses that every device has or talks to carry no signal about an attack (loopback, unspecified, link-local, multicast). */
const NOISE_IP = /^(127\.|0\.0\.0\.0$|169\.254\.|22[4-9]\.|23\d\.|255\.255\.255\.255$|::1?$|fe[89ab][0-9a-f]:|ff[0-9a-f]{2}:)/i;

/** Whether an evidence entity links alerts into one incident. */
export function correlates(kind: EntityKind, key: string): boolean {
  if (!CORRELATING_KINDS.has(kind) || key === '') return false;
  return kind !== 'ip' || !NOISE_IP.test(key);
}

/** An alert as the API shows it (Graph security alert, plus Vigil's dedup count and suppression). */
export interface Alert {
  readonly id: string;
  readonly incidentId: string | null;
  readonly status: AlertStatus;
  readonly severity: Severity;
  readonly classification: Classification;
  readonly determination: Determination;
  readonly serviceSource: string;
  readonly detectionSource: DetectionSource | string;
  /** The rule that produced it (Graph `detectorId`). */
  readonly detectorId: string | null;
  readonly title: string;
  readonly description: string;
  /** MITRE ATT&CK stage, as raised. */
  readonly category: string;
  readonly assignedTo: string | null;
  readonly mitreTechniques: readonly string[];
  readonly tactics: readonly string[];
  /** DRL 1.1: a Sigma rule's author travels with every alert it produced. */
  readonly rule: RuleRef | null;
  readonly evidence: readonly Evidence[];
  readonly events?: readonly EventRef[];
  /** How many identical alerts (same dedupKey within the window) this one stands for. */
  readonly count: number;
  readonly dedupKey: string;
  readonly suppressed: boolean;
  readonly suppressionRuleId: string | null;
  readonly createdDateTime: string;
  readonly lastUpdateDateTime: string;
  readonly resolvedDateTime: string | null;
  readonly firstActivityDateTime: string;
  readonly lastActivityDateTime: string;
}

/** An incident as the API shows it (Graph security incident). */
export interface Incident {
  readonly id: string;
  readonly displayName: string;
  readonly status: IncidentStatus;
  readonly severity: Severity;
  readonly classification: Classification;
  readonly determination: Determination;
  readonly assignedTo: string | null;
  readonly customTags: readonly string[];
  readonly systemTags: readonly string[];
  readonly description: string | null;
  readonly redirectIncidentId: string | null;
  readonly alertCount: number;
  readonly createdDateTime: string;
  readonly lastUpdateDateTime: string;
  readonly resolvedDateTime: string | null;
  readonly firstActivityDateTime: string;
  readonly lastActivityDateTime: string;
}

export interface IncidentEntity {
  readonly kind: EntityKind;
  readonly key: string;
  readonly label: string;
  readonly roles: readonly ('Impacted' | 'Related')[];
  readonly alertIds: readonly string[];
}

export interface Comment {
  readonly id: string;
  readonly incidentId: string;
  readonly author: string;
  readonly text: string;
  readonly createdDateTime: string;
}

/** One entry of the activity log: who changed what, when. */
export interface Activity {
  readonly id: string;
  readonly incidentId: string;
  readonly alertId: string | null;
  readonly actor: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: string;
}

export type TimelineEntry =
  | { readonly kind: 'alert'; readonly at: string; readonly alertId: string; readonly title: string; readonly severity: Severity; readonly count: number }
  | { readonly kind: 'activity'; readonly at: string; readonly actor: string; readonly action: string; readonly details: Readonly<Record<string, unknown>> }
  | { readonly kind: 'comment'; readonly at: string; readonly author: string; readonly text: string };

export interface IncidentDetail extends Incident {
  readonly alerts: readonly Alert[];
  readonly entities: readonly IncidentEntity[];
  readonly evidence: readonly (Evidence & { readonly alertId: string })[];
  readonly comments: readonly Comment[];
  readonly activity: readonly Activity[];
  readonly timeline: readonly TimelineEntry[];
  /** Set when the id asked for was merged into this incident. */
  readonly redirectedFrom?: string;
  /** Set when the incident has more alerts than the detail view carries (1,000); page them with GET /alerts?incidentId=. */
  readonly alertsTruncated?: boolean;
}

/**
 * A suppression rule: alerts matching every condition given are stored as suppressed, hidden by default,
 * and raise no risk. Values compare case-insensitively.
 */
export interface SuppressionRule {
  readonly id: string;
  readonly name: string;
  /** The detecting rule's id (RaisedAlert.rule.id). */
  readonly ruleId: string | null;
  /** An entity the alert must carry as evidence; `kind` optional. */
  readonly entity: { readonly kind?: EntityKind; readonly key: string } | null;
  /** Alert fields (title, category, severity, detectionSource, serviceSource) or evidence details (FileName, FolderPath, …) → accepted values. */
  readonly fields: Readonly<Record<string, readonly string[]>>;
  readonly expiresAt: string | null;
  readonly comment: string;
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

export interface SuppressionRuleInput {
  readonly name?: string;
  readonly ruleId?: string | null;
  readonly entity?: { readonly kind?: EntityKind; readonly key: string } | null;
  readonly fields?: Readonly<Record<string, string | readonly string[]>>;
  readonly expiresAt?: string | null;
  readonly comment?: string;
  readonly enabled?: boolean;
}

export interface RiskEntry {
  readonly id: string;
  readonly riskLevel: RiskLevel;
  /** Active (unresolved, unsuppressed) alerts where it is impacted. */
  readonly activeAlerts: number;
  readonly reason: string;
  readonly updatedAt: string;
}

export function parseClassification(value: unknown): Classification {
  if (typeof value === 'string' && (CLASSIFICATIONS as readonly string[]).includes(value)) return value as Classification;
  throw new VigilError('bad_request', 400, `'classification' must be one of ${CLASSIFICATIONS.join(', ')}`, { field: 'classification' });
}

export function parseDetermination(value: unknown): Determination {
  if (typeof value === 'string') {
    if ((DETERMINATIONS as readonly string[]).includes(value)) return value as Determination;
    const alias = DETERMINATION_ALIASES[value];
    if (alias) return alias;
  }
  throw new VigilError('bad_request', 400,
    `'determination' must be one of ${DETERMINATIONS.join(', ')} (or ${Object.keys(DETERMINATION_ALIASES).join(', ')})`, { field: 'determination' });
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

export const entityId = (kind: string, key: string) => `${kind}:${key}`;
