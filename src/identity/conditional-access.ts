import { ulid } from 'ulid';
import { VigilError } from '../errors/index.js';
import type { Migration, Store } from '../store/index.js';
import { RISK_LEVELS, type ComplianceState, type RiskLevel } from '../schema/index.js';

/** Which sign-ins a policy covers. 'all' in an include list means everyone / every app. */
export interface CaTargets {
  readonly includeUsers: readonly string[];
  readonly excludeUsers: readonly string[];
  readonly includeGroups: readonly string[];
  readonly excludeGroups: readonly string[];
  readonly includeApps: readonly string[];
  readonly excludeApps: readonly string[];
}

/** The device as Conditional Access sees it at this sign-in. */
export type DeviceCondition = 'compliant' | 'noncompliant' | 'unknown';

/** When a targeted policy applies; an absent condition matches everything. */
export interface CaConditions {
  /** Device states this policy applies to: 'unknown' = no proven, enrolled device. */
  readonly deviceStates?: readonly DeviceCondition[];
  /** User risk levels this policy applies to. */
  readonly userRiskLevels?: readonly RiskLevel[];
}

export type CaGrant = 'block' | 'requireCompliantDevice';
export type CaState = 'enabled' | 'disabled' | 'reportOnly';

export interface CaPolicy {
  readonly id: string;
  readonly name: string;
  readonly state: CaState;
  readonly targets: CaTargets;
  readonly conditions: CaConditions;
  readonly grant: CaGrant;
  readonly createdAt: string;
}

export type CaPolicyInput = Omit<CaPolicy, 'id' | 'createdAt' | 'targets'> & { readonly targets?: Partial<CaTargets> };

export interface SignInContext {
  readonly userKey: string;
  readonly userGroups: readonly string[];
  readonly userRisk: RiskLevel;
  readonly appId: string;
  /** The proven device, if any, with its compliance. */
  readonly device?: { readonly id: string; readonly complianceState: ComplianceState; readonly reason: string };
}

export interface PolicyResult {
  readonly id: string;
  readonly displayName: string;
  /** Entra's values: success, failure, notApplied, reportOnlyFailure, reportOnlySuccess. */
  readonly result: 'success' | 'failure' | 'notApplied' | 'reportOnlySuccess' | 'reportOnlyFailure';
  readonly enforcedGrantControls: readonly string[];
  readonly reason?: string;
}

export interface CaDecision {
  readonly allowed: boolean;
  /** EntraIdSignInEvents.ConditionalAccessStatus: 0 success, 1 failure, 2 not applied. */
  readonly status: 0 | 1 | 2;
  readonly policies: readonly PolicyResult[];
  /** The first enforced policy that failed, and why: what the refusal's error_description says. */
  readonly blockedBy?: { readonly policy: CaPolicy; readonly reason: string };
}

const migrations: Migration[] = [{
  version: 1,
  name: 'conditional access policies',
  async up(db) {
    await db.schema.createTable('idp_ca_policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
}];

const DEVICE_CONDITIONS: readonly DeviceCondition[] = ['compliant', 'noncompliant', 'unknown'];
const STATES: readonly CaState[] = ['enabled', 'disabled', 'reportOnly'];
const GRANTS: readonly CaGrant[] = ['block', 'requireCompliantDevice'];

function strings(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) throw new VigilError('invalid_policy', 400, `'${field}' must be a list of strings`);
  return v as string[];
}

/** Validates and normalises a policy body (fail fast with the field named). */
export function normalisePolicy(input: unknown): Omit<CaPolicy, 'id' | 'createdAt'> {
  const body = (input ?? {}) as Record<string, any>;
  const bad = (m: string) => new VigilError('invalid_policy', 400, m);
  if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 200) throw bad("'name' must be a non-empty string of at most 200 characters");
  const state = body.state ?? 'enabled';
  if (!STATES.includes(state)) throw bad(`'state' must be one of ${STATES.join(', ')}`);
  if (!GRANTS.includes(body.grant)) throw bad(`'grant' must be one of ${GRANTS.join(', ')}`);
  const t = body.targets ?? {};
  if (typeof t !== 'object') throw bad("'targets' must be an object");
  const targets: CaTargets = {
    includeUsers: strings(t.includeUsers, 'targets.includeUsers').map((u) => u.toLowerCase()),
    excludeUsers: strings(t.excludeUsers, 'targets.excludeUsers').map((u) => u.toLowerCase()),
    includeGroups: strings(t.includeGroups, 'targets.includeGroups'),
    excludeGroups: strings(t.excludeGroups, 'targets.excludeGroups'),
    includeApps: t.includeApps === undefined ? ['all'] : strings(t.includeApps, 'targets.includeApps'),
    excludeApps: strings(t.excludeApps, 'targets.excludeApps'),
  };
  if (targets.includeUsers.length === 0 && targets.includeGroups.length === 0) throw bad("a policy must include users or groups ('all' for everyone)");
  const c = body.conditions ?? {};
  const conditions: CaConditions = {
    ...(c.deviceStates !== undefined ? { deviceStates: strings(c.deviceStates, 'conditions.deviceStates') as DeviceCondition[] } : {}),
    ...(c.userRiskLevels !== undefined ? { userRiskLevels: strings(c.userRiskLevels, 'conditions.userRiskLevels') as RiskLevel[] } : {}),
  };
  if (conditions.deviceStates?.some((d) => !DEVICE_CONDITIONS.includes(d))) throw bad(`'conditions.deviceStates' values must be ${DEVICE_CONDITIONS.join(', ')}`);
  if (conditions.userRiskLevels?.some((r) => !RISK_LEVELS.includes(r))) throw bad(`'conditions.userRiskLevels' values must be ${RISK_LEVELS.join(', ')}`);
  return { name: body.name, state, targets, conditions, grant: body.grant };
}

