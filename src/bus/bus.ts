import type { DomainEvents, DomainEventType } from '../schema/index.js';

export type Handler<T extends DomainEventType> = (payload: DomainEvents[T]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Names the subscriber in logs and metrics (and, on NATS, its durable consumer). */
  readonly name: string;
}

/**
 * The typed domain-event bus. `publish` resolves once the bus has accepted the event; each subscriber
 * handles its events asynchronously, one at a time, in publish order.
 */
export interface Bus {
  publish<T extends DomainEventType>(type: T, payload: DomainEvents[T]): Promise<void>;
  subscribe<T extends DomainEventType>(type: T, handler: Handler<T>, options: SubscribeOptions): () => void;
  /** Events accepted but not yet handled, over all subscribers. */
  lag(): number;
  /** Resolves when every subscriber has handled everything published so far. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface BusOptions {
  /** Called when a handler throws; the event is then skipped for that subscriber (fail soft). */
  readonly onHandlerError?: (error: unknown, context: { type: string; subscriber: string }) => void;
}
