// Verdicts: indicators from the platform's feed (hashes, URLs, domains) and Vigil's own rules
// (EICAR, executable or script attachments by magic bytes, macro documents from outside, display-name spoofs).
import type { FileInfo } from './file-type.js';
import { EXECUTABLE_KINDS } from './file-type.js';
import type { ScannedMessage } from './scanner.js';

export type ThreatType = 'Malware' | 'Phish' | 'Spam';
export type Verdict = 'malware' | 'phish' | 'spam' | 'clean';
export type VerdictAction = 'deliver' | 'junk' | 'quarantine' | 'reject';

/** An indicator as the intel feed sends it (CONTRACTS.md). */
export interface FeedIndicator {
  readonly id: string;
  readonly type: string;
  readonly value: string;
  readonly action: string;
  readonly severity?: string;
  readonly title?: string;
  readonly expiresAt?: string | null;
}

export interface MailPolicy {
  readonly malware: VerdictAction;
  readonly phish: VerdictAction;
  readonly spam: VerdictAction;
  /** What a macro document from an external sender is. */
  readonly externalMacro: 'malware' | 'phish' | 'clean';
  /** Where zero-hour purge moves phish (malware always goes to quarantine, as ZAP does). */
  readonly zapPhish: 'junk' | 'quarantine';
  /** Executable and script attachments (by magic bytes or a runnable name): malware by Vigil's own rule, or left to indicators. */
  readonly executables: 'malware' | 'allow';
}

export const DEFAULT_POLICY: MailPolicy = {
  malware: 'quarantine', phish: 'quarantine', spam: 'junk', externalMacro: 'malware', zapPhish: 'junk', executables: 'malware',
};

export interface Detection {
  readonly threat: ThreatType;
  /** Defender-style DetectionMethods value. */
  readonly method: string;
  readonly name: string;
  readonly file?: FileInfo;
  readonly url?: string;
  readonly indicatorId?: string;
}

export interface Judgement {
  readonly verdict: Verdict;
  readonly detections: readonly Detection[];
  /** Hashes, URLs or domains an `allow` indicator cleared. */
  readonly allowed: readonly string[];
}

const CONDEMNING = new Set(['block', 'block_and_remediate', 'warn']);

/** The active indicators, indexed for lookups by hash, URL prefix and domain (a domain matches its subdomains). */
export class IndicatorSet {
  private readonly byId = new Map<string, FeedIndicator>();
  private hashes = new Map<string, FeedIndicator>();
  private domains = new Map<string, FeedIndicator>();
  private urls: FeedIndicator[] = [];

  get size(): number { return this.byId.size; }
  all(): FeedIndicator[] { return [...this.byId.values()]; }

  apply(update: { indicators?: readonly FeedIndicator[]; removed?: readonly string[]; full?: boolean }): FeedIndicator[] {
    if (update.full) this.byId.clear();
    const added: FeedIndicator[] = [];
    for (const i of update.indicators ?? []) { this.byId.set(i.id, i); added.push(i); }
    for (const id of update.removed ?? []) this.byId.delete(id);
    this.rebuild();
    return added;
  }

  private rebuild(): void {
    this.hashes = new Map();
    this.domains = new Map();
    this.urls = [];
    const now = Date.now();
    for (const i of this.byId.values()) {
      if (i.expiresAt && Date.parse(i.expiresAt) <= now) continue;
      const v = i.value.toLowerCase();
      if (i.type === 'sha256' || i.type === 'sha1' || i.type === 'md5') this.hashes.set(v, i);
      else if (i.type === 'domain') this.domains.set(v.replace(/\.$/, ''), i);
      else if (i.type === 'url') this.urls.push({ ...i, value: normaliseUrl(i.value) });
    }
  }

  file(f: FileInfo): FeedIndicator | undefined {
    return this.hashes.get(f.sha256) ?? this.hashes.get(f.sha1) ?? this.hashes.get(f.md5);
  }

  domain(host: string): FeedIndicator | undefined {
    let h = host.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const hit = this.domains.get(h);
      if (hit) return hit;
      const dot = h.indexOf('.');
      if (dot < 0) return undefined;
      h = h.slice(dot + 1);
    }
  }

  url(url: string): FeedIndicator | undefined {
    const u = normaliseUrl(url);
    // A URL indicator matches everything under its path (defender-xdr.md §10).
    const hit = this.urls.find((i) => u === i.value || u.startsWith(i.value.endsWith('/') ? i.value : `${i.value}/`) || u.startsWith(`${i.value}?`));
    if (hit) return hit;
    try { return this.domain(new URL(u).hostname); } catch { return undefined; }
  }
}

