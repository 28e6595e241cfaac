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
  'evaluate:bag_unpack': (c, e) => c.err(e.pos, 'evaluate bag_unpack() is not supported: its columns depend on the data; extract keys with tostring(Column.Key)'),
  'evaluate:pivot': (c, e) => c.err(e.pos, 'evaluate pivot() is not supported: its columns depend on the data; use summarize countif() per value'),
};

export function tableFunction(name: string): TableFunction | undefined {
  return Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
}
