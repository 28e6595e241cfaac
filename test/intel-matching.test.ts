// Indicators: validation, what each type matches (and does not), precedence, expiry, scope, allow,
// antivirus detections, and bulk import/export.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSqliteStore, type Store } from '../src/store/index.js';
import { createMemoryBus, type Bus } from '../src/bus/index.js';
import { createIntelService, type IntelService } from '../src/intel/index.js';
import type { RaisedAlert } from '../src/schema/index.js';
import { VigilError } from '../src/errors/index.js';

const SHA256 = 'a'.repeat(63) + '1';
const SHA1 = 'b'.repeat(39) + '2';
const MD5 = 'c'.repeat(31) + '3';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

interface Harness { store: Store; bus: Bus; intel: IntelService; alerts: RaisedAlert[]; clock: { t: number } }

async function harness(groups: Record<string, string> = {}): Promise<Harness> {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const clock = { t: T0 };
  const intel = await createIntelService({
    store, bus, now: () => clock.t, sweepIntervalMs: 0, deviceGroupOf: (id) => groups[id],
  });
  const alerts: RaisedAlert[] = [];
  bus.subscribe('alert.raised', ({ alert }) => { alerts.push(alert); }, { name: 'test' });
  return { store, bus, intel, alerts, clock };
}

async function close(h: Harness) {
  await h.intel.close();
  await h.bus.close();
  await h.store.close();
}

const ind = (type: string, value: string, action = 'block', extra: Record<string, unknown> = {}) =>
  ({ type, value, action, title: `${type} ${value}`, ...extra });

const net = (fields: Record<string, unknown>) => ({ Timestamp: '2026-03-01T10:00:00.000Z', DeviceId: 'dev1', DeviceName: 'pc1', ReportId: 1, ...fields });

describe('validation', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(() => close(h));

  const refuse = async (body: Record<string, unknown>, field: string, fragment: RegExp) => {
    await assert.rejects(h.intel.create(body, 'alice'), (e: unknown) => {
      assert.ok(e instanceof VigilError);
      assert.equal(e.status, 400);
      assert.equal((e.detail as { field: string }).field, field);
      assert.match(e.message, fragment);
      return true;
    });
  };

  test('refuses malformed values with the field and the reason', async () => {
    await refuse(ind('sha256', 'abc'), 'value', /64 hex digits, this has 3/);
    await refuse(ind('sha1', 'z'.repeat(40)), 'value', /hexadecimal/);
    await refuse(ind('ipv4', '10.0.0.0/8'), 'value', /type 'cidr'/);
    await refuse(ind('ipv4', '300.1.1.1'), 'value', /four decimal numbers/);
    await refuse(ind('ipv4', '010.1.1.1'), 'value', /leading zeros/);
    await refuse(ind('cidr', '10.1.0.0/8'), 'value', /host bits are set; the network is 10\.0\.0\.0\/8/);
    await refuse(ind('domain', '*.evil.com'), 'value', /wildcards/);
    await refuse(ind('domain', 'com'), 'value', /at least two labels/);
    await refuse(ind('domain', 'http://evil.com'), 'value', /no scheme/);
    await refuse(ind('url', 'ftp://evil.com/x'), 'value', /only http and https/);
    await refuse(ind('nope', 'x'), 'type', /must be one of/);
    await refuse({ type: 'md5', value: MD5, action: 'block' }, 'title', /required/);
    await refuse(ind('md5', MD5, 'explode'), 'action', /must be one of/);
    await refuse(ind('severity', MD5), 'type', /must be one of/);
    await refuse(ind('md5', MD5, 'block', { severity: 'extreme' }), 'severity', /informational, low, medium, high/);
    await refuse(ind('md5', MD5, 'block', { expiresAt: '2020-01-01T00:00:00Z' }), 'expiresAt', /in the past/);
    await refuse(ind('md5', MD5, 'block', { deviceGroups: 'servers' }), 'deviceGroups', /list/);
    await refuse(ind('md5', MD5, 'allow', { generateAlert: true }), 'generateAlert', /cannot generate alerts/);
  });

  test('refuses actions a type does not have (documented table)', async () => {
    await refuse(ind('domain', 'evil.com', 'block_and_remediate'), 'action', /not allowed for domain.*allow, audit, warn, block$/);
    await refuse(ind('cert', 'd'.repeat(40), 'block'), 'action', /allowed: allow, block_and_remediate/);
    await refuse(ind('ipv4', '203.0.113.9', 'block_and_remediate'), 'action', /not allowed/);
  });

  test('canonicalises values and Defender names', async () => {
    const a = await h.intel.create({ type: 'FileSha256', value: SHA256.toUpperCase(), action: 'AlertAndBlock', title: 't' }, 'alice', { retroHunt: false });
    assert.equal(a.type, 'sha256');
    assert.equal(a.value, SHA256);
    assert.equal(a.action, 'block_and_remediate');
    const b = await h.intel.create({ type: 'IpAddress', value: '2001:DB8:0:0:0:0:0:1', action: 'Alert', title: 't' }, 'alice', { retroHunt: false });
    assert.equal(b.type, 'ipv6');
    assert.equal(b.value, '2001:db8::1');
    assert.equal(b.action, 'audit');
    const c = await h.intel.create(ind('url', 'HTTPS://Evil.Example:443/Path/'), 'alice', { retroHunt: false });
    assert.equal(c.value, 'https://evil.example/Path');
    const d = await h.intel.create(ind('domain', 'Bücher.Example.'), 'alice', { retroHunt: false });
    assert.equal(d.value, 'xn--bcher-kva.example');
  });

  test('refuses a second active indicator for the same value and scope (409)', async () => {
    await h.intel.create(ind('md5', MD5), 'alice', { retroHunt: false });
    await assert.rejects(h.intel.create(ind('md5', MD5.toUpperCase(), 'audit'), 'alice'), (e: unknown) => e instanceof VigilError && e.status === 409);
  });
});

