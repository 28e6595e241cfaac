// Advanced hunting: KQL over the telemetry tables (parser → SQL compiler → executor).
export { createHuntingService, converter } from './hunting-service.js';
export type { HuntingService, HuntingOptions, HuntOptions, HuntResult } from './hunting-service.js';
export { parseKql } from './kql-parser.js';
export { compileKql } from './kql-compiler.js';
export type { CompileOptions, CompiledQuery } from './kql-compiler.js';
export type { Column as HuntColumn, KqlType } from './compiler-types.js';
export type { Query as KqlQuery, Expr as KqlExpr, TabularOp as KqlTabularOp } from './kql-nodes.js';
export { KqlError } from './kql-errors.js';
export { sqliteDialect } from './sql-dialect.js';
export type { SqlDialect } from './sql-dialect.js';
export { registerKqlSqliteFunctions, registerSqlFunctions, tuneKqlReadConnection, hasTerm } from './sqlite-functions.js';

/**
 * Module path to pass as SqliteStoreOptions.queryFunctionsModule, so every read-only query
 * connection gets the kql_* SQL functions: `createSqliteStore({ file, queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE })`.
 */
export const KQL_SQL_FUNCTIONS_MODULE: string = new URL('./sqlite-functions.ts', import.meta.url).href;
export { HUNTING_INDEXES, HUNTING_TEXT_INDEXES, TEXT_INDEXED_COLUMNS } from './hunting-indexes.js';
export { createTextIndexer } from './text-indexer.js';
export type { TextIndexer, TextIndexerOptions } from './text-indexer.js';
export { createCustomDetections, validateRule, MAX_ALERTS_PER_RUN } from './custom-detections.js';
export type { CustomDetections, CustomDetectionOptions, Rule as CustomDetectionRule, RuleInput as CustomDetectionRuleInput, RuleFrequency, EntityMapping, RunReport } from './custom-detections.js';
