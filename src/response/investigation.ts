import { ulid } from 'ulid';
import type { Bus } from '../bus/index.js';
import type { RaisedAlert } from '../schema/index.js';
import type { Store } from '../store/index.js';
import type { ActionService } from './action-service.js';
import { SYSTEM_ACTOR } from './action-service.js';
import type { AuditLog } from './audit-log.js';
import { decideAutomation, isPersistencePath, type AutomationLevel } from './automation-levels.js';
import { TERMINAL_STATES, type ActionRecord } from './types.js';

export type Verdict = 'malicious' | 'suspicious' | 'noThreatsFound';

export type InvestigationStatus =
  | 'running' | 'pendingAction' | 'remediated' | 'partiallyRemediated' | 'noThreatsFound';

/** An entity the investigation looked at, with its verdict. */
export interface InvestigationEntity {
  readonly kind: 'file' | 'process' | 'device' | 'ip' | 'url' | 'mailMessage' | 'sender' | 'persistence';
  readonly key: string;
  readonly label: string;
  readonly verdict: Verdict;
  readonly deviceId?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface InvestigationLogLine {
  readonly at: string;
  readonly message: string;
}

export interface Investigation {
  readonly id: string;
  readonly status: InvestigationStatus;
  readonly title: string;
  readonly deviceId?: string;
  readonly triggerAlertId: string;
  readonly alertIds: readonly string[];
  readonly incidentIds: readonly string[];
  readonly entities: readonly InvestigationEntity[];
  readonly log: readonly InvestigationLogLine[];
  readonly actions: readonly ActionRecord[];
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly alertsResolved: boolean;
}

/** Incidents' side: resolves alerts an investigation remediated, so risk falls and access returns. */
export type ResolveAlerts = (alertIds: readonly string[], how: { readonly by: string; readonly reason: string }) => Promise<void>;

export interface Investigations {
  /** Starts an investigation when the alert calls for one (malware, suspicious behaviour, or a high-severity AV/TI/Sigma hit). */
  handleAlert(alert: RaisedAlert): Promise<Investigation | undefined>;
  get(id: string): Promise<Investigation | undefined>;
  list(filter?: { incidentId?: string; alertId?: string; limit?: number }): Promise<Investigation[]>;
  /** Incidents correlated an alert: investigations of that alert become visible on the incident. */
  linkIncident(alertId: string, incidentId: string): Promise<void>;
  /** Incidents merged `from` into `to`. */
  moveIncident(from: string, to: string): Promise<void>;
  /** Completes open investigations whose actions are all done (after a restart interrupted them). */
  sweep(): Promise<void>;
  /** Called for every action change; completes investigations whose actions are all decided and done. */
  actionChanged(action: ActionRecord): Promise<void>;
}

export interface InvestigationOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly audit: AuditLog;
  readonly actions: ActionService;
  readonly now: () => number;
  readonly automationLevelOf: (deviceId: string) => AutomationLevel | Promise<AutomationLevel>;
  readonly resolveAlerts?: ResolveAlerts;
  /** Rows read per evidence query; beyond it the investigation notes that it saw only part. Default 10,000. */
  readonly maxRows?: number;
  /** Quarantine at most this many distinct paths of one file per device. Default 20. */
  readonly maxPathsPerDevice?: number;
  /**
   * How long an alert's investigation waits for the file event of a script its processes ran, when the
   * device has not reported that file yet. The agent reports a file once its writes settle, so a script
   * written and run at once (a dropper copied and started) reaches the platform a little after the
   * process it started. Default 2,000 ms; 0 does not wait.
   */
  readonly scriptFileWaitMs?: number;
}

const iso = (ms: unknown) => (ms == null ? undefined : new Date(Number(ms)).toISOString());
const SHA256 = /^[0-9a-f]{64}$/;
const SCRIPT_FILE_POLL_MS = 100;

/** Whether an alert starts an automated investigation. */
export function shouldInvestigate(alert: RaisedAlert): boolean {
  const category = alert.category.toLowerCase().replace(/[\s_-]/g, '');
  if (category === 'malware' || category.startsWith('suspicious')) return true;
  return ['antivirus', 'customTi', 'sigma'].includes(alert.detectionSource) && alert.severity === 'high';
}

