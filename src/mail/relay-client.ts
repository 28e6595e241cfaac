// The relay to the next hop: a pool of kept-alive SMTP connections (RFC 5321) that pipeline each message's
// MAIL, RCPT and DATA commands (RFC 2920, when offered), upgrade with STARTTLS when offered (opportunistic, as
// nodemailer does by default), and write the message without copying it: the data is sent as is, with a dot
// added only at the start of a line that begins with one and CR only before a bare LF (RFC 5321 §4.5.2, §2.3.8);
// the positions needing either are found with native searches, not byte by byte.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface RelayTarget { readonly host: string; readonly port: number }

export interface RelayClientOptions {
  readonly target: RelayTarget;
  /** Name in EHLO. */
  readonly name: string;
  /** Connections kept open at most. */
  readonly maxConnections: number;
  readonly connectionTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

/** A refusal (responseCode set) or a connection problem (no responseCode: temporary). */
export class RelayError extends Error {
  constructor(message: string, readonly responseCode?: number) { super(message); }
}

export interface RelayResult {
  /** Recipients the next hop refused while accepting the message for the others. */
  readonly rejected: readonly { recipient: string; reply: string }[];
}

export interface RelayClient {
  /** Sends one message: `head` (trace header lines, CRLF-terminated) then `raw`. */
  send(from: string, to: readonly string[], head: Buffer, raw: Buffer): Promise<RelayResult>;
  close(): void;
}

/**
 * Offsets of the LFs in `raw` after which a dot must be added (the next line starts with '.') or before which a CR
 * is missing. Offset -1 stands for the line start at the beginning of `raw`.
 */
export function wireFixes(raw: Buffer): number[] {
  const fixes: number[] = [];
  if (raw.length && raw[0] === 0x2e) fixes.push(-1);
  // Bare LFs are rare: counting CRLFs against LFs would need a pass per byte, so each LF is checked, found natively.
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    if ((i === 0 || raw[i - 1] !== 0x0d) || raw[i + 1] === 0x2e) fixes.push(i);
  }
  return fixes;
}

/** `raw` as DATA bytes: dots stuffed, bare LFs made CRLF, ended with CRLF.CRLF. Slices of `raw`, not copies. */
function wirePieces(raw: Buffer, fixes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const i of fixes) {
    if (i === -1) { out.push(DOT); continue; }
    const bare = i === 0 || raw[i - 1] !== 0x0d;
    if (bare) { out.push(raw.subarray(from, i), CRLF); from = i + 1; } else { out.push(raw.subarray(from, i + 1)); from = i + 1; }
    if (raw[i + 1] === 0x2e) out.push(DOT);
  }
  out.push(raw.subarray(from));
  out.push(raw.length === 0 || raw[raw.length - 1] === 0x0a ? END.subarray(2) : END);
  return out;
}

const DOT = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const END = Buffer.from('\r\n.\r\n');

interface Reply { readonly code: number; readonly text: string }

/** One SMTP connection: replies are read in order; `next()` waits for the next one. */
class Connection {
  private socket: Socket | TLSSocket;
  private buffered = '';
  private lines: string[] = [];
  private readonly replies: Reply[] = [];
  private waiter: { resolve(r: Reply): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  pipelining = false;
  busy = false;

  constructor(socket: Socket, private readonly timeoutMs: number) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.timeoutMs, () => this.fail(new RelayError(`next hop timed out after ${this.timeoutMs} ms`)));
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(new RelayError(`next hop connection: ${e.message}`)));
    socket.on('close', () => this.fail(new RelayError('next hop closed the connection')));
  }

  get broken(): boolean { return this.failure !== undefined; }

  private onData(d: Buffer): void {
    this.buffered += d.toString('latin1');
    for (let n = this.buffered.indexOf('\n'); n >= 0; n = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, n).replace(/\r$/, '');
      this.buffered = this.buffered.slice(n + 1);
      this.lines.push(line);
      if (line.length >= 4 && line[3] === '-') continue;
      const code = Number(line.slice(0, 3));
      const reply: Reply = { code: Number.isInteger(code) ? code : 0, text: this.lines.join('\n') };
      this.lines = [];
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(reply); else this.replies.push(reply);
    }
    if (this.buffered.length > 65536) this.fail(new RelayError('next hop sent an overlong reply line'));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(error);
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  write(data: string | Buffer[]): void {
    if (this.failure) return;
    if (typeof data === 'string') { this.socket.write(data, 'latin1'); return; }
    this.socket.cork();
    for (const d of data) if (d.length) this.socket.write(d);
    this.socket.uncork();
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.next();
  }

  /** Replaces the socket with a TLS one over it (STARTTLS accepted). */
  async upgrade(host: string): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.setTimeout(0);
    const secure = tlsConnect({ socket: plain, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    }).catch((e: Error) => { this.fail(new RelayError(`STARTTLS with the next hop failed: ${e.message}`)); throw this.failure; });
    this.socket = secure;
    this.attach(secure);
  }

  quit(): void {
    if (this.failure) return;
    this.socket.end('QUIT\r\n');
    this.failure = new RelayError('closed');
  }
}

