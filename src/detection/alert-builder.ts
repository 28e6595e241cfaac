// A Sigma match → RaisedAlert (+ AlertInfo / AlertEvidence rows). DRL 1.1 requires the rule's author
// in every output showing a match, so the alert's rule reference always carries it.
import { ulid } from 'ulid';
import type { CanonicalRow, EventRef, Evidence, RaisedAlert, Severity } from '../schema/index.js';
import type { Match } from './sigma/sigma-engine.js';

/** Sigma level → Defender severity (Sigma's `critical` has no Defender counterpart above high). */
export const LEVEL_SEVERITY: Readonly<Record<string, Severity>> = {
  informational: 'informational', low: 'low', medium: 'medium', high: 'high', critical: 'high',
};

/** ATT&CK tactic tag (Sigma tags appendix: `attack.<tactic>`) → tactic name and Defender alert category. */
const TACTICS: Readonly<Record<string, { name: string; category: string }>> = {
  'reconnaissance': { name: 'Reconnaissance', category: 'Reconnaissance' },
  'resource-development': { name: 'Resource Development', category: 'ResourceDevelopment' },
  'initial-access': { name: 'Initial Access', category: 'InitialAccess' },
  'execution': { name: 'Execution', category: 'Execution' },
  'persistence': { name: 'Persistence', category: 'Persistence' },
  'privilege-escalation': { name: 'Privilege Escalation', category: 'PrivilegeEscalation' },
  'defense-evasion': { name: 'Defense Evasion', category: 'DefenseEvasion' },
  'stealth': { name: 'Stealth', category: 'DefenseEvasion' },
  'credential-access': { name: 'Credential Access', category: 'CredentialAccess' },
  'discovery': { name: 'Discovery', category: 'Discovery' },
  'lateral-movement': { name: 'Lateral Movement', category: 'LateralMovement' },
  'collection': { name: 'Collection', category: 'Collection' },
  'command-and-control': { name: 'Command and Control', category: 'CommandAndControl' },
  'exfiltration': { name: 'Exfiltration', category: 'Exfiltration' },
  'impact': { name: 'Impact', category: 'Impact' },
};

export function attackOf(tags: readonly string[]): { techniques: string[]; tactics: string[]; category: string } {
  const techniques: string[] = [];
  const tactics: string[] = [];
  let category: string | undefined;
  for (const tag of tags) {
    const t = tag.toLowerCase();
    const tech = /^attack\.(t\d{4}(?:\.\d{3})?)$/.exec(t);
    if (tech) { const id = tech[1]!.toUpperCase(); if (!techniques.includes(id)) techniques.push(id); continue; }
    const tactic = t.startsWith('attack.') ? TACTICS[t.slice(7).replace(/_/g, '-')] : undefined;
    if (tactic && !tactics.includes(tactic.name)) { tactics.push(tactic.name); category ??= tactic.category; }
  }
  return { techniques, tactics, category: category ?? 'SuspiciousActivity' };
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const lower = (v: unknown) => str(v)?.toLowerCase();
const baseName = (p: string) => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);

function hashesFromRaw(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const h = str(raw?.Hashes);
  if (h) for (const part of h.split(',')) { const [k, v] = part.split('='); if (k && v) out[k.trim().toLowerCase()] = v.trim().toLowerCase(); }
  return out;
}

