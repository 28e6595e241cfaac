// A small SMTP server that hands every message to a mailbox over IMAP APPEND: the "mail server" behind the
// gateway in tests and `vigil demo`, where Dovecot has no SMTP/LMTP listener of its own.
import { SMTPServer } from 'smtp-server';
import { appendMessage, type ImapOptions } from './imap-remediation.js';

export interface ImapDeliverySink {
  readonly port: number;
  /** Messages handed over so far. */
  delivered(): number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (port 0: a free one) and appends each message to each recipient's INBOX (or Junk when tagged). */
export async function startImapDeliverySink(options: { imap: ImapOptions; port?: number; host?: string }): Promise<ImapDeliverySink> {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false, closeTimeout: 1000,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const head = raw.subarray(0, Math.max(0, raw.indexOf('\r\n\r\n'))).toString('latin1');
        const folder = /^X-Spam-Flag:\s*YES/im.test(head) ? 'Junk' : 'INBOX';
        Promise.all(session.envelope.rcptTo.map((r) => appendMessage(options.imap, r.address.toLowerCase(), raw, folder)))
          .then(() => { count++; cb(null); }, (error: Error) => cb(Object.assign(new Error(`4.3.0 mailbox unavailable: ${error.message}`), { responseCode: 451 })));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  return {
    port: (server.server.address() as { port: number }).port,
    delivered: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
