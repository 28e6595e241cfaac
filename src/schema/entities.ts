/** A telemetry row in canonical form: column name → value (strings for datetimes, ISO 8601 UTC with ms). */
export type CanonicalRow = Record<string, unknown>;

/** Severity as Defender spells it (Graph alert/incident `severity`). */
export type Severity = 'informational' | 'low' | 'medium' | 'high';
export const SEVERITIES: readonly Severity[] = ['informational', 'low', 'medium', 'high'];

/** Device and user risk levels, lowest first. */
export type RiskLevel = 'none' | 'informational' | 'low' | 'medium' | 'high';
export const RISK_LEVELS: readonly RiskLevel[] = ['none', 'informational', 'low', 'medium', 'high'];

export type ComplianceState = 'compliant' | 'noncompliant' | 'unknown';

/** Entity kinds that evidence and correlation speak of. */
export type EntityKind = 'device' | 'user' | 'mailbox' | 'process' | 'file' | 'ip' | 'url' | 'sender' | 'mailMessage';

/** One piece of evidence on an alert: an entity and what is known about it. */
export interface Evidence {
  readonly kind: EntityKind;
  /** Stable key used for correlation, e.g. a device id, a SHA-256, a lower-cased UPN or address. */
  readonly key: string;
  /** Human-readable label (device name, file name, URL, …). */
  readonly label: string;
  /** Impacted (the victim) or Related (the threat), as AlertEvidence.EvidenceRole. */
  readonly role: 'Impacted' | 'Related';
  /** Extra properties (hashes, path, command line, pid, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Where an alert came from (Graph alert `detectionSource`). */
export type DetectionSource =
  | 'sigma' | 'customTi' | 'antivirus' | 'customDetection' | 'automatedInvestigation' | 'mail' | 'identity';

/** A reference to the telemetry row that contributed to an alert. */
export interface EventRef {
  readonly table: string;
  readonly reportId: string | number;
  readonly sensorId: string;
  readonly row: CanonicalRow;
}

/** The rule that produced an alert. DRL 1.1 requires the author in every output showing a Sigma match. */
export interface RuleRef {
  readonly id: string;
  readonly title: string;
  readonly author?: string;
  readonly references?: readonly string[];
  readonly source: 'sigma' | 'kql' | 'indicator' | 'yara' | 'builtin';
  readonly license?: string;
}

/** An alert as detection raises it, before incidents correlates it. */
export interface RaisedAlert {
  readonly alertId: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly category: string;
  readonly detectionSource: DetectionSource;
  readonly serviceSource: string;
  readonly mitreTechniques: readonly string[];
  readonly tactics: readonly string[];
  readonly rule?: RuleRef;
  readonly firstActivity: string;
  readonly lastActivity: string;
  readonly evidence: readonly Evidence[];
  readonly events: readonly EventRef[];
  /** Identical alerts (same rule, same entities) share this key; incidents counts repeats instead of adding rows. */
  readonly dedupKey: string;
}
