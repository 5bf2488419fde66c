// Connections live in settings (`zendesk.connections`); their tokens live only in
// context.secrets (the OS keychain on desktop). This is the one place that knows both.
import * as vscode from 'vscode';
import { settingBaseUrl } from '../engine/zendesk';
import type { ConnectionRef } from '../protocol/customMessages';

export type AuthKind = 'apiToken' | 'oauth';

/** One entry of the `zendesk.connections` setting, as a person writes it. */
export interface ConnectionSetting {
  name: string;
  subdomain?: string;
  url?: string;
  authKind: AuthKind;
  email?: string;
  /** OAuth client id (Admin Center > Apps and integrations > APIs > OAuth clients); used by Sign In. */
  oauthClientId?: string;
}

const SECTION = 'zendesk';
const KEY = 'connections';
const SECRET_PREFIX = 'zendesk.connection.token:';

export function baseUrlOf(c: ConnectionSetting): string {
  return settingBaseUrl(c);
}

export function toConnectionRef(c: ConnectionSetting): ConnectionRef {
  return { name: c.name, baseUrl: baseUrlOf(c), auth: c.authKind, ...(c.email ? { email: c.email } : {}) };
}

/** Settings are edited by hand too: keep only entries that have the fields we rely on. */
export function sanitizeConnections(raw: unknown): ConnectionSetting[] {
  if (!Array.isArray(raw)) return [];
  const out: ConnectionSetting[] = [];
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue;
    const r = item as Record<string, unknown>;
    if (typeof r.name !== 'string' || !r.name.trim()) continue;
    out.push({
      name: r.name,
      subdomain: typeof r.subdomain === 'string' ? r.subdomain : undefined,
      url: typeof r.url === 'string' ? r.url : undefined,
      authKind: r.authKind === 'oauth' ? 'oauth' : 'apiToken',
      email: typeof r.email === 'string' ? r.email : undefined,
      oauthClientId: typeof r.oauthClientId === 'string' ? r.oauthClientId : undefined,
    });
  }
  return out;
}

/** What is written to settings: the known fields only (never a token that travelled along), no empty ones. */
function stripUndefined(c: ConnectionSetting): ConnectionSetting {
  const keys: (keyof ConnectionSetting)[] = ['name', 'subdomain', 'url', 'authKind', 'email', 'oauthClientId'];
  return Object.fromEntries(keys.filter((k) => c[k] !== undefined && c[k] !== '').map((k) => [k, c[k]])) as unknown as ConnectionSetting;
}

export class ConnectionStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the setting or any connection's secret changes. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  /** Set once the OAuth provider exists: an OAuth sign-in counts as having a secret. */
  signedIn: ((name: string) => Promise<boolean>) | undefined;

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.${KEY}`)) this.changed.fire();
      }),
      secrets.onDidChange((e) => {
        if (e.key.startsWith(SECRET_PREFIX)) this.changed.fire();
      }),
      // Trusting a workspace makes its restricted `zendesk.connections` value visible.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
    );
  }

  list(): ConnectionSetting[] {
    return sanitizeConnections(vscode.workspace.getConfiguration(SECTION).get<unknown>(KEY));
  }

  get(name: string): ConnectionSetting | undefined {
    return this.list().find((c) => c.name === name);
  }

  refs(): ConnectionRef[] {
    return this.list().map(toConnectionRef);
  }

  async getToken(name: string): Promise<string | undefined> {
    return this.secrets.get(SECRET_PREFIX + name);
  }

  async hasToken(name: string): Promise<boolean> {
    return Boolean(await this.getToken(name));
  }

  /** A pasted token, or for an OAuth connection a browser sign-in. */
  async hasSecret(c: ConnectionSetting): Promise<boolean> {
    if (await this.hasToken(c.name)) return true;
    return c.authKind === 'oauth' && this.signedIn ? this.signedIn(c.name) : false;
  }

  async setToken(name: string, token: string): Promise<void> {
    await this.secrets.store(SECRET_PREFIX + name, token);
  }

  async clearToken(name: string): Promise<void> {
    await this.secrets.delete(SECRET_PREFIX + name);
  }

  /**
   * Add or replace a connection. Written where the list already lives: the workspace when it
   * defines the setting (and is trusted), the user settings otherwise.
   */
  async upsert(conn: ConnectionSetting, previousName?: string): Promise<void> {
    const { target, current } = this.writableList();
    const oldName = previousName ?? conn.name;
    const next = current.filter((c) => c.name !== oldName && c.name !== conn.name);
    const index = current.findIndex((c) => c.name === oldName);
    next.splice(index < 0 ? next.length : Math.min(index, next.length), 0, stripUndefined(conn));
    await vscode.workspace.getConfiguration(SECTION).update(KEY, next, target);
    if (previousName && previousName !== conn.name) {
      const token = await this.getToken(previousName);
      if (token) await this.setToken(conn.name, token);
      await this.clearToken(previousName);
    }
  }

  async remove(name: string): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const inspected = config.inspect<unknown>(KEY);
    // Remove from every level that defines it, so it doesn't reappear from another scope.
    const levels: [unknown, vscode.ConfigurationTarget][] = [
      [inspected?.globalValue, vscode.ConfigurationTarget.Global],
      [vscode.workspace.isTrusted ? inspected?.workspaceValue : undefined, vscode.ConfigurationTarget.Workspace],
    ];
    for (const [value, target] of levels) {
      const list = sanitizeConnections(value);
      if (list.some((c) => c.name === name)) {
        await config.update(KEY, list.filter((c) => c.name !== name).map(stripUndefined), target);
      }
    }
    await this.clearToken(name);
  }

  private writableList(): { target: vscode.ConfigurationTarget; current: ConnectionSetting[] } {
    const inspected = vscode.workspace.getConfiguration(SECTION).inspect<unknown>(KEY);
    if (vscode.workspace.isTrusted && vscode.workspace.workspaceFolders?.length && Array.isArray(inspected?.workspaceValue)) {
      return { target: vscode.ConfigurationTarget.Workspace, current: sanitizeConnections(inspected?.workspaceValue) };
    }
    return { target: vscode.ConfigurationTarget.Global, current: sanitizeConnections(inspected?.globalValue) };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
