// Many plain patterns of one selection item (`Field|contains: [200 values]`, a keyword list) tested
// together: exact values by one hash lookup, prefixes and suffixes by one lookup per distinct
// length, and substrings by one Aho-Corasick pass with a confirming `includes` on each hit.
// Input text is already lower-cased, like the patterns.
import { buildAutomata, selectiveWindow } from './prefilter.js';
import type { PlainShape } from './sigma-value.js';

/** Below this many patterns, separate tests are as fast as the grouped one. */
export const GROUP_MIN = 4;

function byLength(literals: readonly string[]): { lengths: number[]; set: Set<string> } {
  const set = new Set(literals);
  return { set, lengths: [...new Set(literals.map((l) => l.length))].sort((a, b) => a - b) };
}

/** One test for every pattern: true when the text matches any of them. */
export function compileLiteralSet(patterns: readonly PlainShape[]): (text: string) => boolean {
  const of = (k: PlainShape['kind']) => patterns.filter((p) => p.kind === k).map((p) => p.literal.toLowerCase());
  const exact = new Set(of('exact'));
  const prefix = byLength(of('prefix'));
  const suffix = byLength(of('suffix'));
  const contains = [...new Set(of('contains'))];
  // A contained empty literal matches everything; an empty prefix or suffix too.
  if (contains.includes('') || prefix.set.has('') || suffix.set.has('')) return () => true;
  // The automaton looks for a window of each literal (bounded size); `includes` confirms the whole literal.
  const automata = contains.length > GROUP_MIN ? buildAutomata(contains.map((literal, owner) => ({ literal: selectiveWindow(literal), owner }))) : [];
  let current = '';
  let found = false;
  const confirm = (owner: number) => { if (!found && current.includes(contains[owner]!)) found = true; };
  return (text) => {
    if (exact.size > 0 && exact.has(text)) return true;
    const n = text.length;
    for (const len of prefix.lengths) { if (len > n) break; if (prefix.set.has(text.slice(0, len))) return true; }
    for (const len of suffix.lengths) { if (len > n) break; if (suffix.set.has(text.slice(n - len))) return true; }
    if (automata.length === 0) {
      for (const lit of contains) if (text.includes(lit)) return true;
      return false;
    }
    current = text;
    found = false;
    for (const a of automata) { a.scan(text, confirm); if (found) break; }
    current = '';
    return found;
  };
}
