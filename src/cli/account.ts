// Which Zendesk account and which credentials a command uses. The account comes from flags, then
// from ZENDESK_URL / ZENDESK_SUBDOMAIN; a saved query's `connection` is only a name (the editor maps
// it to its settings), so the CLI never guesses a host from it. Credentials come from the
// environment, then from the OS keychain, and never from argv.
import { connectionFromUrl, type Connection, type Credentials } from '../engine/zendesk';
import { ExportError } from '../engine/errors';
import { KeychainUnavailableError, readStored, toCredentials } from './keychain';
import { UsageError } from './exitCodes';
import { envClientCredentials, storedOAuthCredentials } from './oauth';
import { nonEmpty, type Env } from './io';
import { resolveBaseUrl, type AccountFlags } from './baseUrl';

export type CredentialSource =
  | { kind: 'envOauth' }
  | { kind: 'envToken'; email: string }
  | { kind: 'envClientCredentials'; clientId: string }
  | { kind: 'keychain'; credentialKind: 'apiToken' | 'oauth'; email?: string }
  | { kind: 'none'; keychainProblem?: string };

export const ACCOUNT_HELP = `Account: --url BASE_URL or --subdomain NAME, else env ZENDESK_URL or ZENDESK_SUBDOMAIN.
  (A saved query's "connection" is a name for the editor; the CLI takes the account from these.)
Credentials, first found wins (never pass a token as an argument):
  1. env ZENDESK_OAUTH_TOKEN                 OAuth access token (Bearer)
  2. env ZENDESK_EMAIL + ZENDESK_API_TOKEN   API token (Basic email/token; API tokens stop working on 2027-04-30)
  3. env ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_CLIENT_SECRET   OAuth client credentials (unattended runs)
  4. the OS keychain entry for the account   stored by \`zdx auth login\` (OAuth tokens are refreshed automatically)`;

export function resolveCredentials(baseUrl: string, env: Env): { credentials: Credentials | null; source: CredentialSource } {
  const oauth = nonEmpty(env.ZENDESK_OAUTH_TOKEN);
  if (oauth) return { credentials: { kind: 'oauth', accessToken: oauth }, source: { kind: 'envOauth' } };
  const email = nonEmpty(env.ZENDESK_EMAIL);
  const token = nonEmpty(env.ZENDESK_API_TOKEN);
  if (email && token) return { credentials: { kind: 'apiToken', email, token }, source: { kind: 'envToken', email } };
  if (email || token) {
    throw new UsageError(`${email ? 'ZENDESK_EMAIL' : 'ZENDESK_API_TOKEN'} is set but ${email ? 'ZENDESK_API_TOKEN' : 'ZENDESK_EMAIL'} is not; set both, or neither to use the keychain.`);
  }
  const clientId = nonEmpty(env.ZENDESK_OAUTH_CLIENT_ID);
  const clientSecret = nonEmpty(env.ZENDESK_OAUTH_CLIENT_SECRET);
  if (clientId && clientSecret) {
    return { credentials: envClientCredentials(baseUrl, clientId, clientSecret), source: { kind: 'envClientCredentials', clientId } };
  }
  try {
    const stored = readStored(baseUrl);
    if (stored) {
      return {
        // OAuth entries refresh themselves (src/cli/oauth.ts).
        credentials: stored.kind === 'oauth' ? storedOAuthCredentials(baseUrl, stored, env) : toCredentials(stored),
        source: { kind: 'keychain', credentialKind: stored.kind, email: stored.kind === 'apiToken' ? stored.email : undefined },
      };
    }
    return { credentials: null, source: { kind: 'none' } };
  } catch (err) {
    if (err instanceof KeychainUnavailableError) return { credentials: null, source: { kind: 'none', keychainProblem: err.message } };
    throw err;
  }
}

export function describeSource(s: CredentialSource): string {
  switch (s.kind) {
    case 'envOauth': return 'environment variable ZENDESK_OAUTH_TOKEN (OAuth access token)';
    case 'envToken': return `environment variables ZENDESK_EMAIL + ZENDESK_API_TOKEN (API token for ${s.email})`;
    case 'envClientCredentials': return `environment variables ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_CLIENT_SECRET (OAuth client credentials of "${s.clientId}")`;
    case 'keychain': return s.credentialKind === 'apiToken'
      ? `OS keychain (API token for ${s.email})`
      : 'OS keychain (OAuth access token)';
    case 'none': return s.keychainProblem ? `none (${s.keychainProblem})` : 'none';
  }
}

/** The connection for an export: account + credentials, or a clear auth error. */
export function resolveConnection(flags: AccountFlags, env: Env): { connection: Connection; source: CredentialSource } {
  const baseUrl = resolveBaseUrl(flags, env);
  const { credentials, source } = resolveCredentials(baseUrl, env);
  if (!credentials) {
    const why = source.kind === 'none' && source.keychainProblem ? `, and ${source.keychainProblem}` : '';
    throw new ExportError('auth', `No credentials for ${baseUrl}: set ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN), or store a token with \`zdx auth login\`${why}.`);
  }
  return { connection: connectionFromUrl({ url: baseUrl, credentials }), source };
}
