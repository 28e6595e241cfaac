// The argument prologue of a `vigil <command>`: node's parseArgs (strict) plus --help/-h, and a
// malformed command line reported as bad configuration (exit 2) with the command's usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VigilError } from '../errors/index.js';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** The parsed values, or undefined when --help was asked for (the usage is then printed). */
export function parseCommandArgs<O extends Options>(argv: readonly string[], options: O, usage: string) {
  const config = { args: [...argv], options: { ...options, ...HELP }, strict: true as const };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new VigilError('bad_config', 2, `${(error as Error).message}\n\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) { process.stdout.write(usage); return undefined; }
  return parsed.values;
}
