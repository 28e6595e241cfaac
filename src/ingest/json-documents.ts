import { VigilError } from '../errors/index.js';

/**
 * Reads every JSON document in a text: a JSON array (its items), NDJSON, or several pretty-printed
 * documents one after another (as evtx_dump writes them). A malformed document is reported with the
 * line it starts on.
 */
export function parseJsonDocuments(text: string, source = 'input'): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw new VigilError('invalid_json', 400, `${source}:1: ${(error as Error).message}`);
    }
  }
  const documents: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (depth++ === 0) { start = i; startLine = line; }
    } else if (c === 125 || c === 93) {
      if (--depth === 0) {
        const slice = text.slice(start, i + 1);
        try {
          documents.push(JSON.parse(slice));
        } catch (error) {
          throw new VigilError('invalid_json', 400, `${source}:${startLine}: ${(error as Error).message}`);
        }
      }
    } else if (depth === 0 && c !== 10 && c !== 13 && c !== 32 && c !== 9) {
      throw new VigilError('invalid_json', 400, `${source}:${line}: unexpected text between JSON documents`);
    }
  }
  if (depth !== 0) throw new VigilError('invalid_json', 400, `${source}:${startLine}: the last JSON document is not closed`);
  return documents;
}
