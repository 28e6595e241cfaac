// The mail gateway on loopback without the platform: real SMTP clients (swaks, nodemailer) in, a real SMTP sink out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import { startMailGateway, type MailGateway } from '../src/mail/index.js';
import { hasSwaks, startSink, stripTrace, swaks, waitFor, type Sink } from './mail-helpers.js';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
// The first bytes of an ELF executable: enough for magic-byte detection.
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), Buffer.alloc(120, 0x41)]);

describe('mail gateway (SMTP in, sink out)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
  let sink: Sink;
  let gateway: MailGateway;
  const logs: string[] = [];

  before(async () => {
    sink = await startSink();
    gateway = await startMailGateway({
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: sink.port },
      domains: ['corp.example'], spoolDir: join(tmp, 'spool'), retryBaseMs: 100, maxMessageBytes: 200_000,
      internalUsers: [{ address: 'ceo@corp.example', displayName: 'Carol Chief' }],
      log: (level, message) => logs.push(`${level} ${message}`),
    });
  });
  after(async () => {
    await gateway.close();
    await sink.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port: gateway.port, secure: false, tls: { rejectUnauthorized: false } });

  test('clean mail from swaks is relayed byte-identical after the prepended trace headers', { skip: !hasSwaks() && 'swaks is not installed (apt-get install swaks)' }, async () => {
    const original = [
      'From: Alice External <alice@partner.example>', 'To: bob@corp.example', 'Subject: quarterly numbers',
      'Message-ID: <clean-1@partner.example>', 'Date: Sat, 28 Nov 2026 10:00:00 +0000', 'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8', '', 'Hello Bob,', '.leading dot line', 'see https://partner.example/report?q=1', '', 'Alice', '',
    ].join('\r\n');
    const file = join(tmp, 'clean.eml');
    writeFileSync(file, original);
    const before = sink.messages.length;
    const r = await swaks(['--port', String(gateway.port), '--from', 'alice@partner.example', '--to', 'bob@corp.example', '--data', `@${file}`]);
    assert.equal(r.status, 0, r.out);
    const got = await waitFor('relay', () => sink.messages.length > before && sink.messages[sink.messages.length - 1]);
    // The same client straight to the sink: what the gateway relays must be exactly that, after its trace headers.
    const direct = await swaks(['--port', String(sink.port), '--from', 'alice@partner.example', '--to', 'bob@corp.example', '--data', `@${file}`]);
    assert.equal(direct.status, 0, direct.out);
    const reference = await waitFor('direct', () => sink.messages.length > before + 1 && sink.messages[sink.messages.length - 1]);
    assert.ok(reference.raw.toString('latin1').startsWith(original)); // swaks sent the file (and may end it with its own CRLF)
    const { prepended, original: body } = stripTrace(got.raw);
    assert.match(prepended, /^Received: from client\.test /);
    assert.match(prepended, /X-Vigil-Verdict: clean; action=deliver;/);
    assert.ok(body.equals(reference.raw), `relayed:\n${body.toString('latin1')}\ndirect:\n${reference.raw.toString('latin1')}`);
    assert.deepEqual(got.to, ['bob@corp.example']);
    assert.equal(got.from, 'alice@partner.example');
  });

  test('nodemailer delivers over STARTTLS', async () => {
    const before = sink.messages.length;
    const info = await transport().sendMail({
      from: 'alice@partner.example', to: 'bob@corp.example', subject: 'tls', text: 'over TLS https://partner.example/x',
      messageId: '<tls-1@partner.example>',
    });
    assert.match(String(info.response), /^250 /);
    const got = await waitFor('relay', () => sink.messages.length > before && sink.messages[sink.messages.length - 1]);
    assert.match(got.raw.toString('latin1'), /with ESMTPS id/);
  });

  test('an EICAR attachment is quarantined, not relayed', async () => {
    const before = sink.messages.length;
    const info = await transport().sendMail({
      from: 'mallory@evil.example', to: 'bob@corp.example', subject: 'eicar', text: 'open it',
      attachments: [{ filename: 'eicar.com.txt', content: EICAR }],
    });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const q = gateway.listQuarantine().find((m) => m.networkMessageId === id);
    assert.ok(q, 'quarantined');
    assert.equal(q.verdict, 'malware');
    assert.ok(q.threats.includes('Malware: EICAR-Test-File'), q.threats.join(','));
    assert.equal(sink.messages.length, before);
  });

  test('a renamed executable is caught by its magic bytes', async () => {
    const info = await transport().sendMail({
      from: 'mallory@evil.example', to: 'bob@corp.example', subject: 'invoice', text: 'your invoice',
      attachments: [{ filename: 'invoice.pdf', content: ELF, contentType: 'application/pdf' }],
    });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const q = gateway.listQuarantine().find((m) => m.networkMessageId === id);
    assert.ok(q);
    assert.equal(q.verdict, 'malware');
    assert.ok(q.threats.includes('Malware: Executable attachment (elf, renamed as invoice.pdf)'), q.threats.join(','));
  });

  test('a block-listed URL makes the message phish', async () => {
    await gateway.applyIndicators({ indicators: [{ id: 'i-url', type: 'url', value: 'http://phish.example/login', action: 'block', title: 'Credential phish' }] });
    const info = await transport().sendMail({
      from: 'it@phish-sender.example', to: 'bob@corp.example', subject: 'password expiry',
      html: '<p>Renew <a href="http://phish.example/login?user=bob">here</a></p>',
    });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const q = gateway.listQuarantine().find((m) => m.networkMessageId === id);
    assert.ok(q);
    assert.equal(q.verdict, 'phish');
    assert.deepEqual(q.threats, ['Phish: Credential phish']);
  });

  test('a display-name spoof of an internal user is phish', async () => {
    const info = await transport().sendMail({ from: '"Carol Chief" <carol.chief@freemail.example>', to: 'bob@corp.example', subject: 'urgent wire', text: 'pay now' });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const q = gateway.listQuarantine().find((m) => m.networkMessageId === id);
    assert.ok(q);
    assert.equal(q.verdict, 'phish');
    assert.deepEqual(q.threats, ["Phish: Display-name spoof of internal user 'Carol Chief'"]);
  });

  test('a macro document from outside is malware; a zip is opened one level', async () => {
    const { zipOf } = await import('./mail-zip.js');
    const docm = zipOf([['[Content_Types].xml', '<Types/>'], ['word/document.xml', '<w:document/>'], ['word/vbaProject.bin', 'VBA']]);
    const archive = zipOf([['readme.txt', 'hello'], ['tool.sh', '#!/bin/sh\necho hi\n']]);
    const info = await transport().sendMail({
      from: 'hr@partner.example', to: 'bob@corp.example', subject: 'docs', text: 'see attached',
      attachments: [{ filename: 'offer.docm', content: docm }, { filename: 'tools.zip', content: archive }],
    });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const q = gateway.listQuarantine().find((m) => m.networkMessageId === id);
    assert.ok(q);
    assert.deepEqual([...q.threats].sort(), [
      'Malware: Office macro from an external sender (offer.docm)',
      'Malware: Script attachment (script)',
    ]);
  });

  test('a released message is relayed with the release in its trace and audited', async () => {
    const q = gateway.listQuarantine().find((m) => m.verdict === 'phish')!;
    const before = sink.messages.length;
    await gateway.release(q.networkMessageId, 'analyst-ann');
    const got = await waitFor('relay', () => sink.messages.length > before && sink.messages[sink.messages.length - 1]);
    assert.match(got.raw.toString('latin1'), /X-Vigil-Verdict: phish; action=released;/);
    assert.equal(gateway.listQuarantine().some((m) => m.networkMessageId === q.networkMessageId), false);
    assert.ok(logs.some((l) => l.includes(`${q.networkMessageId} released from quarantine by analyst-ann`)));
  });

  test('a malformed MIME message is accepted with a clear log line and the gateway keeps working', async () => {
    const raw = [
      'From: odd@partner.example', 'To: bob@corp.example', 'Subject: broken', 'this line is not a header',
      'Content-Type: multipart/mixed; boundary="XYZ"', '', '--XYZ', 'Content-Type: text/plain', '', 'no closing boundary', '',
    ].join('\r\n');
    const before = sink.messages.length;
    const info = await transport().sendMail({ envelope: { from: 'odd@partner.example', to: ['bob@corp.example'] }, raw });
    const id = /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];
    const line = logs.find((l) => l.includes(id) && l.includes('malformed MIME'));
    assert.ok(line, logs.join('\n'));
    assert.match(line, /header line 4 has no field name/);
    assert.match(line, /multipart body with boundary 'XYZ' is never closed/);
    await waitFor('relay', () => sink.messages.length > before);
    const next = await transport().sendMail({ from: 'alice@partner.example', to: 'bob@corp.example', subject: 'after', text: 'still up' });
    assert.match(String(next.response), /^250 /);
  });

  test('recipients outside the served domains are refused (no open relay)', async () => {
    await assert.rejects(
      transport().sendMail({ from: 'alice@partner.example', to: 'someone@elsewhere.example', subject: 'x', text: 'y' }),
      (e: { responseCode?: number }) => e.responseCode === 550);
  });

  test('a message over the size limit is refused with 552', async () => {
    await assert.rejects(
      transport().sendMail({ from: 'alice@partner.example', to: 'bob@corp.example', subject: 'big', text: 'x'.repeat(300_000) }),
      (e: { responseCode?: number }) => e.responseCode === 552);
  });
});

