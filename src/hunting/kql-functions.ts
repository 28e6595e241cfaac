// KQL scalar functions and aggregations → SQL, as a table keyed by function name.
// Helpers that SQL lacks (has, regex, datetime formatting, …) are `kql_*` functions registered on
// the connection by registerSqlFunctions (sqlite-functions.ts).
import type { Env, KqlType, Scope, SExpr } from './compiler-types.js';
import type { Compiler } from './kql-compiler.js';
import { firstIdent } from './kql-compiler.js';
import type { Expr } from './kql-nodes.js';

type Call = Extract<Expr, { kind: 'call' }>;
type Impl = (c: Compiler, a: SExpr[], e: Call) => SExpr;

const DAY = 86_400_000;

const bool = (sql: string): SExpr => ({ sql, type: 'bool' });
const str = (sql: string): SExpr => ({ sql, type: 'string' });
const long = (sql: string): SExpr => ({ sql, type: 'long' });
const real = (sql: string): SExpr => ({ sql, type: 'real' });
const dyn = (sql: string): SExpr => ({ sql, type: 'dynamic' });
const dt = (sql: string): SExpr => ({ sql, type: 'datetime' });

function S(c: Compiler, a: SExpr | undefined): string {
  return a ? c.convert(a, 'string').sql : "''";
}
function N(c: Compiler, a: SExpr): string {
  return a.type === 'string' || a.type === 'dynamic' ? c.convert(a, 'real').sql : a.sql;
}
/** Dynamic argument as JSON with the right subtype so json_array/json_object nest it instead of quoting. */
function J(a: SExpr): string {
  if (a.type === 'dynamic') return `(CASE WHEN json_valid(${a.sql}) AND substr(trim(${a.sql}), 1, 1) IN ('[', '{') THEN json(${a.sql}) ELSE ${a.sql} END)`;
  if (a.type === 'bool') return `(CASE ${a.sql} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END)`;
  if (a.type === 'datetime') return `kql_datetime_tostring(${a.sql})`;
  return a.sql;
}
function fnc(c: Compiler, name: string, ...args: string[]): string {
  return `${c.d.fn(name)}(${args.join(', ')})`;
}
function constString(c: Compiler, e: Call, a: SExpr | undefined, what: string): string {
  if (!a || !a.isConst || typeof a.value !== 'string') c.err(e.pos, `${e.name}(): ${what} must be a constant string`);
  return a.value as string;
}
function need(c: Compiler, e: Call, a: SExpr[], min: number, max = min): void {
  if (a.length < min || a.length > max) {
    c.err(e.pos, `${e.name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, not ${a.length}`);
  }
}
function bin(c: Compiler, v: SExpr, size: SExpr): SExpr {
  const type: KqlType = v.type === 'datetime' ? 'datetime' : v.type === 'timespan' ? 'timespan' : v.type === 'real' || size.type === 'real' ? 'real' : 'long';
  if (type === 'real') return { sql: `(floor(${N(c, v)} / ${size.sql}) * ${size.sql})`, type };
  return { sql: `((${v.sql} - ((${v.sql} % ${size.sql}) + ${size.sql}) % ${size.sql}))`, type };
}

/** parse_json(): JSON text stays JSON; a JSON-encoded string holding JSON is unwrapped; other text is a dynamic string. */
function parseJson(c: Compiler, a: SExpr): SExpr {
  if (a.type === 'string' || a.type === 'dynamic') return a.isConst && typeof a.value !== 'string' ? dyn(a.sql) : dyn(fnc(c, 'parse_json', a.sql));
  return c.convert(a, 'dynamic');
}

const TS_UNITS: Record<string, number> = {
  millisecond: 1, milliseconds: 1, ms: 1, second: 1000, seconds: 1000, minute: 60_000, minutes: 60_000,
  hour: 3_600_000, hours: 3_600_000, day: DAY, days: DAY, week: 7 * DAY, weeks: 7 * DAY,
};

