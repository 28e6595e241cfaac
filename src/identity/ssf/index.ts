export { createTransmitter, EVENTS, EVENTS_SUPPORTED, PUSH as PUSH_DELIVERY, POLL as POLL_DELIVERY, validSubject, subjectMatches } from './transmitter.js';
export type { Transmitter, TransmitterOptions, StreamConfig, OutgoingEvent, Subject, Delivery, StreamStatus, PollRequest } from './transmitter.js';
