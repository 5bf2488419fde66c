// Add / Edit / Remove / Test a connection, Set / Clear its token. Every command also takes its
// input as an argument (tree item, name, or a full description) so tests and other commands
// can call it without prompts.
import * as vscode from 'vscode';
import { baseUrlOf, toConnectionRef, type ConnectionSetting, type ConnectionStore } from './connectionStore';
import type { EngineClient } from './engineClient';
import { presentError, presentMissingSecret } from './errorPresentation';

/** Argument of zendesk.addConnection / editConnection when called programmatically. */
export interface ConnectionInput extends Partial<ConnectionSetting> {
  token?: string;
}

type ConnTarget = string | { connection?: ConnectionSetting } | ConnectionInput | undefined;

const SUBDOMAIN = /^[a-z0-9][a-z0-9-]*$/i;

export function validateBaseInput(value: string): string | undefined {
  const v = value.trim();
  if (!v) return 'Enter a subdomain (acme) or a base URL (https://support.acme.com).';
  if (/^https?:\/\//i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return 'That is not a valid URL.';
    }
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol === 'http:' && !loopback) return 'Use https: plain http is only allowed for a local simulator (127.0.0.1).';
    return undefined;
  }
  if (v.includes('.')) return 'Enter just the subdomain (acme for acme.zendesk.com), or a full URL starting with https://.';
  return SUBDOMAIN.test(v) ? undefined : 'A subdomain has only letters, digits and dashes.';
}

/** Only the fields that belong in settings: a token passed alongside must never be written there. */
function settingOf(input: ConnectionInput): ConnectionSetting {
  return {
    name: (input.name ?? '').trim(),
    authKind: input.authKind === 'oauth' ? 'oauth' : 'apiToken',
    ...(input.url ? { url: input.url.trim().replace(/\/+$/, '') } : input.subdomain ? { subdomain: input.subdomain.trim().toLowerCase() } : {}),
    ...(input.email ? { email: input.email.trim() } : {}),
    ...(input.oauthClientId ? { oauthClientId: input.oauthClientId.trim() } : {}),
  };
}

