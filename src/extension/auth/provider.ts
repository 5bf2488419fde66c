// The "Zendesk" authentication provider: one session per OAuth connection, visible in the Accounts
// menu and reachable with vscode.authentication.getSession('zendesk', …). Sign-in is Authorization
// Code + PKCE S256 + state. Zendesk redirects only to registered, absolute URLs (https unless
// localhost or 127.0.0.1), so a vscode:// redirect would be refused: desktop VS Code receives it on a
// loopback listener in the extension host (http://127.0.0.1:47615/callback, setting
// zendesk.oauth.loopbackPort), while the web and remote workbenches (code-server, vscode.dev,
// Remote-SSH) keep the UriHandler reached through vscode.env.asExternalUri (the workbench's https
// /callback route). Setting zendesk.oauth.redirect forces either. Tokens live only in
// context.secrets; they are refreshed ahead of expiry and after a 401, and sign-out revokes them.
import * as vscode from 'vscode';
import { checkConnection, authorizeUrl, createPkce, createState, DEFAULT_LOOPBACK_REDIRECT_PORT, EXPORT_SCOPES, exchangeCode, loopbackRedirectUri, missingScopeError, missingScopes, needsRefresh, readAuthorizationResponse, redirectRegistrationHint, refreshAccessToken, revokeAccessToken, tokenFingerprint, type OAuthTokens, startLoopbackReceiver, type LoopbackReceiver } from '../../engine/zendesk';
import { ExportError } from '../../engine/errors';
import { baseUrlOf, originOf, sanitizeConnections } from '../connectionStore';

export const AUTH_PROVIDER_ID = 'zendesk';
export const AUTH_PROVIDER_LABEL = 'Zendesk';
/** Pseudo-scope that picks the connection: getSession('zendesk', ['read', 'connection:acme']). */
export const CONNECTION_SCOPE_PREFIX = 'connection:';
export const CALLBACK_PATH = '/oauth/callback';

const TOKENS_KEY = 'zendesk.oauth.tokens:';
const SECRET_KEY = 'zendesk.oauth.clientSecret:';
const CLIENT_ID_KEY = 'zendesk.oauth.clientId:';
const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

/** What is kept in context.secrets per connection (JSON). */
interface StoredSession {
  baseUrl: string;
  clientId: string;
  tokens: OAuthTokens;
  account: { id: string; label: string };
}

/** The part of a `zendesk.connections` entry this provider needs. */
export interface OAuthConnection {
  name: string;
  baseUrl: string;
  authKind: 'apiToken' | 'oauth';
  /** Optional `oauthClientId` in the connection's settings entry. */
  oauthClientId?: string;
}

/** How the browser gets the authorization answer back to this extension. */
export type RedirectMode = 'loopback' | 'uriHandler';

/**
 * `zendesk.oauth.redirect`: "loopback" / "uriHandler" as set; "auto" = loopback in desktop VS Code
 * on the local machine (the browser and the extension host share 127.0.0.1), the UriHandler
 * elsewhere (in a browser workbench or a remote, 127.0.0.1 of the browser is not the host's).
 */
export function redirectMode(): RedirectMode {
  const set = vscode.workspace.getConfiguration('zendesk').get<string>('oauth.redirect', 'auto');
  if (set === 'loopback' || set === 'uriHandler') return set;
  return vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName ? 'loopback' : 'uriHandler';
}

/** `zendesk.oauth.loopbackPort` (default 47615): a fixed port, so the redirect URL can be registered. */
export function loopbackPort(): number {
  const set = vscode.workspace.getConfiguration('zendesk').get<number>('oauth.loopbackPort', DEFAULT_LOOPBACK_REDIRECT_PORT);
  return Number.isInteger(set) && set >= 1 && set <= 65535 ? set : DEFAULT_LOOPBACK_REDIRECT_PORT;
}

function loopbackPortInUse(port: number): string {
  return `Port ${port} on 127.0.0.1 is already in use (another sign-in or program), so the sign-in redirect ${loopbackRedirectUri(port)} can't be received; `
    + 'free it, or set "zendesk.oauth.loopbackPort" to another port and register http://127.0.0.1:PORT/callback as a redirect URL on the OAuth client.';
}

interface PendingSignIn {
  state: string;
  /** Loopback sign-ins wait here only so that dispose() can end them; handleUri ignores them. */
  via: RedirectMode;
  resolve: (params: URLSearchParams) => void;
  reject: (err: Error) => void;
}

