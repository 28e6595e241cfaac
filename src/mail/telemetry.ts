// Telemetry rows in Defender's advanced-hunting email tables (shared/reference/hunting-schema.json):
// EmailEvents (one row per recipient), EmailAttachmentInfo (per attachment and recipient), EmailUrlInfo
// (per URL), EmailPostDeliveryEvents (per ZAP or manual remediation). ReportIds are unique per gateway.
import type { CanonicalRow } from '../schema/index.js';
import type { FileInfo } from './file-type.js';
import type { ScannedMessage } from './scanner.js';
import { isInternal, type Judgement, type VerdictAction } from './verdict.js';

export interface MessageFacts {
  readonly networkMessageId: string;
  readonly timestamp: string;
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly senderIp?: string;
  readonly scan: ScannedMessage;
  readonly judgement: Judgement;
  readonly action: VerdictAction;
  readonly domains: ReadonlySet<string>;
  readonly gateway: string;
}

export const DELIVERY: Record<VerdictAction, { action: string; location: string }> = {
  deliver: { action: 'Delivered', location: 'Inbox/folder' },
  junk: { action: 'Junked', location: 'Junk folder' },
  quarantine: { action: 'Blocked', location: 'Quarantine' },
  reject: { action: 'Blocked', location: 'Dropped' },
};

const domainOf = (a: string) => (a.includes('@') ? a.slice(a.lastIndexOf('@') + 1).toLowerCase() : '');
const join = (values: Iterable<string>) => [...new Set(values)].join(', ');

function threatsOfFile(f: FileInfo, j: Judgement) {
  const ds = j.detections.filter((d) => d.file && (d.file.sha256 === f.sha256 || f.members.some((m) => m.sha256 === d.file!.sha256)));
  return { types: join(ds.map((d) => d.threat)), names: join(ds.map((d) => d.name)), methods: join(ds.map((d) => d.method)) };
}

function flatFiles(files: readonly FileInfo[]): FileInfo[] {
  return files.flatMap((f) => [f, ...f.members.map((m) => ({ ...m, fileName: `${f.fileName}/${m.fileName}` }))]);
}

