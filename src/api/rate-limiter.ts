/** A fixed-window counter per key, for failed sign-ins; bounded in memory. */
export function createFailureLimiter(options: { max: number; windowMs: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  return {
    blocked(key: string): boolean {
      const w = windows.get(key);
      return !!w && now() - w.start < options.windowMs && w.count >= options.max;
    },
    fail(key: string): void {
      const t = now();
      const w = windows.get(key);
      if (!w || t - w.start >= options.windowMs) windows.set(key, { start: t, count: 1 });
      else w.count++;
      if (windows.size > 10_000) windows.delete(windows.keys().next().value!);
    },
    reset(key: string): void {
      windows.delete(key);
    },
  };
}
