// HTTP: the server, authentication and role checks, metrics, and the routes of each domain.
export { createApiServer } from './app.js';
export type { ApiOptions } from './app.js';
export { requireRole, bearerToken } from './auth.js';
export { createMetrics } from './metrics.js';
export type { Metrics } from './metrics.js';
export { registerIngestRoutes } from './routes/ingest.js';
export { registerEventRoutes } from './routes/events.js';
export { registerAccountRoutes } from './routes/accounts.js';
// response
export { registerResponseRoutes } from './routes/response.js';
// identity & access
export { registerPostureRoutes } from './routes/posture.js';
export { registerIdentityRoutes } from './routes/identity.js';
export { registerSsfRoutes } from './routes/ssf.js';
export { registerDetectionRoutes } from './routes/detection.js';
