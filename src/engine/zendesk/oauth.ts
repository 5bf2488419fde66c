// Zendesk OAuth, without any UI or storage: PKCE (S256), state, the authorization URL, and the
// token endpoint's grants (authorization_code, refresh_token, client_credentials) plus revocation.
// API tokens stop working on 2027-04-30, so this is how every new user signs in. Requests go only
// to the account's own origin (HTTPS, or plain HTTP on loopback for the simulator), and no token
// ever reaches an error message.
import { createHash, randomBytes } from 'node:crypto';
import { ExportError } from '../errors';
import { validateBaseUrl } from './connectionUrl';
import type { Credentials } from './model';

/** Incremental exports need the `read` scope (Zendesk: "Missing the following required scopes: read"). */
export const EXPORT_SCOPES: readonly string[] = ['read'];

/** Zendesk retires API tokens on this day; the UIs name it when API-token auth is used. */
export const API_TOKEN_RETIREMENT_DATE = '2027-04-30';

/**
 * The loopback redirect's fixed port (CLI and desktop VS Code). Zendesk only redirects to URLs
 * registered on the OAuth client (absolute; https unless localhost or 127.0.0.1), so a random port
 * could never match: a fixed one makes `http://127.0.0.1:47615/callback` registrable once.
 */
export const DEFAULT_LOOPBACK_REDIRECT_PORT = 47615;
export const LOOPBACK_CALLBACK_PATH = '/callback';

/** `http://127.0.0.1:PORT/callback`: 127.0.0.1 rather than localhost, which may resolve to ::1 where nothing listens. */
export function loopbackRedirectUri(port: number = DEFAULT_LOOPBACK_REDIRECT_PORT): string {
  return `http://127.0.0.1:${port}${LOOPBACK_CALLBACK_PATH}`;
}

/** The sentence that tells a person which redirect URL the OAuth client must list. */
export function redirectRegistrationHint(redirectUri: string): string {
  return `the OAuth client in Admin Center must list ${redirectUri} among its redirect URLs`;
}

export interface OAuthClient {
  /** Base URL of the Zendesk account (https://acme.zendesk.com); only its origin is used. */
  baseUrl: string;
  /** The OAuth client's "Unique Identifier" in Admin Center (not its numeric id). */
  clientId: string;
  /** Only confidential clients have one; public clients rely on PKCE alone. */
  clientSecret?: string;
}

/** What a grant returns, with lifetimes turned into absolute times (epoch ms). */
export interface OAuthTokens {
  accessToken: string;
  tokenType: string;
  /** Scopes Zendesk actually granted (may differ from those asked for). */
  scopes: string[];
  refreshToken?: string;
  /** When the access token stops working; absent = Zendesk gave no lifetime. */
  expiresAt?: number;
  refreshExpiresAt?: number;
  obtainedAt: number;
}

