import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAutomation, isCoreFolder, isPersistencePath, isTempFolder } from './index.js';

test('core folders on Linux and Windows', () => {
  for (const p of ['/usr/bin/ls', '/etc/passwd', '/sbin/init', '/lib/x.so', 'C:\\Windows\\System32\\cmd.exe', 'c:\\Program Files\\App\\a.exe', 'C:\\Program Files (x86)\\b.exe']) {
    assert.equal(isCoreFolder(p), true, p);
  }
  for (const p of ['/home/alice/a.sh', '/tmp/x', '/usrlocal/x', 'C:\\Users\\alice\\Downloads\\a.exe']) assert.equal(isCoreFolder(p), false, p);
});

test('temp and downloads folders on Linux and Windows', () => {
  for (const p of ['/tmp/x', '/var/tmp/y', '/dev/shm/z', '/home/alice/Downloads/a.elf', 'C:\\Users\\bob\\AppData\\Local\\Temp\\x.exe', 'C:\\Windows\\Temp\\y.exe', 'C:\\Users\\bob\\Downloads\\z.exe', '%TEMP%\\a.exe']) {
    assert.equal(isTempFolder(p), true, p);
  }
  for (const p of ['/home/alice/a.sh', '/usr/bin/ls', 'C:\\Users\\bob\\Documents\\z.exe', '/tmpfoo/x']) assert.equal(isTempFolder(p), false, p);
});

test('levels decide malicious remediations as documented', () => {
  assert.equal(decideAutomation('full', 'malicious', '/usr/bin/x').run, 'auto');
  assert.equal(decideAutomation('semi_all', 'malicious', '/tmp/x').run, 'approval');
  assert.equal(decideAutomation('semi_core', 'malicious', '/usr/bin/x').run, 'approval');
  assert.equal(decideAutomation('semi_core', 'malicious', '/home/a/x').run, 'auto');
  assert.equal(decideAutomation('semi_core', 'malicious', undefined).run, 'approval');
  assert.equal(decideAutomation('semi_non_temp', 'malicious', '/tmp/x').run, 'auto');
  assert.equal(decideAutomation('semi_non_temp', 'malicious', '/home/a/x').run, 'approval');
  assert.equal(decideAutomation('none', 'malicious', '/tmp/x').run, 'skip');
});

test('a suspicious verdict waits for approval even under full automation', () => {
  assert.equal(decideAutomation('full', 'suspicious', '/tmp/x').run, 'approval');
});

test('persistence paths: cron tables and systemd units', () => {
  for (const p of ['/etc/cron.d/evil', '/etc/crontab', '/var/spool/cron/crontabs/root', '/etc/systemd/system/evil.service', '/home/a/.config/systemd/user/x.timer']) {
    assert.equal(isPersistencePath(p), true, p);
  }
  for (const p of ['/etc/passwd', '/tmp/evil.service', '/etc/systemd/system/']) assert.equal(isPersistencePath(p), false, p);
});
