// A TAXII 2.1 client that polls one remote collection on a schedule
// (https://docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html §5.3 Get Objects).
import { VigilError } from '../errors/index.js';
import type { StixObject } from './stix.js';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

export interface TaxiiClientOptions {
  /** The collection's URL, `<api-root>/collections/<id>/`. */
  readonly collectionUrl: string;
  /** Bearer token, or Basic credentials below. */
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  /** Poll period for start() (default 5 minutes). */
  readonly intervalMs?: number;
  /** Objects per request (the server may send fewer). Default 500. */
  readonly pageSize?: number;
  /** Resume after this date_added (a timestamp the server sent in X-TAXII-Date-Added-Last). */
  readonly addedAfter?: string;
  /** Receives each page of objects, in order; a throw stops this poll and keeps the resume point before the page. */
  readonly onObjects: (objects: StixObject[]) => Promise<unknown> | unknown;
  readonly onError?: (error: unknown) => void;
  /** Safety bound on pages per poll (default 10,000). */
  readonly maxPages?: number;
}

export interface TaxiiPollResult {
  readonly objects: number;
  readonly pages: number;
  /** The resume point after this poll. */
  readonly addedAfter: string | undefined;
}

export interface TaxiiClient {
  pollOnce(): Promise<TaxiiPollResult>;
  /** Polls now and then every intervalMs until stop(). */
  start(): void;
  stop(): Promise<void>;
  readonly addedAfter: string | undefined;
}

export function createTaxiiClient(options: TaxiiClientOptions): TaxiiClient {
  const base = options.collectionUrl.endsWith('/') ? options.collectionUrl : `${options.collectionUrl}/`;
  let addedAfter = options.addedAfter;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const headers: Record<string, string> = { accept: TAXII_MEDIA_TYPE };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  else if (options.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }

  async function pollOnce(): Promise<TaxiiPollResult> {
    let objects = 0;
    let pages = 0;
    let next: string | undefined;
    const maxPages = options.maxPages ?? 10_000;
    // Filters stay the same while following `next` (§3.4): added_after is the value this poll started with.
    const startAfter = addedAfter;
    let lastSeen = addedAfter;
    while (pages < maxPages) {
      const url = new URL('objects/', base);
      if (startAfter) url.searchParams.set('added_after', startAfter);
      url.searchParams.set('limit', String(options.pageSize ?? 500));
      if (next) url.searchParams.set('next', next);
      const response = await fetch(url, { headers });
      const text = await response.text();
      if (response.status !== 200) {
        let description = text.slice(0, 200);
        try { const body = JSON.parse(text); description = body.title ?? body.description ?? description; } catch { /* not JSON */ }
        throw new VigilError('taxii_failed', 502, `TAXII server answered ${response.status}: ${description}`);
      }
      if (!(response.headers.get('content-type') ?? '').startsWith('application/taxii+json')) {
        throw new VigilError('taxii_failed', 502, `TAXII server sent ${response.headers.get('content-type')} instead of ${TAXII_MEDIA_TYPE}`);
      }
      const envelope = JSON.parse(text) as { more?: boolean; next?: string; objects?: StixObject[] };
      pages++;
      const page = envelope.objects ?? [];
      if (page.length) await options.onObjects(page);
      objects += page.length;
      lastSeen = response.headers.get('x-taxii-date-added-last') ?? lastSeen;
      addedAfter = lastSeen;
      if (!envelope.more) break;
      if (envelope.next) next = envelope.next;
      else {
        // No `next`: continue with added_after from the last page's header (§3.4).
        if (!lastSeen || lastSeen === startAfter) break;
        return { objects: objects + (await pollOnce()).objects, pages, addedAfter };
      }
    }
    return { objects, pages, addedAfter };
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pollOnce().catch((e) => options.onError?.(e)).finally(schedule);
    }, options.intervalMs ?? 300_000);
    timer.unref();
  }

  return {
    pollOnce,
    start() {
      stopped = false;
      running = pollOnce().catch((e) => options.onError?.(e)).finally(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    get addedAfter() { return addedAfter; },
  };
}
