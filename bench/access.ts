// npm run bench:access — 200 rounds of "a device with a live session at the sample app receives a
// high-severity detection". Each round enrolls a fresh device (real enrollment), signs in through the
// provider with the device's key, then ingests a file event whose SHA-256 is a high-severity indicator:
// ingest → intel match → alert.raised → incidents (device risk) → posture (noncompliant) → CAEP push →
// the app rejects the live token. Measured from just before the ingest request:
//   noncompliant  : 'device.compliance-changed' seen on the bus,
//   token refused : the refresh token is refused (invalid_grant),
//   app rejects   : the live access token gets 401 at the sample app (polled every ~1 ms).
// When the incidents module is not wired into the platform, rounds are driven by 'device.risk-changed'
// instead (printed as the mode), so that the figure still covers posture → identity → CAEP → app.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { resolveConfig } from '../src/config/index.js';
import { createPlatform } from '../src/server.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { refresh, signIn } from '../examples/corporate-app/sign-in.js';

const ROUNDS = Number(process.argv[2] ?? 200);
const REDIRECT = 'http://127.0.0.1:9/callback';
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'.replace(/^e3/, 'b4');

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-access-'));
const platform = await createPlatform({
  ...resolveConfig({ env: {}, argv: [] }), dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', adminPassword: 'bench-admin-password',
});
const url = platform.url;
const api = async (path: string, init: { method?: string; token?: string; body?: unknown } = {}) => {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (n: number) => n.toFixed(1);

try {
  const admin = (await api('/api/v1/auth/login', { body: { username: 'admin', password: 'bench-admin-password' } })).body.token as string;
  await platform.accounts.createUser({ username: 'alice', password: 'alice-password-1', role: 'reader' });
  const app = await api('/api/v1/apps', { token: admin, body: { name: 'Corporate app', id: 'corp', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], confidential: true } });
  await api('/api/v1/conditional-access/policies', { token: admin, body: { name: 'Corporate app needs a compliant device', targets: { includeUsers: ['all'], includeApps: ['corp'] }, grant: 'requireCompliantDevice' } });
  // The sample app runs as its own process, as a real corporate app would.
  const applied = new Map<string, number>();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../examples/corporate-app/main.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify({ vigilUrl: url, clientId: 'corp', clientSecret: app.body.clientSecret, resource: app.body.resource, delivery: 'push' })}\n`);
  const corp = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`corporate app exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) resolve(msg.ready);
      // Absolute times from the app's process, brought onto this process's performance clock.
      if (msg.event?.device && !applied.has(msg.event.device)) applied.set(msg.event.device, msg.event.at - performance.timeOrigin);
    });
  });

  const withIncidents = (platform as { incidents?: unknown }).incidents !== undefined && (platform as { intel?: unknown }).intel !== undefined;
  const intel = (platform as any).intel;
  if (withIncidents) await intel.create({ type: 'sha256', value: SHA, action: 'audit', severity: 'high', title: 'Bench: known-bad file' }, 'bench');
  const mode = withIncidents ? 'ingest → intel indicator match → alert.raised → incidents risk' : "'device.risk-changed' (incidents not wired)";

  const seen = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  platform.bus.subscribe('device.compliance-changed', (e) => {
    if (e.new !== 'noncompliant') return;
    seen.set(e.deviceId, performance.now());
    waiting.get(e.deviceId)?.();
  }, { name: 'bench.compliance' });

  const toNoncompliant: number[] = [];
  const toRefused: number[] = [];
  const toRejected: number[] = [];
  const toApplied: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh device per round: enrolled like an agent would, with its own key.
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const enrollToken = (await api('/api/v1/enrollment-tokens', { token: admin, body: { name: `bench-${round}` } })).body.token;
    const enrolled = (await api('/api/v1/enroll', { body: { token: enrollToken, hostname: `bench-${round}`, os: 'Linux', osVersion: '6.8', publicKeyJwk: await exportJWK(publicKey) } })).body;
    const deviceId = enrolled.deviceId as string;
    await platform.bus.drain();
    const login = await signIn({ issuer: `${url}/oidc`, clientId: 'corp', clientSecret: app.body.clientSecret, redirectUri: REDIRECT, username: 'alice', password: 'alice-password-1', device: { deviceId, privateKey } });
    if (!login.ok) throw new Error(`round ${round}: sign-in failed: ${JSON.stringify(login)}`);
    const live = login.tokens.access_token;
    const before = await fetch(`${corp.url}/api/me`, { headers: { authorization: `Bearer ${live}` } });
    if (before.status !== 200) throw new Error(`round ${round}: the live session is not live (${before.status})`);

    const noncompliant = new Promise<void>((resolve) => waiting.set(deviceId, resolve));
    const t0 = performance.now();
    let rejectedAt = 0;
    // Watch the live session from the app's side.
    const watcher = (async () => {
      for (let i = 0; i < 20_000; i++) {
        const r = await fetch(`${corp.url}/api/me`, { headers: { authorization: `Bearer ${live}` } });
        await r.arrayBuffer();
        if (r.status === 401) { rejectedAt = performance.now(); return; }
        await new Promise((res) => setTimeout(res, 1));
      }
    })();
    if (withIncidents) {
      const ingest = await api('/api/v1/ingest/DeviceFileEvents', { token: enrolled.sensorToken, body: [{
        Timestamp: new Date().toISOString(), DeviceId: deviceId, DeviceName: `bench-${round}`, ActionType: 'FileCreated',
        FileName: 'invoice.exe', FolderPath: '/home/alice/Downloads/invoice.exe', SHA256: SHA, ReportId: round + 1,
      }] });
      if (ingest.status !== 200) throw new Error(`round ${round}: ingest ${ingest.status} ${JSON.stringify(ingest.body)}`);
    } else {
      await platform.bus.publish('device.risk-changed', { deviceId, old: 'none', new: 'high', reason: 'bench: high-severity detection' });
    }
    // New tokens refused: once the device is noncompliant, the refresh token is tried until refused.
    await Promise.race([noncompliant, new Promise((res) => setTimeout(res, 10_000))]);
    let refusedAt = 0;
    for (let i = 0; i < 20_000 && !refusedAt; i++) {
      const r = await refresh({ issuer: `${url}/oidc`, clientId: 'corp', clientSecret: app.body.clientSecret, refreshToken: login.tokens.refresh_token! });
      if (!r.ok) refusedAt = performance.now();
      else await new Promise((res) => setTimeout(res, 5));
    }
    await watcher;
    const nc = seen.get(deviceId);
    if (!nc || !refusedAt || !rejectedAt) throw new Error(`round ${round}: the loop did not complete (noncompliant ${Boolean(nc)}, refused ${Boolean(refusedAt)}, rejected ${Boolean(rejectedAt)})`);
    toNoncompliant.push(nc - t0);
    toRefused.push(refusedAt - t0);
    toRejected.push(rejectedAt - t0);
    toApplied.push((applied.get(deviceId) ?? rejectedAt) - t0);
  }
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  const report = (name: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    console.log(`${name.padEnd(34)} p50 ${fmt(pct(s, 50)).padStart(7)} ms  p99 ${fmt(pct(s, 99)).padStart(7)} ms  max ${fmt(s.at(-1)!).padStart(7)} ms`);
  };
  console.log(`rounds: ${ROUNDS}; driven by ${mode}; delivery: push to the sample app in its own process`);
  report('ingest → device noncompliant', toNoncompliant);
  report('ingest → new token refused', toRefused);
  report('ingest → first SET applied at app', toApplied);
  report('ingest → live session rejected', toRejected);
  const s = [...toRejected].sort((a, b) => a - b);
  console.log(`access: p50 ${Math.round(pct(s, 50))} ms, p99 ${Math.round(pct(s, 99))} ms (ingest → live session rejected)`);
} finally {
  await platform.close();
  rmSync(dataDir, { recursive: true, force: true });
}
