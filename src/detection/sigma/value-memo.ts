// Answers remembered per field value. Endpoint telemetry repeats the same images, paths and command
// lines all day, and the owners a prefilter entry finds in a value never change, so a repeated value
// costs one hash lookup instead of a scan. A field whose values do not repeat (random hashes, GUIDs)
// would only pay for the hashing: a memo that seldom answers stops looking for a while.
import { ownCopy } from '../../ingest/index.js';

/** One budget for all of an engine's memos: when they have taken in `maxChars` characters, all start over. */
export interface MemoBudget {
  /** Bumped each time the budget is spent: a memo from an earlier generation empties itself on next use. */
  generation: number;
  chars: number;
  readonly maxChars: number;
}

export interface ValueMemo<T> {
  get(value: string): T | undefined;
  set(value: string, answer: T): void;
}

/** Values longer than this are not remembered (they are rarely repeated, and the longest to keep). */
const MAX_VALUE_LENGTH = 1024;
/** Entries one memo keeps before it starts over. */
const MAX_ENTRIES = 4096;
/** A memo judges itself every this many lookups… */
const TRIAL = 1024;
/** …and when fewer than this many answered, stops looking for the next OFF lookups, then tries again. */
const MIN_HITS = 64;
const OFF = 64 * 1024;

export function createMemoBudget(maxChars = 16 * 1024 * 1024): MemoBudget {
  return { generation: 0, chars: 0, maxChars };
}

/** Slots of a memo's front table (a power of two). */
const FRONT = 64;
/** A value's front slot, from its length and three of its characters: no hash over all of it. */
const frontSlot = (s: string) => (s.length * 7 + s.charCodeAt(s.length - 1) * 31 + s.charCodeAt(s.length >> 1) * 17 + s.charCodeAt(0)) & (FRONT - 1);

export function createValueMemo<T>(budget: MemoBudget): ValueMemo<T> {
  const answers = new Map<string, T>();
  // Answers found lately, in front of the map and found without hashing the value: a Map hashes a
  // string new to it (every value of every event) before it can look.
  const frontKeys: (string | undefined)[] = new Array<string | undefined>(FRONT).fill(undefined);
  const frontAnswers: (T | undefined)[] = new Array<T | undefined>(FRONT).fill(undefined);
  let generation = budget.generation;
  const clear = () => { answers.clear(); frontKeys.fill(undefined); };
  /** Empties this memo when the budget was spent since it last looked (another memo may have spent it). */
  const sameGeneration = () => { if (generation !== budget.generation) { clear(); generation = budget.generation; } };
  /** Lookups left in this trial (counting down), or in the pause when `off`. */
  let left = TRIAL;
  let hits = 0;
  let off = false;
  return {
    get(value) {
      if (--left === 0) {
        off = !off && hits < MIN_HITS;
        left = off ? OFF : TRIAL;
        hits = 0;
      }
      if (off || value.length === 0) return undefined;
      sameGeneration();
      const slot = frontSlot(value);
      if (frontKeys[slot] === value) { hits++; return frontAnswers[slot]; }
      const answer = answers.get(value);
      if (answer !== undefined) {
        hits++;
        frontKeys[slot] = ownCopy(value);
        frontAnswers[slot] = answer;
      }
      return answer;
    },
    set(value, answer) {
      if (off || value.length === 0 || value.length > MAX_VALUE_LENGTH) return;
      if (answers.size >= MAX_ENTRIES) clear();
      budget.chars += value.length;
      if (budget.chars > budget.maxChars) { budget.generation++; budget.chars = value.length; }
      sameGeneration();
      // A copy: the value may be a view of a whole log line (ownCopy).
      answers.set(ownCopy(value), answer);
    },
  };
}
