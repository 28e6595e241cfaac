/** A small JSON client for the platform's HTTP API, as the analyst's tools use it. */
export interface ApiClient {
  call(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: any }>;
  /** Like call, but throws unless the status is 2xx, naming the request. */
  ok(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<any>;
}

export function createApiClient(baseUrl: string, defaultToken?: () => string | undefined): ApiClient {
  async function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
    const token = init.token ?? defaultToken?.();
    const res = await fetch(`${baseUrl}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    return { status: res.status, body: body as any };
  }
  return {
    call,
    async ok(path, init) {
      const res = await call(path, init);
      if (res.status < 200 || res.status >= 300) {
        throw new Error(`${init?.method ?? (init?.body !== undefined ? 'POST' : 'GET')} ${path} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      return res.body;
    },
  };
}
