// Which columns of which canonical tables carry observables, how one row is matched against the
// index, and the alerts a match raises. The same code serves live matching and retro-hunts.
import { ulid } from 'ulid';
import type { CanonicalRow, Evidence, RaisedAlert } from '../schema/index.js';
import type { Indicator } from './indicator-model.js';
import { stronger, type Candidate, type IndicatorIndex } from './indicator-index.js';

export type ObservableKind = 'file' | 'ip' | 'url' | 'cert';

/** One observable slot of a table: a file (three hash columns), an IP, a URL/host, or a certificate thumbprint. */
export type Slot =
  | { readonly kind: 'file'; readonly sha256: string; readonly sha1?: string; readonly md5?: string }
  | { readonly kind: 'ip' | 'url'; readonly column: string }
  | { readonly kind: 'cert'; readonly field: string };

const FILE: Slot = { kind: 'file', sha256: 'SHA256', sha1: 'SHA1', md5: 'MD5' };
/** Certificate thumbprints travel in AdditionalFields (the schema has no certificate table). */
const CERT: Slot = { kind: 'cert', field: 'CertificateThumbprint' };

/** Table → observable slots checked on every row, as data. */
export const SLOTS: Readonly<Record<string, readonly Slot[]>> = {
  DeviceProcessEvents: [FILE, CERT],
  DeviceImageLoadEvents: [FILE, CERT],
  DeviceFileEvents: [FILE, CERT, { kind: 'url', column: 'FileOriginUrl' }, { kind: 'ip', column: 'FileOriginIP' }],
  DeviceEvents: [FILE, { kind: 'ip', column: 'RemoteIP' }, { kind: 'url', column: 'RemoteUrl' }, { kind: 'url', column: 'FileOriginUrl' }],
  DeviceNetworkEvents: [{ kind: 'ip', column: 'RemoteIP' }, { kind: 'url', column: 'RemoteUrl' }],
  DeviceLogonEvents: [{ kind: 'ip', column: 'RemoteIP' }],
  EmailAttachmentInfo: [{ kind: 'file', sha256: 'SHA256' }],
  EmailUrlInfo: [{ kind: 'url', column: 'Url' }],
  UrlClickEvents: [{ kind: 'url', column: 'Url' }],
  EmailEvents: [{ kind: 'ip', column: 'SenderIPv4' }, { kind: 'ip', column: 'SenderIPv6' }],
};

/** The winning indicator for one observable of one row. */
export interface Decision {
  readonly indicator: Indicator;
  readonly slot: Slot;
  /** What was seen (the hash, address or URL as in the row). */
  readonly observed: string;
}

export interface MatchContext {
  readonly now: number;
  /** The device group(s) of a device (id and name), for scoped indicators; empty = in no known group. */
  readonly groupOf: (deviceId: string) => readonly string[];
}

export function additional(row: CanonicalRow): Record<string, unknown> | undefined {
  const a = row.AdditionalFields;
  if (a && typeof a === 'object' && !Array.isArray(a)) return a as Record<string, unknown>;
  if (typeof a === 'string' && a.startsWith('{')) {
    try { return JSON.parse(a) as Record<string, unknown>; } catch { return undefined; }
  }
  return undefined;
}

function observedOf(slot: Slot, row: CanonicalRow): string {
  if (slot.kind === 'file') return String(row[slot.sha256] || (slot.sha1 && row[slot.sha1]) || (slot.md5 && row[slot.md5]) || '').toLowerCase();
  if (slot.kind === 'cert') return String(additional(row)?.[slot.field] ?? '').toLowerCase();
  return String(row[slot.column]);
}

/**
 * The winning indicator per observable of `row`, by the documented precedence. Expired indicators and
 * indicators scoped to other device groups are ignored. Allocates nothing when nothing matches.
 */