describe('mail gateway limits', () => {
  test('a connection may send only so many messages; the next MAIL FROM gets 421', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
    const sink = await startSink();
    const gateway = await startMailGateway({
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: sink.port }, domains: ['corp.example'],
      spoolDir: join(tmp, 'spool'), maxMessagesPerConnection: 2, tls: false, log: () => {},
    });
    const socket = connect(gateway.port, '127.0.0.1');
    let buffer = '';
    socket.on('data', (d) => { buffer += String(d); });
    const reply = async () => {
      const line = await waitFor('SMTP reply', () => { const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffer); return m ? m : undefined; });
      buffer = buffer.slice(buffer.indexOf(line[0]) + line[0].length);
      return Number(line[1]);
    };
    const say = async (line: string) => { socket.write(`${line}\r\n`); return reply(); };
    try {
      assert.equal(await reply(), 220);
      socket.write('EHLO client.test\r\n');
      await waitFor('EHLO', () => /^250 /m.test(buffer));
      buffer = '';
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const mail = await say('MAIL FROM:<alice@partner.example>');
        codes.push(mail);
        if (mail !== 250) break;
        assert.equal(await say('RCPT TO:<bob@corp.example>'), 250);
        assert.equal(await say('DATA'), 354);
        assert.equal(await say(`Subject: n${i}\r\n\r\nbody ${i}\r\n.`), 250);
      }
      assert.deepEqual(codes, [250, 250, 421]);
    } finally {
      socket.destroy();
      await gateway.close();
      await sink.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('mail gateway durability', () => {
  test('mail queued while the next hop is down survives a restart and is delivered', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
    const probe = await startSink();
    const port = probe.port;
    await probe.close(); // the next hop is down
    const options = {
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port }, domains: ['corp.example'],
      spoolDir: join(tmp, 'spool'), retryBaseMs: 100, log: () => {},
    };
    let gateway = await startMailGateway(options);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: gateway.port, secure: false, tls: { rejectUnauthorized: false } });
    for (let i = 0; i < 3; i++) await t.sendMail({ from: 'alice@partner.example', to: 'bob@corp.example', subject: `queued ${i}`, text: `message ${i}` });
    // Accepted (each 250 came after the message was on disk), none relayed: the next hop is down.
    assert.equal(gateway.queued(), 3);
    await gateway.close();
    const sink = await startSink(port);
    gateway = await startMailGateway(options);
    try {
      await waitFor('3 relayed', () => sink.messages.length === 3);
      assert.deepEqual(sink.messages.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())![1]).sort(), ['queued 0', 'queued 1', 'queued 2']);
      await waitFor('queue empty', () => readdirSync(join(tmp, 'spool', 'queue')).length === 0);
    } finally {
      await gateway.close();
      await sink.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
