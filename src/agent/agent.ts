import { readFile, readdir, lstat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { spawn } from 'node:child_process';
import type { TableName } from '../schema/index.js';
import { createCommandChannel, type AgentCommand, type CommandChannel, type CommandResult } from './command-channel.js';
import { AGENT_VERSION, deviceInfoRow } from './device-info.js';
import { loadOrEnroll, type DeviceIdentity } from './enrollment.js';
import { createFileMonitor, type FileEvent, type FileMonitor } from './file-monitor.js';
import { createHashCache, hashFile, type FileHashes } from './hashes.js';
import { createIntelFeed, type IntelFeed } from './intel-feed.js';
import { createIsoClock } from './iso-time.js';
import { autorunCategory, collectInvestigationPackage } from './investigation-package.js';
import { createIsolation } from './isolation.js';
import { createLogonMonitor, type LogonMonitor } from './logon-monitor.js';
import { createNetworkMonitor, type NetworkMonitor } from './network-monitor.js';
import { createPlatformClient } from './platform-client.js';
import { createProcessMonitor, type ProcessMonitor, type ProcessSource } from './process-monitor.js';
import { createProcReader } from './proc-info.js';
import { createQuarantineStore } from './quarantine.js';
import { createReportIds } from './report-ids.js';
import { createScanner, type Verdict } from './scanner.js';
import { openStateDir } from './state-dir.js';
import { createTelemetryQueue, type QueueStats } from './telemetry-queue.js';

export interface AgentOptions {
  /** The platform's base URL, e.g. https://vigil.example.com. */
  readonly server: string;
  /** State folder: identity, spool, indicators, quarantine (default /var/lib/vigil-agent). */
  readonly stateDir: string;
  readonly enrollToken?: string;
  readonly sensorToken?: string;
  /** Folders whose files are watched and scanned on access. */
  readonly watchPaths: readonly string[];
  /** Quarantine blocked files at once (otherwise detections are reported only). */
  readonly prevention: boolean;
  readonly yaraRulesDir?: string;
  /** DNS servers left reachable while isolated. */
  readonly dnsServers?: readonly string[];
  readonly processSource?: 'auto' | ProcessSource;
  readonly processSampleMs?: number;
  readonly networkIntervalMs?: number;
  readonly deviceInfoIntervalMs?: number;
  readonly flushIntervalMs?: number;
  readonly maxSpoolBytes?: number;
  readonly commandWaitSeconds?: number;
  readonly feedWaitSeconds?: number;
  readonly authLogs?: readonly string[];
  /** Which collectors run (all by default). */
  readonly collect?: Partial<Record<'process' | 'file' | 'network' | 'logon', boolean>>;
  readonly log?: (message: string) => void;
}

export interface Agent {
  readonly identity: DeviceIdentity;
  readonly processSource: ProcessSource | 'off';
  readonly logonSource: string;
  stats(): AgentStats;
  /** Sends what is queued now (tests, shutdown). */
  flush(): Promise<void>;
  /** Waits until file events seen so far are handled. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface AgentStats {
  readonly queue: QueueStats;
  readonly detections: number;
  readonly quarantined: number;
  readonly watchedDirs: number;
  readonly droppedFileEvents: number;
  readonly indicators: number;
  readonly yaraRules: number;
}

/** The Linux endpoint agent: telemetry, on-access scanning and prevention, response commands, offline spool. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  const log = options.log ?? ((m: string) => process.stderr.write(`vigil agent: ${m}\n`));
  const state = await openStateDir(resolve(options.stateDir));
  const client = createPlatformClient(options.server);
  const identity = await loadOrEnroll({ state, client, enrollToken: options.enrollToken, sensorToken: options.sensorToken });
  client.setToken(identity.sensorToken);
  const deviceName = hostname();
  const ids = createReportIds(state);
  const health = (await state.readJson<{ droppedRows?: number }>('health.json')) ?? {};
  let healthWrite: Promise<void> = Promise.resolve();
  const queue = await createTelemetryQueue({
    client, spoolDir: state.path('spool'), maxSpoolBytes: options.maxSpoolBytes, flushIntervalMs: options.flushIntervalMs, log,
    droppedBefore: health.droppedRows ?? 0,
    onDropped: (droppedRows) => { healthWrite = healthWrite.then(() => state.writeJson('health.json', { droppedRows })).catch(() => {}); },
  });

  // The row is the collector's own new object: completed in place, not copied.
  const clock = createIsoClock();
  const emit = (table: TableName, row: Record<string, unknown>) => {
    row.Timestamp ??= clock.now();
    row.DeviceId = identity.deviceId;
    row.DeviceName = deviceName;
    row.ReportId = ids.next();
    queue.push(table, row);
  };

  const allowedFile = 'allowed-hashes.json';
  const allowed = (await state.readJson<string[]>(allowedFile)) ?? [];
  const scanner = await createScanner({ yaraRulesDir: options.yaraRulesDir, allowed, log });
  const quarantine = await createQuarantineStore(state.path('quarantine'));
  const proc = createProcReader();
  const exeHashes = createHashCache();
  const isolation = createIsolation({ serverUrl: options.server, dnsServers: options.dnsServers });
  let detections = 0;
  let quarantined = 0;
  const verdictCache = new Map<string, Verdict | null>();

  /**
   * Scans one file; reports and (in prevention mode) quarantines it. Returns what was done; at once (no
   * promise) when the file is clean and was judged from memory, as most are.
   */
  function inspect(path: string, hashes: FileHashes, context: { pid?: number } = {}): Promise<Verdict | undefined> | undefined {
    const cached = verdictCache.get(hashes.sha256);
    if (cached !== undefined) return cached ? act(path, hashes, cached, context) : undefined;
    const quick = scanner.scanHashes(hashes);
    if (quick === 'file') return scanner.scan(path, hashes).then((verdict) => judged(path, hashes, verdict, context));
    return judged(path, hashes, quick, context);
  }

  function judged(path: string, hashes: FileHashes, verdict: Verdict | undefined, context: { pid?: number }): Promise<Verdict | undefined> | undefined {
    if (hashes.size > 4096) {
      // Large files (executables) are scanned once per content; small ones are cheap to rescan.
      verdictCache.set(hashes.sha256, verdict ?? null);
      if (verdictCache.size > 10_000) verdictCache.delete(verdictCache.keys().next().value!);
    }
    return verdict ? act(path, hashes, verdict, context) : undefined;
  }

  async function act(path: string, hashes: FileHashes, verdict: Verdict, context: { pid?: number }): Promise<Verdict> {
    detections++;
    let action: 'quarantined' | 'detected' = 'detected';
    let error: string | undefined;
    if (options.prevention && verdict.disposition === 'block') {
      if (context.pid) {
        try { process.kill(context.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      try {
        await quarantine.quarantine(path, { ...hashes, threatName: verdict.threatName, engine: verdict.engine });
        action = 'quarantined';
        quarantined++;
      } catch (e) {
        error = (e as Error).message;
      }
    }
    log(`${verdict.threatName} (${verdict.engine}) in ${path}: ${action}${error ? ` (quarantine failed: ${error})` : ''}`);
    emit('DeviceEvents', {
      ActionType: 'AntivirusDetection',
      FileName: basename(path), FolderPath: path, SHA256: hashes.sha256, SHA1: hashes.sha1, MD5: hashes.md5, FileSize: hashes.size,
      ProcessId: context.pid ?? null,
      AdditionalFields: {
        ThreatName: verdict.threatName, Engine: verdict.engine, Action: action,
        ...(verdict.indicatorId ? { IndicatorId: verdict.indicatorId } : {}),
        ...(verdict.severity ? { Severity: verdict.severity } : {}),
        ...(error ? { QuarantineError: error } : {}),
      },
    });
    void queue.flush().catch(() => {});
    return verdict;
  }

  // Collectors.
  const collect = { process: true, file: true, network: true, logon: true, ...options.collect };
  let processes: ProcessMonitor | undefined;
  if (collect.process) {
    processes = await createProcessMonitor({
      proc, hashes: exeHashes, emit, log, prefer: options.processSource ?? 'auto', sampleIntervalMs: options.processSampleMs,
      onExec: (info, hashes) => {
        if (info.pid === process.pid) return;
        // Executables are hashed once per content (the cache), and scanned once per hash (the verdict cache).
        void hashes.then((h) => (h ? inspect(info.exe, h, { pid: info.pid }) : undefined)).catch(() => {});
      },
    });
  }
  let files: FileMonitor | undefined;
  if (collect.file && options.watchPaths.length) {
    files = createFileMonitor({
      paths: options.watchPaths, exclude: [state.root], log,
      onEvent: (event: FileEvent) => {
        const h = event.hashes;
        emit('DeviceFileEvents', {
          ActionType: event.action, FileName: basename(event.path), FolderPath: event.path,
          SHA256: h?.sha256 ?? null, SHA1: h?.sha1 ?? null, MD5: h?.md5 ?? null, FileSize: h?.size ?? null,
          PreviousFileName: event.previousPath ? basename(event.previousPath) : null,
          PreviousFolderPath: event.previousPath ?? null,
        });
        return h ? inspect(event.path, h) : undefined;
      },
    });
  }
  let network: NetworkMonitor | undefined;
  if (collect.network) network = await createNetworkMonitor({ proc, hashes: exeHashes, emit, log, intervalMs: options.networkIntervalMs });
  let logons: LogonMonitor | undefined;
  if (collect.logon) logons = await createLogonMonitor({ emit, log, authLogs: options.authLogs });

  const healthOf = () => {
    const q = queue.stats();
    return {
      AgentVersion: AGENT_VERSION,
      ProcessSource: processes?.source ?? 'off',
      LogonSource: logons?.source ?? 'off',
      WatchedDirectories: files?.watchedDirs ?? 0,
      DroppedFileEvents: files?.droppedEvents ?? 0,
      SpoolBytes: q.spoolBytes, SpooledRows: q.spooledRows, DroppedRows: q.droppedRows, RejectedRows: q.rejectedRows,
      Indicators: scanner.indicatorCount(), YaraRules: scanner.yaraRules, Prevention: options.prevention,
      Detections: detections, Quarantined: quarantined,
      RssMB: Math.round(process.memoryUsage().rss / 1048576),
    };
  };
  const reportDeviceInfo = () => {
    const q = queue.stats();
    emit('DeviceInfo', deviceInfoRow(healthOf(), q.connected && q.droppedRows === 0));
  };
  reportDeviceInfo();
  const infoTimer = setInterval(reportDeviceInfo, options.deviceInfoIntervalMs ?? 3_600_000);
  infoTimer.unref();

  // Isolation survives restarts (an nftables table does not survive a reboot): re-apply it.
  const isolationState = await state.readJson<{ isolated: boolean; allow: string[] }>('isolation.json');
  if (isolationState?.isolated && !(await isolation.isIsolated())) {
    await isolation.isolate(isolationState.allow).then((m) => log(`re-applied isolation: ${m}`), (e) => log(`re-applying isolation failed: ${(e as Error).message}`));
  }

  const feed: IntelFeed = await createIntelFeed({
    client, state, log, waitSeconds: options.feedWaitSeconds,
    onChange: (indicators) => { scanner.setIndicators(indicators); verdictCache.clear(); },
  });

  async function handle(command: AgentCommand, progress: (message: string) => Promise<void>): Promise<CommandResult> {
    const p = command.params ?? {};
    switch (command.kind) {
      case 'isolate': {
        const allow = Array.isArray(p.allow) ? p.allow.map(String) : [];
        const message = await isolation.isolate(allow);
        await state.writeJson('isolation.json', { isolated: true, allow });
        return { status: 'succeeded', message };
      }
      case 'release': {
        const message = await isolation.release();
        await state.writeJson('isolation.json', { isolated: false, allow: [] });
        return { status: 'succeeded', message };
      }
      case 'stop_process': return stopProcess(p);
      case 'quarantine_file': return quarantineFile(p);
      case 'restore_file': {
        if (typeof p.sha256 !== 'string') return { status: 'failed', message: "restore_file needs 'sha256'" };
        const sha256 = p.sha256.toLowerCase();
        scanner.allow(sha256);
        allowed.push(sha256);
        await state.writeJson(allowedFile, allowed);
        const item = await quarantine.restore(sha256);
        return { status: 'succeeded', message: `restored ${item.originalPath}; this file is now allowed on this device`, output: { path: item.originalPath } };
      }
      case 'run_scan': return runScan(p.type === 'full' ? 'full' : 'quick', progress);
      case 'collect_package': {
        await progress('collecting investigation package');
        const pkg = await collectInvestigationPackage({ proc, device: { deviceId: identity.deviceId, deviceName, agentVersion: AGENT_VERSION } });
        try {
          const body = await readFile(pkg.file);
          const { status, body: answer } = await client.request<{ fileId?: string; message?: string }>(
            'POST', `/api/v1/agent/commands/${encodeURIComponent(command.id)}/files`, { body, contentType: 'application/gzip', timeoutMs: 120_000 });
          if (status !== 200 && status !== 201) return { status: 'failed', message: `upload refused: HTTP ${status} ${answer?.message ?? ''}`.trim() };
          return { status: 'succeeded', message: `package uploaded (${pkg.size} bytes, ${pkg.entries.length} files)`, output: { fileId: answer.fileId, sha256: pkg.sha256, size: pkg.size, entries: pkg.entries } };
        } finally {
          await pkg.cleanup();
        }
      }
      case 'remove_persistence': {
        const path = typeof p.path === 'string' ? resolve(p.path) : '';
        const category = autorunCategory(path);
        if (!category) return { status: 'failed', message: `${path || "'path'"} is not in an autorun location (cron, systemd unit, shell profile, XDG autostart, init)` };
        const st = await lstat(path).catch(() => undefined);
        // Remediation asks for an end state: an entry that is already gone is removed (say so, and how).
        if (!st) return { status: 'succeeded', message: `${path} is already absent`, output: { category, absent: true } };
        if (!st.isFile()) return { status: 'failed', message: `${path} is not a regular file` };
        if (category === 'systemd' && path.startsWith('/etc/systemd/')) {
          await new Promise<void>((r) => { const c = spawn('systemctl', ['disable', '--now', basename(path)], { stdio: 'ignore' }); c.on('error', () => r()); c.on('close', () => r()); });
        }
        const h = await hashFile(path).catch(() => undefined);
        if (!h && !(await lstat(path).catch(() => undefined))) return { status: 'succeeded', message: `${path} is already absent`, output: { category, absent: true } };
        const item = await quarantine.quarantine(path, { sha256: h?.sha256 ?? '', sha1: h?.sha1, md5: h?.md5, threatName: 'persistence', engine: 'response' })
          .catch((error: NodeJS.ErrnoException) => { if (error.code === 'ENOENT') return undefined; throw error; });
        if (!item) return { status: 'succeeded', message: `${path} is already absent (removed by another remediation)`, output: { category, absent: true } };
        return { status: 'succeeded', message: `removed ${category} entry ${path} (kept in quarantine, restorable by SHA-256)`, output: { category, sha256: item.sha256 } };
      }
      case 'restrict_app':
      case 'unrestrict_app':
        return { status: 'failed', message: `${command.kind} is not supported by the Linux agent` };
      default:
        return { status: 'failed', message: `unknown command kind '${command.kind}'` };
    }
  }

  async function stopProcess(p: Record<string, unknown>): Promise<CommandResult> {
    const targets: number[] = [];
    if (p.pid !== undefined) {
      const pid = Number(p.pid);
      if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return { status: 'failed', message: `refusing to stop pid ${String(p.pid)}` };
      targets.push(pid);
    } else if (typeof p.sha256 === 'string') {
      const want = p.sha256.toLowerCase();
      for (const pid of await proc.listPids()) {
        if (pid === process.pid || pid <= 1) continue;
        const info = await proc.read(pid);
        if (!info?.exe) continue;
        // A quarantined (deleted) executable still runs: then hash it through /proc/<pid>/exe.
        const hash = (await exeHashes.get(info.exe).catch(() => undefined)) ?? await hashFile(`/proc/${pid}/exe`).catch(() => undefined);
        if (hash?.sha256 === want) targets.push(pid);
      }
    } else {
      return { status: 'failed', message: "stop_process needs 'pid' or 'sha256'" };
    }
    // The end state (nothing of this runs) already holds: succeeded, saying so. A named pid that is not
    // running is the same end state.
    if (!targets.length) return { status: 'succeeded', message: 'no running process matches: nothing to stop', output: { pids: [] } };
    const stopped: number[] = [];
    const errors: string[] = [];
    for (const pid of targets) {
      try { process.kill(pid, 'SIGKILL'); stopped.push(pid); } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') continue; // already gone
        errors.push(`${pid}: ${(e as NodeJS.ErrnoException).code}`);
      }
    }
    if (errors.length && !stopped.length) return { status: 'failed', message: `could not stop ${errors.join(', ')}` };
    if (!stopped.length) return { status: 'succeeded', message: `${targets.join(', ')} no longer running: nothing to stop`, output: { pids: [] } };
    return { status: 'succeeded', message: `stopped ${stopped.join(', ')}`, output: { pids: stopped } };
  }

  async function quarantineFile(p: Record<string, unknown>): Promise<CommandResult> {
    const paths: string[] = [];
    if (typeof p.path === 'string') paths.push(resolve(p.path));
    else if (typeof p.sha256 === 'string') {
      const want = p.sha256.toLowerCase();
      const found = await findByHash(options.watchPaths, want);
      paths.push(...found);
    } else return { status: 'failed', message: "quarantine_file needs 'path' or 'sha256'" };
    // Already quarantined (or gone): the end state holds.
    if (!paths.length) return { status: 'succeeded', message: 'no file with that SHA-256 under the watched folders: nothing to quarantine', output: { paths: [] } };
    const done: string[] = [];
    for (const path of paths) {
      const st = await lstat(path).catch(() => undefined);
      if (!st && typeof p.path === 'string') return { status: 'succeeded', message: `${path} is already absent`, output: { paths: [], absent: true } };
      const h = await hashFile(path).catch(() => undefined);
      // Gone between the look and the read (another remediation took it): the end state holds.
      if (!h && !(await lstat(path).catch(() => undefined))) { done.push(`${path} (already absent)`); continue; }
      if (!h) return { status: 'failed', message: `${path} is not a readable regular file` };
      if (typeof p.sha256 === 'string' && h.sha256 !== p.sha256.toLowerCase()) return { status: 'failed', message: `${path} has another SHA-256` };
      const item = await quarantine.quarantine(path, { ...h, threatName: 'analyst request', engine: 'response' })
        .catch((error: NodeJS.ErrnoException) => { if (error.code === 'ENOENT') return undefined; throw error; });
      done.push(item ? path : `${path} (already absent)`);
    }
    return { status: 'succeeded', message: `quarantined ${done.join(', ')}`, output: { paths: done } };
  }

  async function findByHash(roots: readonly string[], sha256: string): Promise<string[]> {
    const found: string[] = [];
    await walkFiles(roots, async (path) => { if ((await hashFile(path).catch(() => undefined))?.sha256 === sha256) found.push(path); });
    return found;
  }

  async function walkFiles(roots: readonly string[], visit: (path: string) => Promise<void>, skip: readonly string[] = []) {
    const stack = [...roots];
    const skipAll = [state.root, ...skip];
    while (stack.length) {
      const d = stack.pop()!;
      if (skipAll.some((s) => d === s || d.startsWith(`${s}/`))) continue;
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        const full = join(d, e.name);
        if (e.isDirectory()) stack.push(full);
        else if (e.isFile()) await visit(full);
      }
    }
  }

  async function runScan(type: 'quick' | 'full', progress: (m: string) => Promise<void>): Promise<CommandResult> {
    await progress(`${type} scan started`);
    const roots = type === 'full' ? ['/'] : [...new Set([...options.watchPaths, '/tmp', '/var/tmp', '/dev/shm'])];
    let scanned = 0;
    const found: { path: string; threat: string; engine: string }[] = [];
    await walkFiles(roots, async (path) => {
      const h = await hashFile(path, 64 * 1024 * 1024).catch(() => undefined);
      if (!h) return;
      scanned++;
      const v = await inspect(path, h);
      if (v) found.push({ path, threat: v.threatName, engine: v.engine });
    }, ['/proc', '/sys', '/dev', '/run'].filter(() => type === 'full'));
    if (type === 'quick') {
      // Quick scans also cover what is running (each executable once).
      const seenExe = new Set<string>();
      for (const pid of await proc.listPids()) {
        const info = await proc.read(pid);
        if (!info?.exe || pid === process.pid) continue;
        if (seenExe.has(info.exe)) continue;
        seenExe.add(info.exe);
        const h = await hashFile(info.exe).catch(() => undefined);
        if (!h) continue;
        scanned++;
        const v = await inspect(info.exe, h, { pid });
        if (v) found.push({ path: info.exe, threat: v.threatName, engine: v.engine });
      }
    }
    return { status: 'succeeded', message: `${type} scan: ${scanned} files scanned, ${found.length} threats`, output: { scanned, threats: found } };
  }

  const commands: CommandChannel = await createCommandChannel({ client, state, handle, log, waitSeconds: options.commandWaitSeconds });

  let closing: Promise<void> | undefined;
  return {
    identity,
    get processSource() { return processes?.source ?? 'off'; },
    get logonSource() { return logons?.source ?? 'off'; },
    stats: () => ({
      queue: queue.stats(), detections, quarantined, watchedDirs: files?.watchedDirs ?? 0, droppedFileEvents: files?.droppedEvents ?? 0,
      indicators: scanner.indicatorCount(), yaraRules: scanner.yaraRules,
    }),
    flush: () => queue.flush(),
    settle: async () => { await files?.idle(); },
    close() {
      closing ??= (async () => {
        clearInterval(infoTimer);
        files?.close();
        network?.close();
        logons?.close();
        await processes?.close();
        await Promise.all([commands.close(), feed.close()]);
        await queue.close();
        await healthWrite;
        client.close();
      })();
      return closing;
    },
  };
}
