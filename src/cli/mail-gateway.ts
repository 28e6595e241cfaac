// `vigil mail-gateway`: the SMTP gateway in front of the organisation's mail server, in the foreground.
import cluster from 'node:cluster';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { VigilError } from '../errors/index.js';
import { parseCommandArgs } from './command-args.js';
import { ensureTls, startMailGateway, type HostPort, type MailPolicy } from '../mail/index.js';

const USAGE = `usage: vigil mail-gateway --server URL --token SENSOR_TOKEN --listen HOST:PORT --next-hop HOST:PORT --domains D[,D…] --spool DIR [options]

  --server URL             the platform (env VIGIL_SERVER)
  --token TOKEN            the gateway's sensor token (env VIGIL_SENSOR_TOKEN; admin: POST /api/v1/sensors)
  --listen HOST:PORT       where to accept SMTP (default 127.0.0.1:2525)
  --next-hop HOST:PORT     the mail server that receives clean mail
  --domains LIST           domains to accept mail for, comma-separated
  --spool DIR              durable queue, quarantine, TLS key, ZAP index
  --imap HOST:PORT         the mail server's IMAP side, for zero-hour purge and email actions
  --imap-user USER         a Dovecot master user (the gateway logs in as <mailbox>*USER)
  --imap-password PW       its password (env VIGIL_IMAP_PASSWORD)
  --recipients FILE        known mailboxes, one per line (others get 550 5.1.1)
  --internal-users FILE    "address<TAB>Display Name" lines, for display-name spoof detection
  --tls-key FILE --tls-cert FILE   STARTTLS key and certificate (default: self-signed, made in the spool)
  --max-size BYTES         largest message (default 36700160)
  --malware ACTION         quarantine | reject | junk | deliver (default quarantine)
  --phish ACTION           quarantine | reject | junk | deliver (default quarantine)
  --spam ACTION            junk | quarantine | reject | deliver (default junk)
  --zap-phish TO           junk | quarantine (default junk)
  --executables RULE       malware | allow: executable and script attachments (default malware)
  --scan-threads N         threads per process that parse and inspect messages beside SMTP, spool
                           and relay (default: cores − 1, shared among --workers, 1 to 4 each;
                           0 scans on the main thread)
  --workers N              gateway processes sharing the port (node:cluster), each with its own spool
                           folder DIR/wK; quarantines are listed and released across them (default 1)
`;

