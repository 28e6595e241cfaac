import { VigilError } from '../errors/index.js';

/** Where a rule problem is: the file (or source label) and a 1-based line and column. */
export interface RuleLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A rule that could not be loaded, with where and why. One bad rule never stops the others. */
export interface RuleProblem extends RuleLocation {
  readonly reason: string;
  readonly ruleId?: string;
  readonly title?: string;
}

export class DetectionError extends VigilError {
  constructor(code: string, status: number, message: string, detail?: unknown) {
    super(code, status, message, detail);
    this.name = 'DetectionError';
  }
}

/** Thrown inside the compiler with a YAML path; the loader turns it into a RuleProblem with a line. */
export class RuleCompileError extends Error {
  constructor(message: string, readonly path: readonly (string | number)[] = []) {
    super(message);
    this.name = 'RuleCompileError';
  }
}
