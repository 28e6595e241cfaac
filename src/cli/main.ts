// The `vigil` command. The only module that reads process.env.
import { VigilError } from '../errors/index.js';
type Command = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

// Each command's module loads only when it runs: `vigil agent` must not carry the platform's code.
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: { load: async () => (await import('./serve.js')).runServe, summary: 'run the platform (API, ingest, detection, console)' },
  agent: { load: async () => (await import('./agent.js')).runAgent, summary: 'run the Linux endpoint agent (telemetry, scanning, response)' },
  audit: { load: async () => (await import('./audit.js')).runAudit, summary: 'verify the hash-chained audit log (audit verify [--data DIR])' },
  'mail-gateway': { load: async () => (await import('./mail-gateway.js')).runMailGateway, summary: 'run the SMTP gateway: scanning, quarantine, zero-hour purge' },
  scan: { load: async () => (await import('./scan.js')).runScan, summary: 'run the Sigma rules offline over log files: scan <files|dirs…> [--rules DIR] [--json]' },
  rules: { load: async () => (await import('./rules.js')).runRules, summary: 'check or import Sigma rule files: rules import|list <files|dirs…> [--server URL --token T]' },
  hunt: { load: async () => (await import('./hunt.js')).runHunt, summary: "run a KQL query: hunt '<query>' [--server URL --token T | --data DIR] [--json]" },
  demo: { load: async () => (await import('./demo.js')).runDemo, summary: 'play the whole story live: infection → detection → containment → remediation → restore' },
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
    return await (await command.load())(rest, process.env);
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
