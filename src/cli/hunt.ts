import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VigilError } from '../errors/index.js';
import { createHuntingService, KQL_SQL_FUNCTIONS_MODULE, KqlError, type HuntResult } from '../hunting/index.js';
import { createSqliteStore } from '../store/index.js';

const USAGE = `usage: vigil hunt '<KQL query>' [--server URL --token TOKEN | --data DIR] [--json] [--explain]

  Runs an advanced-hunting query and prints the rows as a table (or JSON with --json).
  --server URL   ask a running platform (POST /api/v1/hunt); token from --token or VIGIL_TOKEN
  --data DIR     read a data folder directly (default: VIGIL_DATA or ./data)
  --explain      print the SQL the query compiles to instead of running it (--data only)
  A query of '-' is read from standard input.
`;

interface HuntArgs {
  query?: string;
  server?: string;
  token?: string;
  dataDir: string;
  json: boolean;
  explain: boolean;
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): HuntArgs {
  const args: HuntArgs = { dataDir: env.VIGIL_DATA || './data', json: false, explain: false, server: env.VIGIL_SERVER || undefined, token: env.VIGIL_TOKEN || undefined };
  let explicitData = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (name: string) => {
      const v = argv[++i];
      if (!v) throw new VigilError('bad_config', 2, `${name} needs a value\n\n${USAGE}`);
      return v;
    };
    if (arg === '--json') args.json = true;
    else if (arg === '--explain') args.explain = true;
    else if (arg === '--server') args.server = value('--server');
    else if (arg === '--token') args.token = value('--token');
    else if (arg === '--data') {
      args.dataDir = value('--data');
      explicitData = true;
    } else if (arg.startsWith('--') && arg !== '-') throw new VigilError('bad_config', 2, `unknown option ${arg}\n\n${USAGE}`);
    else if (args.query === undefined) args.query = arg;
    else throw new VigilError('bad_config', 2, `one query only (quote it)\n\n${USAGE}`);
  }
  if (explicitData) args.server = undefined;
  return args;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Where output goes (tests pass their own). */
export interface HuntIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** `vigil hunt '<query>'`: KQL against a running platform or a data folder. Exit 0 ok, 1 query failed, 2 usage. */
export async function runHunt(argv: string[], env: NodeJS.ProcessEnv, io: HuntIo = process): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
    io.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const args = parseArgs(argv, env);
  let query = args.query;
  if (query === '-') query = await readStdin();
  if (!query || !query.trim()) throw new VigilError('bad_config', 2, `no query given\n\n${USAGE}`);

  let result: HuntResult;
  try {
    result = args.server ? await huntRemote(args.server, args.token, query) : await huntLocal(args.dataDir, query, args.explain, io);
  } catch (error) {
    if (error instanceof KqlError || (error instanceof RemoteError && error.line !== undefined)) {
      const e = error as { message: string; line: number; column: number };
      io.stderr.write(`${e.message}\n${caret(query, e.line, e.column)}`);
      return 1;
    }
    if (error instanceof RemoteError || (error instanceof VigilError && error.expose)) {
      io.stderr.write(`vigil hunt: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
  if (args.explain) return 0;
  io.stdout.write(args.json ? `${JSON.stringify(result)}\n` : formatTable(result));
  return 0;
}

class RemoteError extends Error {
  constructor(message: string, readonly line?: number, readonly column?: number) {
    super(message);
  }
}

async function huntRemote(server: string, token: string | undefined, query: string): Promise<HuntResult> {
  if (!token) throw new VigilError('bad_config', 2, '--server needs --token (or VIGIL_TOKEN)');
  const response = await fetch(new URL('/api/v1/hunt', server), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new RemoteError(String(body.message ?? `HTTP ${response.status}`), typeof body.line === 'number' ? body.line : undefined, typeof body.column === 'number' ? body.column : undefined);
  }
  return body as unknown as HuntResult;
}

async function huntLocal(dataDir: string, query: string, explain: boolean, io: HuntIo): Promise<HuntResult> {
  const file = join(resolve(dataDir), 'vigil.db');
  if (!existsSync(file)) throw new VigilError('bad_config', 2, `no Vigil database in ${resolve(dataDir)} (expected ${file})`);
  const store = await createSqliteStore({ file, queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE });
  try {
    const hunting = createHuntingService({ store });
    if (explain) {
      io.stdout.write(`${(await hunting.explain(query)).sql}\n`);
      return { columns: [], rows: [], truncated: false, stats: { elapsedMs: 0, rowsReturned: 0, tables: [] } };
    }
    return await hunting.hunt(query);
  } finally {
    await store.close();
  }
}

function caret(query: string, line: number, column: number): string {
  const text = query.split('\n')[line - 1] ?? '';
  return `  ${text}\n  ${' '.repeat(Math.max(0, column - 1))}^\n`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/** Aligned text table with a header, a rule, and a footer with the row count and time. */
export function formatTable(result: HuntResult): string {
  const header = result.columns.map((c) => c.name);
  const body = result.rows.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  const n = result.rows.length;
  out.push('', `${n} row${n === 1 ? '' : 's'}${result.truncated ? ' (truncated)' : ''} in ${result.stats.elapsedMs} ms`);
  return `${out.join('\n')}\n`;
}
