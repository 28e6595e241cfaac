// The composition root: builds every module from typed configuration and wires them together.
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { VigilConfig } from './config/index.js';
import { createSqliteStore, type Store } from './store/index.js';
import { createMemoryBus, createNatsBus, type Bus } from './bus/index.js';
import { createIngestService } from './ingest/index.js';
import { createAccounts, type Accounts } from './identity/index.js';
// response
import { createAuditLog, createResponse, indicatorActionKind, type AuditLog, type ResponseModule } from './response/index.js';
import {
  createApiServer, createMetrics, registerAccountRoutes, registerEventRoutes, registerIngestRoutes,
} from './api/index.js';
import { registerResponseRoutes } from './api/index.js'; // response
// incidents: correlation, SOC workflow, suppression, device and user risk
import { createIncidentService, type IncidentService } from './incidents/index.js';
import { registerIncidentRoutes } from './api/routes/incidents.js';
import { registerConsoleRoutes } from './api/static.js'; // console
// identity & access (issue 5): posture, the OIDC provider, Conditional Access, SSF/CAEP
import { createPosture, type Posture } from './posture/index.js';
import { createAccess, type Access } from './identity/index.js';
import { registerIdentityRoutes, registerPostureRoutes, registerSsfRoutes } from './api/index.js';
// detection: Sigma on every ingested row (subscribes to 'telemetry.ingested'), with Vigil's own rule pack
import { createDetectionService, readPlaceholders, vigilRulePack, type DetectionService, type PlaceholderValues } from './detection/index.js';
import { registerDetectionRoutes } from './api/index.js';
// hunting: KQL over the telemetry tables, custom detection rules
import { createCustomDetections, createHuntingService, HUNTING_INDEXES, KQL_SQL_FUNCTIONS_MODULE, type HuntingService } from './hunting/index.js';
import { registerHuntingRoutes } from './api/routes/hunting.js';
import { sql } from 'kysely';
// intel (issue 8): indicators, matching, the sensor feed, retro-hunt, STIX 2.1 / TAXII 2.1
import { createIntelService, type IntelService } from './intel/index.js';
import { registerIntelRoutes } from './api/routes/intel.js';
import { VigilError } from './errors/index.js'; // mail (issue 9): email action parameters

export interface Platform {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly bus: Bus;
  readonly accounts: Accounts;
  // response
  readonly audit: AuditLog;
  readonly response: ResponseModule;
  // incidents
  readonly incidents: IncidentService;
  // identity & access
  readonly posture: Posture;
  readonly access: Access;
  // intel
  readonly intel: IntelService;
  readonly detection: DetectionService;
  readonly hunting: HuntingService;
  /** Set on the first start when the admin password was generated: show it once. */
  readonly firstAdmin?: { username: string; password: string };
  /** Stops taking requests, finishes those in flight, drains the bus, closes the store. */
  close(): Promise<void>;
}

export async function createPlatform(config: VigilConfig): Promise<Platform> {
  // What the configuration names is read before anything opens, so a bad file fails fast.
  const placeholders = config.sigmaPlaceholders === undefined ? undefined : readPlaceholders(config.sigmaPlaceholders);
  // What is open so far, closed again (newest first) when start-up fails part-way, so the process can exit.
  const opened: Array<() => unknown> = [];
  try {
    return await startPlatform(config, placeholders, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      try { await close(); } catch { /* best effort: the start-up error is the one to report */ }
    }
    throw error;
  }
}

