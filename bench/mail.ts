// npm run bench:mail — streams 5,000 messages (30 % with an attachment of 10 KB–2 MB, links in all) through the
// mail gateway to an SMTP sink. The gateway runs in a child process of its own (scanning, spool with fsync,
// relay) as `vigil mail-gateway --workers N` runs it (N = 1 on two cores, else cores − 2 up to 6; MAIL_BENCH_WORKERS
// overrides; MAIL_BENCH_SCAN_THREADS sets --scan-threads). The clients and the sink run here and are kept lean, since they share the cores with the gateway:
// the clients write raw SMTP (pipelined MAIL/RCPT/DATA) of messages composed once per shape, and the sink only
// finds the end of each message's data. Last line: `mail: <N> messages/s, p99 <L> ms accept-to-relay`.
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';

const TOTAL = Number(process.env.MAIL_BENCH_MESSAGES ?? 5000);
const CLIENTS = 16;
/** Gateway processes (`vigil mail-gateway --workers`). */
const WORKERS = Number(process.env.MAIL_BENCH_WORKERS ?? (availableParallelism() <= 2 ? 1 : Math.min(6, availableParallelism() - 2)));

interface Start { sinkPort: number; spool: string }
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

if (process.argv[2] === '--gateway' && cluster.isPrimary) {
  // The gateway as `vigil mail-gateway --workers N` runs it: a supervising primary and N processes sharing the port.
  const { spool } = JSON.parse(process.argv[3]) as Start;
  const { ensureTls } = await import('../src/mail/index.js');
  ensureTls(spool, 'bench', () => {});
  let listening = 0;
  let cpu = 0;
  const cpu0 = process.cpuUsage();
  for (let k = 1; k <= WORKERS; k++) {
    const w = cluster.fork({ BENCH_WORKER: String(k) });
    w.on('message', (m: { port?: number; cpu?: number }) => {
      if (m.port !== undefined) { if (++listening === WORKERS) process.send!({ port: m.port }); return; }
      if (m.cpu !== undefined) { cpu += m.cpu; return; }
      process.send!(m);
    });
  }
  process.on('message', async (m: { close?: boolean; mark?: boolean }) => {
    if (m.mark) { for (const w of Object.values(cluster.workers ?? {})) w!.send({ mark: true }); return; }
    if (!m.close) return;
    await Promise.all(Object.values(cluster.workers ?? {}).map((w) => new Promise<void>((resolve) => { w!.once('exit', () => resolve()); w!.send({ close: true }); })));
    process.send!({ closed: true, cpu: cpu + cpuMs(process.cpuUsage(cpu0)) });
    process.disconnect();
  });
} else if (process.argv[2] === '--gateway') {
  const { startMailGateway, ensureTls } = await import('../src/mail/index.js');
  const { sinkPort, spool } = JSON.parse(process.argv[3]) as Start;
  const k = Number(process.env.BENCH_WORKER);
  const dirs = Array.from({ length: WORKERS }, (_, i) => join(spool, `w${i + 1}`));
  let relayed: number[] = [];
  const flushRelayed = () => { if (relayed.length) process.send!({ relayed }); relayed = []; };
  const gateway = await startMailGateway({
    listen: { host: '127.0.0.1', port: 0 }, nextHop: { host: '127.0.0.1', port: sinkPort }, domains: ['corp.example'],
    spoolDir: dirs[k - 1], peerSpoolDirs: dirs.filter((_, i) => i !== k - 1), tls: ensureTls(spool, 'bench', () => {}),
    maxConnectionsPerIp: 100, log: () => {},
    ...(process.env.MAIL_BENCH_SCAN_THREADS ? { scanThreads: Number(process.env.MAIL_BENCH_SCAN_THREADS) } : {}),
    // Latencies go to the bench in batches, so that the measurement costs the gateway next to nothing.
    onRelayed: (_id, ms) => { relayed.push(ms); if (relayed.length === 1) setTimeout(flushRelayed, 50); },
  });
  let cpu0 = process.cpuUsage();
  process.send!({ port: gateway.port });
  process.on('message', async (m: { close?: boolean; mark?: boolean }) => {
    if (m.mark) cpu0 = process.cpuUsage();
    if (m.close) {
      await gateway.close();
      process.send!({ cpu: cpuMs(process.cpuUsage(cpu0)) }, undefined, undefined, () => process.exit(0));
    }
  });
} else {
  const spool = mkdtempSync(join(tmpdir(), 'vigil-bench-mail-'));
  const sink = await startRawSink();
  const worker = fork(new URL(import.meta.url).pathname, ['--gateway', JSON.stringify({ sinkPort: sink.port, spool } satisfies Start)], { execArgv: ['--import', 'tsx', ...(process.env.MAIL_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.MAIL_BENCH_PROF] : [])] });
  const latencies: number[] = [];
  let done!: () => void;
  const allRelayed = new Promise<void>((r) => { done = r; });
  const port = await new Promise<number>((resolve) => {
    worker.on('message', (m: { port?: number; relayed?: number[] }) => {
      if (m.port) resolve(m.port);
      if (m.relayed !== undefined) { latencies.push(...m.relayed); if (latencies.length === TOTAL) done(); }
    });
  });

  // A few attachments of 10 KB–2 MB (random bytes, so each one is hashed and base64-coded for real).
  const sizes = [10_240, 50_000, 120_000, 300_000, 600_000, 1_000_000, 1_500_000, 2_000_000];
  const blobs = sizes.map((n) => randomBytes(n));
  // Messages are composed once per shape (so the clients spend no time on MIME encoding or dot-stuffing) and
  // made unique with their own Message-ID, Subject and links.
  const build = (options: ConstructorParameters<typeof MailComposer>[0]) => new Promise<Buffer>((resolve, reject) =>
    new MailComposer(options).compile().build((err, buf) => (err ? reject(err) : resolve(buf))));
  const shapes = await Promise.all([undefined, ...blobs].map((blob, k) => build({
    from: 'sender@partner.example', to: 'user@corp.example', subject: 'bench', text: 'Hello, see the attached file',
    attachments: blob ? [{ filename: `report-${k}.bin`, content: blob }] : undefined,
  })));
  const bodies = shapes.map((raw) => dotStuff(raw.subarray(raw.indexOf('\r\n\r\n') + 4)));
  const heads = shapes.map((raw) => raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1')
    .split(/\r\n(?![ \t])/).filter((l) => /^(MIME-Version|Content-Type|Content-Transfer-Encoding):/i.test(l)).join('\r\n'));
  const END = Buffer.from('\r\n.\r\n');
  /** Message i as SMTP DATA bytes (dot-stuffed, with the terminating dot): unique header lines, then the shape's body. */
  const dataOf = (i: number): Buffer[] => {
    const shape = i % 10 < 3 ? 1 + (i % blobs.length) : 0;
    const head = `From: Sender ${i % 97} <sender${i % 97}@partner.example>\r\nTo: user${i % 50}@corp.example\r\nSubject: bench ${i}\r\n`
      + `Message-ID: <bench-${i}@partner.example>\r\nDate: ${new Date().toUTCString()}\r\n`
      + `X-Links: https://partner.example/doc/${i} https://cdn.partner.example/x.png?i=${i}\r\n${heads[shape]}\r\n\r\n`
      // A plain-text shape gets the link in its body too.
      + (shape === 0 ? `See https://partner.example/doc/${i}\r\n` : '');
    const body = bodies[shape];
    // The composer ends the body without a line break; the terminator supplies it.
    return [Buffer.from(head, 'latin1'), body, body.length && body[body.length - 1] === 0x0a ? END.subarray(2) : END];
  };
  let next = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  worker.send({ mark: true });
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    const c = await smtpClient(port);
    for (;;) {
      const i = next++;
      if (i >= TOTAL) break;
      await c.send(`sender${i % 97}@partner.example`, `user${i % 50}@corp.example`, dataOf(i));
    }
    await c.quit();
  }));
  await allRelayed;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  worker.send({ close: true });
  const gatewayCpu = await new Promise<number>((r) => worker.on('message', (m: { closed?: boolean; cpu?: number }) => { if (m.closed) r(m.cpu ?? NaN); }));
  worker.disconnect();
  await sink.close();
  rmSync(spool, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)];
  const p50 = latencies[Math.floor(latencies.length / 2)];
  process.stdout.write(`${TOTAL} messages (${Math.round(TOTAL * 0.3)} with attachments), ${CLIENTS} client connections, sink got ${sink.received()}; `
    + `${seconds.toFixed(1)} s; p50 ${p50} ms; gateway CPU ${(gatewayCpu / TOTAL).toFixed(2)} ms/message; `
    + `client and sink CPU ${(cpuMs(cpu) / TOTAL).toFixed(2)} ms/message\n`);
  process.stdout.write(`mail: ${Math.round(TOTAL / seconds)} messages/s, p99 ${p99} ms accept-to-relay\n`);
}

