// Defender's built-in table functions (invoke FileProfile(), SeenBy(), …) and evaluate plugins.
// Vigil has no global file-prevalence or device-discovery service, so these return their documented
// columns with ProfileAvailability = "Missing" / empty lists, as Defender does when data is missing
// (MicrosoftDocs/defender-docs: advanced-hunting-fileprofile-function.md).
import type { Column, Env, KqlType, Relation } from './compiler-types.js';
import type { Compiler } from './kql-compiler.js';
import type { Expr } from './kql-nodes.js';

type Call = Extract<Expr, { kind: 'call' }>;
export type TableFunction = (c: Compiler, e: Call, env: Env, input: Relation | null) => Relation;

const FILE_PROFILE: readonly Column[] = [
  { name: 'SHA1', type: 'string' }, { name: 'SHA256', type: 'string' }, { name: 'MD5', type: 'string' },
  { name: 'FileSize', type: 'long' }, { name: 'GlobalPrevalence', type: 'long' }, { name: 'GlobalFirstSeen', type: 'datetime' },
  { name: 'GlobalLastSeen', type: 'datetime' }, { name: 'Signer', type: 'string' }, { name: 'Issuer', type: 'string' },
  { name: 'SignerHash', type: 'string' }, { name: 'IsCertificateValid', type: 'bool' }, { name: 'IsRootSignerMicrosoft', type: 'bool' },
  { name: 'SignatureState', type: 'string' }, { name: 'IsExecutable', type: 'bool' }, { name: 'ThreatName', type: 'string' },
  { name: 'Publisher', type: 'string' }, { name: 'SoftwareName', type: 'string' }, { name: 'ProfileAvailability', type: 'string' },
];

function appendColumns(c: Compiler, input: Relation, cols: readonly { name: string; type: KqlType; sql: string }[]): Relation {
  const a = c.alias();
  const add = cols.filter((x) => !input.columns.some((i) => i.name === x.name));
  const list = [...input.columns.map((x) => `${c.col(a, x.name)} AS ${c.q(x.name)}`), ...add.map((x) => `${x.sql} AS ${c.q(x.name)}`)];
  return { sql: `SELECT ${list.join(', ')} FROM (${input.sql}) AS ${a}`, columns: [...input.columns, ...add.map((x) => ({ name: x.name, type: x.type }))] };
}

