// The KQL syntax tree: frozen `{ kind }` nodes. `pos` is the character offset in the query text.
// Scalar and tabular expressions share one Expr type because KQL only knows which is which once
// names are resolved (a `let` name can be a table, a list or a number).

export type Expr =
  | { readonly kind: 'literal'; readonly type: LiteralType; readonly value: unknown; readonly pos: number }
  | { readonly kind: 'ident'; readonly name: string; readonly pos: number }
  | { readonly kind: 'star'; readonly pos: number }
  | { readonly kind: 'member'; readonly object: Expr; readonly name: string; readonly pos: number }
  | { readonly kind: 'index'; readonly object: Expr; readonly index: Expr; readonly pos: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly operand: Expr; readonly pos: number }
  | { readonly kind: 'inList'; readonly op: string; readonly left: Expr; readonly list: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'between'; readonly negated: boolean; readonly left: Expr; readonly low: Expr; readonly high: Expr; readonly pos: number }
  | { readonly kind: 'pipe'; readonly input: Expr; readonly op: TabularOp; readonly pos: number }
  | { readonly kind: 'union'; readonly options: UnionOptions; readonly tables: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'datatable'; readonly columns: readonly ColumnDecl[]; readonly values: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'print'; readonly items: readonly NamedExpr[]; readonly pos: number }
  | { readonly kind: 'range'; readonly name: string; readonly from: Expr; readonly to: Expr; readonly step: Expr; readonly pos: number }
  | { readonly kind: 'search'; readonly tables: readonly Expr[] | null; readonly predicate: Expr; readonly pos: number }
  | { readonly kind: 'lambda'; readonly params: readonly ColumnDecl[]; readonly body: Query; readonly pos: number };

export type LiteralType = 'string' | 'long' | 'real' | 'bool' | 'datetime' | 'timespan' | 'null' | 'dynamic';

export interface ColumnDecl {
  readonly name: string;
  readonly type: string;
  readonly default?: Expr;
}

export interface NamedExpr {
  /** Explicit name (`Name = expr`), or null when KQL derives one. Several names for `(a, b) = …`. */
  readonly name: string | null;
  readonly expr: Expr;
}

export interface SortItem {
  readonly expr: Expr;
  readonly desc: boolean;
  readonly nulls: 'first' | 'last' | null;
}

export interface UnionOptions {
  readonly kind: 'inner' | 'outer';
  readonly isfuzzy: boolean;
  readonly withsource: string | null;
}

export type JoinKind =
  | 'innerunique' | 'inner' | 'leftouter' | 'rightouter' | 'fullouter'
  | 'leftanti' | 'rightanti' | 'leftsemi' | 'rightsemi';

/** One equality in `on`: `Col` (both sides) or `$left.A == $right.B`. */
export interface JoinKey {
  readonly left: string;
  readonly right: string;
  readonly pos: number;
}

export type ParsePart =
  | { readonly kind: 'wild' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'column'; readonly name: string; readonly type: string };

export type TabularOp =
  | { readonly kind: 'where'; readonly predicate: Expr }
  | { readonly kind: 'extend'; readonly items: readonly NamedExpr[] }
  | { readonly kind: 'project'; readonly items: readonly NamedExpr[] }
  | { readonly kind: 'projectAway'; readonly columns: readonly string[] }
  | { readonly kind: 'projectKeep'; readonly columns: readonly string[] }
  | { readonly kind: 'projectRename'; readonly items: readonly { readonly name: string; readonly from: string }[] }
  | { readonly kind: 'projectReorder'; readonly columns: readonly string[] }
  | { readonly kind: 'summarize'; readonly aggs: readonly NamedExpr[]; readonly by: readonly NamedExpr[] }
  | { readonly kind: 'join'; readonly joinKind: JoinKind; readonly right: Expr; readonly on: readonly JoinKey[]; readonly lookup: boolean }
  | { readonly kind: 'union'; readonly options: UnionOptions; readonly tables: readonly Expr[] }
  | { readonly kind: 'sort'; readonly by: readonly SortItem[] }
  | { readonly kind: 'top'; readonly count: Expr; readonly by: SortItem }
  | { readonly kind: 'take'; readonly count: Expr }
  | { readonly kind: 'distinct'; readonly items: readonly NamedExpr[] | 'all' }
  | { readonly kind: 'count'; readonly name: string }
  | { readonly kind: 'mvExpand'; readonly items: readonly (NamedExpr & { readonly toType: string | null })[]; readonly limit: Expr | null; readonly itemIndex: string | null }
  | { readonly kind: 'parse'; readonly source: Expr; readonly regexMode: boolean; readonly parts: readonly ParsePart[] }
  | { readonly kind: 'makeSeries'; readonly aggs: readonly NamedExpr[]; readonly defaults: readonly (Expr | null)[]; readonly on: Expr; readonly from: Expr | null; readonly to: Expr | null; readonly step: Expr; readonly by: readonly NamedExpr[] }
  | { readonly kind: 'evaluate'; readonly plugin: string; readonly args: readonly Expr[] }
  | { readonly kind: 'invoke'; readonly name: string; readonly args: readonly Expr[] }
  | { readonly kind: 'render'; readonly chart: string; readonly properties: Readonly<Record<string, unknown>> }
  | { readonly kind: 'serialize'; readonly items: readonly NamedExpr[] }
  | { readonly kind: 'getschema' }
  | { readonly kind: 'sample'; readonly count: Expr }
  | { readonly kind: 'as'; readonly name: string }
  | { readonly kind: 'search'; readonly predicate: Expr }
  | { readonly kind: 'mvApply'; readonly items: readonly (NamedExpr & { readonly toType: string | null })[]; readonly body: Expr }
  | { readonly kind: 'unsupported'; readonly name: string };

export type Statement =
  | { readonly kind: 'let'; readonly name: string; readonly value: Expr; readonly pos: number }
  | { readonly kind: 'set'; readonly name: string; readonly pos: number }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly pos: number };

/** A whole query: let/set statements and (usually) one tabular expression statement. */
export interface Query {
  readonly kind: 'query';
  readonly statements: readonly Statement[];
}

export function freeze<T>(node: T): T {
  return Object.freeze(node);
}
