// "Test connection": one cheap authenticated call that tells a person whether exports will work
// before they start one (wrong token → auth, non-admin → forbidden).
import { ExportError } from '../errors';
import { rejectedCredentialsMessage } from './auth';
import { ZendeskClient } from './client';
import type { Connection } from './model';
import { textOf } from '../text';

export interface ConnectionCheckResult {
  user: { id: number; name: string; email: string; role: string };
}

export async function checkConnection(connection: Connection, signal?: AbortSignal): Promise<ConnectionCheckResult> {
  const client = new ZendeskClient({ connection, signal, retry: { maxRetries: 2, baseDelayMs: 500 }, requestTimeoutMs: 30_000 });
  const outcome = await client.request({ path: '/api/v2/users/me', query: {}, family: null });
  const user = outcome.kind === 'ok' ? (outcome.body.user as Record<string, unknown> | undefined) : undefined;
  if (!user || typeof user !== 'object') {
    throw new ExportError('server', `${client.host} answered /api/v2/users/me without a user; check that the URL points at a Zendesk account.`);
  }
  const result = {
    id: typeof user.id === 'number' ? user.id : Number(user.id),
    name: textOf(user.name ?? ''),
    email: textOf(user.email ?? ''),
    role: textOf(user.role ?? ''),
  };
  // An anonymous answer (id null) means the credentials were not accepted.
  if (user.id === null || user.id === undefined) {
    throw new ExportError('auth', rejectedCredentialsMessage(connection.credentials, client.host));
  }
  if (result.role !== 'admin') {
    throw new ExportError('forbidden', `${result.email || 'This user'} is signed in to ${client.host} as ${result.role || 'a non-admin'}; incremental exports need an admin account.`);
  }
  return { user: result };
}
