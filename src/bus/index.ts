// The typed domain-event bus: in-memory now, NATS JetStream behind the same interface later.
export type { Bus, BusOptions, Handler, SubscribeOptions } from './bus.js';
export { createMemoryBus } from './memory-bus.js';
