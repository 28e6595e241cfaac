// `npm run bench:response`: an automated investigation over a fleet of 1,000 simulated devices where the
// malicious file is present on 50, under Full automation, on the whole platform (createPlatform: incidents,
// posture, intel and the rest subscribe as in production). Every device is enrolled into a Full-automation
// device group and is an in-process sensor that long-polls the real HTTP command channel and acknowledges
// what it receives. Measured: from the alert until all 50 quarantine actions have been dispatched to their
// devices and acknowledged (the result stored).
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveConfig } from '../src/config/index.js';
import type { RaisedAlert } from '../src/schema/index.js';
import { createPlatform } from '../src/server.js';

const FLEET = Number(process.env.BENCH_FLEET ?? 1000);
const INFECTED = Number(process.env.BENCH_INFECTED ?? 50);
const EVIL = 'e1'.repeat(32);

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-response-'));
const platform = await createPlatform({
  ...resolveConfig({ env: {}, argv: [] }), dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', adminPassword: 'bench-password-123',
});
const { store, bus, accounts, audit, response, url } = platform;
const group = await platform.posture.createGroup({ name: 'bench-full-automation', automationLevel: 'full' });

// The fleet: sensors, and a little telemetry per device; the malicious file on every 20th device.
const devices: { id: string; token: string; infected: boolean }[] = [];
for (let i = 0; i < FLEET; i++) {
  const enrollment = await accounts.createEnrollmentToken({ name: `bench-${i}`, deviceGroup: group.id, createdBy: 'bench' });
  const { deviceId, sensorToken } = await accounts.enroll({ token: enrollment.token, hostname: `bench-${i}`, os: 'Linux', osVersion: '6.8' });
  devices.push({ id: deviceId, token: sensorToken, infected: i % Math.floor(FLEET / INFECTED) === 0 && devices.filter((d) => d.infected).length < INFECTED });
}
await bus.drain(); // posture puts every device in the inventory, in its group
let reportId = 0;
const ts = new Date(Date.now() - 3_600_000).toISOString();
const rows = devices.flatMap((d, i) => [
  { Timestamp: ts, DeviceId: d.id, DeviceName: `host-${i}`, ActionType: 'FileCreated', FileName: 'notes.txt', FolderPath: `/home/u${i}/notes.txt`, SHA256: (i % 997).toString(16).padStart(64, '0'), ReportId: ++reportId },
  { Timestamp: ts, DeviceId: d.id, DeviceName: `host-${i}`, ActionType: 'FileModified', FileName: 'app.log', FolderPath: '/var/log/app.log', SHA256: (i % 991 + 5000).toString(16).padStart(64, '0'), ReportId: ++reportId },
  ...(d.infected ? [{ Timestamp: ts, DeviceId: d.id, DeviceName: `host-${i}`, ActionType: 'FileCreated', FileName: 'invoice.elf', FolderPath: `/home/u${i}/Downloads/invoice.elf`, SHA256: EVIL, ReportId: ++reportId }] : []),
]);
await store.telemetry.append('DeviceFileEvents', 'bench', rows);
const infected = devices.filter((d) => d.infected);

// The sensors: long-poll, acknowledge each command with a result, poll again. Plain node:http with
// keep-alive (each sensor reuses its connection, as an agent does), so the harness costs little CPU.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(`${url}${path}`, {
      method, agent, signal: stop.signal,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
const stop = new AbortController();
let acknowledged = 0;
let received = 0;
let allDone: () => void;
const done = new Promise<void>((resolve) => { allDone = resolve; });
async function sensorLoop(device: { id: string; token: string }) {
  while (!stop.signal.aborted) {
    let commands: { id: string; kind: string }[];
    try {
      const res = await call('GET', '/api/v1/agent/commands?wait=30', device.token);
      commands = (res.json as { commands?: { id: string; kind: string }[] }).commands ?? [];
    } catch {
      return;
    }
    for (const command of commands) {
      received++;
      const res = await call('POST', `/api/v1/agent/commands/${command.id}/result`, device.token,
        { status: 'succeeded', message: `${command.kind} done`, output: { quarantined: 1 } });
      const body = res.json as { changed?: boolean };
      if (res.status === 200 && body.changed && command.kind === 'quarantine_file' && ++acknowledged === infected.length) allDone();
    }
  }
}
const loops = devices.map((d) => sensorLoop(d));
for (let i = 0; i < 600 && response.commands.connected().length < FLEET; i++) await new Promise((r) => setTimeout(r, 50));
const connected = response.commands.connected().length;

const alert: RaisedAlert = {
  alertId: 'bench-alert-1', title: "Malware 'invoice.elf' detected", description: 'bench', severity: 'high', category: 'Malware',
  detectionSource: 'antivirus', serviceSource: 'vigil', mitreTechniques: [], tactics: [],
  firstActivity: ts, lastActivity: ts, dedupKey: 'bench',
  evidence: [
    { kind: 'device', key: infected[0].id, label: 'host-0', role: 'Impacted' },
    { kind: 'file', key: EVIL, label: 'invoice.elf', role: 'Related', details: { sha256: EVIL, path: '/home/u0/Downloads/invoice.elf' } },
  ],
  events: [],
};

// Steady state: the store's read-only query worker (started by the first query) is already running.
await store.query('SELECT 1', []);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await bus.publish('alert.raised', { alert });
const timeout = setTimeout(() => allDone(), 60_000);
await done;
const elapsed = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
clearTimeout(timeout);
await bus.drain();
const proposed = performance.now();

const [investigation] = await response.investigations.list({ alertId: alert.alertId });
const succeeded = (await response.actions.list({ investigationId: investigation?.id, state: 'succeeded', limit: 10_000 })).length;
const chain = await audit.verify();

stop.abort();
await Promise.allSettled(loops);
agent.destroy();
await platform.close();
rmSync(dir, { recursive: true, force: true });

console.log(`fleet: ${FLEET} devices (${connected} long-polling), malicious file on ${infected.length}`);
console.log(`investigation: ${investigation?.status ?? 'none'}, ${investigation?.actions.length ?? 0} actions, ${succeeded} succeeded; commands received by sensors: ${received}`);
console.log(`cpu in the measured window: ${Math.round((cpu.user + cpu.system) / 1000)} ms (server and the 1,000 sensors share this process)`);
console.log(`audit chain: ${chain.ok ? 'intact' : 'broken'} (${chain.checked} entries); drained ${(proposed - t0).toFixed(0)} ms after the alert`);
console.log(`response: ${acknowledged} actions dispatched and acknowledged in ${Math.round(elapsed)} ms`);
