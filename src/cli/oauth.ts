// OAuth for the CLI. `zdx auth login --oauth --client-id ID` runs the browser sign-in (Authorization
// Code + PKCE S256) with a one-shot redirect listener on 127.0.0.1 at a fixed port (Zendesk redirects
// only to URLs registered on the OAuth client, so a random port could never match); `--client-credentials` gets a
// confidential client's token for unattended runs. Tokens (and a client secret) live only in the OS
// keychain entry of the account; every run refreshes them ahead of expiry, or after a 401, and saves
// the rotated pair before relying on it.
import { checkConnection, connectionFromUrl, type Credentials, authorizeUrl, clientCredentialsToken, createPkce, createState, DEFAULT_LOOPBACK_REDIRECT_PORT, EXPORT_SCOPES, exchangeCode, loopbackRedirectUri, missingScopeError, missingScopes, needsRefresh, OAuthTokenKeeper, readAuthorizationResponse, redirectRegistrationHint, refreshAccessToken, revokeAccessToken, type OAuthTokens, startLoopbackReceiver } from '../engine/zendesk';
import { ExportError } from '../engine/errors';
import { type AccountFlags, resolveBaseUrl } from './baseUrl';
import { EXIT_OK, UsageError } from './exitCodes';
import type { Env, IO } from './io';
import { KeychainUnavailableError, store, type StoredOAuth } from './keychain';
import { readSecret } from './secretInput';

export interface OAuthLoginFlags extends AccountFlags {
  oauth?: boolean;
  clientCredentials?: boolean;
  clientId?: string;
  /** Commander's `--no-browser` sets this to false. */
  browser?: boolean;
  /** Loopback port of the redirect; default DEFAULT_LOOPBACK_REDIRECT_PORT (0 = any free port, for servers that accept any). */
  port?: number;
  verify?: boolean;
}

export interface OAuthLoginDeps {
  /** Opens the URL in a browser; resolves false when it could not. */
  openBrowser?: (url: string) => Promise<boolean>;
  /** How long to wait for the browser's redirect; default 5 minutes (env ZDX_OAUTH_TIMEOUT_SECONDS). */
  timeoutMs?: number;
}

/** For `zdx auth login --help`: the redirect URL to register on the OAuth client. */
export const LOGIN_REDIRECT_HELP = `Browser sign-in (--oauth) receives Zendesk's redirect at ${loopbackRedirectUri(DEFAULT_LOOPBACK_REDIRECT_PORT)}:
register exactly that URL on the OAuth client (Admin Center > Apps and integrations > APIs > OAuth clients >
Redirect URLs), or register http://127.0.0.1:N/callback and pass --port N.`;

/** One sentence: the port is taken, how to pick another, and that the other URL must be registered too. */
export function portInUseMessage(port: number): string {
  return `Port ${port} on 127.0.0.1 is already in use (another sign-in or program), so the sign-in redirect ${loopbackRedirectUri(port)} can't be received; `
    + `free it, or pass --port N with another port and register http://127.0.0.1:N/callback as a redirect URL on the OAuth client.`;
}