function hostPort(flag: string, value: string | undefined, fallback?: HostPort): HostPort {
  if (!value) {
    if (fallback) return fallback;
    throw new VigilError('bad_config', 2, `--${flag} is required\n\n${USAGE}`);
  }
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new VigilError('bad_config', 2, `--${flag} must be HOST:PORT`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

const ACTIONS = ['deliver', 'junk', 'quarantine', 'reject'] as const;
function action(flag: string, value: string | undefined): MailPolicy['malware'] | undefined {
  if (value === undefined) return undefined;
  if (!(ACTIONS as readonly string[]).includes(value)) throw new VigilError('bad_config', 2, `--${flag} must be one of ${ACTIONS.join(', ')}`);
  return value as MailPolicy['malware'];
}

export async function runMailGateway(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const v = parseCommandArgs(argv, {
    server: { type: 'string' }, token: { type: 'string' }, listen: { type: 'string' }, 'next-hop': { type: 'string' },
    domains: { type: 'string' }, spool: { type: 'string' }, imap: { type: 'string' }, 'imap-user': { type: 'string' },
    'imap-password': { type: 'string' }, recipients: { type: 'string' }, 'internal-users': { type: 'string' },
    'tls-key': { type: 'string' }, 'tls-cert': { type: 'string' }, 'max-size': { type: 'string' },
    malware: { type: 'string' }, phish: { type: 'string' }, spam: { type: 'string' }, 'zap-phish': { type: 'string' }, executables: { type: 'string' },
    workers: { type: 'string' }, 'scan-threads': { type: 'string' },
  }, USAGE);
  if (!v) return 0;
  const server = v.server ?? env.VIGIL_SERVER;
  const token = v.token ?? env.VIGIL_SENSOR_TOKEN;
  if (!server || !token) throw new VigilError('bad_config', 2, `--server and --token are required\n\n${USAGE}`);
  if (!v.domains) throw new VigilError('bad_config', 2, `--domains is required\n\n${USAGE}`);
  if (!v.spool) throw new VigilError('bad_config', 2, `--spool is required\n\n${USAGE}`);
  const imapPassword = v['imap-password'] ?? env.VIGIL_IMAP_PASSWORD;
  if (v.imap && (!v['imap-user'] || !imapPassword)) throw new VigilError('bad_config', 2, '--imap needs --imap-user and --imap-password');
  if (Boolean(v['tls-key']) !== Boolean(v['tls-cert'])) throw new VigilError('bad_config', 2, '--tls-key and --tls-cert go together');
  const zapPhish = v['zap-phish'];
  if (zapPhish !== undefined && zapPhish !== 'junk' && zapPhish !== 'quarantine') throw new VigilError('bad_config', 2, '--zap-phish must be junk or quarantine');
  const lines = (file: string) => readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const policy: Partial<MailPolicy> = {
    ...(action('malware', v.malware) ? { malware: action('malware', v.malware)! } : {}),
    ...(action('phish', v.phish) ? { phish: action('phish', v.phish)! } : {}),
    ...(action('spam', v.spam) ? { spam: action('spam', v.spam)! } : {}),
    ...(zapPhish ? { zapPhish: zapPhish as 'junk' | 'quarantine' } : {}),
    ...(v.executables ? { executables: v.executables as 'malware' | 'allow' } : {}),
  };
  if (v.executables !== undefined && v.executables !== 'malware' && v.executables !== 'allow') throw new VigilError('bad_config', 2, '--executables must be malware or allow');
  const imap = v.imap ? hostPort('imap', v.imap) : undefined;
  const maxSize = v['max-size'] ? Number(v['max-size']) : undefined;
  if (maxSize !== undefined && (!Number.isInteger(maxSize) || maxSize <= 0)) throw new VigilError('bad_config', 2, '--max-size must be a positive integer');
  const workers = v.workers === undefined ? 1 : Number(v.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new VigilError('bad_config', 2, '--workers must be an integer from 1 to 64');
  // Default: the cores but one, shared among the --workers processes (at least one thread each).
  const scanThreads = v['scan-threads'] === undefined
    ? (workers > 1 ? Math.min(4, Math.max(1, Math.floor((availableParallelism() - 1) / workers))) : undefined)
    : Number(v['scan-threads']);
  if (scanThreads !== undefined && (!Number.isInteger(scanThreads) || scanThreads < 0 || scanThreads > 64)) throw new VigilError('bad_config', 2, '--scan-threads must be an integer from 0 to 64');
  let tls: { key: Buffer; cert: Buffer } | undefined = v['tls-key'] ? { key: readFileSync(v['tls-key']), cert: readFileSync(v['tls-cert']!) } : undefined;
  if (workers > 1 && cluster.isPrimary) {
    // The primary only supervises: the workers accept, scan, spool and relay; one certificate for all of them.
    mkdirSync(v.spool, { recursive: true });
    if (!tls) ensureTls(v.spool, hostname(), (level, m) => process.stderr.write(`${level} ${m}\n`));
    let stopping = false;
    const start = (k: number) => cluster.fork({ VIGIL_MAIL_WORKER: String(k), VIGIL_MAIL_WORKERS: String(workers) })
      .on('exit', (code) => { if (!stopping) { process.stderr.write(`mail-gateway: worker ${k} exited (${code}); restarting\n`); start(k); } });
    for (let k = 1; k <= workers; k++) start(k);
    await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
    stopping = true;
    await Promise.all(Object.values(cluster.workers ?? {}).map((w) => new Promise<void>((resolve) => { w!.once('exit', () => resolve()); w!.kill('SIGTERM'); })));
    return 0;
  }
  const worker = env.VIGIL_MAIL_WORKER ? Number(env.VIGIL_MAIL_WORKER) : undefined;
  if (worker && !tls) tls = ensureTls(v.spool, hostname(), () => {});
  const gateway = await startMailGateway({
    server, token,
    spoolDir: worker ? join(v.spool, `w${worker}`) : v.spool,
    peerSpoolDirs: worker ? Array.from({ length: workers }, (_, i) => i + 1).filter((k) => k !== worker).map((k) => join(v.spool!, `w${k}`)) : undefined,
    listen: hostPort('listen', v.listen, { host: '127.0.0.1', port: 2525 }),
    nextHop: hostPort('next-hop', v['next-hop']),
    domains: v.domains.split(',').map((d) => d.trim()).filter(Boolean),
    imap: imap ? { ...imap, user: v['imap-user']!, password: imapPassword!, masterUser: true } : undefined,
    recipients: v.recipients ? lines(v.recipients) : undefined,
    internalUsers: v['internal-users'] ? lines(v['internal-users']).map((l) => { const [address, ...name] = l.split('\t'); return { address, displayName: name.join(' ') || address }; }) : undefined,
    tls,
    maxMessageBytes: maxSize,
    scanThreads,
    policy,
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gateway.close();
  return 0;
}
