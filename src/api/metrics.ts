import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestCounters } from '../ingest/index.js';

/** The platform's Prometheus metrics, in a registry of its own (two platforms in one process do not mix). */
export function createMetrics(options: { busLag: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  const rowsIngested = new Counter({ name: 'vigil_rows_ingested_total', help: 'Telemetry rows committed', labelNames: ['table'], registers: [registry] });
  const rowsRejected = new Counter({ name: 'vigil_rows_rejected_total', help: 'Telemetry rows refused by validation', labelNames: ['table'], registers: [registry] });
  const rowsDuplicate = new Counter({ name: 'vigil_rows_duplicate_total', help: 'Telemetry rows already stored (retries)', labelNames: ['table'], registers: [registry] });
  new Gauge({
    name: 'vigil_bus_lag', help: 'Domain events accepted by the bus and not yet handled', registers: [registry],
    collect() { this.set(options.busLag()); },
  });
  const requestDuration = new Histogram({
    name: 'vigil_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
  });
  const ingestCounters: IngestCounters = {
    onAccepted: (table, n) => rowsIngested.inc({ table }, n),
    onRejected: (table, n) => rowsRejected.inc({ table }, n),
    onDuplicates: (table, n) => rowsDuplicate.inc({ table }, n),
  };
  return { registry, ingestCounters, requestDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;