describe('matching', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    for (const [type, value] of [
      ['sha256', SHA256], ['sha1', SHA1], ['md5', MD5], ['ipv4', '203.0.113.7'], ['ipv6', '2001:db8::7'],
      ['cidr', '198.51.100.0/24'], ['cidr', '2001:db8:aa::/48'], ['domain', 'evil.example'], ['url', 'http://bad.example/kits/x'],
      ['url', 'http://port.example:8080/p'], ['url', 'http://space.example/a%20b'], ['url', 'http://cafe.example/caf%C3%A9'],
    ]) await h.intel.create(ind(type, value), 'alice', { retroHunt: false });
  });
  after(() => close(h));

  const matched = (table: string, row: Record<string, unknown>) => h.intel.match(table, net(row)).map((d) => d.indicator.value);

  test('file hashes match in process, file and image-load rows, case-insensitively', () => {
    assert.deepEqual(matched('DeviceProcessEvents', { SHA256: SHA256.toUpperCase() }), [SHA256]);
    assert.deepEqual(matched('DeviceFileEvents', { SHA1: SHA1 }), [SHA1]);
    assert.deepEqual(matched('DeviceImageLoadEvents', { MD5: MD5 }), [MD5]);
    assert.deepEqual(matched('DeviceProcessEvents', { SHA256: 'a'.repeat(64), SHA1: 'b'.repeat(40), MD5: 'c'.repeat(32) }), []);
  });

  test('a file with several matching hashes gives one decision, the SHA-256 one', () => {
    assert.deepEqual(matched('DeviceFileEvents', { SHA256, SHA1, MD5 }), [SHA256]);
  });

  test('attachment hashes match in EmailAttachmentInfo', () => {
    assert.deepEqual(h.intel.match('EmailAttachmentInfo', { SHA256, RecipientEmailAddress: 'bob@corp.example' }).map((d) => d.indicator.value), [SHA256]);
  });

  test('an IPv4 address matches exactly, and nothing else', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '203.0.113.7' }), ['203.0.113.7']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '203.0.113.70' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '::ffff:203.0.113.7' }), ['203.0.113.7']);
  });

  test('an IPv6 address matches in any spelling', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '2001:0db8:0000:0000:0000:0000:0000:0007' }), ['2001:db8::7']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '2001:db8::8' }), []);
  });

  test('a CIDR range matches the addresses inside it only', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '198.51.100.0' }), ['198.51.100.0/24']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '198.51.100.255' }), ['198.51.100.0/24']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '198.51.101.1' }), []);
    assert.deepEqual(matched('DeviceLogonEvents', { RemoteIP: '198.51.100.9' }), ['198.51.100.0/24']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '2001:db8:aa:ffff::1' }), ['2001:db8:aa::/48']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '2001:db8:ab::1' }), []);
  });

  test('a domain matches itself and its subdomains, not its parent or look-alikes', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'evil.example' }), ['evil.example']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'cdn.a.Evil.Example' }), ['evil.example']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'https://login.evil.example/x?y=1' }), ['evil.example']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'example' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'notevil.example' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'evil.example.com' }), []);
  });

  test('a URL matches everything under its path, not siblings or the parent path', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://bad.example/kits/x' }), ['http://bad.example/kits/x']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://bad.example/kits/x/' }), ['http://bad.example/kits/x']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://BAD.example/kits/x/payload.exe?id=3' }), ['http://bad.example/kits/x']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://bad.example/kits/xy' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://bad.example/kits' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'https://bad.example/kits/x' }), [], 'the indicator names http');
  });

  test('seen URLs are read as a browser would: ports, case, fragments, dot segments, escapes, IP literals', () => {
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://PORT.example:8080/p/q#frag' }), ['http://port.example:8080/p']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://port.example/p' }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://bad.example:80/a/../kits/x/y' }), ['http://bad.example/kits/x']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://space.example/a%20b/c' }), ['http://space.example/a%20b']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://cafe.example/café/menu' }), ['http://cafe.example/caf%C3%A9']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://user@bad.example/kits/x' }), ['http://bad.example/kits/x']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'http://[2001:db8::7]/x' }), ['2001:db8::7']);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteUrl: 'bad.example/kits/x/z' }), ['http://bad.example/kits/x'], 'no scheme seen: any');
  });

  test('URLs match in EmailUrlInfo, UrlClickEvents and file origins', () => {
    assert.deepEqual(h.intel.match('EmailUrlInfo', { Url: 'http://bad.example/kits/x/1' }).map((d) => d.indicator.value), ['http://bad.example/kits/x']);
    assert.deepEqual(h.intel.match('UrlClickEvents', { Url: 'https://www.evil.example/' }).map((d) => d.indicator.value), ['evil.example']);
    assert.deepEqual(matched('DeviceFileEvents', { FileOriginUrl: 'http://bad.example/kits/x/a.zip' }), ['http://bad.example/kits/x']);
  });

  test('rows of other tables and empty columns match nothing', () => {
    assert.deepEqual(matched('DeviceRegistryEvents', { SHA256 }), []);
    assert.deepEqual(matched('DeviceNetworkEvents', { RemoteIP: '', RemoteUrl: null }), []);
  });
});

