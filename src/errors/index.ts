/**
 * The one error family. `message` is safe to show to a caller; `detail` is for logs only.
 * The HTTP layer sends `{ error: code, message }` when `expose`, otherwise a generic 500.
 */
export class VigilError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly detail?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VigilError';
  }

  get expose(): boolean {
    return this.status < 500;
  }
}

export const badRequest = (message: string, detail?: unknown) => new VigilError('bad_request', 400, message, detail);
export const notFound = (what: string) => new VigilError('not_found', 404, `${what} not found`);
export const conflict = (message: string) => new VigilError('conflict', 409, message);
export const forbidden = (message = 'your role does not allow this') => new VigilError('forbidden', 403, message);
export const unauthorized = (message = 'authentication required') => new VigilError('unauthorized', 401, message);
