// Shared helpers for the Sigma scripts (regression, load, bench): find rule files, read evtx_dump JSON.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleSource } from '../src/detection/index.js';

export const SIGMA_DATA = join(import.meta.dirname, '..', '..', 'shared', 'data', 'sigma');

export function walk(dir: string, ext: RegExp, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, ext, out);
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

/** Every rule file under rules* of the SigmaHQ data folder. */
export function sigmaRuleSources(root = SIGMA_DATA): RuleSource[] {
  const dirs = readdirSync(root).filter((d) => d.startsWith('rules') && statSync(join(root, d)).isDirectory()).sort();
  return dirs.flatMap((d) => walk(join(root, d), /\.ya?ml$/)).map((file) => ({ file, text: readFileSync(file, 'utf8'), pack: 'sigmahq' }));
}

/** evtx_dump files hold one object or several concatenated objects (neither an array nor JSON Lines). */
export function splitConcatenatedJson(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0; let inStr = false; let esc = false; let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (esc) esc = false; else if (c === 92) esc = true; else if (c === 34) inStr = false;
      continue;
    }
    if (c === 34) inStr = true;
    else if (c === 123) { if (depth === 0) start = i; depth++; }
    else if (c === 125) { depth--; if (depth === 0 && start >= 0) { out.push(JSON.parse(text.slice(start, i + 1))); start = -1; } }
  }
  return out;
}
