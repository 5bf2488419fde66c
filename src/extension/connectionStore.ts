// Connections live in settings (`zendesk.connections`); their tokens live only in
// context.secrets (the OS keychain on desktop). This is the one place that knows both. A token is
// stored with the origin it was set for, so a connection whose URL changes later (a workspace's
// settings can redefine it) doesn't carry the token along unasked (see auth/hostBinding.ts).
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

/** scheme://host[:port] of a base URL, or undefined when it is none. */
export function originOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  try {
    const origin = new URL(baseUrl).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** A stored token and the origin it was set for; no origin: stored before tokens were bound to hosts. */
export interface StoredToken {
  token: string;
  origin?: string;
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
    return (await this.getStoredToken(name))?.token;
  }

  /** The token with the origin it belongs to. Stored as JSON since tokens are bound to hosts; before that, the token alone. */
  async getStoredToken(name: string): Promise<StoredToken | undefined> {
    const raw = await this.secrets.get(SECRET_PREFIX + name);
    if (!raw) return undefined;
    if (raw.startsWith('{')) {
      try {
        const v = JSON.parse(raw) as Partial<StoredToken>;
        if (typeof v.token === 'string' && v.token && typeof v.origin === 'string') return { token: v.token, origin: v.origin };
      } catch {
        // Not ours: a token that happens to start with a brace.
      }
    }
    return { token: raw };
  }

  /** The origin the user's own (global) settings give a connection: a workspace can't have put it there. */
  userLevelOrigin(name: string): string | undefined {
    const inspected = vscode.workspace.getConfiguration(SECTION).inspect<unknown>(KEY);
    const own = sanitizeConnections(inspected?.globalValue).find((c) => c.name === name);
    return own ? originOf(baseUrlOf(own)) : undefined;
  }

  async hasToken(name: string): Promise<boolean> {
    return Boolean(await this.getToken(name));
  }

  /** A pasted token, or for an OAuth connection a browser sign-in. */
  async hasSecret(c: ConnectionSetting): Promise<boolean> {
    if (await this.hasToken(c.name)) return true;
    return c.authKind === 'oauth' && this.signedIn ? this.signedIn(c.name) : false;
  }

  /** Stores a token for the origin the connection has now (or `origin`): it is sent nowhere else unasked. */
  async setToken(name: string, token: string, origin?: string): Promise<void> {
    const conn = this.get(name);
    const bound = origin ?? (conn ? originOf(baseUrlOf(conn)) : undefined);
    await this.secrets.store(SECRET_PREFIX + name, bound ? JSON.stringify({ token, origin: bound } satisfies StoredToken) : token);
  }

  /** Binds the stored token to another origin (the person agreed to send it there). */
  async bindToken(name: string, origin: string): Promise<void> {
    const stored = await this.getStoredToken(name);
    if (stored) await this.setToken(name, stored.token, origin);
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
      // A rename keeps the token's host: a changed URL is asked about at first use, as any other.
      const stored = await this.getStoredToken(previousName);
      if (stored) await this.secrets.store(SECRET_PREFIX + conn.name, stored.origin ? JSON.stringify(stored) : stored.token);
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
