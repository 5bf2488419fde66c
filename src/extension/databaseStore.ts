// PostgreSQL connections of table outputs: names and URLs (without a password) in the setting
// `zendesk.databases`, passwords only in context.secrets (the OS keychain on desktop), asked the
// first time the engine needs one. A password is stored with the server it was given for, so a
// connection whose URL changes later (a workspace's settings can redefine it) never takes the
// password along unasked. The one place that knows both.
import * as vscode from 'vscode';
import { isPostgresUrl, postgresUrlProblem } from '../engine/query';
import type { GetDatabaseConnectionResult } from '../protocol/customMessages';

/** One entry of the `zendesk.databases` setting. */
export interface DatabaseSetting {
  name: string;
  /** postgresql://user@host:port/database?sslmode=… without a password. */
  url: string;
}

const SECTION = 'zendesk';
const KEY = 'databases';
const SECRET_PREFIX = 'zendesk.database.password:';

interface StoredPassword {
  password: string;
  /** user@host:port/database the password was given for. */
  server: string;
}

/** Settings are edited by hand too: keep the entries that have a name and a URL. */
export function sanitizeDatabases(raw: unknown): DatabaseSetting[] {
  if (!Array.isArray(raw)) return [];
  const out: DatabaseSetting[] = [];
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue;
    const r = item as Record<string, unknown>;
    if (typeof r.name !== 'string' || !r.name.trim() || typeof r.url !== 'string' || !r.url.trim()) continue;
    out.push({ name: r.name.trim(), url: r.url.trim() });
  }
  return out;
}

/** user@host:port/database of a URL: what a password belongs to. */
export function serverOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || new URLSearchParams(u.search).get('host') || 'localhost';
    return `${decodeURIComponent(u.username)}@${decodeURIComponent(host)}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return url;
  }
}

export class DatabaseStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  /** One prompt per connection at a time: the tree, the grid and an export may all ask at once. */
  private readonly asking = new Map<string, Promise<GetDatabaseConnectionResult>>();

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.${KEY}`)) this.changed.fire();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
    );
  }

  list(): DatabaseSetting[] {
    return sanitizeDatabases(vscode.workspace.getConfiguration(SECTION).get<unknown>(KEY));
  }

  get(name: string): DatabaseSetting | undefined {
    return this.list().find((d) => d.name === name);
  }

  /** Adds (or replaces) a connection in the user settings; never a password (the URL is checked for one first). */
  async add(entry: DatabaseSetting): Promise<void> {
    const problem = postgresUrlProblem(entry.url);
    if (problem) throw new Error(`The URL ${problem}.`);
    const config = vscode.workspace.getConfiguration(SECTION);
    const current = sanitizeDatabases(config.inspect<unknown>(KEY)?.globalValue);
    await config.update(KEY, [...current.filter((d) => d.name !== entry.name), { name: entry.name, url: entry.url }], vscode.ConfigurationTarget.Global);
  }

  /** The URL a query's `output.connection` names (a setting's name, or a URL itself). */
  urlOf(connection: string): string | undefined {
    return isPostgresUrl(connection) ? connection.trim() : this.get(connection)?.url;
  }

  /**
   * What the engine needs to connect: the URL, and the password stored for that server, asked the
   * first time (an empty answer means none is needed, and is kept too). Never a password in a URL.
   */
  async connectionFor(connection: string, reason: 'export' | 'read' | 'status'): Promise<GetDatabaseConnectionResult> {
    const url = this.urlOf(connection);
    if (!url) {
      const names = this.list().map((d) => d.name);
      return { refused: `There is no database connection named "${connection}"; add { "name": "${connection}", "url": "postgresql://user@host/database" } to the setting zendesk.databases${names.length ? ` (defined: ${names.join(', ')})` : ''}.` };
    }
    const problem = postgresUrlProblem(url);
    if (problem) return { refused: `The database connection "${connection}" ${problem}.` };
    const stored = await this.stored(connection);
    if (stored && stored.server === serverOf(url)) return stored.password ? { url, password: stored.password } : { url };
    // A CodeLens or a tree asking what a checkpoint holds never brings up a prompt.
    if (reason === 'status') return { refused: `The password of the database connection "${connection}" is not known yet; it is asked at the first export or when its tables are opened.` };
    let pending = this.asking.get(connection);
    if (!pending) {
      pending = this.ask(connection, url, reason, stored !== undefined).finally(() => this.asking.delete(connection));
      this.asking.set(connection, pending);
    }
    return pending;
  }

  private async ask(connection: string, url: string, reason: 'export' | 'read' | 'status', moved: boolean): Promise<GetDatabaseConnectionResult> {
    const server = serverOf(url);
    const password = await vscode.window.showInputBox({
      title: `Password for the database connection "${connection}"`,
      prompt: `${moved ? 'The connection now names another server: ' : ''}${server}${reason === 'export' ? ' (for the export)' : ''}. Leave empty when it needs none. Kept in the OS keychain, never in settings.`,
      password: true,
      ignoreFocusOut: true,
    });
    if (password === undefined) return { refused: `No password was given for the database connection "${connection}"; set one with "Zendesk: Set Database Password" and try again.` };
    await this.secrets.store(SECRET_PREFIX + connection, JSON.stringify({ password, server } satisfies StoredPassword));
    return password ? { url, password } : { url };
  }

  private async stored(connection: string): Promise<StoredPassword | undefined> {
    const raw = await this.secrets.get(SECRET_PREFIX + connection);
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as Partial<StoredPassword>;
      return typeof v.password === 'string' && typeof v.server === 'string' ? { password: v.password, server: v.server } : undefined;
    } catch {
      return undefined;
    }
  }

  /** "Set Database Password": replaces the stored one (asked now). */
  async setPassword(connection?: string): Promise<void> {
    const name = connection ?? (await this.pick('Set the password of which database connection?'));
    if (!name) return;
    const url = this.urlOf(name);
    if (!url) {
      void vscode.window.showErrorMessage(`There is no database connection named "${name}" in the setting zendesk.databases.`);
      return;
    }
    await this.secrets.delete(SECRET_PREFIX + name);
    const answer = await this.ask(name, url, 'read', false);
    if (answer && 'url' in answer) void vscode.window.showInformationMessage(`Saved the password of "${name}" in the OS keychain.`);
  }

  async clearPassword(connection?: string): Promise<void> {
    const name = connection ?? (await this.pick('Forget the password of which database connection?'));
    if (!name) return;
    await this.secrets.delete(SECRET_PREFIX + name);
    void vscode.window.showInformationMessage(`Forgot the password of "${name}"; it is asked again when next needed.`);
  }

  private async pick(placeHolder: string): Promise<string | undefined> {
    const all = this.list();
    if (all.length === 0) {
      void vscode.window.showInformationMessage('No database connection yet: add { "name", "url" } entries to the setting zendesk.databases.', 'Open Settings')
        .then((p) => p && vscode.commands.executeCommand('workbench.action.openSettings', 'zendesk.databases'));
      return undefined;
    }
    if (all.length === 1) return all[0].name;
    return (await vscode.window.showQuickPick(all.map((d) => ({ label: d.name, description: serverOf(d.url) })), { placeHolder }))?.label;
  }

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('zendesk.setDatabasePassword', (name?: unknown) => this.setPassword(typeof name === 'string' ? name : undefined)),
      vscode.commands.registerCommand('zendesk.clearDatabasePassword', (name?: unknown) => this.clearPassword(typeof name === 'string' ? name : undefined)),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
