import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { PlatformClient } from './platform-client.js';
import type { StateDir } from './state-dir.js';

/** The device identity the agent keeps in its state folder (identity.json, mode 0600). */
export interface DeviceIdentity {
  readonly server: string;
  readonly deviceId: string;
  readonly sensorId: string;
  readonly sensorToken: string;
  /** ECDSA P-256 key pair made at enrollment; the public half is registered with the platform. */
  readonly publicKeyJwk?: Record<string, unknown>;
  readonly privateKeyJwk?: Record<string, unknown>;
  readonly enrolledAt: string;
  readonly method: 'enrollment' | 'sensor-token';
}

const FILE = 'identity.json';

export function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]] = m[2].replace(/^"|"$/g, '');
    }
    return out;
  } catch {
    return {};
  }
}

/** A stable 40-hex device id for agents started with a plain sensor token (no enrollment). */
export function localDeviceId(): string {
  let machineId = '';
  try { machineId = readFileSync('/etc/machine-id', 'utf8').trim(); } catch { /* none */ }
  return createHash('sha1').update(`vigil-device:${machineId}:${hostname()}`).digest('hex');
}

/**
 * Loads the identity, or makes one: with an enrollment token, POST /api/v1/enroll exchanges it (one
 * time) for a device id and a sensor token, registering a freshly generated public key; with a plain
 * sensor token, a local device id is derived from the machine id. Later runs reuse identity.json.
 */
export async function loadOrEnroll(options: {
  state: StateDir;
  client: PlatformClient;
  enrollToken?: string;
  sensorToken?: string;
}): Promise<DeviceIdentity> {
  const existing = await options.state.readJson<DeviceIdentity>(FILE);
  if (existing && existing.server === options.client.serverUrl) return existing;
  if (existing && !options.enrollToken && !options.sensorToken) {
    throw new Error(`the identity in ${options.state.path(FILE)} is for ${existing.server}; enroll again with --enroll for ${options.client.serverUrl}`);
  }
  let identity: DeviceIdentity;
  if (options.enrollToken) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyJwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const privateKeyJwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const os = osRelease();
    const { status, body } = await options.client.request<{ deviceId: string; sensorId: string; sensorToken: string; message?: string }>(
      'POST', '/api/v1/enroll', {
        anonymous: true,
        json: { token: options.enrollToken, hostname: hostname(), os: 'Linux', osVersion: os.PRETTY_NAME ?? os.VERSION_ID ?? '', publicKeyJwk },
      });
    if (status !== 200 && status !== 201) throw new Error(`enrollment refused: HTTP ${status} ${body?.message ?? ''}`.trim());
    identity = {
      server: options.client.serverUrl, deviceId: body.deviceId, sensorId: body.sensorId, sensorToken: body.sensorToken,
      publicKeyJwk, privateKeyJwk, enrolledAt: new Date().toISOString(), method: 'enrollment',
    };
  } else if (options.sensorToken) {
    identity = {
      server: options.client.serverUrl, deviceId: localDeviceId(), sensorId: '', sensorToken: options.sensorToken,
      enrolledAt: new Date().toISOString(), method: 'sensor-token',
    };
  } else {
    throw new Error('not enrolled: pass --enroll <token> (or --token <sensor token>) once');
  }
  await options.state.writeJson(FILE, identity);
  return identity;
}
