// The node kinds of a Sigma condition (Sigma rules specification v2.1, "Condition").
// The parser produces a frozen tree of these; later stages are visitors typed by kind.

export type ConditionNode =
  | { readonly kind: 'and'; readonly left: ConditionNode; readonly right: ConditionNode }
  | { readonly kind: 'or'; readonly left: ConditionNode; readonly right: ConditionNode }
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | { readonly kind: 'ref'; readonly name: string }
  /** `1 of x*` / `any of x*` (quantifier 'any') and `all of x*`; pattern `them` means every non-`_` identifier. */
  | { readonly kind: 'quantified'; readonly quantifier: 'all' | 'any'; readonly pattern: string };

export type ConditionKind = ConditionNode['kind'];

/** A visitor with one handler per node kind: adding a kind breaks every visitor until it is handled. */
export type ConditionVisitor<R> = { readonly [K in ConditionKind]: (node: Extract<ConditionNode, { kind: K }>) => R };

export function visitCondition<R>(node: ConditionNode, visitor: ConditionVisitor<R>): R {
  return (visitor[node.kind] as (n: ConditionNode) => R)(node);
}

/**
 * The identifiers a quantifier pattern selects. `them` selects every identifier not starting with `_`;
 * otherwise `*` matches any run of characters and the whole name must match (the spec's reading,
 * not pySigma's prefix-only quirk).
 */
export function expandPattern(pattern: string, identifiers: readonly string[]): string[] {
  if (pattern === 'them') return identifiers.filter((n) => !n.startsWith('_'));
  if (!pattern.includes('*')) return identifiers.filter((n) => n === pattern);
  const parts = pattern.split('*');
  return identifiers.filter((name) => globMatch(parts, name));
}

function globMatch(parts: readonly string[], s: string): boolean {
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!s.startsWith(first)) return false;
  let pos = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const at = s.indexOf(parts[i]!, pos);
    if (at < 0) return false;
    pos = at + parts[i]!.length;
  }
  return s.length - last.length >= pos && s.endsWith(last);
}
