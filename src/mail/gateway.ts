// The mail gateway: SMTP in (smtp-server), scan and verdict, durable spool, relay to the next hop
// (nodemailer) with retry, quarantine with audited release, telemetry to the platform, zero-hour purge
// (ZAP) over IMAP, and the email actions of the response module over the command channel.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { createScanPool } from './scan-pool.js';
import { createRelayClient } from './relay-client.js';
import { useFastDataScan } from './smtp-data-scan.js';
import { listArea, openSpool, takeFrom, type SpoolMeta } from './spool.js';
import {
  actionFor, DEFAULT_POLICY, IndicatorSet, judge, type FeedIndicator, type Judgement, type MailPolicy, type VerdictAction,
} from './verdict.js';
import { messageRows, postDeliveryRow } from './telemetry.js';
import {
  createPlatformClient, createTelemetryOutbox, followCommands, followIntelFeed, type ChannelCommand, type PlatformClient,
} from './platform-client.js';
import { moveMessage, type ImapOptions, type MailDestination, type MoveResult } from './imap-remediation.js';

export interface HostPort { readonly host: string; readonly port: number }

export interface MailGatewayOptions {
  /** Where to accept SMTP (port 0 picks a free one). */
  readonly listen: HostPort;
  /** The organisation's mail server, which receives clean mail over SMTP. */
  readonly nextHop: HostPort;
  /** Domains the gateway accepts mail for (lower case); other recipients get 550 5.7.1 (no open relay). */
  readonly domains: readonly string[];
  /** Spool folder: queue, quarantine, TLS key, ZAP index, telemetry outbox. */
  readonly spoolDir: string;
  /**
   * Spool folders of sibling gateway processes that share the listening port (`--workers`, node:cluster):
   * their quarantines are listed and released here too. Each process owns its own spool folder.
   */
  readonly peerSpoolDirs?: readonly string[];
  /** The platform's URL and the gateway's sensor token; without them, no telemetry, indicators or commands. */
  readonly server?: string;
  readonly token?: string;
  /** The mail server's IMAP side, for ZAP and email actions. */
  readonly imap?: ImapOptions;
  readonly policy?: Partial<MailPolicy>;
  /** Largest message accepted, in bytes (SMTP SIZE, RFC 1870); default 35 MiB. */
  readonly maxMessageBytes?: number;
  /** Recipients per message; default 100. */
  readonly maxRecipients?: number;
  /** Messages one connection may send before it is told to reconnect; default 1000. */
  readonly maxMessagesPerConnection?: number;
  /** Simultaneous connections from one address; default 50. */
  readonly maxConnectionsPerIp?: number;
  /** Known mailboxes; when given, other recipients in our domains get 550 5.1.1. */
  readonly recipients?: readonly string[];
  /** Internal users' display names (for display-name spoof detection). */
  readonly internalUsers?: readonly { address: string; displayName: string }[];
  /** TLS key and certificate (PEM) for STARTTLS; default a self-signed pair generated into the spool; false: no STARTTLS. */
  readonly tls?: { key: string | Buffer; cert: string | Buffer } | false;
  /**
   * Threads that parse and inspect messages beside the SMTP, spool and relay work of the main thread; 0 scans on
   * the main thread. Default: one per core but one, at least 1 and at most 4.
   */
  readonly scanThreads?: number;
  /** Parallel relays to the next hop; default 16. */
  readonly relayConcurrency?: number;
  /** First retry delay after a temporary failure (doubles up to 5 min); default 1000 ms. */
  readonly retryBaseMs?: number;
  /** Host name in the banner and trace header. */
  readonly name?: string;
  /** How far back ZAP acts (hours); default 48 as Defender's ZAP. */
  readonly zapWindowHours?: number;
  /** Long-poll wait for the feed and the command channel; default 25 s. */
  readonly pollWaitSeconds?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called when a message was relayed (accept-to-relay latency in ms), for benchmarks. */
  readonly onRelayed?: (id: string, ms: number) => void;
}

export interface QuarantinedMessage {
  readonly networkMessageId: string;
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly receivedAt: string;
  readonly verdict: string;
  readonly subject: string;
  readonly threats: readonly string[];
}

