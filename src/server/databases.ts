// PostgreSQL connections of table outputs: a query names a connection (a name from the editor's
// settings, or a URL without a password); the server asks the client what it stands for
// (GetDatabaseConnection: the URL, and the password from the client's secret storage) when it
// connects, and keeps the answer in memory only.
import { isPostgresUrl, postgresUrlProblem } from '../engine/query';
import type { PostgresConnection, PostgresResolver } from '../engine/tables';
import type { GetDatabaseConnectionParams, GetDatabaseConnectionResult } from '../protocol/customMessages';
import { ServerFailure } from './failures';

export type AskDatabase = (params: GetDatabaseConnectionParams) => Promise<GetDatabaseConnectionResult>;

/** The engine's PostgresResolver, answered by the client; its answer is checked as untrusted input. */
export function databaseResolver(ask: AskDatabase, reason: GetDatabaseConnectionParams['reason']): PostgresResolver {
  return async (connection) => {
    let answer: unknown;
    try {
      answer = await ask({ connection, reason });
    } catch (err) {
      throw new ServerFailure('database', `The editor could not say how to reach the database connection "${connection}" (${err instanceof Error ? err.message : String(err)}).`);
    }
    return connectionOf(connection, answer);
  };
}

function connectionOf(connection: string, answer: unknown): PostgresConnection {
  if (answer && typeof answer === 'object' && 'refused' in answer && typeof answer.refused === 'string') throw new ServerFailure('database', answer.refused);
  const a = answer as { url?: unknown; password?: unknown } | null;
  if (!a || typeof a.url !== 'string' || !isPostgresUrl(a.url)) {
    throw new ServerFailure('database', isPostgresUrl(connection)
      ? `The editor gave no password for ${connection}; connect without one by setting PGPASSWORD or ~/.pgpass for the engine.`
      : `The database connection "${connection}" is not known here; define it in the setting zendesk.databases.`);
  }
  const problem = postgresUrlProblem(a.url);
  if (problem) throw new ServerFailure('database', `The URL of the database connection "${connection}" ${problem}.`);
  if (a.password !== undefined && typeof a.password !== 'string') throw new ServerFailure('database', `The editor answered with a malformed password for "${connection}".`);
  return a.password ? { url: a.url, password: a.password } : { url: a.url };
}
