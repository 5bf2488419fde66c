// The simulator's OAuth server, shaped like Zendesk's: the authorization page
// (GET /oauth/authorizations/new), the token endpoint (POST /oauth/tokens: authorization_code with
// PKCE S256, rotating refresh_token, client_credentials) and revocation
// (DELETE /api/v2/oauth/tokens/current). Access tokens it issues expire; expired or revoked ones
// get a 401, and a token without the `read` scope gets a 403 on incremental paths. A refresh
// deletes the previous access and refresh tokens (Zendesk's announcement of the refresh grant,
// support.zendesk.com 9182123625370); presenting a rotated refresh token again is refused with
// invalid_grant, counted (stats().refreshTokenReuses), and revokes the pair it was rotated into:
// the strict reading of RFC 9700 §4.14.2, so a client that spends a refresh token twice fails
// visibly here rather than only sometimes at Zendesk.
import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';

export interface SimulatorOAuthClient {
  /** The client's "Unique Identifier". */
  id: string;
  /** Confidential clients have one (and may use client_credentials); public clients don't. */
  secret?: string;
  /** Scopes the client may be granted, e.g. ['read'] or ['read', 'write']. */
  scopes: string[];
  /** When given, redirect_uri must be one of these (a loopback one matches on any port). */
  redirectUris?: string[];
}

export interface SimulatorOAuthOptions {
  /** Access token lifetime; default 1800 (Zendesk's 30 min). */
  accessTokenTtlSeconds?: number;
  /** Refresh token lifetime; default 30 days. */
  refreshTokenTtlSeconds?: number;
  /** Authorization code lifetime; default 120 s (as Zendesk). */
  codeTtlSeconds?: number;
  /** Added to the default public client `zdx-demo` (scopes ['read']), which a client with that id replaces. */
  clients?: SimulatorOAuthClient[];
  /** Clock for expiry (ms); default Date.now (real time, independent of the data clock). */
  now?: () => number;
}

export const DEFAULT_OAUTH_CLIENT: SimulatorOAuthClient = { id: 'zdx-demo', scopes: ['read'] };

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  challenge: string | null;
  expiresAt: number;
}

interface IssuedToken {
  clientId: string;
  scopes: string[];
  expiresAt: number;
  refreshToken: string | null;
  revoked: boolean;
}

interface RefreshGrant {
  clientId: string;
  scopes: string[];
  expiresAt: number;
  accessToken: string;
  /** The sign-in this pair descends from (one per authorization code). */
  family: number;
}

const INVALID_TOKEN_BODY = {
  error: 'invalid_token',
  error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
};

export class OAuthServer {
  private readonly clients = new Map<string, SimulatorOAuthClient>();
  private readonly codes = new Map<string, CodeGrant>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /** Refresh tokens already exchanged, by the family they belonged to. */
  private readonly rotated = new Map<string, number>();
  private families = 0;
  /** Refresh grants that presented an already rotated refresh token. */
  refreshTokenReuses = 0;
  private readonly now: () => number;
  private readonly accessTtl: number;
  private readonly refreshTtl: number;
  private readonly codeTtl: number;

  /**
   * @param accepted the simulator's set of admin bearer tokens: live tokens are added to it, and
   * removed when they expire or are revoked, so the API's own auth check needs no change.
   */
  constructor(opts: SimulatorOAuthOptions = {}, private readonly accepted: Set<string>) {
    for (const c of [DEFAULT_OAUTH_CLIENT, ...(opts.clients ?? [])]) this.clients.set(c.id, c);
    this.now = opts.now ?? Date.now;
    this.accessTtl = opts.accessTokenTtlSeconds ?? 1800;
    this.refreshTtl = opts.refreshTokenTtlSeconds ?? 30 * 86400;
    this.codeTtl = opts.codeTtlSeconds ?? 120;
  }

