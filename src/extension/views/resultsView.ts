// Results view: the tables of every table output (a saved query whose output is DuckDB or
// PostgreSQL, or a run that wrote one) with their row counts, read by the engine. Counts follow a
// running export: each page it reports refreshes the tables of the database it writes. A table
// expands to its columns; clicking it opens the grid.
import * as vscode from 'vscode';
import type { DatabaseRef, ListTablesResult, SessionInfo, TableColumn, TableInfo } from '../../protocol/customMessages';
import type { EngineClient } from '../engineClient';
import { plural } from '../format';
import { databaseKey, databaseLabel } from '../grid/sources';
import { findQueryFiles, QUERY_GLOB, queryLabel, readQuery } from '../queryFiles';
import type { SessionStore } from '../sessionStore';

/** The formats whose output the engine lists as tables (a Parquet folder's through DuckDB). */
const DATABASE_FORMATS = new Set(['duckdb', 'postgres', 'parquet']);

const KIND_NAME: Record<string, string> = { duckdb: 'DuckDB', postgres: 'PostgreSQL', parquet: 'Parquet' };

const ROLE_TEXT: Record<NonNullable<TableInfo['role']>, string> = {
  current: 'Current state: the newest version of each record',
  changes: 'Change log: every exported version, with its position',
  deleted: 'Deleted records',
  fields: 'Custom fields and the columns they got',
  sideload: 'Sideloaded records',
  checkpoint: 'The export\'s checkpoint (committed with the rows)',
};

/** A saved query with a table output, or a run that wrote tables without one. */
export interface DatabaseNode {
  readonly type: 'database';
  readonly key: string;
  label: string;
  queryUri?: vscode.Uri;
  /** Known from the run, or from the engine's answer for the query. */
  database?: DatabaseRef;
  listed?: ListTablesResult;
  error?: string;
  /** PostgreSQL roots start collapsed: listing them may ask for a password. */
  format?: string;
  /** Whether its line, as last drawn, says "writing" (a listing may tell otherwise: drawn again). */
  drawnWriting?: boolean;
}

export interface TableNode {
  readonly type: 'table';
  readonly parent: DatabaseNode;
  readonly database: DatabaseRef;
  readonly table: string;
  readonly info: TableInfo;
}

interface ColumnNode {
  readonly type: 'column';
  readonly parent: TableNode;
  readonly column: TableColumn;
}

interface MessageNode {
  readonly type: 'message';
  readonly parent: DatabaseNode;
  readonly text: string;
  readonly icon: string;
}

export type ResultsNode = DatabaseNode | TableNode | ColumnNode | MessageNode;

