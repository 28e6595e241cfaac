import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { VigilError } from '../errors/index.js';
import { hashToken } from './secrets.js';
import type { Migration, Store } from '../store/index.js';
import { RISK_LEVELS, type RiskLevel } from '../schema/index.js';

/** A group of users (by user key: the lower-case username), targeted by Conditional Access. */
export interface Group {
  readonly id: string;
  readonly name: string;
  readonly members: readonly string[];
}

export type AppGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/** A registered ("corporate") app: an OAuth client and, usually, the resource server it protects. */
export interface App {
  /** The OAuth client_id. */
  readonly id: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  /** Resource indicator (RFC 8707) of its API: the `aud` of the access tokens it accepts. */
  readonly resource: string;
  readonly grantTypes: readonly AppGrantType[];
  /** Public clients (no secret) must use PKCE; confidential ones authenticate with client_secret_basic/post. */
  readonly confidential: boolean;
  readonly createdAt: string;
}

export interface AppInput {
  readonly name: string;
  readonly id?: string;
  readonly redirectUris?: readonly string[];
  readonly resource?: string;
  readonly grantTypes?: readonly AppGrantType[];
  readonly confidential?: boolean;
}

export interface UserRisk {
  readonly userKey: string;
  readonly riskLevel: RiskLevel;
  readonly reason: string;
  readonly updatedAt: string;
}

/** An identity-side block on a user's sign-ins (response's disable / require password reset). */
export interface UserBlock {
  readonly userKey: string;
  readonly kind: 'disabled' | 'password_reset';
  readonly reason: string;
  readonly at: string;
}

export interface Directory {
  listGroups(): Promise<Group[]>;
  getGroup(id: string): Promise<Group | undefined>;
  createGroup(input: { name: string; members?: readonly string[] }): Promise<Group>;
  updateGroup(id: string, patch: { name?: string; members?: readonly string[] }): Promise<Group>;
  deleteGroup(id: string): Promise<void>;
  groupsOf(userKey: string): Promise<string[]>;
  listApps(): Promise<App[]>;
  getApp(id: string): Promise<App | undefined>;
  appByResource(resource: string): Promise<App | undefined>;
  /** Creates an app; a confidential one's secret is returned once here. */
  createApp(input: AppInput): Promise<{ app: App; clientSecret?: string }>;
  updateApp(id: string, patch: Partial<AppInput>): Promise<App>;
  deleteApp(id: string): Promise<void>;
  /** The hash of a confidential app's secret (hashClientSecret), which the token endpoint compares with. */
  appSecretHash(id: string): Promise<string | undefined>;
  userRisk(userKey: string): Promise<UserRisk>;
  setUserRisk(userKey: string, level: RiskLevel, reason: string): Promise<UserRisk>;
  userBlock(userKey: string): Promise<UserBlock | undefined>;
  setUserBlock(userKey: string, kind: UserBlock['kind'], reason: string): Promise<void>;
  clearUserBlock(userKey: string): Promise<void>;
}

