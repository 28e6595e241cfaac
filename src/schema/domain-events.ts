import type { CanonicalRow, ComplianceState, RaisedAlert, RiskLevel } from './entities.js';

/**
 * Every domain event on the bus, by type. Adding an event means adding it here first;
 * publishers and subscribers are then type-checked against it.
 */
export interface DomainEvents {
  /** Rows committed to a telemetry table (emitted after commit, never before). */
  'telemetry.ingested': { readonly table: string; readonly sensorId: string; readonly rows: readonly CanonicalRow[] };
  /** A device exchanged a one-time enrollment token for its identity (sensor credential and key). */
  'device.enrolled': {
    readonly deviceId: string; readonly sensorId: string; readonly hostname: string; readonly os: string;
    readonly osVersion: string; readonly deviceGroup: string | null; readonly publicKeyJwk: Readonly<Record<string, unknown>> | null;
  };
  'alert.raised': { readonly alert: RaisedAlert };
  'alert.updated': { readonly alertId: string; readonly incidentId: string; readonly changes: Readonly<Record<string, unknown>> };
  'incident.created': { readonly incidentId: string };
  'incident.updated': { readonly incidentId: string; readonly changes: Readonly<Record<string, unknown>> };
  'device.risk-changed': { readonly deviceId: string; readonly old: RiskLevel; readonly new: RiskLevel; readonly reason: string };
  'user.risk-changed': { readonly userId: string; readonly old: RiskLevel; readonly new: RiskLevel; readonly reason: string };
  'device.compliance-changed': {
    readonly deviceId: string; readonly old: ComplianceState; readonly new: ComplianceState; readonly reason: string;
  };
  'session.revoked': { readonly subject: Readonly<Record<string, string>>; readonly reason: string };
  'action.changed': { readonly actionId: string; readonly kind: string; readonly state: string };
  'indicator.changed': { readonly indicatorId: string; readonly change: 'created' | 'updated' | 'deleted' | 'expired' };
}

export type DomainEventType = keyof DomainEvents;
