import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { VigilError } from '../errors/index.js';
import type { Migration, Store } from '../store/index.js';
import type { Bus } from '../bus/index.js';
import { hashPassword, hashToken, newToken, randomPassword, verifyPassword } from './secrets.js';

export type Role = 'reader' | 'analyst' | 'responder' | 'admin';
export const ROLES: readonly Role[] = ['reader', 'analyst', 'responder', 'admin'];

/** Who is calling: a person (by session or API token) or a sensor. */
export interface Principal {
  readonly kind: 'user' | 'token' | 'sensor';
  readonly id: string;
  readonly name: string;
  readonly role: Role | 'sensor';
  /** For a sensor enrolled as a device: its DeviceId. */
  readonly deviceId?: string;
}

export interface User {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: string;
}

export interface Sensor {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly revoked: boolean;
  readonly deviceId: string | null;
}

export interface Enrollment {
  readonly deviceId: string;
  readonly sensorId: string;
  readonly sensorToken: string;
  readonly deviceGroup: string | null;
}

const migrations: Migration[] = [{
  version: 1,
  name: 'users, credentials, sensors',
  async up(db) {
    await db.schema.createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('credentials')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull()) // session | token | sensor
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('sensors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
}, {
  version: 2,
  name: 'enrollment tokens, device-bound sensors',
  async up(db) {
    await db.schema.createTable('enrollment_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('device_group', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.alterTable('sensors').addColumn('device_id', 'text').execute();
    await db.schema.alterTable('sensors').addColumn('hostname', 'text').execute();
    await db.schema.alterTable('sensors').addColumn('public_key_jwk', 'text').execute();
    await db.schema.createIndex('sensors_device').on('sensors').column('device_id').execute();
  },
}];

export interface EnrollInput {
  readonly token: string;
  readonly hostname: string;
  readonly os: string;
  readonly osVersion: string;
  readonly publicKeyJwk?: Readonly<Record<string, unknown>>;
}

export interface Accounts {
  /** Creates the first admin when there are no users. Returns its password only when it generated one. */
  bootstrapAdmin(password?: string): Promise<{ created: boolean; username: string; generatedPassword?: string }>;
  createUser(input: { username: string; password?: string; role: Role; displayName?: string; email?: string }): Promise<User>;
  listUsers(): Promise<User[]>;
  getUser(id: string): Promise<User | undefined>;
  findUserByName(username: string): Promise<User | undefined>;
  /** Password sign-in; a session token valid for `ttlMs`. Undefined on bad credentials (never says which part). */
  login(username: string, password: string, ttlMs: number): Promise<{ token: string; expiresAt: string; user: User } | undefined>;
  logout(token: string): Promise<void>;
  createSensor(name: string, createdBy: string): Promise<{ sensor: Sensor; token: string }>;
  listSensors(): Promise<Sensor[]>;
  revokeSensor(id: string): Promise<void>;
  /** A one-time token a new device exchanges for its identity (valid `ttlMs`, default 24 h). */
  createEnrollmentToken(input: { name?: string; deviceGroup?: string; createdBy: string; ttlMs?: number }): Promise<{ id: string; token: string; expiresAt: string }>;
  /** Exchanges an enrollment token (once) for a device id and a sensor token; announces 'device.enrolled'. */
  enroll(input: EnrollInput): Promise<Enrollment>;
  /** The public key a device enrolled with (for device-bound sign-in). */
  devicePublicKey(deviceId: string): Promise<Readonly<Record<string, unknown>> | undefined>;
  createApiToken(name: string, role: Role, createdBy: string): Promise<{ id: string; token: string }>;
  /** The principal behind a bearer token, or undefined. */
  authenticate(token: string): Promise<Principal | undefined>;
}

export interface AccountsOptions {
  readonly store: Store;
  /** A fixed admin API token from configuration (VIGIL_ADMIN_TOKEN); compared by hash. */
  readonly adminToken?: string;
  /** Where 'device.enrolled' is announced. */
  readonly bus?: Bus;
  readonly now?: () => number;
}

const toUser = (r: any): User => ({
  id: r.id, username: r.username, displayName: r.display_name, email: r.email ?? null, role: r.role,
  disabled: Boolean(r.disabled), createdAt: r.created_at,
});

export async function createAccounts({ store, adminToken, bus, now = Date.now }: AccountsOptions): Promise<Accounts> {
  await store.migrate('identity.accounts', migrations);
  const db = store.db;
  const adminTokenHash = adminToken ? hashToken(adminToken) : undefined;
  // Sensor tokens are checked on every ingest batch: keep resolved principals briefly in memory.
  const cache = new Map<string, { principal: Principal; expiresAt: number | null; until: number }>();

  async function issue(kind: string, subjectId: string, name: string, role: string, expiresAt: number | null) {
    const token = newToken(kind);
    const id = ulid();
    await db.insertInto('credentials').values({
      token_hash: hashToken(token), id, kind, subject_id: subjectId, name, role, expires_at: expiresAt,
      created_at: new Date(now()).toISOString(),
    }).execute();
    return { id, token };
  }

  const accounts: Accounts = {
    async bootstrapAdmin(password) {
      const existing = await db.selectFrom('users').select('id').limit(1).execute();
      if (existing.length > 0) return { created: false, username: 'admin' };
      const generated = password ? undefined : randomPassword();
      await accounts.createUser({ username: 'admin', password: password ?? generated!, role: 'admin', displayName: 'Administrator' });
      return { created: true, username: 'admin', generatedPassword: generated };
    },

    async createUser({ username, password, role, displayName, email }) {
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username)) throw new VigilError('invalid_user', 400, 'username must be 1-64 letters, digits, . _ @ or -');
      if (!(ROLES as string[]).includes(role)) throw new VigilError('invalid_user', 400, `role must be one of ${ROLES.join(', ')}`);
      if (password !== undefined && password.length < 8) throw new VigilError('invalid_user', 400, 'password must be at least 8 characters');
      if (await accounts.findUserByName(username)) throw new VigilError('conflict', 409, `user '${username}' already exists`);
      const row = {
        id: ulid(), username, display_name: displayName ?? username, email: email ?? null, role,
        password_hash: password ? await hashPassword(password) : null, disabled: 0, created_at: new Date(now()).toISOString(),
      };
      await db.insertInto('users').values(row).execute();
      return toUser(row);
    },

    listUsers: async () => (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser),
    async getUser(id) {
      const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toUser(r) : undefined;
    },
    async findUserByName(username) {
      const r = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
      return r ? toUser(r) : undefined;
    },

    async login(username, password, ttlMs) {
      const r = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
      if (!r || r.disabled || !r.password_hash || !(await verifyPassword(password, r.password_hash))) return undefined;
      const expiresAt = now() + ttlMs;
      const { token } = await issue('session', r.id, r.username, r.role, expiresAt);
      return { token, expiresAt: new Date(expiresAt).toISOString(), user: toUser(r) };
    },

    async logout(token) {
      const hash = hashToken(token);
      cache.delete(hash);
      await db.deleteFrom('credentials').where('token_hash', '=', hash).where('kind', '=', 'session').execute();
    },

    async createSensor(name, createdBy) {
      if (!/^[\w .:@-]{1,128}$/.test(name)) throw new VigilError('invalid_sensor', 400, 'name must be 1-128 letters, digits, spaces or . _ : @ -');
      const sensor = { id: ulid(), name, created_by: createdBy, created_at: new Date(now()).toISOString(), revoked: 0 };
      await db.insertInto('sensors').values(sensor).execute();
      const { token } = await issue('sensor', sensor.id, name, 'sensor', null);
      return { sensor: { id: sensor.id, name, createdAt: sensor.created_at, revoked: false, deviceId: null }, token };
    },

    listSensors: async () => (await db.selectFrom('sensors').selectAll().orderBy('created_at').execute())
      .map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, revoked: Boolean(r.revoked), deviceId: r.device_id ?? null })),

    async revokeSensor(id) {
      const result = await db.updateTable('sensors').set({ revoked: 1 }).where('id', '=', id).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new VigilError('not_found', 404, 'sensor not found');
      await db.deleteFrom('credentials').where('subject_id', '=', id).where('kind', '=', 'sensor').execute();
      cache.clear();
    },

    async createEnrollmentToken({ name, deviceGroup, createdBy, ttlMs = 24 * 60 * 60 * 1000 }) {
      const token = newToken('enroll');
      const id = ulid();
      const expiresAt = now() + ttlMs;
      await db.insertInto('enrollment_tokens').values({
        token_hash: hashToken(token), id, name: name ?? 'enrollment', device_group: deviceGroup ?? null, created_by: createdBy,
        expires_at: expiresAt, used_at: null,
      }).execute();
      return { id, token, expiresAt: new Date(expiresAt).toISOString() };
    },

    async enroll({ token, hostname, os, osVersion, publicKeyJwk }) {
      if (!/^[\w.-]{1,253}$/.test(hostname)) throw new VigilError('invalid_enrollment', 400, "'hostname' must be 1-253 letters, digits, '.', '_' or '-'");
      const t = now();
      const claimed = await db.updateTable('enrollment_tokens').set({ used_at: t })
        .where('token_hash', '=', hashToken(token)).where('used_at', 'is', null).where('expires_at', '>', t)
        .returning(['id', 'device_group']).executeTakeFirst();
      if (!claimed) throw new VigilError('invalid_enrollment', 401, 'the enrollment token is unknown, used or expired');
      const deviceId = randomBytes(20).toString('hex');
      const sensorId = ulid();
      await db.insertInto('sensors').values({
        id: sensorId, name: hostname, created_by: `enrollment:${claimed.id}`, created_at: new Date(t).toISOString(), revoked: 0,
        device_id: deviceId, hostname, public_key_jwk: publicKeyJwk ? JSON.stringify(publicKeyJwk) : null,
      }).execute();
      const { token: sensorToken } = await issue('sensor', sensorId, hostname, 'sensor', null);
      await bus?.publish('device.enrolled', {
        deviceId, sensorId, hostname, os, osVersion, deviceGroup: claimed.device_group ?? null, publicKeyJwk: publicKeyJwk ?? null,
      });
      return { deviceId, sensorId, sensorToken, deviceGroup: claimed.device_group ?? null };
    },

    async devicePublicKey(deviceId) {
      const r = await db.selectFrom('sensors').select('public_key_jwk').where('device_id', '=', deviceId).where('revoked', '=', 0).executeTakeFirst();
      return r?.public_key_jwk ? JSON.parse(r.public_key_jwk) : undefined;
    },

    async createApiToken(name, role, createdBy) {
      if (!(ROLES as string[]).includes(role)) throw new VigilError('invalid_token', 400, `role must be one of ${ROLES.join(', ')}`);
      return issue('token', createdBy, name, role, null);
    },

    async authenticate(token) {
      if (!token.startsWith('vgl_') && !adminTokenHash) return undefined;
      const hash = hashToken(token);
      if (adminTokenHash && hash === adminTokenHash) return { kind: 'token', id: 'admin-token', name: 'admin token', role: 'admin' };
      const t = now();
      const hit = cache.get(hash);
      if (hit && hit.until > t && (hit.expiresAt === null || hit.expiresAt > t)) return hit.principal;
      const r = await db.selectFrom('credentials').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!r || (r.expires_at !== null && Number(r.expires_at) <= t)) return undefined;
        if (r.kind === 'session') {
        const user = await accounts.getUser(r.subject_id);
        if (!user || user.disabled) return undefined;
      }
      let deviceId: string | undefined;
      if (r.kind === 'sensor') {
        const sensor = await db.selectFrom('sensors').select(['device_id', 'revoked']).where('id', '=', r.subject_id).executeTakeFirst();
        if (!sensor || sensor.revoked) return undefined;
        deviceId = sensor.device_id ?? undefined;
      }
      const principal: Principal = {
        kind: r.kind === 'session' ? 'user' : r.kind === 'sensor' ? 'sensor' : 'token',
        id: r.subject_id, name: r.name, role: r.role, ...(deviceId ? { deviceId } : {}),
      };
      cache.set(hash, { principal, expiresAt: r.expires_at === null ? null : Number(r.expires_at), until: t + 30_000 });
      return principal;
    },
  };
  return accounts;
}
