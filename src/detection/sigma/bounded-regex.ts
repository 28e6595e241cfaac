// Sigma `re` values run on RE2 (linear time). A call into RE2 costs about a microsecond, most of it
// crossing into native code, so the patterns that provably cannot backtrack badly run on V8's own
// engine: those made only of ASCII literals, positive classes and escapes, groups that are not
// repeated, and repeats bounded by {n}, {n,m} or ?. At one position such a pattern can try only a
// bounded number of ways (MAX_WAYS), so a match costs at most that many steps per character.
//
// Within this subset both engines match the same texts: every atom matches one ASCII character in
// either; `\s` is written out as RE2's [\t\n\f\r ] (V8's also holds Unicode spaces); `.` and negated
// classes are left out (V8 would match half a surrogate pair, RE2 a whole code point), and so are
// the flags i and m (their Unicode case folding and line ends differ).

/** The most ways a pattern may have to match at one position (product of its repeats and alternatives). */
const MAX_WAYS = 256;

const CLASS_ESCAPES: Readonly<Record<string, string>> = { d: '0-9', w: 'A-Za-z0-9_', s: '\\t\\n\\f\\r ' };
const CONTROL_ESCAPES = new Set(['t', 'n', 'r', 'f', 'v']);
const PRINTABLE = /^[\x20-\x7e]$/;
/** Punctuation that is itself when escaped, in both engines. */
const ESCAPED_PUNCTUATION = new Set([...'\\.-/()[]{}*+?|^$:\'",=#&~@%!<>;_` ']);

class Unsupported extends Error {}

/** A V8 RegExp matching exactly what RE2 would, or undefined when the pattern is outside the bounded subset. */
export function boundedRegExp(source: string, flags: string): RegExp | undefined {
  if (flags !== '' && flags !== 's') return undefined;
  try {
    return new RegExp(translate(source), '');
  } catch (e) {
    if (e instanceof Unsupported || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

function translate(source: string): string {
  let i = 0;
  let out = '';
  const fail = (): never => { throw new Unsupported(); };

  /** An escape outside a class: its translation. */
  function escape(): string {
    const c = source[i + 1];
    if (c === undefined) return fail();
    i += 2;
    if (c === 's') return `[${CLASS_ESCAPES.s}]`;
    if (c === 'd' || c === 'w' || c === 'b' || c === 'B' || CONTROL_ESCAPES.has(c)) return `\\${c}`;
    if (ESCAPED_PUNCTUATION.has(c)) return `\\${c}`;
    return fail();
  }

  function characterClass(): string {
    i++; // [
    if (source[i] === '^' || source[i] === ']' || source.startsWith('[:', i)) fail();
    let body = '';
    while (i < source.length && source[i] !== ']') {
      const c = source[i]!;
      if (c === '\\') {
        const e = source[i + 1];
        if (e === undefined) fail();
        if (CLASS_ESCAPES[e!] !== undefined) body += CLASS_ESCAPES[e!];
        else if (CONTROL_ESCAPES.has(e!) || ESCAPED_PUNCTUATION.has(e!)) body += `\\${e}`;
        else fail();
        i += 2;
      } else if (c === '[') fail(); // RE2's [[:alpha:]] and nested-looking classes
      else if (PRINTABLE.test(c)) { body += c === '/' ? '\\/' : c; i++; } else fail();
    }
    if (source[i] !== ']') fail();
    i++;
    return `[${body}]`;
  }

  /** The ways a repeat after an atom adds (1 when there is none), consuming and writing it. */
  function repeat(): number {
    const c = source[i];
    let ways = 1;
    if (c === '?') { i++; out += '?'; ways = 2; } else if (c === '{') {
      const m = /^\{(\d{1,4})(?:,(\d{1,4}))?\}/.exec(source.slice(i));
      if (m === null) return fail(); // {n,} is unbounded; a lone { is read differently by the engines
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : Number(m[2]);
      if (max < min) fail();
      ways = max - min + 1;
      out += m[0];
      i += m[0].length;
    } else if (c === '*' || c === '+') fail();
    if (source[i] === '?' && ways > 1) { out += '?'; i++; } // lazy: the same ways, another order
    if (source[i] === '?' || source[i] === '*' || source[i] === '+' || source[i] === '{') fail();
    return ways;
  }

  /** A sequence up to `|`, `)` or the end; returns its ways. */
  function sequence(): number {
    let ways = 1;
    while (i < source.length && source[i] !== '|' && source[i] !== ')') {
      const c = source[i]!;
      if (c === '(') {
        if (source[i + 1] === '?') { if (source[i + 2] !== ':') fail(); i += 3; out += '(?:'; } else { i++; out += '('; }
        ways *= alternation();
        if (source[i] !== ')') fail();
        i++;
        out += ')';
        if (source[i] === '?' || source[i] === '*' || source[i] === '+' || source[i] === '{') fail(); // a repeated group
        continue;
      }
      if (c === '^' || c === '$') { out += c; i++; continue; }
      if (c === '.' || c === '*' || c === '+' || c === '?' || c === '{' || c === '}' || c === ']') fail();
      if (c === '\\') out += escape();
      else if (c === '[') out += characterClass();
      else if (PRINTABLE.test(c)) { out += c === '/' ? '\\/' : c; i++; } else fail();
      ways *= repeat();
      if (ways > MAX_WAYS) fail();
    }
    return ways;
  }

  function alternation(): number {
    let ways = sequence();
    while (source[i] === '|') { i++; out += '|'; ways += sequence(); }
    if (ways > MAX_WAYS) fail();
    return ways;
  }

  const ways = alternation();
  if (i !== source.length || ways > MAX_WAYS) fail();
  return out;
}