/** The entities a row speaks of: device, user, process, file (with hashes), IP, URL. */
export function evidenceOf(table: string, row: CanonicalRow): Evidence[] {
  const out: Evidence[] = [];
  const raw = (row._Raw && typeof row._Raw === 'object' ? row._Raw : undefined) as Record<string, unknown> | undefined;
  const deviceId = str(row.DeviceId);
  const deviceName = str(row.DeviceName) ?? str(raw?.Computer);
  if (deviceId || deviceName) out.push({ kind: 'device', key: deviceId ?? deviceName!.toLowerCase(), label: deviceName ?? deviceId!, role: 'Impacted' });
  const upn = lower(row.AccountUpn) ?? lower(row.InitiatingProcessAccountUpn);
  const account = str(row.AccountName) ?? str(row.InitiatingProcessAccountName) ?? str(raw?.User) ?? str(raw?.TargetUserName);
  if (upn || account) {
    const bare = account && account.includes('\\') ? account.slice(account.lastIndexOf('\\') + 1) : account;
    out.push({ kind: 'user', key: upn ?? bare!.toLowerCase(), label: upn ?? account!, role: 'Impacted', details: { domain: str(row.AccountDomain) ?? null } });
  }
  const isProcessTable = table === 'DeviceProcessEvents';
  const procPath = isProcessTable ? str(row.FolderPath) ?? str(raw?.Image) : str(row.InitiatingProcessFolderPath) ?? str(raw?.Image);
  const procCmd = isProcessTable ? str(row.ProcessCommandLine) ?? str(raw?.CommandLine) : str(row.InitiatingProcessCommandLine);
  const procId = isProcessTable ? row.ProcessId ?? raw?.ProcessId : row.InitiatingProcessId ?? raw?.ProcessId;
  if (procPath || procCmd) {
    out.push({
      kind: 'process', key: `${deviceId ?? deviceName ?? ''}|${procId ?? ''}|${procPath ?? procCmd}`, label: procPath ? baseName(procPath) : procCmd!,
      role: 'Related', details: { folderPath: procPath ?? null, commandLine: procCmd ?? null, processId: procId ?? null,
        parentFolderPath: isProcessTable ? str(row.InitiatingProcessFolderPath) ?? str(raw?.ParentImage) ?? null : null },
    });
  }
  const rawHashes = hashesFromRaw(raw);
  const sha256 = lower(row.SHA256) ?? rawHashes.sha256;
  const sha1 = lower(row.SHA1) ?? rawHashes.sha1;
  const md5 = lower(row.MD5) ?? rawHashes.md5;
  const filePath = str(row.FolderPath) ?? str(raw?.TargetFilename) ?? str(raw?.ImageLoaded) ?? (isProcessTable ? procPath : undefined);
  if (sha256 || sha1 || md5 || (filePath && table !== 'DeviceNetworkEvents')) {
    const key = sha256 ?? sha1 ?? md5 ?? filePath!.toLowerCase();
    out.push({
      kind: 'file', key, label: str(row.FileName) ?? (filePath ? baseName(filePath) : key), role: 'Related',
      details: { sha256: sha256 ?? null, sha1: sha1 ?? null, md5: md5 ?? null, folderPath: filePath ?? null, fileName: str(row.FileName) ?? null, fileSize: row.FileSize ?? null },
    });
  }
  const ip = str(row.RemoteIP) ?? str(raw?.DestinationIp);
  if (ip) out.push({ kind: 'ip', key: ip, label: ip, role: 'Related', details: { port: row.RemotePort ?? raw?.DestinationPort ?? null } });
  const url = str(row.RemoteUrl) ?? str(raw?.DestinationHostname) ?? str(raw?.QueryName) ?? str(row.FileOriginUrl);
  if (url) out.push({ kind: 'url', key: url.toLowerCase(), label: url, role: 'Related' });
  return out;
}

export interface AlertContext {
  readonly sensorId: string;
  readonly now?: () => Date;
}

