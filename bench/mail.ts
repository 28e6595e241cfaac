// npm run bench:mail — streams 5,000 messages (30 % with an attachment of 10 KB–2 MB, links in all) through the
// mail gateway to an SMTP sink. The gateway runs in a child process of its own (scanning, spool with fsync,
// relay) as `vigil mail-gateway --workers N` runs it (N = 1 on two cores, else cores − 2 up to 6; MAIL_BENCH_WORKERS overrides); clients and sink run here. Last line: `mail: <N> messages/s, p99 <L> ms accept-to-relay`.
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { SMTPServer } from 'smtp-server';

const TOTAL = Number(process.env.MAIL_BENCH_MESSAGES ?? 5000);
const CLIENTS = 16;
/** Gateway processes (`vigil mail-gateway --workers`). */
const WORKERS = Number(process.env.MAIL_BENCH_WORKERS ?? (availableParallelism() <= 2 ? 1 : Math.min(6, availableParallelism() - 2)));

interface Start { sinkPort: number; spool: string }

if (process.argv[2] === '--gateway' && cluster.isPrimary) {
  // The gateway as `vigil mail-gateway --workers N` runs it: a supervising primary and N processes sharing the port.
  const { spool } = JSON.parse(process.argv[3]) as Start;
  const { ensureTls } = await import('../src/mail/index.js');
  const tls = ensureTls(spool, 'bench', () => {});
  let listening = 0;
  for (let k = 1; k <= WORKERS; k++) {
    const w = cluster.fork({ BENCH_WORKER: String(k) });
    w.on('message', (m: { port?: number; closed?: boolean }) => {
      if (m.port !== undefined) { if (++listening === WORKERS) process.send!({ port: m.port }); return; }
      if (!m.closed) process.send!(m);
    });
  }
  void tls;
  process.on('message', async (m: { close?: boolean }) => {
    if (!m.close) return;
    await Promise.all(Object.values(cluster.workers ?? {}).map((w) => new Promise<void>((resolve) => { w!.once('exit', () => resolve()); w!.send({ close: true }); })));
    process.send!({ closed: true });
    process.disconnect();
  });
} else if (process.argv[2] === '--gateway') {
  const { startMailGateway, ensureTls } = await import('../src/mail/index.js');
  const { sinkPort, spool } = JSON.parse(process.argv[3]) as Start;
  const k = Number(process.env.BENCH_WORKER);
  const dirs = Array.from({ length: WORKERS }, (_, i) => join(spool, `w${i + 1}`));
  const gateway = await startMailGateway({
    listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: sinkPort }, domains: ['corp.example'],
    spoolDir: dirs[k - 1], peerSpoolDirs: dirs.filter((_, i) => i !== k - 1), tls: ensureTls(spool, 'bench', () => {}),
    maxConnectionsPerIp: 100, log: () => {},
    onRelayed: (_id, ms) => process.send!({ relayed: ms }),
  });
  process.send!({ port: gateway.port });
  process.on('message', async (m: { close?: boolean }) => {
    if (m.close) { await gateway.close(); process.exit(0); }
  });
} else {
  const spool = mkdtempSync(join(tmpdir(), 'vigil-bench-mail-'));
  let sunk = 0;
  const sink = new SMTPServer({
    authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false, size: 64 * 1024 * 1024, closeTimeout: 500,
    onData(stream, _s, cb) { stream.on('data', () => {}); stream.on('end', () => { sunk++; cb(null); }); },
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = (sink.server.address() as { port: number }).port;
  const worker = fork(new URL(import.meta.url).pathname, ['--gateway', JSON.stringify({ sinkPort, spool } satisfies Start)], { execArgv: ['--import', 'tsx', ...(process.env.MAIL_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.MAIL_BENCH_PROF] : [])] });
  const latencies: number[] = [];
  let done!: () => void;
  const allRelayed = new Promise<void>((r) => { done = r; });
  const port = await new Promise<number>((resolve) => {
    worker.on('message', (m: { port?: number; relayed?: number }) => {
      if (m.port) resolve(m.port);
      if (m.relayed !== undefined) { latencies.push(m.relayed); if (latencies.length === TOTAL) done(); }
    });
  });

  // A few attachments of 10 KB–2 MB (random bytes, so each one is hashed and base64-coded for real).
  const sizes = [10_240, 50_000, 120_000, 300_000, 600_000, 1_000_000, 1_500_000, 2_000_000];
  const blobs = sizes.map((n) => randomBytes(n));
  const transports = Array.from({ length: CLIENTS }, () => nodemailer.createTransport({
    host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity,
  }));
  // Raw messages are composed once per shape (so the clients spend no time on MIME encoding) and made unique
  // with their own Message-ID, Subject and links.
  const build = (options: nodemailer.SendMailOptions) => new Promise<Buffer>((resolve, reject) =>
    new MailComposer(options).compile().build((err, buf) => (err ? reject(err) : resolve(buf))));
  const shapes = await Promise.all([undefined, ...blobs].map((blob, k) => build({
    from: 'sender@partner.example', to: 'user@corp.example', subject: 'bench', text: 'Hello, see the attached file',
    attachments: blob ? [{ filename: `report-${k}.bin`, content: blob }] : undefined,
  })));
  const bodies = shapes.map((raw) => raw.subarray(raw.indexOf('\r\n\r\n') + 4));
  const heads = shapes.map((raw) => raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1')
    .split(/\r\n(?![ \t])/).filter((l) => /^(MIME-Version|Content-Type|Content-Transfer-Encoding):/i.test(l)).join('\r\n'));
  const rawOf = (i: number): Buffer => {
    const shape = i % 10 < 3 ? 1 + (i % blobs.length) : 0;
    const head = `From: Sender ${i % 97} <sender${i % 97}@partner.example>\r\nTo: user${i % 50}@corp.example\r\nSubject: bench ${i}\r\n`
      + `Message-ID: <bench-${i}@partner.example>\r\nDate: ${new Date().toUTCString()}\r\n`
      + `X-Links: https://partner.example/doc/${i} https://cdn.partner.example/x.png?i=${i}\r\n${heads[shape]}\r\n\r\n`;
    // The link goes into the first text part too: prepend a preamble line that mailparser keeps out of parts,
    // so put it where every shape has text: a plain-text shape gets it in its body.
    return Buffer.concat([Buffer.from(head), shape === 0 ? Buffer.from(`See https://partner.example/doc/${i}\r\n`) : Buffer.alloc(0), bodies[shape]]);
  };
  let next = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(transports.map(async (t) => {
    for (;;) {
      const i = next++;
      if (i >= TOTAL) break;
      await t.sendMail({ envelope: { from: `sender${i % 97}@partner.example`, to: [`user${i % 50}@corp.example`] }, raw: rawOf(i) });
    }
  }));
  await allRelayed;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  for (const t of transports) t.close();
  worker.send({ close: true });
  await new Promise<void>((r) => worker.on('message', (m: { closed?: boolean }) => { if (m.closed) r(); }));
  worker.disconnect();
  await new Promise<void>((r) => sink.close(() => r()));
  rmSync(spool, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)];
  const p50 = latencies[Math.floor(latencies.length / 2)];
  process.stdout.write(`${TOTAL} messages (${Math.round(TOTAL * 0.3)} with attachments), ${CLIENTS} client connections, sink got ${sunk}; `
    + `${seconds.toFixed(1)} s; p50 ${p50} ms; client and sink CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s\n`);
  process.stdout.write(`mail: ${Math.round(TOTAL / seconds)} messages/s, p99 ${p99} ms accept-to-relay\n`);
}
