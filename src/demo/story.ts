// `vigil demo`: the story of DESIGN.md, live on this machine, with the time of every hop.
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { importJWK } from 'jose';
import type { VigilConfig } from '../config/index.js';
import { createPlatform, type Platform } from '../server.js';
import { signIn, type DeviceCredential } from '../../examples/corporate-app/sign-in.js';
import { startCorporateApp, type CorporateApp } from '../../examples/corporate-app/app.js';
import { createApiClient, type ApiClient } from './api-client.js';
import { canRunEndpoints, sandboxBase, startEndpoint, type Endpoint } from './endpoint.js';
import { C2_ADDRESS, sampleDropper } from './sample-malware.js';
import { dovecotInstalled, startMailroom, type Mailroom } from './mailroom.js';
import { createTimeline, StoryError, waitFor, type Timeline } from './timeline.js';

export interface StoryOptions {
  readonly config: VigilConfig;
  /** Full automation: remediation runs without waiting for approval. */
  readonly auto: boolean;
  /** Headless: stop at the first hop that does not happen (StoryError) and shut everything down. */
  readonly ci: boolean;
  readonly write: (line: string) => void;
}

export interface StoryResult {
  readonly totalMs: number;
  readonly containMs: number;
  readonly remediateMs: number;
  readonly restoreMs: number;
  /** Still running (interactive mode): stop it when the person is done. */
  readonly platform?: Platform;
  close(): Promise<void>;
}

const PASSWORDS = { alice: 'alice-demo-password', bob: 'bob-demo-password', sam: 'sam-analyst-password' } as const;
const REDIRECT = 'http://127.0.0.1:9/callback';
const HOP_MS = 15_000;

async function listen(server: Server | ReturnType<typeof createHttpServer>, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  return (server.address() as { port: number }).port;
}

async function deviceCredential(endpoint: Endpoint): Promise<DeviceCredential> {
  const identity = JSON.parse(readFileSync(join(endpoint.folders.state, 'identity.json'), 'utf8'));
  return { deviceId: identity.deviceId, privateKey: await importJWK(identity.privateKeyJwk, 'ES256') as DeviceCredential['privateKey'] };
}