const migrations: Migration[] = [{
  version: 1,
  name: 'groups, apps, user risk',
  async up(db) {
    await db.schema.createTable('idp_groups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .execute();
    await db.schema.createTable('idp_group_members')
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('user_key', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('idp_group_members_pk', ['group_id', 'user_key'])
      .execute();
    await db.schema.createTable('idp_apps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull().unique())
      .addColumn('grant_types', 'text', (c) => c.notNull())
      .addColumn('secret', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('idp_user_risk')
      .addColumn('user_key', 'text', (c) => c.primaryKey())
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
}];

const blockMigration: Migration = {
  version: 2,
  name: 'user blocks',
  async up(db) {
    await db.schema.createTable('idp_user_blocks')
      .addColumn('user_key', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
  },
};

/** The form a confidential app's secret is kept in: its SHA-256 (the secret is 256 random bits). */
export const hashClientSecret = (secret: string) => `sha256:${hashToken(secret)}`;

const secretHashMigration: Migration = {
  version: 3,
  name: 'app secrets hashed at rest',
  async up(db) {
    const apps = await db.selectFrom('idp_apps').select(['id', 'secret']).where('secret', 'is not', null).execute();
    for (const app of apps) {
      if (String(app.secret).startsWith('sha256:')) continue;
      await db.updateTable('idp_apps').set({ secret: hashClientSecret(String(app.secret)) }).where('id', '=', app.id).execute();
    }
  },
};

const GRANT_TYPES: readonly AppGrantType[] = ['authorization_code', 'refresh_token', 'client_credentials'];

const toApp = (r: any): App => ({
  id: r.id, name: r.name, redirectUris: JSON.parse(r.redirect_uris), resource: r.resource, grantTypes: JSON.parse(r.grant_types),
  confidential: r.secret !== null, createdAt: r.created_at,
});

function checkApp(a: { name: string; redirectUris: readonly string[]; resource: string; grantTypes: readonly AppGrantType[]; id: string; confidential: boolean }) {
  const bad = (m: string) => new VigilError('invalid_app', 400, m);
  if (typeof a.name !== 'string' || a.name.trim() === '' || a.name.length > 200) throw bad("'name' must be a non-empty string of at most 200 characters");
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(a.id)) throw bad("'id' (client_id) must be 1-100 letters, digits, '.', '_' or '-'");
  if (!Array.isArray(a.grantTypes) || a.grantTypes.length === 0 || a.grantTypes.some((g) => !GRANT_TYPES.includes(g))) throw bad(`'grantTypes' must list some of ${GRANT_TYPES.join(', ')}`);
  if (!Array.isArray(a.redirectUris) || a.redirectUris.some((u) => typeof u !== 'string' || !URL.canParse(u))) throw bad("'redirectUris' must be absolute URLs");
  if (a.grantTypes.includes('authorization_code') && a.redirectUris.length === 0) throw bad("an app with 'authorization_code' needs at least one redirect URI");
  if (a.grantTypes.includes('client_credentials') && !a.confidential) throw bad("'client_credentials' needs a confidential app");
  if (typeof a.resource !== 'string' || !URL.canParse(a.resource) || a.resource.includes('#')) throw bad("'resource' must be an absolute URI without fragment");
}

export async function createDirectory({ store, now = Date.now }: { store: Store; now?: () => number }): Promise<Directory> {
  await store.migrate('identity.directory', [...migrations, blockMigration, secretHashMigration]);
  const db = store.db;

  async function members(groupId: string) {
    return (await db.selectFrom('idp_group_members').select('user_key').where('group_id', '=', groupId).orderBy('user_key').execute()).map((r: any) => r.user_key as string);
  }
  const normMembers = (list: unknown) => {
    if (!Array.isArray(list) || list.some((m) => typeof m !== 'string' || m === '')) throw new VigilError('invalid_group', 400, "'members' must be a list of usernames");
    return [...new Set(list.map((m: string) => m.toLowerCase()))];
  };

  const dir: Directory = {
    async listGroups() {
      const rows = await db.selectFrom('idp_groups').selectAll().orderBy('name').execute();
      return Promise.all(rows.map(async (r: any) => ({ id: r.id, name: r.name, members: await members(r.id) })));
    },
    async getGroup(id) {
      const r = await db.selectFrom('idp_groups').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? { id: r.id, name: r.name, members: await members(r.id) } : undefined;
    },
    async createGroup({ name, members: list = [] }) {
      if (typeof name !== 'string' || name.trim() === '') throw new VigilError('invalid_group', 400, "'name' is required");
      if (await db.selectFrom('idp_groups').select('id').where('name', '=', name).executeTakeFirst()) throw new VigilError('conflict', 409, `group '${name}' already exists`);
      const id = ulid();
      const keys = normMembers(list);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('idp_groups').values({ id, name }).execute();
        for (const k of keys) await trx.insertInto('idp_group_members').values({ group_id: id, user_key: k }).execute();
      });
      return { id, name, members: keys.sort() };
    },
    async updateGroup(id, patch) {
      const current = await dir.getGroup(id);
      if (!current) throw new VigilError('not_found', 404, `group '${id}' not found`);
      const keys = patch.members !== undefined ? normMembers(patch.members) : undefined;
      await db.transaction().execute(async (trx) => {
        if (patch.name !== undefined) {
          if (typeof patch.name !== 'string' || patch.name.trim() === '') throw new VigilError('invalid_group', 400, "'name' must be a non-empty string");
          await trx.updateTable('idp_groups').set({ name: patch.name }).where('id', '=', id).execute();
        }
        if (keys) {
          await trx.deleteFrom('idp_group_members').where('group_id', '=', id).execute();
          for (const k of keys) await trx.insertInto('idp_group_members').values({ group_id: id, user_key: k }).execute();
        }
      });
      return (await dir.getGroup(id))!;
    },
    async deleteGroup(id) {
      if (!(await dir.getGroup(id))) throw new VigilError('not_found', 404, `group '${id}' not found`);
      await db.deleteFrom('idp_group_members').where('group_id', '=', id).execute();
      await db.deleteFrom('idp_groups').where('id', '=', id).execute();
    },
    async groupsOf(userKey) {
      return (await db.selectFrom('idp_group_members').select('group_id').where('user_key', '=', userKey.toLowerCase()).execute()).map((r: any) => r.group_id as string);
    },

    listApps: async () => (await db.selectFrom('idp_apps').selectAll().orderBy('name').execute()).map(toApp),
    async getApp(id) {
      const r = await db.selectFrom('idp_apps').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toApp(r) : undefined;
    },
    async appByResource(resource) {
      const r = await db.selectFrom('idp_apps').selectAll().where('resource', '=', resource).executeTakeFirst();
      return r ? toApp(r) : undefined;
    },
    async createApp(input) {
      const id = input.id ?? `app-${ulid().toLowerCase()}`;
      const grantTypes = input.grantTypes ?? ['authorization_code', 'refresh_token'];
      const confidential = input.confidential ?? grantTypes.includes('client_credentials');
      const app = {
        id, name: input.name, redirectUris: input.redirectUris ?? [], resource: input.resource ?? `urn:vigil:app:${id}`, grantTypes, confidential,
      };
      checkApp(app);
      if (await dir.getApp(id)) throw new VigilError('conflict', 409, `app '${id}' already exists`);
      if (await dir.appByResource(app.resource)) throw new VigilError('conflict', 409, `resource '${app.resource}' belongs to another app`);
      const secret = confidential ? randomBytes(32).toString('base64url') : null;
      const row = {
        id, name: app.name, redirect_uris: JSON.stringify(app.redirectUris), resource: app.resource, grant_types: JSON.stringify(grantTypes),
        secret: secret === null ? null : hashClientSecret(secret), created_at: new Date(now()).toISOString(),
      };
      await db.insertInto('idp_apps').values(row).execute();
      return { app: toApp(row), ...(secret ? { clientSecret: secret } : {}) };
    },
    async updateApp(id, patch) {
      const current = await dir.getApp(id);
      if (!current) throw new VigilError('not_found', 404, `app '${id}' not found`);
      if (patch.confidential !== undefined && patch.confidential !== current.confidential) throw new VigilError('invalid_app', 400, "'confidential' cannot change; create a new app");
      const next = {
        ...current,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.redirectUris !== undefined ? { redirectUris: patch.redirectUris } : {}),
        ...(patch.resource !== undefined ? { resource: patch.resource } : {}),
        ...(patch.grantTypes !== undefined ? { grantTypes: patch.grantTypes } : {}),
      };
      checkApp(next);
      const other = await dir.appByResource(next.resource);
      if (other && other.id !== id) throw new VigilError('conflict', 409, `resource '${next.resource}' belongs to another app`);
      await db.updateTable('idp_apps').set({
        name: next.name, redirect_uris: JSON.stringify(next.redirectUris), resource: next.resource, grant_types: JSON.stringify(next.grantTypes),
      }).where('id', '=', id).execute();
      return (await dir.getApp(id))!;
    },
    async deleteApp(id) {
      if (!(await dir.getApp(id))) throw new VigilError('not_found', 404, `app '${id}' not found`);
      await db.deleteFrom('idp_apps').where('id', '=', id).execute();
    },
    async appSecretHash(id) {
      const r = await db.selectFrom('idp_apps').select('secret').where('id', '=', id).executeTakeFirst();
      return r?.secret ?? undefined;
    },

    async userRisk(userKey) {
      const key = userKey.toLowerCase();
      const r = await db.selectFrom('idp_user_risk').selectAll().where('user_key', '=', key).executeTakeFirst();
      return r ? { userKey: key, riskLevel: r.level, reason: r.reason, updatedAt: r.updated_at }
        : { userKey: key, riskLevel: 'none', reason: 'no risk recorded', updatedAt: new Date(0).toISOString() };
    },
    async setUserRisk(userKey, level, reason) {
      if (!RISK_LEVELS.includes(level)) throw new VigilError('invalid_risk', 400, `risk must be one of ${RISK_LEVELS.join(', ')}`);
      const key = userKey.toLowerCase();
      const row = { user_key: key, level, reason, updated_at: new Date(now()).toISOString() };
      await db.insertInto('idp_user_risk').values(row).onConflict((oc) => oc.column('user_key').doUpdateSet({ level, reason, updated_at: row.updated_at })).execute();
      return { userKey: key, riskLevel: level, reason, updatedAt: row.updated_at };
    },
    async userBlock(userKey) {
      const r = await db.selectFrom('idp_user_blocks').selectAll().where('user_key', '=', userKey.toLowerCase()).executeTakeFirst();
      return r ? { userKey: r.user_key, kind: r.kind, reason: r.reason, at: r.at } : undefined;
    },
    async setUserBlock(userKey, kind, reason) {
      const row = { user_key: userKey.toLowerCase(), kind, reason, at: new Date(now()).toISOString() };
      await db.insertInto('idp_user_blocks').values(row).onConflict((oc) => oc.column('user_key').doUpdateSet({ kind, reason, at: row.at })).execute();
    },
    async clearUserBlock(userKey) {
      await db.deleteFrom('idp_user_blocks').where('user_key', '=', userKey.toLowerCase()).execute();
    },
  };
  return dir;
}
