// Runs `vigil serve` as its own process on a free loopback port, as an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const VIGIL = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts the server and waits (bounded) until /readyz answers. */
export async function startServer(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [VIGIL, 'serve'], {
    env: { ...process.env, VIGIL_DATA: dataDir, VIGIL_PORT: String(port), VIGIL_HOST: '127.0.0.1', VIGIL_LOG_LEVEL: 'warn',
      VIGIL_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, VIGIL_ADMIN_PASSWORD: 'bench-admin-password', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} during start`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child, exited };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready within 30 s');
}

export async function createSensorToken(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/sensors`, {
    method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`sensor creation failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** A realistic DeviceProcessEvents row, deterministic in `n`. */
export function processRow(n: number, baseMs: number): Record<string, unknown> {
  const device = n % 500;
  return {
    Timestamp: new Date(baseMs + n).toISOString(), ReportId: n, DeviceId: `device-${device.toString(16).padStart(8, '0')}`,
    DeviceName: `ws-${device}.corp.example`, ActionType: 'ProcessCreated', FileName: n % 3 ? 'bash' : 'python3',
    FolderPath: n % 3 ? '/usr/bin/bash' : '/usr/bin/python3', ProcessId: 1000 + (n % 30000),
    ProcessCommandLine: `bash -c "cd /home/user${device} && ./build.sh --target ${n % 97} --jobs 4"`,
    SHA256: (n % 65536).toString(16).padStart(64, 'a'), AccountName: `user${device}`, AccountDomain: 'corp',
    InitiatingProcessFileName: 'sshd', InitiatingProcessId: 900 + (n % 100), InitiatingProcessCommandLine: 'sshd: user [priv]',
    InitiatingProcessFolderPath: '/usr/sbin/sshd', ProcessIntegrityLevel: 'Medium',
  };
}
