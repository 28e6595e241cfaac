// The `vigil` command. The only module that reads process.env.
import { VigilError } from '../errors/index.js';
import { runServe } from './serve.js';
// agent module
import { runAgent } from './agent.js';
import { runAudit } from './audit.js'; // response
import { runDemo } from './demo.js';
import { runHunt } from './hunt.js';
import { runScan } from './scan.js';
import { runRules } from './rules.js';
import { runMailGateway } from './mail-gateway.js'; // mail (issue 9)

type Command = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  serve: { run: runServe, summary: 'run the platform (API, ingest, detection, console)' },
  // agent module
  agent: { run: runAgent, summary: 'run the Linux endpoint agent (telemetry, scanning, response)' },
  audit: { run: runAudit, summary: 'verify the hash-chained audit log (audit verify [--data DIR])' }, // response
  'mail-gateway': { run: runMailGateway, summary: 'run the SMTP gateway: scanning, quarantine, zero-hour purge (mail, issue 9)' },
  scan: { run: runScan, summary: 'run the Sigma rules offline over log files: scan <files|dirs…> [--rules DIR] [--json]' },
  rules: { run: runRules, summary: 'check or import Sigma rule files: rules import|list <files|dirs…> [--server URL --token T]' },
  hunt: { run: runHunt, summary: "run a KQL query: hunt '<query>' [--server URL --token T | --data DIR] [--json]" },
  demo: { run: runDemo, summary: 'play the whole story live: infection → detection → containment → remediation → restore' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  vigil ${name.padEnd(14)} ${c.summary}`);
  return `usage: vigil <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nOptions are listed in README.md.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`vigil: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, process.env);
  } catch (error) {
    if (error instanceof VigilError && error.expose) {
      process.stderr.write(`vigil ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof VigilError && error.code === 'bad_config') {
      process.stderr.write(`vigil ${name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`vigil ${name}: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return 1;
  }
}
