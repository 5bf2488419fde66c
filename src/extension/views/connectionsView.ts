// Connections view: each configured instance with its base URL and whether a token is set.
import * as vscode from 'vscode';
import { baseUrlOf, type ConnectionSetting, type ConnectionStore } from '../connectionStore';

export class ConnectionItem extends vscode.TreeItem {
  constructor(readonly connection: ConnectionSetting, readonly tokenSet: boolean) {
    super(connection.name, vscode.TreeItemCollapsibleState.Collapsed);
    const url = baseUrlOf(connection);
    this.id = `connection:${connection.name}`;
    this.description = url;
    // connection.<tokenSet|noToken>.<apiToken|oauth>: menus pick Clear Token / Sign In from it.
    this.contextValue = `connection.${tokenSet ? 'tokenSet' : 'noToken'}.${connection.authKind}`;
    this.iconPath = new vscode.ThemeIcon(tokenSet ? 'plug' : 'warning', tokenSet ? undefined : new vscode.ThemeColor('problemsWarningIcon.foreground'));
    const tooltip = new vscode.MarkdownString(`**${connection.name}**  \n${url}  \n`);
    tooltip.appendMarkdown(connection.authKind === 'oauth' ? 'OAuth access token' : `API token for ${connection.email ?? '(no email)'}`);
    tooltip.appendMarkdown(tokenSet ? ' — signed in / token set (in the keychain)' : ' — **no token set**');
    this.tooltip = tooltip;
  }
}

class DetailItem extends vscode.TreeItem {
  constructor(id: string, label: string, icon: string, description?: string, command?: vscode.Command) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.id = id;
    this.iconPath = new vscode.ThemeIcon(icon);
    this.description = description;
    this.command = command;
    this.contextValue = 'connectionDetail';
  }
}

type Node = ConnectionItem | DetailItem;

export class ConnectionsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  /** False until activation has added what it adds (the demo connection): an empty list before that is not "no connection". */
  private loaded = false;

  constructor(private readonly store: ConnectionStore) {
    this.sub = store.onDidChange(() => this.changed.fire(undefined));
  }

  /** Activation has settled the list: from now on an empty one is shown as such. */
  markLoaded(): void {
    this.loaded = true;
    this.changed.fire(undefined);
  }

  getTreeItem(element: Node): vscode.TreeItem {
    return element;
  }

  async getChildren(element?: Node): Promise<Node[]> {
    if (!element) {
      const list = this.store.list();
      void vscode.commands.executeCommand('setContext', 'zendesk.hasConnections', list.length > 0);
      // The welcome says "no connection" only for a list computed empty here, never while one is on its way.
      void vscode.commands.executeCommand('setContext', 'zendesk.connectionsEmpty', this.loaded && list.length === 0);
      return Promise.all(list.map(async (c) => new ConnectionItem(c, await this.store.hasSecret(c))));
    }
    if (element instanceof ConnectionItem) {
      const c = element.connection;
      const prefix = `connection:${c.name}:`;
      const authLabel = c.authKind === 'oauth' ? 'OAuth access token' : 'API token';
      return [
        new DetailItem(`${prefix}url`, baseUrlOf(c), 'globe', 'base URL'),
        new DetailItem(`${prefix}auth`, c.authKind === 'oauth' ? authLabel : `${authLabel} · ${c.email ?? 'no email'}`, 'account', 'auth'),
        element.tokenSet
          ? new DetailItem(`${prefix}token`, c.authKind === 'oauth' ? 'Signed in / token set' : 'Token set', 'key', 'in the keychain')
          : c.authKind === 'oauth'
            ? new DetailItem(`${prefix}token`, 'Not signed in', 'warning', 'click to sign in', { title: 'Sign In', command: 'zendesk.signIn', arguments: [c.name] })
            : new DetailItem(`${prefix}token`, 'No token set', 'warning', 'click to set', { title: 'Set Token', command: 'zendesk.setToken', arguments: [c.name] }),
      ];
    }
    return [];
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