/** `zdx auth login --oauth --client-id ID` and `zdx auth login --client-credentials`. */
export async function oauthLoginCommand(flags: OAuthLoginFlags, io: IO, stdin: NodeJS.ReadStream = process.stdin, deps: OAuthLoginDeps = {}): Promise<number> {
  if (flags.clientCredentials && flags.oauth) throw new UsageError('Pass either --oauth (browser sign-in) or --client-credentials, not both.');
  const baseUrl = resolveBaseUrl(flags, io.env);
  const clientId = (flags.clientId ?? (flags.clientCredentials ? io.env.ZENDESK_OAUTH_CLIENT_ID : undefined))?.trim();
  if (!clientId) {
    throw new UsageError(flags.clientCredentials
      ? 'Pass --client-id ID (the OAuth client\'s Unique Identifier) or set ZENDESK_OAUTH_CLIENT_ID.'
      : 'Pass --client-id ID: the Unique Identifier of an OAuth client from Admin Center > Apps and integrations > APIs > OAuth clients.');
  }
  const stored = flags.clientCredentials
    ? await clientCredentialsLogin(baseUrl, clientId, io, stdin)
    : await browserLogin(baseUrl, clientId, flags, io, deps);
  try {
    store(baseUrl, stored);
  } catch (err) {
    await revokeAccessToken(baseUrl, stored.accessToken).catch(() => undefined);
    if (err instanceof KeychainUnavailableError) {
      throw new ExportError('io', `Could not store the OAuth tokens: ${err.message}; for unattended runs set ZENDESK_OAUTH_CLIENT_ID and ZENDESK_OAUTH_CLIENT_SECRET instead.`);
    }
    throw err;
  }
  io.out(`Stored the OAuth ${stored.grant === 'client_credentials' ? 'client credentials token (and the client secret)' : 'tokens'} for ${baseUrl} in the OS keychain; they are refreshed automatically.`);
  return EXIT_OK;
}

async function browserLogin(baseUrl: string, clientId: string, flags: OAuthLoginFlags, io: IO, deps: OAuthLoginDeps): Promise<StoredOAuth> {
  const pkce = createPkce();
  const state = createState();
  const receiver = await startLoopbackReceiver(flags.port ?? DEFAULT_LOOPBACK_REDIRECT_PORT, portInUseMessage);
  try {
    const { redirectUri } = receiver;
    const url = authorizeUrl({ baseUrl, clientId, redirectUri, scopes: EXPORT_SCOPES, state, codeChallenge: pkce.challenge });
    const opened = flags.browser === false ? false : await (deps.openBrowser ?? openBrowser)(url);
    io.err(opened
      ? `Opened the Zendesk sign-in page in your browser. If it did not appear, open this URL:\n${url}`
      : `Open this URL in a browser to sign in to Zendesk:\n${url}`);
    // Zendesk shows a redirect problem in the browser only: name the URL it has to accept up front.
    io.err(`Waiting for the redirect to ${redirectUri}; ${redirectRegistrationHint(redirectUri)}.`);
    const timeoutSeconds = Number(io.env.ZDX_OAUTH_TIMEOUT_SECONDS);
    const timeoutMs = deps.timeoutMs ?? (timeoutSeconds > 0 ? timeoutSeconds * 1000 : 5 * 60_000);
    const params = await waitForRedirect(receiver.received, timeoutMs, redirectUri);
    let tokens: OAuthTokens;
    try {
      const { code } = readAuthorizationResponse(params, state, redirectUri);
      tokens = await exchangeCode({ baseUrl, clientId }, { code, redirectUri, codeVerifier: pkce.verifier });
    } catch (err) {
      receiver.answer(false, err instanceof Error ? err.message : String(err));
      throw err;
    }
    try {
      await vetTokens(baseUrl, clientId, tokens, flags.verify !== false, io);
    } catch (err) {
      receiver.answer(false, err instanceof Error ? err.message : String(err));
      throw err;
    }
    receiver.answer(true, 'You can close this tab and go back to the terminal.');
    return toStored(tokens, clientId, 'authorization_code');
  } finally {
    await receiver.close();
  }
}

