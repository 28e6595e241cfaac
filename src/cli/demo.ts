// `vigil demo [--ci] [--auto]`: the story of DESIGN.md, live on this machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveConfig } from '../config/index.js';
import { VigilError } from '../errors/index.js';
import { parseCommandArgs } from './command-args.js';
import { runStory, StoryError } from '../demo/index.js';

const USAGE = `usage: vigil demo [--ci] [--auto] [--port N] [--data DIR]

  --ci      headless: play the story, print the figures, stop everything, and exit non-zero at the first
            hop that does not happen, naming it
  --auto    full automation: remediation runs at once instead of waiting for an analyst's approval
  --port N  the platform's port (default 8080; 0 picks a free one)
  --data D  data folder for the demo (default ./data/demo, emptied first; --ci uses a temporary one)
`;

export async function runDemo(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const values = parseCommandArgs(argv, { ci: { type: 'boolean' }, auto: { type: 'boolean' }, port: { type: 'string' }, data: { type: 'string' } }, USAGE);
  if (!values) return 0;
  const ci = values.ci ?? false;
  const dataDir = ci ? mkdtempSync(join(tmpdir(), 'vigil-demo-')) : resolve(values.data ?? env.VIGIL_DEMO_DATA ?? './data/demo');
  if (!ci) rmSync(dataDir, { recursive: true, force: true });
  const base = resolveConfig({ env, argv: values.port ? ['--port', values.port] : [] });
  const config = {
    ...base, dataDir, host: '127.0.0.1', port: values.port ? base.port : ci ? 0 : 8080,
    logLevel: ci ? 'silent' : 'warn', adminPassword: base.adminPassword ?? 'vigil-demo-admin',
  };
  const write = (line: string) => process.stdout.write(`${line}\n`);
  write(`Vigil demo: ${values.auto ? 'full automation' : 'semi-automation (an analyst approves remediation)'}${ci ? ', headless' : ''}\n`);
  try {
    const result = await runStory({ config, auto: values.auto ?? false, ci, write });
    write(`\ndemo: story complete in ${Math.round(result.totalMs)} ms (contain ${Math.round(result.containMs)} ms, remediate ${Math.round(result.remediateMs)} ms, restore ${Math.round(result.restoreMs)} ms)`);
    if (ci) {
      await result.close();
      rmSync(dataDir, { recursive: true, force: true });
      return 0;
    }
    write(`\nThe platform keeps running with the incident for you to explore:\n  console  ${result.platform!.url}/\n  sign in  admin / ${config.adminPassword}  (or sam / sam-analyst-password, a responder)\nPress Ctrl-C to stop.`);
    await new Promise<void>((r) => { process.once('SIGINT', () => r()); process.once('SIGTERM', () => r()); });
    await result.close();
    return 0;
  } catch (error) {
    if (ci) rmSync(dataDir, { recursive: true, force: true });
    if (error instanceof StoryError) {
      process.stderr.write(`\ndemo: the story stopped at "${error.hop}": ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
