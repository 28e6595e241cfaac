// `npm run console:screens`: full-page screenshots of every main console page, light and dark, into
// ./screens/<page>-<theme>.png. Starts its own platform with the story's data (nothing else is touched).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, startPlatform } from '../test/helpers/platform.js';
import { enrollDevice, eventually, ingestStory, launchBrowser, MALWARE_SHA256, signIn, storyAlert } from '../test/console-helpers.js';

const out = resolve(process.argv[2] ?? 'screens');
mkdirSync(out, { recursive: true });

const t = await startPlatform();
const browser = await launchBrowser();
try {
  // The story on three devices; the first one is hit twice.
  const devices = [await enrollDevice(t, 'ws-alice-01'), await enrollDevice(t, 'ws-bob-02'), await enrollDevice(t, 'srv-files-01')];
  const now = Date.now();
  for (const [i, d] of devices.entries()) {
    const rows = await ingestStory(t, d, now - (i + 1) * 3600_000);
    if (i < 2) await t.platform.bus.publish('alert.raised', { alert: storyAlert(d, rows, i === 0 ? 'Script executed from Downloads' : 'Suspicious script launched by mail client') });
  }
  await t.platform.bus.drain();
  await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'sha256', value: MALWARE_SHA256, action: 'block_and_remediate', title: 'invoice.sh dropper', severity: 'high' } });
  await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'domain', value: 'c2.example.net', action: 'block', title: 'Command and control', severity: 'high' } });
  await t.api('/api/v1/users', { token: t.adminToken, body: { username: 'alice', password: 'alice-password-1', role: 'reader', displayName: 'Alice Martin' } });
  await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Require a compliant device', state: 'enabled', targets: { includeUsers: ['all'], includeApps: ['all'] }, conditions: {}, grant: 'requireCompliantDevice' } });
  await t.api('/api/v1/conditional-access/policies', { token: t.adminToken, body: { name: 'Block high-risk users', state: 'reportOnly', targets: { includeUsers: ['all'], includeApps: ['all'] }, conditions: { userRiskLevels: ['high'] }, grant: 'block' } });
  await t.api('/api/v1/apps', { token: t.adminToken, body: { name: 'Corporate wiki', redirectUris: ['https://wiki.example.com/callback'], resource: 'https://wiki.example.com', grantTypes: ['authorization_code', 'refresh_token'], confidential: true } });
  // Two sign-ins of alice as the identity provider logs them (EntraIdSignInEvents): one before the
  // infection, allowed; one after, refused because the device became noncompliant.
  const policy = (result: string) => JSON.stringify([{ id: 'p1', displayName: 'Require a compliant device', result }]);
  await t.platform.store.telemetry.append('EntraIdSignInEvents', 'identity-provider', [
    { Timestamp: new Date(now - 5 * 3600_000).toISOString(), Application: 'Corporate wiki', ApplicationId: 'app-wiki', ErrorCode: 0, AccountUpn: 'alice', AlternateSignInName: 'alice', AccountDisplayName: 'Alice Martin', DeviceName: devices[0].hostname, EntraIdDeviceId: devices[0].deviceId, IsManaged: 1, IsCompliant: 1, ConditionalAccessStatus: 0, ConditionalAccessPolicies: policy('success'), IPAddress: '192.0.2.10', EndpointCall: 'authorize', ReportId: 'screens-signin-1' },
    { Timestamp: new Date(now - 60_000).toISOString(), Application: 'Corporate wiki', ApplicationId: 'app-wiki', ErrorCode: 53000, AccountUpn: 'alice', AlternateSignInName: 'alice', AccountDisplayName: 'Alice Martin', DeviceName: devices[0].hostname, EntraIdDeviceId: devices[0].deviceId, IsManaged: 1, IsCompliant: 0, ConditionalAccessStatus: 1, ConditionalAccessPolicies: policy('failure'), RiskDetails: 'Require a compliant device: the device is noncompliant', IPAddress: '192.0.2.10', EndpointCall: 'token', ReportId: 'screens-signin-2' },
  ]);
  const incidents = await t.api('/api/v1/incidents', { token: t.adminToken });
  const incidentId: string | undefined = incidents.body?.items?.[0]?.id;
  const alerts = await t.api('/api/v1/alerts', { token: t.adminToken });
  const alertId: string | undefined = alerts.body?.items?.[0]?.id;
  await eventually('pending actions', async () => {
    const r = await t.api('/api/v1/actions?state=pending', { token: t.adminToken });
    return r.body?.actions?.length ? true : undefined;
  }, 30).catch(() => undefined);

  const page = await browser.newPage();
  const pages: [string, string, ((p: Page) => Promise<void>)?][] = [
    ['dashboard', '/'],
    ['incidents', '/incidents'],
    ...(incidentId ? [['incident', `/incidents/${incidentId}`, (p: Page) => p.getByTestId('attack-graph').waitFor()] as [string, string, (p: Page) => Promise<void>]] : []),
    ...(incidentId ? [['incident-evidence', `/incidents/${incidentId}?tab=evidence`]] as [string, string][] : []),
    ...(alertId ? [['alert', `/alerts/${alertId}`]] as [string, string][] : []),
    ['devices', '/devices'],
    ['device', `/devices/${devices[0].deviceId}`, (p) => p.getByTestId('device-timeline').waitFor()],
    ['device-sign-ins', `/devices/${devices[0].deviceId}?tab=sessions`],
    ['users', '/users'],
    ['user', '/users/alice'],
    ['actions', '/actions'],
    ['actions-history', '/actions?tab=history'],
    ['indicators', '/indicators'],
    ['hunting', `/hunting?q=${encodeURIComponent('DeviceProcessEvents\n| summarize Processes = count() by DeviceName\n| render piechart')}`, async (p) => {
      await p.getByRole('button', { name: 'Run query' }).click();
      await p.getByTestId('hunt-results').or(p.getByRole('alert')).or(p.getByTestId('not-available')).first().waitFor({ timeout: 15_000 });
    }],
    ['rules', '/rules'],
    ['settings', '/settings'],
    ['settings-compliance', '/settings?tab=compliance'],
    ['settings-conditional-access', '/settings?tab=ca'],
    ['settings-apps', '/settings?tab=apps'],
    ['settings-accounts', '/settings?tab=accounts'],
    ['settings-sensors', '/settings?tab=sensors'],
  ];
  for (const theme of ['light', 'dark'] as const) {
    await page.goto(`${t.url}/`);
    await page.evaluate((th) => localStorage.setItem('vigil.theme', th), theme);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.getByLabel('Username').waitFor();
    await page.screenshot({ path: join(out, `signin-${theme}.png`), fullPage: true });
    await signIn(page, t.url, 'admin', ADMIN_PASSWORD);
    for (const [name, path, ready] of pages) {
      await page.goto(`${t.url}${path}`);
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await page.locator('.loading').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
      if (ready) await ready(page).catch((e: Error) => console.warn(`${name}: ${e.message.split('\n')[0]}`));
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `${name}-${theme}.png`), fullPage: true });
      console.log(`screens/${name}-${theme}.png`);
    }
  }
} finally {
  await browser.close();
  await t.stop();
}
