#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader (no build step).
import { readFileSync, statSync } from 'node:fs';

// `vigil agent` runs the prebuilt agent bundle (dist/agent.mjs, made by scripts/build-agent.mjs at npm install)
// when it was built from the sources as they are now: no TypeScript loader, about 35 MB less memory.
// Otherwise (no bundle, or a source file changed since) the sources run through tsx like every command.
function currentAgentBundle() {
  let built;
  try { built = JSON.parse(readFileSync(new URL('../dist/agent-inputs.json', import.meta.url), 'utf8')); } catch { return undefined; }
  try {
    for (const input of built.inputs) {
      const s = statSync(new URL(`../${input.path}`, import.meta.url));
      if (s.size !== input.size || s.mtimeMs !== input.mtimeMs) throw new Error(`${input.path} changed`);
    }
    statSync(new URL(`../dist/${built.bundle}`, import.meta.url));
  } catch {
    process.stderr.write('vigil agent: dist/agent.mjs is older than the sources; running the sources (npm run agent:build updates it)\n');
    return undefined;
  }
  return new URL(`../dist/${built.bundle}`, import.meta.url).href;
}

const agentBundle = process.argv[2] === 'agent' ? currentAgentBundle() : undefined;
if (agentBundle) {
  const { runAgentCli } = await import(agentBundle);
  process.exitCode = await runAgentCli(process.argv.slice(3), process.env);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
