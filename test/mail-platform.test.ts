// The mail gateway with the real platform (createPlatform) and, for zero-hour purge and email actions, a real
// Dovecot started with a throw-away configuration: telemetry, alerts with mailbox and sender, one incident for
// mail and endpoint, indicators from the feed, ZAP with its EmailPostDeliveryEvents row, response actions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import {
  findDovecot, startImapDeliverySink, startMailGateway, startThrowawayDovecot,
  type ImapDeliverySink, type MailGateway, type ThrowawayDovecot,
} from '../src/mail/index.js';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { startSink, waitFor, type Sink } from './mail-helpers.js';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const EICAR_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';

const send = (port: number, mail: nodemailer.SendMailOptions) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, tls: { rejectUnauthorized: false } }).sendMail(mail);
const idOf = (info: { response: string }) => /queued as ([0-9a-f-]{36})/.exec(String(info.response))![1];

async function rowsOf(t: TestPlatform, table: string, nmid: string) {
  const r = await t.api(`/api/v1/events/${table}?limit=1000`, { token: t.adminToken });
  return (r.body.rows as Record<string, any>[]).filter((row) => row.NetworkMessageId === nmid);
}

describe('mail gateway with the platform', () => {
  let t: TestPlatform;
  let sink: Sink;
  let gateway: MailGateway;
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-mail-'));

  before(async () => {
    t = await startPlatform();
    sink = await startSink();
    gateway = await startMailGateway({
      server: t.url, token: await t.sensor('mail-gateway'), pollWaitSeconds: 1,
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: sink.port },
      domains: ['corp.example'], spoolDir: join(tmp, 'spool'), log: () => {},
    });
    await gateway.ready;
  });
  after(async () => {
    await gateway.close();
    await sink.close();
    await t.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('EICAR: quarantined, EmailEvents/EmailAttachmentInfo rows, and an alert with mailbox, sender and file', async () => {
    const nmid = idOf(await send(gateway.port, {
      from: '"Mallory" <mallory@evil.example>', to: 'bob@corp.example', subject: 'invoice', text: 'see https://evil.example/pay',
      messageId: '<eicar-1@evil.example>', attachments: [{ filename: 'invoice.txt', content: EICAR }],
    }));
    assert.ok(gateway.listQuarantine().some((q) => q.networkMessageId === nmid));
    await gateway.flushTelemetry();
    const [event] = await waitFor('EmailEvents row', async () => { const r = await rowsOf(t, 'EmailEvents', nmid); return r.length ? r : undefined; });
    assert.equal(event.InternetMessageId, '<eicar-1@evil.example>');
    assert.equal(event.SenderFromAddress, 'mallory@evil.example');
    assert.equal(event.SenderMailFromAddress, 'mallory@evil.example');
    assert.equal(event.RecipientEmailAddress, 'bob@corp.example');
    assert.equal(event.Subject, 'invoice');
    assert.equal(event.DeliveryAction, 'Blocked');
    assert.equal(event.DeliveryLocation, 'Quarantine');
    assert.equal(event.ThreatTypes, 'Malware');
    assert.equal(event.DetectionMethods, 'Antimalware protection');
    assert.equal(event.EmailDirection, 'Inbound');
    assert.equal(event.AttachmentCount, 1);
    assert.equal(event.UrlCount, 1);
    const [att] = await rowsOf(t, 'EmailAttachmentInfo', nmid);
    assert.equal(att.SHA256, EICAR_SHA256);
    assert.equal(att.FileName, 'invoice.txt');
    const [url] = await rowsOf(t, 'EmailUrlInfo', nmid);
    assert.equal(url.Url, 'https://evil.example/pay');
    assert.equal(url.UrlDomain, 'evil.example');
    const alert = await waitFor('mail alert', async () => {
      const r = await t.api('/api/v1/alerts?limit=100', { token: t.adminToken });
      return (r.body.items as any[]).find((a) => a.detectionSource === 'mail');
    });
    assert.equal(alert.title, 'Email messages containing malware were blocked');
    const keys = alert.evidence.map((e: any) => `${e.kind}:${e.key}`).sort();
    assert.ok(keys.includes('mailbox:bob@corp.example'), keys.join(' '));
    assert.ok(keys.includes('sender:mallory@evil.example'), keys.join(' '));
    assert.ok(keys.includes(`file:${EICAR_SHA256}`), keys.join(' '));
  });

  test('mail and endpoint alerts about the same file meet in one incident', async () => {
    const mail = await waitFor('mail alert', async () => {
      const r = await t.api('/api/v1/alerts?limit=100', { token: t.adminToken });
      return (r.body.items as any[]).find((a) => a.detectionSource === 'mail' && a.incidentId);
    });
    const device = await t.sensor('endpoint');
    const ingest = await t.api('/api/v1/ingest/DeviceEvents', {
      token: device,
      body: [{
        Timestamp: new Date().toISOString(), DeviceId: 'a'.repeat(40), DeviceName: 'bob-laptop', ActionType: 'AntivirusDetection',
        FileName: 'invoice.com', FolderPath: '/home/bob/Downloads/invoice.com', SHA256: EICAR_SHA256, ReportId: 1,
        AdditionalFields: { ThreatName: 'EICAR-Test-File', Engine: 'eicar', Action: 'quarantined' },
      }],
    });
    assert.equal(ingest.status, 200, JSON.stringify(ingest.body));
    const endpoint = await waitFor('endpoint alert', async () => {
      const r = await t.api('/api/v1/alerts?limit=100', { token: t.adminToken });
      return (r.body.items as any[]).find((a) => a.detectionSource === 'antivirus' && a.incidentId);
    });
    assert.equal(endpoint.incidentId, mail.incidentId);
  });

  test('a URL indicator added on the platform reaches the gateway through the feed and makes new mail phish', async () => {
    const created = await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'url', value: 'http://login-portal.example/reset', action: 'block', title: 'Password reset phish' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    let nmid = '';
    await waitFor('phish verdict', async () => {
      nmid = idOf(await send(gateway.port, {
        from: 'helpdesk@login-portal.example', to: 'carol@corp.example', subject: 'reset', html: '<a href="http://login-portal.example/reset?u=carol">reset</a>',
      }));
      return gateway.listQuarantine().find((q) => q.networkMessageId === nmid && q.verdict === 'phish');
    }, 40);
    await gateway.flushTelemetry();
    const [event] = await waitFor('row', async () => { const r = await rowsOf(t, 'EmailEvents', nmid); return r.length ? r : undefined; });
    assert.equal(event.ThreatTypes, 'Phish');
    assert.equal(event.DetectionMethods, 'URL malicious reputation');
  });

  test('an analyst releases a quarantined message through the response module; the gateway relays it', async () => {
    const q = gateway.listQuarantine().find((m) => m.verdict === 'malware')!;
    assert.ok(q);
    const before = sink.messages.length;
    const created = await t.api('/api/v1/actions', { token: t.adminToken, body: { kind: 'release_email', target: q.networkMessageId } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitFor('action done', async () => {
      const a = await t.api(`/api/v1/actions/${created.body.id}`, { token: t.adminToken });
      return ['succeeded', 'failed'].includes(a.body.state) && a.body;
    }, 200);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const got = await waitFor('relayed', () => sink.messages.length > before && sink.messages[sink.messages.length - 1]);
    assert.match(got.raw.toString('latin1'), new RegExp(`X-Vigil-Verdict: malware; action=released; id=${q.networkMessageId}`));
    const audit = await t.api('/api/v1/audit?limit=200', { token: t.adminToken });
    assert.ok(JSON.stringify(audit.body).includes(created.body.id));
  });
});

const dovecot = findDovecot();

describe('zero-hour auto purge and email actions (Dovecot)', { skip: !dovecot && 'dovecot is not installed (Debian: apt-get install dovecot-imapd); skipping ZAP tests' }, () => {
  let t: TestPlatform;
  let imap: ThrowawayDovecot;
  let mda: ImapDeliverySink;
  let gateway: MailGateway;
  let sensorToken: string;
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
  const users = [{ name: 'bob@corp.example', password: 'bob-pass-1' }, { name: 'carol@corp.example', password: 'carol-pass-1' }];

  before(async () => {
    t = await startPlatform();
    imap = await startThrowawayDovecot({ dir: join(tmp, 'dovecot'), users });
    const creds = { host: '127.0.0.1', port: imap.imapPort, user: imap.master.name, password: imap.master.password, masterUser: true };
    mda = await startImapDeliverySink({ imap: creds });
    sensorToken = await t.sensor('mail-gateway');
    gateway = await startMailGateway({
      server: t.url, token: sensorToken, pollWaitSeconds: 1,
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: mda.port },
      domains: ['corp.example'], spoolDir: join(tmp, 'spool'), imap: creds, log: () => {},
      policy: { executables: 'allow' }, // as in the demo: the sample script is delivered, and only an indicator condemns it
    });
    await gateway.ready;
  });
  after(async () => {
    await gateway?.close();
    await mda?.close();
    await imap?.close();
    await t?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The folders of a mailbox that hold a message with this Message-ID, as the user sees them. */
  async function foldersWith(user: { name: string; password: string }, messageId: string): Promise<string[]> {
    const c = new ImapFlow({ host: '127.0.0.1', port: imap.imapPort, secure: false, logger: false, auth: { user: user.name, pass: user.password } });
    c.on('error', () => {});
    try {
      await c.connect();
      const out: string[] = [];
      for (const f of await c.list()) {
        const lock = await c.getMailboxLock(f.path);
        try {
          const found = await c.search({ header: { 'message-id': messageId } }, { uid: true });
          if (found && found.length) out.push(f.path);
        } finally { lock.release(); }
      }
      return out.sort();
    } catch (error) {
      throw new Error(`IMAP as ${user.name}: ${(error as Error).message} ${(error as { responseText?: string }).responseText ?? ''} (Dovecot log: ${imap.logFile})`);
    } finally { await c.logout().catch(() => c.close()); }
  }

  test('an indicator added after delivery purges the message into Quarantine, with its EmailPostDeliveryEvents row', async () => {
    // Delivered first: a script nothing condemns yet (executables are left to indicators in this gateway's policy).
    const sample = Buffer.from(`#!/bin/bash\n# harmless sample ${Date.now()}\necho hi\n`);
    const textSha = createHash('sha256').update(sample).digest('hex');
    const nmid = idOf(await send(gateway.port, {
      from: 'partner@partner.example', to: 'bob@corp.example', subject: 'notes', text: 'attached', messageId: '<zap-1@partner.example>',
      attachments: [{ filename: 'setup.sh', content: sample }],
    }));
    await waitFor('in the inbox', async () => (await foldersWith(users[0], '<zap-1@partner.example>')).includes('INBOX'));
    const created = await t.api('/api/v1/indicators', { token: t.adminToken, body: { type: 'sha256', value: textSha, action: 'block_and_remediate', title: 'Sample dropper' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor('moved to Quarantine', async () => {
      const f = await foldersWith(users[0], '<zap-1@partner.example>');
      return f.length === 1 && f[0] === 'Quarantine';
    }, 200);
    await gateway.flushTelemetry();
    const [row] = await waitFor('post-delivery row', async () => { const r = await rowsOf(t, 'EmailPostDeliveryEvents', nmid); return r.length ? r : undefined; });
    assert.equal(row.ActionType, 'Malware ZAP');
    assert.equal(row.Action, 'Moved to quarantine');
    assert.equal(row.ActionResult, 'Success');
    assert.equal(row.RecipientEmailAddress, 'bob@corp.example');
    assert.equal(row.InternetMessageId, '<zap-1@partner.example>');
    assert.equal(row.DeliveryLocation, 'Quarantine');
  });

  test('the response module moves a delivered message to Junk through the gateway command channel, and undo brings it back', async () => {
    const nmid = idOf(await send(gateway.port, {
      from: 'news@partner.example', to: 'carol@corp.example', subject: 'newsletter', text: 'hello', messageId: '<act-1@partner.example>',
    }));
    await waitFor('in the inbox', async () => (await foldersWith(users[1], '<act-1@partner.example>')).includes('INBOX'));
    await gateway.flushTelemetry();
    await waitFor('EmailEvents row', async () => (await rowsOf(t, 'EmailEvents', nmid)).length > 0);
    const created = await t.api('/api/v1/actions', { token: t.adminToken, body: { kind: 'move_to_junk', target: nmid } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitFor('action succeeded', async () => {
      const a = await t.api(`/api/v1/actions/${created.body.id}`, { token: t.adminToken });
      return ['succeeded', 'failed'].includes(a.body.state) && a.body;
    }, 200);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.deepEqual(await foldersWith(users[1], '<act-1@partner.example>'), ['Junk']);
    await gateway.flushTelemetry();
    const rows = await waitFor('row', async () => { const r = await rowsOf(t, 'EmailPostDeliveryEvents', nmid); return r.length ? r : undefined; });
    assert.equal(rows[0].ActionType, 'Manual remediation');
    assert.equal(rows[0].Action, 'Moved to junk folder');
    const undo = await t.api(`/api/v1/actions/${created.body.id}/undo`, { token: t.adminToken, body: {} });
    assert.equal(undo.status, 201, JSON.stringify(undo.body));
    await waitFor('back in the inbox', async () => {
      const f = await foldersWith(users[1], '<act-1@partner.example>');
      return f.length === 1 && f[0] === 'INBOX';
    }, 200);
  });
});