export interface MailGateway {
  readonly port: number;
  /** Quarantined messages, oldest first. */
  listQuarantine(): QuarantinedMessage[];
  /** Releases a quarantined message to its recipients (audited in the spool's quarantine-audit.log). */
  release(networkMessageId: string, actor: string): Promise<void>;
  /** Runs an email action on a delivered message (the response module's soft_delete / move_to_junk / quarantine). */
  remediate(networkMessageId: string, kind: EmailActionKind, opts?: { internetMessageId?: string; recipients?: readonly string[]; actor?: string }): Promise<RemediationOutcome>;
  /** Messages waiting for relay. */
  queued(): number;
  /** Resolves once the indicator feed delivered its first snapshot (immediately without a platform). */
  readonly ready: Promise<void>;
  /** Applies indicators directly (tests, or a gateway without a platform). */
  applyIndicators(update: { indicators?: FeedIndicator[]; removed?: string[]; full?: boolean }): Promise<void>;
  /** Sends pending telemetry now. */
  flushTelemetry(): Promise<void>;
  close(): Promise<void>;
}

export type EmailActionKind = 'soft_delete' | 'move_to_junk' | 'quarantine' | 'move_to_inbox';
export interface RemediationOutcome { readonly results: readonly { recipient: string; result: MoveResult; detail?: string }[] }

const DESTINATION: Record<EmailActionKind, MailDestination> = {
  soft_delete: 'Deleted Items', move_to_junk: 'Junk', quarantine: 'Quarantine', move_to_inbox: 'Inbox',
};
const ACTION_TEXT: Record<MailDestination, string> = {
  'Deleted Items': 'Soft delete', Junk: 'Moved to junk folder', Quarantine: 'Moved to quarantine', Inbox: 'Moved to inbox',
};
const LOCATION_TEXT: Record<MailDestination, string> = {
  'Deleted Items': 'Deleted items', Junk: 'Junk folder', Quarantine: 'Quarantine', Inbox: 'Inbox/folder',
};

/** What ZAP remembers about a delivered message (48 h). */
interface DeliveredEntry {
  readonly id: string;
  readonly imid: string;
  readonly rcpts: readonly string[];
  readonly at: number;
  readonly hashes: readonly string[];
  readonly urls: readonly string[];
  readonly senders: readonly string[];
  zapped?: boolean;
}

class SmtpError extends Error {
  constructor(readonly responseCode: number, message: string) { super(message); }
}

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** A self-signed STARTTLS key and certificate in `dir` (made with openssl on first use), or undefined without openssl. */
export function ensureTls(dir: string, name: string, log: (l: 'info' | 'warn', m: string) => void): { key: Buffer; cert: Buffer } | undefined {
  const keyFile = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '825',
        '-subj', `/CN=${name}`], { stdio: 'ignore' });
      log('info', `mail: generated a self-signed STARTTLS certificate in ${certFile}`);
    } catch (error) {
      log('warn', `mail: no STARTTLS (openssl could not make a self-signed certificate: ${(error as Error).message})`);
      return undefined;
    }
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
}

