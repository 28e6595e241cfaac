// `vigil agent`: the Linux endpoint sensor, in the foreground (deploy/vigil-agent.service runs it under systemd).
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { VigilError } from '../errors/index.js';
import { parseCommandArgs } from './command-args.js';
import { createAgent } from '../agent/index.js';

const USAGE = `usage: vigil agent --server URL [--enroll TOKEN | --token SENSOR_TOKEN] [options]

  --server URL           the platform (env VIGIL_SERVER)
  --enroll TOKEN         one-time enrollment token (first run; the identity is kept in the state folder)
  --token TOKEN          a sensor token instead of enrollment (env VIGIL_SENSOR_TOKEN)
  --state DIR            state folder (default /var/lib/vigil-agent)
  --watch PATH           folder to watch and scan on access; repeat (default: home folders, /tmp, /media, /run/media)
  --prevention           quarantine blocked files at once (default: detect and report only)
  --yara-rules DIR       extra YARA rules (.yar) besides the built-in ones
  --dns IP               DNS server left reachable while isolated; repeat
  --process-source SRC   auto | tracefs | proc-sampling (default auto)
  --enroll-only          enroll, store the identity and exit
`;

function defaultWatchPaths(): string[] {
  const homes = ['/root'];
  try { for (const n of readdirSync('/home')) homes.push(`/home/${n}`); } catch { /* no /home */ }
  return [...homes, '/tmp', '/media', '/run/media'];
}

export async function runAgent(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const v = parseCommandArgs(argv, {
    server: { type: 'string' }, enroll: { type: 'string' }, token: { type: 'string' }, state: { type: 'string' },
    watch: { type: 'string', multiple: true }, prevention: { type: 'boolean' }, 'yara-rules': { type: 'string' },
    dns: { type: 'string', multiple: true }, 'process-source': { type: 'string' }, 'enroll-only': { type: 'boolean' },
  }, USAGE);
  if (!v) return 0;
  const server = v.server ?? env.VIGIL_SERVER;
  if (!server || !/^https?:\/\//.test(server)) throw new VigilError('bad_config', 2, `--server URL is required (http:// or https://)\n\n${USAGE}`);
  const source = v['process-source'] ?? 'auto';
  if (!['auto', 'tracefs', 'proc-sampling'].includes(source)) throw new VigilError('bad_config', 2, '--process-source must be auto, tracefs or proc-sampling');

  const agent = await createAgent({
    server,
    stateDir: v.state ?? env.VIGIL_AGENT_STATE ?? '/var/lib/vigil-agent',
    enrollToken: v.enroll,
    sensorToken: v.token ?? env.VIGIL_SENSOR_TOKEN,
    watchPaths: v.watch ?? defaultWatchPaths(),
    prevention: v.prevention ?? false,
    yaraRulesDir: v['yara-rules'],
    dnsServers: v.dns ?? [],
    processSource: source as 'auto' | 'tracefs' | 'proc-sampling',
  });
  if (v['enroll-only']) {
    await agent.close();
    process.stdout.write(`enrolled: device ${agent.identity.deviceId}\n`);
    return 0;
  }
  process.stderr.write(`vigil agent: running as device ${agent.identity.deviceId}; process events from ${agent.processSource}, logons from ${agent.logonSource}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await agent.close();
  return 0;
}

/**
 * `vigil agent` as a whole program: runs the agent and turns an error into a message and an exit code
 * (2 for a bad option or a refusal it can explain, 1 for anything else), as `vigil` does for every command.
 * bin/vigil.js calls this in the prebuilt bundle (dist/agent.mjs, scripts/build-agent.mjs).
 */
export async function runAgentCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    return await runAgent(argv, env);
  } catch (error) {
    const shown = error instanceof VigilError && (error.expose || error.code === 'bad_config');
    process.stderr.write(`vigil agent: ${shown ? error.message : (error as Error).stack ?? String(error)}\n`);
    return shown ? 2 : 1;
  }
}

// Run directly (`node dist/agent.mjs …`, or `node --import tsx src/cli/agent.ts …`), the agent loads only its
// own modules.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAgentCli(process.argv.slice(2), process.env).then((code) => { process.exitCode = code; });
}
