// A secret stays with the host it was stored for. Connections come from merged settings, so a trusted
// workspace's .vscode/settings.json can redefine "prod" with another URL; the engine would then send
// prod's token there. Before a pasted token goes to an origin other than the one it was set for, the
// person is asked in a modal naming both hosts; "no" sends nothing. An OAuth sign-in is bound to the
// host it was made at (its tokens are that account's): another host needs a new sign-in.
//
// Tokens stored before this binding existed carry no origin. On first use they are bound to the
// origin the user's own (global) settings give the connection, silently when that is where the request
// goes; otherwise (a workspace-only connection, or a user-level one the workspace redefined) the same
// modal asks first. A workspace alone can never decide where an old token goes.
import * as vscode from 'vscode';
import type { ConnectionRef, GetCredentialsResult } from '../../protocol/customMessages';
import { originOf, type ConnectionStore } from '../connectionStore';

/** One question per connection and host at a time: an export and a test asking together share it. */
const asking = new Map<string, Promise<boolean>>();

/**
 * Asks (modal) whether `name`'s token may go to `to`. `from` is the origin it was stored for, or
 * undefined for a token stored before tokens were bound to hosts that no user setting vouches for.
 */
export function confirmNewHost(name: string, from: string | undefined, to: string): Promise<boolean> {
  const key = `${name}\n${from ?? ''}\n${to}`;
  let answer = asking.get(key);
  if (!answer) {
    const send: vscode.MessageItem = { title: `Send to ${to}` };
    // Escape and the close button answer this one: nothing is sent.
    const keep: vscode.MessageItem = { title: 'Don\'t Send', isCloseAffordance: true };
    const message = from
      ? `The connection "${name}" now points to ${to}, but its token was saved for ${from}.`
      : `The token of "${name}" was saved before tokens were bound to hosts, and "${name}" now points to ${to}, which your user settings don't name.`;
    answer = Promise.resolve(vscode.window.showWarningMessage(message, {
      modal: true,
      detail: `A workspace's .vscode/settings.json can redefine a connection's URL. Send the token to ${to} only if that host is yours; otherwise don't, and check the "zendesk.connections" setting.`,
    }, keep, send)).then((pick) => pick === send).finally(() => asking.delete(key));
    asking.set(key, answer);
  }
  return answer;
}

/** The answer to GetCredentials for a pasted token: the token when it belongs to the connection's origin (or the person agreed), else a refusal. */
export async function releaseToken(store: ConnectionStore, connection: Pick<ConnectionRef, 'name' | 'baseUrl'>): Promise<GetCredentialsResult> {
  const stored = await store.getStoredToken(connection.name);
  if (!stored) return null;
  const to = originOf(connection.baseUrl);
  if (!to) return null;
  let from = stored.origin;
  if (from === undefined) {
    from = store.userLevelOrigin(connection.name);
    if (from === to) {
      await store.bindToken(connection.name, to);
      return { secret: stored.token };
    }
  }
  if (from === to) return { secret: stored.token };
  if (!(await confirmNewHost(connection.name, from, to))) {
    return {
      refused: from
        ? `The token of "${connection.name}" was saved for ${from}, so it was not sent to ${to}, where the connection now points; set the token again to use it there.`
        : `The token of "${connection.name}" was not sent to ${to}, which your user settings don't name for it; set the token again to use it there.`,
    };
  }
  await store.bindToken(connection.name, to);
  return { secret: stored.token };
}

/** The refusal for an OAuth sign-in made at another host than the connection now names. */
export function signedInElsewhere(name: string, signedInAt: string, to: string): GetCredentialsResult {
  return { refused: `"${name}" is signed in at ${signedInAt}, so its OAuth token was not sent to ${to}, where the connection now points; sign in again to use it there.` };
}