function normaliseUrl(u: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? u : `http://${u}`;
  try { return new URL(withScheme).href.replace(/\/$/, ''); } catch { return u.toLowerCase(); }
}

export interface JudgeContext {
  readonly indicators: IndicatorSet;
  readonly policy: MailPolicy;
  /** The organisation's domains (lower case): senders from these are internal. */
  readonly domains: ReadonlySet<string>;
  /** Display names of internal users (lower case), for spoof detection. */
  readonly internalNames: ReadonlySet<string>;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

export function isInternal(address: string, domains: ReadonlySet<string>): boolean {
  return address.includes('@') && domains.has(domainOf(address));
}

function judgeFile(f: FileInfo, ctx: JudgeContext, external: boolean, out: Detection[], allowed: string[]): void {
  const ind = ctx.indicators.file(f);
  if (ind && ind.action === 'allow') { allowed.push(f.sha256); return; }
  if (ind && CONDEMNING.has(ind.action)) {
    out.push({ threat: 'Malware', method: 'File reputation', name: ind.title ?? `Indicator ${ind.value}`, file: f, indicatorId: ind.id });
  }
  if (f.eicar) out.push({ threat: 'Malware', method: 'Antimalware protection', name: 'EICAR-Test-File', file: f });
  if (ctx.policy.executables === 'allow') { /* left to indicators */ } else if (EXECUTABLE_KINDS.has(f.kind)) {
    out.push({
      threat: 'Malware', method: 'File type block',
      name: `${f.kind === 'script' ? 'Script' : 'Executable'} attachment (${f.kind}${f.renamed ? `, renamed as ${f.fileName}` : ''})`, file: f,
    });
  } else if (f.runnableName) {
    out.push({ threat: 'Malware', method: 'File type block', name: `Runnable attachment name ${f.fileName}`, file: f });
  }
  if (f.hasMacros && external && ctx.policy.externalMacro !== 'clean') {
    out.push({ threat: ctx.policy.externalMacro === 'malware' ? 'Malware' : 'Phish', method: 'Macro attachment', name: `Office macro from an external sender (${f.fileName})`, file: f });
  }
  for (const m of f.members) judgeFile({ ...m, fileName: `${f.fileName}/${m.fileName}` }, ctx, external, out, allowed);
}

/** Judges a scanned message; the worst threat decides the verdict (malware > phish > spam). */
export function judge(msg: ScannedMessage, mailFrom: string, ctx: JudgeContext): Judgement {
  const detections: Detection[] = [];
  const allowed: string[] = [];
  const sender = msg.fromAddress || mailFrom.toLowerCase();
  const external = !isInternal(sender, ctx.domains);
  for (const f of msg.attachments) judgeFile(f, ctx, external, detections, allowed);
  for (const u of msg.urls) {
    const ind = ctx.indicators.url(u.url);
    if (ind && ind.action === 'allow') { allowed.push(u.url); continue; }
    if (ind && CONDEMNING.has(ind.action)) {
      detections.push({ threat: 'Phish', method: 'URL malicious reputation', name: ind.title ?? `Indicator ${ind.value}`, url: u.url, indicatorId: ind.id });
    }
  }
  for (const addr of new Set([sender, mailFrom.toLowerCase()])) {
    if (!addr.includes('@')) continue;
    const ind = ctx.indicators.domain(domainOf(addr));
    if (ind && CONDEMNING.has(ind.action)) {
      detections.push({ threat: 'Phish', method: 'Domain reputation', name: ind.title ?? `Sender domain ${ind.value}`, indicatorId: ind.id });
    }
  }
  // A display-name spoof: an external address under the name of an internal user (or showing an internal address).
  if (external && msg.fromDisplayName) {
    const name = msg.fromDisplayName.trim().toLowerCase();
    const showsInternal = [...ctx.domains].some((d) => name.includes(`@${d}`));
    if (showsInternal || ctx.internalNames.has(name)) {
      detections.push({ threat: 'Phish', method: 'Impersonation user', name: `Display-name spoof of internal user '${msg.fromDisplayName}'` });
    }
  }
  if (external && msg.auth.dmarc === 'fail') {
    detections.push({ threat: 'Spam', method: 'Spoof external domain', name: 'DMARC fail' });
  }
  const verdict: Verdict = detections.some((d) => d.threat === 'Malware') ? 'malware'
    : detections.some((d) => d.threat === 'Phish') ? 'phish'
      : detections.some((d) => d.threat === 'Spam') ? 'spam' : 'clean';
  return { verdict, detections, allowed };
}

export function actionFor(verdict: Verdict, policy: MailPolicy): VerdictAction {
  return verdict === 'clean' ? 'deliver' : policy[verdict];
}
