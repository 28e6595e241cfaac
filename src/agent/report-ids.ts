import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { StateDir } from './state-dir.js';

/**
 * ReportId source: unique per agent, monotonic, persisted. Ids are reserved in blocks on disk (the file
 * holds the first id no run may have handed out yet), so a crash skips at most one block and never repeats
 * an id — the platform deduplicates on (sensor, ReportId), so a repeated id would silently lose a row.
 */
export interface ReportIds {
  next(): number;
  /** The last id handed out (0 before the first). */
  readonly last: number;
}

const FILE = 'report-id.json';

export function createReportIds(state: StateDir, block = 10_000): ReportIds {
  const file = state.path(FILE);
  let nextId = 1;
  try {
    nextId = Number(JSON.parse(readFileSync(file, 'utf8')).reservedUpTo) || 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let reservedUpTo = 0;
  const reserve = (upTo: number) => {
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify({ reservedUpTo: upTo }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    reservedUpTo = upTo;
  };
  reserve(nextId + block);
  return {
    next() {
      if (nextId >= reservedUpTo) reserve(nextId + block);
      return nextId++;
    },
    get last() { return nextId - 1; },
  };
}
