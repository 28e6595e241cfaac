// Parses one message into what the verdict and telemetry need: addresses, authentication results (RFC 8601
// Authentication-Results), attachments with hashes and true types, and every URL.
//
// One pass over the message: mailparser's own MIME splitter (@zone-eu/mailsplit, with its hardening against
// parser differentials) finds the parts and parses their headers, and each part's body is then decoded in one
// go with native code (base64) instead of mailparser's chain of streams, which cost five times as much CPU.
// Which parts are attachments and which are the text, and how header values are decoded, follow mailparser
// (mail-parser.js createNode/processHeaders), so the verdicts are the ones mailparser's view gave.
import { Splitter, type MimeNode } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { decode as qpDecode } from 'libqp';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { domainToUnicode } from 'node:url';
import { inspectFile, type FileInfo } from './file-type.js';

export interface AuthResults {
  readonly spf?: string;
  readonly dkim?: string;
  readonly dmarc?: string;
  readonly compauth?: string;
}

export interface ScannedUrl { readonly url: string; readonly domain: string; readonly location: 'Body' | 'Attachment' }

export interface ScannedMessage {
  readonly internetMessageId: string;
  readonly subject: string;
  readonly fromAddress: string;
  readonly fromDisplayName: string;
  readonly auth: AuthResults;
  readonly attachments: readonly FileInfo[];
  readonly urls: readonly ScannedUrl[];
  /** Set when the MIME structure could not be read; the message is then judged on its envelope only. */
  readonly parseError?: string;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`\\^{}|]+/gi;
const MAX_URLS = 500;

function cleanUrl(raw: string): string | undefined {
  let u = raw.replace(/&amp;/g, '&').replace(/[.,;:!?)\]]+$/, '');
  try {
    const parsed = new URL(u);
    if (!parsed.hostname) return undefined;
    u = parsed.href;
    return u;
  } catch { return undefined; }
}

/** Every distinct http(s) URL in a text, in order of first appearance. */
export function extractUrls(text: string, into: Map<string, ScannedUrl>, location: ScannedUrl['location']): void {
  for (const m of text.matchAll(URL_RE)) {
    if (into.size >= MAX_URLS) return;
    const url = cleanUrl(m[0]);
    if (!url || into.has(url)) continue;
    into.set(url, { url, domain: new URL(url).hostname.toLowerCase(), location });
  }
}

/** RFC 8601 method results: spf=pass dkim=fail dmarc=pass …; the first result of each method wins. */
export function parseAuthResults(values: readonly string[]): AuthResults {
  const out: Record<string, string> = {};
  for (const v of values) {
    for (const m of v.matchAll(/\b(spf|dkim|dmarc|compauth)\s*=\s*([a-z]+)/gi)) {
      const k = m[1].toLowerCase();
      out[k] ??= m[2].toLowerCase();
    }
  }
  return out;
}

function rawHeader(raw: Buffer, name: string): string[] {
  // Header values straight from the bytes, for when the structure could not be read at all.
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : end).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'gim');
  return [...head.matchAll(re)].map((m) => m[1].trim());
}

/** Problems of the top-level header block: no blank line after it, a line without a field name. */
function headerProblems(raw: Buffer): string[] {
  const problems: string[] = [];
  const sep = raw.indexOf('\r\n\r\n');
  const headEnd = sep >= 0 ? sep : raw.indexOf('\n\n');
  if (headEnd < 0) problems.push('no blank line between header and body');
  const head = raw.subarray(0, headEnd < 0 ? Math.min(raw.length, 65536) : headEnd).toString('latin1');
  const bad = head.split(/\r?\n/).findIndex((l, i) => l !== '' && !/^[ \t]/.test(l) && !/^[!-9;-~]+:/.test(l) && !(i === 0 && l.startsWith('From ')));
  if (bad >= 0) problems.push(`header line ${bad + 1} has no field name`);
  return problems;
}

interface Part { readonly node: MimeNode; readonly body: Buffer[] }

/**
 * The message's MIME nodes in document order, each with its (still transfer-encoded) body bytes, and the
 * structural problems the splitter forgives silently (it never fails on them) but an analyst should know of:
 * a header line without a colon, a multipart part without a boundary, a multipart body never closed.
 */
function splitMessage(raw: Buffer): Promise<{ parts: Part[]; problems: string[] }> {
  return new Promise((resolve, reject) => {
    const splitter = new Splitter();
    const parts: Part[] = [];
    const byNode = new Map<MimeNode, Part>();
    splitter.on('data', (chunk: { type: string; node?: MimeNode; value?: Buffer }) => {
      if (chunk.type === 'node') {
        const part = { node: chunk as unknown as MimeNode, body: [] };
        parts.push(part);
        byNode.set(part.node, part);
      } else if (chunk.type === 'body' && chunk.node && chunk.value?.length) {
        byNode.get(chunk.node)?.body.push(chunk.value);
      }
    });
    // mailsplit declares only its 'data' event; it is a Transform stream.
    const stream = splitter as unknown as NodeJS.EventEmitter;
    stream.once('error', reject);
    stream.once('end', () => {
      const problems = headerProblems(raw);
      for (const { node } of parts) {
        if (!node.multipart) continue;
        if (!node._boundary) { problems.push('a multipart part declares no boundary'); continue; }
        const closing = Buffer.concat([Buffer.from('--'), node._boundary, Buffer.from('--')]);
        if (!raw.includes(closing)) problems.push(`multipart body with boundary '${node._boundary.toString('latin1')}' is never closed`);
      }
      resolve({ parts, problems });
    });
    splitter.end(raw);
  });
}

/** A part's content after its Content-Transfer-Encoding (base64 and quoted-printable; anything else as is). */
function decodeBody(node: MimeNode, body: Buffer[]): Buffer {
  const bytes = body.length === 1 ? body[0] : Buffer.concat(body);
  if (node.encoding === 'base64') return Buffer.from(bytes.toString('latin1'), 'base64');
  if (node.encoding === 'quoted-printable') return qpDecode(bytes);
  return bytes;
}

/** A text part as a string: charset (as mailparser: libmime's decoder, UTF-8 for ASCII) and format=flowed. */
async function textOf(node: MimeNode, content: Buffer): Promise<string> {
  const charset = typeof node.charset === 'string' && node.charset ? node.charset : 'utf-8';
  let text: string;
  if (['ascii', 'usascii', 'utf8'].includes(charset.toLowerCase().replace(/[^a-z0-9]+/g, ''))) text = content.toString('utf8');
  else {
    const stream = libmime.createDecodeStream(charset);
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => out.push(typeof c === 'string' ? Buffer.from(c) : c));
    text = await new Promise<string>((resolve, reject) => {
      stream.once('end', () => resolve(Buffer.concat(out).toString('utf8')));
      stream.once('error', reject);
      stream.end(content);
    });
  }
  if (node.flowed) text = libmime.decodeFlowed(text, node.delSp);
  return text.replace(/\r?\n/g, '\n');
}

/** A header value as mailparser reads it: the raw bytes as UTF-8, then encoded words decoded. */
function headerValue(line: string): string {
  const value = Buffer.from(String(libmime.decodeHeader(line).value ?? '').trim(), 'binary').toString();
  try { return libmime.decodeWords(value); } catch { return value; }
}

/** The first address of a From header: addressparser, display name decoded, punycode domain in Unicode (as mailparser). */
function firstAddress(line: string): { address: string; name: string } {
  const value = Buffer.from(String(libmime.decodeHeader(line).value ?? '').trim(), 'binary').toString();
  for (const a of addressparser(value)) {
    if (!('address' in a) || !a.address) continue;
    let address = a.address;
    // RFC 2047 encoded words never belong in an addr-spec: decoded, they must still be a plain local@domain.
    if (/[=]\?[^?]+\?[BbQq]\?[^?]*\?[=]/.test(address)) {
      try {
        const decoded = libmime.decodeWords(address);
        address = /^[^\s@]+@[^\s@]+$/.test(decoded) && !/[=]\?/.test(decoded) ? decoded : '';
      } catch { address = ''; }
      if (!address) continue;
    }
    if (/@xn--/.test(address)) {
      const at = address.lastIndexOf('@');
      address = address.slice(0, at + 1) + (domainToUnicode(address.slice(at + 1)) || address.slice(at + 1));
    }
    let name = (a.name || '').toString().trim();
    if (name) { try { name = libmime.decodeWords(name); } catch { /* kept as is */ } }
    return { address: address.toLowerCase(), name };
  }
  return { address: '', name: '' };
}

const TEXT_TYPES = ['text/plain', 'text/html', 'message/delivery-status'];

/** Scans a raw RFC 5322 message. Never throws: unreadable MIME yields `parseError` and whatever the headers gave. */
export async function scanMessage(raw: Buffer): Promise<ScannedMessage> {
  const urls = new Map<string, ScannedUrl>();
  try {
    const { parts, problems } = await splitMessage(raw);
    const root = parts[0]?.node;
    if (!root || !root.headers) throw new Error('no message header');
    let subject: string | undefined;
    let messageId: string | undefined;
    let from: { address: string; name: string } | undefined;
    const authValues: string[] = [];
    for (const { key, line } of root.headers.getList()) {
      // The first of each wins, as in mailparser.
      if (key === 'subject') subject ??= headerValue(line) || undefined;
      else if (key === 'message-id') {
        const v = headerValue(line);
        if (v) messageId ??= `${v.startsWith('<') ? '' : '<'}${v}${v.endsWith('>') ? '' : '>'}`;
      } else if (key === 'from') from ??= firstAddress(line);
      else if (key === 'authentication-results') authValues.push(line.replace(/^[^:]*:/, ''));
    }
    const texts: string[] = [];
    const htmls: string[] = [];
    const attachments: FileInfo[] = [];
    const attachedTexts: Buffer[] = [];
    for (const { node, body } of parts) {
      if (node.multipart) continue;
      // An embedded message's own parts follow as nodes of their own.
      if (node.contentType === 'message/rfc822' && node.messageNode) continue;
      const contentType = node.contentType || (node.root ? 'text/plain' : '');
      let disposition = node.disposition || undefined;
      if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
      if (!disposition) disposition = TEXT_TYPES.includes(contentType) ? 'inline' : 'attachment';
      const content = decodeBody(node, body);
      if (!TEXT_TYPES.includes(contentType) || disposition !== 'inline') {
        const info = inspectFile(typeof node.filename === 'string' && node.filename ? node.filename : 'attachment', content);
        attachments.push(info);
        if (info.kind === 'text' && info.size <= 1024 * 1024) attachedTexts.push(content);
      } else {
        (contentType === 'text/html' ? htmls : texts).push(await textOf(node, content));
      }
    }
    // The text parts first, then the HTML ones, as mailparser's text and html (and so the URLs' order).
    if (texts.length) extractUrls(texts.join('\n'), urls, 'Body');
    if (htmls.length) extractUrls(htmls.join('<br/>\n'), urls, 'Body');
    for (const t of attachedTexts) extractUrls(t.toString('utf8'), urls, 'Attachment');
    return {
      ...(problems.length ? { parseError: problems.join('; ') } : {}),
      internetMessageId: messageId ?? '',
      subject: subject ?? '',
      fromAddress: from?.address ?? '',
      fromDisplayName: from?.name ?? '',
      auth: parseAuthResults(authValues),
      attachments,
      urls: [...urls.values()],
    };
  } catch (error) {
    const fromRaw = rawHeader(raw, 'from')[0] ?? '';
    const address = /<([^>]+)>/.exec(fromRaw)?.[1] ?? fromRaw;
    extractUrls(raw.toString('latin1'), urls, 'Body');
    return {
      internetMessageId: rawHeader(raw, 'message-id')[0] ?? '',
      subject: rawHeader(raw, 'subject')[0] ?? '',
      fromAddress: address.toLowerCase(),
      fromDisplayName: '',
      auth: parseAuthResults(rawHeader(raw, 'authentication-results')),
      attachments: [],
      urls: [...urls.values()],
      parseError: (error as Error).message,
    };
  }
}