describe('precedence, expiry, scope and allow', () => {
  test('the stronger hash wins: a SHA-256 allow beats an MD5 block of the same file', async () => {
    const h = await harness();
    await h.intel.create(ind('md5', MD5, 'block'), 'a', { retroHunt: false });
    await h.intel.create(ind('sha256', SHA256, 'allow'), 'a', { retroHunt: false });
    const d = h.intel.match('DeviceFileEvents', net({ SHA256, MD5 }));
    assert.equal(d.length, 1);
    assert.equal(d[0].indicator.action, 'allow');
    await close(h);
  });

  test('a device-group scope beats all devices, and applies only inside that group', async () => {
    const h = await harness({ dev1: 'servers', dev2: 'laptops' });
    await h.intel.create(ind('ipv4', '203.0.113.7', 'block'), 'a', { retroHunt: false });
    await h.intel.create(ind('ipv4', '203.0.113.7', 'allow', { deviceGroups: ['servers'] }), 'a', { retroHunt: false });
    await h.intel.handleRows('DeviceNetworkEvents', 's1', [net({ DeviceId: 'dev1', RemoteIP: '203.0.113.7' })]);
    await h.intel.handleRows('DeviceNetworkEvents', 's2', [net({ DeviceId: 'dev2', RemoteIP: '203.0.113.7', ReportId: 2 })]);
    await h.bus.drain();
    assert.deepEqual(h.alerts.map((a) => a.evidence[0].key), ['dev2']);
    assert.equal(h.intel.isAllowed('ip', '203.0.113.7', 'dev1'), true);
    assert.equal(h.intel.isAllowed('ip', '203.0.113.7', 'dev2'), false);
    assert.equal(h.intel.isAllowed('ip', '203.0.113.7'), false);
    await close(h);
  });

  test('among equals, block beats warn beats allow beats audit; a longer URL path beats a domain', async () => {
    const h = await harness();
    await h.intel.create(ind('domain', 'evil.example', 'allow'), 'a', { retroHunt: false });
    await h.intel.create(ind('domain', 'x.evil.example', 'warn'), 'a', { retroHunt: false });
    await h.intel.create(ind('url', 'x.evil.example/a', 'audit'), 'a', { retroHunt: false });
    const first = (u: string) => h.intel.match('DeviceNetworkEvents', net({ RemoteUrl: u }))[0]?.indicator.action;
    assert.equal(first('http://y.evil.example/'), 'allow');
    assert.equal(first('http://x.evil.example/b'), 'warn');
    assert.equal(first('https://x.evil.example/a/b'), 'audit');
    await h.intel.create(ind('ipv4', '192.0.2.1', 'warn'), 'a', { retroHunt: false });
    await h.intel.create(ind('cidr', '192.0.2.0/24', 'block'), 'a', { retroHunt: false });
    assert.equal(h.intel.match('DeviceNetworkEvents', net({ RemoteIP: '192.0.2.1' }))[0].indicator.action, 'warn', 'exact beats range');
    assert.equal(h.intel.match('DeviceNetworkEvents', net({ RemoteIP: '192.0.2.2' }))[0].indicator.action, 'block');
    await close(h);
  });

  test('generateAlert and the action decide whether an alert is raised', async () => {
    const h = await harness();
    await h.intel.create(ind('ipv4', '192.0.2.1', 'block', { generateAlert: false }), 'a', { retroHunt: false });
    await h.intel.create(ind('ipv4', '192.0.2.2', 'audit', { severity: 'low' }), 'a', { retroHunt: false });
    await h.intel.create(ind('ipv4', '192.0.2.3', 'allow'), 'a', { retroHunt: false });
    const blocker = await h.intel.create(ind('ipv4', '192.0.2.4', 'warn', { severity: 'high', title: 'C2 server' }), 'a', { retroHunt: false });
    await h.intel.handleRows('DeviceNetworkEvents', 's1', ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((ip, i) => net({ RemoteIP: ip, ReportId: i })));
    await h.bus.drain();
    assert.deepEqual(h.alerts.map((a) => [a.detectionSource, a.severity, a.title]), [['customTi', 'low', 'ipv4 192.0.2.2'], ['customTi', 'high', 'C2 server']]);
    const alert = h.alerts[1];
    assert.equal(alert.rule?.id, blocker.id);
    assert.deepEqual(alert.evidence.map((e) => [e.kind, e.key, e.role]), [['device', 'dev1', 'Impacted'], ['ip', '192.0.2.4', 'Related']]);
    assert.equal(alert.events[0].table, 'DeviceNetworkEvents');
    await close(h);
  });

  test('an expired indicator stops matching at once and leaves the table at the sweep', async () => {
    const h = await harness();
    const x = await h.intel.create(ind('ipv4', '192.0.2.9', 'block', { expiresAt: '2026-03-01T11:00:00.000Z' }), 'a', { retroHunt: false });
    assert.equal(h.intel.match('DeviceNetworkEvents', net({ RemoteIP: '192.0.2.9' })).length, 1);
    h.clock.t = Date.parse('2026-03-01T11:00:00.000Z');
    assert.equal(h.intel.match('DeviceNetworkEvents', net({ RemoteIP: '192.0.2.9' })).length, 0);
    assert.equal(await h.intel.sweep(), 1);
    assert.equal(h.intel.get(x.id)?.state, 'expired');
    assert.equal(h.intel.size(), 0);
    assert.equal((await h.intel.list()).indicators.length, 0);
    assert.equal((await h.intel.list({ includeExpired: true })).indicators.length, 1);
    // The value is free again.
    await h.intel.create(ind('ipv4', '192.0.2.9', 'audit'), 'a', { retroHunt: false });
    await close(h);
  });

  test('an update changes matching at once; type and value cannot change', async () => {
    const h = await harness();
    const x = await h.intel.create(ind('sha256', SHA256, 'block'), 'a', { retroHunt: false });
    assert.equal(h.intel.isAllowed('file', SHA256), false);
    const y = await h.intel.update(x.id, { action: 'allow' }, 'a');
    assert.deepEqual([y.action, y.generateAlert, y.version > x.version], ['allow', false, true]);
    assert.equal(h.intel.isAllowed('file', SHA256), true);
    await assert.rejects(h.intel.update(x.id, { value: SHA1 }, 'a'), (e: unknown) => e instanceof VigilError && (e.detail as { field: string }).field === 'value');
    await h.intel.remove(x.id, 'a');
    assert.equal(h.intel.isAllowed('file', SHA256), false);
    assert.equal(h.intel.get(x.id), undefined);
    await close(h);
  });

  test('isAllowed answers for files, IPs and URLs', async () => {
    const h = await harness();
    await h.intel.create(ind('sha1', SHA1, 'allow'), 'a', { retroHunt: false });
    await h.intel.create(ind('domain', 'good.example', 'allow'), 'a', { retroHunt: false });
    await h.intel.create(ind('cidr', '10.0.0.0/8', 'allow'), 'a', { retroHunt: false });
    assert.equal(h.intel.isAllowed('file', SHA1.toUpperCase()), true);
    assert.equal(h.intel.isAllowed('file', SHA256), false);
    assert.equal(h.intel.isAllowed('url', 'https://a.good.example/x'), true);
    assert.equal(h.intel.isAllowed('url', 'https://good.example.net/x'), false);
    assert.equal(h.intel.isAllowed('ip', '10.2.3.4'), true);
    assert.equal(h.intel.isAllowed('ip', '11.2.3.4'), false);
    assert.equal(h.intel.isAllowed('user', 'alice'), false);
    await close(h);
  });
});