export interface OAuthRequestOptions {
  signal?: AbortSignal;
  /** Epoch ms; tests pin it. */
  now?: () => number;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

// ------------------------------------------------------------------ PKCE and state

function base64url(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** RFC 7636 S256: BASE64URL(SHA256(ascii(verifier))). */
export function pkceChallenge(verifier: string): string {
  return base64url(createHash('sha256').update(verifier, 'ascii').digest());
}

/** A fresh verifier (43 chars of the unreserved alphabet, 256 bits) and its S256 challenge. */
export function createPkce(): { verifier: string; challenge: string; method: 'S256' } {
  const verifier = base64url(randomBytes(32));
  return { verifier, challenge: pkceChallenge(verifier), method: 'S256' };
}

/** An unguessable `state`, tying the redirect to the sign-in that started it (CSRF protection). */
export function createState(): string {
  return base64url(randomBytes(24));
}

// ------------------------------------------------------------------ authorization

export interface AuthorizeUrlOptions {
  baseUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
  state: string;
  codeChallenge: string;
}

/** `https://<sub>.zendesk.com/oauth/authorizations/new?response_type=code&…&code_challenge_method=S256`. */
export function authorizeUrl(o: AuthorizeUrlOptions): string {
  const url = new URL('/oauth/authorizations/new', originOf(o.baseUrl));
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scopes.join(' '),
    state: o.state,
    code_challenge: o.codeChallenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/**
 * The authorization result carried by the redirect: the code when `state` matches, else a clear
 * error (a mismatched state means the redirect did not come from this sign-in and is ignored).
 */
export function readAuthorizationResponse(params: URLSearchParams, expectedState: string, redirectUri?: string): { code: string } {
  const state = params.get('state');
  if (state !== expectedState) {
    throw new ExportError('auth', 'The sign-in answer did not carry the state this sign-in sent, so it was rejected; start the sign-in again.');
  }
  const error = params.get('error');
  if (error) {
    if (error === 'access_denied') throw new ExportError('auth', 'Access was denied on the Zendesk authorization page; nothing was stored.');
    throw new ExportError('auth', redirectUri
      ? `Zendesk refused the authorization (${safeCode(error)}); ${redirectRegistrationHint(redirectUri)} and allow the "read" scope.`
      : `Zendesk refused the authorization (${safeCode(error)}); check the OAuth client's redirect URLs and scopes.`);
  }
  const code = params.get('code');
  if (!code) throw new ExportError('auth', 'The sign-in answer carried no authorization code; start the sign-in again.');
  return { code };
}

// ------------------------------------------------------------------ token endpoint

export async function exchangeCode(
  client: OAuthClient,
  grant: { code: string; redirectUri: string; codeVerifier: string; scopes?: readonly string[] },
  opts: OAuthRequestOptions = {},
): Promise<OAuthTokens> {
  return tokenRequest(client, {
    grant_type: 'authorization_code',
    code: grant.code,
    client_id: client.clientId,
    ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
    redirect_uri: grant.redirectUri,
    code_verifier: grant.codeVerifier,
    ...(grant.scopes?.length ? { scope: grant.scopes.join(' ') } : {}),
  }, 'code', opts);
}

/** Zendesk rotates refresh tokens: the answer holds a new pair and the old pair stops working. */
export async function refreshAccessToken(client: OAuthClient, refreshToken: string, opts: OAuthRequestOptions = {}): Promise<OAuthTokens> {
  return tokenRequest(client, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.clientId,
    ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
  }, 'refresh', opts);
}

/** Unattended runs: a confidential client's own token (no person, no browser). */
export async function clientCredentialsToken(client: OAuthClient, scopes: readonly string[] = EXPORT_SCOPES, opts: OAuthRequestOptions = {}): Promise<OAuthTokens> {
  if (!client.clientSecret) {
    throw new ExportError('auth', `The client credentials grant needs the secret of the confidential OAuth client "${client.clientId}".`);
  }
  return tokenRequest(client, {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    scope: scopes.join(' '),
  }, 'clientCredentials', opts);
}

/**
 * Revokes the given access token (`DELETE /api/v2/oauth/tokens/current.json`); Zendesk drops
 * its refresh token with it. An already invalid token counts as revoked.
 */
export async function revokeAccessToken(baseUrl: string, accessToken: string, opts: OAuthRequestOptions = {}): Promise<void> {
  const origin = originOf(baseUrl);
  const res = await send(`${origin}/api/v2/oauth/tokens/current.json`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
  }, origin, opts);
  await res.text().catch(() => '');
  if (res.ok || res.status === 401) return;
  throw statusError(res.status, new URL(origin).host, 'revoke the OAuth token');
}

// ------------------------------------------------------------------ expiry

/**
 * Whether to refresh now: within the margin before expiry (a fifth of the lifetime, at most
 * 60 s), so a request never leaves with a token that dies on the way.
 */
export function needsRefresh(tokens: Pick<OAuthTokens, 'expiresAt' | 'obtainedAt'>, nowMs: number): boolean {
  if (tokens.expiresAt === undefined) return false;
  const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
  const margin = Math.min(60_000, lifetime / 5);
  return nowMs >= tokens.expiresAt - margin;
}

export function missingScopes(tokens: Pick<OAuthTokens, 'scopes'>, required: readonly string[] = EXPORT_SCOPES): string[] {
  return required.filter((s) => !tokens.scopes.includes(s));
}

/** The ExportError for a token that lacks scopes the export needs (thrown before anything is stored). */
export function missingScopeError(clientId: string, missing: string[]): ExportError {
  return new ExportError('forbidden', `The OAuth client "${clientId}" was granted no "${missing.join(' ')}" scope, which exports need; add it to the client in Admin Center and sign in again.`);
}

/**
 * A short, non-secret name for a token (the first 16 hex digits of its SHA-256): enough to tell
 * which token a 401 was for across a process boundary without sending the token back.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Keeps one OAuth token pair current for a process: refreshes ahead of expiry, shares one refresh
 * between concurrent callers, and hands each new pair to `persist` (rotation makes the old refresh
 * token useless, so the new one must be saved before it is relied on). After a 401 it renews only
 * when the rejected token is still the current one, so a refresh token is never spent twice.
 */
export class OAuthTokenKeeper {
  private tokens: OAuthTokens;
  private inflight: Promise<OAuthTokens> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly opts: {
      tokens: OAuthTokens;
      /** Gets a new pair: refresh_token grant, or client_credentials again. */
      renew: (current: OAuthTokens) => Promise<OAuthTokens>;
      persist?: (tokens: OAuthTokens) => Promise<void> | void;
      now?: () => number;
    },
  ) {
    this.tokens = opts.tokens;
    this.now = opts.now ?? Date.now;
  }