const FUNCTIONS: Record<string, Impl> = {
  // time
  now: (c, a) => (a[0] ? dt(`(${c.ctx.now} + ${a[0].sql})`) : { sql: String(c.ctx.now), type: 'datetime', value: c.ctx.now, isConst: true }),
  ago: (c, a, e) => {
    need(c, e, a, 1);
    if (a[0].isConst && typeof a[0].value === 'number') {
      const v = Math.round(c.ctx.now - (a[0].value as number));
      return { sql: String(v), type: 'datetime', value: v, isConst: true };
    }
    return dt(`(${c.ctx.now} - ${a[0].sql})`);
  },
  bin: (c, a, e) => (need(c, e, a, 2), bin(c, a[0], a[1])),
  floor: (c, a, e) => (a.length === 1 ? { sql: `floor(${a[0].sql})`, type: a[0].type } : (need(c, e, a, 2), bin(c, a[0], a[1]))),
  bin_at: (c, a, e) => {
    need(c, e, a, 3);
    return { sql: `(${a[2].sql} + ${bin(c, { sql: `(${a[0].sql} - ${a[2].sql})`, type: 'long' }, a[1]).sql})`, type: a[0].type };
  },
  startofday: (c, a) => dt(`(${bin(c, a[0], long(String(DAY))).sql}${a[1] ? ` + ${a[1].sql} * ${DAY}` : ''})`),
  endofday: (c, a) => dt(`(${bin(c, a[0], long(String(DAY))).sql} + ${DAY} - 1${a[1] ? ` + ${a[1].sql} * ${DAY}` : ''})`),
  startofweek: (c, a) => dt(fnc(c, 'startof', "'week'", a[0].sql, a[1]?.sql ?? '0')),
  startofmonth: (c, a) => dt(fnc(c, 'startof', "'month'", a[0].sql, a[1]?.sql ?? '0')),
  startofyear: (c, a) => dt(fnc(c, 'startof', "'year'", a[0].sql, a[1]?.sql ?? '0')),
  endofweek: (c, a) => dt(`(${fnc(c, 'startof', "'week'", a[0].sql, `${a[1]?.sql ?? '0'} + 1`)} - 1)`),
  endofmonth: (c, a) => dt(`(${fnc(c, 'startof', "'month'", a[0].sql, `${a[1]?.sql ?? '0'} + 1`)} - 1)`),
  endofyear: (c, a) => dt(`(${fnc(c, 'startof', "'year'", a[0].sql, `${a[1]?.sql ?? '0'} + 1`)} - 1)`),
  datetime_add: (c, a, e) => (need(c, e, a, 3), dt(fnc(c, 'datetime_add', a[0].sql, a[1].sql, a[2].sql))),
  datetime_diff: (c, a, e) => (need(c, e, a, 3), long(fnc(c, 'datetime_diff', a[0].sql, a[1].sql, a[2].sql))),
  datetime_part: (c, a, e) => (need(c, e, a, 2), long(fnc(c, 'datetime_part', a[0].sql, a[1].sql))),
  getyear: (c, a) => long(fnc(c, 'datetime_part', "'year'", a[0].sql)),
  getmonth: (c, a) => long(fnc(c, 'datetime_part', "'month'", a[0].sql)),
  monthofyear: (c, a) => long(fnc(c, 'datetime_part', "'month'", a[0].sql)),
  dayofmonth: (c, a) => long(fnc(c, 'datetime_part', "'day'", a[0].sql)),
  dayofyear: (c, a) => long(fnc(c, 'datetime_part', "'dayofyear'", a[0].sql)),
  week_of_year: (c, a) => long(fnc(c, 'datetime_part', "'week_of_year'", a[0].sql)),
  weekofyear: (c, a) => long(fnc(c, 'datetime_part', "'week_of_year'", a[0].sql)),
  hourofday: (c, a) => long(`((${a[0].sql} / 3600000) % 24)`),
  dayofweek: (c, a) => ({ sql: `((((${a[0].sql} / ${DAY}) + 4) % 7) * ${DAY})`, type: 'timespan' }),
  format_datetime: (c, a, e) => (need(c, e, a, 2), str(fnc(c, 'format_datetime', a[0].sql, a[1].sql))),
  format_timespan: (c, a, e) => (need(c, e, a, 2), str(fnc(c, 'format_timespan', a[0].sql, a[1].sql))),
  todatetime: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'datetime')),
  totimespan: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'timespan')),
  unixtime_seconds_todatetime: (c, a) => dt(`CAST(${N(c, a[0])} * 1000 AS INTEGER)`),
  unixtime_milliseconds_todatetime: (c, a) => dt(`CAST(${N(c, a[0])} AS INTEGER)`),
  ingestion_time: (c) => dt(c.ingestionTimeRef()),

  // conversion
  tostring: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'string')),
  toint: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'int')),
  tolong: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'long')),
  todouble: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'real')),
  toreal: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'real')),
  todecimal: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'real')),
  tobool: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'bool')),
  toboolean: (c, a, e) => (need(c, e, a, 1), c.convert(a[0], 'bool')),
  toguid: (c, a) => ({ sql: S(c, a[0]), type: 'guid' }),
  parse_json: (c, a, e) => (need(c, e, a, 1), parseJson(c, a[0])),
  todynamic: (c, a, e) => (need(c, e, a, 1), parseJson(c, a[0])),
  parsejson: (c, a, e) => (need(c, e, a, 1), parseJson(c, a[0])),
  gettype: (c, a) => str(a[0].type === 'dynamic' ? fnc(c, 'gettype', a[0].sql) : c.d.string(a[0].type)),

  // strings
  strlen: (c, a) => long(`length(${S(c, a[0])})`),
  string_size: (c, a) => long(`length(CAST(${S(c, a[0])} AS BLOB))`),
  tolower: (c, a) => str(`lower(${S(c, a[0])})`),
  toupper: (c, a) => str(`upper(${S(c, a[0])})`),
  strcat: (c, a) => str(a.length ? `(${a.map((x) => `COALESCE(${S(c, x)}, '')`).join(' || ')})` : "''"),
  strcat_delim: (c, a) => str(`(${a.slice(1).map((x) => `COALESCE(${S(c, x)}, '')`).join(` || ${a[0].sql} || `)})`),
  substring: (c, a, e) => {
    need(c, e, a, 2, 3);
    return str(`substr(${S(c, a[0])}, (${a[1].sql}) + 1${a[2] ? `, ${a[2].sql}` : ''})`);
  },
  indexof: (c, a, e) => {
    need(c, e, a, 2, 5);
    return long(fnc(c, 'indexof', S(c, a[0]), S(c, a[1]), a[2]?.sql ?? '0'));
  },
  split: (c, a, e) => {
    need(c, e, a, 2, 3);
    const arr = fnc(c, 'split', S(c, a[0]), S(c, a[1]));
    return dyn(a[2] ? `json_array(json_extract(${arr}, '$[' || CAST(${a[2].sql} AS INTEGER) || ']'))` : arr);
  },
  replace_string: (c, a, e) => (need(c, e, a, 3), str(`replace(${S(c, a[0])}, ${S(c, a[1])}, ${S(c, a[2])})`)),
  replace_regex: (c, a, e) => (need(c, e, a, 3), str(fnc(c, 'replace_regex', S(c, a[0]), S(c, a[1]), S(c, a[2])))),
  // Legacy replace(regex, rewrite, text).
  replace: (c, a, e) => (need(c, e, a, 3), str(fnc(c, 'replace_regex', S(c, a[2]), S(c, a[0]), S(c, a[1])))),
  trim: (c, a, e) => (need(c, e, a, 2), str(fnc(c, 'trim', S(c, a[0]), S(c, a[1]), '0'))),
  trim_start: (c, a, e) => (need(c, e, a, 2), str(fnc(c, 'trim', S(c, a[0]), S(c, a[1]), '1'))),
  trim_end: (c, a, e) => (need(c, e, a, 2), str(fnc(c, 'trim', S(c, a[0]), S(c, a[1]), '2'))),
  reverse: (c, a) => str(fnc(c, 'reverse', S(c, a[0]))),
  strrep: (c, a) => str(fnc(c, 'strrep', S(c, a[0]), a[1].sql, a[2] ? S(c, a[2]) : "''")),
  countof: (c, a, e) => (need(c, e, a, 2, 3), long(fnc(c, 'countof', S(c, a[0]), S(c, a[1]), a[2] ? S(c, a[2]) : "'normal'"))),
  extract: (c, a, e) => {
    need(c, e, a, 3, 4);
    const s: SExpr = str(fnc(c, 'extract', S(c, a[0]), a[1].sql, S(c, a[2])));
    if (a[3] && a[3].isConst && typeof a[3].value === 'string') return c.convert(s, a[3].value as KqlType);
    return s;
  },
  extract_all: (c, a, e) => {
    need(c, e, a, 2, 3);
    if (a.length === 3) return dyn(fnc(c, 'extract_all', S(c, a[0]), S(c, a[2]), a[1].sql));
    return dyn(fnc(c, 'extract_all', S(c, a[0]), S(c, a[1]), 'NULL'));
  },
  extractall: (c, a, e) => FUNCTIONS.extract_all(c, a, e),
  extractjson: (c, a, e) => {
    need(c, e, a, 2, 3);
    const path = constString(c, e, a[0], 'the JSON path');
    const v = `(CASE WHEN json_valid(${a[1].sql}) THEN json_extract(${a[1].sql}, ${c.d.string(path)}) END)`;
    return a[2] && a[2].isConst ? c.convert(dyn(v), a[2].value as KqlType) : str(v);
  },
  base64_decode_tostring: (c, a) => str(fnc(c, 'base64_decode', S(c, a[0]))),
  base64_decodestring: (c, a) => str(fnc(c, 'base64_decode', S(c, a[0]))),
  base64_encode_tostring: (c, a) => str(fnc(c, 'base64_encode', S(c, a[0]))),
  base64_encodestring: (c, a) => str(fnc(c, 'base64_encode', S(c, a[0]))),
  base64_decode_toarray: (c, a) => dyn(fnc(c, 'base64_decode_toarray', S(c, a[0]))),
  url_decode: (c, a) => str(fnc(c, 'url_decode', S(c, a[0]))),
  url_encode: (c, a) => str(fnc(c, 'url_encode', S(c, a[0]))),
  url_encode_component: (c, a) => str(fnc(c, 'url_encode', S(c, a[0]))),
  parse_url: (c, a) => dyn(fnc(c, 'parse_url', S(c, a[0]))),
  parse_path: (c, a) => dyn(fnc(c, 'parse_path', S(c, a[0]))),
  parse_command_line: (c, a) => dyn(fnc(c, 'parse_command_line', S(c, a[0]))),
  parse_csv: (c, a) => dyn(fnc(c, 'parse_csv', S(c, a[0]))),
  parse_user_agent: (c, a) => dyn(fnc(c, 'parse_user_agent', S(c, a[0]))),
  parse_version: (c, a) => real(fnc(c, 'parse_version', S(c, a[0]))),
  hash_sha256: (c, a) => str(fnc(c, 'hash', S(c, a[0]), "'sha256'")),
  hash_sha1: (c, a) => str(fnc(c, 'hash', S(c, a[0]), "'sha1'")),
  hash_md5: (c, a) => str(fnc(c, 'hash', S(c, a[0]), "'md5'")),
  hash: (c, a) => long(fnc(c, 'hash_long', S(c, a[0]), a[1]?.sql ?? 'NULL')),
  new_guid: (c) => ({ sql: fnc(c, 'new_guid'), type: 'guid' }),
  unicode_codepoints_from_string: (c, a) => dyn(fnc(c, 'codepoints_from', S(c, a[0]))),
  unicode_codepoints_to_string: (c, a) => str(fnc(c, 'codepoints_to', a[0].sql)),
  format_bytes: (c, a) => str(fnc(c, 'format_bytes', N(c, a[0]), a[1]?.sql ?? '0', a[2] ? S(c, a[2]) : 'NULL')),
  tohex: (c, a) => str(fnc(c, 'tohex', a[0].sql)),

  // emptiness and logic
  isempty: (c, a, e) => (need(c, e, a, 1), bool(`(${a[0].sql} IS NULL OR ${a[0].sql} = '' OR ${a[0].sql} = '[]' OR ${a[0].sql} = '{}')`)),
  isnotempty: (c, a, e) => (need(c, e, a, 1), bool(`(${a[0].sql} IS NOT NULL AND ${a[0].sql} <> '' AND ${a[0].sql} <> '[]' AND ${a[0].sql} <> '{}')`)),
  notempty: (c, a, e) => FUNCTIONS.isnotempty(c, a, e),
  isnull: (c, a) => bool(`(${a[0].sql} IS NULL)`),
  isnotnull: (c, a) => bool(`(${a[0].sql} IS NOT NULL)`),
  notnull: (c, a) => bool(`(${a[0].sql} IS NOT NULL)`),
  not: (c, a, e) => (need(c, e, a, 1), bool(`(NOT COALESCE(${c.truthy(a[0])}, 0))`)),
  iff: (c, a, e) => {
    need(c, e, a, 3);
    const type = a[1].sql === 'NULL' ? a[2].type : a[1].type;
    return { sql: `(CASE WHEN ${c.truthy(a[0])} THEN ${a[1].sql} ELSE ${a[2].sql} END)`, type };
  },
  iif: (c, a, e) => FUNCTIONS.iff(c, a, e),
  case: (c, a, e) => {
    if (a.length < 3 || a.length % 2 === 0) c.err(e.pos, 'case() takes pairs of predicate, value and a final else value');
    const parts: string[] = [];
    for (let i = 0; i + 1 < a.length; i += 2) parts.push(`WHEN ${c.truthy(a[i])} THEN ${a[i + 1].sql}`);
    return { sql: `(CASE ${parts.join(' ')} ELSE ${a[a.length - 1].sql} END)`, type: a[1].type };
  },
  coalesce: (c, a) => {
    const type = a[0].type;
    const items = a.map((x) => (x.type === 'string' ? `NULLIF(${x.sql}, '')` : x.sql));
    return { sql: `COALESCE(${items.join(', ')}${type === 'string' ? ", ''" : ''})`, type };
  },
  max_of: (c, a) => ({ sql: `max(${a.map((x) => x.sql).join(', ')})`, type: a[0].type }),
  min_of: (c, a) => ({ sql: `min(${a.map((x) => x.sql).join(', ')})`, type: a[0].type }),

  // math
  abs: (c, a) => ({ sql: `abs(${a[0].sql})`, type: a[0].type }),
  round: (c, a) => real(`round(${N(c, a[0])}${a[1] ? `, ${a[1].sql}` : ''})`),
  ceiling: (c, a) => ({ sql: `ceil(${a[0].sql})`, type: a[0].type }),
  sqrt: (c, a) => real(`sqrt(${N(c, a[0])})`),
  pow: (c, a) => real(`pow(${N(c, a[0])}, ${N(c, a[1])})`),
  exp: (c, a) => real(`exp(${N(c, a[0])})`),
  log: (c, a) => real(`ln(${N(c, a[0])})`),
  log10: (c, a) => real(`log10(${N(c, a[0])})`),
  log2: (c, a) => real(`log2(${N(c, a[0])})`),
  sign: (c, a) => long(`sign(${a[0].sql})`),
  rand: (c, a) => (a[0] ? long(`abs(random()) % (${a[0].sql})`) : real('(abs(random()) / 9223372036854775807.0)')),
  sin: (c, a) => real(`sin(${N(c, a[0])})`),
  cos: (c, a) => real(`cos(${N(c, a[0])})`),
  tan: (c, a) => real(`tan(${N(c, a[0])})`),
  cot: (c, a) => real(`(1.0 / tan(${N(c, a[0])}))`),
  isnan: (c, a) => bool(`(${a[0].sql} IS NULL)`),
  isfinite: (c, a) => bool(`(${a[0].sql} IS NOT NULL)`),
  binary_and: (c, a) => long(`(${a[0].sql} & ${a[1].sql})`),
  binary_or: (c, a) => long(`(${a[0].sql} | ${a[1].sql})`),
  binary_xor: (c, a) => long(`((${a[0].sql} | ${a[1].sql}) - (${a[0].sql} & ${a[1].sql}))`),
  binary_not: (c, a) => long(`(~${a[0].sql})`),
  binary_shift_left: (c, a) => long(`(${a[0].sql} << ${a[1].sql})`),
  binary_shift_right: (c, a) => long(`(${a[0].sql} >> ${a[1].sql})`),

  // dynamic
  dynamic: (c, a) => dyn(a[0]?.sql ?? 'NULL'),
  array_length: (c, a, e) => (need(c, e, a, 1), long(`(CASE WHEN json_valid(${a[0].sql}) AND json_type(${a[0].sql}) = 'array' THEN json_array_length(${a[0].sql}) END)`)),
  pack_array: (c, a) => dyn(`json_array(${a.map(J).join(', ')})`),
  pack: (c, a) => dyn(`json_object(${a.map(J).join(', ')})`),
  bag_pack: (c, a) => dyn(`json_object(${a.map(J).join(', ')})`),
  pack_dictionary: (c, a) => dyn(`json_object(${a.map(J).join(', ')})`),
  pack_all: (c, _a, e) => c.err(e.pos, 'pack_all() is not supported'),
  bag_keys: (c, a) => dyn(fnc(c, 'bag_keys', a[0].sql)),
  bag_merge: (c, a) => dyn(fnc(c, 'bag_merge', ...a.map((x) => x.sql))),
  bag_remove_keys: (c, a) => dyn(fnc(c, 'bag_remove_keys', a[0].sql, a[1].sql)),
  bag_has_key: (c, a) => bool(fnc(c, 'bag_has_key', a[0].sql, S(c, a[1]))),
  array_concat: (c, a) => dyn(fnc(c, 'array_concat', ...a.map((x) => x.sql))),
  array_slice: (c, a) => dyn(fnc(c, 'array_slice', a[0].sql, a[1].sql, a[2]?.sql ?? '-1')),
  array_index_of: (c, a) => long(fnc(c, 'array_index_of', a[0].sql, J(a[1]))),
  array_sum: (c, a) => real(fnc(c, 'array_sum', a[0].sql)),
  array_sort_asc: (c, a) => dyn(fnc(c, 'array_sort', a[0].sql, '0')),
  array_sort_desc: (c, a) => dyn(fnc(c, 'array_sort', a[0].sql, '1')),
  array_reverse: (c, a) => dyn(fnc(c, 'array_reverse', a[0].sql)),
  array_strcat: (c, a) => str(fnc(c, 'strcat_array', a[0].sql, S(c, a[1]))),
  strcat_array: (c, a) => str(fnc(c, 'strcat_array', a[0].sql, S(c, a[1]))),
  set_has_element: (c, a) => bool(`(${fnc(c, 'array_index_of', a[0].sql, J(a[1]))} >= 0)`),
  set_union: (c, a) => dyn(fnc(c, 'set_op', "'union'", ...a.map((x) => x.sql))),
  set_intersect: (c, a) => dyn(fnc(c, 'set_op', "'intersect'", ...a.map((x) => x.sql))),
  set_difference: (c, a) => dyn(fnc(c, 'set_op', "'difference'", ...a.map((x) => x.sql))),
  jaccard_index: (c, a) => real(fnc(c, 'jaccard', a[0].sql, a[1].sql)),
  zip: (c, a) => dyn(fnc(c, 'zip', ...a.map((x) => x.sql))),
  range: (c, a) => dyn(fnc(c, 'range', N(c, a[0]), N(c, a[1]), a[2] ? N(c, a[2]) : '1')),
  repeat: (c, a) => dyn(fnc(c, 'repeat', J(a[0]), a[1].sql)),

  // network
  ipv4_is_private: (c, a) => bool(fnc(c, 'ipv4_is_private', S(c, a[0]))),
  ipv4_is_in_range: (c, a) => bool(fnc(c, 'ipv4_is_in_range', S(c, a[0]), S(c, a[1]))),
  ipv4_is_in_any_range: (c, a) => bool(fnc(c, 'ipv4_is_in_any_range', S(c, a[0]), a[1].type === 'dynamic' ? a[1].sql : `json_array(${a.slice(1).map((x) => x.sql).join(', ')})`)),
  ipv4_is_match: (c, a) => bool(fnc(c, 'ipv4_is_in_range', S(c, a[0]), S(c, a[1]))),
  ipv6_is_match: (c, a) => bool(`(${S(c, a[0])} = ${S(c, a[1])})`),
  parse_ipv4: (c, a) => long(fnc(c, 'parse_ipv4', S(c, a[0]))),
  ipv4_compare: (c, a) => long(`(${fnc(c, 'parse_ipv4', S(c, a[0]))} - ${fnc(c, 'parse_ipv4', S(c, a[1]))})`),
  // No GeoIP database ships with Vigil: an empty property bag, so lookups are empty rather than wrong.
  geo_info_from_ip_address: (c) => dyn("'{}'"),

  // window functions (after serialize / sort)
  row_number: (c, a) => long(a[0] ? `(ROW_NUMBER() OVER () + ${a[0].sql} - 1)` : 'ROW_NUMBER() OVER ()'),
  prev: (c, a) => ({ sql: `LAG(${a[0].sql}, ${a[1]?.sql ?? '1'}${a[2] ? `, ${a[2].sql}` : ''}) OVER ()`, type: a[0].type }),
  next: (c, a) => ({ sql: `LEAD(${a[0].sql}, ${a[1]?.sql ?? '1'}${a[2] ? `, ${a[2].sql}` : ''}) OVER ()`, type: a[0].type }),
  row_cumsum: (c, a) => ({ sql: `SUM(${a[0].sql}) OVER (ROWS UNBOUNDED PRECEDING)`, type: a[0].type }),
};

