// Necessary literals of a regular expression, for the prefilter: a set of lower-cased strings such
// that any text the regex matches contains at least one of them (null when no such set is found).
// Conservative by construction: whenever the syntax is unclear, the literal run is cut short or the
// whole answer is null, which only means the rule is evaluated on every event of its logsource.

type Need = string[] | null;

function better(a: Need, b: Need): Need {
  if (a === null) return b;
  if (b === null) return a;
  const score = (n: string[]) => Math.min(...n.map((x) => x.length));
  const sa = score(a); const sb = score(b);
  if (sa !== sb) return sa > sb ? a : b;
  return a.length <= b.length ? a : b;
}

class GiveUp extends Error {}

/** Classes of at most this many characters extend a literal run, while the run has at most MAX_RUNS alternatives. */
const MAX_CLASS = 4;
const MAX_RUNS = 8;

export function regexLiterals(src: string): Need {
  let i = 0;
  const peek = () => src[i];

  /** Whether the last quantifier read allows exactly one repetition ({1} or {1,1}). */
  let exactlyOnce = false;
  // Returns [min repetitions] when a quantifier follows (consuming it), else undefined.
  function quantifier(): number | undefined {
    const c = peek();
    let min: number | undefined;
    exactlyOnce = false;
    if (c === '*' || c === '?') { min = 0; i++; }
    else if (c === '+') { min = 1; i++; }
    else if (c === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(src.slice(i));
      if (!m) return undefined; // a literal '{'
      min = Number(m[1]); i += m[0].length;
      exactlyOnce = min === 1 && (m[2] === undefined || m[2] === ',1');
    } else return undefined;
    if (peek() === '?' || peek() === '+') i++;
    return min;
  }

  /** The characters of a small positive class of plain characters ([ "'], [aA]), lower-cased; null for any other class. */
  function smallClass(from: number, to: number): string[] | null {
    const body = src.slice(from + 1, to - 1);
    if (body.length === 0 || body.length > MAX_CLASS || /[\\^\-[\]]/.test(body)) return null;
    return [...new Set([...body].map((ch) => ch.toLowerCase()))];
  }

  function skipClass(): void {
    // at '['
    i++;
    if (peek() === '^') i++;
    if (peek() === ']') i++;
    while (i < src.length && peek() !== ']') {
      if (peek() === '\\') i += 2;
      else if (src.startsWith('[:', i)) { const end = src.indexOf(':]', i + 2); i = end < 0 ? i + 1 : end + 2; }
      else i++;
    }
    if (i >= src.length) throw new GiveUp();
    i++; // ']'
  }

  function parseAlt(): Need {
    let need = parseSeq();
    while (peek() === '|') { i++; const b = parseSeq(); need = need === null || b === null ? null : [...need, ...b]; }
    return need;
  }

  function parseSeq(): Need {
    let best: Need = null;
    // The literal run so far, as alternatives (a small class in it multiplies them).
    let runs = [''];
    const cut = () => { if (runs[0] !== '') best = better(best, runs.map((r) => r.toLowerCase())); runs = ['']; };
    const append = (chars: readonly string[]) => { runs = runs.flatMap((r) => chars.map((ch) => r + ch)); };
    while (i < src.length && peek() !== '|' && peek() !== ')') {
      const c = peek()!;
      if (c === '(') {
        i++;
        if (peek() === '?') {
          i++;
          if (peek() === ':') i++;
          else if (peek() === 'P' || peek() === '<') { const end = src.indexOf('>', i); if (end < 0) throw new GiveUp(); i = end + 1; }
          else {
            const m = /^[imsU-]+(:|\))/.exec(src.slice(i));
            if (!m) throw new GiveUp();
            i += m[0].length;
            if (m[1] === ')') continue; // (?i) flag group: zero-width, keep the run
          }
        }
        const inner = parseAlt();
        if (peek() !== ')') throw new GiveUp();
        i++;
        const min = quantifier();
        cut();
        if (min === undefined || min >= 1) best = better(best, inner);
        continue;
      }
      if (c === '[') {
        const from = i;
        skipClass();
        const chars = smallClass(from, i);
        const min = quantifier();
        // One of a few characters, exactly once, continues the run; one or more of them ends it.
        if (chars !== null && runs.length * chars.length <= MAX_RUNS && (min === undefined || min >= 1)) {
          append(chars);
          if (min !== undefined && !exactlyOnce) cut();
        } else cut();
        continue;
      }
      if (c === '.' || c === '^' || c === '$') { i++; quantifier(); cut(); continue; }
      let ch: string | null;
      if (c === '\\') {
        const n = src[i + 1];
        if (n === undefined) throw new GiveUp();
        i += 2;
        if ('dDwWsSbBAzZ'.includes(n)) ch = null;
        else if (n === 'p' || n === 'P') { if (peek() === '{') { const end = src.indexOf('}', i); i = end < 0 ? i : end + 1; } else i++; ch = null; }
        else if (n === 'x') {
          if (peek() === '{') { const end = src.indexOf('}', i); const code = parseInt(src.slice(i + 1, end), 16); i = end + 1; ch = Number.isNaN(code) ? null : String.fromCodePoint(code); }
          else { const code = parseInt(src.slice(i, i + 2), 16); i += 2; ch = Number.isNaN(code) ? null : String.fromCharCode(code); }
        } else if (n === 'n') ch = '\n';
        else if (n === 't') ch = '\t';
        else if (n === 'r') ch = '\r';
        else if (n === 'f') ch = '\f';
        else if (n === 'v') ch = '\v';
        else if (n === 'Q' || /[0-9]/.test(n)) throw new GiveUp();
        else ch = n;
      } else if (c === '*' || c === '+' || c === '?') {
        throw new GiveUp(); // a quantifier with nothing before it
      } else { ch = c; i++; }
      const min = quantifier();
      if (ch === null) { cut(); continue; }
      if (min === undefined || (min === 1 && exactlyOnce)) { append([ch]); continue; }
      if (min === 0) { cut(); continue; }
      append([ch]); cut();
    }
    cut();
    return best;
  }

  try {
    const need = parseAlt();
    if (i !== src.length) return null;
    return need && need.every((s) => s.length > 0) ? need : null;
  } catch (e) {
    if (e instanceof GiveUp) return null;
    throw e;
  }
}