  /**
   * Called for every request before routing. Answers the OAuth endpoints, and API requests whose
   * bearer token this server issued but which is expired/revoked (401) or lacks `read` on an
   * incremental path (403). Returns true when it answered.
   */
  async intercept(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    if (path === '/oauth/authorizations/new' && method === 'GET') this.authorizePage(req, res);
    else if (path === '/oauth/authorizations' && method === 'POST') this.decide(new URLSearchParams(await readBody(req)), res);
    else if (path === '/oauth/tokens' && method === 'POST') this.token(await readBody(req), req.headers['content-type'] ?? '', res);
    else if (path === '/api/v2/oauth/tokens/current' && method === 'DELETE') this.revokeCurrent(req, res);
    else return this.checkBearer(req, res, path);
    return true;
  }

  // ---------------------------------------------------------------- API requests

  private checkBearer(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean {
    const token = bearer(req);
    const issued = token ? this.tokens.get(token) : undefined;
    if (!token || !issued) return false;
    if (issued.revoked || this.now() >= issued.expiresAt) {
      this.accepted.delete(token);
      sendJson(res, 401, INVALID_TOKEN_BODY, { 'www-authenticate': 'Bearer realm="Zendesk", error="invalid_token"' });
      return true;
    }
    if (path.startsWith('/api/v2/incremental') && !issued.scopes.includes('read')) {
      sendJson(res, 403, { error: 'Forbidden', description: 'Missing the following required scopes: read' }, {});
      return true;
    }
    return false;
  }

  private revokeCurrent(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = bearer(req);
    const issued = token ? this.tokens.get(token) : undefined;
    if (!token || !issued || issued.revoked || this.now() >= issued.expiresAt) {
      sendJson(res, 401, INVALID_TOKEN_BODY, {});
      return;
    }
    this.revoke(token);
    res.writeHead(204).end();
  }

  private revoke(accessToken: string): void {
    const issued = this.tokens.get(accessToken);
    if (!issued) return;
    issued.revoked = true;
    this.accepted.delete(accessToken);
    if (issued.refreshToken) this.refreshTokens.delete(issued.refreshToken);
  }

  // ---------------------------------------------------------------- authorization page

  /** Checks the authorization request; on success returns what the code will be bound to. */
  private validateAuthorize(p: URLSearchParams): { error: string } | { grant: Omit<CodeGrant, 'expiresAt'>; state: string | null } {
    const client = this.clients.get(p.get('client_id') ?? '');
    if (!client) return { error: 'Invalid authorization request: unknown client_id.' };
    const redirectUri = p.get('redirect_uri') ?? '';
    const redirectProblem = this.redirectProblem(client, redirectUri);
    if (redirectProblem) return { error: redirectProblem };
    if (p.get('response_type') !== 'code') return { error: 'Invalid authorization request: response_type must be "code".' };
    const challenge = p.get('code_challenge');
    const method = p.get('code_challenge_method');
    if (challenge && method !== 'S256') return { error: 'Invalid authorization request: code_challenge_method must be "S256".' };
    if (!challenge && !client.secret) return { error: 'Invalid authorization request: public clients must use PKCE (code_challenge).' };
    const asked = (p.get('scope') ?? '').split(/\s+/).filter(Boolean);
    // Granted = asked ∩ allowed (everything allowed when nothing is asked, or nothing asked is allowed).
    const granted = asked.filter((s) => client.scopes.includes(s));
    return {
      grant: { clientId: client.id, redirectUri, scopes: granted.length ? granted : [...client.scopes], challenge: challenge ?? null },
      state: p.get('state'),
    };
  }

  private redirectProblem(client: SimulatorOAuthClient, redirectUri: string): string | null {
    let url: URL;
    try {
      url = new URL(redirectUri);
    } catch {
      return 'Invalid authorization request: redirect_uri must be an absolute URL.';
    }
    const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      return 'Invalid authorization request: redirect_uri must use https (http only for localhost or 127.0.0.1).';
    }
    if (client.redirectUris) {
      const ok = client.redirectUris.some((r) => {
        if (r === redirectUri) return true;
        const reg = new URL(r);
        // RFC 8252 §7.3: a loopback redirect matches on any port.
        return loopback && reg.hostname === url.hostname && reg.protocol === url.protocol && reg.pathname === url.pathname;
      });
      if (!ok) return 'Invalid authorization request: redirect_uri is not one of the client\'s redirect URLs.';
    }
    return null;
  }

