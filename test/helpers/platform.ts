// Starts a real platform on 127.0.0.1 with a throw-away data folder, and speaks its HTTP API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type VigilConfig } from '../../src/config/index.js';
import { createPlatform, type Platform } from '../../src/server.js';

export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface TestPlatform {
  readonly platform: Platform;
  readonly url: string;
  readonly dataDir: string;
  /** An admin session token. */
  readonly adminToken: string;
  api(path: string, init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  sensor(name?: string): Promise<string>;
  /** Stops the platform; `remove` (default true) deletes the data folder. */
  stop(remove?: boolean): Promise<void>;
}

export function testConfig(dataDir: string, overrides: Partial<VigilConfig> = {}): VigilConfig {
  return { ...resolveConfig({ env: {}, argv: [] }), dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', adminPassword: ADMIN_PASSWORD, ...overrides };
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'vigil-test-'));
}

export async function startPlatform(options: { dataDir?: string; config?: Partial<VigilConfig> } = {}): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? tempDataDir();
  const platform = await createPlatform(testConfig(dataDir, options.config));
  const url = platform.url;

  async function api(path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    return { status: response.status, body: parsed as any, headers: response.headers };
  }

  const login = await api('/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const adminToken = login.body.token as string;

  return {
    platform, url, dataDir, adminToken, api,
    async sensor(name = 'test-sensor') {
      const created = await api('/api/v1/sensors', { token: adminToken, body: { name } });
      if (created.status !== 201) throw new Error(`sensor creation failed: ${created.status}`);
      return created.body.token as string;
    },
    async stop(remove = true) {
      await platform.close();
      if (remove) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
