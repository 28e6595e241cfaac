// A throw-away NATS server with JetStream on a loopback port, for the distributed bus's tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  readonly url: string;
  /** Stops the server; `keepData` keeps its JetStream folder for a restart on the same port. */
  stop(keepData?: boolean): Promise<void>;
  /** Starts it again on the same port with the same JetStream folder. */
  restart(): Promise<void>;
}

/** The nats-server binary, if installed (Debian: apt-get install nats-server). */
export function findNatsServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function launch(binary: string, port: number, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`nats-server did not start within 10 s:\n${log}`)); }, 10_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const ready = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      if (ready && /Server is ready/.test(log)) { clearTimeout(timer); resolve({ child, port: Number(ready[1]) }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`nats-server exited (${code}):\n${log}`)); });
  });
}

export async function startNatsServer(binary: string): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-nats-'));
  let { child, port } = await launch(binary, -1, dir);
  const stopChild = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop(keepData = false) {
      await stopChild();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      ({ child } = await launch(binary, port, dir));
    },
  };
}
