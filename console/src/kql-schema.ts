// The hunting schema, taken from the platform's own schema module at build time (the bundle carries it;
// nothing is fetched). Tables, columns and their types drive completion and highlighting.
import { TABLES } from '../../src/schema/index.js';

export const SCHEMA: ReadonlyMap<string, readonly { name: string; type: string }[]> = new Map(
  [...TABLES.values()].map((t) => [t.name as string, t.columns.map((c) => ({ name: c.name, type: c.type }))]),
);
export const TABLE_NAMES: readonly string[] = [...SCHEMA.keys()];
export const ALL_COLUMNS: ReadonlySet<string> = new Set([...SCHEMA.values()].flatMap((cols) => cols.map((c) => c.name)));

export const OPERATORS = [
  'where', 'project', 'project-away', 'project-rename', 'project-reorder', 'extend', 'summarize', 'count', 'take', 'limit', 'top', 'order by',
  'sort by', 'distinct', 'join', 'union', 'render', 'parse', 'mv-expand', 'make-series', 'lookup', 'search', 'find', 'sample', 'getschema', 'let', 'invoke', 'as', 'serialize', 'evaluate',
];
export const KEYWORDS = new Set([
  ...OPERATORS.flatMap((o) => o.split(' ')), 'by', 'on', 'kind', 'with', 'asc', 'desc', 'and', 'or', 'not', 'in', 'has', 'contains', 'startswith',
  'endswith', 'matches', 'regex', 'between', 'has_any', 'has_all', 'in~', 'contains_cs', 'has_cs', 'startswith_cs', 'endswith_cs', 'true', 'false',
  'inner', 'innerunique', 'leftouter', 'rightouter', 'fullouter', 'leftanti', 'rightanti', 'leftsemi', 'rightsemi', 'nulls', 'first', 'last', 'step', 'from', 'to',
  'timechart', 'barchart', 'columnchart', 'piechart', 'linechart', 'areachart', 'scatterchart', 'table', 'isfuzzy',
]);
export const FUNCTIONS = [
  'ago', 'now', 'datetime', 'bin', 'count', 'countif', 'dcount', 'dcountif', 'sum', 'sumif', 'avg', 'avgif', 'min', 'max', 'arg_max', 'arg_min', 'make_set', 'make_list',
  'tostring', 'toint', 'tolong', 'toreal', 'todouble', 'tobool', 'todatetime', 'totimespan', 'tolower', 'toupper', 'strlen', 'substring', 'strcat', 'split', 'replace_string',
  'extract', 'parse_json', 'todynamic', 'isempty', 'isnotempty', 'isnull', 'isnotnull', 'iff', 'iif', 'case', 'coalesce', 'startofday', 'endofday', 'format_datetime',
  'datetime_diff', 'array_length', 'bag_keys', 'ipv4_is_in_range', 'ipv4_is_private', 'parse_url', 'trim', 'percentile', 'stdev', 'round', 'floor', 'abs', 'hash_sha256',
];