  current(): OAuthTokens {
    return this.tokens;
  }

  /** A token that is good for at least the refresh margin (refreshing first if needed). */
  async accessToken(): Promise<string> {
    if (needsRefresh(this.tokens, this.now())) await this.renew();
    return this.tokens.accessToken;
  }

  /**
   * After a 401 for `rejected`: when the pair was renewed since that token was handed out (or is
   * being renewed now), the newer token; otherwise the token is dead, so renew now.
   */
  async renewAfterRejection(rejected: string): Promise<string> {
    if (this.inflight) await this.inflight;
    if (this.tokens.accessToken !== rejected) return this.tokens.accessToken;
    return (await this.renew()).accessToken;
  }

  renew(): Promise<OAuthTokens> {
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const next = await this.opts.renew(this.tokens);
          await this.opts.persist?.(next);
          this.tokens = next;
          return next;
        } finally {
          this.inflight = null;
        }
      })();
    }
    return this.inflight;
  }

  /**
   * Engine credentials whose token is read on every request (so a proactive refresh is picked up)
   * and whose `refresh` the engine calls after a 401 with the token that was refused.
   */
  credentials(): Credentials {
    const current = (): string => {
      // Start a refresh in the background when close to expiry; this request still goes with a valid token.
      if (needsRefresh(this.tokens, this.now()) && !this.inflight) void this.renew().catch(() => undefined);
      return this.tokens.accessToken;
    };
    return {
      kind: 'oauth',
      get accessToken(): string {
        return current();
      },
      refresh: (rejected) => this.renewAfterRejection(rejected),
    };
  }
}

// ------------------------------------------------------------------ internals

function originOf(baseUrl: string): string {
  return validateBaseUrl(baseUrl);
}

/** Error codes are echoed from the server; keep them to a harmless word. */
function safeCode(code: string): string {
  return code.replace(/[^a-z0-9_.-]/gi, '').slice(0, 60) || 'unknown error';
}

type GrantKind = 'code' | 'refresh' | 'clientCredentials';

