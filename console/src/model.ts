// The shapes the console reads from the API (Graph security field names, as the domain modules serve them).
// Fields are optional where a module may not send them; the pages show what is there.

export interface Evidence { kind: string; key: string; label: string; role?: string; details?: Record<string, unknown>; alertId?: string; verdict?: string }
export interface RuleRef { id: string; title: string; author?: string; references?: string[]; source?: string; license?: string }
export interface EventRef { table: string; reportId: string | number; sensorId?: string; row: Record<string, unknown> }

export interface Alert {
  id: string; incidentId?: string | null; status: string; severity: string; classification?: string; determination?: string;
  serviceSource?: string; detectionSource?: string; detectorId?: string | null; title: string; description?: string; category?: string;
  assignedTo?: string | null; mitreTechniques?: string[]; tactics?: string[]; rule?: RuleRef | null; evidence?: Evidence[]; events?: EventRef[];
  count?: number; suppressed?: boolean; createdDateTime?: string; lastUpdateDateTime?: string; firstActivityDateTime?: string; lastActivityDateTime?: string;
}

export interface Incident {
  id: string; displayName: string; status: string; severity: string; classification?: string; determination?: string;
  assignedTo?: string | null; customTags?: string[]; systemTags?: string[]; description?: string | null; alertCount?: number;
  createdDateTime?: string; lastUpdateDateTime?: string; resolvedDateTime?: string | null; firstActivityDateTime?: string; lastActivityDateTime?: string;
  redirectIncidentId?: string | null;
  /** Entities when the list includes them (devices, users). */
  devices?: string[]; users?: string[];
}

export interface IncidentEntity { kind: string; key: string; label: string; roles?: string[]; alertIds?: string[] }
export interface Comment { id: string; author: string; text: string; createdDateTime: string }
export interface Activity { id: string; actor: string; action: string; details?: Record<string, unknown>; at: string }

export interface IncidentDetail extends Incident {
  alerts?: Alert[]; entities?: IncidentEntity[]; evidence?: Evidence[]; comments?: Comment[]; activity?: Activity[];
  timeline?: ({ kind: string; at: string } & Record<string, unknown>)[];
}

export interface ActionRecord {
  id: string; kind: string; targetType: string; target: string; params?: Record<string, unknown>; state: string; source: string;
  requestedBy: string; comment?: string; decisionReason?: string; decidedBy?: string; decidedAt?: string; rejectReason?: string;
  investigationId?: string; alertIds?: string[]; verdict?: string; message?: string; undoOf?: string; undoneBy?: string;
  createdAt: string; updatedAt?: string; completedAt?: string;
}

export interface Device {
  id: string; hostname: string; os?: string; osVersion?: string; sensorId?: string | null; primaryUser?: string | null; groupId?: string;
  riskLevel?: string; complianceState?: string; complianceReason?: string; enrolledAt?: string; lastSeen?: string | null;
  isolated?: boolean; isolationState?: string; group?: { id: string; name: string; automationLevel?: string };
  history?: { at: string; old: string; new: string; reason: string }[];
}

export interface Indicator {
  id: string; type: string; value: string; action: string; title: string; description?: string; severity?: string; expiresAt?: string | null;
  deviceGroups?: string[]; generateAlert?: boolean; source?: string; createdBy?: string; createdAt?: string; updatedAt?: string; state?: string;
}

export const PENDING_STATES = new Set(['proposed', 'pendingApproval', 'pending']);
export const INCIDENT_STATUSES = ['active', 'inProgress', 'resolved', 'redirected'];
export const SEVERITIES = ['high', 'medium', 'low', 'informational'];
export const CLASSIFICATIONS = ['unknown', 'truePositive', 'informationalExpectedActivity', 'falsePositive'];
export const DETERMINATIONS: Record<string, string[]> = {
  truePositive: ['multiStagedAttack', 'maliciousUserActivity', 'compromisedUser', 'malware', 'phishing', 'unwantedSoftware', 'other'],
  informationalExpectedActivity: ['securityTesting', 'lineOfBusinessApplication', 'confirmedUserActivity', 'other'],
  falsePositive: ['clean', 'insufficientData', 'other'],
  unknown: ['unknown'],
};

/** MITRE ATT&CK tactics in kill-chain order, for sorting an incident's tactics. */
export const TACTIC_ORDER = [
  'reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence', 'privilege-escalation', 'defense-evasion',
  'credential-access', 'discovery', 'lateral-movement', 'collection', 'command-and-control', 'exfiltration', 'impact',
];
