// Helpers for the mail tests: a real SMTP sink (the next hop) that stores raw messages, and bounded waits.
import { SMTPServer } from 'smtp-server';
import { spawn, spawnSync } from 'node:child_process';

export interface SinkMessage { readonly from: string; readonly to: string[]; readonly raw: Buffer }

export interface Sink {
  readonly port: number;
  readonly messages: SinkMessage[];
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 that keeps every message it is given, byte for byte. */
export async function startSink(port = 0): Promise<Sink> {
  const messages: SinkMessage[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false, closeTimeout: 500, size: 100 * 1024 * 1024,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks),
        });
        cb(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as { port: number }).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` every 50 ms until it returns a value, at most `tries` times. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function hasSwaks(): boolean {
  return spawnSync('swaks', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs swaks against the gateway (asynchronously: the gateway runs in this process); returns its exit code and transcript. */
export function swaks(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('swaks', ['--server', '127.0.0.1', '--helo', 'client.test', '--timeout', '20', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { out += String(d); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, out }); });
  });
}

/** Splits a relayed message into the header lines the gateway prepended and the original bytes. */
export function stripTrace(raw: Buffer): { prepended: string; original: Buffer } {
  const text = raw.toString('latin1');
  const m = /^Received: [^\r]*\r\n(?:\t[^\r]*\r\n)*X-Vigil-Verdict: [^\r]*\r\n(?:X-Spam-Flag: YES\r\n)?/.exec(text);
  if (!m) return { prepended: '', original: raw };
  return { prepended: m[0], original: raw.subarray(Buffer.byteLength(m[0], 'latin1')) };
}