/** The redirect's query, or a clear error on timeout (naming the URL to register) or Ctrl-C / SIGTERM. */
function waitForRedirect(received: Promise<URLSearchParams>, timeoutMs: number, redirectUri: string): Promise<URLSearchParams> {
  return new Promise<URLSearchParams>((resolve, reject) => {
    const onSignal = (): void => {
      cleanup();
      reject(new ExportError('cancelled', 'The sign-in was cancelled; nothing was stored.'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new ExportError('auth', `No answer from the browser within ${Math.round(timeoutMs / 1000)} s (if Zendesk reported a redirect problem, ${redirectRegistrationHint(redirectUri)}); nothing was stored, run the command again.`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void received.then((p) => {
      cleanup();
      resolve(p);
    });
  });
}

async function clientCredentialsLogin(baseUrl: string, clientId: string, io: IO, stdin: NodeJS.ReadStream): Promise<StoredOAuth> {
  let secret = io.env.ZENDESK_OAUTH_CLIENT_SECRET?.trim();
  if (!secret) {
    try {
      secret = (await readSecret(`Secret of the OAuth client "${clientId}" at ${baseUrl}: `, stdin)).trim();
    } catch {
      throw new ExportError('cancelled', 'Cancelled; nothing was stored.');
    }
  }
  if (!secret) throw new UsageError('No client secret was given: set ZENDESK_OAUTH_CLIENT_SECRET, pipe it in, or type it at the prompt.');
  const tokens = await clientCredentialsToken({ baseUrl, clientId, clientSecret: secret });
  await vetTokens(baseUrl, clientId, tokens, true, io);
  return { ...toStored(tokens, clientId, 'client_credentials'), clientSecret: secret };
}

/** Nothing is stored for a token that can't export: missing scope or not an admin → revoke it and say why. */
async function vetTokens(baseUrl: string, clientId: string, tokens: OAuthTokens, verify: boolean, io: IO): Promise<void> {
  try {
    const missing = missingScopes(tokens);
    if (missing.length) throw missingScopeError(clientId, missing);
    if (verify) {
      const { user } = await checkConnection(connectionFromUrl({ url: baseUrl, credentials: { kind: 'oauth', accessToken: tokens.accessToken } }));
      io.err(`Verified: ${user.name} <${user.email}> (${user.role}).`);
    }
  } catch (err) {
    await revokeAccessToken(baseUrl, tokens.accessToken).catch(() => undefined);
    throw err;
  }
}

function toStored(t: OAuthTokens, clientId: string, grant: StoredOAuth['grant']): StoredOAuth {
  return {
    kind: 'oauth', grant, clientId, accessToken: t.accessToken, scopes: t.scopes, obtainedAt: t.obtainedAt,
    ...(t.refreshToken ? { refreshToken: t.refreshToken } : {}),
    ...(t.expiresAt !== undefined ? { expiresAt: t.expiresAt } : {}),
    ...(t.refreshExpiresAt !== undefined ? { refreshExpiresAt: t.refreshExpiresAt } : {}),
  };
}

function fromStored(s: StoredOAuth): OAuthTokens {
  return {
    accessToken: s.accessToken, tokenType: 'bearer', scopes: s.scopes ?? [], obtainedAt: s.obtainedAt ?? 0,
    ...(s.refreshToken ? { refreshToken: s.refreshToken } : {}),
    ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
    ...(s.refreshExpiresAt !== undefined ? { refreshExpiresAt: s.refreshExpiresAt } : {}),
  };
}

// ------------------------------------------------------------------ credentials for runs

const keepers = new WeakMap<Credentials, { keeper: OAuthTokenKeeper; clientId: string }>();

/**
 * Engine credentials for a keychain OAuth entry: refreshed ahead of expiry and after a 401, with
 * each rotated pair written back to the keychain. A pasted access token (no refresh token, no
 * client secret) is used as it is.
 */
export function storedOAuthCredentials(baseUrl: string, s: StoredOAuth, env: Env, warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Credentials {
  const clientId = s.clientId ?? '';
  const secret = env.ZENDESK_OAUTH_CLIENT_SECRET?.trim() || s.clientSecret;
  const canRenew = Boolean(clientId && (s.grant === 'client_credentials' ? secret : s.refreshToken));
  if (!canRenew) return { kind: 'oauth', accessToken: s.accessToken };
  let saved: StoredOAuth = s;
  const keeper = new OAuthTokenKeeper({
    tokens: fromStored(s),
    renew: async (current) => {
      if (s.grant === 'client_credentials') return clientCredentialsToken({ baseUrl, clientId, clientSecret: secret });
      if (current.refreshExpiresAt !== undefined && Date.now() >= current.refreshExpiresAt) {
        throw new ExportError('auth', `The OAuth sign-in for ${baseUrl} has expired; run \`zdx auth login --oauth --client-id ${clientId}\` again.`);
      }
      return refreshAccessToken({ baseUrl, clientId }, current.refreshToken ?? '');
    },
    persist: (t) => {
      saved = { ...saved, ...toStored(t, clientId, saved.grant) };
      try {
        store(baseUrl, saved);
      } catch (err) {
        // The run can go on with the new pair; only the next run would need a new sign-in.
        warn(`zdx: warning: could not save the refreshed OAuth token in the OS keychain (${err instanceof Error ? err.message : String(err)}); the next run may need \`zdx auth login\` again.`);
      }
    },
  });
  const credentials = keeper.credentials();
  keepers.set(credentials, { keeper, clientId });
  return credentials;
}

/**
 * Unattended runs without a keychain: ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_CLIENT_SECRET get a
 * client credentials token per run (nothing stored).
 */
export function envClientCredentials(baseUrl: string, clientId: string, clientSecret: string): Credentials {
  const keeper = new OAuthTokenKeeper({
    // An already expired placeholder: the first use fetches the token.
    tokens: { accessToken: '', tokenType: 'bearer', scopes: [], obtainedAt: 0, expiresAt: 0 },
    renew: () => clientCredentialsToken({ baseUrl, clientId, clientSecret }),
  });
  const credentials = keeper.credentials();
  keepers.set(credentials, { keeper, clientId });
  return credentials;
}

/**
 * Before the first request of a run: refresh when the stored token expired or is about to, so
 * the run does not start with a request that is bound to fail.
 */
export async function prepareCredentials(credentials: Credentials): Promise<void> {
  const managed = keepers.get(credentials);
  if (!managed) return;
  await managed.keeper.accessToken();
  const missing = missingScopes(managed.keeper.current());
  if (missing.length) throw missingScopeError(managed.clientId, missing);
}

/** `zdx auth logout` of an OAuth entry: revoke at Zendesk first (best effort), so the token dies with the entry. */
export async function revokeStored(baseUrl: string, s: StoredOAuth, io: IO): Promise<void> {
  try {
    // Revocation goes through the access token (and takes its refresh token along); an expired one
    // can't, so renew first rather than leave a live refresh token behind.
    let accessToken = s.accessToken;
    if (s.refreshToken && s.clientId && needsRefresh(fromStored(s), Date.now())) {
      try {
        accessToken = (await refreshAccessToken({ baseUrl, clientId: s.clientId }, s.refreshToken)).accessToken;
      } catch (err) {
        if (!(err instanceof ExportError && err.code === 'auth')) throw err;
        io.err(`The OAuth sign-in at ${baseUrl} had already expired or been revoked.`);
        return;
      }
    }
    await revokeAccessToken(baseUrl, accessToken);
    io.err(`Revoked the OAuth token at ${baseUrl}.`);
  } catch (err) {
    io.err(`zdx: warning: could not revoke the OAuth token at ${baseUrl} (${err instanceof Error ? err.message.replace(/\.$/, '') : String(err)}); it is removed locally anyway.`);
  }
}

// ------------------------------------------------------------------ the browser

/** xdg-open / open / start; false when there is no browser to open (e.g. SSH without a display). */
export function openBrowser(url: string): Promise<boolean> {
  const platform = process.platform;
  if (platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return Promise.resolve(false);
  const [cmd, args] = platform === 'darwin' ? ['open', [url]]
    : platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
      : ['xdg-open', [url]];
  // child_process is loaded only here: every other zdx run would pay for it at start-up.
  return import('node:child_process').then(({ spawn }) => new Promise((resolve) => {
    try {
      const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  }));
}
