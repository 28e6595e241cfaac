import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { Migration, Store } from '../store/index.js';

/**
 * Signing keys and secrets of the identity provider and the SSF transmitter, persisted in the store so
 * that tokens and SETs survive restarts. Private keys stay in the database (the data folder).
 */
export interface IdentityKeys {
  /** Private RS256 JWKs of the OIDC provider (tokens), newest first. */
  readonly oidc: readonly JWK[];
  /** Private RS256 JWK that signs SETs. */
  readonly ssf: JWK;
  /** Cookie signing keys for oidc-provider. */
  readonly cookieKeys: readonly string[];
}

const migrations: Migration[] = [{
  version: 1,
  name: 'identity keys',
  async up(db) {
    await db.schema.createTable('identity_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('purpose', 'text', (c) => c.notNull()) // oidc | ssf | cookie
      .addColumn('material', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
}];

async function newRsaJwk(kidPrefix: string): Promise<JWK> {
  // Interop profile: RS256 with keys of at least 2048 bits.
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `${kidPrefix}-${ulid().toLowerCase()}`, alg: 'RS256', use: 'sig' };
}

export async function loadIdentityKeys(store: Store): Promise<IdentityKeys> {
  await store.migrate('identity.keys', migrations);
  const db = store.db;
  const read = async (purpose: string) => (await db.selectFrom('identity_keys').selectAll().where('purpose', '=', purpose)
    .orderBy('created_at', 'desc').execute()).map((r: any) => String(r.material));
  const ensure = async (purpose: string, make: () => Promise<string>) => {
    const have = await read(purpose);
    if (have.length > 0) return have;
    await db.insertInto('identity_keys').values({ id: ulid(), purpose, material: await make(), created_at: Date.now() }).execute();
    return read(purpose);
  };
  const oidc = (await ensure('oidc', async () => JSON.stringify(await newRsaJwk('oidc')))).map((m) => JSON.parse(m) as JWK);
  const ssf = JSON.parse((await ensure('ssf', async () => JSON.stringify(await newRsaJwk('ssf'))))[0]) as JWK;
  const cookieKeys = await ensure('cookie', async () => randomBytes(32).toString('base64url'));
  return { oidc, ssf, cookieKeys };
}

/** The public half of a private RSA JWK. */
export function publicJwk(jwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}
