// The values of Sigma `|expand` placeholders (Sigma v2.1, "Placeholders"), read from a YAML or JSON
// file an operator keeps: `Admins: [alice, bob]` or `"%Admins%": alice`. Names are stored as `%Name%`.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { VigilError } from '../errors/index.js';

export type PlaceholderValues = Readonly<Record<string, readonly string[]>>;

/** Parses a placeholders document; errors name the file and line. */
export function parsePlaceholders(text: string, file: string): PlaceholderValues {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (offset: number | undefined) => `${file}:${offset === undefined ? 1 : lines.linePos(offset).line}`;
  if (doc.errors.length > 0) throw new VigilError('bad_config', 2, `${at(doc.errors[0]!.pos[0])}: ${doc.errors[0]!.message.split('\n')[0]!.replace(/:\s*$/, '')}`);
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) throw new VigilError('bad_config', 2, `${at(doc.contents.range?.[0])}: placeholders must be a map of name to value or list of values`);
  const out: Record<string, string[]> = {};
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const where = at(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
    if (!/^%?[A-Za-z0-9_\-.]+%?$/.test(key)) throw new VigilError('bad_config', 2, `${where}: "${key}" is not a placeholder name (letters, digits, _ - .)`);
    const name = `%${key.replace(/^%|%$/g, '')}%`;
    const value = pair.value;
    const items = isSeq(value) ? value.items : [value];
    const values: string[] = [];
    for (const item of items) {
      if (!isScalar(item) || item.value === null || typeof item.value === 'object') {
        throw new VigilError('bad_config', 2, `${where}: ${name} must be a value or a list of values`);
      }
      values.push(String(item.value));
    }
    out[name] = values;
  }
  return out;
}

export function readPlaceholders(file: string): PlaceholderValues {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new VigilError('bad_config', 2, `${file}: cannot read the placeholders file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parsePlaceholders(text, file);
}
