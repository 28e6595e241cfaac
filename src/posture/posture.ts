import { ulid } from 'ulid';
import { sql } from 'kysely';
import { VigilError } from '../errors/index.js';
import type { Bus } from '../bus/index.js';
import type { Migration, Store } from '../store/index.js';
import { RISK_LEVELS, type ComplianceState, type RiskLevel } from '../schema/index.js';

/** Response automation levels, as Defender names them. */
export type AutomationLevel = 'full' | 'semi_all' | 'semi_core' | 'semi_non_temp' | 'none';
export const AUTOMATION_LEVELS: readonly AutomationLevel[] = ['full', 'semi_all', 'semi_core', 'semi_non_temp', 'none'];

/**
 * Intune's "Require the device to be at or under the machine risk score": clear (no threats), low, medium, high.
 * Graph enum deviceThreatProtectionLevel calls clear "secured".
 */
export type MaxRisk = 'clear' | 'low' | 'medium' | 'high';
export const MAX_RISKS: readonly MaxRisk[] = ['clear', 'low', 'medium', 'high'];

export interface CompliancePolicy {
  readonly id: string;
  readonly name: string;
  /** The highest machine risk still compliant. */
  readonly maxRisk: MaxRisk;
  /** A sensor silent longer than this (seconds) makes the device noncompliant; null = no rule. */
  readonly maxSensorSilenceSeconds: number | null;
}

export interface DeviceGroup {
  readonly id: string;
  readonly name: string;
  readonly automationLevel: AutomationLevel;
  readonly compliancePolicyId: string;
}

export interface ComplianceTransition {
  readonly at: string;
  readonly old: ComplianceState;
  readonly new: ComplianceState;
  readonly reason: string;
}

export interface Device {
  readonly id: string;
  readonly hostname: string;
  readonly os: string;
  readonly osVersion: string;
  readonly sensorId: string | null;
  /** Lower-case user key (e.g. 'alice') of the device's primary user, when known. */
  readonly primaryUser: string | null;
  readonly groupId: string;
  readonly riskLevel: RiskLevel;
  readonly complianceState: ComplianceState;
  readonly complianceReason: string;
  readonly publicKeyJwk: Readonly<Record<string, unknown>> | null;
  readonly enrolledAt: string;
  readonly lastSeen: string | null;
}

export interface DeviceDetail extends Device {
  readonly group: DeviceGroup;
  readonly history: readonly ComplianceTransition[];
}

export interface UpsertDeviceInput {
  readonly id: string;
  readonly hostname?: string;
  readonly os?: string;
  readonly osVersion?: string;
  readonly sensorId?: string | null;
  readonly primaryUser?: string | null;
  readonly groupId?: string;
  readonly publicKeyJwk?: Readonly<Record<string, unknown>> | null;
  readonly lastSeen?: string | null;
}

export interface Posture {
  /** Creates or updates an inventory entry (enrollment does this from 'device.enrolled'; tests and the demo call it). */
  upsertDevice(input: UpsertDeviceInput): Promise<Device>;
  getDevice(id: string): Promise<DeviceDetail | undefined>;
  listDevices(): Promise<Device[]>;
  /** Sets the device's risk (as 'device.risk-changed' does) and re-evaluates compliance. */
  setRisk(deviceId: string, level: RiskLevel, reason: string): Promise<Device>;
  /**
   * Re-evaluates compliance now (risk and sensor silence). A transition is stored and emitted as
   * 'device.compliance-changed' before this resolves.
   */
  evaluate(deviceId: string, reason?: string): Promise<Device | undefined>;
  /** Response asks this for the automation level of the device's group. */
  automationLevelOf(deviceId: string): Promise<AutomationLevel>;
  listGroups(): Promise<DeviceGroup[]>;
  getGroup(id: string): Promise<DeviceGroup | undefined>;
  createGroup(input: { name: string; automationLevel?: AutomationLevel; compliancePolicyId?: string; id?: string }): Promise<DeviceGroup>;
  updateGroup(id: string, patch: Partial<Omit<DeviceGroup, 'id'>>): Promise<DeviceGroup>;
  deleteGroup(id: string): Promise<void>;
  listPolicies(): Promise<CompliancePolicy[]>;
  getPolicy(id: string): Promise<CompliancePolicy | undefined>;
  createPolicy(input: { name: string; maxRisk: MaxRisk; maxSensorSilenceSeconds?: number | null; id?: string }): Promise<CompliancePolicy>;
  updatePolicy(id: string, patch: Partial<Omit<CompliancePolicy, 'id'>>): Promise<CompliancePolicy>;
  deletePolicy(id: string): Promise<void>;
  /** Stops the bus subscriptions. */
  close(): void;
}

