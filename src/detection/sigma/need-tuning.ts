// Prefilter tuning: a rule usually has several necessary conditions (one per ANDed part), and which
// one is rarest depends on the telemetry, not on the rule. "Initiated: 'true'" and
// "DestinationPort: 4444" are both necessary for a reverse-shell rule, but only the second is rare.
// Each logsource bucket watches how often its rules pass the prefilter; for rules that pass often,
// it counts on a sample of live events how often each alternative would hold, and indexes the
// rarest. Any alternative is necessary, so the choice changes how much work is done, never a result.
import { ANY_FIELD, type FieldAccess, type Need, type Needs } from './rule-compiler.js';

/** What tuning reads and sets on a bucket's entry. */
export interface TunedEntry {
  readonly needs: Needs;
  readonly aliases: ReadonlyMap<number, number> | null;
  /** The need the prefilter indexes; null when the rule has none (it is evaluated on every event). */
  need: Need | null;
}

/** The event context, with the per-entry field renames the engine sets before reading a rule's fields. */
export interface TuningContext extends FieldAccess {
  aliases: ReadonlyMap<number, number> | null;
}

export interface NeedTuning {
  /**
   * Sees one event: `candidates` are the entries that passed the prefilter. Returns true when some
   * entry's need changed, so the caller rebuilds its index.
   */
  observe(candidates: readonly number[], ctx: TuningContext): boolean;
}

export interface TuningOptions {
  /** Events counted before the first choice. */
  readonly firstAfter: number;
  /** Events counted before each later choice (the telemetry may change). */
  readonly thenEvery: number;
  /** Events each choice samples. */
  readonly sample: number;
  /** An entry passing the prefilter on more than this share of events is worth tuning. */
  readonly hotShare: number;
}

export const DEFAULT_TUNING: TuningOptions = { firstAfter: 4096, thenEvery: 1 << 20, sample: 1024, hotShare: 0.01 };

function holds(need: Need, ctx: TuningContext): boolean {
  for (const atom of need) {
    if (atom.field === ANY_FIELD) {
      for (const s of ctx.keywordTexts()) if (s.includes(atom.literal)) return true;
      continue;
    }
    const v = ctx.lower(atom.field);
    if (v === null) continue;
    for (const s of typeof v === 'string' ? [v] : v) {
      if (atom.kind === 'exact' ? s === atom.literal : atom.kind === 'suffix' ? s.endsWith(atom.literal) : s.includes(atom.literal)) return true;
    }
  }
  return false;
}

export function createNeedTuning(entries: readonly TunedEntry[], options: TuningOptions = DEFAULT_TUNING): NeedTuning {
  const passed = new Uint32Array(entries.length);
  let seen = 0;
  let countTo = options.firstAfter;
  /** While sampling: the hot entries and, per alternative, the sampled events it held on. */
  let sampling: { readonly entry: TunedEntry; readonly held: Uint32Array }[] | null = null;

  function startSampling(): void {
    sampling = [];
    entries.forEach((entry, i) => {
      if (entry.needs.length > 1 && passed[i]! > seen * options.hotShare) sampling!.push({ entry, held: new Uint32Array(entry.needs.length) });
    });
    if (sampling.length === 0) sampling = null;
  }

  function choose(): boolean {
    let changed = false;
    for (const { entry, held } of sampling!) {
      let best = entry.need === null ? 0 : entry.needs.indexOf(entry.need);
      for (let k = 0; k < held.length; k++) if (held[k]! < held[best]!) best = k;
      if (entry.needs[best] !== entry.need) { entry.need = entry.needs[best]!; changed = true; }
    }
    return changed;
  }

  return {
    observe(candidates, ctx) {
      if (sampling === null) {
        for (let i = 0; i < candidates.length; i++) passed[candidates[i]!]!++;
        if (++seen < countTo) return false;
        startSampling();
        seen = 0;
        passed.fill(0);
        countTo = options.thenEvery;
        return false;
      }
      for (const { entry, held } of sampling) {
        ctx.aliases = entry.aliases;
        for (let k = 0; k < held.length; k++) if (holds(entry.needs[k]!, ctx)) held[k]!++;
      }
      ctx.aliases = null;
      if (++seen < options.sample) return false;
      const changed = choose();
      sampling = null;
      seen = 0;
      return changed;
    },
  };
}