describe('antivirus detections from the agent', () => {
  test('become antivirus alerts, or customTi ones when an indicator caused them', async () => {
    const h = await harness();
    const block = await h.intel.create(ind('sha256', SHA256, 'block_and_remediate', { severity: 'low', title: 'Dropper' }), 'a', { retroHunt: false });
    const av = (extra: Record<string, unknown>, fields: Record<string, unknown> = {}) => net({
      ActionType: 'AntivirusDetection', FileName: 'x.exe', FolderPath: '/tmp/x.exe', SHA256: 'e'.repeat(64),
      AdditionalFields: { ThreatName: 'EICAR-Test-File', Engine: 'eicar', Action: 'quarantined', ...extra }, ...fields,
    });
    await h.intel.handleRows('DeviceEvents', 's1', [
      av({}),
      av({ Engine: 'indicator', IndicatorId: block.id, ThreatName: 'CustomEnterpriseBlock' }, { SHA256, ReportId: 2 }),
      net({ ActionType: 'ProcessCreated', ReportId: 3 }),
    ]);
    await h.bus.drain();
    assert.deepEqual(h.alerts.map((a) => [a.detectionSource, a.severity, a.rule?.id ?? null]), [
      ['antivirus', 'medium', 'antivirus:eicar:EICAR-Test-File'],
      ['customTi', 'low', block.id],
    ]);
    assert.equal(h.alerts[0].title, "'EICAR-Test-File' malware was prevented");
    assert.deepEqual(h.alerts[0].evidence.map((e) => [e.kind, e.key]), [['device', 'dev1'], ['file', 'e'.repeat(64)]]);
    await close(h);
  });

  test('an allow indicator suppresses the antivirus alert of that file', async () => {
    const h = await harness();
    await h.intel.create(ind('sha256', 'e'.repeat(64), 'allow'), 'a', { retroHunt: false });
    await h.intel.handleRows('DeviceEvents', 's1', [net({
      ActionType: 'AntivirusDetection', SHA256: 'E'.repeat(64), AdditionalFields: { ThreatName: 'T', Engine: 'yara', Action: 'detected' },
    })]);
    await h.bus.drain();
    assert.equal(h.alerts.length, 0);
    await close(h);
  });
});

