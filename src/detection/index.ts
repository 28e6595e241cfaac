// The detection module's public surface. Other modules import only this file.
export { createDetectionEngine } from './sigma/sigma-engine.js';
export type { DetectionEngine, DetectionInput, DetectionOptions, LoadReport, Match, RuleInfo } from './sigma/sigma-engine.js';
export { parseSigmaYaml } from './sigma/sigma-rule.js';
export type {
  RuleSource, SigmaDocument, SigmaRuleDocument, SigmaCorrelationDocument, SigmaFilterDocument, SigmaLevel, SigmaLogsource,
} from './sigma/sigma-rule.js';
export { parseCondition, ConditionSyntaxError } from './sigma/condition-parser.js';
export type { ConditionNode } from './sigma/condition-nodes.js';
export { DetectionError } from './errors.js';
export type { RuleProblem, RuleLocation } from './errors.js';