/** Reads `zendesk.connections` directly, so the provider keeps working whatever else the settings hold. */
export function readConnections(): OAuthConnection[] {
  return sanitizeConnections(vscode.workspace.getConfiguration('zendesk').get<unknown>('connections')).map((c) => ({
    name: c.name, baseUrl: baseUrlOf(c), authKind: c.authKind,
    ...(c.oauthClientId?.trim() ? { oauthClientId: c.oauthClientId.trim() } : {}),
  }));
}

export class ZendeskAuthenticationProvider implements vscode.AuthenticationProvider, vscode.UriHandler, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.changed.event;
  private readonly pending = new Map<string, PendingSignIn>();
  /** One refresh at a time per connection (rotation makes a second concurrent one fail). */
  private readonly refreshing = new Map<string, Promise<StoredSession | undefined>>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log?: vscode.LogOutputChannel,
    /** For tests: how to open the authorization page (default: vscode.env.openExternal). */
    private readonly openExternal: (url: string) => Thenable<boolean> = openExternalExactly,
  ) {
    this.disposables.push(this.changed, context.secrets.onDidChange((e) => {
      // Another window signed in, refreshed or signed out.
      if (e.key.startsWith(TOKENS_KEY)) void this.announceChange(e.key.slice(TOKENS_KEY.length));
    }));
  }

  // ---------------------------------------------------------------- AuthenticationProvider

  async getSessions(scopes?: readonly string[]): Promise<vscode.AuthenticationSession[]> {
    const wanted = connectionFromScopes(scopes);
    const plain = (scopes ?? []).filter((s) => !s.startsWith(CONNECTION_SCOPE_PREFIX));
    const out: vscode.AuthenticationSession[] = [];
    for (const c of readConnections()) {
      if (wanted && c.name !== wanted) continue;
      const s = await this.load(c.name);
      if (s && plain.every((p) => s.tokens.scopes.includes(p))) out.push(toSession(c.name, s));
    }
    return out;
  }

  async createSession(scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
    const conn = await this.pickConnection(connectionFromScopes(scopes));
    if (!conn) throw new Error('Sign-in cancelled: no Zendesk connection was chosen.');
    const stored = await this.signIn(conn);
    return toSession(conn.name, stored);
  }

  async removeSession(sessionId: string): Promise<void> {
    await this.signOut(nameFromSessionId(sessionId));
  }

  // ---------------------------------------------------------------- UriHandler

  handleUri(uri: vscode.Uri): void {
    if (uri.path !== CALLBACK_PATH) return;
    const params = new URLSearchParams(uri.query);
    const state = params.get('state') ?? '';
    const match = this.pending.get(state);
    if (match?.via === 'uriHandler') {
      this.pending.delete(state);
      match.resolve(params);
      return;
    }
    // A redirect that belongs to no sign-in in progress (stale, or forged): fail the one waiting, if any.
    const waiting = [...this.pending.values()].filter((p) => p.via === 'uriHandler');
    if (waiting.length === 1) {
      this.pending.delete(waiting[0].state);
      waiting[0].resolve(params);
      return;
    }
    this.log?.warn('Ignored a Zendesk sign-in redirect that matches no sign-in in progress.');
  }

  // ---------------------------------------------------------------- sign in / out

  /** Runs the browser sign-in for a connection and stores the session; throws ExportError with one sentence. */
  async signIn(conn: OAuthConnection): Promise<StoredSession> {
    if (!conn.baseUrl) throw new ExportError('invalidQuery', `The connection "${conn.name}" has no subdomain or URL.`);
    const clientId = await this.clientIdFor(conn, true);
    if (!clientId) throw new ExportError('cancelled', 'Sign-in cancelled: no OAuth client id was given.');
    const clientSecret = await this.context.secrets.get(SECRET_KEY + conn.name) || undefined;
    const pkce = createPkce();
    const state = createState();
    const mode = redirectMode();
    let receiver: LoopbackReceiver | undefined;
    let redirectUri: string;
    if (mode === 'loopback') {
      receiver = await startLoopbackReceiver(loopbackPort(), loopbackPortInUse);
      redirectUri = receiver.redirectUri;
    } else {
      const callback = vscode.Uri.parse(`${vscode.env.uriScheme}://${this.context.extension.id}${CALLBACK_PATH}`);
      // Web/code-server: <workbench>/callback?vscode-reqid=…, which carries the code back to handleUri.
      redirectUri = (await vscode.env.asExternalUri(callback)).toString(true);
    }
    try {
      const stored = await this.authorize(conn, clientId, clientSecret, pkce, state, redirectUri, mode, receiver);
      receiver?.answer(true, `You are signed in to Zendesk (${conn.name}) as ${stored.account.label}. You can close this tab and return to VS Code.`);
      return stored;
    } catch (err) {
      receiver?.answer(false, err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      await receiver?.close();
    }
  }

  private async authorize(
    conn: OAuthConnection, clientId: string, clientSecret: string | undefined, pkce: { verifier: string; challenge: string },
    state: string, redirectUri: string, mode: RedirectMode, receiver: LoopbackReceiver | undefined,
  ): Promise<StoredSession> {
    const url = authorizeUrl({ baseUrl: conn.baseUrl, clientId, redirectUri, scopes: EXPORT_SCOPES, state, codeChallenge: pkce.challenge });
    // Zendesk only redirects to URLs listed on the OAuth client, and reports a mismatch in the browser
    // only: say which one this sign-in uses (the web route's query changes per sign-in, its base doesn't).
    const registrable = redirectUri.split('?')[0];
    const hint = redirectRegistrationHint(registrable);
    this.log?.info(`Signing in to "${conn.name}" with OAuth client ${clientId}; redirect URL (${mode}): ${redirectUri}`);

    const params = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Signing in to Zendesk (${conn.name}) in your browser…`, cancellable: true },
      (progress, token) => new Promise<URLSearchParams>((resolve, reject) => {
        progress.report({ message: `If Zendesk reports a redirect problem, ${hint}.` });
        const timer = setTimeout(() => finish(new ExportError('auth', `No answer from the browser within 5 minutes (if Zendesk reported a redirect problem, ${hint}); nothing was stored, sign in again.`)), SIGN_IN_TIMEOUT_MS);
        const cancel = token.onCancellationRequested(() => finish(new ExportError('cancelled', 'Sign-in cancelled; nothing was stored.')));
        let done = false;
        const finish = (err: Error | null, p?: URLSearchParams): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          cancel.dispose();
          this.pending.delete(state);
          if (err) reject(err);
          else resolve(p as URLSearchParams);
        };
        this.pending.set(state, { state, via: mode, resolve: (p) => finish(null, p), reject: (e) => finish(e) });
        void receiver?.received.then((p) => finish(null, p));
        void this.openExternal(url).then((opened) => {
          if (!opened) finish(new ExportError('cancelled', 'The Zendesk sign-in page was not opened; nothing was stored.'));
        });
      }),
    );
    const { code } = readAuthorizationResponse(params, state, registrable);
    const tokens = await exchangeCode({ baseUrl: conn.baseUrl, clientId, clientSecret }, { code, redirectUri, codeVerifier: pkce.verifier });
    let account: StoredSession['account'];
    try {
      const missing = missingScopes(tokens);
      if (missing.length) throw missingScopeError(clientId, missing);
      const { user } = await checkConnection({ baseUrl: conn.baseUrl, credentials: { kind: 'oauth', accessToken: tokens.accessToken } });
      account = { id: `${new URL(conn.baseUrl).host}/${user.id}`, label: `${user.email || user.name} (${conn.name})` };
    } catch (err) {
      // A token that cannot export is not kept anywhere, not even at Zendesk.
      await revokeAccessToken(conn.baseUrl, tokens.accessToken).catch(() => undefined);
      throw err;
    }
    const stored: StoredSession = { baseUrl: conn.baseUrl, clientId, tokens, account };
    const existed = Boolean(await this.load(conn.name));
    await this.save(conn.name, stored);
    this.changed.fire({ added: existed ? [] : [toSession(conn.name, stored)], removed: [], changed: existed ? [toSession(conn.name, stored)] : [] });
    this.log?.info(`Signed in to "${conn.name}" as ${account.label} with OAuth (client ${clientId}).`);
    return stored;
  }

  /** Revokes at Zendesk (best effort) and forgets the tokens. */
  async signOut(name: string): Promise<boolean> {
    const s = await this.load(name);
    if (!s) return false;
    try {
      // Zendesk revokes through the access token, and that also kills its refresh token. An expired access
      // token can't do it, so renew first: otherwise a live refresh token would outlive the sign-out.
      let live: StoredSession | undefined = s;
      if (needsRefresh(s.tokens, Date.now()) && s.tokens.refreshToken) live = await this.refresh(name, s.tokens.accessToken, true);
      if (live) await revokeAccessToken(live.baseUrl, live.tokens.accessToken);
    } catch (err) {
      this.log?.warn(`Could not revoke the OAuth token of "${name}" at Zendesk: ${err instanceof Error ? err.message : String(err)}`);
    }
    await this.context.secrets.delete(TOKENS_KEY + name);
    this.changed.fire({ added: [], removed: [toSession(name, s)], changed: [] });
    this.log?.info(`Signed out of "${name}".`);
    return true;
  }

  /**
   * The access token for a connection's request, refreshed first when it is about to expire, or
   * after a 401 (`afterRejection`, with the fingerprint of the refused token) when that token is
   * still the stored one. Undefined = not signed in (or the refresh token is dead, in which case the
   * session is dropped and the person asked to sign in).
   */
  async accessToken(name: string, afterRejection?: { rejected?: string }): Promise<string | undefined> {
    const s = await this.load(name);
    if (!s) return undefined;
    const stale = needsRefresh(s.tokens, Date.now());
    // Renewed since the refused token was handed out (for another export, or in another window):
    // the stored token is the answer. Renewing again would spend the refresh token a second time.
    const replaced = afterRejection?.rejected !== undefined && tokenFingerprint(s.tokens.accessToken) !== afterRejection.rejected;
    if (!stale && (!afterRejection || replaced)) return s.tokens.accessToken;
    const renewed = await this.refresh(name, s.tokens.accessToken);
    return renewed?.tokens.accessToken;
  }

  isSignedIn(name: string): Promise<boolean> {
    return this.load(name).then(Boolean);
  }

  /** The origin a connection's sign-in was made at (its tokens belong there), or undefined when not signed in. */
  async signedInOrigin(name: string): Promise<string | undefined> {
    return originOf((await this.load(name))?.baseUrl);
  }

  /**
   * Renews the pair whose access token is `rejected`, one renewal per connection at a time (rotation
   * makes a second concurrent one fail). Undefined when the sign-in can't be renewed.
   */
  private refresh(name: string, rejected: string, quiet = false): Promise<StoredSession | undefined> {
    let p = this.refreshing.get(name);
    if (!p) {
      p = (async () => {
        try {
          // Re-read: another window may have rotated the pair already.
          const s = await this.load(name);
          if (!s) return undefined;
          if (s.tokens.accessToken !== rejected && !needsRefresh(s.tokens, Date.now())) return s;
          if (!s.tokens.refreshToken) return quiet ? undefined : this.expire(name, s, 'Zendesk gave this sign-in no refresh token');
          let tokens: OAuthTokens;
          try {
            const secret = await this.context.secrets.get(SECRET_KEY + name) || undefined;
            tokens = await refreshAccessToken({ baseUrl: s.baseUrl, clientId: s.clientId, clientSecret: secret }, s.tokens.refreshToken);
          } catch (err) {
            if (!(err instanceof ExportError && err.code === 'auth')) throw err;
            // Another window may have used the same refresh token first: its rotated pair is in storage then.
            const now = await this.load(name);
            if (now && now.tokens.refreshToken !== s.tokens.refreshToken) return now;
            return quiet ? undefined : this.expire(name, s, err.message);
          }
          const next: StoredSession = { ...s, tokens };
          await this.save(name, next);
          this.changed.fire({ added: [], removed: [], changed: [toSession(name, next)] });
          return next;
        } finally {
          this.refreshing.delete(name);
        }
      })();
      this.refreshing.set(name, p);
    }
    return p;
  }

  private async expire(name: string, s: StoredSession, why: string): Promise<undefined> {
    this.log?.warn(`The OAuth sign-in of "${name}" can no longer be refreshed (${why.replace(/\.$/, '')}).`);
    await this.context.secrets.delete(TOKENS_KEY + name);
    this.changed.fire({ added: [], removed: [toSession(name, s)], changed: [] });
    void vscode.window.showWarningMessage(`The Zendesk sign-in of "${name}" has expired or was revoked.`, 'Sign In').then((pick) => {
      if (pick) void vscode.commands.executeCommand('zendesk.signIn', name);
    });
    return undefined;
  }

  // ---------------------------------------------------------------- client id / secret

  /** The connection's OAuth client id: from its settings entry, else remembered, else asked (when `ask`). */
  async clientIdFor(conn: OAuthConnection, ask: boolean): Promise<string | undefined> {
    if (conn.oauthClientId) return conn.oauthClientId;
    const remembered = this.context.globalState.get<string>(CLIENT_ID_KEY + conn.name);
    if (remembered || !ask) return remembered;
    const id = (await vscode.window.showInputBox({
      title: `OAuth client for "${conn.name}"`,
      prompt: 'Unique Identifier of the OAuth client (Admin Center > Apps and integrations > APIs > OAuth clients)',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Enter the client\'s Unique Identifier.'),
    }))?.trim();
    if (!id) return undefined;
    const secret = await vscode.window.showInputBox({
      title: `OAuth client for "${conn.name}"`,
      prompt: 'Client secret — only for a confidential client; leave empty for a public client (PKCE)',
      password: true,
      ignoreFocusOut: true,
    });
    if (secret === undefined) return undefined;
    await this.setClient(conn.name, id, secret.trim() || undefined);
    return id;
  }

  /** Remembers a connection's client id (globalState) and, for confidential clients, its secret (context.secrets). */
  async setClient(name: string, clientId: string, clientSecret?: string): Promise<void> {
    await this.context.globalState.update(CLIENT_ID_KEY + name, clientId);
    if (clientSecret) await this.context.secrets.store(SECRET_KEY + name, clientSecret);
    else await this.context.secrets.delete(SECRET_KEY + name);
  }

  /** The named connection, the only OAuth one, or the one picked from a list. */
  async pickConnection(wanted: string | undefined): Promise<OAuthConnection | undefined> {
    const all = readConnections();
    if (wanted) {
      const c = all.find((x) => x.name === wanted);
      if (!c) throw new ExportError('invalidQuery', `There is no Zendesk connection named "${wanted}".`);
      return c;
    }
    const oauth = all.filter((c) => c.authKind === 'oauth');
    if (oauth.length === 1) return oauth[0];
    const choices = oauth.length ? oauth : all;
    if (!choices.length) throw new ExportError('invalidQuery', 'Add a Zendesk connection (with OAuth) first, then sign in.');
    const pick = await vscode.window.showQuickPick(choices.map((c) => ({ label: c.name, description: c.baseUrl, c })), { placeHolder: 'Sign in to which Zendesk connection?' });
    return pick?.c;
  }

  // ---------------------------------------------------------------- storage

  private async load(name: string): Promise<StoredSession | undefined> {
    const raw = await this.context.secrets.get(TOKENS_KEY + name);
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as StoredSession;
      return v && typeof v.tokens?.accessToken === 'string' && typeof v.baseUrl === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private save(name: string, s: StoredSession): Thenable<void> {
    return this.context.secrets.store(TOKENS_KEY + name, JSON.stringify(s));
  }

  private async announceChange(name: string): Promise<void> {
    const s = await this.load(name);
    if (s) this.changed.fire({ added: [], removed: [], changed: [toSession(name, s)] });
  }

  dispose(): void {
    for (const p of this.pending.values()) p.reject(new ExportError('cancelled', 'Sign-in cancelled.'));
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * openExternal with the URL exactly as built. Given a Uri, VS Code decodes and re-encodes it, which
 * turns the encoded `&`s inside redirect_uri (the web callback URL has its own query) into top-level
 * parameters; given the string (which the API implementation accepts and keeps as-is), it doesn't.
 */
function openExternalExactly(url: string): Thenable<boolean> {
  return vscode.env.openExternal(url as unknown as vscode.Uri);
}

function toSession(name: string, s: StoredSession): vscode.AuthenticationSession {
  return {
    id: `${AUTH_PROVIDER_ID}:${name}`,
    accessToken: s.tokens.accessToken,
    account: s.account,
    scopes: [...s.tokens.scopes, CONNECTION_SCOPE_PREFIX + name],
  };
}

function nameFromSessionId(id: string): string {
  return id.startsWith(`${AUTH_PROVIDER_ID}:`) ? id.slice(AUTH_PROVIDER_ID.length + 1) : id;
}

function connectionFromScopes(scopes: readonly string[] | undefined): string | undefined {
  return scopes?.find((s) => s.startsWith(CONNECTION_SCOPE_PREFIX))?.slice(CONNECTION_SCOPE_PREFIX.length);
}