  private authorizePage(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = new URL(req.url ?? '/', 'http://sim').searchParams;
    const checked = this.validateAuthorize(p);
    if ('error' in checked) return sendHtml(res, 400, page('Authorization failed', `<p>${esc(checked.error)}</p>`));
    // Tests can skip the click: approve=1 / deny=1.
    if (p.get('approve') === '1' || p.get('deny') === '1') return this.redirectWithDecision(res, checked, p.get('approve') === '1');
    // A relative action: the page may be served under a path prefix (code-server's /proxy/<port>/).
    const hidden = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method']
      .filter((k) => p.has(k))
      .map((k) => `<input type="hidden" name="${k}" value="${esc(p.get(k) ?? '')}">`).join('');
    sendHtml(res, 200, page('Allow access?', `
      <p><strong>${esc(checked.grant.clientId)}</strong> wants to access your Zendesk Support account as
      <strong>Simulated Admin</strong> (admin@example.com) with the scopes: <code>${esc(checked.grant.scopes.join(' '))}</code>.</p>
      <form method="post" action="../authorizations">${hidden}
        <button type="submit" name="decision" value="allow" id="allow">Allow</button>
        <button type="submit" name="decision" value="deny" id="deny">Deny</button>
      </form>`));
  }

  private decide(p: URLSearchParams, res: http.ServerResponse): void {
    const checked = this.validateAuthorize(p);
    if ('error' in checked) return sendHtml(res, 400, page('Authorization failed', `<p>${esc(checked.error)}</p>`));
    this.redirectWithDecision(res, checked, p.get('decision') === 'allow');
  }

  private redirectWithDecision(res: http.ServerResponse, checked: { grant: Omit<CodeGrant, 'expiresAt'>; state: string | null }, allow: boolean): void {
    const target = new URL(checked.grant.redirectUri);
    if (allow) {
      const code = `sim-code-${randomBytes(16).toString('hex')}`;
      this.codes.set(code, { ...checked.grant, expiresAt: this.now() + this.codeTtl * 1000 });
      target.searchParams.append('code', code);
    } else {
      target.searchParams.append('error', 'access_denied');
      target.searchParams.append('error_description', 'The end-user or authorization server denied the request.');
    }
    if (checked.state !== null) target.searchParams.append('state', checked.state);
    res.writeHead(302, { location: target.toString(), 'content-type': 'text/html; charset=utf-8' });
    res.end(`<a href="${esc(target.toString())}">Continue</a>`);
  }

  // ---------------------------------------------------------------- token endpoint

