import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileHashes } from './hashes.js';

/** An indicator as the platform's feed delivers it (CONTRACTS: GET /api/v1/intel/feed). */
export interface Indicator {
  readonly id: string;
  readonly type: string;
  readonly value: string;
  readonly action: 'allow' | 'audit' | 'warn' | 'block' | 'block_and_remediate';
  readonly severity?: string;
  readonly title?: string;
  readonly expiresAt?: string | null;
}

export interface Verdict {
  readonly engine: 'indicator' | 'eicar' | 'yara';
  readonly threatName: string;
  /** block: quarantine in prevention mode; detect: report only. */
  readonly disposition: 'block' | 'detect';
  readonly indicatorId?: string;
  readonly severity?: string;
}

/** The EICAR anti-virus test file (https://www.eicar.org/download-anti-malware-testfile/). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Built-in YARA rule, so the YARA engine recognises EICAR even with no rule folder configured. */
export const BUILTIN_YARA = `
rule EICAR_Test_File {
  meta:
    description = "EICAR anti-virus test file"
    threat = "EICAR-Test-File"
  strings:
    $eicar = "X5O!P%@AP[4\\\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
  condition:
    $eicar at 0 and filesize <= 128
}
`;

/**
 * The EICAR file is the 68-byte string, optionally followed by white space, 128 bytes at most.
 */
export function isEicar(head: Buffer, size: number): boolean {
  if (size < 68 || size > 128) return false;
  const text = head.subarray(0, Math.min(size, 128)).toString('latin1');
  return text.startsWith(EICAR) && /^[\s\x1a]*$/.test(text.slice(68));
}

interface YaraMatch { ruleIdentifier: string; meta: object }
interface YaraEngine { scanFileAsync(path: string): Promise<YaraMatch[]>; scan(data: Buffer): YaraMatch[] }

export interface Scanner {
  /** Verdict for a file, or undefined when it is clean (or allowed). */
  scan(path: string, hashes: FileHashes): Promise<Verdict | undefined>;
  /**
   * The same verdict from what is in memory (hashes, head, the content of a small file), at once; 'file' when
   * the file itself is still to be scanned (YARA over a file too large to have been kept in memory): use scan.
   */
  scanHashes(hashes: FileHashes): Verdict | undefined | 'file';
  setIndicators(indicators: Iterable<Indicator>): void;
  /** A local allow (a file restored by an analyst is not quarantined again). */
  allow(sha256: string): void;
  readonly yaraRules: number;
  readonly yaraError?: string;
  indicatorCount(): number;
}

export interface ScannerOptions {
  /** Folder of .yar/.yara files, compiled with the built-in rules. */
  readonly yaraRulesDir?: string;
  readonly maxYaraBytes?: number;
  readonly allowed?: Iterable<string>;
  readonly log?: (message: string) => void;
}

const HASH_TYPES = new Set(['sha256', 'sha1', 'md5']);

function safeScan(yara: YaraEngine, data: Buffer): YaraMatch[] {
  try { return yara.scan(data); } catch { return []; }
}

export async function createScanner(options: ScannerOptions = {}): Promise<Scanner> {
  const log = options.log ?? (() => {});
  const maxYaraBytes = options.maxYaraBytes ?? 64 * 1024 * 1024;
  const byHash = new Map<string, Indicator>();
  const allowed = new Set([...(options.allowed ?? [])].map((h) => h.toLowerCase()));
  let yara: YaraEngine | undefined;
  let yaraError: string | undefined;
  let yaraRules = 0;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@litko/yara-x') as { compile(source: string): YaraEngine };
    let source = BUILTIN_YARA;
    if (options.yaraRulesDir) {
      for (const name of (await readdir(options.yaraRulesDir)).sort()) {
        if (/\.ya?ra?$/.test(name)) source += `\n${await readFile(join(options.yaraRulesDir, name), 'utf8')}`;
      }
    }
    yaraRules = source.match(/^\s*(?:private\s+|global\s+)*rule\s/gm)?.length ?? 0;
    yara = mod.compile(source);
  } catch (error) {
    yaraError = (error as Error).message;
    log(`YARA engine unavailable: ${yaraError}`);
  }

  function indicatorFor(hashes: FileHashes): Indicator | undefined {
    if (!byHash.size) return undefined;
    for (const h of [hashes.sha256, hashes.sha1, hashes.md5]) {
      const found = byHash.get(h);
      if (found && !(found.expiresAt && Date.parse(found.expiresAt) < Date.now())) return found;
    }
    return undefined;
  }

  return {
    get yaraRules() { return yara ? yaraRules : 0; },
    get yaraError() { return yaraError; },
    indicatorCount: () => byHash.size,
    allow(sha256) { allowed.add(sha256.toLowerCase()); },
    setIndicators(indicators) {
      byHash.clear();
      for (const i of indicators) if (HASH_TYPES.has(i.type)) byHash.set(i.value.toLowerCase(), i);
    },
    scanHashes,
    async scan(path, hashes) {
      const verdict = scanHashes(hashes);
      if (verdict !== 'file') return verdict;
      return yaraVerdict(await yara!.scanFileAsync(path).catch(() => []));
    },
  };

  function scanHashes(hashes: FileHashes): Verdict | undefined | 'file' {
    if (allowed.has(hashes.sha256)) return undefined;
    const indicator = indicatorFor(hashes);
    if (indicator?.action === 'allow') return undefined;
    if (indicator) {
      return {
        engine: 'indicator', threatName: indicator.title || `Indicator ${indicator.id}`, indicatorId: indicator.id, severity: indicator.severity,
        disposition: indicator.action === 'block' || indicator.action === 'block_and_remediate' ? 'block' : 'detect',
      };
    }
    if (isEicar(hashes.head, hashes.size)) return { engine: 'eicar', threatName: 'EICAR-Test-File', disposition: 'block', severity: 'informational' };
    if (yara && hashes.size > 0 && hashes.size <= maxYaraBytes) {
      // Small files are already in memory: scan the bytes that were hashed (no second read, no race).
      if (!hashes.content) return 'file';
      return yaraVerdict(safeScan(yara, hashes.content));
    }
    return undefined;
  }

  function yaraVerdict(matches: YaraMatch[]): Verdict | undefined {
    if (!matches.length) return undefined;
    const meta = matches[0].meta as Record<string, unknown>;
    return { engine: 'yara', threatName: String(meta.threat ?? matches[0].ruleIdentifier), disposition: 'block', severity: typeof meta.severity === 'string' ? meta.severity : undefined };
  }
}
