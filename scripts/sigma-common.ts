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

export { parseJsonDocuments } from '../src/ingest/index.js';
