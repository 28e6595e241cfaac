import { VigilError } from '../errors/index.js';

/** Where in the query text something is: 1-based line and column. */
export interface KqlPosition {
  readonly line: number;
  readonly column: number;
}

/**
 * A query the analyst wrote cannot be understood (code 'kql_syntax') or refers to something
 * Vigil does not have or cannot do (code 'kql_semantic'). Both are 400s with a position.
 */
export class KqlError extends VigilError {
  constructor(
    code: 'kql_syntax' | 'kql_semantic',
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(code, 400, `${message} (line ${line}, column ${column})`, { line, column });
    this.name = 'KqlError';
    this.reason = message;
  }
  /** The message without the position suffix. */
  readonly reason: string;
}

/** Offset → line/column, computed lazily once per query text. */
export function positionOf(text: string, offset: number): KqlPosition {
  let line = 1;
  let col = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

export function syntaxError(text: string, offset: number, message: string): KqlError {
  const p = positionOf(text, offset);
  return new KqlError('kql_syntax', message, p.line, p.column);
}

export function semanticError(text: string, offset: number, message: string): KqlError {
  const p = positionOf(text, offset);
  return new KqlError('kql_semantic', message, p.line, p.column);
}