export interface PostureOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly now?: () => number;
}

export const DEFAULT_GROUP_ID = 'default';
export const DEFAULT_POLICY_ID = 'default';

const migrations: Migration[] = [{
  version: 1,
  name: 'devices, groups, compliance policies, history',
  async up(db) {
    await db.schema.createTable('posture_policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('max_risk', 'text', (c) => c.notNull())
      .addColumn('max_silence_s', 'integer')
      .execute();
    await db.schema.createTable('posture_groups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('automation_level', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('posture_devices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('os', 'text', (c) => c.notNull())
      .addColumn('os_version', 'text', (c) => c.notNull())
      .addColumn('sensor_id', 'text')
      .addColumn('primary_user', 'text')
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('risk_level', 'text', (c) => c.notNull())
      .addColumn('compliance_state', 'text', (c) => c.notNull())
      .addColumn('compliance_reason', 'text', (c) => c.notNull())
      .addColumn('public_key_jwk', 'text')
      .addColumn('enrolled_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint')
      .execute();
    await db.schema.createIndex('posture_devices_sensor').on('posture_devices').column('sensor_id').execute();
    await db.schema.createTable('posture_history')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('old_state', 'text', (c) => c.notNull())
      .addColumn('new_state', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('posture_history_device').on('posture_history').columns(['device_id', 'at']).execute();
  },
}];

const RISK_RANK: Record<RiskLevel, number> = { none: 0, informational: 1, low: 2, medium: 3, high: 4 };
/** Highest RiskLevel rank each maxRisk admits: clear admits none and informational (no active threat). */
const MAX_RANK: Record<MaxRisk, number> = { clear: 1, low: 2, medium: 3, high: 4 };

const toPolicy = (r: any): CompliancePolicy => ({
  id: r.id, name: r.name, maxRisk: r.max_risk, maxSensorSilenceSeconds: r.max_silence_s === null ? null : Number(r.max_silence_s),
});
const toGroup = (r: any): DeviceGroup => ({ id: r.id, name: r.name, automationLevel: r.automation_level, compliancePolicyId: r.policy_id });
const iso = (ms: unknown) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const toDevice = (r: any): Device => ({
  id: r.id, hostname: r.hostname, os: r.os, osVersion: r.os_version, sensorId: r.sensor_id ?? null, primaryUser: r.primary_user ?? null,
  groupId: r.group_id, riskLevel: r.risk_level, complianceState: r.compliance_state, complianceReason: r.compliance_reason,
  publicKeyJwk: r.public_key_jwk ? JSON.parse(r.public_key_jwk) : null, enrolledAt: iso(r.enrolled_at)!, lastSeen: iso(r.last_seen),
});

/** Judges one device against its group's policy; pure. */
export function judgeCompliance(device: Pick<Device, 'riskLevel' | 'lastSeen' | 'enrolledAt'>, policy: CompliancePolicy, nowMs: number): { state: ComplianceState; reason: string } {
  if (RISK_RANK[device.riskLevel] > MAX_RANK[policy.maxRisk]) {
    return { state: 'noncompliant', reason: `machine risk ${device.riskLevel} is above the maximum '${policy.maxRisk}' of compliance policy '${policy.name}'` };
  }
  if (policy.maxSensorSilenceSeconds !== null) {
    const seen = Date.parse(device.lastSeen ?? device.enrolledAt);
    const silentS = Math.floor((nowMs - seen) / 1000);
    if (silentS > policy.maxSensorSilenceSeconds) {
      return { state: 'noncompliant', reason: `sensor silent for ${silentS} s, over the ${policy.maxSensorSilenceSeconds} s allowed by compliance policy '${policy.name}'` };
    }
  }
  return { state: 'compliant', reason: `within compliance policy '${policy.name}' (machine risk ${device.riskLevel}, maximum '${policy.maxRisk}')` };
}

/**
 * Device inventory, device groups and compliance policies (the Intune part). Compliance follows risk
 * event by event: every 'device.risk-changed' re-evaluates at once, with no check-in timer.
 */
export async function createPosture({ store, bus, now = Date.now }: PostureOptions): Promise<Posture> {
  await store.migrate('posture', migrations);
  const db = store.db;
  if (!(await db.selectFrom('posture_policies').select('id').where('id', '=', DEFAULT_POLICY_ID).executeTakeFirst())) {
    await db.insertInto('posture_policies').values({ id: DEFAULT_POLICY_ID, name: 'Default: machine risk at most low', max_risk: 'low', max_silence_s: null }).execute();
  }
  if (!(await db.selectFrom('posture_groups').select('id').where('id', '=', DEFAULT_GROUP_ID).executeTakeFirst())) {
    await db.insertInto('posture_groups').values({ id: DEFAULT_GROUP_ID, name: 'Default', automation_level: 'semi_all', policy_id: DEFAULT_POLICY_ID }).execute();
  }
  // Serialise evaluations per device so that two quick risk changes record two ordered transitions.
  const chains = new Map<string, Promise<unknown>>();
  function serial<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const prev = chains.get(deviceId) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    chains.set(deviceId, tail);
    void tail.then(() => { if (chains.get(deviceId) === tail) chains.delete(deviceId); });
    return next;
  }
  const lastSeenWritten = new Map<string, number>();

  const rawDevice = (id: string) => db.selectFrom('posture_devices').selectAll().where('id', '=', id).executeTakeFirst();

  async function policyOfGroup(groupId: string): Promise<CompliancePolicy> {
    const group = (await db.selectFrom('posture_groups').selectAll().where('id', '=', groupId).executeTakeFirst())
      ?? (await db.selectFrom('posture_groups').selectAll().where('id', '=', DEFAULT_GROUP_ID).executeTakeFirstOrThrow());
    const policy = await db.selectFrom('posture_policies').selectAll().where('id', '=', group.policy_id).executeTakeFirst()
      ?? await db.selectFrom('posture_policies').selectAll().where('id', '=', DEFAULT_POLICY_ID).executeTakeFirstOrThrow();
    return toPolicy(policy);
  }

  async function evaluateNow(deviceId: string, cause: string | undefined): Promise<Device | undefined> {
    const r = await rawDevice(deviceId);
    if (!r) return undefined;
    const device = toDevice(r);
    const policy = await policyOfGroup(device.groupId);
    const verdict = judgeCompliance(device, policy, now());
    if (verdict.state === device.complianceState) {
      if (verdict.reason !== device.complianceReason) {
        await db.updateTable('posture_devices').set({ compliance_reason: verdict.reason }).where('id', '=', deviceId).execute();
      }
      return { ...device, complianceReason: verdict.reason };
    }
    const reason = cause ? `${verdict.reason} (${cause})` : verdict.reason;
    const t = now();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('posture_devices').set({ compliance_state: verdict.state, compliance_reason: reason }).where('id', '=', deviceId).execute();
      await trx.insertInto('posture_history').values({
        id: ulid(t), device_id: deviceId, at: t, old_state: device.complianceState, new_state: verdict.state, reason,
      }).execute();
    });
    await bus.publish('device.compliance-changed', { deviceId, old: device.complianceState, new: verdict.state, reason });
    return { ...device, complianceState: verdict.state, complianceReason: reason };
  }

  async function reevaluateGroupMembers(where: { groupId?: string; policyId?: string }) {
    let q = db.selectFrom('posture_devices').select('posture_devices.id');
    if (where.groupId) q = q.where('group_id', '=', where.groupId);
    if (where.policyId) {
      q = q.where('group_id', 'in', db.selectFrom('posture_groups').select('id').where('policy_id', '=', where.policyId));
    }
    for (const { id } of await q.execute()) await serial(id, () => evaluateNow(id, 'policy or group changed'));
  }

  const posture: Posture = {
    async upsertDevice(input) {
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(input.id)) throw new VigilError('invalid_device', 400, "device 'id' must be 1-128 letters, digits, '.', '_', ':' or '-'");
      if (input.groupId !== undefined && !(await posture.getGroup(input.groupId))) throw new VigilError('invalid_device', 400, `device group '${input.groupId}' does not exist`);
      return serial(input.id, async () => {
        const existing = await rawDevice(input.id);
        const t = now();
        if (!existing) {
          await db.insertInto('posture_devices').values({
            id: input.id, hostname: input.hostname ?? input.id, os: input.os ?? 'unknown', os_version: input.osVersion ?? '',
            sensor_id: input.sensorId ?? null, primary_user: input.primaryUser?.toLowerCase() ?? null, group_id: input.groupId ?? DEFAULT_GROUP_ID,
            risk_level: 'none', compliance_state: 'unknown', compliance_reason: 'not yet evaluated',
            public_key_jwk: input.publicKeyJwk ? JSON.stringify(input.publicKeyJwk) : null, enrolled_at: t,
            last_seen: input.lastSeen ? Date.parse(input.lastSeen) : null,
          }).execute();
        } else {
          const set: Record<string, unknown> = {};
          if (input.hostname !== undefined) set.hostname = input.hostname;
          if (input.os !== undefined) set.os = input.os;
          if (input.osVersion !== undefined) set.os_version = input.osVersion;
          if (input.sensorId !== undefined) set.sensor_id = input.sensorId;
          if (input.primaryUser !== undefined) set.primary_user = input.primaryUser?.toLowerCase() ?? null;
          if (input.groupId !== undefined) set.group_id = input.groupId;
          if (input.publicKeyJwk !== undefined) set.public_key_jwk = input.publicKeyJwk ? JSON.stringify(input.publicKeyJwk) : null;
          if (input.lastSeen !== undefined) set.last_seen = input.lastSeen ? Date.parse(input.lastSeen) : null;
          if (Object.keys(set).length > 0) await db.updateTable('posture_devices').set(set).where('id', '=', input.id).execute();
        }
        return (await evaluateNow(input.id, existing ? 'device updated' : 'device enrolled'))!;
      });
    },

    async getDevice(id) {
      const r = await rawDevice(id);
      if (!r) return undefined;
      const device = toDevice(r);
      const group = (await posture.getGroup(device.groupId)) ?? (await posture.getGroup(DEFAULT_GROUP_ID))!;
      const history = (await db.selectFrom('posture_history').selectAll().where('device_id', '=', id).orderBy('at').orderBy('id').execute())
        .map((h: any) => ({ at: iso(h.at)!, old: h.old_state, new: h.new_state, reason: h.reason }));
      return { ...device, group, history };
    },

    listDevices: async () => (await db.selectFrom('posture_devices').selectAll().orderBy('hostname').orderBy('id').execute()).map(toDevice),

    async setRisk(deviceId, level, reason) {
      if (!RISK_LEVELS.includes(level)) throw new VigilError('invalid_risk', 400, `risk must be one of ${RISK_LEVELS.join(', ')}`);
      return serial(deviceId, async () => {
        const res = await db.updateTable('posture_devices').set({ risk_level: level }).where('id', '=', deviceId).executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) throw new VigilError('not_found', 404, `device '${deviceId}' not found`);
        return (await evaluateNow(deviceId, reason))!;
      });
    },

    evaluate: (deviceId, reason) => serial(deviceId, () => evaluateNow(deviceId, reason)),

    async automationLevelOf(deviceId) {
      const r = await db.selectFrom('posture_devices').innerJoin('posture_groups', 'posture_groups.id', 'posture_devices.group_id')
        .select('posture_groups.automation_level').where('posture_devices.id', '=', deviceId).executeTakeFirst();
      if (r) return r.automation_level as AutomationLevel;
      const def = await posture.getGroup(DEFAULT_GROUP_ID);
      return def!.automationLevel;
    },

    listGroups: async () => (await db.selectFrom('posture_groups').selectAll().orderBy('name').execute()).map(toGroup),
    async getGroup(id) {
      const r = await db.selectFrom('posture_groups').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toGroup(r) : undefined;
    },
    async createGroup({ name, automationLevel = 'semi_all', compliancePolicyId = DEFAULT_POLICY_ID, id }) {
      checkGroupFields({ name, automationLevel });
      if (!(await posture.getPolicy(compliancePolicyId))) throw new VigilError('invalid_group', 400, `compliance policy '${compliancePolicyId}' does not exist`);
      if (await db.selectFrom('posture_groups').select('id').where('name', '=', name).executeTakeFirst()) throw new VigilError('conflict', 409, `device group '${name}' already exists`);
      const row = { id: id ?? ulid(), name, automation_level: automationLevel, policy_id: compliancePolicyId };
      await db.insertInto('posture_groups').values(row).execute();
      return toGroup(row);
    },
    async updateGroup(id, patch) {
      const current = await posture.getGroup(id);
      if (!current) throw new VigilError('not_found', 404, `device group '${id}' not found`);
      const next = { ...current, ...definedOnly(patch) };
      checkGroupFields(next);
      if (!(await posture.getPolicy(next.compliancePolicyId))) throw new VigilError('invalid_group', 400, `compliance policy '${next.compliancePolicyId}' does not exist`);
      await db.updateTable('posture_groups').set({ name: next.name, automation_level: next.automationLevel, policy_id: next.compliancePolicyId }).where('id', '=', id).execute();
      if (next.compliancePolicyId !== current.compliancePolicyId) await reevaluateGroupMembers({ groupId: id });
      return next;
    },
    async deleteGroup(id) {
      if (id === DEFAULT_GROUP_ID) throw new VigilError('conflict', 409, 'the default device group cannot be deleted');
      if (!(await posture.getGroup(id))) throw new VigilError('not_found', 404, `device group '${id}' not found`);
      const members = await db.selectFrom('posture_devices').select(sql<number>`count(*)`.as('n')).where('group_id', '=', id).executeTakeFirstOrThrow();
      if (Number(members.n) > 0) throw new VigilError('conflict', 409, `device group '${id}' still has ${members.n} device(s)`);
      await db.deleteFrom('posture_groups').where('id', '=', id).execute();
    },

    listPolicies: async () => (await db.selectFrom('posture_policies').selectAll().orderBy('name').execute()).map(toPolicy),
    async getPolicy(id) {
      const r = await db.selectFrom('posture_policies').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toPolicy(r) : undefined;
    },
    async createPolicy({ name, maxRisk, maxSensorSilenceSeconds = null, id }) {
      checkPolicyFields({ name, maxRisk, maxSensorSilenceSeconds });
      const row = { id: id ?? ulid(), name, max_risk: maxRisk, max_silence_s: maxSensorSilenceSeconds };
      await db.insertInto('posture_policies').values(row).execute();
      return toPolicy(row);
    },
    async updatePolicy(id, patch) {
      const current = await posture.getPolicy(id);
      if (!current) throw new VigilError('not_found', 404, `compliance policy '${id}' not found`);
      const next = { ...current, ...definedOnly(patch) };
      checkPolicyFields(next);
      await db.updateTable('posture_policies').set({ name: next.name, max_risk: next.maxRisk, max_silence_s: next.maxSensorSilenceSeconds }).where('id', '=', id).execute();
      await reevaluateGroupMembers({ policyId: id });
      return next;
    },
    async deletePolicy(id) {
      if (id === DEFAULT_POLICY_ID) throw new VigilError('conflict', 409, 'the default compliance policy cannot be deleted');
      if (!(await posture.getPolicy(id))) throw new VigilError('not_found', 404, `compliance policy '${id}' not found`);
      if (await db.selectFrom('posture_groups').select('id').where('policy_id', '=', id).executeTakeFirst()) {
        throw new VigilError('conflict', 409, `compliance policy '${id}' is used by a device group`);
      }
      await db.deleteFrom('posture_policies').where('id', '=', id).execute();
    },
    close() {
      for (const off of subscriptions) off();
    },
  };

  const subscriptions = [
    bus.subscribe('device.enrolled', async (e) => {
      const group = e.deviceGroup && (await posture.getGroup(e.deviceGroup)) ? e.deviceGroup : undefined;
      await posture.upsertDevice({
        id: e.deviceId, hostname: e.hostname, os: e.os, osVersion: e.osVersion, sensorId: e.sensorId, groupId: group,
        publicKeyJwk: e.publicKeyJwk, lastSeen: new Date(now()).toISOString(),
      });
    }, { name: 'posture.enrolled' }),
    bus.subscribe('device.risk-changed', async (e) => {
      if (!(await rawDevice(e.deviceId))) return; // not in the inventory (e.g. a device seen only in telemetry)
      await posture.setRisk(e.deviceId, e.new, e.reason);
    }, { name: 'posture.risk' }),
    bus.subscribe('telemetry.ingested', async (e) => {
      // Sensor liveness for the silence rule; written at most every 10 s per sensor.
      const t = now();
      if ((lastSeenWritten.get(e.sensorId) ?? 0) > t - 10_000) return;
      lastSeenWritten.set(e.sensorId, t);
      await db.updateTable('posture_devices').set({ last_seen: t }).where('sensor_id', '=', e.sensorId).execute();
    }, { name: 'posture.last-seen' }),
  ];
  return posture;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkGroupFields(g: { name: string; automationLevel: AutomationLevel }) {
  if (typeof g.name !== 'string' || g.name.trim() === '' || g.name.length > 200) throw new VigilError('invalid_group', 400, "'name' must be a non-empty string of at most 200 characters");
  if (!AUTOMATION_LEVELS.includes(g.automationLevel)) throw new VigilError('invalid_group', 400, `'automationLevel' must be one of ${AUTOMATION_LEVELS.join(', ')}`);
}

function checkPolicyFields(p: { name: string; maxRisk: MaxRisk; maxSensorSilenceSeconds: number | null }) {
  if (typeof p.name !== 'string' || p.name.trim() === '' || p.name.length > 200) throw new VigilError('invalid_policy', 400, "'name' must be a non-empty string of at most 200 characters");
  if (!MAX_RISKS.includes(p.maxRisk)) throw new VigilError('invalid_policy', 400, `'maxRisk' must be one of ${MAX_RISKS.join(', ')}`);
  if (p.maxSensorSilenceSeconds !== null && (!Number.isInteger(p.maxSensorSilenceSeconds) || p.maxSensorSilenceSeconds < 1)) {
    throw new VigilError('invalid_policy', 400, "'maxSensorSilenceSeconds' must be a positive integer or null");
  }
}
