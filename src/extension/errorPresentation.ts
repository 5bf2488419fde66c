// Failures reach the person as one sentence with the action that fixes them; the details
// (and anything long) go to the log.
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import type { ServerErrorCode, WireError } from '../protocol/customMessages';

export interface ErrorContext {
  connectionName?: string;
  /** The connection's auth kind: an OAuth connection without a usable secret is offered Sign In. */
  auth?: 'apiToken' | 'oauth';
  queryUri?: vscode.Uri;
}

/** Turns whatever was thrown (ResponseError from the server, Error, string) into a WireError. */
export function toWireError(err: unknown): WireError {
  if (err instanceof ResponseError) {
    const data = err.data as Partial<WireError> | undefined;
    if (data && typeof data.code === 'string') return { code: data.code, message: data.message ?? err.message };
    return { code: 'internal', message: err.message };
  }
  if (err && typeof err === 'object' && 'code' in err && 'message' in err && typeof (err as WireError).message === 'string') {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return { code: code as ServerErrorCode, message: (err as WireError).message };
  }
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Buttons offered per error code; each maps to a command with the context's arguments. */
function actionsFor(code: ServerErrorCode, ctx: ErrorContext): { title: string; run: () => Thenable<unknown> }[] {
  const conn = ctx.connectionName;
  const setToken = { title: 'Set Token', run: () => vscode.commands.executeCommand('zendesk.setToken', conn) };
  const testConn = { title: 'Test Connection', run: () => vscode.commands.executeCommand('zendesk.testConnection', conn) };
  const settings = { title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'zendesk.connections') };
  const openQuery = ctx.queryUri ? [{ title: 'Open Query', run: () => vscode.window.showTextDocument(ctx.queryUri as vscode.Uri) }] : [];
  const resume = ctx.queryUri ? [{ title: 'Resume', run: () => vscode.commands.executeCommand('zendesk.resumeQuery', ctx.queryUri) }] : [];
  const startOver = ctx.queryUri ? [{ title: 'Start Over', run: () => vscode.commands.executeCommand('zendesk.runQuery', ctx.queryUri, { fresh: true }) }] : [];
  const signIn = { title: 'Sign In', run: () => vscode.commands.executeCommand('zendesk.signIn', conn) };
  switch (code) {
    case 'auth':
    case 'noCredentials':
      if (!conn) return [settings];
      return ctx.auth === 'oauth' ? [signIn, settings] : [setToken, settings];
    case 'forbidden':
      return conn ? [testConn, setToken] : [settings];
    // A table output's PostgreSQL: its connection in zendesk.databases, its password in the keychain.
    case 'database':
      return [
        { title: 'Set Database Password', run: () => vscode.commands.executeCommand('zendesk.setDatabasePassword') },
        { title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'zendesk.databases') },
      ];
    case 'notFound':
    case 'insecureUrl':
    case 'foreignOrigin':
      return [settings];
    case 'invalidQuery':
    case 'futureStartTime':
    case 'badRequest':
      return openQuery;
    case 'checkpointMismatch':
    case 'checkpointCorrupt':
      return [...startOver, ...openQuery];
    // The engine's sentence says until when Zendesk asked to wait; Resume is the way on after that.
    case 'rateLimited':
    case 'network':
    case 'server':
    case 'stuck':
    case 'io':
    case 'internal':
      return resume;
    // The sentence names the other writer (pid, start, command); only ending that run frees the output.
    case 'locked':
      return [];
    default:
      return [];
  }
}

export async function presentError(log: vscode.LogOutputChannel, err: unknown, ctx: ErrorContext = {}): Promise<void> {
  const wire = toWireError(err);
  log.error(`[${wire.code}] ${wire.message}`);
  if (err instanceof Error && err.stack && !(err instanceof ResponseError)) log.debug(err.stack);
  if (err instanceof ResponseError && err.data && typeof err.data === 'object') {
    const details = (err.data as { details?: unknown }).details;
    if (typeof details === 'string') log.error(details);
  }
  if (wire.code === 'cancelled') return;
  const actions = actionsFor(wire.code, ctx);
  const pick = await vscode.window.showErrorMessage(wire.message, ...actions.map((a) => a.title), 'Show Log');
  if (pick === 'Show Log') log.show(true);
  else await actions.find((a) => a.title === pick)?.run();
}

/** A connection with no secret yet: says so and offers the way to give it one (Sign In for OAuth, Set Token). */
export async function presentMissingSecret(connection: { name: string; authKind: 'apiToken' | 'oauth' }): Promise<void> {
  const oauth = connection.authKind === 'oauth';
  const pick = await vscode.window.showErrorMessage(
    oauth ? `Connection "${connection.name}" is not signed in.` : `No token is set for connection "${connection.name}".`,
    ...(oauth ? ['Sign In', 'Set Token'] : ['Set Token']),
  );
  if (pick === 'Sign In') await vscode.commands.executeCommand('zendesk.signIn', connection.name);
  if (pick === 'Set Token') await vscode.commands.executeCommand('zendesk.setToken', connection.name);
}
