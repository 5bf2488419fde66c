// Secrets are asked of the client when a session needs them (GetCredentials) and live only in the
// engine's Credentials for that session; an OAuth token is renewed by asking again after a 401.
import { ExportError } from '../engine/errors';
import { tokenFingerprint, type Credentials } from '../engine/zendesk';
import type { ConnectionRef, GetCredentialsParams, GetCredentialsResult } from '../protocol/customMessages';
import { ServerFailure } from './failures';

export type AskCredentials = (params: GetCredentialsParams) => Promise<GetCredentialsResult>;

export async function credentialsFor(ref: ConnectionRef, reason: 'export' | 'testConnection', ask: AskCredentials): Promise<Credentials> {
  const answer = await ask({ connection: ref, reason });
  if (answer && 'refused' in answer && typeof answer.refused === 'string') throw new ServerFailure('noCredentials', answer.refused);
  if (!answer || !('secret' in answer) || typeof answer.secret !== 'string' || !answer.secret) {
    throw new ServerFailure('noCredentials', `No token is stored for the connection "${ref.name}"; set one and try again.`);
  }
  if (ref.auth === 'oauth') {
    return {
      kind: 'oauth',
      accessToken: answer.secret,
      refresh: async (rejected) => {
        const renewed = await ask({ connection: ref, reason: 'refresh', rejected: tokenFingerprint(rejected) });
        if (renewed && 'refused' in renewed) throw new ExportError('auth', renewed.refused);
        if (!renewed?.secret) throw new ExportError('auth', `Zendesk rejected the OAuth token of "${ref.name}" and it couldn't be refreshed; sign in again.`);
        return renewed.secret;
      },
    };
  }
  if (!ref.email) throw new ServerFailure('unknownConnection', `The connection "${ref.name}" uses an API token but has no email; add the agent's email to it.`);
  return { kind: 'apiToken', email: ref.email, token: answer.secret };
}