  private token(raw: string, contentType: string, res: http.ServerResponse): void {
    let p: Record<string, string>;
    try {
      p = contentType.includes('application/json')
        ? Object.fromEntries(Object.entries(JSON.parse(raw || '{}') as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
        : Object.fromEntries(new URLSearchParams(raw));
    } catch {
      return oauthError(res, 400, 'invalid_request', 'The request body is not valid JSON.');
    }
    const client = this.clients.get(p.client_id ?? '');
    if (!client) return oauthError(res, 401, 'invalid_client', 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.');
    if (p.client_secret !== undefined && p.client_secret !== client.secret) {
      return oauthError(res, 401, 'invalid_client', 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.');
    }
    const now = this.now();
    switch (p.grant_type) {
      case 'authorization_code': {
        const grant = this.codes.get(p.code ?? '');
        // A code works once, whatever happens next.
        if (p.code) this.codes.delete(p.code);
        if (!grant || grant.clientId !== client.id || now >= grant.expiresAt) {
          return oauthError(res, 400, 'invalid_grant', 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.');
        }
        if (p.redirect_uri !== undefined && p.redirect_uri !== grant.redirectUri) {
          return oauthError(res, 400, 'invalid_grant', 'The redirect_uri does not match the one used in the authorization request.');
        }
        if (grant.challenge) {
          if (!p.code_verifier || s256(p.code_verifier) !== grant.challenge) {
            return oauthError(res, 400, 'invalid_grant', 'The code_verifier does not match the code_challenge.');
          }
        } else if (p.client_secret === undefined) {
          return oauthError(res, 401, 'invalid_client', 'Confidential clients must authenticate with their secret or use PKCE.');
        }
        return this.issue(res, client.id, grant.scopes, ++this.families);
      }
      case 'refresh_token': {
        const presented = p.refresh_token ?? '';
        const reused = this.rotated.get(presented);
        if (reused !== undefined) {
          this.refreshTokenReuses++;
          this.revokeFamily(reused);
        }
        const grant = this.refreshTokens.get(presented);
        if (!grant || grant.clientId !== client.id || now >= grant.expiresAt) {
          return oauthError(res, 400, 'invalid_grant', 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.');
        }
        // Rotation: the old pair stops working as soon as the new one is issued.
        this.refreshTokens.delete(presented);
        this.rotated.set(presented, grant.family);
        this.revoke(grant.accessToken);
        return this.issue(res, client.id, grant.scopes, grant.family);
      }
      case 'client_credentials': {
        if (!client.secret) return oauthError(res, 400, 'unauthorized_client', 'The client is not authorized to use this grant type: public clients cannot use client_credentials.');
        if (p.client_secret !== client.secret) return oauthError(res, 401, 'invalid_client', 'Client authentication failed.');
        const asked = (p.scope ?? '').split(/\s+/).filter(Boolean);
        const granted = asked.filter((s) => client.scopes.includes(s));
        return this.issue(res, client.id, granted.length ? granted : [...client.scopes], null);
      }
      case undefined:
        return oauthError(res, 400, 'invalid_request', 'The request is missing a required parameter: grant_type.');
      default:
        return oauthError(res, 400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    }
  }

  /** Revokes the live pair of a sign-in (after its refresh token was presented twice). */
  private revokeFamily(family: number): void {
    for (const [refreshToken, grant] of [...this.refreshTokens]) {
      if (grant.family !== family) continue;
      this.refreshTokens.delete(refreshToken);
      this.revoke(grant.accessToken);
    }
  }

  /** A new access token; with `family` (a sign-in), a refresh token too. */
  private issue(res: http.ServerResponse, clientId: string, scopes: string[], family: number | null): void {
    const now = this.now();
    const accessToken = `sim-oat-${randomBytes(20).toString('hex')}`;
    const refreshToken = family !== null ? `sim-ort-${randomBytes(20).toString('hex')}` : null;
    this.tokens.set(accessToken, { clientId, scopes, expiresAt: now + this.accessTtl * 1000, refreshToken, revoked: false });
    this.accepted.add(accessToken);
    if (refreshToken && family !== null) this.refreshTokens.set(refreshToken, { clientId, scopes, expiresAt: now + this.refreshTtl * 1000, accessToken, family });
    sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'bearer',
      scope: scopes.join(' '),
      expires_in: this.accessTtl,
      ...(refreshToken ? { refresh_token: refreshToken, refresh_token_expires_in: this.refreshTtl } : {}),
    }, { 'cache-control': 'no-store', pragma: 'no-cache' });
  }
}

function bearer(req: http.IncomingMessage): string | null {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1] : null;
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function oauthError(res: http.ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description }, { 'cache-control': 'no-store' });
}

function sendHtml(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)) });
  res.end(html);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Zendesk simulator</title>
<style>body{font:15px system-ui,sans-serif;max-width:36em;margin:3em auto;color:#2f3941}button{font:inherit;padding:.4em 1.2em;margin-right:.5em}</style>
</head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}
