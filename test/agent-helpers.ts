// Shared set-up for the agent's end-to-end tests: a real platform, an enrolled device, bounded waits,
// and a small front that serves the indicator feed by the contract when the platform has none yet.
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestPlatform } from './helpers/platform.js';

/** Polls `probe` until it returns a value (not undefined/false) or `timeoutMs` passes; then throws with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every row of a telemetry table, through the events API. */
export async function rowsOf(tp: TestPlatform, table: string): Promise<Record<string, any>[]> {
  const rows: Record<string, any>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ limit: '1000', ...(cursor ? { cursor } : {}) });
    const r = await tp.api(`/api/v1/events/${table}?${q}`, { token: tp.adminToken });
    if (r.status !== 200) throw new Error(`events ${table}: ${r.status} ${JSON.stringify(r.body)}`);
    rows.push(...r.body.rows);
    cursor = r.body.nextCursor ?? undefined;
    if (!cursor) break;
  }
  return rows;
}

/** A one-time enrollment token from the platform. */
export async function enrollmentToken(tp: TestPlatform, name = 'agent-test'): Promise<string> {
  const r = await tp.api('/api/v1/enrollment-tokens', { token: tp.adminToken, body: { name } });
  if (r.status !== 201 && r.status !== 200) throw new Error(`enrollment token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

export interface Indicator { id: string; type: string; value: string; action: string; severity: string; title: string; expiresAt: string | null }

export interface FeedFront {
  readonly url: string;
  publish(indicator: Indicator): void;
  close(): Promise<void>;
}

/**
 * A front for the platform at `target`: GET /api/v1/intel/feed is answered here by the contract (long
 * poll, deltas by version), so a test decides exactly which indicators the agent receives and when;
 * every other request is forwarded to the platform.
 */
export async function startFeedFront(target: string, sensorToken: string): Promise<FeedFront> {
  const log: { version: number; indicator: Indicator }[] = [];
  let version = 0;
  const waiters = new Set<() => void>();

  // Forwarding through an own connection pool, destroyed on close, so the platform can stop at once afterwards.
  const pool = new HttpAgent({ keepAlive: true });
  function forward(req: IncomingMessage, res: ServerResponse) {
    const out = httpRequest(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent: pool }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    res.on('close', () => out.destroy());
    req.pipe(out);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/intel/feed') { forward(req, res); return; }
    if (req.headers.authorization !== `Bearer ${sensorToken}`) { res.writeHead(401); res.end('{}'); return; }
    const since = Number(url.searchParams.get('since') ?? 0);
    const wait = Math.min(30, Number(url.searchParams.get('wait') ?? 0)) * 1000;
    const answer = () => {
      const changed = log.filter((e) => e.version > since).map((e) => e.indicator);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version, indicators: changed, removed: [] }));
    };
    if (version > since || wait === 0) { answer(); return; }
    const timer = setTimeout(() => { waiters.delete(wake); answer(); }, wait);
    const wake = () => { clearTimeout(timer); answer(); };
    waiters.add(wake);
    res.on('close', () => { clearTimeout(timer); waiters.delete(wake); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    publish(indicator) {
      version++;
      log.push({ version, indicator });
      for (const w of [...waiters]) { waiters.delete(w); w(); }
    },
    async close() {
      server.closeAllConnections();
      pool.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Runs a device action through the platform (approving it with a second responder when it waits) and waits for its end state. */
export async function runAction(tp: TestPlatform, deviceId: string, kind: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, any>> {
  const created = await tp.api('/api/v1/actions', { token: tp.adminToken, body: { kind, target: deviceId, params } });
  if (created.status !== 201) throw new Error(`action ${kind}: ${created.status} ${JSON.stringify(created.body)}`);
  return finishAction(tp, created.body, timeoutMs);
}

/** Approves an action when it waits for approval, then waits for its end state. */
export async function finishAction(tp: TestPlatform, action: Record<string, any>, timeoutMs = 30_000): Promise<Record<string, any>> {
  const created = { body: action };
  const kind = action.kind;
  if (created.body.state === 'pendingApproval' || created.body.state === 'proposed') {
    const approver = await responder(tp);
    const approved = await tp.api('/api/v1/actions/approve', { token: approver, body: { ids: [created.body.id] } });
    if (approved.status !== 200) throw new Error(`approve ${kind}: ${approved.status} ${JSON.stringify(approved.body)}`);
  }
  return waitFor(`action ${kind} to finish`, async () => {
    const r = await tp.api(`/api/v1/actions/${created.body.id}`, { token: tp.adminToken });
    return ['succeeded', 'failed', 'timedOut', 'rejected'].includes(r.body.state) ? r.body : undefined;
  }, timeoutMs, 100);
}

let responderToken: { tp: TestPlatform; token: string } | undefined;
async function responder(tp: TestPlatform): Promise<string> {
  if (responderToken?.tp === tp) return responderToken.token;
  const username = `approver${Date.now()}`;
  const password = `${username}-password-1234`;
  await tp.api('/api/v1/users', { token: tp.adminToken, body: { username, password, role: 'responder' } });
  const login = await tp.api('/api/v1/auth/login', { body: { username, password } });
  responderToken = { tp, token: login.body.token };
  return login.body.token;
}