async function tokenRequest(client: OAuthClient, body: Record<string, string>, kind: GrantKind, opts: OAuthRequestOptions): Promise<OAuthTokens> {
  if (!client.clientId.trim()) throw new ExportError('auth', 'No OAuth client id was given; use the Unique Identifier of the OAuth client from Admin Center.');
  const origin = originOf(client.baseUrl);
  const host = new URL(origin).host;
  const now = opts.now ?? Date.now;
  const res = await send(`${origin}/oauth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  }, origin, opts);
  const text = await res.text().catch(() => '');
  let json: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    json = null;
  }
  if (!res.ok) throw grantError(res.status, json, host, kind, client.clientId);
  if (!json || typeof json.access_token !== 'string' || json.access_token === '') {
    throw new ExportError('server', `${host} answered the OAuth token request without an access token; check that the URL points at a Zendesk account.`);
  }
  const obtainedAt = now();
  const seconds = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const expiresIn = seconds(json.expires_in);
  const refreshExpiresIn = seconds(json.refresh_token_expires_in);
  return {
    accessToken: json.access_token,
    tokenType: typeof json.token_type === 'string' ? json.token_type : 'bearer',
    scopes: typeof json.scope === 'string' ? json.scope.split(/[\s,]+/).filter(Boolean) : [],
    ...(typeof json.refresh_token === 'string' && json.refresh_token ? { refreshToken: json.refresh_token } : {}),
    ...(expiresIn !== undefined ? { expiresAt: obtainedAt + expiresIn * 1000 } : {}),
    ...(refreshExpiresIn !== undefined ? { refreshExpiresAt: obtainedAt + refreshExpiresIn * 1000 } : {}),
    obtainedAt,
  };
}

function grantError(status: number, body: Record<string, unknown> | null, host: string, kind: GrantKind, clientId: string): ExportError {
  const code = typeof body?.error === 'string' ? body.error : '';
  const details = code ? safeCode(code) : `HTTP ${status}`;
  if (code === 'invalid_grant') {
    const message = kind === 'code'
      ? `${host} refused the authorization code: it expired, was already used, or the PKCE verifier does not match; sign in again.`
      : kind === 'refresh'
        ? `${host} refused the refresh token: it expired or was revoked; sign in again.`
        : `${host} refused the client credentials grant for "${clientId}"; check that the client is confidential and allowed to use it.`;
    return new ExportError('auth', message, details);
  }
  if (code === 'invalid_client' || status === 401) {
    return new ExportError('auth', `${host} did not accept the OAuth client "${clientId}": check its Unique Identifier${kind === 'clientCredentials' ? ' and secret' : ''}.`, details);
  }
  if (code === 'invalid_scope') return new ExportError('forbidden', `${host} refused the requested scopes for the OAuth client "${clientId}"; allow the "read" scope on the client.`, details);
  if (code === 'unauthorized_client' || code === 'unsupported_grant_type') {
    return new ExportError('auth', `${host} does not let the OAuth client "${clientId}" use this grant type; check the client kind (public or confidential) in Admin Center.`, details);
  }
  return new ExportError(status >= 500 ? 'server' : status === 403 ? 'forbidden' : status === 404 ? 'notFound' : 'badRequest',
    `${host} refused the OAuth token request (${details}).`, details);
}

function statusError(status: number, host: string, action: string): ExportError {
  const code = status === 403 ? 'forbidden' : status === 404 ? 'notFound' : status >= 500 ? 'server' : 'badRequest';
  return new ExportError(code, `Could not ${action} at ${host} (HTTP ${status}).`);
}

async function send(url: string, init: RequestInit, origin: string, opts: OAuthRequestOptions): Promise<Response> {
  // Defence in depth: the token endpoint is always on the account's origin; never follow a redirect away from it.
  if (new URL(url).origin !== origin) throw new ExportError('foreignOrigin', `Refused to send OAuth credentials to ${new URL(url).host}.`);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal });
  } catch (err) {
    if (opts.signal?.aborted) throw new ExportError('cancelled', 'The sign-in was cancelled.');
    const host = new URL(origin).host;
    if (timeout.aborted) throw new ExportError('network', `${host} did not answer the OAuth request within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s.`);
    const why = err instanceof Error ? ((err.cause as { code?: string } | undefined)?.code ?? err.message) : String(err);
    throw new ExportError('network', `Could not reach ${host} for the OAuth request (${safeCode(String(why))}).`);
  }
}