export function matchRow(
  index: IndicatorIndex, slots: readonly Slot[], row: CanonicalRow, ctx: MatchContext, out: Decision[], candidates: Candidate[] = [],
): void {
  for (let s = 0; s < slots.length; s++) {
    const slot = slots[s];
    candidates.length = 0;
    switch (slot.kind) {
      case 'file': index.file(row[slot.sha256], slot.sha1 && row[slot.sha1], slot.md5 && row[slot.md5], candidates); break;
      case 'ip': index.ip(row[slot.column], candidates); break;
      case 'url': index.url(row[slot.column], candidates); break;
      case 'cert': {
        const extra = row.AdditionalFields;
        if (extra != null) index.cert(additional(row)?.[slot.field], candidates);
        break;
      }
    }
    if (candidates.length === 0) continue;
    const winner = pick(candidates, row, ctx);
    if (winner) out.push({ indicator: winner.live.ind, slot, observed: observedOf(slot, row) });
  }
}

/** The strongest applicable candidate, or undefined when none applies (expired, or scoped elsewhere). */
export function pick(candidates: readonly Candidate[], row: CanonicalRow | undefined, ctx: MatchContext): Candidate | undefined {
  let best: Candidate | undefined;
  let bestScoped = false;
  let mine: readonly string[] | null = null; // null = not looked up yet
  for (const c of candidates) {
    if (c.live.exp <= ctx.now) continue;
    const groups = c.live.ind.deviceGroups;
    let scoped = false;
    if (groups.length > 0) {
      if (mine === null) {
        const deviceId = row?.DeviceId;
        mine = typeof deviceId === 'string' && deviceId !== '' ? ctx.groupOf(deviceId) : [];
      }
      if (!mine.some((g) => groups.includes(g))) continue;
      scoped = true;
    }
    if (!best || stronger(c, scoped, best, bestScoped)) { best = c; bestScoped = scoped; }
  }
  return best;
}

/** Whether a decision raises an alert: audit always; warn/block/block_and_remediate when generateAlert; allow never. */
export function alerts(ind: Indicator): boolean {
  return ind.action === 'audit' || (ind.action !== 'allow' && ind.generateAlert);
}

const lower = (v: unknown) => (typeof v === 'string' && v !== '' ? v.toLowerCase() : undefined);

/** The user evidence key: lower-case UPN if known, else lower-case account name without domain (CONTRACTS.md). */
export function userKey(row: CanonicalRow): { key: string; label: string } | undefined {
  const upn = lower(row.AccountUpn) ?? lower(row.InitiatingProcessAccountUpn);
  if (upn) return { key: upn, label: upn };
  const name = lower(row.AccountName) ?? lower(row.InitiatingProcessAccountName);
  if (!name) return undefined;
  const bare = name.includes('\\') ? name.slice(name.lastIndexOf('\\') + 1) : name;
  return { key: bare, label: String(row.AccountName ?? row.InitiatingProcessAccountName) };
}

/** Evidence of who/where: the device (and user) for endpoint rows, the mailbox/message for mail rows. */
export function impactedEvidence(table: string, row: CanonicalRow, recipients: readonly string[] = []): Evidence[] {
  const out: Evidence[] = [];
  if (typeof row.DeviceId === 'string' && row.DeviceId) {
    out.push({ kind: 'device', key: row.DeviceId, label: String(row.DeviceName ?? row.DeviceId), role: 'Impacted' });
  }
  const user = userKey(row);
  if (user) out.push({ kind: 'user', key: user.key, label: user.label, role: 'Impacted' });
  const mailboxes = new Set(recipients.map((r) => r.toLowerCase()));
  const rcpt = lower(row.RecipientEmailAddress);
  if (rcpt) mailboxes.add(rcpt);
  for (const m of mailboxes) out.push({ kind: 'mailbox', key: m, label: m, role: 'Impacted' });
  if (table.startsWith('Email') || table === 'UrlClickEvents') {
    if (typeof row.NetworkMessageId === 'string' && row.NetworkMessageId) {
      out.push({ kind: 'mailMessage', key: row.NetworkMessageId, label: String(row.Subject ?? row.NetworkMessageId), role: 'Impacted' });
    }
    const sender = lower(row.SenderFromAddress);
    if (sender) out.push({ kind: 'sender', key: sender, label: sender, role: 'Related' });
  }
  return out;
}

