// KQL text → tokens. Strings, timespans, datetime(...) bodies and hyphenated operator names
// (project-away, mv-expand, !contains, in~) are recognised here so the parser sees whole words.
// https://learn.microsoft.com/kusto/query/scalar-data-types/string
import { syntaxError } from './kql-errors.js';

export type TokenType = 'ident' | 'string' | 'number' | 'timespan' | 'datetime' | 'op' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** Identifier name, operator text, decoded string, or raw number/datetime text. */
  readonly value: string;
  /** Timespan in milliseconds / number value. */
  readonly num?: number;
  readonly pos: number;
  /** True when whitespace or a comment precedes the token. */
  readonly spaced: boolean;
}

const HYPHENATED = new Set([
  'project-away', 'project-rename', 'project-reorder', 'project-keep', 'project-smart', 'mv-expand', 'mv-apply',
  'make-series', 'top-nested', 'top-hitters', 'parse-kv', 'parse-where', 'make-graph', 'graph-match',
]);

// 1 tick = 100 ns; KQL timespan units (https://learn.microsoft.com/kusto/query/scalar-data-types/timespan).
const TIMESPAN_UNITS: Record<string, number> = {
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  microsecond: 0.001, microseconds: 0.001, tick: 0.0001, ticks: 0.0001,
};

