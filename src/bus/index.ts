// The typed domain-event bus: in-memory (embedded) and NATS JetStream (distributed), one interface.
export type { Bus, BusOptions, Handler, SubscribeOptions } from './bus.js';
export { createMemoryBus } from './memory-bus.js';
export { createNatsBus, type NatsBusOptions } from './nats-bus.js';