/** Verdict of the alert's own threat entities. */
export function alertVerdict(alert: RaisedAlert): 'malicious' | 'suspicious' {
  const category = alert.category.toLowerCase().replace(/[\s_-]/g, '');
  if (category === 'malware' || alert.detectionSource === 'antivirus' || alert.detectionSource === 'customTi' || alert.severity === 'high') {
    return 'malicious';
  }
  return 'suspicious';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A full path from Defender-style FolderPath (which usually ends with the file name) and FileName. */
export function fullPath(folderPath: unknown, fileName: unknown): string | undefined {
  const folder = str(folderPath);
  const name = str(fileName);
  if (!folder) return undefined;
  if (!name || folder.endsWith(name)) return folder;
  const sep = folder.includes('\\') ? '\\' : '/';
  return folder.endsWith(sep) ? `${folder}${name}` : `${folder}${sep}${name}`;
}

/** An agent antivirus detection whose file the agent already quarantined (CONTRACTS.md "Antivirus detections"). */
function avQuarantined(row: Record<string, unknown>): boolean {
  if (row.ActionType !== 'AntivirusDetection') return false;
  let extra = row.AdditionalFields;
  if (typeof extra === 'string') {
    try { extra = JSON.parse(extra); } catch { return false; }
  }
  return typeof extra === 'object' && extra !== null && (extra as Record<string, unknown>).Action === 'quarantined';
}

interface ThreatFile {
  readonly sha256: string;
  readonly name?: string;
  readonly path?: string;
}

/** The alert's device, files, process ids and paths, from its evidence and contributing events. */
function threatOf(alert: RaisedAlert) {
  const files = new Map<string, ThreatFile>();
  const paths = new Set<string>();
  const pids = new Set<number>();
  /** `${deviceId}|${path}` of copies the antivirus already quarantined (agent AV detections with Action 'quarantined'). */
  const quarantined = new Set<string>();
  let deviceId: string | undefined;
  const addFile = (sha: unknown, path?: string, name?: string) => {
    const sha256 = str(sha)?.toLowerCase();
    if (path) paths.add(path);
    if (!sha256 || !SHA256.test(sha256)) return;
    const known = files.get(sha256);
    files.set(sha256, { sha256, path: known?.path ?? path, name: known?.name ?? name });
  };
  for (const e of alert.evidence) {
    const d = (e.details ?? {}) as Record<string, unknown>;
    if (e.kind === 'device' && !deviceId) deviceId = e.key;
    if (e.kind === 'file' || e.kind === 'process') {
      const path = str(d.path) ?? fullPath(d.folderPath ?? d.FolderPath, d.fileName ?? d.FileName ?? e.label);
      addFile(d.sha256 ?? d.SHA256 ?? (e.kind === 'file' ? e.key : undefined), path, str(d.fileName) ?? str(d.FileName) ?? e.label);
    }
    if (e.kind === 'file' && d.action === 'quarantined') {
      const path = str(d.path) ?? fullPath(d.folderPath ?? d.FolderPath, d.fileName ?? d.FileName ?? e.label);
      const device = alert.evidence.find((x) => x.kind === 'device')?.key;
      if (path && device) quarantined.add(`${device}|${path}`);
    }
    const pid = d.pid ?? d.processId ?? d.ProcessId;
    if (e.kind === 'process' && Number.isInteger(pid)) pids.add(pid as number);
  }
  for (const ref of alert.events) {
    const row = ref.row;
    deviceId ??= str(row.DeviceId);
    addFile(row.SHA256, fullPath(row.FolderPath, row.FileName), str(row.FileName));
    if (ref.table === 'DeviceProcessEvents' && Number.isInteger(row.ProcessId)) pids.add(row.ProcessId as number);
    const path = fullPath(row.FolderPath, row.FileName);
    if (ref.table === 'DeviceEvents' && avQuarantined(row) && path && str(row.DeviceId)) quarantined.add(`${str(row.DeviceId)}|${path}`);
  }
  return { deviceId, files: [...files.values()], paths: [...paths], pids: [...pids], quarantined };
}

/** Programs that run a script named on their command line: the script, not the interpreter, is the threat. */
const INTERPRETERS = /^(ba|da|z|k|c|tc)?sh$|^python[0-9.]*$|^perl$|^ruby$|^node$|^php$|^pwsh$/;

/**
 * The script a process runs when its program is an interpreter: the first argument after the program that
 * is not an option (`bash -x /home/alice/run.sh` → /home/alice/run.sh). Inline code (`bash -c …`) names none.
 */
export function scriptOf(commandLine: unknown): string | undefined {
  const words = str(commandLine)?.match(/"[^"]*"|'[^']*'|\S+/g)?.map((w) => w.replace(/^["']|["']$/g, ''));
  if (!words || words.length < 2) return undefined;
  const program = words[0].slice(words[0].lastIndexOf('/') + 1);
  if (!INTERPRETERS.test(program)) return undefined;
  for (const word of words.slice(1)) {
    if (word === '-c' || word === '-e' || word === '-m') return undefined;
    if (word.startsWith('-')) continue;
    return word.startsWith('/') ? word : undefined;
  }
  return undefined;
}

