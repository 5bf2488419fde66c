// The one error type of the engine: a failure with one clear, actionable sentence and a stable code
// that UIs map to an action ("Set Token…", "Resume", …). Thrown where the failure starts.

export type ErrorCode =
  | 'auth' | 'forbidden' | 'notFound' | 'badRequest' | 'invalidQuery' | 'futureStartTime'
  | 'checkpointMismatch' | 'checkpointCorrupt' | 'foreignOrigin' | 'insecureUrl' | 'stuck'
  | 'rateLimited' | 'server' | 'network' | 'io' | 'locked' | 'cancelled';

/** Never carries a secret. */
export class ExportError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

export function cancelledError(): ExportError {
  return new ExportError('cancelled', 'The export was cancelled; the checkpoint keeps the last complete page, so it can be resumed.');
}
