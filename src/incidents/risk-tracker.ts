// Risk levels of devices and users, kept incrementally from counts of their active alerts by severity.
import type { RiskLevel, Severity } from '../schema/index.js';
import { SEVERITY_RANK } from './incident-model.js';

const LEVEL_BY_RANK: readonly RiskLevel[] = ['none', 'informational', 'low', 'medium', 'high'];

export interface RiskChange {
  readonly key: string;
  readonly old: RiskLevel;
  readonly new: RiskLevel;
}

interface Entry {
  /** Active alerts by severity rank (index 1–4). */
  readonly counts: number[];
  total: number;
  level: RiskLevel;
}

/** Active-alert counts per entity and severity; the level is the highest severity with a count. */
export class RiskTracker {
  private readonly entries = new Map<string, Entry>();

  level(key: string): RiskLevel {
    return this.entries.get(key)?.level ?? 'none';
  }

  active(key: string): number {
    return this.entries.get(key)?.total ?? 0;
  }

  /** Adds (delta 1) or removes (delta -1) one active alert; returns the change of level, if any. */
  adjust(key: string, severity: Severity, delta: 1 | -1): RiskChange | undefined {
    let e = this.entries.get(key);
    if (!e) {
      if (delta < 0) return undefined;
      e = { counts: [0, 0, 0, 0, 0], total: 0, level: 'none' };
      this.entries.set(key, e);
    }
    const old = e.level;
    const rank = SEVERITY_RANK[severity];
    if (delta < 0 && e.counts[rank] === 0) return undefined;
    e.counts[rank] += delta;
    e.total += delta;
    let top = 0;
    for (let r = 4; r >= 1; r--) if (e.counts[r] > 0) { top = r; break; }
    e.level = LEVEL_BY_RANK[top];
    if (e.total === 0) this.entries.delete(key);
    return e.level === old ? undefined : { key, old, new: e.level };
  }

  clear(): void {
    this.entries.clear();
  }

  /** Every entity with at least one active alert. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }
}