describe('feed', () => {
  test('an empty server lets a new sensor wait, and answers it with the first indicator as a full snapshot', async () => {
    const h = await harness();
    assert.deepEqual(await h.intel.feed({ since: 0, waitMs: 20 }), { version: 0, indicators: [], removed: [], full: true });
    const waiting = h.intel.feed({ since: 0, waitMs: 30_000 });
    const x = await h.intel.create(ind('md5', MD5), 'a', { retroHunt: false });
    const answer = await waiting;
    assert.deepEqual([answer.version, answer.indicators.map((i) => i.id), answer.full], [1, [x.id], true]);
    const later = h.intel.feed({ since: 1, waitMs: 30_000 });
    await h.intel.remove(x.id, 'a');
    assert.deepEqual(await later, { version: 2, indicators: [], removed: [x.id], full: false });
    // A version this server never issued (its database was replaced) gets everything, to replace what the sensor had.
    assert.deepEqual(await h.intel.feed({ since: 99, waitMs: 0 }), { version: 2, indicators: [], removed: [], full: true });
    await close(h);
  });

  test('scoped indicators reach only sensors of devices in those groups', async () => {
    const h = await harness({ dev1: 'servers' });
    const all = await h.intel.create(ind('md5', MD5), 'a', { retroHunt: false });
    const scoped = await h.intel.create(ind('sha1', SHA1, 'block', { deviceGroups: ['servers'] }), 'a', { retroHunt: false });
    const ids = async (deviceId?: string) => (await h.intel.feed({ since: 0, waitMs: 0, deviceId })).indicators.map((i) => i.id).sort();
    assert.deepEqual(await ids('dev1'), [all.id, scoped.id].sort());
    assert.deepEqual(await ids('dev2'), [all.id]);
    assert.deepEqual(await ids(undefined), [all.id]);
    await close(h);
  });
});

