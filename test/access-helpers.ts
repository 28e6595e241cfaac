// Shared set-up for the access tests and bench: a platform, a user, a corporate app, a CA policy and an enrolled device key.
import { exportJWK, generateKeyPair } from 'jose';
import type { TestPlatform } from './helpers/platform.js';
import type { DeviceCredential } from '../examples/corporate-app/sign-in.js';

export const ALICE_PASSWORD = 'alice-password-1';
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface AccessFixture {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly resource: string;
  readonly policyId: string;
  readonly policyName: string;
  readonly issuer: string;
}

export async function setUpAccess(t: TestPlatform, options: { clientId?: string; userName?: string } = {}): Promise<AccessFixture> {
  const clientId = options.clientId ?? 'corp';
  await t.platform.accounts.createUser({ username: options.userName ?? 'alice', password: ALICE_PASSWORD, role: 'reader', displayName: 'Alice' });
  const app = await t.api('/api/v1/apps', {
    token: t.adminToken,
    body: { name: 'Corporate app', id: clientId, redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], confidential: true },
  });
  if (app.status !== 201) throw new Error(`app: ${app.status} ${JSON.stringify(app.body)}`);
  const policyName = 'Corporate app needs a compliant device';
  const policy = await t.api('/api/v1/conditional-access/policies', {
    token: t.adminToken,
    body: { name: policyName, targets: { includeUsers: ['all'], includeApps: [clientId] }, grant: 'requireCompliantDevice' },
  });
  if (policy.status !== 201) throw new Error(`policy: ${policy.status} ${JSON.stringify(policy.body)}`);
  return { clientId, clientSecret: app.body.clientSecret, resource: app.body.resource, policyId: policy.body.id, policyName, issuer: `${t.url}/oidc` };
}

/** A device key pair, registered in the inventory through the admin API (as enrollment would). */
export async function enrollDevice(t: TestPlatform, deviceId: string, primaryUser = 'alice'): Promise<DeviceCredential> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const put = await t.api(`/api/v1/devices/${deviceId}`, {
    method: 'PUT', token: t.adminToken,
    body: { hostname: `host-${deviceId.slice(0, 6)}`, os: 'Linux', osVersion: '6.8', primaryUser, publicKeyJwk: await exportJWK(publicKey) },
  });
  if (put.status !== 200) throw new Error(`device: ${put.status} ${JSON.stringify(put.body)}`);
  return { deviceId, privateKey, alg: 'ES256' };
}

/** Polls `check` every 5 ms, at most `tries` times; the last result is returned either way. */
export async function eventually<T>(check: () => Promise<T>, done: (v: T) => boolean, tries = 1000): Promise<T> {
  let v = await check();
  for (let i = 0; i < tries && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 5));
    v = await check();
  }
  return v;
}