/** Compile a scalar function call. */
export function compileFunction(c: Compiler, e: Call, scope: Scope, env: Env): SExpr {
  const impl = FUNCTIONS[e.name];
  if (!impl) {
    if (/^[A-Z]/.test(e.name)) c.err(e.pos, `Unknown function '${e.name}': Vigil does not provide it`);
    c.err(e.pos, `Unknown function '${e.name}()'`);
  }
  const args = e.args.map((x) => {
    if (x.kind === 'star') return { sql: '*', type: 'string' as KqlType };
    return c.scalar(x, scope, env);
  });
  return impl(c, args, e);
}

// ---- aggregations --------------------------------------------------------------------------

const AGG_PREFIX: Record<string, string> = {
  count: 'count_', countif: 'countif_', dcount: 'dcount_', dcountif: 'dcountif_', count_distinct: 'count_distinct_',
  sum: 'sum_', sumif: 'sumif_', avg: 'avg_', avgif: 'avgif_', min: 'min_', max: 'max_', minif: 'minif_', maxif: 'maxif_',
  make_set: 'set_', makeset: 'set_', make_set_if: 'set_', make_list: 'list_', makelist: 'list_', make_list_if: 'list_',
  make_bag: 'bag_', make_bag_if: 'bag_', any: 'any_', take_any: 'any_', anyif: 'anyif_', take_anyif: 'anyif_',
  percentile: 'percentile_', stdev: 'stdev_', stdevif: 'stdevif_', variance: 'variance_', hll: 'hll_',
  make_list_with_nulls: 'list_', binary_all_or: 'binary_all_or_', binary_all_and: 'binary_all_and_',
  count_distinctif: 'count_distinctif_', arg_max: '', arg_min: '',
};