const FUNCTIONS: Record<string, TableFunction> = {
  FileProfile: (c, e, _env, input) => {
    if (!input) return c.err(e.pos, 'FileProfile() enriches rows: use it as `| invoke FileProfile(SHA1, 1000)`');
    const idArg = e.args[0];
    const id = idArg && idArg.kind === 'ident' ? idArg.name : 'SHA1';
    if (!input.columns.some((x) => x.name === id)) c.err(e.pos, `FileProfile(): the input has no column '${id}'`);
    const limited = e.args[1] && e.args[1].kind === 'literal' ? Math.min(1000, Math.max(1, Number(e.args[1].value))) : 100;
    void limited;
    return appendColumns(c, input, FILE_PROFILE.map((col) => ({
      ...col,
      sql: col.name === 'ProfileAvailability' ? "'Missing'" : col.type === 'string' ? "''" : 'NULL',
    })));
  },
  SeenBy: (c, e, _env, input) => {
    if (!input) return c.err(e.pos, 'SeenBy() enriches device rows: use it as `| invoke SeenBy()`');
    return appendColumns(c, input, [{ name: 'SeenBy', type: 'dynamic', sql: "'[]'" }]);
  },
  // evaluate bag_unpack(Column [, prefix]): one column per property key found in the data.
  'evaluate:bag_unpack': (c, e, env, input) => {
    if (!input) return c.err(e.pos, 'bag_unpack() needs input rows');
    const arg = e.args[0];
    if (!arg || arg.kind !== 'ident') return c.err(e.pos, 'bag_unpack() takes a dynamic column');
    const col = input.columns.find((x) => x.name === arg.name);
    if (!col) return c.err(arg.pos, `Unknown column '${arg.name}'`);
    const prefix = e.args[1] && e.args[1].kind === 'literal' && typeof e.args[1].value === 'string' ? e.args[1].value : '';
    const a = c.alias();
    const j = c.alias();
    const bag = `${c.d.fn('parse_json')}(${c.col(a, col.name)})`;
    const keys = c.probe(e.pos, `SELECT DISTINCT ${j}.key AS v FROM (${input.sql}) AS ${a}, json_each(CASE WHEN json_valid(${bag}) AND json_type(${bag}) = 'object' THEN ${bag} END) AS ${j} ORDER BY 1 LIMIT 1000`, 'bag_unpack()');
    const rest = input.columns.filter((x) => x.name !== col.name);
    const used = new Set(rest.map((x) => x.name));
    const b = c.alias();
    const added = keys.map((k) => {
      let name = `${prefix}${k}`;
      for (let i = 1; used.has(name); i++) name = `${prefix}${k}${i}`;
      used.add(name);
      return { name, sql: c.d.jsonGet(`${c.d.fn('parse_json')}(${c.col(b, col.name)})`, [k]) };
    });
    return {
      sql: `SELECT ${[...rest.map((x) => `${c.col(b, x.name)} AS ${c.q(x.name)}`), ...added.map((x) => `${x.sql} AS ${c.q(x.name)}`)].join(', ')} FROM (${input.sql}) AS ${b}`,
      columns: [...rest, ...added.map((x) => ({ name: x.name, type: 'dynamic' as KqlType }))],
    };
  },
  // evaluate pivot(Column [, aggregation] [, by columns…]): one column per value of Column.
  'evaluate:pivot': (c, e, env, input) => {
    if (!input) return c.err(e.pos, 'pivot() needs input rows');
    const arg = e.args[0];
    if (!arg || arg.kind !== 'ident' || !input.columns.some((x) => x.name === arg.name)) return c.err(e.pos, 'pivot() takes a column of the input');
    const agg = e.args[1] && e.args[1].kind === 'call' ? e.args[1] : null;
    const groupArgs = e.args.slice(agg ? 2 : 1);
    const aggInput = agg?.args[0] && agg.args[0].kind === 'ident' ? agg.args[0].name : null;
    const groups = groupArgs.length
      ? groupArgs.map((g) => (g.kind === 'ident' ? g.name : c.err(g.pos, 'pivot() groups by columns')))
      : input.columns.filter((x) => x.name !== arg.name && x.name !== aggInput && !x.name.startsWith('$')).map((x) => x.name);
    const a = c.alias();
    const values = c.probe(e.pos, `SELECT DISTINCT CAST(${c.col(a, arg.name)} AS TEXT) AS v FROM (${input.sql}) AS ${a} ORDER BY 1 LIMIT 1000`, 'pivot()');
    const b = c.alias();
    const fn = agg?.name ?? 'count';
    const x = aggInput ? c.col(b, aggInput) : '1';
    const cell = (v: string) => {
      const when = `CAST(${c.col(b, arg.name)} AS TEXT) = ${c.d.string(v)}`;
      switch (fn) {
        case 'count': return `count(CASE WHEN ${when} THEN 1 END)`;
        case 'sum': return `COALESCE(sum(CASE WHEN ${when} THEN ${x} END), 0)`;
        case 'avg': case 'min': case 'max': return `${fn}(CASE WHEN ${when} THEN ${x} END)`;
        case 'dcount': return `count(DISTINCT CASE WHEN ${when} THEN ${x} END)`;
        case 'take_any': case 'any': return `max(CASE WHEN ${when} THEN ${x} END)`;
        default: return c.err(e.pos, `pivot() with ${fn}() is not supported`);
      }
    };
    const groupCols = groups.map((g) => input.columns.find((x) => x.name === g) ?? c.err(e.pos, `Unknown column '${g}'`));
    const valueCols = values.filter((v) => v !== null).map((v) => ({ name: v === '' ? 'Column1' : v, sql: cell(v) }));
    return {
      sql: `SELECT ${[...groupCols.map((g) => `${c.col(b, g.name)} AS ${c.q(g.name)}`), ...valueCols.map((v) => `${v.sql} AS ${c.q(v.name)}`)].join(', ')} FROM (${input.sql}) AS ${b}${groupCols.length ? ` GROUP BY ${groupCols.map((_, i) => i + 1).join(', ')}` : ''}`,
      columns: [...groupCols, ...valueCols.map((v) => ({ name: v.name, type: (fn === 'avg' ? 'real' : 'long') as KqlType }))],
    };
  },
  // evaluate ipv4_lookup(LookupTable, SourceIP, IPRange [, return_unmatched]): rows whose address falls in a range.
  'evaluate:ipv4_lookup': (c, e, env, input) => {
    if (!input) return c.err(e.pos, 'ipv4_lookup() needs input rows');
    const [tableArg, ipArg, rangeArg, unmatched] = e.args;
    if (!tableArg || ipArg?.kind !== 'ident' || rangeArg?.kind !== 'ident') return c.err(e.pos, 'ipv4_lookup(LookupTable, SourceIPColumn, IPv4RangeColumn)');
    const lookup = c.tabular(tableArg, env);
    const la = c.alias();
    const ra = c.alias();
    const used = new Set(input.columns.map((x) => x.name));
    const right = lookup.columns.map((x) => {
      let name = x.name;
      for (let i = 1; used.has(name); i++) name = `${x.name}${i}`;
      used.add(name);
      return { from: x.name, name, type: x.type };
    });
    const kind = unmatched && unmatched.kind === 'literal' && unmatched.value === true ? 'LEFT JOIN' : 'JOIN';
    return {
      sql: `SELECT ${[...input.columns.map((x) => `${c.col(la, x.name)} AS ${c.q(x.name)}`), ...right.map((x) => `${c.col(ra, x.from)} AS ${c.q(x.name)}`)].join(', ')} FROM (${input.sql}) AS ${la} ${kind} (${lookup.sql}) AS ${ra} ON ${c.d.fn('ipv4_is_in_range')}(${c.col(la, ipArg.name)}, ${c.col(ra, rangeArg.name)})`,
      columns: [...input.columns, ...right.map((x) => ({ name: x.name, type: x.type }))],
    };
  },
};

export function tableFunction(name: string): TableFunction | undefined {
  return Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
}