/** The rows one accepted (or rejected) message writes. */
export function messageRows(m: MessageFacts): Record<'EmailEvents' | 'EmailAttachmentInfo' | 'EmailUrlInfo', CanonicalRow[]> {
  const { scan, judgement: j } = m;
  const sender = scan.fromAddress || m.mailFrom.toLowerCase();
  const senderInternal = isInternal(sender, m.domains);
  const delivery = DELIVERY[m.action];
  const threatFiles = j.detections.filter((d) => d.file).map((d) => d.file!);
  const detail = {
    Gateway: m.gateway,
    Verdict: j.verdict,
    Action: m.action,
    ...(scan.parseError ? { ParseError: scan.parseError } : {}),
    Detections: j.detections.map((d) => ({ ThreatType: d.threat, DetectionMethod: d.method, ThreatName: d.name, IndicatorId: d.indicatorId ?? null, Url: d.url ?? null, SHA256: d.file?.sha256 ?? null })),
    // The attachments a detection names, so an alert can carry them as file evidence.
    Files: [...new Map(threatFiles.map((f) => [f.sha256, { FileName: f.fileName, SHA256: f.sha256, SHA1: f.sha1, MD5: f.md5, FileType: f.kind }])).values()],
    Urls: [...new Set(j.detections.filter((d) => d.url).map((d) => d.url!))],
  };
  const auth = JSON.stringify({
    SPF: scan.auth.spf ?? 'none', DKIM: scan.auth.dkim ?? 'none', DMARC: scan.auth.dmarc ?? 'none', CompAuth: scan.auth.compauth ?? 'none',
  });
  const files = flatFiles(scan.attachments);
  const events: CanonicalRow[] = [];
  const attachments: CanonicalRow[] = [];
  m.recipients.forEach((rcpt, r) => {
    const recipient = rcpt.toLowerCase();
    const direction = senderInternal ? (isInternal(recipient, m.domains) ? 'Intra-org' : 'Outbound') : 'Inbound';
    events.push({
      Timestamp: m.timestamp,
      NetworkMessageId: m.networkMessageId,
      InternetMessageId: scan.internetMessageId,
      SenderMailFromAddress: m.mailFrom.toLowerCase(),
      SenderFromAddress: sender,
      SenderDisplayName: scan.fromDisplayName,
      SenderMailFromDomain: domainOf(m.mailFrom),
      SenderFromDomain: domainOf(sender),
      ...(m.senderIp && m.senderIp.includes('.') ? { SenderIPv4: m.senderIp.replace(/^::ffff:/, '') } : {}),
      ...(m.senderIp && !m.senderIp.includes('.') ? { SenderIPv6: m.senderIp } : {}),
      RecipientEmailAddress: recipient,
      Subject: scan.subject,
      EmailDirection: direction,
      DeliveryAction: delivery.action,
      DeliveryLocation: delivery.location,
      LatestDeliveryAction: delivery.action,
      LatestDeliveryLocation: delivery.location,
      ThreatTypes: join(j.detections.map((d) => d.threat)),
      ThreatNames: join(j.detections.map((d) => d.name)),
      DetectionMethods: join(j.detections.map((d) => d.method)),
      EmailAction: m.action === 'junk' ? 'Move message to junk mail folder' : m.action === 'quarantine' ? 'Send to quarantine' : m.action === 'reject' ? 'Reject' : '',
      OrgLevelAction: m.action === 'deliver' ? 'Allow' : m.action === 'junk' ? 'Junk' : m.action === 'quarantine' ? 'Quarantine' : 'Reject',
      OrgLevelPolicy: j.verdict === 'clean' ? '' : `Vigil mail policy (${j.verdict})`,
      AuthenticationDetails: auth,
      AttachmentCount: files.length,
      UrlCount: scan.urls.length,
      Connectors: m.gateway,
      ReportId: `${m.networkMessageId}-e${r}`,
      AdditionalFields: detail,
    });
    files.forEach((f, i) => {
      const t = threatsOfFile(f, j);
      attachments.push({
        Timestamp: m.timestamp,
        NetworkMessageId: m.networkMessageId,
        SenderFromAddress: sender,
        SenderDisplayName: scan.fromDisplayName,
        RecipientEmailAddress: recipient,
        FileName: f.fileName,
        FileType: f.kind,
        SHA256: f.sha256,
        FileSize: f.size,
        ThreatTypes: t.types,
        ThreatNames: t.names,
        DetectionMethods: t.methods,
        ReportId: `${m.networkMessageId}-a${r}-${i}`,
        AdditionalFields: { SHA1: f.sha1, MD5: f.md5, Renamed: f.renamed, HasMacros: f.hasMacros, Container: f.fileName.includes('/') ? f.fileName.split('/')[0] : null },
      });
    });
  });
  const urls: CanonicalRow[] = scan.urls.map((u, i) => ({
    Timestamp: m.timestamp,
    NetworkMessageId: m.networkMessageId,
    Url: u.url,
    UrlDomain: u.domain,
    ReportId: `${m.networkMessageId}-u${i}`,
    AdditionalFields: { UrlLocation: u.location },
  }));
  return { EmailEvents: events, EmailAttachmentInfo: attachments, EmailUrlInfo: urls };
}

export interface PostDeliveryFacts {
  readonly networkMessageId: string;
  readonly internetMessageId: string;
  readonly recipient: string;
  readonly actionType: 'Malware ZAP' | 'Phish ZAP' | 'Manual remediation';
  readonly action: string;
  readonly trigger: 'Special action' | 'Admin action';
  readonly result: string;
  readonly location: string;
  readonly threatTypes: string;
  readonly detectionMethods: string;
  readonly detail: Record<string, unknown>;
  readonly reportId: string;
}

export function postDeliveryRow(p: PostDeliveryFacts): CanonicalRow {
  return {
    Timestamp: new Date().toISOString(),
    NetworkMessageId: p.networkMessageId,
    InternetMessageId: p.internetMessageId,
    Action: p.action,
    ActionType: p.actionType,
    ActionTrigger: p.trigger,
    ActionResult: p.result,
    RecipientEmailAddress: p.recipient,
    DeliveryLocation: p.location,
    ThreatTypes: p.threatTypes,
    DetectionMethods: p.detectionMethods,
    ReportId: p.reportId,
    AdditionalFields: p.detail,
  };
}
