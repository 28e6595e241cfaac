// Unit tests of the agent's parsers and stores: /proc/net decoding, auth-log parsing, the isolation
// ruleset, EICAR recognition, ReportId persistence and the quarantine round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAddress, ipType, parseProcNet } from './network-monitor.js';
import { parseAuthMessage, parseSyslogLine } from './logon-monitor.js';
import { isolationRuleset, parseHostPort } from './isolation.js';
import { EICAR, createScanner, isEicar } from './scanner.js';
import { hashFile } from './hashes.js';
import { createReportIds } from './report-ids.js';
import { openStateDir } from './state-dir.js';
import { createQuarantineStore } from './quarantine.js';
import { autorunCategory } from './investigation-package.js';

test('addresses in /proc/net decode little-endian IPv4, IPv6 and IPv4-mapped IPv6', () => {
  assert.equal(decodeAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeAddress('0201E70A'), '10.231.1.2');
  assert.equal(decodeAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
  assert.equal(decodeAddress('B80D0120000000000000000001000000'), '2001:db8::1');
});

test('a /proc/net/tcp table parses into sockets with state, uid and inode', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0',
    '   1: 0201E70A:C350 0101E70A:0050 01 00000000:00000000 00:00000000 00000000  1000        0 67890 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');
  assert.deepEqual(parseProcNet(text, 'Tcp'), [
    { protocol: 'Tcp', localIp: '127.0.0.1', localPort: 8080, remoteIp: '0.0.0.0', remotePort: 0, state: 10, uid: 0, inode: 12345 },
    { protocol: 'Tcp', localIp: '10.231.1.2', localPort: 50000, remoteIp: '10.231.1.1', remotePort: 80, state: 1, uid: 1000, inode: 67890 },
  ]);
  assert.equal(ipType('10.231.1.1'), 'Private');
  assert.equal(ipType('8.8.8.8'), 'Public');
  assert.equal(ipType('::1'), 'Loopback');
});

