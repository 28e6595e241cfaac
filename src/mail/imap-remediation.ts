// Moves a delivered message in the recipient's mailbox over IMAP (imapflow): the one path for zero-hour purge
// and the response module's email actions. The message is found by its Message-ID header.
import { ImapFlow } from 'imapflow';

export interface ImapOptions {
  readonly host: string;
  readonly port: number;
  readonly secure?: boolean;
  /** The gateway's credentials. With `masterUser` the gateway logs in as `<mailbox>*<user>` (Dovecot master users). */
  readonly user: string;
  readonly password: string;
  readonly masterUser?: boolean;
}

/** Destinations: Defender's "move to junk", "quarantine" and "soft delete" (to deleted items), or back to the inbox. */
export type MailDestination = 'Junk' | 'Quarantine' | 'Deleted Items' | 'Inbox';

/** Per-message result, as Explorer remediation reports it (defender-xdr.md §10). */
export type MoveResult = 'Success' | 'Already in destination' | 'Already quarantined' | 'Not found' | 'Failure';

const SPECIAL: Partial<Record<MailDestination, string>> = { Junk: '\\Junk', 'Deleted Items': '\\Trash' };

export async function moveMessage(imap: ImapOptions, mailbox: string, internetMessageId: string, to: MailDestination): Promise<{ result: MoveResult; detail?: string }> {
  const client = new ImapFlow({
    host: imap.host, port: imap.port, secure: imap.secure ?? false, logger: false,
    auth: { user: imap.masterUser ? `${mailbox}*${imap.user}` : imap.user, pass: imap.password },
    tls: { rejectUnauthorized: false },
  });
  client.on('error', () => { /* reported through the awaited calls */ });
  try {
    await client.connect();
    const folders = await client.list();
    const special = SPECIAL[to];
    let target = to === 'Inbox' ? 'INBOX' : folders.find((f) => (special && f.specialUse === special) || f.path === to)?.path;
    if (!target) {
      target = to;
      await client.mailboxCreate(target);
    }
    const id = internetMessageId.trim();
    // Look in the folders mail is delivered to or left in; the destination itself means "already there".
    const places = folders.map((f) => f.path).filter((p) => !/^(Quarantine)$/i.test(p) || p === target);
    const order = [target, ...places.filter((p) => p !== target)];
    for (const folder of order) {
      const lock = await client.getMailboxLock(folder);
      try {
        const uids = await client.search({ header: { 'message-id': id } }, { uid: true });
        if (!uids || uids.length === 0) continue;
        if (folder === target) return { result: 'Already in destination' };
        await client.messageMove(uids, target, { uid: true });
        return { result: 'Success' };
      } finally { lock.release(); }
    }
    // Out of the user's reach already (zero-hour purge quarantined it): a removal's end state holds.
    const quarantine = folders.find((f) => /^Quarantine$/i.test(f.path))?.path;
    if (quarantine && quarantine !== target && to !== 'Inbox') {
      const lock = await client.getMailboxLock(quarantine);
      try {
        const uids = await client.search({ header: { 'message-id': id } }, { uid: true });
        if (uids && uids.length) return { result: 'Already quarantined' };
      } finally { lock.release(); }
    }
    return { result: 'Not found' };
  } catch (error) {
    return { result: 'Failure', detail: (error as Error).message };
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Appends a raw message to a mailbox folder (the demo's and tests' delivery agent). */
export async function appendMessage(imap: ImapOptions, mailbox: string, raw: Buffer, folder = 'INBOX'): Promise<void> {
  const client = new ImapFlow({
    host: imap.host, port: imap.port, secure: imap.secure ?? false, logger: false,
    auth: { user: imap.masterUser ? `${mailbox}*${imap.user}` : imap.user, pass: imap.password },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    if (folder !== 'INBOX' && !(await client.list()).some((f) => f.path === folder)) await client.mailboxCreate(folder);
    await client.append(folder, raw);
  } finally {
    await client.logout().catch(() => client.close());
  }
}
