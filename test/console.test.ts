// The SOC console in a real browser (Debian's Chromium through playwright-core) against a real platform
// on 127.0.0.1, seeded through its API: an enrolled device's sensor ingests the story's telemetry and
// detection's 'alert.raised' contract brings the alert that incidents and response act on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, startPlatform, type TestPlatform } from './helpers/platform.js';
import { CONSOLE_SECTIONS } from '../src/api/static.js';
import {
  enrollDevice, eventually, ingestStory, launchBrowser, MALWARE_SHA256, signIn, storyAlert, XSS,
  type Browser, type SeededDevice,
} from './console-helpers.js';

const DIST = new URL('../console/dist/index.html', import.meta.url);

describe('SOC console in a browser', () => {
  let t: TestPlatform;
  let browser: Browser;
  let page: Page;
  let device: SeededDevice;
  let rows: Awaited<ReturnType<typeof ingestStory>>;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  before(async () => {
    // Test the console as its sources are now, not a stale build.
    const build = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/build-console.mjs', import.meta.url)), '--quiet'], { stdio: 'inherit' });
    assert.equal(build.status, 0, 'the console builds');
    assert.ok(existsSync(DIST), 'console/dist/index.html was written');
    t = await startPlatform();
    device = await enrollDevice(t, 'ws-alice-01');
    rows = await ingestStory(t, device, Date.now() - 10 * 60_000);
    const reader = await t.api('/api/v1/users', { token: t.adminToken, body: { username: 'rita', password: 'reader-password-1', role: 'reader' } });
    assert.equal(reader.status, 201, JSON.stringify(reader.body));
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  test('the console is served at / with a strict Content-Security-Policy and cacheable hashed assets', async () => {
    const index = await fetch(`${t.url}/incidents`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await index.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html);
    assert.ok(script, 'index.html loads a hashed module script');
    const asset = await fetch(`${t.url}${script[1]}`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    for (const path of ['/no-such-page', '/assets/missing-abc123.js', '/taxii2/no-such-thing']) {
      const missing = await fetch(`${t.url}${path}`);
      assert.ok(missing.status === 404 || (path.startsWith('/taxii2') && missing.status === 401), `${path}: ${missing.status}`);
      assert.doesNotMatch(missing.headers.get('content-type') ?? '', /text\/html/, `${path} is not answered with the console`);
    }
    for (const section of CONSOLE_SECTIONS) {
      const deep = await fetch(`${t.url}/${section}/some-id`);
      assert.equal(deep.status, 200, section);
      assert.match(await deep.text(), /<div id="root"><\/div>/);
    }
    const api404 = await fetch(`${t.url}/api/v1/no-such-route`);
    assert.equal(api404.status, 404);
    assert.deepEqual(await api404.json(), { error: 'not_found', message: 'no route GET /api/v1/no-such-route' });
  });

  test('sign in with a wrong password shows the API error, then signs in', async () => {
    await page.goto(`${t.url}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('wrong username or password').waitFor();
    await signIn(page, t.url, 'admin', ADMIN_PASSWORD);
    assert.match(await page.getByTestId('whoami').innerText(), /admin/);
  });

  test('the queue shows a new incident live, without a reload', async () => {
    await page.goto(`${t.url}/incidents`);
    await page.getByTestId('live-status').filter({ hasText: /^Live$/ }).waitFor({ timeout: 10_000 });
    const table = page.getByTestId('incidents-table');
    await table.getByText('No incidents match these filters.').waitFor();
    const alert = storyAlert(device, rows, 'Script executed from Downloads');
    await t.platform.bus.publish('alert.raised', { alert });
    // The incident's name is the incidents module's to choose; the row links to its page.
    const link = table.getByRole('link').first();
    await link.waitFor({ timeout: 10_000 });
    assert.equal(await table.getByRole('row').count(), 2, 'one header row and one incident');
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1, 'no reload happened');
  });

  test('the incident page shows the summary and the attack story graph', async () => {
    await page.getByTestId('incidents-table').getByRole('link').first().click();
    await page.getByRole('heading', { name: 'Attack story graph' }).waitFor();
    const graph = page.getByTestId('attack-graph');
    await graph.waitFor();
    const kinds = await graph.locator('g.graph-node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-kind')).sort());
    assert.deepEqual(kinds, ['device', 'file', 'ip', 'process', 'user']);
    assert.ok(await graph.locator('g.graph-edge').count() >= 4, 'the alert links the device to the other entities');
    await page.getByText('Execution → Command And Control').waitFor();
  });

  test('a pending action is approved from the action center and its state changes', async () => {
    const pending = await eventually('a pending remediation proposed by the automated investigation', async () => {
      const list = await t.api('/api/v1/actions?state=pending', { token: t.adminToken });
      return (list.body.actions as { id: string; kind: string; target: string }[]).find((a) => a.target === device.deviceId);
    });
    await page.goto(`${t.url}/actions`);
    const table = page.getByTestId('actions-table');
    const approve = table.getByRole('button', { name: `Approve ${pending.kind} on ws-alice-01` });
    await approve.click();
    await page.getByText('1 action approved.').waitFor();
    const after = await t.api(`/api/v1/actions/${pending.id}`, { token: t.adminToken });
    assert.notEqual(after.body.state, 'pendingApproval');
    assert.notEqual(after.body.state, 'proposed');
    assert.equal(after.body.decidedBy, 'admin');
    await page.getByRole('tab', { name: 'History' }).click();
    await table.getByRole('row').filter({ hasText: 'ws-alice-01' }).first().waitFor();
  });

  test('a responder isolates a device from its page', async () => {
    await page.goto(`${t.url}/devices`);
    await page.getByTestId('devices-table').getByRole('link', { name: 'ws-alice-01' }).click();
    await page.getByRole('button', { name: 'Isolate device' }).click();
    const dialog = page.getByRole('dialog', { name: 'Isolate ws-alice-01' });
    await dialog.getByLabel('Comment').fill('contain while we investigate');
    await dialog.getByRole('button', { name: 'Isolate' }).click();
    await page.getByText('Isolation requested for ws-alice-01.').waitFor();
    const list = await t.api(`/api/v1/actions?kind=isolate&target=${device.deviceId}`, { token: t.adminToken });
    const isolate = (list.body.actions as { kind: string; target: string; requestedBy: string; comment?: string }[]);
    assert.equal(isolate.length, 1);
    assert.equal(isolate[0].requestedBy, 'admin');
    assert.equal(isolate[0].comment, 'contain while we investigate');
    await page.getByRole('tab', { name: /Actions/ }).click();
    await page.getByTestId('device-actions').getByText('Isolate', { exact: true }).waitFor();
  });

  test('a process command line with markup renders as inert text', async () => {
    await page.goto(`${t.url}/devices/${encodeURIComponent(device.deviceId)}`);
    const timeline = page.getByTestId('device-timeline');
    await timeline.getByText(XSS, { exact: false }).first().waitFor();
    const alertLink = await t.api('/api/v1/alerts', { token: t.adminToken });
    const alertId = (alertLink.body.items as { id: string }[])[0].id;
    await page.goto(`${t.url}/alerts/${encodeURIComponent(alertId)}`);
    const cmd = page.getByTestId('cmdline').filter({ hasText: XSS });
    await cmd.first().waitFor();
    assert.equal(await cmd.first().innerText(), XSS);
    assert.equal(await page.locator('img').count(), 0, 'no <img> element was created from telemetry');
    assert.equal(await page.getByTestId('rule-author').innerText(), 'Vigil tests (console)');
    assert.deepEqual(dialogs, [], 'no script from telemetry ran');
  });

  test('creating an indicator with a bad value shows the API validation message', async () => {
    const direct = await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'sha256', value: 'not-a-hash', action: 'block', title: 'bad one' } });
    assert.equal(direct.status, 400);
    await page.goto(`${t.url}/indicators`);
    await page.getByRole('button', { name: 'Add indicator' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add indicator' });
    await dialog.getByLabel('Value').fill('not-a-hash');
    await dialog.getByLabel('Title').fill('bad one');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const error = dialog.getByTestId('indicator-error').getByRole('alert');
    await error.waitFor();
    assert.ok((await error.innerText()).includes(direct.body.message), `shows "${direct.body.message}"`);
    // A good value is accepted and listed.
    await dialog.getByLabel('Value').fill(MALWARE_SHA256);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('indicators-table').getByText(MALWARE_SHA256).waitFor();
  });

  test('a hunting query returns rows and draws its chart', async () => {
    await page.goto(`${t.url}/hunting`);
    const editor = page.getByTestId('kql-editor');
    await editor.fill('DeviceProcessEvents\n| summarize Processes = count() by bin(Timestamp, 1h)\n| render columnchart');
    await page.getByRole('button', { name: 'Run query' }).click();
    const results = page.getByTestId('hunt-results');
    await results.or(page.getByTestId('not-available')).or(page.getByRole('alert')).first().waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('not-available').count(), 0, 'the hunting API (POST /api/v1/hunt) is not available on this server');
    const failure = page.getByRole('alert');
    if (await failure.count()) assert.fail(`the query failed: ${await failure.first().innerText()}`);
    assert.match(await page.getByTestId('hunt-stats').innerText(), /^\d+ rows?/);
    assert.ok(await results.getByRole('row').count() >= 2, 'a header and at least one row');
    await page.getByTestId('chart').waitFor();
    await editor.fill('DeviceProcessEvents\n| where ProcessCommandLine contains "onerror"\n| project Timestamp, DeviceName, ProcessCommandLine');
    await page.getByRole('button', { name: 'Run query' }).click();
    await results.getByText(XSS).or(page.getByRole('alert')).first().waitFor();
    if (await failure.count()) assert.fail(`the filtered query failed: ${await failure.first().innerText()}`);
    assert.equal(await results.getByText(XSS).count(), 1, 'the filtered query shows the command line as text');
  });

  test('a hunting query becomes a custom detection rule', async () => {
    await page.goto(`${t.url}/hunting`);
    await page.getByTestId('kql-editor').fill('DeviceProcessEvents\n| where ProcessCommandLine contains "onerror"\n| project Timestamp, DeviceId, DeviceName, ReportId, SHA256');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByTestId('hunt-results').or(page.getByTestId('not-available')).first().waitFor();
    await page.getByRole('button', { name: 'Create detection rule' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create detection rule' });
    await dialog.getByLabel('Rule name').fill('Markup in command lines');
    await dialog.getByLabel('Alert title', { exact: false }).fill('Markup in a command line on {{DeviceName}}');
    assert.equal(await dialog.getByLabel('device column').inputValue(), 'DeviceId', 'entity columns are proposed from the result');
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    await dialog.getByRole('status').or(dialog.getByRole('alert')).first().waitFor();
    if (await dialog.getByRole('alert').count()) assert.fail(await dialog.getByRole('alert').innerText());
    const rules = await t.api('/api/v1/hunting/rules', { token: t.adminToken });
    const rule = (rules.body.rules as { name: string; frequency: string; entities: Record<string, string> }[]).find((r) => r.name === 'Markup in command lines');
    assert.ok(rule, 'the rule was stored');
    assert.equal(rule.frequency, '1h');
    assert.equal(rule.entities.device, 'DeviceId');
    await page.keyboard.press('Escape');
    await page.goto(`${t.url}/rules?tab=custom`);
    await page.getByText('Markup in command lines').waitFor();
  });

  test('a 10,000-row result stays windowed and keyboard navigable', async () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => ({
      Timestamp: new Date(Date.now() - 60_000 + i).toISOString(), DeviceId: device.deviceId, DeviceName: device.hostname,
      ActionType: 'ConnectionSuccess', RemoteIP: `198.51.100.${i % 250}`, RemotePort: 1024 + i, ReportId: 500_000 + i,
    }));
    const ingested = await t.api('/api/v1/ingest/DeviceNetworkEvents', { token: device.sensorToken, body: batch });
    assert.equal(ingested.status, 200, JSON.stringify(ingested.body).slice(0, 300));
    await page.goto(`${t.url}/hunting`);
    await page.getByTestId('kql-editor').fill('DeviceNetworkEvents\n| where RemotePort >= 1024\n| project RemotePort, RemoteIP\n| order by RemotePort asc\n| take 10000');
    await page.getByRole('button', { name: 'Run query' }).click();
    const results = page.getByTestId('hunt-results');
    await results.or(page.getByTestId('not-available')).or(page.getByRole('alert')).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('not-available').count(), 0, 'the hunting API (POST /api/v1/hunt) is not available on this server');
    await results.getByText('10,000 rows').waitFor();
    const rendered = await results.locator('.dt-body [role=row]').count();
    assert.ok(rendered > 0 && rendered < 100, `only the rows in view are in the DOM (${rendered})`);
    await results.locator('.dt-body [role=row]').first().focus();
    await page.keyboard.press('End');
    const last = results.locator('.dt-body [role=row][data-index="9999"]');
    await last.waitFor();
    assert.equal(await last.evaluate((el) => el === document.activeElement), true, 'End moves focus to the last row');
    assert.match(await last.innerText(), /11023/);
  });

  test('the KQL editor completes table and column names from the schema', async () => {
    await page.goto(`${t.url}/hunting`);
    const editor = page.getByTestId('kql-editor');
    await editor.fill('');
    await editor.pressSequentially('DeviceNetworkEv');
    await page.getByRole('option', { name: /DeviceNetworkEvents/ }).waitFor();
    await editor.press('Enter');
    await editor.pressSequentially('\n| where RemoteP');
    await page.getByRole('option', { name: /RemotePort/ }).waitFor();
    await editor.press('Tab');
    assert.equal(await editor.inputValue(), 'DeviceNetworkEvents\n| where RemotePort');
  });

  test('the keyboard reaches the content first, with a visible focus ring, in both themes', async () => {
    for (const theme of ['Dark', 'Light']) {
      await page.goto(`${t.url}/incidents`);
      await page.getByTestId('incidents-table').waitFor();
      await page.keyboard.press('Tab');
      const skip = page.getByRole('link', { name: 'Skip to content' });
      assert.equal(await skip.evaluate((el) => el === document.activeElement), true, 'the first Tab lands on "Skip to content"');
      const ring = await skip.evaluate((el) => getComputedStyle(el).outlineStyle);
      assert.notEqual(ring, 'none', 'focus is visible');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
      const toggle = page.getByRole('button', { name: /Switch to (dark|light) theme/ });
      if ((await toggle.getAttribute('aria-label')) === `Switch to ${theme.toLowerCase()} theme`) await toggle.click();
    }
  });

  test('a reader finds no response or approval controls', async () => {
    const readerPage = await browser.newPage();
    try {
      await signIn(readerPage, t.url, 'rita', 'reader-password-1');
      assert.match(await readerPage.getByTestId('whoami').innerText(), /reader/);
      await readerPage.goto(`${t.url}/devices/${encodeURIComponent(device.deviceId)}`);
      await readerPage.getByRole('heading', { name: 'ws-alice-01' }).waitFor();
      assert.equal(await readerPage.getByRole('group', { name: 'Response actions' }).count(), 0);
      assert.equal(await readerPage.getByRole('button', { name: /Isolate|Release|scan|quarantine/i }).count(), 0);
      await readerPage.goto(`${t.url}/actions?tab=history`);
      await readerPage.getByTestId('actions-table').waitFor();
      assert.equal(await readerPage.getByRole('button', { name: /^(Approve|Reject|Undo)/ }).count(), 0);
      assert.equal(await readerPage.getByRole('link', { name: 'Settings' }).count(), 0);
      const incidents = await t.api('/api/v1/incidents', { token: t.adminToken });
      await readerPage.goto(`${t.url}/incidents/${encodeURIComponent(incidents.body.items[0].id)}?tab=evidence`);
      await readerPage.getByTestId('incident-actions').waitFor();
      assert.equal(await readerPage.getByRole('button', { name: /^(Approve|Reject|Set status|Assign|Classify|Block everywhere)/ }).count(), 0);
      await readerPage.goto(`${t.url}/indicators`);
      await readerPage.getByTestId('indicators-table').waitFor();
      assert.equal(await readerPage.getByRole('button', { name: 'Add indicator' }).count(), 0);
    } finally {
      await readerPage.close();
    }
  });

  test('signs in through Vigil\'s identity provider (single sign-on, PKCE)', async () => {
    const ssoPage = await browser.newPage();
    try {
      await ssoPage.goto(`${t.url}/`);
      await ssoPage.getByRole('button', { name: 'Sign in with Vigil single sign-on' }).click();
      await ssoPage.waitForURL(/\/oidc\//);
      await ssoPage.getByLabel('Username').fill('rita');
      await ssoPage.getByLabel('Password').fill('reader-password-1');
      await ssoPage.getByRole('button', { name: 'Sign in', exact: true }).click();
      await ssoPage.getByTestId('whoami').waitFor({ timeout: 15_000 });
      assert.match(await ssoPage.getByTestId('whoami').innerText(), /rita\s*reader/);
      assert.equal(new URL(ssoPage.url()).pathname, '/');
      const token = await ssoPage.evaluate(() => sessionStorage.getItem('vigil.token'));
      assert.ok(token && !token.startsWith('vgl_'), 'the console holds the provider\'s access token');
    } finally {
      await ssoPage.close();
    }
  });

  test('no page raised a script error', () => {
    assert.deepEqual(pageErrors, []);
  });
});
