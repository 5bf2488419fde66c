// `zdx auth login|logout|status`: the OS keychain side of credentials. The token is read from
// stdin (hidden prompt on a terminal), checked against the account, then stored; it is never
// echoed, logged or accepted as an argument.
import { checkConnection, connectionFromUrl, type Credentials, API_TOKEN_RETIREMENT_DATE } from '../engine/zendesk';
import { ExportError } from '../engine/errors';
import { describeSource, resolveCredentials } from './account';
import { resolveBaseUrl, type AccountFlags } from './baseUrl';
import type { IO } from './io';
import { EXIT_CODES, EXIT_OK, UsageError } from './exitCodes';
import { KeychainUnavailableError, readStored, remove, store, type StoredCredentials } from './keychain';
import { oauthLoginCommand, prepareCredentials, revokeStored, type OAuthLoginFlags } from './oauth';
import { readSecret } from './secretInput';

function keychainError(action: string, err: unknown): never {
  if (err instanceof KeychainUnavailableError) {
    throw new ExportError('io', `Could not ${action}: ${err.message}; use the ZENDESK_EMAIL and ZENDESK_API_TOKEN environment variables instead.`);
  }
  throw err;
}

export async function loginCommand(flags: AccountFlags & OAuthLoginFlags & { email?: string; oauth?: boolean; verify?: boolean }, io: IO, stdin: NodeJS.ReadStream = process.stdin): Promise<number> {
  // OAuth sign-in (browser + PKCE, or client credentials): src/cli/oauth.ts
  if (!flags.email && (flags.clientCredentials || (flags.oauth && flags.clientId))) return oauthLoginCommand(flags, io, stdin);
  if (flags.email && flags.oauth) throw new UsageError('Pass either --email (API token) or --oauth (OAuth access token), not both.');
  if (!flags.email && !flags.oauth) throw new UsageError('Pass --email EMAIL to store an API token, or --oauth to store an OAuth access token.');
  const baseUrl = resolveBaseUrl(flags, io.env);
  const what = flags.email ? `API token for ${flags.email} at ${baseUrl}` : `OAuth access token for ${baseUrl}`;
  let secret: string;
  try {
    secret = await readSecret(`${what}: `, stdin);
  } catch {
    throw new ExportError('cancelled', 'Cancelled; nothing was stored.');
  }
  if (!secret) throw new UsageError(`No token was given on stdin; pipe it in or type it at the prompt.`);
  const stored: StoredCredentials = flags.email
    ? { kind: 'apiToken', email: flags.email, token: secret }
    : { kind: 'oauth', accessToken: secret };
  if (flags.verify !== false) {
    const credentials: Credentials = stored.kind === 'apiToken'
      ? { kind: 'apiToken', email: stored.email, token: stored.token }
      : { kind: 'oauth', accessToken: stored.accessToken };
    const { user } = await checkConnection(connectionFromUrl({ url: baseUrl, credentials }));
    io.err(`Verified: ${user.name} <${user.email}> (${user.role}).`);
  }
  try {
    store(baseUrl, stored);
  } catch (err) {
    keychainError('store the token', err);
  }
  io.out(`Stored the ${what} in the OS keychain.`);
  // After success, and without the "zdx: " prefix: that prefix marks the one sentence of a failure.
  if (flags.email) io.err(`Note: Zendesk API tokens stop working on ${API_TOKEN_RETIREMENT_DATE}; OAuth sign-in: zdx auth login --oauth --client-id ID.`);
  return EXIT_OK;
}

export async function logoutCommand(flags: AccountFlags, io: IO): Promise<number> {
  const baseUrl = resolveBaseUrl(flags, io.env);
  let removed = false;
  try {
    const stored = readStored(baseUrl);
    if (stored?.kind === 'oauth' && stored.grant) await revokeStored(baseUrl, stored, io);
    removed = remove(baseUrl);
  } catch (err) {
    keychainError('remove the token', err);
  }
  io.out(removed ? `Removed the stored token for ${baseUrl} from the OS keychain.` : `No token was stored for ${baseUrl}.`);
  return EXIT_OK;
}

export async function statusCommand(flags: AccountFlags & { verify?: boolean; json?: boolean }, io: IO): Promise<number> {
  const baseUrl = resolveBaseUrl(flags, io.env);
  const { credentials, source } = resolveCredentials(baseUrl, io.env);
  let keychain: string;
  try {
    const s = readStored(baseUrl);
    keychain = s ? (s.kind === 'apiToken' ? `holds an API token for ${s.email}` : s.grant ? `holds an OAuth ${s.grant === 'client_credentials' ? 'client credentials token' : 'sign-in'} of client "${s.clientId}" (refreshed automatically)` : 'holds an OAuth access token') : 'no entry for this account';
  } catch (err) {
    keychain = err instanceof KeychainUnavailableError ? err.message : String(err);
  }
  let verified: string | undefined;
  if (credentials && flags.verify) {
    await prepareCredentials(credentials);
    const { user } = await checkConnection(connectionFromUrl({ url: baseUrl, credentials }));
    verified = `${user.name} <${user.email}> (${user.role})`;
  }
  if (flags.json) {
    io.out(JSON.stringify({ account: baseUrl, source: source.kind, description: describeSource(source), keychain, verified: verified ?? null }));
  } else {
    io.out([
      `Account:     ${baseUrl}`,
      `Credentials: ${source.kind === 'none' ? 'none' : describeSource(source)}`,
      `Keychain:    ${keychain}`,
      ...(verified ? [`Verified:    ${verified}`] : []),
    ].join('\n'));
  }
  if (!credentials) {
    io.err(`zdx: No credentials for ${baseUrl}: set ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN), or run \`zdx auth login\`.`);
    return EXIT_CODES.auth;
  }
  return EXIT_OK;
}