/** File evidence with key SHA-256 else SHA-1 else MD5 (CONTRACTS.md). */
export function fileEvidence(row: CanonicalRow, extra: Record<string, unknown> = {}): Evidence | undefined {
  const sha256 = lower(row.SHA256);
  const sha1 = lower(row.SHA1);
  const md5 = lower(row.MD5);
  const key = sha256 ?? sha1 ?? md5;
  if (!key) return undefined;
  return {
    kind: 'file', key, label: String(row.FileName ?? key), role: 'Related',
    details: { sha256: sha256 ?? null, sha1: sha1 ?? null, md5: md5 ?? null, folderPath: row.FolderPath ?? null, fileName: row.FileName ?? null, ...extra },
  };
}

function threatEvidence(d: Decision, row: CanonicalRow): Evidence {
  const details = { indicatorId: d.indicator.id, indicatorType: d.indicator.type, indicatorValue: d.indicator.value, action: d.indicator.action };
  switch (d.slot.kind) {
    case 'file': return fileEvidence(row, details) ?? { kind: 'file', key: d.observed, label: d.observed, role: 'Related', details };
    case 'cert': return { kind: 'file', key: lower(row.SHA256) ?? d.observed, label: String(row.FileName ?? d.observed), role: 'Related', details: { ...details, certificateThumbprint: d.observed } };
    case 'ip': return { kind: 'ip', key: d.observed, label: d.observed, role: 'Related', details };
    case 'url': return { kind: 'url', key: d.observed, label: d.observed, role: 'Related', details };
  }
}

const CATEGORY: Record<ObservableKind, string> = { file: 'Malware', cert: 'Malware', ip: 'CommandAndControl', url: 'CommandAndControl' };

export interface AlertInput {
  readonly table: string;
  readonly sensorId: string;
  readonly row: CanonicalRow;
  readonly decision: Decision;
  readonly retro?: boolean;
  readonly recipients?: readonly string[];
  readonly techniques?: readonly string[];
}

/** The 'alert.raised' payload for a match: detectionSource customTi, the indicator as the rule. */
export function indicatorAlert({ table, sensorId, row, decision, retro, recipients, techniques }: AlertInput): RaisedAlert {
  const ind = decision.indicator;
  const impacted = impactedEvidence(table, row, recipients);
  const threat = threatEvidence(decision, row);
  const where = impacted[0]?.label ?? sensorId;
  const at = typeof row.Timestamp === 'string' ? row.Timestamp : new Date().toISOString();
  return {
    alertId: ulid(),
    title: ind.title,
    description: `${retro ? 'Retro-hunt: past sighting. ' : ''}${decision.slot.kind === 'url' ? 'URL' : decision.slot.kind === 'ip' ? 'IP address' : 'File'} `
      + `${decision.observed} on ${where} matched indicator ${ind.type} ${ind.value} (action ${ind.action}).`
      + (ind.description ? ` ${ind.description}` : ''),
    severity: ind.severity,
    category: CATEGORY[decision.slot.kind],
    detectionSource: 'customTi',
    serviceSource: table.startsWith('Email') || table === 'UrlClickEvents' ? 'email' : 'endpoint',
    mitreTechniques: techniques ?? [],
    tactics: [],
    rule: { id: ind.id, title: ind.title, source: 'indicator' },
    firstActivity: at,
    lastActivity: at,
    evidence: [...impacted, threat],
    events: [{ table, reportId: row.ReportId as string | number, sensorId, row }],
    dedupKey: `customTi|${ind.id}|${impacted[0]?.key ?? sensorId}|${threat.key}`,
  };
}