export async function startMailGateway(options: MailGatewayOptions): Promise<MailGateway> {
  const log = options.log ?? ((level, message) => process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`));
  const name = options.name ?? hostname();
  const domains = new Set(options.domains.map((d) => d.toLowerCase()));
  if (domains.size === 0) throw new Error('mail gateway: at least one domain is required');
  const policy: MailPolicy = { ...DEFAULT_POLICY, ...options.policy };
  const known = options.recipients ? new Set(options.recipients.map((r) => r.toLowerCase())) : undefined;
  const internalNames = new Set((options.internalUsers ?? []).flatMap((u) => [u.displayName.toLowerCase(), u.address.toLowerCase()]));
  const maxBytes = options.maxMessageBytes ?? 35 * 1024 * 1024;
  const maxRcpt = options.maxRecipients ?? 100;
  const maxPerConn = options.maxMessagesPerConnection ?? 1000;
  const maxPerIp = options.maxConnectionsPerIp ?? 50;
  const concurrency = options.relayConcurrency ?? 16;
  const retryBase = options.retryBaseMs ?? 1000;
  const zapWindowMs = (options.zapWindowHours ?? 48) * 3600_000;
  const spool = openSpool(options.spoolDir);
  const scanner = createScanPool(options.scanThreads ?? Math.max(1, Math.min(4, availableParallelism() - 1)), (m) => log('warn', `mail: ${m}`));
  const indicators = new IndicatorSet();
  const client: PlatformClient | undefined = options.server && options.token ? createPlatformClient(options.server, options.token) : undefined;
  const outbox = createTelemetryOutbox({ client, dir: join(options.spoolDir, 'outbox'), log: (m) => log('warn', `mail: ${m}`) });
  const gatewayId = `vigil-mail-gateway@${name}`;
  let reportSeq = 0;
  const reportId = (id: string, tag: string) => `${id}-${tag}${Date.now().toString(36)}${(reportSeq++).toString(36)}`;

  // ---------- ZAP index: messages delivered in the last 48 h ----------
  const indexFile = join(options.spoolDir, 'delivered.jsonl');
  const delivered = new Map<string, DeliveredEntry>();
  if (existsSync(indexFile)) {
    for (const line of readFileSync(indexFile, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as DeliveredEntry | { zapped: string };
        if ('zapped' in e && typeof e.zapped === 'string') { const d = delivered.get(e.zapped); if (d) d.zapped = true; }
        else delivered.set((e as DeliveredEntry).id, e as DeliveredEntry);
      } catch { /* a torn last line after a crash */ }
    }
  }
  const prune = () => {
    const cutoff = Date.now() - zapWindowMs;
    for (const [id, e] of delivered) if (e.at < cutoff) delivered.delete(id);
  };
  prune();
  writeFileSync(indexFile, [...delivered.values()].map((e) => `${JSON.stringify(e)}\n`).join(''));
  const indexLog = createWriteStream(indexFile, { flags: 'a' });
  indexLog.on('error', (error) => log('error', `mail: ZAP index ${indexFile}: ${error.message}`));

  // ---------- relay ----------
  const relayClient = createRelayClient({
    target: options.nextHop, name, maxConnections: concurrency, connectionTimeoutMs: 10_000, socketTimeoutMs: 60_000,
  });
  // Messages just accepted keep their bytes in memory for their first relay (up to 256 MiB in all), so the
  // spool is read back only for retries and after a restart.
  const inMemory = new Map<string, { meta: SpoolMeta; raw: Buffer }>();
  let inMemoryBytes = 0;
  const IN_MEMORY_LIMIT = 256 * 1024 * 1024;
  const takeInMemory = (id: string) => {
    const e = inMemory.get(id);
    if (e) { inMemory.delete(id); inMemoryBytes -= e.raw.length; }
    return e;
  };
  const ready: string[] = [];
  const waiting = new Map<string, ReturnType<typeof setTimeout>>();
  let active = 0;
  let closing = false;
  const inflight = new Set<Promise<void>>();

  function schedule(meta: SpoolMeta): void {
    const delay = meta.nextAttemptAt - Date.now();
    if (delay <= 0) { ready.push(meta.id); pump(); return; }
    waiting.set(meta.id, setTimeout(() => { waiting.delete(meta.id); ready.push(meta.id); pump(); }, delay));
  }

  function pump(): void {
    while (!closing && active < concurrency && ready.length > 0) {
      const id = ready.shift()!;
      active++;
      const p = relay(id).catch((error) => log('error', `mail: relay of ${id} failed unexpectedly: ${(error as Error).stack}`))
        .finally(() => { active--; inflight.delete(p); pump(); });
      inflight.add(p);
    }
  }

  async function relay(id: string): Promise<void> {
    const entry = takeInMemory(id) ?? await spool.read('queue', id);
    if (!entry) return;
    const { meta, raw } = entry;
    try {
      // The trace headers, then the original bytes (not copied).
      const result = await relayClient.send(meta.mailFrom, meta.recipients, Buffer.from(meta.prepend), raw);
      for (const r of result.rejected) log('warn', `mail: ${id}: the next hop refused recipient ${r.recipient} (${r.reply}); relayed to the others`);
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      const message = (error as Error).message;
      if (code !== undefined && code >= 500) {
        await spool.move('queue', 'failed', id);
        log('warn', `mail: ${id} refused for good by the next hop (${code} ${message}); kept in ${join(options.spoolDir, 'failed')}`);
        return;
      }
      meta.attempts++;
      meta.lastError = message;
      meta.nextAttemptAt = Date.now() + Math.min(300_000, retryBase * 2 ** Math.min(meta.attempts - 1, 12));
      await spool.update('queue', meta);
      if (meta.attempts === 1 || meta.attempts % 10 === 0) log('warn', `mail: ${id} deferred (attempt ${meta.attempts}: ${message}); retrying`);
      if (!closing) schedule(meta);
      return;
    }
    await spool.remove('queue', id);
    const facts = meta.extra.zap as Omit<DeliveredEntry, 'at'> | undefined;
    if (facts && meta.action !== 'quarantine') {
      const e: DeliveredEntry = { ...facts, at: Date.now() };
      delivered.set(e.id, e);
      indexLog.write(`${JSON.stringify(e)}\n`);
      // An indicator may have arrived while the message was queued.
      void zapIfCondemned([e], indicators);
    }
    options.onRelayed?.(id, Date.now() - Date.parse(meta.receivedAt));
  }

  // ---------- accept ----------
  function trace(session: SMTPServerSession, id: string, j: Judgement, action: VerdictAction, now: Date): string {
    const helo = session.hostNameAppearsAs || 'unknown';
    const lines = [
      `Received: from ${helo} (${session.clientHostname || session.remoteAddress} [${session.remoteAddress}])\r\n\tby ${name} (Vigil mail gateway) with ${session.secure ? 'ESMTPS' : 'ESMTP'} id ${id};\r\n\t${rfc2822(now)}\r\n`,
      `X-Vigil-Verdict: ${j.verdict}; action=${action === 'junk' ? 'junk' : action}; id=${id}\r\n`,
    ];
    if (action === 'junk') lines.push('X-Spam-Flag: YES\r\n');
    return lines.join('');
  }

  async function accept(session: SMTPServerSession, raw: Buffer): Promise<string> {
    const now = new Date();
    const id = randomUUID();
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
    const scan = await scanner.scan(raw);
    if (scan.parseError) {
      log('warn', `mail: ${id} from ${session.remoteAddress} <${mailFrom}>: malformed MIME (${scan.parseError}); judged on its headers and envelope only`);
    }
    const judgement = judge(scan, mailFrom, { indicators, policy, domains, internalNames });
    const action = actionFor(judgement.verdict, policy);
    const rows = messageRows({
      networkMessageId: id, timestamp: now.toISOString(), mailFrom, recipients, senderIp: session.remoteAddress,
      scan, judgement, action, domains, gateway: gatewayId,
    });
    if (action === 'reject') {
      for (const [t, r] of Object.entries(rows)) outbox.add(t, r);
      log('info', `mail: ${id} rejected (${judgement.verdict}: ${judgement.detections.map((d) => d.name).join('; ')})`);
      throw new SmtpError(550, `5.7.1 Message rejected as ${judgement.verdict} (${id})`);
    }
    const files = scan.attachments.flatMap((f) => [f, ...f.members]);
    const meta: SpoolMeta = {
      id, mailFrom, recipients, receivedAt: now.toISOString(), prepend: trace(session, id, judgement, action, now),
      verdict: judgement.verdict, action, attempts: 0, nextAttemptAt: 0,
      extra: {
        subject: scan.subject,
        threats: judgement.detections.map((d) => `${d.threat}: ${d.name}`),
        zap: {
          id, imid: scan.internetMessageId, rcpts: recipients,
          hashes: files.flatMap((f) => [f.sha256, f.sha1, f.md5]), urls: scan.urls.map((u) => u.url),
          senders: [...new Set([scan.fromAddress, mailFrom.toLowerCase()].filter(Boolean))],
        },
      },
    };
    await spool.put(action === 'quarantine' ? 'quarantine' : 'queue', meta, raw);
    for (const [t, r] of Object.entries(rows)) outbox.add(t, r);
    if (action === 'quarantine') log('info', `mail: ${id} quarantined (${judgement.verdict}: ${judgement.detections.map((d) => d.name).join('; ')})`);
    else {
      if (inMemoryBytes + raw.length <= IN_MEMORY_LIMIT) { inMemory.set(id, { meta, raw }); inMemoryBytes += raw.length; }
      schedule(meta);
    }
    return id;
  }

  // smtp-server's DATA reader with native searches instead of a byte loop (same logic; its version is checked).
  if (!useFastDataScan()) log('info', 'mail: smtp-server is not the version the native-search DATA reader was written for; its own is used');
  const perIp = new Map<string, number>();
  const perSession = new Map<string, number>();
  const tls = options.tls === false ? undefined : options.tls ?? ensureTls(options.spoolDir, name, log);
  const server = new SMTPServer({
    name, banner: 'Vigil mail gateway', logger: false, size: maxBytes, authOptional: true, disabledCommands: ['AUTH'],
    ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ['AUTH', 'STARTTLS'] }),
    disableReverseLookup: true, maxClients: 1000, closeTimeout: 2000,
    onConnect(session, cb) {
      const n = (perIp.get(session.remoteAddress) ?? 0) + 1;
      if (n > maxPerIp) { cb(new SmtpError(421, '4.7.0 Too many connections from your address, try later')); return; }
      perIp.set(session.remoteAddress, n);
      cb();
    },
    onClose(session) {
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress); else perIp.set(session.remoteAddress, n);
      perSession.delete(session.id);
    },
    onMailFrom(_address, session, cb) {
      const n = (perSession.get(session.id) ?? 0) + 1;
      perSession.set(session.id, n);
      if (n > maxPerConn) { cb(new SmtpError(421, `4.7.0 At most ${maxPerConn} messages per connection; reconnect`)); return; }
      if (closing) { cb(new SmtpError(421, '4.3.2 Shutting down, try later')); return; }
      cb();
    },
    onRcptTo(address, session, cb) {
      const rcpt = address.address.toLowerCase();
      const domain = rcpt.slice(rcpt.lastIndexOf('@') + 1);
      if (!rcpt.includes('@') || !domains.has(domain)) { cb(new SmtpError(550, '5.7.1 Relaying denied: not a domain this gateway serves')); return; }
      if (known && !known.has(rcpt)) { cb(new SmtpError(550, '5.1.1 No such recipient here')); return; }
      if (session.envelope.rcptTo.length >= maxRcpt) { cb(new SmtpError(452, `4.5.3 Too many recipients (at most ${maxRcpt})`)); return; }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      // Past the size limit the rest is read and dropped (the message is refused at its end).
      stream.on('data', (c: Buffer) => { if (!stream.sizeExceeded) chunks.push(c); });
      stream.on('error', (e) => cb(e));
      stream.on('end', () => {
        if (stream.sizeExceeded) { cb(new SmtpError(552, `5.3.4 Message larger than ${maxBytes} bytes`)); return; }
        accept(session, scanner.join(chunks)).then(
          (id) => cb(null, `2.0.0 Ok: queued as ${id}`),
          (error) => {
            if (error instanceof SmtpError) cb(error);
            else {
              log('error', `mail: could not accept a message from ${session.remoteAddress}: ${(error as Error).stack}`);
              cb(new SmtpError(451, '4.3.0 Temporary failure, try again later'));
            }
          });
      });
    },
  });
  server.on('error', (error) => log('warn', `mail: SMTP: ${(error as Error).message}`));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => { server.server.off('error', reject); resolve(); });
  }).catch(async (error: unknown) => {
    await scanner.close();
    await spool.close();
    indexLog.end();
    throw error;
  });
  const port = (server.server.address() as { port: number }).port;

  // Queue left from the last run: relay everything that was accepted.
  const left = spool.list('queue');
  if (left.length) log('info', `mail: ${left.length} queued message(s) from the last run`);
  for (const meta of left) schedule({ ...meta, nextAttemptAt: 0 });

  // ---------- ZAP ----------
  async function zapIfCondemned(entries: Iterable<DeliveredEntry>, set: IndicatorSet): Promise<void> {
    for (const e of entries) {
      if (e.zapped || e.at < Date.now() - zapWindowMs) continue;
      let malware: FeedIndicator | undefined;
      for (const h of e.hashes) {
        const ind = set.file({ sha256: h, sha1: h, md5: h } as never);
        if (ind && (ind.action === 'block' || ind.action === 'block_and_remediate')) { malware = ind; break; }
      }
      let phish: FeedIndicator | undefined;
      if (!malware) {
        for (const u of e.urls) { const ind = set.url(u); if (ind && ind.action !== 'allow' && ind.action !== 'audit') { phish = ind; break; } }
        for (const s of e.senders) {
          if (phish) break;
          const ind = set.domain(s.slice(s.lastIndexOf('@') + 1));
          if (ind && ind.action !== 'allow' && ind.action !== 'audit') phish = ind;
        }
      }
      const ind = malware ?? phish;
      if (!ind) continue;
      e.zapped = true;
      indexLog.write(`${JSON.stringify({ zapped: e.id })}\n`);
      const to: MailDestination = malware ? 'Quarantine' : policy.zapPhish === 'quarantine' ? 'Quarantine' : 'Junk';
      const actionType = malware ? 'Malware ZAP' : 'Phish ZAP';
      if (!options.imap) { log('warn', `mail: ZAP: ${e.id} is condemned by indicator ${ind.id} but no IMAP server is configured`); continue; }
      for (const rcpt of e.rcpts) {
        const r = await moveMessage(options.imap, rcpt, e.imid, to);
        log(r.result === 'Failure' ? 'warn' : 'info', `mail: ${actionType} ${e.id} <${e.imid}> for ${rcpt}: ${r.result}${r.detail ? ` (${r.detail})` : ''}`);
        if (r.result === 'Not found') continue;
        outbox.add('EmailPostDeliveryEvents', [postDeliveryRow({
          networkMessageId: e.id, internetMessageId: e.imid, recipient: rcpt, actionType, action: ACTION_TEXT[to],
          trigger: 'Special action', result: r.result === 'Failure' ? 'Error' : 'Success', location: LOCATION_TEXT[to],
          threatTypes: malware ? 'Malware' : 'Phish', detectionMethods: malware ? 'File reputation' : 'URL malicious reputation',
          detail: { Gateway: gatewayId, IndicatorId: ind.id, IndicatorType: ind.type, IndicatorValue: ind.value, MoveResult: r.result, ...(r.detail ? { Error: r.detail } : {}) },
          reportId: reportId(e.id, 'z'),
        })]);
      }
    }
  }

  async function applyIndicators(update: { indicators?: FeedIndicator[]; removed?: string[]; full?: boolean }): Promise<void> {
    const added = indicators.apply(update);
    if (added.length === 0) return;
    const fresh = new IndicatorSet();
    fresh.apply({ indicators: added });
    prune();
    await zapIfCondemned([...delivered.values()], fresh);
  }

  // ---------- email actions and release ----------
  const auditFile = join(options.spoolDir, 'quarantine-audit.log');
  async function release(networkMessageId: string, actor: string): Promise<void> {
    let entry = await spool.read('quarantine', networkMessageId);
    for (const peer of options.peerSpoolDirs ?? []) {
      if (entry) break;
      entry = await takeFrom(peer, 'quarantine', networkMessageId);
      if (entry) {
        await spool.put('quarantine', entry.meta, entry.raw);
        await rm(join(peer, 'quarantine', `${networkMessageId}.json`), { force: true });
        await rm(join(peer, 'quarantine', `${networkMessageId}.eml`), { force: true });
      }
    }
    if (!entry) throw new Error(`no quarantined message ${networkMessageId}`);
    const meta: SpoolMeta = {
      ...entry.meta, attempts: 0, nextAttemptAt: 0, action: 'deliver',
      prepend: entry.meta.prepend.replace(/X-Vigil-Verdict: ([^;\r\n]+); action=[a-z]+/, `X-Vigil-Verdict: $1; action=released`),
    };
    appendFileSync(auditFile, `${JSON.stringify({ at: new Date().toISOString(), actor, action: 'release', networkMessageId, verdict: meta.verdict, recipients: meta.recipients })}\n`);
    await spool.update('quarantine', meta);
    await spool.move('quarantine', 'queue', networkMessageId);
    log('info', `mail: ${networkMessageId} released from quarantine by ${actor}`);
    for (const rcpt of meta.recipients) {
      outbox.add('EmailPostDeliveryEvents', [postDeliveryRow({
        networkMessageId, internetMessageId: String((meta.extra.zap as { imid?: string } | undefined)?.imid ?? ''), recipient: rcpt,
        actionType: 'Manual remediation', action: 'Released from quarantine', trigger: 'Admin action', result: 'Success',
        location: 'Inbox/folder', threatTypes: '', detectionMethods: '', detail: { Gateway: gatewayId, Actor: actor }, reportId: reportId(networkMessageId, 'r'),
      })]);
    }
    schedule(meta);
  }

  async function remediate(networkMessageId: string, kind: EmailActionKind, opts: { internetMessageId?: string; recipients?: readonly string[]; actor?: string } = {}): Promise<RemediationOutcome> {
    const known = delivered.get(networkMessageId);
    const imid = opts.internetMessageId || known?.imid;
    const rcpts = opts.recipients?.length ? opts.recipients : known?.rcpts;
    if (!imid || !rcpts?.length) throw new Error(`message ${networkMessageId} is unknown here (no Message-ID and recipients)`);
    if (!options.imap) throw new Error('no IMAP server configured on the gateway');
    const to = DESTINATION[kind];
    const results: { recipient: string; result: MoveResult; detail?: string }[] = [];
    for (const rcpt of rcpts) {
      const r = await moveMessage(options.imap, rcpt, imid, to);
      results.push({ recipient: rcpt, result: r.result, ...(r.detail ? { detail: r.detail } : {}) });
      if (r.result === 'Not found') continue;
      outbox.add('EmailPostDeliveryEvents', [postDeliveryRow({
        networkMessageId, internetMessageId: imid, recipient: rcpt, actionType: 'Manual remediation', action: ACTION_TEXT[to],
        trigger: 'Admin action', result: r.result === 'Failure' ? 'Error' : 'Success', location: LOCATION_TEXT[to], threatTypes: '', detectionMethods: '',
        detail: { Gateway: gatewayId, Actor: opts.actor ?? 'response', MoveResult: r.result }, reportId: reportId(networkMessageId, 'm'),
      })]);
    }
    return { results };
  }

  async function runCommand(c: ChannelCommand): Promise<{ status: 'succeeded' | 'failed'; message?: string; output?: unknown }> {
    const p = c.params ?? {};
    const nmid = String(p.networkMessageId ?? '');
    const actor = typeof p.actor === 'string' ? p.actor : `command ${c.id}`;
    if (c.kind === 'release_email') {
      await release(nmid, actor);
      return { status: 'succeeded', message: `released ${nmid} from quarantine` };
    }
    if (c.kind === 'soft_delete' || c.kind === 'move_to_junk' || c.kind === 'quarantine' || c.kind === 'move_to_inbox') {
      const out = await remediate(nmid, c.kind, {
        internetMessageId: typeof p.internetMessageId === 'string' ? p.internetMessageId : undefined,
        recipients: Array.isArray(p.recipients) ? p.recipients.map(String) : undefined, actor,
      });
      const ok = out.results.every((r) => r.result === 'Success' || r.result === 'Already in destination' || r.result === 'Already quarantined');
      return { status: ok ? 'succeeded' : 'failed', message: out.results.map((r) => `${r.recipient}: ${r.result}`).join('; '), output: out };
    }
    return { status: 'failed', message: `the mail gateway does not run '${c.kind}' commands` };
  }

  let feed: { close(): Promise<void>; ready: Promise<void> } | undefined;
  let commands: { close(): Promise<void> } | undefined;
  if (client) {
    feed = followIntelFeed({ client, waitSeconds: options.pollWaitSeconds, log: (m) => log('warn', `mail: ${m}`), onChange: applyIndicators });
    commands = followCommands({ client, waitSeconds: options.pollWaitSeconds, log: (m) => log('warn', `mail: ${m}`), run: runCommand });
  }
  log('info', `mail: gateway listening on ${options.listen.host}:${port} for ${[...domains].join(', ')}; next hop ${options.nextHop.host}:${options.nextHop.port}${tls ? '; STARTTLS on' : ''}`);

  let closed: Promise<void> | undefined;
  return {
    port,
    ready: feed?.ready ?? Promise.resolve(),
    listQuarantine: () => [spool.dir, ...(options.peerSpoolDirs ?? [])].flatMap((d) => listArea(d, 'quarantine')).map((m) => ({
      networkMessageId: m.id, mailFrom: m.mailFrom, recipients: m.recipients, receivedAt: m.receivedAt, verdict: m.verdict,
      subject: String(m.extra.subject ?? ''), threats: (m.extra.threats as string[] | undefined) ?? [],
    })).sort((a, b) => a.receivedAt.localeCompare(b.receivedAt)),
    release,
    remediate,
    queued: () => ready.length + waiting.size + active,
    applyIndicators,
    flushTelemetry: () => outbox.flush(),
    close() {
      closed ??= (async () => {
        closing = true;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        for (const t of waiting.values()) clearTimeout(t);
        waiting.clear();
        await Promise.all([...inflight]);
        relayClient.close();
        inMemory.clear();
        await spool.close();
        await scanner.close();
        await feed?.close();
        await commands?.close();
        await outbox.close();
        await new Promise<void>((resolve) => indexLog.end(() => resolve()));
      })();
      return closed;
    },
  };
}
