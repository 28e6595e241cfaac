import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type JetStreamManager,
} from '@nats-io/jetstream';
import type { DomainEvents, DomainEventType } from '../schema/index.js';
import type { Bus, BusOptions, Handler } from './bus.js';

export interface NatsBusOptions extends BusOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** The JetStream stream that holds the platform's events (subjects `<stream lower-case>.<event type>`). Default VIGIL. */
  readonly stream?: string;
  /** How long an event nobody has handled stays in the stream. Default 7 days. */
  readonly maxAgeMs?: number;
}

interface Subscription {
  readonly type: string;
  readonly name: string;
  readonly durable: string;
  /** Set up once the durable consumer exists. */
  readonly ready: Promise<void>;
  messages?: ConsumerMessages;
  /** Events for the consumer not yet handled (the one in its handler included), as last reported by the server. */
  pending: number;
  handling: boolean;
  stopped: boolean;
  /** The consume loop, so close() can wait for the handler in flight. */
  loop?: Promise<void>;
}

/** A durable consumer's name: the subscriber's name and the event type, in the characters NATS allows. */
const durableName = (name: string, type: string) => `${name}--${type}`.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * The distributed bus: NATS JetStream. Every event goes to one stream (interest retention: kept until
 * every subscriber has acknowledged it); every subscriber is a durable pull consumer named after it, so
 * several processes of the same role share its work and events published while a process is down are
 * handled when it comes back. Each subscriber handles its events one at a time, in publish order, and
 * acknowledges an event once its handler has finished (a handler that throws is reported and the event
 * skipped, as on the in-memory bus).
 */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const stream = options.stream ?? 'VIGIL';
  const prefix = stream.toLowerCase();
  const nc: NatsConnection = await connect({ servers: typeof options.servers === 'string' ? options.servers : [...options.servers], name: 'vigil' });
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  try {
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    const config = {
      name: stream, subjects: [`${prefix}.>`], retention: RetentionPolicy.Interest, storage: StorageType.File,
      max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3600 * 1000),
    };
    const exists = await jsm.streams.info(stream).then(() => true, () => false);
    if (exists) await jsm.streams.update(stream, config);
    else await jsm.streams.add(config);
  } catch (error) {
    await nc.close();
    throw error;
  }
  // An event larger than the server takes is split where it can be: telemetry rows into several events.
  const maxPayload = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - 4096);
  const encoder = new TextEncoder();
  const subs = new Set<Subscription>();
  let closed = false;

  function encode(type: DomainEventType, payload: unknown): Uint8Array[] {
    const data = encoder.encode(JSON.stringify(payload));
    if (data.length <= maxPayload) return [data];
    if (type === 'telemetry.ingested') {
      const { rows, ...rest } = payload as DomainEvents['telemetry.ingested'];
      if (rows.length > 1) {
        const half = rows.length >> 1;
        return [...encode(type, { ...rest, rows: rows.slice(0, half) }), ...encode(type, { ...rest, rows: rows.slice(half) })];
      }
    }
    throw new Error(`${type} event of ${data.length} bytes is larger than the NATS server's max_payload`);
  }

  async function consume(sub: Subscription, handler: Handler<any>) {
    const consumer = await js.consumers.get(stream, sub.durable);
    // One event at a time: the server hands out the next only when this one is acknowledged.
    const messages = await consumer.consume({ max_messages: 1 });
    sub.messages = messages;
    if (sub.stopped) messages.stop();
    for await (const m of messages) {
      sub.pending = m.info.pending + 1;
      sub.handling = true;
      try {
        await handler(m.json());
      } catch (error) {
        options.onHandlerError?.(error, { type: sub.type, subscriber: sub.name });
      } finally {
        sub.handling = false;
        sub.pending = m.info.pending;
      }
      await m.ackAck().catch(() => m.ack());
    }
  }

  async function quiet(): Promise<boolean> {
    for (const sub of subs) {
      if (sub.stopped) continue;
      await sub.ready;
      if (sub.handling) return false;
      const info = await jsm.consumers.info(stream, sub.durable);
      sub.pending = info.num_pending + info.num_ack_pending;
      if (sub.pending > 0) return false;
    }
    return true;
  }

  const bus: Bus = {
    async publish(type, payload) {
      if (closed) throw new Error('bus closed');
      // A subscriber set up in this process sees every event published after subscribe() returned.
      await Promise.all([...subs].map((s) => s.ready));
      for (const data of encode(type, payload)) await js.publish(`${prefix}.${type}`, data);
    },
    subscribe(type, handler, { name }) {
      const durable = durableName(name, type);
      const config = {
        durable_name: durable, filter_subject: `${prefix}.${type}`, ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New, ack_wait: nanos(10 * 60 * 1000), max_ack_pending: 1,
      };
      const sub: Subscription = {
        type, name, durable, pending: 0, handling: false, stopped: false,
        // A durable left with another configuration (an older version's) is made again; one that still
        // cannot be made is reported, and the subscriber stays stopped rather than blocking every publish.
        ready: jsm.consumers.add(stream, config)
          .catch(async () => { await jsm.consumers.delete(stream, durable).catch(() => undefined); return jsm.consumers.add(stream, config); })
          .then(() => undefined, (error: unknown) => {
            sub.stopped = true;
            options.onHandlerError?.(error, { type, subscriber: name });
          }),
      };
      subs.add(sub);
      sub.loop = sub.ready.then(() => (sub.stopped ? undefined : consume(sub, handler))).catch((error) => {
        if (!sub.stopped) options.onHandlerError?.(error, { type, subscriber: name });
      });
      return () => {
        sub.stopped = true;
        sub.messages?.stop();
        subs.delete(sub);
      };
    },
    // `pending` counts the event in a handler too.
    lag: () => [...subs].reduce((n, s) => n + s.pending, 0),
    async drain() {
      // Handlers may publish further events; wait until every subscriber is idle with nothing pending.
      for (let round = 0; round < 10_000; round++) {
        if (await quiet()) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error('bus did not drain');
    },
    async close() {
      if (closed) return;
      await bus.drain().catch(() => undefined);
      closed = true;
      for (const sub of subs) { sub.stopped = true; sub.messages?.stop(); }
      await Promise.all([...subs].map((s) => s.loop));
      subs.clear();
      await nc.drain();
    },
  };
  return bus;
}