interface PlannedAction {
  readonly kind: string;
  readonly deviceId?: string;
  readonly target: string;
  readonly params: Record<string, unknown>;
  readonly verdict: 'malicious' | 'suspicious';
  readonly path?: string;
  /** Email content waits for approval whatever the device group says (defender-xdr.md §3). */
  readonly alwaysApproval?: string;
}

export function createInvestigations(options: InvestigationOptions): Investigations {
  const { store, audit, actions, now } = options;
  const db = store.db;
  const maxRows = options.maxRows ?? 10_000;
  const maxPaths = options.maxPathsPerDevice ?? 20;
  const scriptFileWaitMs = options.scriptFileWaitMs ?? 2_000;
  // Investigations still proposing their actions: they may not complete before every action exists.
  const proposing = new Set<string>();
  // Incidents may correlate an alert before its investigation is stored; remember the link (bounded).
  const incidentOfAlert = new Map<string, string>();

  async function rows(sqlText: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[]; truncated: boolean }> {
    const result = await store.query(sqlText, params, { maxRows, timeoutMs: 30_000 });
    return {
      truncated: result.truncated,
      rows: result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]]))),
    };
  }

  async function appendLog(id: string, lines: readonly string[]) {
    if (lines.length === 0) return;
    await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('response_investigations').select('log').where('id', '=', id).executeTakeFirst();
      if (!row) return;
      const at = new Date(now()).toISOString();
      const log = [...JSON.parse(row.log), ...lines.map((message) => ({ at, message }))];
      await tx.updateTable('response_investigations').set({ log: JSON.stringify(log) }).where('id', '=', id).execute();
    });
  }

  async function load(row: any): Promise<Investigation> {
    const links = await db.selectFrom('response_investigation_alerts').selectAll().where('investigation_id', '=', row.id).execute();
    const list = await actions.list({ investigationId: row.id, limit: 10_000 });
    const completed = row.completed_at != null;
    const status: InvestigationStatus = completed ? row.status
      : list.some((a) => a.state === 'pendingApproval' || a.state === 'proposed') ? 'pendingAction' : 'running';
    return {
      id: row.id, status, title: row.title, deviceId: row.device_id ?? undefined, triggerAlertId: row.trigger_alert_id,
      alertIds: links.map((l) => l.alert_id),
      incidentIds: [...new Set(links.map((l) => l.incident_id).filter((x): x is string => typeof x === 'string'))],
      entities: JSON.parse(row.entities), log: JSON.parse(row.log), actions: list.reverse(),
      startedAt: iso(row.started_at)!, completedAt: iso(row.completed_at), alertsResolved: Boolean(row.alerts_resolved),
    };
  }

  async function get(id: string) {
    const row = await db.selectFrom('response_investigations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? load(row) : undefined;
  }

  async function complete(id: string) {
    if ((await actions.openCount(id)) > 0) return;
    const list = await actions.list({ investigationId: id, limit: 10_000 });
    if (list.some((a) => !TERMINAL_STATES.has(a.state))) return;
    const row = await db.selectFrom('response_investigations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.completed_at != null) return;
    const entities = JSON.parse(row.entities) as InvestigationEntity[];
    const succeeded = list.filter((a) => a.state === 'succeeded').length;
    const threats = entities.some((e) => e.verdict !== 'noThreatsFound');
    // Remediated: every action succeeded, nothing malicious was left without one, and something was done
    // (by an action, or by the antivirus before the investigation started).
    const everything = succeeded === list.length && Number(row.unhandled) === 0 && succeeded + Number(row.prevented) > 0;
    const status: InvestigationStatus = !threats ? 'noThreatsFound' : everything ? 'remediated' : 'partiallyRemediated';
    const claimed = await db.updateTable('response_investigations').set({ status, completed_at: now() })
      .where('id', '=', id).where('completed_at', 'is', null).executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return;
    const counts = ['succeeded', 'failed', 'rejected', 'timedOut']
      .map((s) => [s, list.filter((a) => a.state === s).length] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
    const lines = [`completed as ${status}${counts.length ? ` (${counts.join(', ')})` : ''}`];
    if (status === 'remediated') {
      const alertIds = (await db.selectFrom('response_investigation_alerts').select('alert_id').where('investigation_id', '=', id).execute())
        .map((r) => r.alert_id as string);
      if (options.resolveAlerts) {
        try {
          await options.resolveAlerts(alertIds, { by: 'automatedInvestigation', reason: `remediated by automated investigation ${id}` });
          await db.updateTable('response_investigations').set({ alerts_resolved: 1 }).where('id', '=', id).execute();
          lines.push(`resolved alert${alertIds.length > 1 ? 's' : ''} ${alertIds.join(', ')}`);
        } catch (error) {
          lines.push(`resolving the alerts failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      } else {
        lines.push('no alert resolver is wired; the alerts stay open');
      }
    }
    await appendLog(id, lines);
    await audit.record({ actor: SYSTEM_ACTOR.name, action: 'investigation.complete', target: id, details: { status, actions: list.length } });
  }

  /**
   * The investigation that covers one of these files: an open one first, else one that already remediated
   * them (most recent first).
   */
  async function investigationFor(sha256s: readonly string[]): Promise<{ id: string; status: string; open: boolean } | undefined> {
    if (sha256s.length === 0) return undefined;
    const candidates = await db.selectFrom('response_investigations').select(['id', 'entities', 'status', 'completed_at'])
      .where((eb) => eb.or([eb('completed_at', 'is', null), eb('status', '=', 'remediated')]))
      .orderBy('started_at', 'desc').limit(500).execute();
    const covers = (row: { entities: string }) => (JSON.parse(row.entities) as InvestigationEntity[])
      .some((e) => e.kind === 'file' && e.verdict !== 'noThreatsFound' && sha256s.includes(e.key));
    const open = candidates.find((row) => row.completed_at == null && covers(row));
    if (open) return { id: open.id, status: open.status, open: true };
    const done = candidates.find((row) => row.completed_at != null && covers(row));
    return done ? { id: done.id, status: done.status, open: false } : undefined;
  }

  /** Alerts that start no investigation of their own wait here (by SHA-256) for one that covers their file. */
  const waitingToJoin = new Map<string, { alertId: string; title: string }[]>();
  const WAITING_MAX = 10_000;

  async function joinAlert(investigationId: string, alert: { alertId: string; title: string }, why: string) {
    await db.insertInto('response_investigation_alerts').values({ investigation_id: investigationId, alert_id: alert.alertId, incident_id: incidentOfAlert.get(alert.alertId) ?? null })
      .onConflict((oc) => oc.doNothing()).execute();
    await appendLog(investigationId, [`alert ${alert.alertId} (${alert.title}) joined: ${why}`]);
  }

  return {
    async handleAlert(alert) {
      const investigate = shouldInvestigate(alert);
      const threat = threatOf(alert);
      const levelCache = new Map<string, AutomationLevel>();
      const levelOf = async (deviceId: string) => {
        let level = levelCache.get(deviceId);
        if (!level) levelCache.set(deviceId, (level = (await options.automationLevelOf(deviceId)) ?? 'semi_all'));
        return level;
      };
      // Defender: "No automated response — no investigation runs" on such a device.
      if (threat.deviceId && (await levelOf(threat.deviceId)) === 'none') return undefined;

      // Scripts behind the alert's processes (run by an interpreter, or the interpreter that started them):
      // the file is known from the device's file events by its path, which may arrive a little later.
      let scriptsUnknown: string[] = [];
      if (threat.deviceId && investigate) {
        const scripts = new Set<string>();
        for (const ref of alert.events) {
          if (ref.table !== 'DeviceProcessEvents') continue;
          for (const line of [ref.row.ProcessCommandLine, ref.row.InitiatingProcessCommandLine]) {
            const script = scriptOf(line);
            if (script) scripts.add(script);
          }
        }
        let unknown = [...scripts].slice(0, 10);
        // Real time, not the module's clock (a test's clock stands still): this waits for the agent.
        const deadline = performance.now() + scriptFileWaitMs;
        for (let round = 0; unknown.length > 0; round++) {
          if (round > 0) {
            if (performance.now() >= deadline) break;
            await new Promise((resolve) => setTimeout(resolve, SCRIPT_FILE_POLL_MS));
          }
          const still: string[] = [];
          for (const path of unknown) {
            const known = await rows(
              'SELECT "SHA256", "FileName" FROM "DeviceFileEvents" WHERE "DeviceId" = ? AND "FolderPath" = ? AND "SHA256" IS NOT NULL ORDER BY "Timestamp" DESC LIMIT 1',
              [threat.deviceId, path]);
            const sha256 = str(known.rows[0]?.SHA256)?.toLowerCase();
            if (!sha256 || !SHA256.test(sha256)) { still.push(path); continue; }
            if (!threat.files.some((f) => f.sha256 === sha256)) {
              threat.files.push({ sha256, path, name: str(known.rows[0].FileName) ?? path.slice(path.lastIndexOf('/') + 1) });
            }
          }
          unknown = still;
        }
        scriptsUnknown = unknown;
      }

      // An alert about a file an investigation already covers joins it, whatever its own severity: it is
      // resolved with it, or at once when that investigation already remediated the file.
      const covering = await investigationFor(threat.files.map((f) => f.sha256));
      if (covering?.open) {
        await joinAlert(covering.id, alert, 'it concerns a file already under investigation');
        return get(covering.id);
      }
      if (covering && !covering.open && options.resolveAlerts) {
        await joinAlert(covering.id, alert, 'it concerns a file this investigation already remediated');
        await options.resolveAlerts([alert.alertId], { by: 'automatedInvestigation', reason: `already remediated by automated investigation ${covering.id}` });
        return get(covering.id);
      }
      if (!investigate) {
        for (const file of threat.files) {
          const list = waitingToJoin.get(file.sha256) ?? [];
          list.push({ alertId: alert.alertId, title: alert.title });
          waitingToJoin.set(file.sha256, list);
        }
        while (waitingToJoin.size > WAITING_MAX) waitingToJoin.delete(waitingToJoin.keys().next().value!);
        return undefined;
      }

      const t = now();
      const id = ulid(t);
      const verdict = alertVerdict(alert);
      const log: string[] = [`started by alert ${alert.alertId}: ${alert.title} (${alert.severity}, ${alert.category}, ${alert.detectionSource})`];
      for (const path of scriptsUnknown) log.push(`script ${path}, run by the alert's processes, was not reported by the device as a file within ${scriptFileWaitMs} ms: it is not part of this investigation`);
      const entities: InvestigationEntity[] = [];
      const plan: PlannedAction[] = [];
      const counters = { unhandled: 0, prevented: 0 };
      if (threat.deviceId) entities.push({ kind: 'device', key: threat.deviceId, label: threat.deviceId, verdict, deviceId: threat.deviceId });

      for (const file of threat.files) {
        entities.push({ kind: 'file', key: file.sha256, label: file.name ?? file.sha256, verdict, details: { path: file.path } });
        // The same file elsewhere in the fleet: written, run or seen.
        const seen = new Map<string, { paths: Set<string>; ran: boolean; name?: string }>();
        const note = (deviceId: unknown, path: string | undefined, ran: boolean, name?: unknown) => {
          const d = str(deviceId);
          if (!d) return;
          let entry = seen.get(d);
          if (!entry) seen.set(d, (entry = { paths: new Set(), ran: false, name: str(name) }));
          if (path) entry.paths.add(path);
          entry.ran ||= ran;
        };
        if (threat.deviceId) note(threat.deviceId, file.path, false);
        const fileRows = await rows(
          'SELECT DISTINCT "DeviceId", "DeviceName", "FolderPath", "FileName" FROM "DeviceFileEvents" WHERE "SHA256" = ? AND ("ActionType" IS NULL OR "ActionType" <> \'FileDeleted\')', [file.sha256]);
        for (const r of fileRows.rows) note(r.DeviceId, fullPath(r.FolderPath, r.FileName), false, r.DeviceName);
        const procRows = await rows(
          'SELECT DISTINCT "DeviceId", "DeviceName", "FolderPath", "FileName" FROM "DeviceProcessEvents" WHERE "SHA256" = ?', [file.sha256]);
        for (const r of procRows.rows) note(r.DeviceId, fullPath(r.FolderPath, r.FileName), true, r.DeviceName);
        const devRows = await rows(
          'SELECT DISTINCT "DeviceId", "DeviceName", "FolderPath", "FileName", "ActionType", "AdditionalFields" FROM "DeviceEvents" WHERE "SHA256" = ?', [file.sha256]);
        for (const r of devRows.rows) {
          const path = fullPath(r.FolderPath, r.FileName);
          if (avQuarantined(r) && path && str(r.DeviceId)) threat.quarantined.add(`${str(r.DeviceId)}|${path}`);
          note(r.DeviceId, path, false, r.DeviceName);
        }
        if (fileRows.truncated || procRows.truncated || devRows.truncated) log.push(`more than ${maxRows} rows mention ${file.sha256}; only the first were read`);
        const others = [...seen.keys()].filter((d) => d !== threat.deviceId);
        log.push(`file ${file.name ?? file.sha256} (${file.sha256}): ${verdict}; present on ${seen.size} device${seen.size === 1 ? '' : 's'}${others.length ? ` (${others.length} besides the alert's device)` : ''}`);
        for (const [deviceId, entry] of seen) {
          if (deviceId !== threat.deviceId) entities.push({ kind: 'device', key: deviceId, label: entry.name ?? deviceId, verdict, deviceId });
          if (entry.ran) plan.push({ kind: 'stop_process', deviceId, target: deviceId, params: { sha256: file.sha256 }, verdict });
          const prevented = [...entry.paths].filter((p) => threat.quarantined.has(`${deviceId}|${p}`));
          if (prevented.length) {
            counters.prevented += prevented.length;
            log.push(`${prevented.join(', ')} on ${deviceId}: already quarantined by the antivirus`);
          }
          const paths = [...entry.paths].filter((p) => !threat.quarantined.has(`${deviceId}|${p}`)).slice(0, maxPaths);
          if (paths.length === 0 && prevented.length === 0) plan.push({ kind: 'quarantine_file', deviceId, target: deviceId, params: { sha256: file.sha256 }, verdict });
          for (const path of paths) plan.push({ kind: 'quarantine_file', deviceId, target: deviceId, params: { path, sha256: file.sha256 }, verdict, path });
        }

        // Network peers of processes running this file.
        const net = await rows(
          'SELECT DISTINCT "DeviceId", "RemoteIP", "RemoteUrl", "RemotePort" FROM "DeviceNetworkEvents" WHERE "InitiatingProcessSHA256" = ? LIMIT 200', [file.sha256]);
        const peers = new Set<string>();
        for (const r of net.rows) {
          const url = str(r.RemoteUrl);
          const ip = str(r.RemoteIP);
          if (url && !peers.has(`url:${url}`)) { peers.add(`url:${url}`); entities.push({ kind: 'url', key: url, label: url, verdict: 'suspicious', deviceId: str(r.DeviceId) }); }
          if (ip && !peers.has(`ip:${ip}`)) { peers.add(`ip:${ip}`); entities.push({ kind: 'ip', key: ip, label: ip, verdict: 'suspicious', deviceId: str(r.DeviceId), details: { port: r.RemotePort } }); }
        }
        if (peers.size) log.push(`processes of ${file.sha256} talked to ${peers.size} peer${peers.size === 1 ? '' : 's'}: ${[...peers].slice(0, 10).map((p) => p.slice(p.indexOf(':') + 1)).join(', ')}`);

        // The mail that delivered it.
        const mail = await rows(
          'SELECT DISTINCT "NetworkMessageId", "SenderFromAddress", "RecipientEmailAddress", "FileName" FROM "EmailAttachmentInfo" WHERE "SHA256" = ? LIMIT 500', [file.sha256]);
        for (const r of mail.rows) {
          const messageId = str(r.NetworkMessageId);
          if (!messageId) continue;
          const recipient = str(r.RecipientEmailAddress)?.toLowerCase();
          entities.push({ kind: 'mailMessage', key: messageId, label: `${str(r.FileName) ?? 'attachment'} to ${recipient ?? 'unknown'}`, verdict: 'malicious', details: { sender: r.SenderFromAddress, recipient } });
          const sender = str(r.SenderFromAddress)?.toLowerCase();
          if (sender && !entities.some((e) => e.kind === 'sender' && e.key === sender)) entities.push({ kind: 'sender', key: sender, label: sender, verdict: 'suspicious' });
          if (actions.kind('soft_delete')) {
            plan.push({ kind: 'soft_delete', target: messageId, params: recipient ? { recipients: [recipient] } : {}, verdict: 'malicious', alwaysApproval: 'malicious email content waits for approval' });
          }
        }
        if (mail.rows.length) {
          log.push(`delivered by mail: ${mail.rows.length} message${mail.rows.length === 1 ? '' : 's'}${actions.kind('soft_delete') ? '' : ' (no email action is registered; nothing proposed for them)'}`);
          if (!actions.kind('soft_delete')) counters.unhandled += mail.rows.length;
        }

        // Persistence the malicious file's processes wrote on the alert's device.
        if (threat.deviceId) {
          const written = await rows(
            'SELECT DISTINCT "FolderPath", "FileName" FROM "DeviceFileEvents" WHERE "DeviceId" = ? AND "InitiatingProcessSHA256" = ? LIMIT 500', [threat.deviceId, file.sha256]);
          for (const r of written.rows) {
            const path = fullPath(r.FolderPath, r.FileName);
            if (path && isPersistencePath(path)) threat.paths.push(path);
          }
        }
      }

      // Messages the alert names itself (mail detections): soft delete, always after approval.
      for (const e of alert.evidence) {
        if (e.kind !== 'mailMessage' || entities.some((x) => x.kind === 'mailMessage' && x.key === e.key)) continue;
        const d = (e.details ?? {}) as Record<string, unknown>;
        const recipient = str(d.recipient ?? d.RecipientEmailAddress)?.toLowerCase();
        entities.push({ kind: 'mailMessage', key: e.key, label: e.label, verdict, details: { recipient } });
        if (actions.kind('soft_delete')) {
          plan.push({ kind: 'soft_delete', target: e.key, params: recipient ? { recipients: [recipient] } : {}, verdict, alwaysApproval: 'malicious email content waits for approval' });
        } else {
          counters.unhandled++;
          log.push(`message ${e.key}: no email action is registered; nothing proposed`);
        }
      }

      // Process tree of the alert's processes: children are suspicious unless they are the malicious file itself.
      const malicious = new Set(threat.files.map((f) => f.sha256));
      if (threat.deviceId) {
        for (const pid of threat.pids.slice(0, 20)) {
          const tree = await rows(
            'SELECT "ProcessId", "FileName", "FolderPath", "SHA256", "ProcessCommandLine", "InitiatingProcessId", "InitiatingProcessFileName" FROM "DeviceProcessEvents" WHERE "DeviceId" = ? AND ("InitiatingProcessId" = ? OR "ProcessId" = ?) LIMIT 200',
            [threat.deviceId, pid, pid]);
          const children = tree.rows.filter((r) => r.InitiatingProcessId === pid && r.ProcessId !== pid);
          const self = tree.rows.find((r) => r.ProcessId === pid);
          if (self) log.push(`process ${pid} (${str(self.FileName) ?? '?'}) was started by ${str(self.InitiatingProcessFileName) ?? '?'} (pid ${String(self.InitiatingProcessId ?? '?')})`);
          for (const child of children) {
            const sha = str(child.SHA256)?.toLowerCase();
            const childPid = Number(child.ProcessId);
            const childVerdict: Verdict = sha && malicious.has(sha) ? verdict : 'suspicious';
            entities.push({ kind: 'process', key: `${threat.deviceId}:${childPid}`, label: `${str(child.FileName) ?? '?'} (pid ${childPid})`, verdict: childVerdict, deviceId: threat.deviceId, details: { commandLine: child.ProcessCommandLine, sha256: sha } });
            if (Number.isInteger(childPid) && childPid > 0 && !(sha && malicious.has(sha))) {
              plan.push({ kind: 'stop_process', deviceId: threat.deviceId, target: threat.deviceId, params: { pid: childPid, ...(sha && SHA256.test(sha) ? { sha256: sha } : {}) }, verdict: 'suspicious' });
            }
          }
          if (children.length) log.push(`process ${pid} started ${children.length} child process${children.length === 1 ? '' : 'es'}`);
        }
        // Persistence files the alert names (cron tables, systemd units).
        for (const path of new Set(threat.paths)) {
          if (!isPersistencePath(path)) continue;
          entities.push({ kind: 'persistence', key: path, label: path, verdict, deviceId: threat.deviceId });
          plan.push({ kind: 'remove_persistence', deviceId: threat.deviceId, target: threat.deviceId, params: { path }, verdict, path });
          log.push(`persistence ${path}: ${verdict}`);
        }
      }

      await db.insertInto('response_investigations').values({
        id, status: 'running', device_id: threat.deviceId ?? null, title: alert.title, trigger_alert_id: alert.alertId,
        entities: JSON.stringify(entities), log: JSON.stringify([]), started_at: t, unhandled: 0, prevented: counters.prevented,
      }).execute();
      await db.insertInto('response_investigation_alerts').values({ investigation_id: id, alert_id: alert.alertId, incident_id: incidentOfAlert.get(alert.alertId) ?? null }).execute();
      proposing.add(id);
      for (const file of threat.files) {
        for (const waiting of waitingToJoin.get(file.sha256) ?? []) await joinAlert(id, waiting, 'it concerns a file this investigation covers');
        waitingToJoin.delete(file.sha256);
      }
      await audit.record({ actor: SYSTEM_ACTOR.name, action: 'investigation.start', target: id, details: { alertId: alert.alertId, verdict } });

      let auto = 0;
      let waiting = 0;
      let skipped = 0;
      try {
      for (const p of plan) {
        let decision: 'auto' | 'approval';
        let why: string;
        if (p.alwaysApproval) {
          decision = 'approval';
          why = p.alwaysApproval;
        } else {
          const level = p.deviceId ? await levelOf(p.deviceId) : 'semi_all';
          const d = decideAutomation(level, p.verdict, p.path);
          if (d.run === 'skip') {
            skipped++;
            counters.unhandled++;
            log.push(`${p.kind} on ${p.target} not proposed: ${d.why}`);
            continue;
          }
          decision = d.run;
          why = d.why;
        }
        try {
          await actions.create({
            kind: p.kind, target: p.target, params: p.params, source: 'automated', requestedBy: SYSTEM_ACTOR, decision,
            decisionReason: why, investigationId: id, alertIds: [alert.alertId], verdict: p.verdict,
          });
          if (decision === 'auto') auto++;
          else waiting++;
          // Let the command channel deliver what is already queued while the rest is proposed.
          await new Promise<void>((resolve) => setImmediate(resolve));
        } catch (error) {
          counters.unhandled++;
          log.push(`${p.kind} on ${p.target} could not be proposed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      } finally {
        proposing.delete(id);
      }
      if (counters.unhandled) await db.updateTable('response_investigations').set({ unhandled: counters.unhandled }).where('id', '=', id).execute();
      log.push(`proposed ${auto + waiting} action${auto + waiting === 1 ? '' : 's'}: ${auto} run at once, ${waiting} wait for approval${skipped ? `, ${skipped} not proposed` : ''}`);
      await appendLog(id, log);
      await complete(id);
      return get(id);
    },

    get,

    async list(filter = {}) {
      let query = db.selectFrom('response_investigations').selectAll();
      if (filter.incidentId || filter.alertId) {
        let links = db.selectFrom('response_investigation_alerts').select('investigation_id');
        if (filter.incidentId) links = links.where('incident_id', '=', filter.incidentId);
        if (filter.alertId) links = links.where('alert_id', '=', filter.alertId);
        query = query.where('id', 'in', links);
      }
      const found = await query.orderBy('started_at', 'desc').limit(Math.min(Math.max(filter.limit ?? 100, 1), 1000)).execute();
      return Promise.all(found.map(load));
    },

    async linkIncident(alertId, incidentId) {
      incidentOfAlert.set(alertId, incidentId);
      if (incidentOfAlert.size > 10_000) incidentOfAlert.delete(incidentOfAlert.keys().next().value!);
      await db.updateTable('response_investigation_alerts').set({ incident_id: incidentId }).where('alert_id', '=', alertId).execute();
    },

    async moveIncident(from, to) {
      for (const [alertId, incidentId] of incidentOfAlert) if (incidentId === from) incidentOfAlert.set(alertId, to);
      await db.updateTable('response_investigation_alerts').set({ incident_id: to }).where('incident_id', '=', from).execute();
    },

    async sweep() {
      const open = await db.selectFrom('response_investigations').select('id').where('completed_at', 'is', null).execute();
      for (const { id } of open) if (!proposing.has(id)) await complete(id);
    },

    async actionChanged(action) {
      if (action.investigationId && TERMINAL_STATES.has(action.state) && !proposing.has(action.investigationId)) await complete(action.investigationId);
    },
  };
}