/** RFC 5321 §4.5.2 transparency: a dot that starts a line is doubled. */
function dotStuff(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  if (body[0] === 0x2e) { parts.push(Buffer.from('.')); }
  for (let i = body.indexOf('\n.'); i >= 0; i = body.indexOf('\n.', i + 1)) {
    parts.push(body.subarray(from, i + 1), Buffer.from('.'));
    from = i + 1;
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

/** Reads SMTP replies (multi-line ones joined) from a socket, in order. */
function replies(socket: Socket): () => Promise<string> {
  let buffered = '';
  const lines: string[] = [];
  const waiters: ((reply: string) => void)[] = [];
  let current = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    buffered += d;
    for (let n = buffered.indexOf('\n'); n >= 0; n = buffered.indexOf('\n')) {
      const line = buffered.slice(0, n).replace(/\r$/, '');
      buffered = buffered.slice(n + 1);
      current += `${line}\n`;
      if (line[3] === '-') continue;
      const reply = current;
      current = '';
      const w = waiters.shift();
      if (w) w(reply); else lines.push(reply);
    }
  });
  return () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiters.push(r)));
}

/** A raw SMTP client on one connection: MAIL, RCPT and DATA pipelined (RFC 2920), then the data. */
async function smtpClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const reply = replies(socket);
  const expect = async (code: string) => { const r = await reply(); if (!r.startsWith(code)) throw new Error(`expected ${code}, got ${r}`); };
  await expect('220');
  socket.write('EHLO bench.client\r\n');
  await expect('250');
  return {
    async send(from: string, to: string, data: Buffer[]): Promise<void> {
      socket.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
      await expect('250'); await expect('250'); await expect('354');
      socket.cork();
      for (const d of data) socket.write(d);
      socket.uncork();
      await expect('250');
    },
    async quit(): Promise<void> {
      socket.write('QUIT\r\n');
      await expect('221');
      socket.end();
    },
  };
}

