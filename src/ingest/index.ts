// Ingest: validation against the canonical schema, Windows event normalisation, durable write, announcement.
export { createIngestService } from './ingest-service.js';
export type { IngestService, IngestResult, IngestOptions, IngestCounters } from './ingest-service.js';
export { validateRows } from './row-validator.js';
export type { RowRejection } from './row-validator.js';
export { parseJsonDocuments } from './json-documents.js';
export { normaliseWindowsEvent, normaliseWindowsEventText, deviceIdFor } from './windows-normaliser.js';
export type { NormalisedEvent } from './windows-normaliser.js';
export { ownCopy } from './flat-shapes.js';
