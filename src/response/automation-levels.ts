/**
 * Automation levels per device group and the folder sets they speak of, after Defender's
 * automation-levels page (shared/reference/defender-xdr.md §3), adapted to Linux and Windows paths.
 */
export type AutomationLevel = 'full' | 'semi_all' | 'semi_core' | 'semi_non_temp' | 'none';
export const AUTOMATION_LEVELS: readonly AutomationLevel[] = ['full', 'semi_all', 'semi_core', 'semi_non_temp', 'none'];

/** What an automated remediation needs under a level. */
export type AutomationDecision =
  | { readonly run: 'auto'; readonly why: string }
  | { readonly run: 'approval'; readonly why: string }
  | { readonly run: 'skip'; readonly why: string };

// Core (operating-system) folders. Windows: `\windows\*` as documented, plus Program Files.
const CORE_PATTERNS: readonly RegExp[] = [
  /^\/(bin|sbin|usr|lib|lib32|lib64|libx32|etc|boot)(\/|$)/,
  /^[a-z]:\\windows(\\|$)/i,
  /^[a-z]:\\program files( \(x86\))?(\\|$)/i,
];

// Temporary and download folders: `\users\*\appdata\local\temp\*`, `\windows\temp\*`, `\users\*\downloads\*`, and Linux equivalents.
const TEMP_PATTERNS: readonly RegExp[] = [
  /^\/(tmp|var\/tmp|dev\/shm|run\/user\/\d+)(\/|$)/,
  /^\/home\/[^/]+\/(Downloads|downloads|\.cache)(\/|$)/,
  /^\/root\/(Downloads|downloads|\.cache)(\/|$)/,
  /^[a-z]:\\users\\[^\\]+\\appdata\\local\\temp(\\|$)/i,
  /^[a-z]:\\windows\\temp(\\|$)/i,
  /^[a-z]:\\users\\[^\\]+\\downloads(\\|$)/i,
  /^%(temp|tmp)%(\\|$)/i,
];

/** True when the path lies in an operating-system folder. */
export function isCoreFolder(path: string): boolean {
  return CORE_PATTERNS.some((p) => p.test(path));
}

/** True when the path lies in a temporary or downloads folder. */
export function isTempFolder(path: string): boolean {
  return TEMP_PATTERNS.some((p) => p.test(path));
}

/**
 * Whether an automated remediation of a malicious entity runs at once, waits for approval or does not run.
 * `path` is the file the action touches, when it touches one; an action whose path is unknown counts as
 * outside temp folders and inside core folders (the cautious reading). Suspicious verdicts always wait.
 */
export function decideAutomation(level: AutomationLevel, verdict: 'malicious' | 'suspicious', path?: string): AutomationDecision {
  if (level === 'none') return { run: 'skip', why: 'the device group has no automated response' };
  if (verdict === 'suspicious') return { run: 'approval', why: 'a suspicious verdict always waits for approval' };
  switch (level) {
    case 'full':
      return { run: 'auto', why: 'full automation remediates malicious entities at once' };
    case 'semi_all':
      return { run: 'approval', why: 'the device group requires approval for any remediation' };
    case 'semi_core':
      if (path === undefined) return { run: 'approval', why: 'the device group requires approval in core folders and the path is unknown' };
      return isCoreFolder(path)
        ? { run: 'approval', why: `${path} is in a core folder and the device group requires approval there` }
        : { run: 'auto', why: `${path} is outside core folders` };
    case 'semi_non_temp':
      if (path !== undefined && isTempFolder(path)) return { run: 'auto', why: `${path} is in a temporary or downloads folder` };
      return { run: 'approval', why: path === undefined
        ? 'the device group requires approval outside temp folders and the path is unknown'
        : `${path} is outside temporary folders and the device group requires approval there` };
  }
}

/** Files that make something start again: cron tables and systemd units (Linux), for remove_persistence. */
export function isPersistencePath(path: string): boolean {
  return /^\/etc\/(cron\.(d|hourly|daily|weekly|monthly)\/[^/]+|crontab)$/.test(path)
    || /^\/var\/spool\/cron(\/crontabs)?\/[^/]+$/.test(path)
    || /^\/(etc|lib|usr\/lib|run)\/systemd\/(system|user)\/[^/]+\.(service|timer|socket|path)$/.test(path)
    || /^\/(home\/[^/]+|root)\/\.config\/systemd\/user\/[^/]+\.(service|timer|socket|path)$/.test(path);
}
