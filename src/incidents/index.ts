// Incidents: alerts and incidents, correlation, deduplication, merges, suppression rules, the SOC
// workflow, and the risk levels of devices and users derived from their active alerts.
export { createIncidentService } from './incident-service.js';
export type {
  IncidentService, IncidentServiceOptions, IncidentPatch, AlertPatch, IncidentEvent, ResolveResult, AuditSink,
} from './incident-service.js';
export type { ListQuery, Page } from './incident-queries.js';
export {
  ALERT_STATUSES, INCIDENT_STATUSES, CLASSIFICATIONS, DETERMINATIONS, DETERMINATION_ALIASES, CORRELATING_KINDS,
  parseClassification, parseDetermination,
} from './incident-model.js';
export type {
  Alert, AlertStatus, Incident, IncidentStatus, IncidentDetail, IncidentEntity, Classification, Determination, Comment,
  Activity, TimelineEntry, SuppressionRule, SuppressionRuleInput, RiskEntry,
} from './incident-model.js';
export { incidentName, tacticKey } from './incident-naming.js';
