// How failures cross the wire: the engine's ExportError and the server's own ServerFailure each carry
// a code from where they started; this is the one place that turns them into a WireError or a
// JSON-RPC ResponseError (the sentence as message, the code in data).
import { LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { ExportError } from '../engine/errors';
import type { ResponseErrorData, ServerErrorCode, WireError } from '../protocol/customMessages';

/** A failure that is the server's own (not the engine's), with a protocol error code. */
export class ServerFailure extends Error {
  constructor(readonly code: ServerErrorCode, message: string) {
    super(message);
    this.name = 'ServerFailure';
  }
}

/** Anything else is a bug: say what failed, with the code 'internal'. */
export function toWireError(err: unknown): WireError {
  // The engine says 'auth' for a refused login to Zendesk and to PostgreSQL alike; the editor's
  // fixes differ (a Zendesk token, a database password), so the database's gets its own code.
  if (err instanceof ExportError && err.code === 'auth' && /^PostgreSQL\b/.test(err.message)) return { code: 'database', message: err.message };
  if (err instanceof ExportError || err instanceof ServerFailure) return { code: err.code, message: err.message };
  return { code: 'internal', message: `Internal error: ${err instanceof Error ? err.message : String(err)}` };
}

export function toResponseError(err: unknown): ResponseError<ResponseErrorData> {
  if (err instanceof ResponseError) return err as ResponseError<ResponseErrorData>;
  const wire = toWireError(err);
  return new ResponseError<ResponseErrorData>(LSPErrorCodes.RequestFailed, wire.message, { code: wire.code });
}