export function createRelayClient(options: RelayClientOptions): RelayClient {
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: ((c: Connection | undefined) => void)[] = [];
  let opening = 0;
  let closed = false;
  const timeout = options.socketTimeoutMs ?? 60_000;

  async function open(): Promise<Connection> {
    const { host, port } = options.target;
    const socket = netConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { socket.destroy(); reject(new RelayError(`could not connect to the next hop ${host}:${port} within ${options.connectionTimeoutMs ?? 10_000} ms`)); }, options.connectionTimeoutMs ?? 10_000);
      socket.once('connect', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (e) => { clearTimeout(timer); reject(new RelayError(`next hop ${host}:${port}: ${e.message}`)); });
    });
    const c = new Connection(socket, timeout);
    const greeting = await c.next();
    if (greeting.code !== 220) { c.quit(); throw new RelayError(`next hop greeting: ${greeting.text}`, greeting.code >= 400 ? greeting.code : undefined); }
    let ehlo = await c.command(`EHLO ${options.name}`);
    if (ehlo.code !== 250) {
      const helo = await c.command(`HELO ${options.name}`);
      if (helo.code !== 250) { c.quit(); throw new RelayError(`next hop refused HELO: ${helo.text}`, helo.code >= 400 ? helo.code : undefined); }
      return c;
    }
    if (/^250[ -]STARTTLS\b/im.test(ehlo.text)) {
      const r = await c.command('STARTTLS');
      if (r.code === 220) {
        await c.upgrade(host);
        ehlo = await c.command(`EHLO ${options.name}`);
        if (ehlo.code !== 250) { c.quit(); throw new RelayError(`next hop refused EHLO after STARTTLS: ${ehlo.text}`, ehlo.code >= 400 ? ehlo.code : undefined); }
      }
    }
    c.pipelining = /^250[ -]PIPELINING\b/im.test(ehlo.text);
    return c;
  }

  async function acquire(): Promise<Connection> {
    for (;;) {
      const c = idle.pop();
      if (!c) break;
      if (!c.broken) { c.busy = true; return c; }
      all.delete(c);
    }
    if (all.size + opening < options.maxConnections) {
      opening++;
      try {
        const c = await open();
        all.add(c);
        c.busy = true;
        return c;
      } finally { opening--; }
    }
    const c = await new Promise<Connection | undefined>((resolve) => waiting.push(resolve));
    if (!c) throw new RelayError('relay closed');
    return c;
  }

  function release(c: Connection): void {
    c.busy = false;
    if (c.broken || closed) { all.delete(c); c.quit(); }
    else {
      const w = waiting.shift();
      if (w) { c.busy = true; w(c); return; }
      idle.push(c);
    }
    // A waiter whose connection broke opens a fresh one.
    if (waiting.length && all.size + opening < options.maxConnections) {
      const w = waiting.shift()!;
      acquire().then(w, () => w(undefined));
    }
  }

  async function transaction(c: Connection, from: string, to: readonly string[], head: Buffer, raw: Buffer): Promise<RelayResult> {
    const envelope = [`MAIL FROM:<${from}>`, ...to.map((r) => `RCPT TO:<${r}>`), 'DATA'];
    let replies: Reply[];
    if (c.pipelining) {
      c.write(`${envelope.join('\r\n')}\r\n`);
      replies = [];
      for (let i = 0; i < envelope.length; i++) replies.push(await c.next());
    } else {
      replies = [await c.command(envelope[0])];
      if (replies[0].code === 250) {
        for (const line of envelope.slice(1, -1)) replies.push(await c.command(line));
        if (replies.slice(1).some((r) => r.code === 250 || r.code === 251)) replies.push(await c.command('DATA'));
      }
    }
    const mail = replies[0];
    if (mail.code !== 250) { await reset(c); throw new RelayError(`next hop refused MAIL FROM: ${mail.text}`, mail.code); }
    const rcpts = replies.slice(1, 1 + to.length);
    const rejected = to.flatMap((recipient, i) => (rcpts[i] && (rcpts[i].code === 250 || rcpts[i].code === 251) ? [] : [{ recipient, reply: rcpts[i]?.text ?? '' }]));
    if (rejected.length === to.length) {
      await reset(c);
      const last = rcpts[rcpts.length - 1];
      throw new RelayError(`next hop refused every recipient: ${last?.text ?? ''}`, last?.code || undefined);
    }
    const data = replies[1 + to.length];
    if (!data || data.code !== 354) { await reset(c); throw new RelayError(`next hop refused DATA: ${data?.text ?? ''}`, data?.code || undefined); }
    c.write([head, ...wirePieces(raw, wireFixes(raw))]);
    const done = await c.next();
    if (done.code !== 250) throw new RelayError(`next hop refused the message: ${done.text}`, done.code);
    return { rejected };
  }

  async function reset(c: Connection): Promise<void> {
    const r = await c.command('RSET').catch(() => undefined);
    if (!r || r.code !== 250) c.quit();
  }

  return {
    async send(from, to, head, raw) {
      if (closed) throw new RelayError('relay closed');
      const c = await acquire();
      try {
        return await transaction(c, from, to, head, raw);
      } catch (error) {
        // 421: the next hop is closing this connection.
        if ((error as RelayError).responseCode === 421) c.quit();
        throw error;
      } finally {
        release(c);
      }
    },
    close() {
      closed = true;
      for (const w of waiting.splice(0)) w(undefined);
      for (const c of all) if (!c.busy) c.quit();
      idle.length = 0;
    },
  };
}
