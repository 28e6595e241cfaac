// The canonical schema: telemetry tables and columns, entity kinds and domain-event types.
// This module imports nothing outside itself.
export { TABLE_COLUMNS } from './table-columns.js';
export { TABLES, isTableName, tableDef } from './column-types.js';
export type { ColumnType, ColumnDef, TableDef, TableName } from './column-types.js';
export { SEVERITIES, RISK_LEVELS } from './entities.js';
export type {
  CanonicalRow, Severity, RiskLevel, ComplianceState, EntityKind, Evidence, DetectionSource, EventRef, RuleRef, RaisedAlert,
} from './entities.js';
export type { DomainEvents, DomainEventType } from './domain-events.js';
