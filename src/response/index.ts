// Response: actions with one lifecycle, the command channel to sensors, automation levels, automated
// investigations, the action center and the hash-chained audit log (shared/reference/defender-xdr.md §3–§5).
export { createResponse } from './response-service.js';
export type { ResponseModule, ResponseOptions } from './response-service.js';
export { createAuditLog, canonicalJson, auditHash, AUDIT_GENESIS_HASH } from './audit-log.js';
export type { AuditLog, AuditLogOptions, AuditEntry, AuditEntryInput, AuditVerifyResult } from './audit-log.js';
export {
  AUTOMATION_LEVELS, decideAutomation, isCoreFolder, isTempFolder, isPersistencePath,
} from './automation-levels.js';
export type { AutomationLevel, AutomationDecision } from './automation-levels.js';
export { deviceActionKinds, userActionKinds, indicatorActionKind } from './action-kinds.js';
export { SYSTEM_ACTOR } from './action-service.js';
export type { ActionService, Actor, ActionFilter, BatchResult, CreateActionInput } from './action-service.js';
export type { CommandChannel, CommandFile } from './command-channel.js';
export { shouldInvestigate, alertVerdict } from './investigation.js';
export type {
  Investigations, Investigation, InvestigationEntity, InvestigationStatus, InvestigationLogLine, ResolveAlerts, Verdict,
} from './investigation.js';
export { ACTION_STATES, TERMINAL_STATES } from './types.js';
export type {
  ActionState, ActionRecord, ActionSource, ActionKind, ActionContext, ExecuteOutcome, TargetType, AgentCommand,
  CommandRecord, CommandResult, CommandState, UserActions,
} from './types.js';
