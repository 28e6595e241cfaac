/** The demo's printed timeline: each hop with the milliseconds since the story began. */
export interface Timeline {
  /** Milliseconds since start. */
  now(): number;
  step(title: string): void;
  hop(text: string): number;
  note(text: string): void;
}

export function createTimeline(write: (line: string) => void): Timeline {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const stamp = (ms: number) => `+${(ms / 1000).toFixed(3).padStart(7)} s`;
  return {
    now,
    step(title) { write(`\n${title}`); },
    hop(text) { const at = now(); write(`  ${stamp(at)}  ${text}`); return at; },
    note(text) { write(`              ${text}`); },
  };
}

/** A hop that did not happen, named, so `vigil demo --ci` can say which. */
export class StoryError extends Error {
  constructor(readonly hop: string, detail: string) {
    super(`${hop}: ${detail}`);
  }
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass; throws StoryError naming the hop. */
export async function waitFor<T>(hop: string, ms: number, check: () => Promise<T | undefined> | T | undefined, everyMs = 20): Promise<T> {
  const deadline = performance.now() + ms;
  let lastError: unknown;
  for (let i = 0; i < 1_000_000; i++) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new StoryError(hop, `did not happen within ${ms} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}
