// The detection module's public surface. Other modules import only this file.
//
// - The Sigma engine as a pure library: createDetectionEngine() → load(rule files) / evaluate({table,row}).
// - Live detection and rule management over the bus and the store: createDetectionService().
// - Offline scans of log files (`vigil scan`): scanFiles().
export { createDetectionEngine } from './sigma/sigma-engine.js';
export type { DetectionEngine, DetectionInput, DetectionOptions, LoadReport, Match, RuleInfo } from './sigma/sigma-engine.js';
export { parseSigmaYaml } from './sigma/sigma-rule.js';
export type {
  RuleSource, SigmaDocument, SigmaRuleDocument, SigmaCorrelationDocument, SigmaFilterDocument, SigmaLevel, SigmaLogsource,
} from './sigma/sigma-rule.js';
export { parseCondition, ConditionSyntaxError } from './sigma/condition-parser.js';
export type { ConditionNode } from './sigma/condition-nodes.js';
export { createDetectionService, readRuleFiles } from './detection-service.js';
export type { DetectionService, DetectionServiceOptions, RuleRecord } from './detection-service.js';
export { alertFromMatch, alertRows, attackOf, evidenceOf, LEVEL_SEVERITY } from './alert-builder.js';
export { scanFiles, expandPaths } from './scan/scan-files.js';
export type { ScanOptions, ScanProgress, ScanSummary, ScanFileResult, RuleHits } from './scan/scan-files.js';
export { classifyRecord, toInput } from './scan/log-formats.js';
export type { LogFormat } from './scan/log-formats.js';
export { DetectionError } from './errors.js';
export { readPlaceholders, parsePlaceholders, type PlaceholderValues } from './placeholders.js';
export type { RuleProblem, RuleLocation } from './errors.js';

import { readRuleFiles } from './detection-service.js';
import { createDetectionEngine, type LoadReport } from './sigma/sigma-engine.js';

/** Vigil's own rule pack (rules/ at the repository root), as rule sources. */
export function vigilRulePack(root = new URL('../../rules/', import.meta.url).pathname) {
  return readRuleFiles([root], 'vigil');
}

/**
 * Load rule files/folders into a fresh engine and report what loaded (for `vigil rules import` without
 * a running platform, and for checks). Returns the engine and its LoadReport.
 */
export function importRules(paths: readonly string[], options: { pack?: string; placeholders?: Readonly<Record<string, readonly string[]>> } = {}): { engine: ReturnType<typeof createDetectionEngine>; report: LoadReport } {
  const engine = createDetectionEngine({ placeholders: options.placeholders });
  const report = engine.load(readRuleFiles(paths, options.pack));
  return { engine, report };
}