const THREE_CHAR_OPS = ['!in~', '!~='];
const TWO_CHAR_OPS = ['==', '!=', '<=', '>=', '=~', '!~', '..', '=>', '<>'];
const ONE_CHAR_OPS = '|()[]{},;=<>+-*/%.:!?@$';

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  let spaced = true;
  const push = (type: TokenType, value: string, pos: number, num?: number) => {
    tokens.push({ type, value, pos, spaced, num });
    spaced = false;
  };
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c) || c === '\ufeff' || c === '\u200b') {
      i++;
      spaced = true;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      spaced = true;
      continue;
    }
    const start = i;
    // Strings: '…' "…" with escapes; @'…' @"…" verbatim; h'…' H"…" obfuscated; ```…``` multi-line.
    if (text.startsWith('```', i) || text.startsWith('~~~', i)) {
      const fence = text.slice(i, i + 3);
      const end = text.indexOf(fence, i + 3);
      if (end < 0) throw syntaxError(text, start, 'This multi-line string is never closed');
      push('string', text.slice(i + 3, end), start);
      i = end + 3;
      continue;
    }
    let verbatim = false;
    let q = i;
    if ((c === '@') && (text[i + 1] === '"' || text[i + 1] === "'")) {
      verbatim = true;
      q = i + 1;
    } else if ((c === 'h' || c === 'H') && (text[i + 1] === '"' || text[i + 1] === "'")) {
      q = i + 1;
    } else if ((c === 'h' || c === 'H') && text[i + 1] === '@' && (text[i + 2] === '"' || text[i + 2] === "'")) {
      verbatim = true;
      q = i + 2;
    }
    if (text[q] === '"' || text[q] === "'") {
      const quote = text[q];
      let j = q + 1;
      let out = '';
      for (;;) {
        if (j >= n || (text[j] === '\n' && !verbatim)) {
          throw syntaxError(text, start, `This string is never closed: add the missing ${quote}`);
        }
        const ch = text[j];
        if (ch === quote) {
          if (verbatim && text[j + 1] === quote) {
            out += quote;
            j += 2;
            continue;
          }
          j++;
          break;
        }
        if (ch === '\\' && !verbatim) {
          const e = text[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            out += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          if (e !== undefined && e in map) {
            out += map[e];
            j += 2;
            continue;
          }
          // Unknown escapes keep the backslash, which is what regex-heavy queries expect.
          out += '\\' + (e ?? '');
          j += 2;
          continue;
        }
        out += ch;
        j++;
      }
      push('string', out, start);
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      let j = i;
      if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(text[j])) j++;
        push('number', text.slice(i, j), start, parseInt(text.slice(i + 2, j), 16));
        i = j;
        continue;
      }
      while (j < n && isDigit(text[j])) j++;
      if (text[j] === '.' && text[j + 1] !== '.') {
        j++;
        while (j < n && isDigit(text[j])) j++;
      }
      if ((text[j] === 'e' || text[j] === 'E') && /[-+0-9]/.test(text[j + 1] ?? '')) {
        let k = j + 1;
        if (text[k] === '-' || text[k] === '+') k++;
        if (isDigit(text[k] ?? '')) {
          j = k;
          while (j < n && isDigit(text[j])) j++;
        }
      }
      const numText = text.slice(i, j);
      // Unit suffix → timespan literal (1d, 2h, 30m, 10s, 100ms, 1.5hours).
      let k = j;
      while (k < n && /[a-zA-Z]/.test(text[k])) k++;
      const unit = text.slice(j, k);
      if (unit) {
        const mult = TIMESPAN_UNITS[unit.toLowerCase()];
        if (mult === undefined || isIdentPart(text[k] ?? '')) {
          if (unit === 'l' || unit === 'L') {
            push('number', numText, start, Number(numText));
            i = k;
            continue;
          }
          throw syntaxError(text, start, `'${text.slice(i, k)}' is not a number or a timespan (use 1d, 2h, 30m, 10s or 100ms)`);
        }
        push('timespan', text.slice(i, k), start, Number(numText) * mult);
        i = k;
        continue;
      }
      push('number', numText, start, Number(numText));
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text[j])) j++;
      let word = text.slice(i, j);
      // project-away, mv-expand, … are single words.
      while (text[j] === '-' && isIdentStart(text[j + 1] ?? '')) {
        let k = j + 1;
        while (k < n && isIdentPart(text[k])) k++;
        const joined = `${word}-${text.slice(j + 1, k)}`;
        if (!HYPHENATED.has(joined.toLowerCase())) break;
        word = joined;
        j = k;
      }
      // `in~` `has_any` … ; `in~` is one operator word.
      if (text[j] === '~' && (word === 'in' || word === 'has' || word === 'contains')) {
        word += '~';
        j++;
      }
      // datetime(2024-01-31 10:00) has a body that is not an expression.
      if ((word === 'datetime' || word === 'date' || word === 'timespan' || word === 'time') && /^\s*\(/.test(text.slice(j))) {
        const open = text.indexOf('(', j);
        const close = text.indexOf(')', open);
        if (close < 0) throw syntaxError(text, start, `${word}( is never closed`);
        let body = text.slice(open + 1, close).trim();
        if (/^["']/.test(body)) body = body.slice(1, -1);
        push(word === 'datetime' || word === 'date' ? 'datetime' : 'timespan', body, start,
          word === 'datetime' || word === 'date' ? undefined : parseTimespanBody(text, start, body));
        i = close + 1;
        continue;
      }
      push('ident', word, start);
      i = j;
      continue;
    }
    if (c === '!' && isIdentStart(text[i + 1] ?? '') && text[i + 1] !== '$') {
      let j = i + 1;
      while (j < n && isIdentPart(text[j])) j++;
      let word = text.slice(i, j);
      if (text[j] === '~') {
        word += '~';
        j++;
      }
      push('op', word, start);
      i = j;
      continue;
    }
    const three = THREE_CHAR_OPS.find((o) => text.startsWith(o, i));
    if (three) {
      push('op', three, start);
      i += three.length;
      continue;
    }
    const two = TWO_CHAR_OPS.find((o) => text.startsWith(o, i));
    if (two) {
      push('op', two, start);
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.includes(c)) {
      push('op', c, start);
      i++;
      continue;
    }
    throw syntaxError(text, start, `Unexpected character '${c}'`);
  }
  tokens.push({ type: 'eof', value: '', pos: n, spaced: true });
  return tokens;
}

function parseTimespanBody(text: string, pos: number, body: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(body);
  if (m) {
    const mult = m[2] ? TIMESPAN_UNITS[m[2].toLowerCase()] : 86_400_000;
    if (mult !== undefined) return Number(m[1]) * mult;
  }
  // d.hh:mm:ss[.fffffff] and hh:mm[:ss]
  const t = /^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(body);
  if (t) {
    const frac = t[5] ? Number(`0.${t[5]}`) * 1000 : 0;
    return (Number(t[1] ?? 0) * 86400 + Number(t[2]) * 3600 + Number(t[3]) * 60 + Number(t[4] ?? 0)) * 1000 + frac;
  }
  throw syntaxError(text, pos, `'${body}' is not a timespan`);
}

export function timespanUnitMs(unit: string): number | undefined {
  return TIMESPAN_UNITS[unit.toLowerCase()];
}
