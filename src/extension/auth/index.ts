// Zendesk sign-in for the extension: registers the "Zendesk" authentication provider (Accounts
// menu), its UriHandler (the OAuth redirect), and the Sign In / Sign Out commands, and answers the
// engine's GetCredentials for OAuth connections. API-token connections keep working, with a warning
// that Zendesk retires API tokens on 2027-04-30.
import * as vscode from 'vscode';
import { ExportError } from '../../engine/errors';
import { API_TOKEN_RETIREMENT_DATE, isLoopbackUrl } from '../../engine/zendesk';
import type { GetCredentialsResult } from '../../protocol/customMessages';
import { originOf } from '../connectionStore';
import { signedInElsewhere } from './hostBinding';
import { AUTH_PROVIDER_ID, AUTH_PROVIDER_LABEL, ZendeskAuthenticationProvider } from './provider';

export { AUTH_PROVIDER_ID, CONNECTION_SCOPE_PREFIX, ZendeskAuthenticationProvider } from './provider';

const API_TOKEN_WARNING_KEY = 'zendesk.oauth.apiTokenWarningDismissed';

export interface ZendeskAuth {
  readonly provider: ZendeskAuthenticationProvider;
  /**
   * The secret for GetCredentials: for an OAuth connection its access token (refreshed ahead of
   * expiry, or because `reason` is 'refresh' after a 401 with the token whose fingerprint is
   * `rejected`), falling back to `fallback()` (e.g. a pasted token) when it is not signed in; for an
   * API-token connection `fallback()`, after the retirement warning. Null = no secret. A sign-in
   * made at another host than the connection's URL names now is refused, never sent (see hostBinding.ts).
   */
  secretFor(connection: { name: string; auth: 'apiToken' | 'oauth'; baseUrl: string }, reason: 'export' | 'testConnection' | 'refresh', fallback: () => Promise<GetCredentialsResult>, rejected?: string): Promise<GetCredentialsResult>;
  /** Browser sign-in for a connection (asks which when omitted). True when signed in. */
  signIn(name?: string): Promise<boolean>;
  signOut(name?: string): Promise<boolean>;
  isSignedIn(name: string): Promise<boolean>;
  /** Shows, once per connection and window, that API tokens stop working on 2027-04-30. */
  warnApiToken(name: string): void;
}

type NameArg = string | { connection?: { name?: string }; name?: string } | undefined;

function nameOf(arg: NameArg): string | undefined {
  if (typeof arg === 'string') return arg;
  return arg?.connection?.name ?? arg?.name;
}

export function registerZendeskAuth(context: vscode.ExtensionContext, log?: vscode.LogOutputChannel): ZendeskAuth {
  const provider = new ZendeskAuthenticationProvider(context, log);
  const warned = new Set<string>();

  const report = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ExportError && err.code === 'cancelled') {
      log?.info(message);
      return;
    }
    log?.error(`Sign-in failed: ${message}`);
    void vscode.window.showErrorMessage(message);
  };

  const auth: ZendeskAuth = {
    provider,
    async secretFor(connection, reason, fallback, rejected) {
      if (connection.auth === 'oauth') {
        const signedInAt = await provider.signedInOrigin(connection.name);
        const to = originOf(connection.baseUrl);
        if (signedInAt && to && signedInAt !== to) return signedInElsewhere(connection.name, signedInAt, to);
        const token = await provider.accessToken(connection.name, reason === 'refresh' ? { rejected } : undefined);
        if (token) return { secret: token };
        if (reason === 'refresh') return null;
      } else if (!isLoopbackUrl(connection.baseUrl)) {
        // Not for the local simulator: its API token never retires.
        auth.warnApiToken(connection.name);
      }
      return fallback();
    },
    async signIn(name) {
      try {
        const conn = await provider.pickConnection(name);
        if (!conn) return false;
        await provider.signIn(conn);
        // Signing in switches an API-token connection to OAuth (through the connection commands, which own the settings).
        if (conn.authKind !== 'oauth') await vscode.commands.executeCommand('zendesk.editConnection', conn.name, { authKind: 'oauth' });
        return true;
      } catch (err) {
        report(err);
        return false;
      }
    },
    async signOut(name) {
      const target = name ?? (await pickSignedIn(provider));
      if (!target) return false;
      return provider.signOut(target);
    },
    isSignedIn: (name) => provider.isSignedIn(name),
    warnApiToken(name) {
      if (warned.has(name) || context.globalState.get<boolean>(API_TOKEN_WARNING_KEY)) return;
      warned.add(name);
      void vscode.window.showWarningMessage(
        `The connection "${name}" uses a Zendesk API token; API tokens stop working on ${API_TOKEN_RETIREMENT_DATE}. Sign in with OAuth instead.`,
        'Sign In with OAuth', 'Don\'t Show Again',
      ).then((pick) => {
        if (pick === 'Sign In with OAuth') void auth.signIn(name);
        if (pick === 'Don\'t Show Again') void context.globalState.update(API_TOKEN_WARNING_KEY, true);
      });
    },
  };

  context.subscriptions.push(
    provider,
    vscode.authentication.registerAuthenticationProvider(AUTH_PROVIDER_ID, AUTH_PROVIDER_LABEL, provider, { supportsMultipleAccounts: true }),
    vscode.window.registerUriHandler(provider),
    vscode.commands.registerCommand('zendesk.signIn', (arg?: NameArg) => auth.signIn(nameOf(arg))),
    vscode.commands.registerCommand('zendesk.signOut', (arg?: NameArg) => auth.signOut(nameOf(arg))),
  );
  return auth;
}

async function pickSignedIn(provider: ZendeskAuthenticationProvider): Promise<string | undefined> {
  const sessions = await provider.getSessions();
  const names = sessions.map((s) => s.id.slice(AUTH_PROVIDER_ID.length + 1));
  if (names.length <= 1) return names[0];
  return vscode.window.showQuickPick(names, { placeHolder: 'Sign out of which Zendesk connection?' });
}