/** Build the alert for one match (rule or correlation). */
export function alertFromMatch(match: Match, ctx: AlertContext): RaisedAlert {
  const rule = match.rule;
  const { techniques, tactics, category } = attackOf(rule.tags);
  const times = match.events.map((e) => (typeof e.row.Timestamp === 'string' ? e.row.Timestamp : undefined)).filter((t): t is string => !!t).sort();
  const now = (ctx.now ?? (() => new Date()))().toISOString();
  const evidence: Evidence[] = [];
  const seen = new Set<string>();
  for (const e of match.events) {
    for (const ev of evidenceOf(e.table, e.row)) {
      const k = `${ev.kind}|${ev.key}`;
      if (!seen.has(k)) { seen.add(k); evidence.push(ev); }
    }
  }
  const events: EventRef[] = match.events.map((e) => ({
    table: e.table, reportId: (e.row.ReportId as string | number | undefined) ?? '', sensorId: (e.row._SensorId as string | undefined) ?? ctx.sensorId, row: e.row,
  }));
  const device = evidence.find((e) => e.kind === 'device');
  const thing = evidence.find((e) => e.kind === 'file') ?? evidence.find((e) => e.kind === 'process') ?? evidence.find((e) => e.kind === 'ip');
  const author = rule.author ? ` Rule by ${rule.author}.` : '';
  const groupText = match.group ? ` Group: ${Object.entries(match.group).map(([k, v]) => `${k}=${v ?? ''}`).join(', ')}.` : '';
  return {
    alertId: ulid(),
    title: rule.title,
    description: `${rule.description?.trim() ?? rule.title}${groupText}${author}`,
    severity: LEVEL_SEVERITY[rule.level] ?? 'medium',
    category,
    detectionSource: 'sigma',
    serviceSource: 'endpoint',
    mitreTechniques: techniques,
    tactics,
    rule: {
      id: rule.id ?? rule.key, title: rule.title, author: rule.author, references: rule.references, source: 'sigma',
      license: rule.license ?? (rule.pack === 'sigmahq' ? 'DRL-1.1' : undefined),
    },
    firstActivity: times[0] ?? now,
    lastActivity: times[times.length - 1] ?? now,
    evidence,
    events,
    dedupKey: `sigma|${rule.key}|${device?.key ?? ''}|${thing?.key ?? ''}`,
  };
}

const ENTITY_TYPE: Readonly<Record<Evidence['kind'], string>> = {
  device: 'Machine', user: 'User', mailbox: 'Mailbox', process: 'Process', file: 'File', ip: 'Ip', url: 'Url', sender: 'MailSender', mailMessage: 'MailMessage',
};
const SEVERITY_TEXT: Readonly<Record<Severity, string>> = { informational: 'Informational', low: 'Low', medium: 'Medium', high: 'High' };

/** AlertInfo and AlertEvidence rows for an alert (Defender advanced-hunting shape). */
export function alertRows(alert: RaisedAlert): { info: CanonicalRow; evidence: CanonicalRow[] } {
  const common = {
    Timestamp: alert.lastActivity, AlertId: alert.alertId, Title: alert.title, ServiceSource: 'Vigil', DetectionSource: 'Sigma',
    AttackTechniques: [...alert.mitreTechniques],
  };
  const info: CanonicalRow = {
    ...common, Category: alert.category, Severity: SEVERITY_TEXT[alert.severity], ReportId: `${alert.alertId}`,
    AdditionalFields: { RuleId: alert.rule?.id, RuleAuthor: alert.rule?.author ?? null, RuleReferences: alert.rule?.references ?? [], Tactics: alert.tactics },
  };
  const deviceEv = alert.evidence.find((e) => e.kind === 'device');
  const evidence = alert.evidence.map((e, i): CanonicalRow => {
    const d = (e.details ?? {}) as Record<string, unknown>;
    const row: CanonicalRow = {
      ...common, Categories: alert.category, EntityType: ENTITY_TYPE[e.kind], EvidenceRole: e.role, Severity: SEVERITY_TEXT[alert.severity],
      ReportId: `${alert.alertId}:${i}`, DeviceId: deviceEv?.key, DeviceName: deviceEv?.label,
    };
    if (e.kind === 'file') { row.FileName = d.fileName ?? e.label; row.FolderPath = d.folderPath; row.SHA1 = d.sha1; row.SHA256 = d.sha256; }
    if (e.kind === 'process') { row.FileName = e.label; row.FolderPath = d.folderPath; row.ProcessCommandLine = d.commandLine; }
    if (e.kind === 'user') { row.AccountName = e.label; row.AccountDomain = d.domain; }
    if (e.kind === 'ip') row.RemoteIP = e.key;
    if (e.kind === 'url') row.RemoteUrl = e.label;
    for (const k of Object.keys(row)) if (row[k] === undefined || row[k] === null) delete row[k];
    return row;
  });
  return { info, evidence };
}