test('sshd, su and sudo lines become logon records; other lines are ignored', () => {
  const ok = parseSyslogLine('2026-11-28T20:17:59.123456+00:00 ws1 sshd[812]: Accepted publickey for alice from 203.0.113.9 port 50522 ssh2: ED25519 SHA256:x');
  assert.deepEqual(ok && { ...ok, record: parseAuthMessage(ok.program, ok.message, ok.pid) }, {
    time: '2026-11-28T20:17:59.123Z', program: 'sshd', pid: 812,
    message: 'Accepted publickey for alice from 203.0.113.9 port 50522 ssh2: ED25519 SHA256:x',
    record: {
      ActionType: 'LogonSuccess', LogonType: 'Network', AccountName: 'alice', Protocol: 'ssh', RemoteIP: '203.0.113.9', RemotePort: 50522,
      InitiatingProcessFileName: 'sshd', InitiatingProcessId: 812, AdditionalFields: { AuthenticationMethod: 'publickey' }, IsLocalAdmin: false,
    },
  });
  assert.equal(parseAuthMessage('sshd', 'Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2')?.FailureReason, 'UnknownUser');
  assert.equal(parseAuthMessage('sshd', 'Failed password for bob from 198.51.100.7 port 4242 ssh2')?.AccountName, 'bob');
  const sudo = parseAuthMessage('sudo', 'pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)');
  assert.deepEqual([sudo?.ActionType, sudo?.LogonType, sudo?.AccountName, sudo?.IsLocalAdmin], ['LogonSuccess', 'Elevation', 'root', true]);
  assert.equal(parseAuthMessage('su', 'FAILED SU (to root) bob on pts/1')?.ActionType, 'LogonFailed');
  assert.equal(parseAuthMessage('CRON', 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)'), undefined);
  assert.equal(parseSyslogLine('Nov  3 08:01:02 ws1 sshd[9]: hello', new Date('2026-11-28T00:00:00Z'))?.time, '2026-11-03T08:01:02.000Z');
});

test('the isolation ruleset drops by default and allows loopback, the server and DNS, and is replace-safe', () => {
  const rules = isolationRuleset([
    { address: '10.0.0.5', port: 8443, protocol: 'tcp' },
    { address: '10.0.0.53', port: 53, protocol: 'udp' },
    { address: 'fd00::7', protocol: 'any' },
  ]);
  assert.equal(rules, [
    'table inet vigil_isolation',
    'delete table inet vigil_isolation',
    'table inet vigil_isolation {',
    '  chain output {',
    '    type filter hook output priority -10; policy drop;',
    '    oif "lo" accept',
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    '    ip daddr 10.0.0.5 tcp dport 8443 accept',
    '    ip daddr 10.0.0.53 udp dport 53 accept',
    '    ip6 daddr fd00::7 accept',
    '  }',
    '  chain input {',
    '    type filter hook input priority -10; policy drop;',
    '    iif "lo" accept',
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    '    ip saddr 10.0.0.5 tcp sport 8443 accept',
    '    ip saddr 10.0.0.53 udp sport 53 accept',
    '    ip6 saddr fd00::7 accept',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority -10; policy drop;',
    '  }',
    '}',
    '',
  ].join('\n'));
  assert.deepEqual(parseHostPort('vigil.corp:443'), { host: 'vigil.corp', port: 443 });
  assert.deepEqual(parseHostPort('[fd00::1]:8080'), { host: 'fd00::1', port: 8080 });
  assert.deepEqual(parseHostPort('fd00::1'), { host: 'fd00::1' });
  assert.throws(() => parseHostPort('bad host; drop'), /not host or host:port/);
});

test('EICAR is recognised with trailing white space only, up to 128 bytes', () => {
  assert.equal(isEicar(Buffer.from(EICAR), 68), true);
  assert.equal(isEicar(Buffer.from(`${EICAR}\r\n`), 70), true);
  assert.equal(isEicar(Buffer.from(`${EICAR} more`), 73), false);
  assert.equal(isEicar(Buffer.from(`x${EICAR}`), 69), false);
});

test('ReportIds keep growing across restarts, past every id handed out before', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-agent-ids-'));
  try {
    const state = await openStateDir(dir);
    const first = createReportIds(state, 100);
    const a = Array.from({ length: 250 }, () => first.next());
    assert.deepEqual([a[0], a[249]], [1, 250]);
    const second = createReportIds(state, 100); // a restart (or a crash) after 250 ids
    const b = second.next();
    assert.ok(b > 250, `first id after restart ${b} is above 250`);
    assert.equal(statSync(join(dir, 'report-id.json')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a quarantined file is stored defanged with mode 000 and restored with its content, mode and time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-agent-q-'));
  try {
    const store = await createQuarantineStore(join(dir, 'q'));
    const path = join(dir, 'evil.sh');
    writeFileSync(path, 'echo evil\n', { mode: 0o755 });
    const item = await store.quarantine(path, { sha256: 'ABC'.toLowerCase(), threatName: 'T', engine: 'yara' });
    assert.equal(existsSync(path), false);
    assert.equal(statSync(join(dir, 'q')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'q', `${item.id}.bin`)).mode & 0o777, 0);
    assert.equal(readFileSync(join(dir, 'q', `${item.id}.bin`)).includes(Buffer.from('echo evil')), false);
    await assert.rejects(store.restore('def'), /nothing with SHA-256 def/);
    await store.restore('abc');
    assert.equal(readFileSync(path, 'utf8'), 'echo evil\n');
    assert.equal(statSync(path).mode & 0o777, 0o755);
    assert.deepEqual(readdirSync(join(dir, 'q')), ['store.key']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('autorun locations are recognised; other paths are not', () => {
  assert.equal(autorunCategory('/etc/cron.d/backdoor'), 'cron');
  assert.equal(autorunCategory('/etc/systemd/system/evil.service'), 'systemd');
  assert.equal(autorunCategory('/home/alice/.bashrc'), 'shell-profile');
  assert.equal(autorunCategory('/home/alice/.config/autostart/x.desktop'), 'xdg-autostart');
  assert.equal(autorunCategory('/home/alice/Documents/notes.txt'), undefined);
  assert.equal(autorunCategory('/etc/passwd'), undefined);
});

test('YARA rules from the rules folder match files, small ones from memory and large ones from disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-agent-yara-'));
  try {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'marker.yar'), 'rule Vigil_Test_Marker { meta: threat = "Test.Marker" severity = "high" strings: $m = "VIGIL-TEST-MARKER-7731" condition: $m }\n');
    const scanner = await createScanner({ yaraRulesDir: join(dir, 'rules') });
    assert.equal(scanner.yaraRules, 2); // the built-in EICAR rule and this one
    const small = join(dir, 'small.txt');
    writeFileSync(small, 'hello VIGIL-TEST-MARKER-7731 world');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 0x41), Buffer.from('VIGIL-TEST-MARKER-7731')]));
    const clean = join(dir, 'clean.txt');
    writeFileSync(clean, 'nothing to see');
    for (const path of [small, big]) {
      const verdict = await scanner.scan(path, (await hashFile(path))!);
      assert.deepEqual(verdict, { engine: 'yara', threatName: 'Test.Marker', disposition: 'block', severity: 'high' }, path);
    }
    assert.equal(await scanner.scan(clean, (await hashFile(clean))!), undefined);
    // An allow indicator for the hash wins over YARA.
    const h = (await hashFile(small))!;
    scanner.setIndicators([{ id: 'i1', type: 'sha256', value: h.sha256.toUpperCase(), action: 'allow' }]);
    assert.equal(await scanner.scan(small, h), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