export function isAggregateName(name: string): boolean {
  return name in AGG_PREFIX && name !== 'arg_max' && name !== 'arg_min';
}

/** KQL's default column name of an aggregation: count_, dcount_DeviceId, set_FileName, … */
export function deriveAggName(e: Call): string {
  const prefix = AGG_PREFIX[e.name];
  if (prefix === undefined) return 'Column1';
  if (e.name === 'count' || e.name === 'countif') return prefix;
  const col = e.args[0] ? firstIdent(e.args[0]) : null;
  if (e.name === 'any' || e.name === 'take_any') return col ?? 'any_';
  if (e.name === 'percentile' && e.args[1]?.kind === 'literal') return `${prefix}${col ?? ''}_${String(e.args[1].value).replace('.', '_')}`;
  return `${prefix}${col ?? ''}`;
}

export function compileAggregate(c: Compiler, e: Call, scope: Scope, env: Env): SExpr {
  const rowScope: Scope = { ...scope, aggregate: false };
  const a = e.args.map((x) => (x.kind === 'star' ? { sql: '*', type: 'string' as KqlType } : c.scalar(x, rowScope, env)));
  const p = (i: number) => (a[i] ? c.truthy(a[i]) : '1');
  const d = c.d;
  switch (e.name) {
    case 'count':
      return long(a.length && a[0].sql !== '*' ? `count(${a[0].sql})` : 'count(*)');
    case 'countif':
      return long(`count(CASE WHEN ${p(0)} THEN 1 END)`);
    case 'dcount': case 'count_distinct':
      return long(`count(DISTINCT ${a[0].sql})`);
    case 'dcountif': case 'count_distinctif':
      return long(`count(DISTINCT CASE WHEN ${p(1)} THEN ${a[0].sql} END)`);
    case 'sum':
      return { sql: `COALESCE(sum(${a[0].sql}), 0)`, type: a[0].type === 'real' ? 'real' : a[0].type === 'timespan' ? 'timespan' : 'long' };
    case 'sumif':
      return { sql: `COALESCE(sum(CASE WHEN ${p(1)} THEN ${a[0].sql} END), 0)`, type: a[0].type === 'real' ? 'real' : 'long' };
    case 'avg':
      return real(`avg(${a[0].sql})`);
    case 'avgif':
      return real(`avg(CASE WHEN ${p(1)} THEN ${a[0].sql} END)`);
    case 'min': case 'max':
      return { sql: `${e.name}(${a[0].sql})`, type: a[0].type };
    case 'minif': case 'maxif':
      return { sql: `${e.name.slice(0, 3)}(CASE WHEN ${p(1)} THEN ${a[0].sql} END)`, type: a[0].type };
    case 'make_set': case 'makeset':
      return dyn(setExpr(c, a[0], true, null, a[1]));
    case 'make_set_if':
      return dyn(setExpr(c, a[0], true, p(1), a[2]));
    case 'make_list': case 'makelist': case 'make_list_with_nulls':
      return dyn(setExpr(c, a[0], false, null, a[1]));
    case 'make_list_if':
      return dyn(setExpr(c, a[0], false, p(1), a[2]));
    case 'make_bag':
      return dyn(`${d.fn('make_bag')}(${a[0].sql})`);
    case 'make_bag_if':
      return dyn(`${d.fn('make_bag')}(CASE WHEN ${p(1)} THEN ${a[0].sql} END)`);
    case 'any': case 'take_any':
      if (a.length !== 1 || a[0].sql === '*') c.err(e.pos, `${e.name}() with several arguments or * is not supported`);
      return { sql: `${d.fn('any')}(${a[0].sql})`, type: a[0].type };
    case 'anyif': case 'take_anyif':
      return { sql: `${d.fn('any')}(CASE WHEN ${p(1)} THEN ${a[0].sql} END)`, type: a[0].type };
    case 'percentile':
      return { sql: `${d.fn('percentile')}(${a[0].sql}, ${a[1].sql})`, type: a[0].type === 'long' || a[0].type === 'int' ? 'long' : a[0].type };
    case 'stdev':
      return real(`${d.fn('stdev')}(${a[0].sql})`);
    case 'stdevif':
      return real(`${d.fn('stdev')}(CASE WHEN ${p(1)} THEN ${a[0].sql} END)`);
    case 'variance':
      return real(`${d.fn('variance')}(${a[0].sql})`);
    case 'hll':
      c.err(e.pos, 'hll() is not supported: use dcount()');
      break;
    default:
      break;
  }
  c.err(e.pos, `Unknown aggregation '${e.name}()'`);
}

function setExpr(c: Compiler, x: SExpr, distinct: boolean, filter: string | null, max: SExpr | undefined): string {
  const value = x.type === 'datetime' ? c.convert(x, 'string').sql : x.type === 'bool' ? J(x) : x.sql;
  const agg = c.d.jsonGroupArray(value, distinct, filter);
  if (max && max.isConst && typeof max.value === 'number') return `${c.d.fn('array_slice')}(${agg}, 0, ${max.value - 1})`;
  return agg;
}
