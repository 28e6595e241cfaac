import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { DEFAULT_POLICY, IndicatorSet, extractUrls, inspectFile, judge, parseAuthResults, scanMessage, type ScannedUrl } from './index.js';

function zipOf(entries: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text);
    const n = Buffer.from(name);
    const l = Buffer.alloc(30);
    l.writeUInt32LE(0x04034b50, 0); l.writeUInt32LE(crc32(data), 14); l.writeUInt32LE(data.length, 18); l.writeUInt32LE(data.length, 22); l.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt32LE(crc32(data), 16); c.writeUInt32LE(data.length, 20); c.writeUInt32LE(data.length, 24); c.writeUInt16LE(n.length, 28); c.writeUInt32LE(offset, 42);
    parts.push(l, n, data);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(entries.length, 8); e.writeUInt16LE(entries.length, 10); e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, e]);
}

test('true file types come from magic bytes, and a mismatching extension is flagged as renamed', () => {
  const pe = inspectFile('report.pdf', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(64)]));
  assert.equal(pe.kind, 'pe');
  assert.equal(pe.renamed, true);
  assert.equal(inspectFile('run.txt', Buffer.from('#!/bin/sh\necho\n')).kind, 'script');
  assert.equal(inspectFile('a.pdf', Buffer.from('%PDF-1.7\n')).renamed, false);
  assert.equal(inspectFile('x', Buffer.from('hello')).sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  assert.equal(inspectFile('notes.txt', Buffer.from('Grüße,\r\n\tsee https://a.example/\r\n')).kind, 'text');
  // Binary without a NUL in its first bytes is still not text.
  assert.equal(inspectFile('blob.bin', Buffer.from([0x8f, 0x01, 0x41, 0x42, 0x02, 0x03, 0xfe, 0x10, 0x43, 0x7f])).kind, 'unknown');
});

test('OOXML with vbaProject.bin and OLE with a _VBA_PROJECT stream are macro documents', () => {
  const docm = inspectFile('a.docx', zipOf([['[Content_Types].xml', '<T/>'], ['word/document.xml', '<d/>'], ['word/vbaProject.bin', 'x']]));
  assert.equal(docm.kind, 'docx');
  assert.equal(docm.hasMacros, true);
  const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(100), Buffer.from('_VBA_PROJECT', 'utf16le')]);
  assert.equal(inspectFile('a.doc', ole).hasMacros, true);
  const docx = inspectFile('b.docx', zipOf([['[Content_Types].xml', '<T/>'], ['word/document.xml', '<d/>']]));
  assert.equal(docx.hasMacros, false);
});

test('a zip is opened one level and its members are judged', () => {
  const f = inspectFile('tools.zip', zipOf([['a.txt', 'hi'], ['b.sh', '#!/bin/sh\n']]));
  assert.deepEqual(f.members.map((m) => [m.fileName, m.kind]), [['a.txt', 'text'], ['b.sh', 'script']]);
});

test('URLs come out of text and HTML, trailing punctuation trimmed, each once', () => {
  const into = new Map<string, ScannedUrl>();
  extractUrls('see https://a.example/x?y=1&amp;z=2. and (http://b.example/) and https://a.example/x?y=1&z=2', into, 'Body');
  assert.deepEqual([...into.keys()], ['https://a.example/x?y=1&z=2', 'http://b.example/']);
});

test('Authentication-Results: the first result per method', () => {
  assert.deepEqual(parseAuthResults(['mx.corp.example; spf=pass smtp.mailfrom=a.example; dkim=fail header.d=a.example; dmarc=fail (p=reject)']),
    { spf: 'pass', dkim: 'fail', dmarc: 'fail' });
});

test('a domain indicator matches subdomains, a URL indicator everything under its path', async () => {
  const set = new IndicatorSet();
  set.apply({ indicators: [
    { id: '1', type: 'domain', value: 'bad.example', action: 'block' },
    { id: '2', type: 'url', value: 'https://ok.example/phish', action: 'block' },
  ] });
  assert.equal(set.url('http://x.bad.example/a')?.id, '1');
  assert.equal(set.url('https://ok.example/phish/login?u=1')?.id, '2');
  assert.equal(set.url('https://ok.example/phishing'), undefined);
  assert.equal(set.url('https://notbad.example/'), undefined);
});

