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
  let bearer = token;
  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (bearer && !options.anonymous) headers.authorization = `Bearer ${bearer}`;
    let payload: string | Blob | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.json);
    } else if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      payload = new Blob([new Uint8Array(options.body)]);
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, { method, headers, body: payload, signal });
    } catch (error) {
      throw new DeliveryError(`${method} ${path}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let body: unknown = text;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
    return { status: response.status, body: body as T };
  }
  return {
    serverUrl: base,
    request,
    setToken(t) { bearer = t; },
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
