import type { ErrorCode } from './model';

/** A failure with one clear, actionable sentence. Never carries a secret. */
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
