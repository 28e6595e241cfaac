// The gateway's relay client against a real SMTP server (smtp-server) on loopback: STARTTLS when offered,
// pipelined commands, transparency (dot-stuffing) and bare LFs, refused recipients and messages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { ensureTls } from '../src/mail/index.js';
import { createRelayClient, wireFixes, type RelayClient } from '../src/mail/relay-client.js';

interface Got { from: string; to: string[]; raw: Buffer; secure: boolean }

describe('relay client', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-relay-'));
  const got: Got[] = [];
  let server: SMTPServer;
  let client: RelayClient;

  before(async () => {
    const tls = ensureTls(tmp, 'relay-test', () => {});
    server = new SMTPServer({
      authOptional: true, disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'], logger: false, closeTimeout: 500,
      ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('nobody@')) { cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 })); return; }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          if (raw.includes('X-Refuse: yes')) { cb(Object.assign(new Error('5.7.1 refused'), { responseCode: 554 })); return; }
          got.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, secure: session.secure });
          cb(null);
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = createRelayClient({ target: { host: '127.0.0.1', port: (server.server.address() as { port: number }).port }, name: 'gw.test', maxConnections: 2 });
  });
  after(async () => {
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the next hop gets the trace header and the message unchanged, over STARTTLS, on reused connections', async () => {
    const raw = Buffer.from('From: a@partner.example\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\nmiddle . dot\r\n.\r\nlast');
    const head = Buffer.from('X-Vigil-Verdict: clean; action=deliver; id=1\r\n');
    for (let i = 0; i < 5; i++) await client.send('a@partner.example', ['b@corp.example', 'c@corp.example'], head, raw);
    assert.equal(got.length, 5);
    for (const g of got) {
      assert.equal(g.from, 'a@partner.example');
      assert.deepEqual(g.to, ['b@corp.example', 'c@corp.example']);
      // smtp-server removes the transparency dots again; a message without a final line break gets one (RFC 5321 §4.1.1.4).
      assert.equal(g.raw.toString('latin1'), `${head.toString('latin1')}${raw.toString('latin1')}\r\n`);
    }
    assert.equal(got[0].secure, true);
    got.length = 0;
  });

  test('bare LFs go out as CRLF', async () => {
    await client.send('a@partner.example', ['b@corp.example'], Buffer.from('X-T: 1\r\n'), Buffer.from('Subject: lf\n\nline one\n.dot after LF\nend\n'));
    assert.equal(got.pop()!.raw.toString('latin1'), 'X-T: 1\r\nSubject: lf\r\n\r\nline one\r\n.dot after LF\r\nend\r\n');
  });

  test('a refused recipient is reported while the others get the message; all refused or a refused message is an error with its code', async () => {
    const r = await client.send('a@partner.example', ['nobody@corp.example', 'b@corp.example'], Buffer.from('X-T: 2\r\n'), Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    assert.deepEqual(r.rejected.map((x) => x.recipient), ['nobody@corp.example']);
    assert.deepEqual(got.pop()!.to, ['b@corp.example']);
    await assert.rejects(client.send('a@partner.example', ['nobody@corp.example'], Buffer.from('X-T: 3\r\n'), Buffer.from('Subject: x\r\n\r\nhi\r\n')),
      (e: { responseCode?: number }) => e.responseCode === 550);
    await assert.rejects(client.send('a@partner.example', ['b@corp.example'], Buffer.from('X-Refuse: yes\r\n'), Buffer.from('Subject: x\r\n\r\nhi\r\n')),
      (e: { responseCode?: number }) => e.responseCode === 554);
    // The connection is still good after the refusals.
    await client.send('a@partner.example', ['b@corp.example'], Buffer.from('X-T: 4\r\n'), Buffer.from('Subject: after\r\n\r\nok\r\n'));
    assert.match(got.pop()!.raw.toString('latin1'), /^X-T: 4\r\nSubject: after/);
  });

  test('a next hop that is not listening is a temporary error (no response code)', async () => {
    const probe = new SMTPServer({ logger: false, disabledCommands: ['AUTH', 'STARTTLS'] });
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.server.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const dead = createRelayClient({ target: { host: '127.0.0.1', port }, name: 'gw.test', maxConnections: 1, connectionTimeoutMs: 2000 });
    await assert.rejects(dead.send('a@partner.example', ['b@corp.example'], Buffer.from('X: 1\r\n'), Buffer.from('x\r\n')),
      (e: { responseCode?: number }) => e.responseCode === undefined);
    dead.close();
  });

  test('wireFixes finds line-leading dots and bare LFs only', () => {
    assert.deepEqual(wireFixes(Buffer.from('a\r\nb\r\n')), []);
    assert.deepEqual(wireFixes(Buffer.from('.a\r\n.b\nc')), [-1, 3, 6]);
  });
});