/** Does the policy target this user and app? */
function targeted(p: CaPolicy, s: SignInContext): boolean {
  const t = p.targets;
  const inUsers = t.includeUsers.includes('all') || t.includeUsers.includes(s.userKey) || t.includeGroups.some((g) => s.userGroups.includes(g));
  if (!inUsers) return false;
  if (t.excludeUsers.includes(s.userKey) || t.excludeGroups.some((g) => s.userGroups.includes(g))) return false;
  if (!(t.includeApps.includes('all') || t.includeApps.includes(s.appId))) return false;
  return !t.excludeApps.includes(s.appId);
}

function deviceCondition(s: SignInContext): DeviceCondition {
  if (!s.device) return 'unknown';
  return s.device.complianceState === 'compliant' ? 'compliant' : 'noncompliant';
}

/** Evaluates every policy against one sign-in or token request; pure. */
export function evaluatePolicies(policies: readonly CaPolicy[], s: SignInContext): CaDecision {
  const results: PolicyResult[] = [];
  let blockedBy: CaDecision['blockedBy'];
  let applied = false;
  for (const p of policies) {
    if (p.state === 'disabled') continue;
    const na = (): PolicyResult => ({ id: p.id, displayName: p.name, result: 'notApplied', enforcedGrantControls: [] });
    const dev = deviceCondition(s);
    if (!targeted(p, s)
      || (p.conditions.deviceStates && !p.conditions.deviceStates.includes(dev))
      || (p.conditions.userRiskLevels && !p.conditions.userRiskLevels.includes(s.userRisk))) {
      results.push(na());
      continue;
    }
    let failure: string | undefined;
    if (p.grant === 'block') {
      failure = `blocked by policy (device ${dev}${s.userRisk !== 'none' ? `, user risk ${s.userRisk}` : ''})`;
    } else if (dev === 'unknown') {
      failure = 'requires a compliant device, and the sign-in did not come from an enrolled device';
    } else if (dev === 'noncompliant') {
      failure = `requires a compliant device, and device ${s.device!.id} is ${s.device!.complianceState}: ${s.device!.reason}`;
    }
    const controls = [p.grant === 'block' ? 'Block' : 'RequireCompliantDevice'];
    if (p.state === 'reportOnly') {
      results.push({ id: p.id, displayName: p.name, result: failure ? 'reportOnlyFailure' : 'reportOnlySuccess', enforcedGrantControls: controls, ...(failure ? { reason: failure } : {}) });
      continue;
    }
    applied = true;
    results.push({ id: p.id, displayName: p.name, result: failure ? 'failure' : 'success', enforcedGrantControls: controls, ...(failure ? { reason: failure } : {}) });
    if (failure && !blockedBy) blockedBy = { policy: p, reason: failure };
  }
  return { allowed: !blockedBy, status: blockedBy ? 1 : applied ? 0 : 2, policies: results, ...(blockedBy ? { blockedBy } : {}) };
}

export interface CaPolicies {
  list(): Promise<CaPolicy[]>;
  get(id: string): Promise<CaPolicy | undefined>;
  create(input: unknown): Promise<CaPolicy>;
  replace(id: string, input: unknown): Promise<CaPolicy>;
  remove(id: string): Promise<void>;
}

export async function createCaPolicies({ store, now = Date.now }: { store: Store; now?: () => number }): Promise<CaPolicies> {
  await store.migrate('identity.ca', migrations);
  const db = store.db;
  let cache: CaPolicy[] | undefined; // read on every token request: keep the (small) list in memory
  const load = async () => {
    cache ??= (await db.selectFrom('idp_ca_policies').selectAll().orderBy('created_at').orderBy('id').execute())
      .map((r: any) => ({ id: r.id, createdAt: r.created_at, ...JSON.parse(r.body) }));
    return cache;
  };
  const api: CaPolicies = {
    list: async () => [...(await load())],
    get: async (id) => (await load()).find((p) => p.id === id),
    async create(input) {
      const body = normalisePolicy(input);
      const id = ulid();
      await db.insertInto('idp_ca_policies').values({ id, name: body.name, body: JSON.stringify(body), created_at: new Date(now()).toISOString() }).execute();
      cache = undefined;
      return (await api.get(id))!;
    },
    async replace(id, input) {
      if (!(await api.get(id))) throw new VigilError('not_found', 404, `conditional access policy '${id}' not found`);
      const body = normalisePolicy(input);
      await db.updateTable('idp_ca_policies').set({ name: body.name, body: JSON.stringify(body) }).where('id', '=', id).execute();
      cache = undefined;
      return (await api.get(id))!;
    },
    async remove(id) {
      if (!(await api.get(id))) throw new VigilError('not_found', 404, `conditional access policy '${id}' not found`);
      await db.deleteFrom('idp_ca_policies').where('id', '=', id).execute();
      cache = undefined;
    },
  };
  return api;
}
