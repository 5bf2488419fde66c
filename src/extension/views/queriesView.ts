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

export class QueriesTreeProvider implements vscode.TreeDataProvider<QueryItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<QueryItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly infos = new Map<string, CheckpointInfoResult>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly engine: EngineClient, private readonly sessions: SessionStore) {
    const watcher = vscode.workspace.createFileSystemWatcher(QUERY_GLOB);
    // Checkpoints tell whether Resume applies and how many records there are.
    const checkpoints = vscode.workspace.createFileSystemWatcher('**/*.checkpoint.json');
    this.disposables.push(
      watcher, checkpoints,
      watcher.onDidCreate(() => this.refresh()), watcher.onDidDelete(() => this.refresh()), watcher.onDidChange(() => this.refresh()),
      checkpoints.onDidCreate(() => this.refresh()), checkpoints.onDidDelete(() => this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      sessions.onDidChange((s) => {
        if (!s || s.status !== 'running' || s.counts.pages === 0) this.refresh();
      }),
      engine.onReady(() => this.refresh()),
    );
  }

  /** Debounced: a burst of file events (an export writing pages) refreshes once. */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.changed.fire(undefined), 300);
  }

  getTreeItem(element: QueryItem): vscode.TreeItem {
    return element;
  }

  async getChildren(element?: QueryItem): Promise<QueryItem[]> {
    if (element) return [];
    const uris = await findQueryFiles();
    void vscode.commands.executeCommand('setContext', 'zendesk.hasQueries', uris.length > 0);
    // The welcome says "no saved query" only once a search here found none, not while the first one runs.
    void vscode.commands.executeCommand('setContext', 'zendesk.queriesEmpty', uris.length === 0);
    const running = new Set(this.sessions.running().map((s) => s.queryUri));
    const items = await Promise.all(uris.map(async (uri) => {
      const summary = await readQuery(uri).catch((): QuerySummary => ({ uri, parseError: 'unreadable' }));
      return new QueryItem(uri, summary, this.infos.get(uri.toString()), running.has(uri.toString()));
    }));
    void this.loadInfos(uris);
    return items;
  }

  /** Fetches checkpoint info without holding up the tree; refreshes once if anything changed. */
  private async loadInfos(uris: vscode.Uri[]): Promise<void> {
    if (!this.engine.isRunning) return;
    let changed = false;
    await Promise.all(uris.map(async (uri) => {
      try {
        const info = await this.engine.checkpointInfo({ queryUri: uri.toString() });
        const old = this.infos.get(uri.toString());
        if (!old || old.records !== info.records || old.exists !== info.exists || old.matchesQuery !== info.matchesQuery || old.caughtUp !== info.caughtUp) {
          changed = true;
        }
        this.infos.set(uri.toString(), info);
      } catch {
        // An unreadable query shows as such; diagnostics explain why.
      }
    }));
    if (changed) this.changed.fire(undefined);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
  }
}
