// Shared shapes of the KQL → SQL compiler.
import type { Expr } from './kql-nodes.js';
import type { SqlDialect } from './sql-dialect.js';

/** KQL scalar types a result column can have (https://learn.microsoft.com/kusto/query/scalar-data-types). */
export type KqlType = 'string' | 'int' | 'long' | 'real' | 'bool' | 'datetime' | 'timespan' | 'dynamic' | 'guid';

/** A column of a compiled relation. */
export interface Column {
  readonly name: string;
  readonly type: KqlType;
}

/** A compiled scalar: SQL text and its KQL type; `value` when known at compile time (let lists, literals). */
export interface SExpr {
  readonly sql: string;
  readonly type: KqlType;
  readonly value?: unknown;
  readonly isConst?: boolean;
}

/** A compiled tabular expression: one SELECT statement and its columns. */
export interface Relation {
  readonly sql: string;
  readonly columns: readonly Column[];
  /** The table whose rows this still is (after where/extend), so the compiler can use its indexes. */
  readonly table?: string;
  /** Columns the filters since the table read refer to (with `table`, to know when an index covers a query). */
  readonly touched?: ReadonlySet<string>;
}

export type Binding =
  | { readonly kind: 'scalar'; readonly expr: Expr; readonly env: Env; compiled?: SExpr }
  | { readonly kind: 'tabular'; readonly expr: Expr; readonly env: Env; cte?: Relation }
  | { readonly kind: 'relation'; readonly rel: Relation }
  | { readonly kind: 'value'; readonly sexpr: SExpr }
  | { readonly kind: 'lambda'; readonly node: Extract<Expr, { kind: 'lambda' }>; readonly env: Env };

/** Lexical environment of `let` names. */
export interface Env {
  readonly parent: Env | null;
  readonly names: Map<string, Binding>;
}

/** Row scope for scalar expressions: the columns of the input relation. */
export interface Scope {
  readonly columns: readonly Column[];
  /** SQL alias of the input relation; column references are qualified with it. */
  readonly alias: string | null;
  /** Names defined earlier in the same operator (extend a = …, b = a + 1) → their SQL. */
  readonly local: Map<string, SExpr>;
  /** The table whose original rows these are (a text index may serve string filters), if any. */
  readonly table?: string;
  /** True inside summarize/make-series aggregations. */
  readonly aggregate: boolean;
}

export interface CompileContext {
  readonly text: string;
  readonly dialect: SqlDialect;
  /** The one value of now() for the whole query, epoch ms. */
  readonly now: number;
  /** Lower bound applied to every table's Timestamp (the hunting window), epoch ms, or null. */
  readonly windowStart: number | null;
  readonly ctes: { name: string; sql: string }[];
  render: { chart: string; properties: Readonly<Record<string, unknown>> } | null;
  aliasCounter: number;
  /** Tables read, for stats. */
  readonly tablesRead: Set<string>;
}
