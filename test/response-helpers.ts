// Shared set-up for the response tests: an in-memory store and bus, a clock the test moves, and alert builders.
import { createMemoryBus, type Bus } from '../src/bus/index.js';
import type { RaisedAlert } from '../src/schema/index.js';
import { createSqliteStore, type Store } from '../src/store/index.js';
import {
  createAuditLog, createResponse, type AuditLog, type AutomationLevel, type ResponseModule, type ResponseOptions,
} from '../src/response/index.js';

export const T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const DAY = 24 * 60 * 60 * 1000;

export interface Harness {
  readonly store: Store;
  readonly bus: Bus;
  readonly audit: AuditLog;
  readonly response: ResponseModule;
  readonly clock: { now: number };
  readonly changes: { actionId: string; state: string }[];
  readonly resolved: { alertIds: readonly string[]; by: string }[];
  close(): Promise<void>;
}

export async function harness(options: {
  levels?: Record<string, AutomationLevel>;
  extra?: Partial<ResponseOptions>;
} = {}): Promise<Harness> {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const clock = { now: T0 };
  const now = () => clock.now;
  const audit = await createAuditLog({ store, now });
  const resolved: { alertIds: readonly string[]; by: string }[] = [];
  const response = await createResponse({
    store, bus, audit, now, sweepIntervalMs: 0,
    automationLevelOf: (deviceId) => options.levels?.[deviceId],
    resolveAlerts: async (alertIds, how) => { resolved.push({ alertIds, by: how.by }); },
    ...options.extra,
  });
  const changes: { actionId: string; state: string }[] = [];
  bus.subscribe('action.changed', (e) => { changes.push({ actionId: e.actionId, state: e.state }); }, { name: 'test' });
  return {
    store, bus, audit, response, clock, changes, resolved,
    async close() {
      await response.close();
      await bus.close();
      await store.close();
    },
  };
}

export const EVIL_SHA = 'a'.repeat(63) + '1';
export const OTHER_SHA = 'b'.repeat(63) + '2';

let report = 0;
/** DeviceFileEvents rows: the file written at `path` on `deviceId`. */
export function fileRow(deviceId: string, path: string, sha256 = EVIL_SHA, extra: Record<string, unknown> = {}) {
  const name = path.split(/[\\/]/).pop();
  return {
    Timestamp: new Date(T0 - 60_000).toISOString(), DeviceId: deviceId, DeviceName: `host-${deviceId}`, ActionType: 'FileCreated',
    FileName: name, FolderPath: path, SHA256: sha256, ReportId: ++report, ...extra,
  };
}

export function processRow(deviceId: string, extra: Record<string, unknown>) {
  return {
    Timestamp: new Date(T0 - 30_000).toISOString(), DeviceId: deviceId, DeviceName: `host-${deviceId}`, ActionType: 'ProcessCreated',
    ReportId: ++report, ...extra,
  };
}

/** An antivirus malware alert on `deviceId` for the file at `path`. */
export function malwareAlert(deviceId: string, path: string, overrides: Partial<RaisedAlert> = {}, sha256 = EVIL_SHA): RaisedAlert {
  const name = path.split(/[\\/]/).pop()!;
  return {
    alertId: `alert-${deviceId}-${++report}`,
    title: `Malware '${name}' detected`,
    description: 'test',
    severity: 'high',
    category: 'Malware',
    detectionSource: 'antivirus',
    serviceSource: 'vigil',
    mitreTechniques: [],
    tactics: [],
    firstActivity: new Date(T0).toISOString(),
    lastActivity: new Date(T0).toISOString(),
    evidence: [
      { kind: 'device', key: deviceId, label: `host-${deviceId}`, role: 'Impacted' },
      { kind: 'file', key: sha256, label: name, role: 'Related', details: { sha256, path } },
    ],
    events: [],
    dedupKey: `k-${deviceId}-${sha256}`,
    ...overrides,
  };
}

export async function raise(h: Harness, alert: RaisedAlert) {
  await h.bus.publish('alert.raised', { alert });
  await h.bus.drain();
}
