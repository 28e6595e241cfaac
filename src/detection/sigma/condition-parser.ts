// Condition text → frozen node tree.
// Grammar (Sigma rules specification v2.1, "Condition"), loosest to tightest:
//   or  <  and  <  not  <  x of  <  ( )
// `and`/`or` are left-associative, `not` is right-associative (as pySigma's conditions.py).
// The legacy aggregation pipe (`| count() by …`) and `near` are rejected: correlations replace them.
import type { ConditionNode } from './condition-nodes.js';

export class ConditionSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'ConditionSyntaxError';
  }
}

type Token = { readonly type: 'lp' | 'rp' | 'word'; readonly text: string; readonly offset: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '(') { tokens.push({ type: 'lp', text: c, offset: i }); i++; continue; }
    if (c === ')') { tokens.push({ type: 'rp', text: c, offset: i }); i++; continue; }
    if (c === '|') throw new ConditionSyntaxError('the aggregation pipe "|" is legacy syntax; use a correlation rule', i);
    const start = i;
    while (i < text.length && /[A-Za-z0-9_*\-.]/.test(text[i]!)) i++;
    if (i === start) throw new ConditionSyntaxError(`unexpected character "${c}"`, i);
    tokens.push({ type: 'word', text: text.slice(start, i), offset: start });
  }
  return tokens;
}

const freeze = <T extends ConditionNode>(n: T): T => Object.freeze(n);

export function parseCondition(text: string): ConditionNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t !== undefined && t.type === 'word' && t.text.toLowerCase() === w;
  const fail = (msg: string): never => {
    throw new ConditionSyntaxError(msg, tokens[pos]?.offset ?? text.length);
  };

  function parseOr(): ConditionNode {
    let left = parseAnd();
    while (isWord(peek(), 'or')) { pos++; left = freeze({ kind: 'or', left, right: parseAnd() }); }
    return left;
  }
  function parseAnd(): ConditionNode {
    let left = parseNot();
    while (isWord(peek(), 'and')) { pos++; left = freeze({ kind: 'and', left, right: parseNot() }); }
    return left;
  }
  function parseNot(): ConditionNode {
    if (isWord(peek(), 'not')) { pos++; return freeze({ kind: 'not', operand: parseNot() }); }
    return parseAtom();
  }
  function parseAtom(): ConditionNode {
    const t = peek();
    if (t === undefined) return fail('condition ends unexpectedly');
    if (t.type === 'lp') {
      pos++;
      const inner = parseOr();
      if (peek()?.type !== 'rp') fail('missing ")"');
      pos++;
      return inner;
    }
    if (t.type === 'rp') return fail('unexpected ")"');
    const w = t.text.toLowerCase();
    if (w === 'and' || w === 'or') return fail(`unexpected "${t.text}"`);
    if (w === 'near') return fail('"near" is legacy syntax; use a temporal correlation rule');
    if ((w === '1' || w === 'any' || w === 'all') && isWord(tokens[pos + 1], 'of')) {
      pos += 2;
      const target = peek();
      if (target === undefined || target.type !== 'word') return fail('"of" needs an identifier pattern or "them"');
      pos++;
      const pattern = target.text.toLowerCase() === 'them' ? 'them' : target.text;
      return freeze({ kind: 'quantified', quantifier: w === 'all' ? 'all' : 'any', pattern });
    }
    if (w === 'of' || w === 'them') return fail(`unexpected "${t.text}"`);
    if (t.text.includes('*')) return fail(`wildcard identifier "${t.text}" needs "1 of" or "all of"`);
    pos++;
    return freeze({ kind: 'ref', name: t.text });
  }

  const tree = parseOr();
  if (pos < tokens.length) fail(`unexpected "${tokens[pos]!.text}"`);
  return tree;
}
