import http from 'node:http';
import https from 'node:https';
/**
 * The agent's side of the platform's public HTTP protocol (ingest, enrollment, command channel,
 * indicator feed, file upload). Nothing here knows server internals: only URLs and JSON bodies.
 */
export interface PlatformClient {
  readonly serverUrl: string;
  /** POSTs rows to /api/v1/ingest/<table>; resolves with the ingest report, rejects when not delivered. */
  ingest(table: string, rows: readonly Record<string, unknown>[]): Promise<{ accepted: number; duplicates: number; rejected: { index: number; error: string }[] }>;
  request<T>(method: string, path: string, options?: RequestOptions): Promise<{ status: number; body: T }>;
  setToken(token: string): void;
  /** Ends every open connection. */
  close(): void;
}

export interface RequestOptions {
  readonly json?: unknown;
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Send no Authorization header (enrollment). */
  readonly anonymous?: boolean;
}

/** A delivery failure: the server was unreachable or answered with a status that means "try later". */
export class DeliveryError extends Error {
  constructor(message: string, readonly status?: number, readonly retryable = true) { super(message); }
}

export function createPlatformClient(serverUrl: string, token?: string): PlatformClient {
  const base = serverUrl.replace(/\/+$/, '');
  const origin = new URL(base);
  const secure = origin.protocol === 'https:';
  // An own connection pool: close() ends every connection, so a stopped agent leaves nothing open on the server.
  const pool = secure ? new https.Agent({ keepAlive: true, maxSockets: 8 }) : new http.Agent({ keepAlive: true, maxSockets: 8 });
  let bearer = token;

  function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (bearer && !options.anonymous) headers.authorization = `Bearer ${bearer}`;
    let payload: Buffer | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = Buffer.from(JSON.stringify(options.json));
    } else if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      payload = options.body;
    }
    if (payload) headers['content-length'] = payload.length;
    const url = new URL(`${base}${path}`);
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, { method, headers, agent: pool, timeout: options.timeoutMs ?? 15_000 }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', (e) => reject(new DeliveryError(`${method} ${path}: ${e.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let body: unknown = text;
          try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        });
      });
      const onAbort = () => req.destroy(new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
      req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 15_000} ms`)));
      req.on('error', (e) => reject(new DeliveryError(`${method} ${path}: ${e.message}`)));
      if (options.signal?.aborted) { req.destroy(new Error('aborted')); return; }
      req.end(payload);
    });
  }
  return {
    serverUrl: base,
    request,
    setToken(t) { bearer = t; },
    close() { pool.destroy(); },
    async ingest(table, rows) {
      const { status, body } = await request<{ accepted: number; duplicates: number; rejected: { index: number; error: string }[]; message?: string }>(
        'POST', `/api/v1/ingest/${table}`, { json: rows, timeoutMs: 30_000 });
      if (status === 200) return body;
      // 4xx other than 408/429 will not get better by retrying the same batch (bad table, revoked sensor is 401).
      const retryable = status >= 500 || status === 408 || status === 429 || status === 401 || status === 403;
      throw new DeliveryError(`ingest ${table}: HTTP ${status} ${typeof body === 'object' && body ? (body as { message?: string }).message ?? '' : ''}`, status, retryable);
    },
  };
}