/**
 * The next hop: an SMTP server (EHLO, PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that finds the end of each
 * message's data and acknowledges it, without keeping or parsing the message.
 */
async function startRawSink(): Promise<{ port: number; received(): number; close(): Promise<void> }> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.write('220 sink.bench ESMTP\r\n');
    let command = '';
    let inData = false;
    let tail = Buffer.alloc(0);
    const END = Buffer.from('\r\n.\r\n');
    const onCommands = (text: string): string => {
      let out = '';
      for (let n = text.indexOf('\n'); n >= 0 && !inData; n = text.indexOf('\n')) {
        const line = text.slice(0, n).replace(/\r$/, '');
        text = text.slice(n + 1);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') out += '250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n';
        else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') out += '250 OK\r\n';
        else if (verb === 'DATA') { out += '354 go ahead\r\n'; inData = true; tail = Buffer.from('\r\n'); }
        else if (verb === 'QUIT') { socket.end(`${out}221 bye\r\n`); return ''; }
        else out += '500 unknown command\r\n';
      }
      if (out) socket.write(out);
      command = inData ? '' : text;
      return inData ? text : '';
    };
    socket.on('data', (chunk: Buffer) => {
      let data: Buffer = chunk;
      while (data.length) {
        if (!inData) {
          const rest = onCommands(command + data.toString('latin1'));
          data = Buffer.from(rest, 'latin1');
          continue;
        }
        // The data ends at CRLF.CRLF; the previous chunk's last 4 bytes are kept to find one split across chunks.
        const edge = Buffer.concat([tail, data.subarray(0, 4)]);
        const e = edge.indexOf(END);
        const inChunk = e >= 0 ? -1 : data.indexOf(END);
        if (e < 0 && inChunk < 0) { tail = Buffer.concat([tail, data.subarray(-4)]).subarray(-4); data = Buffer.alloc(0); break; }
        inData = false;
        received++;
        socket.write('250 OK queued\r\n');
        data = data.subarray(e >= 0 ? e + 5 - tail.length : inChunk + 5);
        tail = Buffer.alloc(0);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
