import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (bin/, src/, node_modules/) and where an endpoint sees it and node's folder. */
const APP_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REACH_ROOT = '/mnt';
const APP_MOUNT = `${REACH_ROOT}/vigil-app`;
const NODE_MOUNT = `${REACH_ROOT}/vigil-node`;

/** Folders of one demo endpoint, all under its sandbox root. */
export interface EndpointFolders {
  /** Host paths of the sandbox; inside the endpoint they appear as /media, /home, /tmp, /etc/cron.d, /srv. */
  readonly root: string;
  readonly usb: string;
  readonly home: string;
  readonly downloads: string;
  readonly tmp: string;
  readonly cron: string;
  readonly share: string;
  readonly state: string;
  readonly cache: string;
}

/** Sandbox folder → where it is mounted inside the endpoint. */
const MOUNTS: readonly [string, string][] = [['media', '/media'], ['home', '/home'], ['etc/cron.d', '/etc/cron.d'], ['srv', '/srv'], ['tmp', '/tmp']];

/**
 * A folder for the endpoints' sandboxes that none of their mounts hides (so not under /tmp, /home, /media
 * or /srv): /var/tmp.
 */
export function sandboxBase(): string {
  const base = mkdtempSync('/var/tmp/vigil-demo-');
  chmodSync(base, 0o755); // the mail store's unprivileged processes (Dovecot) must reach their folder inside
  return base;
}

/**
 * One Linux endpoint of the demo: a real `vigil agent` process on a machine of its own — its own PID, mount
 * and UTS namespaces, so it sees only its own processes, under its own host name, and its /media, /home,
 * /tmp, /etc/cron.d and /srv are the sandbox's folders. The demo runs that machine's user programs inside
 * the same namespaces. This needs root (unshare, nsenter, mount).
 */
export interface Endpoint {
  readonly name: string;
  readonly folders: EndpointFolders;
  /** Runs a shell command on this endpoint, inside its namespaces. */
  run(command: string, options?: { env?: Record<string, string> }): ChildProcess;
  stop(): Promise<void>;
}

export function endpointFolders(base: string, name: string): EndpointFolders {
  const root = join(base, name);
  const folders = {
    root,
    usb: join(root, 'media', 'usb'),
    home: join(root, 'home', name.replace(/^ws-/, '')),
    downloads: join(root, 'home', name.replace(/^ws-/, ''), 'Downloads'),
    tmp: join(root, 'tmp'),
    cron: join(root, 'etc', 'cron.d'),
    share: join(root, 'srv', 'share'),
    state: join(root, 'var', 'lib', 'vigil-agent'),
    cache: join(root, 'var', 'cache'),
  };
  for (const dir of Object.values(folders)) mkdirSync(dir, { recursive: true });
  return folders;
}

/** Whether this machine can give each endpoint its own namespaces (root, and unshare available). */
export const canRunEndpoints = (): boolean =>
  process.getuid?.() === 0 && existsSync(REACH_ROOT) && spawnSync('unshare', ['--pid', '--fork', '--mount', '--mount-proc', '--uts', 'true']).status === 0;

/** The PID (in the host's namespace) of the first child of `pid`. */
function firstChild(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

export async function startEndpoint(options: {
  name: string; base: string; server: string; enrollToken: string; log: (line: string) => void;
}): Promise<Endpoint> {
  const folders = endpointFolders(options.base, options.name);
  const agentArgs = [
    `${APP_MOUNT}/bin/vigil.js`, 'agent', '--server', options.server, '--enroll', options.enrollToken, '--state', folders.state, '--prevention',
    // tracefs reports host PIDs, which mean nothing inside the endpoint's PID namespace.
    '--process-source', 'proc-sampling',
    ...['/media', '/home', '/tmp', '/etc/cron.d', '/srv'].flatMap((p) => ['--watch', p]),
  ];
  const mounts = MOUNTS.filter(([, target]) => existsSync(target))
    .map(([from, target]) => `mount --bind '${join(folders.root, from)}' ${target}`).join(' && ');
  // The checkout and node may live under a folder the endpoint gets its own copy of (a clone in /tmp,
  // node from nvm in /home): both are mounted at fixed places first, on a tmpfs only this endpoint sees.
  const reach = `mount -t tmpfs vigil-demo ${REACH_ROOT} && mkdir ${APP_MOUNT} ${NODE_MOUNT} `
    + `&& mount --bind "$VIGIL_DEMO_APP" ${APP_MOUNT} && mount --bind "$VIGIL_DEMO_NODE" ${NODE_MOUNT}`;
  // The agent keeps its caches out of the folders it watches.
  const env = { ...process.env, TMPDIR: folders.cache, VIGIL_DEMO_APP: APP_ROOT, VIGIL_DEMO_NODE: dirname(process.execPath) };
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child=SIGTERM', '--mount', '--propagation', 'private', '--mount-proc', '--uts',
    'sh', '-c', `hostname ${options.name} && ${reach} && ${mounts} && exec "$0" "$@"`, `${NODE_MOUNT}/${basename(process.execPath)}`, ...agentArgs],
  { stdio: ['ignore', 'ignore', 'pipe'], env });
  child.stderr!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.log(`[${options.name}] ${line.trim()}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // The agent process inside the namespaces: unshare → (fork) sh → exec node.
  let inner: number | undefined;
  for (let i = 0; i < 500 && inner === undefined; i++) {
    inner = firstChild(child.pid!);
    if (inner === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  if (inner === undefined) throw new Error(`${options.name}: the agent did not start`);

  return {
    name: options.name,
    folders,
    run(command, runOptions = {}) {
      return spawn('nsenter', ['--target', String(inner), '--pid', '--mount', '--uts', '--', 'sh', '-c', command],
        { env: { ...process.env, TMPDIR: '/tmp', ...runOptions.env }, stdio: 'ignore', detached: true });
    },
    async stop() {
      if (child.exitCode === null) {
        // The agent itself gets the signal (unshare would end at once and leave it only --kill-child).
        process.kill(inner!, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
