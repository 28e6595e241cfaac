// Shared by the console's browser tests and `npm run console:screens`: Debian's Chromium driven by
// playwright-core (no downloaded browsers), and the story's data seeded through the real API.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { RaisedAlert } from '../src/schema/index.js';
import type { TestPlatform } from './helpers/platform.js';

export const CHROMIUM_PATH = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export interface Browser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile and nothing that phones home. */
export async function launchBrowser(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the console's own form and waits for the shell. */
export async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('whoami').waitFor({ timeout: 15_000 });
}

export const XSS = '<img src=x onerror=alert(1)>';
export const MALWARE_SHA256 = 'f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2';

export interface SeededDevice { deviceId: string; sensorId: string; sensorToken: string; hostname: string }

/** Enrolls a device through the enrollment API, as an agent would. */
export async function enrollDevice(t: TestPlatform, hostname: string): Promise<SeededDevice> {
  const issued = await t.api('/api/v1/enrollment-tokens', { token: t.adminToken, body: { name: hostname } });
  if (issued.status !== 201 && issued.status !== 200) throw new Error(`enrollment token: ${issued.status} ${JSON.stringify(issued.body)}`);
  const enrolled = await t.api('/api/v1/enroll', { body: { token: issued.body.token, hostname, os: 'Linux', osVersion: 'Debian 12', publicKeyJwk: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) } });
  if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  return { deviceId: enrolled.body.deviceId, sensorId: enrolled.body.sensorId, sensorToken: enrolled.body.sensorToken, hostname };
}

let reportId = 1000;

/** The story's telemetry on one device: a mail client drops a file, a shell runs it, it calls out. */
export function storyRows(device: SeededDevice, at: number) {
  const iso = (offsetMs: number) => new Date(at + offsetMs).toISOString();
  const base = { DeviceId: device.deviceId, DeviceName: device.hostname };
  const processes = [
    {
      ...base, Timestamp: iso(0), ActionType: 'ProcessCreated', ReportId: reportId++, FileName: 'thunderbird', FolderPath: '/usr/bin/thunderbird',
      ProcessId: 4100, ProcessCommandLine: 'thunderbird', InitiatingProcessId: 1, InitiatingProcessFileName: 'systemd',
      InitiatingProcessCommandLine: '/sbin/init', AccountName: 'alice',
    },
    {
      ...base, Timestamp: iso(60_000), ActionType: 'ProcessCreated', ReportId: reportId++, FileName: 'invoice.sh', FolderPath: '/home/alice/Downloads/invoice.sh',
      SHA256: MALWARE_SHA256, ProcessId: 4242, ProcessCommandLine: XSS, InitiatingProcessId: 4100, InitiatingProcessFileName: 'thunderbird',
      InitiatingProcessCommandLine: 'thunderbird', InitiatingProcessParentId: 1, InitiatingProcessParentFileName: 'systemd', AccountName: 'alice',
    },
  ];
  const files = [{
    ...base, Timestamp: iso(30_000), ActionType: 'FileCreated', ReportId: reportId++, FileName: 'invoice.sh', FolderPath: '/home/alice/Downloads/invoice.sh',
    SHA256: MALWARE_SHA256, InitiatingProcessFileName: 'thunderbird', InitiatingProcessId: 4100, InitiatingProcessAccountName: 'alice',
  }];
  const network = [{
    ...base, Timestamp: iso(90_000), ActionType: 'ConnectionSuccess', ReportId: reportId++, RemoteIP: '203.0.113.66', RemotePort: 443,
    RemoteUrl: 'c2.example.net', InitiatingProcessFileName: 'invoice.sh', InitiatingProcessId: 4242, InitiatingProcessCommandLine: XSS,
  }];
  return { processes, files, network };
}

/** Ingests the story's telemetry with the device's own sensor token. */
export async function ingestStory(t: TestPlatform, device: SeededDevice, at: number) {
  const rows = storyRows(device, at);
  for (const [table, batch] of [['DeviceProcessEvents', rows.processes], ['DeviceFileEvents', rows.files], ['DeviceNetworkEvents', rows.network]] as const) {
    const result = await t.api(`/api/v1/ingest/${table}`, { token: device.sensorToken, body: batch });
    if (result.status !== 200 || result.body.rejected?.length) throw new Error(`ingest ${table}: ${result.status} ${JSON.stringify(result.body)}`);
  }
  return rows;
}

/**
 * The alert detection raises for the story (the 'alert.raised' contract): malware on the device, run by
 * alice, with its process, file and command-and-control address as evidence and the events that matched.
 */
export function storyAlert(device: SeededDevice, rows: ReturnType<typeof storyRows>, title: string): RaisedAlert {
  const sensorId = device.sensorId;
  const proc = rows.processes[1];
  return {
    alertId: `console-test-${title.replace(/\W+/g, '-').toLowerCase()}-${Date.now()}`,
    title,
    description: 'A file delivered by mail was executed and connected to a known command-and-control address.',
    severity: 'high',
    category: 'Malware',
    detectionSource: 'sigma',
    serviceSource: 'vigil',
    mitreTechniques: ['T1204.002', 'T1071.001'],
    tactics: ['execution', 'command-and-control'],
    rule: { id: 'b7c2a4e0-5d1f-4e8a-9d0e-0c7a1e2f3a4b', title: 'Script executed from Downloads', author: 'Vigil tests (console)', references: ['https://attack.mitre.org/techniques/T1204/002/'], source: 'sigma', license: 'DRL-1.1' },
    firstActivity: proc.Timestamp,
    lastActivity: rows.network[0].Timestamp,
    evidence: [
      { kind: 'device', key: device.deviceId, label: device.hostname, role: 'Impacted' },
      { kind: 'user', key: 'alice', label: 'alice', role: 'Impacted' },
      { kind: 'file', key: MALWARE_SHA256, label: 'invoice.sh', role: 'Related', details: { sha256: MALWARE_SHA256, path: proc.FolderPath, FolderPath: proc.FolderPath } },
      { kind: 'process', key: `${device.deviceId}:4242`, label: 'invoice.sh', role: 'Related', details: { processId: 4242, parentProcessId: 4100, commandLine: XSS, sha256: MALWARE_SHA256, deviceId: device.deviceId } },
      { kind: 'ip', key: '203.0.113.66', label: '203.0.113.66', role: 'Related' },
    ],
    events: [
      { table: 'DeviceProcessEvents', reportId: proc.ReportId, sensorId, row: rows.processes[0] },
      { table: 'DeviceProcessEvents', reportId: proc.ReportId, sensorId, row: proc },
      { table: 'DeviceNetworkEvents', reportId: rows.network[0].ReportId, sensorId, row: rows.network[0] },
    ],
    dedupKey: `console-test|${title}|${device.deviceId}`,
  };
}

/** Polls `check` until it returns a value (bounded), failing with `what` when it never does. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, attempts = 100, intervalMs = 100): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