async function startPlatform(config: VigilConfig, placeholders: PlaceholderValues | undefined, opened: Array<() => unknown>): Promise<Platform> {
  const dataDir = resolve(config.dataDir);
  // Hunting's read-only query processes get the KQL SQL functions (has, extract, …).
  const store = await createSqliteStore({ file: join(dataDir, 'vigil.db'), synchronous: config.sync, queryFunctionsModule: KQL_SQL_FUNCTIONS_MODULE });
  opened.push(() => store.close());
  if (config.huntingIndexes) for (const statement of HUNTING_INDEXES) await sql.raw(statement).execute(store.db);
  let app: FastifyInstance | undefined;
  const onHandlerError = (error: unknown, context: { type: string; subscriber: string }) => app?.log.error({ err: error, ...context }, 'bus handler failed');
  const bus = config.bus === 'memory'
    ? createMemoryBus({ onHandlerError })
    : await createNatsBus({ servers: config.bus.split(',').map((url) => url.trim()), onHandlerError }).catch((error: unknown) => {
      throw new VigilError('bad_config', 2, `cannot reach the NATS bus at ${config.bus}: ${(error as Error).message}`);
    });
  opened.push(() => bus.close());
  const accounts = await createAccounts({ store, bus, adminToken: config.adminToken });
  const bootstrap = await accounts.bootstrapAdmin(config.adminPassword);
  // response: the hash-chained audit log (others receive it as `audit`), actions, command channel, investigations.
  // fourEyes is read as an optional config field until the config module gains the option.
  const audit = await createAuditLog({ store });
  // identity & access: device inventory and compliance, then the provider, CA and the CAEP transmitter.
  const posture = await createPosture({ store, bus });
  opened.push(() => posture.close());
  const access = await createAccess({
    store, bus, accounts, posture,
    log: (level, message, detail) => app?.log[level]({ detail }, message),
  });
  opened.push(() => access.close());
  const response = await createResponse({
    store, bus, audit, filesDir: join(dataDir, 'response-files'),
    automationLevelOf: (deviceId) => posture.automationLevelOf(deviceId), // the device group's level
    userActions: access.userActions, // identity carries out user actions
    // incidents resolves the alerts a completed investigation remediated (called later, once incidents exists)
    resolveAlerts: async (alertIds, how) => { await incidents.resolveAlerts(alertIds, how); },
    fourEyes: (config as VigilConfig & { fourEyes?: boolean }).fourEyes ?? false,
    onError: (error, context) => app?.log.error({ err: error }, context),
  });
  opened.push(() => response.close());

  // incidents: alerts → incidents and the risk of devices and users (subscribes to 'alert.raised')
  const incidents = await createIncidentService({
    store, bus, audit, onError: (error, context) => app?.log.error({ err: error, ...context }, 'incidents'),
  });
  opened.push(() => incidents.stop());
  // intel: matches every ingested row against the indicators (subscribes to 'telemetry.ingested'); scope via posture's groups
  const intel = await createIntelService({
    store, bus,
    deviceGroupOf: async (deviceId) => { const d = await posture.getDevice(deviceId); return d ? [d.group.id, d.group.name] : undefined; },
    // A block-and-remediate indicator remediates past sightings at once (the analyst chose the action).
    proposeRemediation: (p) => response.actions.create({
      kind: p.kind, target: p.deviceId, params: p.params, source: 'automated', decision: 'auto', decisionReason: p.reason, verdict: 'malicious',
      requestedBy: { id: `indicator:${p.indicatorId}`, name: 'block-and-remediate indicator' },
    }),
    onError: (error, context) => app?.log.error({ err: error }, context),
  });
  opened.push(() => intel.close());
  // response: add_indicator actions create indicators through intel
  response.registerActionKind(indicatorActionKind((input, actor) => intel.create(input, actor)));
  // mail (issue 9): email actions on a message (target: its NetworkMessageId; defender-xdr.md §10), run as commands
  // to the mail gateway that reported it (the sensor of its EmailEvents rows), which moves it over IMAP as ZAP does.
  const emailActionKinds: Record<string, string> = {
    soft_delete: 'Soft-delete an email (move it to Deleted Items)', move_to_junk: 'Move an email to the Junk folder',
    quarantine: 'Move a delivered email to quarantine', move_to_inbox: 'Move an email back to the inbox',
    release_email: 'Release an email from the mail gateway quarantine',
  };
  for (const [kind, description] of Object.entries(emailActionKinds)) {
    response.registerActionKind({
      kind, targetType: 'email', description,
      validate(params) {
        const p = (params ?? {}) as Record<string, unknown>;
        const extra = typeof p === 'object' && !Array.isArray(p) ? Object.keys(p).filter((k) => k !== 'recipients') : ['params'];
        const r = p.recipients;
        if (extra.length || (r !== undefined && (!Array.isArray(r) || r.some((x) => typeof x !== 'string' || !x.includes('@'))))) {
          throw new VigilError('bad_request', 400, `${kind}: the only parameter is 'recipients' (a list of addresses)`);
        }
        return Array.isArray(r) ? { recipients: r.map((x: string) => x.toLowerCase()) } : {};
      },
      async execute(action, context) {
        const found = await store.query('SELECT "_SensorId", "InternetMessageId", "RecipientEmailAddress" FROM "EmailEvents" WHERE "NetworkMessageId" = ? LIMIT 1000',
          [action.target], { timeoutMs: 10_000 });
        if (found.rows.length === 0) return { state: 'failed', message: `no EmailEvents row for message ${action.target}` };
        const command = await context.enqueueCommand({
          deviceId: String(found.rows[0][0]), kind, actionId: action.id,
          params: {
            networkMessageId: action.target, internetMessageId: String(found.rows[0][1] ?? ''), actor: action.requestedBy,
            recipients: (action.params.recipients as string[] | undefined) ?? [...new Set(found.rows.map((row) => String(row[2])))],
          },
        });
        return { state: 'dispatched', commandId: command.id };
      },
      ...(kind === 'release_email' || kind === 'move_to_inbox' ? {} : { undo: (a: { params: Record<string, unknown> }) => ({ kind: 'move_to_inbox', params: { ...a.params } }) }),
    });
  }
  const detection = await createDetectionService({
    store, bus, rules: vigilRulePack(),
    placeholders,
    onError: (error, context) => app?.log.error({ err: error, ...context }, 'detection: a row failed in the engine'),
  });
  opened.push(() => detection.close());
  const hunting = createHuntingService({ store, defaultWindowDays: 30, timeoutMs: config.huntTimeoutMs, maxRows: 30_000 });
  const customDetections = await createCustomDetections({ store, bus, hunting });
  customDetections.start();
  opened.push(() => customDetections.stop());
  const metrics = createMetrics({ busLag: () => bus.lag() });
  const ingest = createIngestService({ store, bus, counters: metrics.ingestCounters });

  let ready = false;
  app = createApiServer({ accounts, metrics, bodyLimit: config.bodyLimitBytes, logLevel: config.logLevel, ready: () => ready });
  registerAccountRoutes(app, { accounts, audit: async (entry) => { await audit.record(entry); } });
  opened.push(() => app!.close());
  registerIngestRoutes(app, { ingest });
  registerEventRoutes(app, { store });
  registerConsoleRoutes(app, { distDir: new URL('../console/dist', import.meta.url) }); // console: the SOC console at /
  registerResponseRoutes(app, { response }); // response
  registerIncidentRoutes(app, { incidents, authenticate: (token) => accounts.authenticate(token) }); // incidents
  // identity & access
  const auditEntry = async (entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }) => { await audit.record(entry); };
  registerPostureRoutes(app, { posture, audit: auditEntry });
  registerIdentityRoutes(app, { access, accounts, audit: auditEntry });
  registerSsfRoutes(app, { access });
  registerDetectionRoutes(app, { detection, audit: auditEntry });
  registerHuntingRoutes(app, { hunting, rules: customDetections });
  registerIntelRoutes(app, { intel, authenticate: (token) => accounts.authenticate(token), audit: auditEntry }); // intel

  await app.listen({ host: config.host, port: config.port }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new VigilError('bad_config', 2, `cannot listen on ${config.host}:${config.port} (${error.code}): use --port / VIGIL_PORT or --host / VIGIL_HOST`);
    }
    throw error;
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  await access.start(url); // identity & access: the issuer needs the public URL
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    url, app, store, bus, accounts, audit, response, posture, access,
    incidents, // incidents
    intel, // intel
    detection,
    hunting,
    firstAdmin: bootstrap.generatedPassword ? { username: bootstrap.username, password: bootstrap.generatedPassword } : undefined,
    close() {
      closing ??= (async () => {
        ready = false;
        await response.close(); // response: stop the sweep, answer waiting long-polls
        detection.close();
        await customDetections.stop();
        await intel.close(); // intel: answer waiting feed long-polls, finish retro-hunts
        await access.close(); // identity & access: push retries, long polls
        posture.close();
        await app!.close();
        await bus.close();
        await incidents.stop(); // incidents: write what is pending
        await store.close();
      })();
      return closing;
    },
  };
}
