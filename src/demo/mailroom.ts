import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import {
  findDovecot, startImapDeliverySink, startMailGateway, startThrowawayDovecot, type MailGateway,
} from '../mail/index.js';

/** The demo's mail: a throw-away Dovecot mail store, the Vigil gateway in front of it, and a way to look in a mailbox. */
export interface Mailroom {
  readonly gateway: MailGateway;
  /** Sends a message through the gateway (as the outside world would) and returns its Message-ID. */
  send(mail: { from: string; to: string; subject: string; text: string; attachment: { filename: string; content: string } }): Promise<string>;
  /** Folders of the mailbox that hold the message, as its owner sees them. */
  foldersWith(user: string, messageId: string): Promise<string[]>;
  close(): Promise<void>;
}

export const dovecotInstalled = (): boolean => findDovecot() !== undefined;

export async function startMailroom(options: {
  dir: string; server: string; sensorToken: string; users: readonly { name: string; password: string }[];
}): Promise<Mailroom> {
  mkdirSync(options.dir, { recursive: true });
  const imap = await startThrowawayDovecot({ dir: join(options.dir, 'dovecot'), users: options.users });
  const closers: Array<() => Promise<void>> = [() => imap.close()];
  try {
    const creds = { host: '127.0.0.1', port: imap.imapPort, user: imap.master.name, password: imap.master.password, masterUser: true };
    const mda = await startImapDeliverySink({ imap: creds });
    closers.push(() => mda.close());
    const gateway = await startMailGateway({
      server: options.server, token: options.sensorToken, pollWaitSeconds: 1,
      listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: mda.port },
      domains: ['corp.example'], spoolDir: join(options.dir, 'spool'), imap: creds, log: () => {},
      // Scripts are left to indicators here, so that the sample reaches Bob before anyone knows it.
      policy: { executables: 'allow' },
    });
    closers.push(() => gateway.close());
    await gateway.ready;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: gateway.port, secure: false, tls: { rejectUnauthorized: false } });
    let n = 0;
    return {
      gateway,
      async send(mail) {
        const messageId = `<demo-${Date.now()}-${n++}@partner.example>`;
        await transport.sendMail({ ...mail, messageId, attachments: [mail.attachment] });
        return messageId;
      },
      async foldersWith(user, messageId) {
        const password = options.users.find((u) => u.name === user)?.password ?? '';
        const client = new ImapFlow({ host: '127.0.0.1', port: imap.imapPort, secure: false, logger: false, auth: { user, pass: password } });
        client.on('error', () => {});
        try {
          await client.connect();
          const folders: string[] = [];
          for (const folder of await client.list()) {
            const lock = await client.getMailboxLock(folder.path);
            try {
              const found = await client.search({ header: { 'message-id': messageId } }, { uid: true });
              if (found && found.length) folders.push(folder.path);
            } finally { lock.release(); }
          }
          return folders.sort();
        } finally { await client.logout().catch(() => client.close()); }
      },
      async close() {
        transport.close();
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw error;
  }
}
