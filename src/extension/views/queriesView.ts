// Saved Queries view: every **/*.zdquery.json in the workspace, kept current by a file watcher,
// with what its checkpoint holds (asked from the engine in the background).
import * as vscode from 'vscode';
import type { CheckpointInfoResult } from '../../protocol/customMessages';
import type { EngineClient } from '../engineClient';
import { plural } from '../format';
import { findQueryFiles, QUERY_GLOB, queryLabel, readQuery, type QuerySummary } from '../queryFiles';
import type { SessionStore } from '../sessionStore';

export class QueryItem extends vscode.TreeItem {
  constructor(readonly uri: vscode.Uri, summary: QuerySummary, info: CheckpointInfoResult | undefined, running: boolean) {
    super(queryLabel(summary), vscode.TreeItemCollapsibleState.None);
    this.id = `query:${uri.toString()}`;
    this.resourceUri = uri;
    const q = summary.query;
    const parts: string[] = [];
    if (summary.parseError) parts.push('invalid JSON');
    else {
      if (q?.resource) parts.push(q.resource);
      if (q?.connection) parts.push(q.connection);
    }
    if (running) parts.push('running');
    else if (info?.exists && info.matchesQuery) parts.push(`${plural(info.records, 'record')}${info.caughtUp ? ', caught up' : ''}`);
    this.description = parts.join(' · ');
    const resumable = Boolean(info?.exists && info.matchesQuery);
    this.contextValue = resumable ? 'query.resumable' : 'query';
    this.iconPath = new vscode.ThemeIcon(running ? 'sync~spin' : summary.parseError ? 'warning' : 'json');
    const tip = new vscode.MarkdownString(`**${queryLabel(summary)}**  \n${vscode.workspace.asRelativePath(uri)}  \n`);
    if (info?.exists) {
      tip.appendMarkdown(`Checkpoint: ${plural(info.records, 'record')} in ${plural(info.pages, 'page')}`);
      if (info.lastRecordTime) tip.appendMarkdown(`, last record ${new Date(info.lastRecordTime * 1000).toISOString()}`);
      if (!info.matchesQuery) tip.appendMarkdown('  \n_The query changed since this checkpoint: the next run starts over._');
    } else {
      tip.appendMarkdown('Not run yet.');
    }
    this.tooltip = tip;
    this.command = { title: 'Open Query', command: 'vscode.open', arguments: [uri] };
  }
}

/**
 * A row of the view: one object per query file for as long as the file exists, so that refreshing a
 * row (its checkpoint, a run starting) never replaces the element that a click on its inline Run
 * is about to pass to the command. Only a change to the list of files refreshes the whole view.
 */
export interface QueryNode {
  readonly uri: vscode.Uri;
}

export class QueriesTreeProvider implements vscode.TreeDataProvider<QueryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<QueryNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly infos = new Map<string, CheckpointInfoResult>();
  private readonly nodes = new Map<string, QueryNode>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private listChanged = false;
  private readonly rowsChanged = new Set<QueryNode>();

  constructor(private readonly engine: EngineClient, private readonly sessions: SessionStore) {
    const watcher = vscode.workspace.createFileSystemWatcher(QUERY_GLOB);
    // Checkpoints tell whether Resume applies and how many records there are.
    const checkpoints = vscode.workspace.createFileSystemWatcher('**/*.checkpoint.json');
    this.disposables.push(
      watcher, checkpoints,
      watcher.onDidCreate(() => this.refresh()), watcher.onDidDelete(() => this.refresh()),
      watcher.onDidChange((uri) => this.refreshRows([uri.toString()])),
      checkpoints.onDidCreate(() => this.reloadInfos()), checkpoints.onDidDelete(() => this.reloadInfos()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      sessions.onDidChange((s) => {
        if (!s) this.refreshRows([...this.nodes.keys()]);
        else if (s.status !== 'running' || s.counts.pages === 0) {
          if (s.queryUri) this.refreshRows([s.queryUri]);
          if (s.status !== 'running') this.reloadInfos();
        }
      }),
      engine.onReady(() => this.reloadInfos()),
    );
  }

  /** The whole view, when the list of query files may have changed. Debounced, like every refresh here. */
  refresh(): void {
    this.listChanged = true;
    this.schedule();
  }

  private refreshRows(uris: string[]): void {
    for (const uri of uris) {
      const node = this.nodes.get(uri);
      if (node) this.rowsChanged.add(node);
    }
    this.schedule();
  }

  /** Debounced: a burst of file events (an export writing pages) refreshes once. */
  private schedule(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      const rows = [...this.rowsChanged];
      this.rowsChanged.clear();
      if (this.listChanged) this.changed.fire(undefined);
      else if (rows.length) this.changed.fire(rows);
      this.listChanged = false;
    }, 300);
  }

  async getTreeItem(node: QueryNode): Promise<vscode.TreeItem> {
    const summary = await readQuery(node.uri).catch((): QuerySummary => ({ uri: node.uri, parseError: 'unreadable' }));
    const running = this.sessions.running().some((s) => s.queryUri === node.uri.toString());
    return new QueryItem(node.uri, summary, this.infos.get(node.uri.toString()), running);
  }

  async getChildren(element?: QueryNode): Promise<QueryNode[]> {
    if (element) return [];
    const uris = await findQueryFiles();
    void vscode.commands.executeCommand('setContext', 'zendesk.hasQueries', uris.length > 0);
    // The welcome says "no saved query" only once a search here found none, not while the first one runs.
    void vscode.commands.executeCommand('setContext', 'zendesk.queriesEmpty', uris.length === 0);
    const keys = new Set(uris.map((u) => u.toString()));
    for (const key of this.nodes.keys()) if (!keys.has(key)) this.nodes.delete(key);
    const nodes = uris.map((uri) => {
      const key = uri.toString();
      let node = this.nodes.get(key);
      if (!node) this.nodes.set(key, (node = { uri }));
      return node;
    });
    void this.loadInfos(uris);
    return nodes;
  }

  private reloadInfos(): void {
    void this.loadInfos([...this.nodes.values()].map((n) => n.uri));
  }

  /** Fetches checkpoint info without holding up the tree; refreshes the rows whose info changed. */
  private async loadInfos(uris: vscode.Uri[]): Promise<void> {
    if (!this.engine.isRunning) return;
    const changed: string[] = [];
    await Promise.all(uris.map(async (uri) => {
      try {
        const info = await this.engine.checkpointInfo({ queryUri: uri.toString() });
        const old = this.infos.get(uri.toString());
        if (!old || old.records !== info.records || old.exists !== info.exists || old.matchesQuery !== info.matchesQuery || old.caughtUp !== info.caughtUp) {
          changed.push(uri.toString());
        }
        this.infos.set(uri.toString(), info);
      } catch {
        // An unreadable query shows as such; diagnostics explain why.
      }
    }));
    if (changed.length) this.refreshRows(changed);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
  }
}