export async function runStory(options: StoryOptions): Promise<StoryResult> {
  const { write } = options;
  if (!canRunEndpoints()) {
    throw new StoryError('setup', 'the demo endpoints need root and unshare (each endpoint is a machine of its own: PID, mount and UTS namespaces); run it as root');
  }
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => { for (const c of cleanups.reverse()) { try { await c(); } catch { /* best effort */ } } };
  try {
    return await play();
  } catch (error) {
    await close();
    throw error;
  }

  async function play(): Promise<StoryResult> {
    const base = sandboxBase();
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));

    // ---- Setting the scene -------------------------------------------------------------------------
    write('Setting the scene');
    const platform = await createPlatform(options.config);
    cleanups.push(() => platform.close());
    const url = platform.url;
    let adminToken = '';
    const api: ApiClient = createApiClient(url, () => adminToken);
    const adminPassword = options.config.adminPassword ?? platform.firstAdmin?.password;
    adminToken = (await api.ok('/api/v1/auth/login', { body: { username: 'admin', password: adminPassword } })).token;
    for (const [username, role] of [['alice', 'reader'], ['bob', 'reader'], ['sam', 'responder']] as const) {
      if (!(await platform.accounts.findUserByName(username))) {
        await platform.accounts.createUser({ username, password: PASSWORDS[username], role, displayName: username, email: `${username}@corp.example` });
      }
    }
    const sam = (await api.ok('/api/v1/auth/login', { body: { username: 'sam', password: PASSWORDS.sam } })).token as string;

    // Automation level of the endpoints' device group.
    const groups = (await api.ok('/api/v1/device-groups')).groups ?? (await api.ok('/api/v1/device-groups'));
    const group = (Array.isArray(groups) ? groups : []).find((g: any) => g.name === 'Demo endpoints')
      ?? await api.ok('/api/v1/device-groups', { body: { name: 'Demo endpoints', automationLevel: options.auto ? 'full' : 'semi_all' } });
    await api.ok(`/api/v1/device-groups/${group.id}`, { method: 'PATCH', body: { automationLevel: options.auto ? 'full' : 'semi_all' } });

    // The corporate app signs in through Vigil; CA requires a compliant device.
    const app = await api.ok('/api/v1/apps', { body: { name: 'Corporate app', id: `corp-${Date.now().toString(36)}`, redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], confidential: true } });
    await api.ok('/api/v1/conditional-access/policies', { body: { name: 'Corporate app needs a compliant device', targets: { includeUsers: ['all'], includeApps: [app.id] }, grant: 'requireCompliantDevice' } });
    const corp: CorporateApp = await startCorporateApp({ vigilUrl: url, clientId: app.id, clientSecret: app.clientSecret, resource: app.resource, delivery: 'push' });
    cleanups.push(() => corp.close());
    // A site that does not sign in through Vigil.
    const outside = createHttpServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('weather: sunny\n'); });
    const outsidePort = await listen(outside, '127.0.0.1');
    cleanups.push(() => new Promise<void>((r) => outside.close(() => r())));
    // The "C2" the sample calls: a listener on a loopback address of its own.
    const c2Connections: string[] = [];
    const c2 = createServer((socket) => { c2Connections.push(socket.remoteAddress ?? '?'); socket.on('data', () => {}); socket.on('error', () => {}); });
    const c2Port = await listen(c2, C2_ADDRESS);
    cleanups.push(() => new Promise<void>((r) => c2.close(() => r())));
    write(`  platform ${url}, corporate app ${corp.url}, outside site http://127.0.0.1:${outsidePort}, C2 ${C2_ADDRESS}:${c2Port}`);

    // Three Linux endpoints, each a real `vigil agent` on a machine of its own.
    const endpoints: Record<'ws-alice' | 'ws-bob' | 'srv-files', Endpoint> = {} as never;
    for (const name of ['ws-alice', 'ws-bob', 'srv-files'] as const) {
      const enrollToken = (await api.ok('/api/v1/enrollment-tokens', { body: { name, deviceGroup: group.id } })).token;
      endpoints[name] = await startEndpoint({ name, base, server: url, enrollToken, log: options.ci ? () => {} : (line) => write(`  ${line}`) });
      cleanups.push(() => endpoints[name].stop());
    }
    const deviceIds = {} as Record<keyof typeof endpoints, string>;
    for (const name of Object.keys(endpoints) as (keyof typeof endpoints)[]) {
      deviceIds[name] = await waitFor(`${name} enrolls and reports`, 60_000, async () => {
        const devices = await api.ok('/api/v1/devices');
        const device = (devices.devices ?? devices).find((d: any) => d.name === name || d.hostname === name || d.deviceName === name);
        if (!device) return undefined;
        const info = await api.ok(`/api/v1/events/DeviceInfo?deviceId=${device.id}&limit=1`);
        return info.rows.length ? device.id as string : undefined;
      }, 250);
    }
    write(`  endpoints enrolled: ${Object.entries(deviceIds).map(([n, id]) => `${n} (${id.slice(0, 8)}…)`).join(', ')}`);

    // The sample, and where it already is before anyone knows it.
    const dropper = sampleDropper(c2Port);
    const dropperSha256 = createHash('sha256').update(dropper).digest('hex');
    writeFileSync(join(endpoints['srv-files'].folders.share, 'invoice-viewer'), dropper, { mode: 0o755 });
    await waitFor('srv-files reports the file on its share', HOP_MS, async () =>
      (await api.ok(`/api/v1/events/DeviceFileEvents?deviceId=${deviceIds['srv-files']}&limit=1000`)).rows.some((r: any) => r.SHA256 === dropperSha256) || undefined, 200);

    // Mail: the gateway in front of a throw-away Dovecot. Bob receives the sample by mail before anyone knows it.
    let mailroom: Mailroom | undefined;
    let bobMessage: string | undefined;
    const attachment = { filename: 'invoice-viewer', content: dropper };
    if (dovecotInstalled()) {
      const gatewayToken = (await api.ok('/api/v1/sensors', { body: { name: 'mail-gateway' } })).token;
      mailroom = await startMailroom({
        dir: join(base, 'mail'), server: url, sensorToken: gatewayToken,
        users: [{ name: 'bob@corp.example', password: PASSWORDS.bob }, { name: 'alice@corp.example', password: PASSWORDS.alice }],
      });
      cleanups.push(() => mailroom!.close());
      bobMessage = await mailroom.send({ from: 'billing@partner.example', to: 'bob@corp.example', subject: 'Your invoice', text: 'Please find the invoice viewer attached.', attachment });
      await waitFor("the sample reaches bob's inbox through the gateway", HOP_MS, async () => (await mailroom!.foldersWith('bob@corp.example', bobMessage!)).includes('INBOX') || undefined, 200);
      write(`  mail gateway on port ${mailroom.gateway.port} in front of Dovecot; bob has the sample in his inbox (${bobMessage})`);
    } else if (options.ci) {
      throw new StoryError('mail store', 'Dovecot is not installed (Debian: apt-get install dovecot-imapd); the purge step needs a real IMAP store');
    } else {
      write('  Dovecot is not installed (apt-get install dovecot-imapd): the mail purge step is skipped');
    }

    // Alice and Bob are signed in to the corporate app from their devices.
    const issuer = `${url}/oidc`;
    const aliceDevice = await deviceCredential(endpoints['ws-alice']);
    const bobDevice = await deviceCredential(endpoints['ws-bob']);
    const aliceLogin = await signIn({ issuer, clientId: app.id, clientSecret: app.clientSecret, redirectUri: REDIRECT, username: 'alice', password: PASSWORDS.alice, device: aliceDevice, resource: app.resource });
    const bobLogin = await signIn({ issuer, clientId: app.id, clientSecret: app.clientSecret, redirectUri: REDIRECT, username: 'bob', password: PASSWORDS.bob, device: bobDevice, resource: app.resource });
    if (!aliceLogin.ok || !bobLogin.ok) throw new StoryError('setup', `sign-in to the corporate app failed: ${JSON.stringify(aliceLogin.ok ? bobLogin : aliceLogin)}`);
    const appStatus = async (token: string) => (await fetch(`${corp.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status;
    if (await appStatus(aliceLogin.tokens.access_token) !== 200) throw new StoryError('setup', "alice's session at the corporate app is not live");
    write('  alice and bob are signed in to the corporate app from ws-alice and ws-bob');

    // ---- The story ---------------------------------------------------------------------------------
    const timeline: Timeline = createTimeline(write);
    timeline.step('1. Infection');
    const alice = endpoints['ws-alice'];
    writeFileSync(join(alice.folders.usb, 'invoice-viewer'), dropper, { mode: 0o755 });
    timeline.hop('a USB stick with invoice-viewer is plugged into ws-alice');
    alice.run('cp /media/usb/invoice-viewer /home/alice/Downloads/ && chmod +x /home/alice/Downloads/invoice-viewer && /home/alice/Downloads/invoice-viewer');
    timeline.hop('alice copies invoice-viewer to Downloads and runs it');
    const firstMalicious = await waitFor('the sample\'s process is reported', HOP_MS, async () => {
      const rows = (await api.ok(`/api/v1/events/DeviceProcessEvents?deviceId=${deviceIds['ws-alice']}&limit=1000`)).rows;
      const hit = rows.find((r: any) => String(r.ProcessCommandLine ?? '').includes('invoice-viewer') || String(r.FolderPath ?? '').includes('invoice-viewer'));
      return hit ? Date.parse(hit.Timestamp) : undefined;
    });
    const storyStartWall = Date.now() - timeline.now();
    timeline.hop(`first malicious process event at +${((firstMalicious - storyStartWall) / 1000).toFixed(3)} s (agent's timestamp)`);

    timeline.step('2. Detection');
    const alerts = await waitFor('behaviour rules raise alerts on ws-alice', HOP_MS, async () => {
      const list = await api.ok(`/api/v1/alerts?deviceId=${deviceIds['ws-alice']}`);
      const items = list.alerts ?? list.items ?? list;
      return Array.isArray(items) && items.length > 0 ? items : undefined;
    });
    timeline.hop(`${alerts.length} alert(s): ${[...new Set(alerts.map((a: any) => a.title))].join('; ')}`);
    const incident = await waitFor('the alerts form one incident', HOP_MS, async () => {
      const list = await api.ok(`/api/v1/incidents?deviceId=${deviceIds['ws-alice']}`);
      const items = list.incidents ?? list.items ?? list;
      return Array.isArray(items) && items.length > 0 ? items[0] : undefined;
    });
    timeline.hop(`incident ${incident.id}: "${incident.displayName ?? incident.title}"`);
    await waitFor("ws-alice's risk is high", HOP_MS, async () => ((await api.ok(`/api/v1/devices/${deviceIds['ws-alice']}`)).riskLevel === 'high') || undefined);
    timeline.hop('ws-alice risk: high');

    timeline.step('3. Containment');
    await waitFor('ws-alice becomes noncompliant', HOP_MS, async () => ((await api.ok(`/api/v1/devices/${deviceIds['ws-alice']}`)).complianceState === 'noncompliant') || undefined);
    timeline.hop('ws-alice is noncompliant with its device group\'s policy');
    const rejectedAt = await waitFor("alice's live session is rejected by the corporate app (CAEP)", HOP_MS, async () =>
      (await appStatus(aliceLogin.tokens.access_token)) === 401 ? Date.now() : undefined, 5);
    const containMs = rejectedAt - firstMalicious;
    timeline.hop(`alice's live token → 401 at the corporate app (${containMs} ms after the first malicious event)`);
    const refused = await signIn({ issuer, clientId: app.id, clientSecret: app.clientSecret, redirectUri: REDIRECT, username: 'alice', password: PASSWORDS.alice, device: aliceDevice, resource: app.resource });
    if (refused.ok) throw new StoryError('new sign-in refused', 'alice could sign in again from the noncompliant ws-alice');
    timeline.hop(`new sign-in from ws-alice refused: ${refused.error}: ${refused.error_description ?? ''}`);
    const outsideStatus = (await fetch(`http://127.0.0.1:${outsidePort}/`)).status;
    if (outsideStatus !== 200) throw new StoryError('outside site untouched', `answered ${outsideStatus}`);
    timeline.hop('a site outside Vigil\'s sign-in still answers 200');
    if (await appStatus(bobLogin.tokens.access_token) !== 200) throw new StoryError('bob untouched', "bob's session was rejected too");
    timeline.hop("bob's session on the healthy ws-bob is untouched");

    timeline.step('4. Response');
    const remediateStart = timeline.now();
    // What the investigations of this incident propose, on ws-alice and wherever else they found the file.
    const pendingOnAlice = async () => {
      const investigations = new Set(((await api.ok(`/api/v1/investigations?incidentId=${incident.id}`, { token: sam })).investigations ?? []).map((i: any) => i.id));
      const list = await api.ok('/api/v1/actions?state=pending', { token: sam });
      return (list.actions ?? list.items ?? list).filter((a: any) => a.target === deviceIds['ws-alice'] || investigations.has(a.investigationId));
    };
    const cleaned = () => !existsSync(join(alice.folders.downloads, 'invoice-viewer')) && !existsSync(join(alice.folders.tmp, '.session-helper'))
      && !existsSync(join(alice.folders.cron, 'session-helper'));
    if (!options.auto) {
      const pending = await waitFor('the investigation proposes remediation for approval', HOP_MS, async () => {
        const items = await pendingOnAlice();
        return items.length ? items : undefined;
      });
      timeline.hop(`${pending.length} action(s) wait in the action center: ${[...new Set(pending.map((a: any) => a.kind))].join(', ')}`);
    }
    // Investigations of the other alerts may propose more as they finish: the analyst approves those too.
    let approved = 0;
    const actionStates = async () => {
      const list = await api.ok('/api/v1/actions', { token: sam });
      return (list.actions ?? list.items ?? list).filter((a: any) => a.target === deviceIds['ws-alice'] || a.state !== 'succeeded')
        .map((a: any) => `${a.kind} ${JSON.stringify(a.params)}: ${a.state}${a.result?.message ? ` (${a.result.message})` : a.message ? ` (${a.message})` : ''}`);
    };
    await waitFor('the agent stops the process, quarantines the files and removes the persistence', 30_000, async () => {
      if (!options.auto) {
        const items = await pendingOnAlice();
        if (items.length) {
          await api.ok('/api/v1/actions/approve', { token: sam, body: { ids: items.map((a: any) => a.id) } });
          if (approved === 0) timeline.hop('sam (responder) approves them in the action center');
          approved += items.length;
        }
      }
      if (!cleaned()) return undefined;
      // Under full automation the malicious entities are remediated at once; what always waits for an analyst
      // (suspicious verdicts, email) is approved in the restore step.
      if (options.auto) return true;
      const investigations = ((await api.ok(`/api/v1/investigations?incidentId=${incident.id}`, { token: sam })).investigations ?? []).filter((i: any) => i.deviceId === deviceIds['ws-alice']);
      return investigations.every((i: any) => !['running', 'pendingAction'].includes(i.status)) || undefined;
    }, 100).catch(async (error) => {
      const investigations = ((await api.ok(`/api/v1/investigations?incidentId=${incident.id}`, { token: sam })).investigations ?? [])
        .map((i: any) => `${i.title} on ${i.deviceId === deviceIds['ws-alice'] ? 'ws-alice' : i.deviceId}: ${i.status}`);
      throw new StoryError(error.hop, `${error.message}; actions on ws-alice: ${(await actionStates()).join('; ')}; investigations: ${investigations.join('; ')}`);
    });
    const remediateMs = timeline.now() - remediateStart;
    timeline.hop('ws-alice: second stage stopped, dropper and second stage quarantined, cron persistence removed');

    timeline.step('5. Intelligence');
    const indicator = await api.ok('/api/v1/indicators', { token: sam, body: { type: 'sha256', value: dropperSha256, action: 'block_and_remediate', severity: 'high', title: 'invoice-viewer dropper', incidentId: incident.id } });
    // The C2 address is already part of the incident: block it everywhere without a second round of alerts.
    await api.ok('/api/v1/indicators', { token: sam, body: { type: 'ipv4', value: C2_ADDRESS, action: 'block', severity: 'high', title: 'invoice-viewer C2', incidentId: incident.id, generateAlert: false } });
    const indicatorAt = timeline.hop(`block indicators: the dropper's SHA-256 (${dropperSha256.slice(0, 12)}…) and the C2 address ${C2_ADDRESS}`);
    const srvCopy = join(endpoints['srv-files'].folders.share, 'invoice-viewer');
    await waitFor('srv-files (which had the file before anyone knew it) gets its copy quarantined', 30_000, () => (!existsSync(srvCopy)) || undefined, 100);
    const srvAction = ((await api.ok('/api/v1/actions?state=history', { token: sam })).actions ?? [])
      .find((a: any) => a.target === deviceIds['srv-files'] && a.kind === 'quarantine_file' && a.state === 'succeeded');
    const retroAlerts = ((await api.ok(`/api/v1/alerts?deviceId=${deviceIds['srv-files']}`)).alerts ?? []).filter((a: any) => a.detectionSource === 'customTi');
    timeline.hop(`srv-files: the copy on its share is quarantined (${srvAction?.investigationId ? 'the investigation scoped it fleet-wide' : 'block-and-remediate on the retro-hunt sighting'}); retro-hunt raised ${retroAlerts.length} alert(s) there`);
    if (mailroom && bobMessage) {
      // The investigation may already have soft-deleted it (it scopes mail too); otherwise zero-hour purge moves it.
      const where = await waitFor("bob's message is purged from his mailbox", HOP_MS, async () => {
        const folders = await mailroom!.foldersWith('bob@corp.example', bobMessage!);
        return (folders.length >= 1 && !folders.includes('INBOX')) ? folders.join(', ') : undefined;
      }, 100);
      timeline.hop(`bob's mailbox: the message that delivered the sample is out of his inbox, in ${where} (${where.includes('Quarantine') ? 'Malware ZAP' : "the investigation's soft delete"})`);
      const again = await mailroom.send({ from: 'billing@partner.example', to: 'bob@corp.example', subject: 'Your invoice (resent)', text: 'Resending.', attachment });
      await waitFor('a new message with the sample is blocked at the gateway', HOP_MS, async () =>
        mailroom!.gateway.listQuarantine().some((m) => m.subject === 'Your invoice (resent)') || undefined, 50);
      if ((await mailroom.foldersWith('bob@corp.example', again)).length) throw new StoryError('new mail blocked', 'the resent sample reached the mailbox');
      timeline.hop('the gateway blocks a new message carrying the sample (quarantined, never delivered)');
    }
    const bobCopy = join(endpoints['ws-bob'].folders.downloads, 'invoice-viewer');
    writeFileSync(bobCopy, dropper);
    chmodSync(bobCopy, 0o644);
    const written = timeline.now();
    await waitFor('ws-bob blocks a new copy on sight', 5_000, () => (!existsSync(bobCopy)) || undefined, 20);
    timeline.hop(`ws-bob: a new copy is quarantined on sight, ${(timeline.now() - written).toFixed(0)} ms after it was written (${(written - indicatorAt).toFixed(0)} ms after the indicator was created)`);
    void indicator;

    timeline.step('6. Restore');
    const restoreStart = timeline.now();
    const aliceAlerts = async () => {
      const list = await api.ok(`/api/v1/alerts?deviceId=${deviceIds['ws-alice']}`);
      return (list.alerts ?? list.items ?? list) as any[];
    };
    // Retro-hunt sightings of the new indicators start investigations of their own: the analyst approves those too.
    let approvedLater = 0;
    await waitFor("ws-alice's alerts resolve", 30_000, async () => {
      const items = await pendingOnAlice();
      if (items.length) {
        await api.ok('/api/v1/actions/approve', { token: sam, body: { ids: items.map((a: any) => a.id) } });
        approvedLater += items.length;
      }
      return (await aliceAlerts()).every((a) => a.status === 'resolved') || undefined;
    }, 100)
      .catch(async (error) => {
        const open = (await aliceAlerts()).filter((a) => a.status !== 'resolved').map((a) => `${a.title} (${a.severity}, ${a.status})`);
        const investigations = ((await api.ok('/api/v1/investigations')).investigations ?? [])
          .map((i: any) => `${i.title}: ${i.status}${i.status === 'remediated' ? '' : ` [${(i.log ?? []).slice(-6).map((l: any) => l.message).join(' | ')}]`}`);
        throw new StoryError(error.hop, `${error.message}; still open: ${open.join('; ')}; investigations: ${investigations.join('; ')}; actions: ${(await actionStates()).join('; ')}`);
      });
    timeline.hop(`ws-alice's alerts are resolved${approvedLater ? ` (sam approved ${approvedLater} more action(s) that always wait for an analyst: suspicious verdicts, email, retro-hunt sightings)` : ''}`);
    await waitFor('ws-alice is compliant again', HOP_MS, async () => {
      const d = await api.ok(`/api/v1/devices/${deviceIds['ws-alice']}`);
      return (d.complianceState === 'compliant' && (d.riskLevel === 'none' || d.riskLevel === 'informational' || d.riskLevel === 'low')) || undefined;
    });
    timeline.hop('ws-alice risk cleared, compliant again (CAEP device-compliance-change → compliant)');
    const again = await signIn({ issuer, clientId: app.id, clientSecret: app.clientSecret, redirectUri: REDIRECT, username: 'alice', password: PASSWORDS.alice, device: aliceDevice, resource: app.resource });
    if (!again.ok || await appStatus(again.tokens.access_token) !== 200) throw new StoryError('alice signs in again', JSON.stringify(again));
    const restoreMs = timeline.now() - restoreStart;
    timeline.hop('alice signs in to the corporate app from ws-alice as before');

    const totalMs = timeline.now();
    return {
      totalMs, containMs, remediateMs, restoreMs,
      platform: options.ci ? undefined : platform,
      close,
    };
  }
}
