// Live updates: one EventSource on GET /api/v1/stream for the whole console. Pages subscribe to
// domain event types; when the stream is unavailable they fall back to a slow reload tick.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { streamUrl } from './api';

export type LiveStatus = 'connecting' | 'live' | 'unavailable' | 'reconnecting';
export interface LiveEvent { type: string; data: unknown }
type Handler = (event: LiveEvent) => void;

const EVENT_TYPES = [
  'incident.created', 'incident.updated', 'alert.raised', 'alert.updated', 'action.changed', 'indicator.changed',
  'device.risk-changed', 'user.risk-changed', 'device.compliance-changed', 'session.revoked', 'device.enrolled',
];
/** Reload tick while the stream is unavailable, so pages still move (slowly). */
const FALLBACK_POLL_MS = 15_000;

interface LiveState {
  status: LiveStatus;
  subscribe(types: readonly string[] | '*', handler: Handler): () => void;
}
const LiveContext = createContext<LiveState>({ status: 'connecting', subscribe: () => () => undefined });

export function LiveProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const handlers = useRef(new Set<{ types: readonly string[] | '*'; handler: Handler }>());

  useEffect(() => {
    let source: EventSource | null = null;
    let poll: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    const dispatch = (event: LiveEvent) => {
      for (const h of handlers.current) if (h.types === '*' || h.types.includes(event.type)) h.handler(event);
    };
    const parse = (text: string): unknown => {
      try { return JSON.parse(text); } catch { return text; }
    };
    const open = () => {
      source = new EventSource(streamUrl());
      source.onopen = () => setStatus('live');
      source.onmessage = (message) => {
        const data = parse(message.data) as { type?: unknown; payload?: unknown } | null;
        if (data && typeof data === 'object' && typeof data.type === 'string') dispatch({ type: data.type, data: data.payload ?? data });
      };
      for (const type of EVENT_TYPES) source.addEventListener(type, (message) => dispatch({ type, data: parse((message as MessageEvent).data) }));
      source.onerror = () => {
        if (closed || !source) return;
        if (source.readyState === EventSource.CLOSED) {
          // The server refused the stream (a 404 while the route has not landed, or a non-stream answer).
          source.close();
          setStatus('unavailable');
          poll ??= setInterval(() => dispatch({ type: 'poll', data: null }), FALLBACK_POLL_MS);
        } else {
          setStatus('reconnecting');
        }
      };
    };
    open();
    return () => {
      closed = true;
      source?.close();
      if (poll) clearInterval(poll);
    };
  }, []);

  const value: LiveState = {
    status,
    subscribe(types, handler) {
      const entry = { types, handler };
      handlers.current.add(entry);
      return () => handlers.current.delete(entry);
    },
  };
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

/** Calls `handler` for each live event of `types` (and on the fallback tick). */
export function useLive(types: readonly string[] | '*', handler: Handler): LiveStatus {
  const live = useContext(LiveContext);
  const ref = useRef(handler);
  ref.current = handler;
  const key = types === '*' ? '*' : types.join(',');
  useEffect(() => live.subscribe(types === '*' ? '*' : [...types, 'poll'], (e) => ref.current(e)), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  return live.status;
}

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext).status;
}