test('an allow indicator clears an attachment that would be malware by type', async () => {
  const raw = Buffer.from([
    'From: a@partner.example', 'To: b@corp.example', 'Subject: t', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'hi', '--b', 'Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="ok.sh"',
    'Content-Transfer-Encoding: base64', '', Buffer.from('#!/bin/sh\necho ok\n').toString('base64'), '--b--', '',
  ].join('\r\n'));
  const scan = await scanMessage(raw);
  assert.equal(scan.parseError, undefined);
  const ctx = { indicators: new IndicatorSet(), policy: DEFAULT_POLICY, domains: new Set(['corp.example']), internalNames: new Set<string>() };
  assert.equal(judge(scan, 'a@partner.example', ctx).verdict, 'malware');
  ctx.indicators.apply({ indicators: [{ id: 'a', type: 'sha256', value: scan.attachments[0].sha256, action: 'allow' }] });
  const j = judge(scan, 'a@partner.example', ctx);
  assert.equal(j.verdict, 'clean');
  assert.deepEqual(j.allowed, [scan.attachments[0].sha256]);
});

test('the spool journal keeps accepted mail across a restart, forgets finished entries and drops a torn last record', async () => {
  const { mkdtempSync, rmSync, readdirSync, appendFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openSpool } = await import('./spool.js');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-spool-'));
  try {
    const meta = (id: string, at: string) => ({ id, mailFrom: 'a@partner.example', recipients: ['b@corp.example'], receivedAt: at, prepend: 'X: 1\r\n', verdict: 'clean', action: 'deliver', attempts: 0, nextAttemptAt: 0, extra: {} });
    let spool = openSpool(dir);
    // Concurrent puts (one group commit or several), then one finished and one sent to a retry file.
    await Promise.all(['m1', 'm2', 'm3', 'm4'].map((id, i) => spool.put('queue', meta(id, `2026-11-28T10:00:0${i}.000Z`), Buffer.from(`body of ${id}\r\n`))));
    await spool.remove('queue', 'm2');
    const m3 = (await spool.read('queue', 'm3'))!;
    m3.meta.attempts = 1;
    await spool.update('queue', m3.meta);
    await spool.close();
    // A record torn by a crash in the middle of a write was never acknowledged.
    const log = readdirSync(join(dir, 'journal')).find((n) => n.endsWith('.log'))!;
    appendFileSync(join(dir, 'journal', log), Buffer.from([0x56, 0x4a, 0x30, 0x31, 0, 0, 0, 9, 0, 0, 0, 50, 0x7b]));
    spool = openSpool(dir);
    assert.deepEqual(spool.list('queue').map((m) => [m.id, m.attempts]), [['m1', 0], ['m3', 1], ['m4', 0]]);
    assert.equal((await spool.read('queue', 'm4'))!.raw.toString(), 'body of m4\r\n');
    assert.equal((await spool.read('queue', 'm3'))!.raw.toString(), 'body of m3\r\n');
    for (const id of ['m1', 'm3', 'm4']) await spool.remove('queue', id);
    await spool.close();
    spool = openSpool(dir);
    assert.deepEqual(spool.list('queue'), []);
    await spool.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('one-pass scan: encoded words, charset, format=flowed, Authentication-Results, and an embedded message\'s parts', async () => {
  const iso = Buffer.from('From: =?iso-8859-1?q?J=F6rg?= <J@X.example>\r\nTo: b@corp.example\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nMessage-ID: m1@x\r\n'
    + 'Authentication-Results: mx; spf=pass smtp.mailfrom=x;\r\n dkim=fail; dmarc=fail\r\nContent-Type: text/plain; charset=iso-8859-1; format=flowed\r\n'
    + 'Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe https://iso.example/p=3D1 \r\nhttps://flow.example/b\r\n', 'latin1');
  const a = await scanMessage(iso);
  assert.deepEqual([a.internetMessageId, a.subject, a.fromAddress, a.fromDisplayName, a.parseError], ['<m1@x>', 'Grüße', 'j@x.example', 'Jörg', undefined]);
  assert.deepEqual(a.auth, { spf: 'pass', dkim: 'fail', dmarc: 'fail' });
  assert.deepEqual(a.urls.map((u) => u.url), ['https://iso.example/p=1', 'https://flow.example/b']);
  const nested = Buffer.from([
    'From: a@x.example', 'Subject: fwd', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="o"', '',
    '--o', 'Content-Type: text/plain', '', 'outer https://outer.example/', '--o', 'Content-Type: message/rfc822', 'Content-Disposition: inline', '',
    'From: inner@y.example', 'Subject: inner', 'Content-Type: multipart/mixed; boundary="i"', '', '--i', 'Content-Type: text/plain', '', 'inner https://inner.example/',
    '--i', 'Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="', 'Content-Transfer-Encoding: base64', '',
    Buffer.from(`MZ${'A'.repeat(100)}`).toString('base64'), '--i--', '', '--o--', ''].join('\r\n'));
  const b = await scanMessage(nested);
  assert.deepEqual(b.attachments.map((f) => [f.fileName, f.kind, f.renamed, f.size]), [['résumé.pdf', 'pe', true, 102]]);
  assert.deepEqual(b.urls.map((u) => [u.url, u.location]), [['https://outer.example/', 'Body'], ['https://inner.example/', 'Body']]);
  assert.equal(b.parseError, undefined);
});