describe('bulk import and export', () => {
  test('CSV import lands good rows, reports bad ones with line and field, and exports back', async () => {
    const h = await harness();
    const csv = [
      'type,value,action,title,severity,deviceGroups,generateAlert,expiresAt',
      `sha256,${SHA256},block,"Dropper, stage 1",high,servers;laptops,true,`,
      'domain,evil.example,warn,Phish kit,,,,',
      'ipv4,999.1.1.1,block,bad ip,,,,',
      'url,http://bad.example/a,block_and_remediate,nope,,,,',
    ].join('\n');
    const report = await h.intel.importCsv(csv, 'alice', { retroHunt: false });
    assert.equal(report.created, 2);
    assert.deepEqual(report.rejected.map((r) => [r.line, r.field]), [[4, 'value'], [5, 'action']]);
    const out = h.intel.exportCsv();
    const lines = out.trim().split('\r\n');
    assert.equal(lines.length, 3);
    assert.match(out, /"Dropper, stage 1"/);
    assert.match(out, /servers;laptops|laptops;servers/);
    // Re-importing the export changes nothing.
    const again = await h.intel.importCsv(out, 'alice', { retroHunt: false });
    assert.deepEqual([again.created, again.updated, again.unchanged, again.rejected.length], [0, 0, 2, 0]);
    await close(h);
  });

  test('JSON import upserts on type, value and scope', async () => {
    const h = await harness();
    await h.intel.importMany([ind('md5', MD5, 'audit')], 'alice', { retroHunt: false });
    const r = await h.intel.importMany([ind('md5', MD5, 'block'), ind('md5', MD5, 'block', { deviceGroups: ['x'] }), { type: 'md5' }], 'alice', { retroHunt: false });
    assert.deepEqual([r.created, r.updated, r.rejected.map((x) => x.index)], [1, 1, [2]]);
    assert.deepEqual(h.intel.exportAll().map((i) => [i.action, i.deviceGroups.join()]).sort(), [['block', ''], ['block', 'x']]);
    await close(h);
  });
});