export class ResultsTreeProvider implements vscode.TreeDataProvider<ResultsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ResultsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  /** Root nodes by key, kept across refreshes so a refresh of one keeps the others as they are. */
  private readonly roots = new Map<string, DatabaseNode>();
  /** Roots waiting to be refreshed (pages arrive many times a second; the tree repaints a few times). */
  private readonly due = new Set<DatabaseNode>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private rootsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly engine: EngineClient, private readonly sessions: SessionStore) {
    const watcher = vscode.workspace.createFileSystemWatcher(QUERY_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refresh()), watcher.onDidDelete(() => this.refresh()), watcher.onDidChange(() => this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      engine.onProgress(({ sessionId, event }) => {
        if (event.type === 'page' || event.type === 'done') this.sessionWrote(sessionId);
      }),
      sessions.onDidChange((s) => {
        // A run started or ended: the roots (a run without a query file) and the "writing" mark change.
        if (!s || s.status !== 'running' || s.counts.pages === 0) this.refresh();
        if (s && s.status !== 'running') this.sessionWrote(s.sessionId);
      }),
      engine.onReady(() => this.refresh()),
    );
  }

  /** Everything again (debounced). */
  refresh(): void {
    clearTimeout(this.rootsTimer);
    this.rootsTimer = setTimeout(() => this.changed.fire(undefined), 300);
  }

  /** The tables of the database a session writes, counted again soon. */
  private sessionWrote(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s?.database) return;
    const key = databaseKey(s.database);
    for (const root of this.roots.values()) {
      if ((root.database && databaseKey(root.database) === key) || (s.queryUri && root.queryUri?.toString() === s.queryUri)) this.due.add(root);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const roots = [...this.due];
      this.due.clear();
      for (const r of roots) this.changed.fire(r);
    }, 400);
  }

  getTreeItem(node: ResultsNode): vscode.TreeItem {
    switch (node.type) {
      case 'database': return this.databaseItem(node);
      case 'table': return tableItem(node);
      case 'column': {
        const item = new vscode.TreeItem(node.column.name, vscode.TreeItemCollapsibleState.None);
        item.id = `results:${node.parent.parent.key}:${node.parent.table}:${node.column.name}`;
        item.description = node.column.type;
        item.iconPath = new vscode.ThemeIcon('symbol-field');
        item.contextValue = 'resultsColumn';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `results:${node.parent.key}:message`;
        item.iconPath = new vscode.ThemeIcon(node.icon);
        item.tooltip = node.text;
        return item;
      }
    }
  }

  private databaseItem(node: DatabaseNode): vscode.TreeItem {
    const collapsed = node.format === 'postgres' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded;
    const item = new vscode.TreeItem(node.label, collapsed);
    item.id = `results:${node.key}`;
    const writing = node.listed?.writing ?? this.writing(node);
    node.drawnWriting = writing;
    const kind = KIND_NAME[node.database?.kind ?? node.format ?? 'duckdb'] ?? 'DuckDB';
    const where = node.database ? databaseLabel(node.database) : kind;
    item.description = [node.database ? `${kind} · ${where}` : where, writing ? 'writing' : ''].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(writing ? 'sync~spin' : 'database');
    item.contextValue = `results.${node.database?.kind ?? node.format ?? 'duckdb'}`;
    const tip = new vscode.MarkdownString(`**${node.label}**  \n${where}`);
    if (node.queryUri) tip.appendMarkdown(`  \nQuery: ${vscode.workspace.asRelativePath(node.queryUri)}`);
    if (node.listed) tip.appendMarkdown(`  \n${plural(node.listed.tables.length, 'table')}`);
    item.tooltip = tip;
    return item;
  }

  private writing(node: DatabaseNode): boolean {
    return this.sessions.running().some((s) => (node.queryUri && s.queryUri === node.queryUri.toString()) || (s.database && node.database && databaseKey(s.database) === databaseKey(node.database)));
  }

  async getChildren(node?: ResultsNode): Promise<ResultsNode[]> {
    if (!node) return this.rootNodes();
    if (node.type === 'database') return this.tablesOf(node);
    if (node.type === 'table') return node.info.columns.map((column): ColumnNode => ({ type: 'column', parent: node, column }));
    return [];
  }

  getParent(node: ResultsNode): ResultsNode | undefined {
    return node.type === 'database' ? undefined : node.parent;
  }

  /** Saved queries with a database output, then runs that wrote a database no listed query names. */
  private async rootNodes(): Promise<DatabaseNode[]> {
    const uris = await findQueryFiles();
    const out: DatabaseNode[] = [];
    for (const uri of uris) {
      const summary = await readQuery(uri).catch(() => undefined);
      const format = summary?.query?.output?.format;
      if (!summary || typeof format !== 'string' || !DATABASE_FORMATS.has(format)) continue;
      const node = this.root(`query:${uri.toString()}`, { label: queryLabel(summary), queryUri: uri, format });
      out.push(node);
    }
    const shown = new Set(out.flatMap((n) => (n.database ? [databaseKey(n.database)] : [])));
    const queries = new Set(out.map((n) => n.queryUri?.toString()));
    for (const s of this.sessions.list()) {
      if (!s.database || (s.queryUri && queries.has(s.queryUri))) continue;
      const key = databaseKey(s.database);
      if (shown.has(key)) continue;
      shown.add(key);
      out.push(this.root(`run:${key}`, { label: s.queryName, database: s.database, format: s.database.kind }));
    }
    for (const key of [...this.roots.keys()]) if (!out.some((n) => n.key === key)) this.roots.delete(key);
    void vscode.commands.executeCommand('setContext', 'zendesk.hasResults', out.length > 0);
    return out;
  }

  private root(key: string, fields: Pick<DatabaseNode, 'label' | 'queryUri' | 'database' | 'format'>): DatabaseNode {
    const node = this.roots.get(key) ?? { type: 'database', key, label: fields.label };
    Object.assign(node, { label: fields.label, queryUri: fields.queryUri, format: fields.format });
    if (fields.database) node.database = fields.database;
    this.roots.set(key, node);
    return node;
  }

  private async tablesOf(node: DatabaseNode): Promise<ResultsNode[]> {
    try {
      node.listed = await this.engine.listTables(node.queryUri ? { queryUri: node.queryUri.toString() } : { database: node.database });
      node.error = undefined;
      // The root's line is drawn before its children are listed, so what it shows from the listing
      // (the database's name once known, the "writing" mark) lags one listing: drawn again when it changed.
      if ((node.listed.database && !node.database) || node.listed.writing !== node.drawnWriting) setTimeout(() => this.changed.fire(node), 0);
      if (node.listed.database) node.database = node.listed.database;
    } catch (err) {
      node.error = err instanceof Error ? err.message : String(err);
      return [{ type: 'message', parent: node, text: node.error, icon: 'error' }];
    }
    const { listed } = node;
    const database = listed.database;
    if (!database) return [{ type: 'message', parent: node, text: 'Its output is files, not tables.', icon: 'info' }];
    if (!listed.exists || listed.tables.length === 0) {
      return [{ type: 'message', parent: node, text: listed.writing ? 'The first page is on its way…' : 'Not exported yet: run the query.', icon: 'info' }];
    }
    return listed.tables.map((info): TableNode => ({ type: 'table', parent: node, database, table: info.name, info }));
  }

  /** The database a tree item or a session stands for (for Open in SQL and the grid). */
  static databaseOf(target: unknown): DatabaseRef | undefined {
    if (!target || typeof target !== 'object') return undefined;
    const t = target as { type?: unknown; database?: DatabaseRef; session?: SessionInfo; listed?: ListTablesResult };
    return t.database ?? t.session?.database ?? t.listed?.database ?? undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearTimeout(this.rootsTimer);
    for (const d of this.disposables) d.dispose();
  }
}

function tableItem(node: TableNode): vscode.TreeItem {
  const { info } = node;
  const item = new vscode.TreeItem(info.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `results:${node.parent.key}:${info.name}`;
  item.description = plural(info.rows, 'row');
  item.iconPath = new vscode.ThemeIcon(info.role === 'checkpoint' ? 'bookmark' : info.role === 'fields' ? 'symbol-key' : 'table');
  item.contextValue = `resultsTable.${node.database.kind}`;
  const tip = new vscode.MarkdownString(`**${info.name}** — ${plural(info.rows, 'row')}, ${plural(info.columns.length, 'column')}`);
  if (info.role) tip.appendMarkdown(`  \n${ROLE_TEXT[info.role]}`);
  item.tooltip = tip;
  item.command = { title: 'Open in Grid', command: 'zendesk.openInGrid', arguments: [{ kind: 'table', database: node.database, table: info.name }] };
  return item;
}
