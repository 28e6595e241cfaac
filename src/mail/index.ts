// Email protection (issue 9): the SMTP gateway (`vigil mail-gateway`), scanning and verdicts, quarantine,
// telemetry in Defender's email tables, zero-hour auto purge over IMAP, and throw-away Dovecot for tests and
// the demo. The gateway speaks to the platform only over its public HTTP API (ingest, intel feed, commands).
export { startMailGateway, ensureTls } from './gateway.js';
export type { MailGateway, MailGatewayOptions, HostPort, QuarantinedMessage, EmailActionKind, RemediationOutcome } from './gateway.js';
export { DEFAULT_POLICY, IndicatorSet, judge, actionFor } from './verdict.js';
export type { MailPolicy, Verdict, VerdictAction, FeedIndicator, Detection, Judgement } from './verdict.js';
export { scanMessage, parseAuthResults, extractUrls } from './scanner.js';
export type { ScannedMessage, ScannedUrl, AuthResults } from './scanner.js';
export { inspectFile, readZip, EICAR } from './file-type.js';
export type { FileInfo, FileKind } from './file-type.js';
export { moveMessage, appendMessage } from './imap-remediation.js';
export type { ImapOptions, MailDestination, MoveResult } from './imap-remediation.js';
export { startThrowawayDovecot, findDovecot } from './dovecot.js';
export type { ThrowawayDovecot, ThrowawayDovecotOptions, DovecotUser } from './dovecot.js';
export { startImapDeliverySink } from './delivery-sink.js';
export type { ImapDeliverySink } from './delivery-sink.js';
