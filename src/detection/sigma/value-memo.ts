// Answers remembered per field value. Endpoint telemetry repeats the same images, paths and command
// lines all day, and the owners a prefilter entry finds in a value never change, so a repeated value
// costs one hash lookup instead of a scan.

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

export function createMemoBudget(maxChars = 16 * 1024 * 1024): MemoBudget {
  return { generation: 0, chars: 0, maxChars };
}

export function createValueMemo<T>(budget: MemoBudget): ValueMemo<T> {
  const answers = new Map<string, T>();
  let generation = budget.generation;
  return {
    get(value) {
      if (generation !== budget.generation) { answers.clear(); generation = budget.generation; }
      return answers.get(value);
    },
    set(value, answer) {
      if (value.length > MAX_VALUE_LENGTH) return;
      if (answers.size >= MAX_ENTRIES) answers.clear();
      budget.chars += value.length;
      if (budget.chars > budget.maxChars) { budget.generation++; budget.chars = value.length; }
      if (generation !== budget.generation) { answers.clear(); generation = budget.generation; }
      answers.set(value, answer);
    },
  };
}
