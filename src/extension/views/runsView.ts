// Runs view: live and past export sessions with status, counts and output files; the view's
// badge counts the running ones.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SessionInfo } from '../../protocol/customMessages';
import { countsText, plural, statusText } from '../format';
import type { SessionStore } from '../sessionStore';

const STATUS_ICON: Record<SessionInfo['status'], [string, string | undefined]> = {
  running: ['sync~spin', undefined],
  done: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
};

export class RunItem extends vscode.TreeItem {
  constructor(readonly session: SessionInfo) {
    super(session.queryName, session.files.length || session.error ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    this.id = `run:${session.sessionId}`;
    this.description = `${statusText(session)} · ${countsText(session.counts)}`;
    const waiting = session.status === 'running' && session.counts.waitingUntil && session.counts.waitingUntil > Date.now();
    const [icon, color] = waiting ? ['watch', undefined] : STATUS_ICON[session.status];
    this.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    this.contextValue = `run.${session.status}`;
    const c = session.counts;
    const tip = new vscode.MarkdownString(`**${session.queryName}** — ${session.status}${session.resumed ? ' (resumed)' : ''}  \n`);
    tip.appendMarkdown(`${session.endpointId || session.resource} on ${session.connectionName}  \n`);
    tip.appendMarkdown(`Started ${new Date(session.startedAt).toLocaleString()}${session.endedAt ? `, ended ${new Date(session.endedAt).toLocaleString()}` : ''}  \n`);
    tip.appendMarkdown(`${countsText(c)}; this run: ${[plural(c.sessionRecords, 'record'), plural(c.requests, 'request'), plural(c.retries, 'retry', 'retries'), `${plural(c.duplicatesDropped, 'duplicate')} dropped`].join(', ')}`);
    if (session.error) tip.appendMarkdown(`  \n\n${session.error.message}`);
    this.tooltip = tip;
  }
}

export class RunFileItem extends vscode.TreeItem {
  constructor(readonly session: SessionInfo, readonly file: string) {
    super(vscode.Uri.file(file), vscode.TreeItemCollapsibleState.None);
    this.id = `run:${session.sessionId}:${file}`;
    this.description = vscode.workspace.asRelativePath(path.dirname(file));
    this.contextValue = 'runFile';
    // A database file is no text to open: its tables open in the grid, the run's current state first.
    this.command = session.database?.kind === 'duckdb' && path.resolve(file) === path.resolve(session.database.path)
      ? { title: 'Open in Grid', command: 'zendesk.openInGrid', arguments: [{ database: session.database }] }
      : { title: 'Open', command: 'vscode.open', arguments: [vscode.Uri.file(file)] };
  }
}

class RunErrorItem extends vscode.TreeItem {
  constructor(session: SessionInfo) {
    super(session.error?.message ?? '', vscode.TreeItemCollapsibleState.None);
    this.id = `run:${session.sessionId}:error`;
    this.iconPath = new vscode.ThemeIcon('info');
    this.tooltip = session.error?.message;
  }
}

type Node = RunItem | RunFileItem | RunErrorItem;

export class RunsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private view: vscode.TreeView<Node> | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly sessions: SessionStore) {
    this.disposables.push(sessions.onDidChange(() => this.schedule()));
  }

  attach(view: vscode.TreeView<Node>): void {
    this.view = view;
    this.updateBadge();
  }

  /** Progress arrives per page; repaint at most a few times a second. */
  private schedule(): void {
    this.updateBadge();
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.changed.fire(undefined);
    }, 250);
  }

  private updateBadge(): void {
    if (!this.view) return;
    const running = this.sessions.running().length;
    this.view.badge = running ? { value: running, tooltip: `${running} Zendesk export${running === 1 ? '' : 's'} running` } : undefined;
  }

  getTreeItem(element: Node): vscode.TreeItem {
    return element;
  }

  getChildren(element?: Node): Node[] {
    if (!element) return this.sessions.list().map((s) => new RunItem(s));
    if (element instanceof RunItem) {
      const s = this.sessions.get(element.session.sessionId) ?? element.session;
      return [...(s.error && s.status === 'failed' ? [new RunErrorItem(s)] : []), ...s.files.map((f) => new RunFileItem(s, f))];
    }
    return [];
  }

  dispose(): void {
    clearTimeout(this.pending);
    for (const d of this.disposables) d.dispose();
  }
}