export class ConnectionCommands {
  constructor(
    private readonly store: ConnectionStore,
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('zendesk.addConnection', (input?: ConnectionInput) => this.add(input)),
      vscode.commands.registerCommand('zendesk.editConnection', (t?: ConnTarget, input?: ConnectionInput) => this.edit(t, input)),
      vscode.commands.registerCommand('zendesk.removeConnection', (t?: ConnTarget, opts?: { confirm?: boolean }) => this.remove(t, opts)),
      vscode.commands.registerCommand('zendesk.testConnection', (t?: ConnTarget) => this.test(t)),
      vscode.commands.registerCommand('zendesk.setToken', (t?: ConnTarget, token?: string) => this.setToken(t, token)),
      vscode.commands.registerCommand('zendesk.clearToken', (t?: ConnTarget) => this.clearToken(t)),
    ];
  }

  /** Returns the connection's name when one was added. */
  async add(input: ConnectionInput = {}): Promise<string | undefined> {
    const complete = input.name && (input.subdomain || input.url) && input.authKind;
    const conn = complete ? settingOf(input) : await this.prompt(input, 'Add Connection');
    if (!conn) return undefined;
    await this.store.upsert(conn);
    if (!complete && !input.token && conn.authKind === 'oauth') {
      const how = await vscode.window.showQuickPick(
        [{ label: 'Sign in with the browser', description: 'recommended: refreshed automatically', signIn: true }, { label: 'Paste an OAuth access token', signIn: false }],
        { title: `Sign in to "${conn.name}"`, ignoreFocusOut: true },
      );
      if (how?.signIn) {
        await vscode.commands.executeCommand('zendesk.signIn', conn.name);
        return conn.name;
      }
      if (!how) return conn.name;
    }
    const token = input.token ?? (complete ? undefined : await this.askToken(conn));
    if (token) await this.store.setToken(conn.name, token);
    this.log.info(`Connection "${conn.name}" (${baseUrlOf(conn)}) saved${token ? ' with a token' : ''}.`);
    if (!complete && token) void this.test(conn.name);
    return conn.name;
  }

  async edit(target: ConnTarget, input?: ConnectionInput): Promise<string | undefined> {
    const current = await this.pick(target, 'Edit which connection?');
    if (!current) return undefined;
    const next = input ? settingOf({ ...current, ...input }) : await this.prompt(current, 'Edit Connection');
    if (!next) return undefined;
    await this.store.upsert(next, current.name);
    if (input?.token) await this.store.setToken(next.name, input.token);
    return next.name;
  }

  async remove(target: ConnTarget, opts: { confirm?: boolean } = {}): Promise<boolean> {
    const conn = await this.pick(target, 'Remove which connection?');
    if (!conn) return false;
    if (opts.confirm !== false) {
      const pick = await vscode.window.showWarningMessage(
        `Remove connection "${conn.name}"?`,
        { modal: true, detail: 'Its token is deleted from the keychain. Saved queries that use it stay as they are.' },
        'Remove',
      );
      if (pick !== 'Remove') return false;
    }
    await this.store.remove(conn.name);
    this.log.info(`Connection "${conn.name}" removed.`);
    return true;
  }

  async test(target: ConnTarget): Promise<boolean> {
    const conn = await this.pick(target, 'Test which connection?');
    if (!conn) return false;
    if (!(await this.store.hasSecret(conn))) {
      await presentMissingSecret(conn);
      return false;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Zendesk: testing "${conn.name}"…` },
      () => this.engine.testConnection(toConnectionRef(conn)),
    ).then((r) => r, (err: unknown) => ({ ok: false as const, error: { code: 'internal' as const, message: err instanceof Error ? err.message : String(err) } }));
    if (result.ok) {
      this.log.info(`Connection "${conn.name}" works: signed in as ${result.user.name} (${result.user.role}).`);
      void vscode.window.showInformationMessage(`"${conn.name}" works: signed in as ${result.user.name} <${result.user.email}> (${result.user.role}).`);
      return true;
    }
    await presentError(this.log, result.error, { connectionName: conn.name });
    return false;
  }

  async setToken(target: ConnTarget, token?: string): Promise<boolean> {
    const conn = await this.pick(target, 'Set the token of which connection?');
    if (!conn) return false;
    const value = token ?? (await this.askToken(conn));
    if (!value) return false;
    await this.store.setToken(conn.name, value);
    this.log.info(`Token of "${conn.name}" stored in the secret storage.`);
    return true;
  }

  async clearToken(target: ConnTarget): Promise<boolean> {
    const conn = await this.pick(target, 'Clear the token of which connection?');
    if (!conn) return false;
    await this.store.clearToken(conn.name);
    this.log.info(`Token of "${conn.name}" cleared.`);
    return true;
  }

  private async pick(target: ConnTarget, placeHolder: string): Promise<ConnectionSetting | undefined> {
    const name = typeof target === 'string' ? target
      : target && 'connection' in target && target.connection ? target.connection.name
        : target && 'name' in target ? target.name : undefined;
    if (name) {
      const found = this.store.get(name);
      if (!found) void vscode.window.showErrorMessage(`There is no connection named "${name}".`);
      return found;
    }
    const all = this.store.list();
    if (all.length === 0) {
      const pick = await vscode.window.showInformationMessage('No Zendesk connection is configured yet.', 'Add Connection');
      if (pick) await this.add();
      return undefined;
    }
    if (all.length === 1) return all[0];
    const chosen = await vscode.window.showQuickPick(all.map((c) => ({ label: c.name, description: baseUrlOf(c), c })), { placeHolder });
    return chosen?.c;
  }

  private async askToken(conn: ConnectionSetting): Promise<string | undefined> {
    const token = await vscode.window.showInputBox({
      // The token is bound to this host: it is sent nowhere else without asking.
      title: `Token for "${conn.name}" (${baseUrlOf(conn)})`,
      prompt: conn.authKind === 'oauth' ? 'OAuth access token' : `API token for ${conn.email ?? 'the agent'} (Admin Center → Apps and integrations → Zendesk API)`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'The token cannot be empty.'),
    });
    return token?.trim() || undefined;
  }

  /** Asks name, subdomain/URL, auth kind and email; prefilled from `seed`. */
  private async prompt(seed: Partial<ConnectionSetting>, title: string): Promise<ConnectionSetting | undefined> {
    const existing = new Set(this.store.list().map((c) => c.name));
    const where = await vscode.window.showInputBox({
      title: `${title} (1/4)`, prompt: 'Zendesk subdomain, or the full base URL', placeHolder: 'acme  or  https://support.acme.com',
      value: seed.url ?? seed.subdomain ?? '', ignoreFocusOut: true, validateInput: validateBaseInput,
    });
    if (where === undefined) return undefined;
    const isUrl = /^https?:\/\//i.test(where.trim());
    const defaultName = seed.name ?? (isUrl ? new URL(where.trim()).host : where.trim());
    const name = await vscode.window.showInputBox({
      title: `${title} (2/4)`, prompt: 'A name for this connection (saved queries refer to it)', value: defaultName, ignoreFocusOut: true,
      validateInput: (v) => (!v.trim() ? 'Enter a name.' : v.trim() !== seed.name && existing.has(v.trim()) ? `"${v.trim()}" already exists.` : undefined),
    });
    if (name === undefined) return undefined;
    const auth = await vscode.window.showQuickPick(
      [
        { label: 'API token', description: 'email + API token', auth: 'apiToken' as const, picked: seed.authKind !== 'oauth' },
        { label: 'OAuth access token', description: 'Bearer token', auth: 'oauth' as const, picked: seed.authKind === 'oauth' },
      ],
      { title: `${title} (3/4)`, placeHolder: 'How do you authenticate?', ignoreFocusOut: true },
    );
    if (!auth) return undefined;
    let email: string | undefined;
    if (auth.auth === 'apiToken') {
      email = await vscode.window.showInputBox({
        title: `${title} (4/4)`, prompt: 'Email of the admin the token belongs to', value: seed.email ?? '', ignoreFocusOut: true,
        validateInput: (v) => (/^[^@\s]+@[^@\s]+$/.test(v.trim()) ? undefined : 'Enter an email address.'),
      });
      if (email === undefined) return undefined;
    }
    return {
      name: name.trim(), authKind: auth.auth, email: email?.trim(),
      ...(isUrl ? { url: where.trim().replace(/\/+$/, '') } : { subdomain: where.trim().toLowerCase() }),
    };
  }
}
