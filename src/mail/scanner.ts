// Parses one message (mailparser) into what the verdict and telemetry need: addresses, authentication
// results (RFC 8601 Authentication-Results), attachments with hashes and true types, and every URL.
import { simpleParser, type AddressObject } from 'mailparser';
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

function first(addr: AddressObject | AddressObject[] | undefined): { address: string; name: string } {
  const list = Array.isArray(addr) ? addr : addr ? [addr] : [];
  for (const a of list) for (const v of a.value) if (v.address) return { address: v.address.toLowerCase(), name: v.name ?? '' };
  return { address: '', name: '' };
}

function rawHeader(raw: Buffer, name: string): string[] {
  // Header values straight from the bytes, for when mailparser gave up on the structure.
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : end).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'gim');
  return [...head.matchAll(re)].map((m) => m[1].trim());
}

/**
 * Structural problems mailparser forgives silently (it never fails on them) but an analyst should know of:
 * a header line without a colon, a multipart part without a boundary, a multipart body never closed.
 */
export function mimeProblems(raw: Buffer): string[] {
  const problems: string[] = [];
  const sep = raw.indexOf('\r\n\r\n');
  const headEnd = sep >= 0 ? sep : raw.indexOf('\n\n');
  if (headEnd < 0) problems.push('no blank line between header and body');
  const head = raw.subarray(0, headEnd < 0 ? Math.min(raw.length, 65536) : headEnd).toString('latin1');
  const bad = head.split(/\r?\n/).findIndex((l, i) => l !== '' && !/^[ \t]/.test(l) && !/^[!-9;-~]+:/.test(l) && !(i === 0 && l.startsWith('From ')));
  if (bad >= 0) problems.push(`header line ${bad + 1} has no field name`);
  const text = raw.length > 8 * 1024 * 1024 ? raw.subarray(0, 8 * 1024 * 1024).toString('latin1') : raw.toString('latin1');
  for (const m of text.matchAll(/content-type:[ \t]*multipart\/[a-z-]+((?:;[^;\r\n]*|\r?\n[ \t][^\r\n]*)*)/gi)) {
    const b = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(m[1]);
    if (!b) { problems.push('a multipart part declares no boundary'); continue; }
    const boundary = b[1] ?? b[2];
    if (raw.length <= 8 * 1024 * 1024 && !text.includes(`--${boundary}--`)) problems.push(`multipart body with boundary '${boundary}' is never closed`);
  }
  return problems;
}

/** Scans a raw RFC 5322 message. Never throws: unreadable MIME yields `parseError` and whatever the headers gave. */
export async function scanMessage(raw: Buffer): Promise<ScannedMessage> {
  const urls = new Map<string, ScannedUrl>();
  try {
    const parsed = await simpleParser(raw, {
      skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true,
    });
    const from = first(parsed.from);
    if (parsed.text) extractUrls(parsed.text, urls, 'Body');
    if (parsed.html) extractUrls(parsed.html, urls, 'Body');
    const attachments: FileInfo[] = [];
    for (const a of parsed.attachments) {
      // mailparser already computed the MD5 (its default attachment checksum) while decoding.
      const info = inspectFile(a.filename ?? 'attachment', a.content, 0, typeof a.checksum === 'string' && /^[0-9a-f]{32}$/.test(a.checksum) ? a.checksum : undefined);
      attachments.push(info);
      if (info.kind === 'text' && info.size <= 1024 * 1024) extractUrls(a.content.toString('utf8'), urls, 'Attachment');
    }
    const authValues = parsed.headerLines.filter((h) => h.key === 'authentication-results').map((h) => h.line.replace(/^[^:]*:/, ''));
    const problems = mimeProblems(raw);
    return {
      ...(problems.length ? { parseError: problems.join('; ') } : {}),
      internetMessageId: parsed.messageId ?? '',
      subject: parsed.subject ?? '',
      fromAddress: from.address,
      fromDisplayName: from.name,
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
