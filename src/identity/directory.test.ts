import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSqliteStore } from '../store/index.js';
import { createDirectory } from './directory.js';

test('an app secret stored in plain text by an older version is hashed when the directory starts', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  try {
    // The directory as version 2 of its schema left it: secrets in plain text.
    await createDirectory({ store });
    await store.db.deleteFrom('_migrations').where('module', '=', 'identity.directory').where('version', '=', 3).execute();
    await store.db.insertInto('idp_apps').values([
      { id: 'old-app', name: 'old', redirect_uris: '[]', resource: 'urn:old', grant_types: '["client_credentials"]', secret: 'plain-secret', created_at: '2026-01-01T00:00:00.000Z' },
      { id: 'public-app', name: 'pub', redirect_uris: '["http://127.0.0.1/cb"]', resource: 'urn:pub', grant_types: '["authorization_code"]', secret: null, created_at: '2026-01-01T00:00:00.000Z' },
    ]).execute();

    const directory = await createDirectory({ store });
    assert.equal(await directory.appSecretHash('old-app'), `sha256:${createHash('sha256').update('plain-secret').digest('hex')}`);
    assert.equal(await directory.appSecretHash('public-app'), undefined);
    assert.equal((await directory.getApp('old-app'))?.confidential, true);

    const made = await directory.createApp({ name: 'new', id: 'new-app', grantTypes: ['client_credentials'] });
    assert.ok(made.clientSecret && made.clientSecret.length >= 43);
    assert.equal(await directory.appSecretHash('new-app'), `sha256:${createHash('sha256').update(made.clientSecret).digest('hex')}`);
  } finally {
    await store.close();
  }
});
