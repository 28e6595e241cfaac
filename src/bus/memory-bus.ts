import type { DomainEventType } from '../schema/index.js';
import type { Bus, BusOptions, Handler } from './bus.js';

interface Subscriber {
  readonly name: string;
  readonly handler: Handler<any>;
  /** Pending events from `head` on; the consumed prefix is dropped in chunks (Array#shift is O(n)). */
  queue: unknown[];
  head: number;
  running: boolean;
  idle: Array<() => void>;
}

const pendingOf = (sub: Subscriber) => sub.queue.length - sub.head;

/** The embedded bus: in-process queues, one per subscriber. */
export function createMemoryBus(options: BusOptions = {}): Bus {
  const byType = new Map<string, Set<Subscriber>>();
  let closed = false;

  async function pump(type: string, sub: Subscriber) {
    sub.running = true;
    while (pendingOf(sub) > 0) {
      const payload = sub.queue[sub.head];
      try {
        await sub.handler(payload);
      } catch (error) {
        options.onHandlerError?.(error, { type, subscriber: sub.name });
      }
      sub.queue[sub.head++] = undefined;
      if (sub.head >= 1024 && sub.head * 2 >= sub.queue.length) {
        sub.queue = sub.queue.slice(sub.head);
        sub.head = 0;
      }
    }
    sub.queue = [];
    sub.head = 0;
    sub.running = false;
    for (const resolve of sub.idle.splice(0)) resolve();
  }

  const all = () => [...byType.values()].flatMap((s) => [...s]);

  return {
    async publish(type, payload) {
      if (closed) throw new Error('bus closed');
      for (const sub of byType.get(type) ?? []) {
        sub.queue.push(payload);
        if (!sub.running) void pump(type, sub);
      }
    },
    subscribe<T extends DomainEventType>(type: T, handler: Handler<T>, { name }: { name: string }) {
      const sub: Subscriber = { name, handler, queue: [], head: 0, running: false, idle: [] };
      if (!byType.has(type)) byType.set(type, new Set());
      byType.get(type)!.add(sub);
      return () => byType.get(type)?.delete(sub);
    },
    lag: () => all().reduce((n, s) => n + pendingOf(s), 0),
    async drain() {
      // Handlers may publish further events; loop until everything is quiet.
      for (let round = 0; round < 1000; round++) {
        const busy = all().filter((s) => s.running || pendingOf(s) > 0);
        if (busy.length === 0) return;
        await Promise.all(busy.map((s) => new Promise<void>((resolve) => s.idle.push(resolve))));
      }
    },
    async close() {
      closed = true;
      await this.drain();
    },
  };
}
