import type { Kysely } from 'kysely';
import type { Migration, Store } from '../store/index.js';

/**
 * oidc-provider's storage (sessions, grants, codes, refresh tokens, interactions, …) in one state table,
 * so that it lives in the store rather than in memory and works the same on SQLite and PostgreSQL.
 * `account_id` and `grant_id` are indexed so that every grant of a user or a device can be revoked
 * (oidc-provider has no revoke-by-account).
 */
export const stateMigrations: Migration[] = [{
  version: 1,
  name: 'oidc state',
  async up(db) {
    await db.schema.createTable('oidc_state')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text')
      .addColumn('uid', 'text')
      .addColumn('user_code', 'text')
      .addColumn('account_id', 'text')
      .addColumn('expires_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .addPrimaryKeyConstraint('oidc_state_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_state_grant').on('oidc_state').column('grant_id').execute();
    await db.schema.createIndex('oidc_state_uid').on('oidc_state').column('uid').execute();
    await db.schema.createIndex('oidc_state_account').on('oidc_state').column('account_id').execute();
  },
}];

type Payload = Record<string, unknown>;

export interface AdapterHooks {
  /** Clients come from the registered apps, not from this table. */
  findClient(id: string): Promise<Payload | undefined>;
  readonly now: () => number;
}

/** Builds the Adapter class oidc-provider instantiates once per model name. */
export function createStateAdapterClass(db: Kysely<any>, hooks: AdapterHooks) {
  const live = (model: string) => db.selectFrom('oidc_state').select(['payload', 'consumed_at', 'expires_at']).where('model', '=', model);
  const decode = (r: any, now: number): Payload | undefined => {
    if (!r) return undefined;
    if (r.expires_at !== null && Number(r.expires_at) <= now) return undefined;
    const payload = JSON.parse(r.payload) as Payload;
    if (r.consumed_at !== null) payload.consumed = Math.floor(Number(r.consumed_at) / 1000);
    return payload;
  };
  // Expired rows are swept every few hundred writes (no timer), so the table does not grow without bound.
  let writes = 0;
  const sweep = () => db.deleteFrom('oidc_state').where('expires_at', '<', hooks.now() - 60_000).execute();
  return class StateAdapter {

    constructor(readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number) {
      const now = hooks.now();
      const row = {
        model: this.model, id, payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
        account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
        expires_at: expiresIn ? now + expiresIn * 1000 : null,
        consumed_at: null,
      };
      await db.insertInto('oidc_state').values(row)
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet({
          payload: row.payload, grant_id: row.grant_id, uid: row.uid, user_code: row.user_code, account_id: row.account_id, expires_at: row.expires_at,
        })).execute();
      if (++writes % 500 === 0) await sweep();
    }

    async find(id: string) {
      if (this.model === 'Client') return hooks.findClient(id);
      return decode(await live(this.model).where('id', '=', id).executeTakeFirst(), hooks.now());
    }

    async findByUid(uid: string) {
      return decode(await live(this.model).where('uid', '=', uid).executeTakeFirst(), hooks.now());
    }

    async findByUserCode(userCode: string) {
      return decode(await live(this.model).where('user_code', '=', userCode).executeTakeFirst(), hooks.now());
    }

    async consume(id: string) {
      await db.updateTable('oidc_state').set({ consumed_at: hooks.now() }).where('model', '=', this.model).where('id', '=', id).execute();
    }

    async destroy(id: string) {
      await db.deleteFrom('oidc_state').where('model', '=', this.model).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string) {
      await db.deleteFrom('oidc_state').where('model', '=', this.model).where('grant_id', '=', grantId).execute();
    }
  };
}

export async function migrateState(store: Store) {
  await store.migrate('identity.oidc', stateMigrations);
}
