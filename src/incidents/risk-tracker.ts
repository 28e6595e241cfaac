// Risk levels of devices and users, kept incrementally from counts of their active alerts by severity.
import type { RiskLevel, Severity } from '../schema/index.js';
import { SEVERITY_RANK } from './incident-model.js';

const LEVEL_BY_RANK: readonly RiskLevel[] = ['none', 'informational', 'low', 'medium', 'high'];

export interface RiskChange {
  readonly key: string;
  readonly old: RiskLevel;
  readonly new: RiskLevel;
}

/** Active-alert counts per entity and severity; the level is the highest severity with a count. */
export class RiskTracker {
  private readonly counts = new Map<string, number[]>();

  level(key: string): RiskLevel {
    const c = this.counts.get(key);
    if (!c) return 'none';
    for (let r = 4; r >= 1; r--) if (c[r] > 0) return LEVEL_BY_RANK[r];
    return 'none';
  }

  active(key: string): number {
    const c = this.counts.get(key);
    return c ? c[1] + c[2] + c[3] + c[4] : 0;
  }

  /** Adds (delta 1) or removes (delta -1) one active alert; returns the change of level, if any. */
  adjust(key: string, severity: Severity, delta: 1 | -1): RiskChange | undefined {
    const old = this.level(key);
    let c = this.counts.get(key);
    if (!c) {
      if (delta < 0) return undefined;
      c = [0, 0, 0, 0, 0];
      this.counts.set(key, c);
    }
    const rank = SEVERITY_RANK[severity];
    c[rank] = Math.max(0, c[rank] + delta);
    if (c[1] + c[2] + c[3] + c[4] === 0) this.counts.delete(key);
    const now = this.level(key);
    return now === old ? undefined : { key, old, new: now };
  }

  /** Every entity with at least one active alert. */
  keys(): IterableIterator<string> {
    return this.counts.keys();
  }
}
