// The console's one door to the Vigil HTTP API: bearer token, JSON, readable errors.
const TOKEN_KEY = 'vigil.token';

/** An error from the API (or the network), with the server's code and its public message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly method: string,
    readonly path: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** The server has no such route: the module behind it has not landed on this server yet. */
  get missingRoute(): boolean {
    return this.status === 404 && this.code === 'not_found' && /^no route /.test(this.message);
  }
}

/** True when the error says the route is not on this server (its module has not landed). */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.missingRoute;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let unauthorizedHandler: (() => void) | undefined;
/** Called when the API answers 401 to a signed-in request (expired or revoked session). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

/** A body sent as-is with its own content type (e.g. a CSV file). */
export class RawBody {
  constructor(readonly text: string, readonly type: string) {}
}

export async function request<T>(method: string, path: string, body?: unknown, init: { signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof RawBody) {
    headers['content-type'] = body.type;
    payload = body.text;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal: init.signal, credentials: 'omit' });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'Cannot reach the Vigil server. Check that it is running and try again.', method, path);
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const record = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
    const message = typeof record.message === 'string' && record.message
      ? record.message
      : `${response.status} ${response.statusText || 'error'}`;
    const code = typeof record.error === 'string' ? record.error : `http_${response.status}`;
    if (response.status === 401 && token) unauthorizedHandler?.();
    throw new ApiError(response.status, code, message, method, path, record);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, init?: { signal?: AbortSignal }) => request<T>('GET', path, undefined, init),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {}),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body ?? {}),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** Builds a query string from the set values only. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * The list inside a response, whatever the envelope: `{ <key>: [...] }`, `{ items: [...] }` or a bare array.
 * Domain APIs name their lists after what they hold (`{ incidents: [...] }`).
 */
export function listOf<T>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) return data as T[];
  if (data && typeof data === 'object') {
    const record = data as Record<string, unknown>;
    for (const k of [key, 'items', 'results', 'data']) if (Array.isArray(record[k])) return record[k] as T[];
  }
  return [];
}

/** The server-sent event stream URL; EventSource cannot send headers, so the token travels as access_token. */
export function streamUrl(): string {
  return `/api/v1/stream${qs({ access_token: getToken() })}`;
}
