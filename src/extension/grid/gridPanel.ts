// Hosts the results grid: one webview panel per output file, database table or SQL statement
// (sources.ts), restored after a reload by a WebviewPanelSerializer. The host holds no rows: it
// relays the webview's typed requests to the engine through EngineClient, pushes "rows changed"
// when pages arrive, and shows the state of the export writing the source as SessionStore knows it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatabaseRef, RowColumnsResult, SessionInfo, TableInfo } from '../../protocol/customMessages';
import {
  ActionNotification,
  CopyCommand,
  ExportViewRequest,
  GetColumnsRequest,
  GetRecordsRequest,
  GetRowsRequest,
  InitNotification,
  ReadyCommand,
  RowsChangedNotification,
  StateChangedCommand,
  isGridPersistedState,
  isGridSource,
  isIpcMessage,
  type CopyParams,
  type ExportViewParams,
  type GridPersistedState,
  type GridSource,
  type IpcMessage,
  type IpcNotification,
  type IpcRequest,
  type IpcResponse,
  type LiveState,
  type ParamsOf,
  type ReadyParams,
} from '../../protocol/webviewMessages';
import type { SessionStore } from '../sessionStore';
import { gridHtml } from './gridHtml';
import { createSource, databaseKey, fileKey, sourceKey, type GridEngine, type RowSource } from './sources';

export type { GridEngine };

export const GRID_VIEW_TYPE = 'zendesk.grid';
const GRID_FILE = /\.(jsonl|ndjson|json|csv)$/i;
/** JSON files of this tool that hold no records: a saved query and a checkpoint end in .json too. */
const SAVED_QUERY = /\.zdquery\.json$/i;
const CHECKPOINT = /\.checkpoint\.json$/i;
const DUCKDB_FILE = /\.duckdb$/i;

const ROLE_TEXT: Record<NonNullable<TableInfo['role']>, string> = {
  current: 'current state: the newest version of each record',
  changes: 'change log: every exported version',
  deleted: 'deleted records',
  fields: 'custom fields and their columns',
  sideload: 'sideloaded records',
  checkpoint: 'the export\'s checkpoint',
};

/** A file of records the grid can show (not a saved query or a checkpoint, whose names also end in .json). */
export function isRecordFile(file: string): boolean {
  return GRID_FILE.test(file) && !SAVED_QUERY.test(file) && !CHECKPOINT.test(file);
}

/** What the grid reads of the export sessions: which one writes a shown source, and when they change. */
export type GridSessions = Pick<SessionStore, 'list' | 'get' | 'onDidChange'>;

/** The webview's requests, to answer one whose params are malformed. */
const REQUESTS: IpcRequest<unknown, unknown>[] = [GetRowsRequest, GetColumnsRequest, GetRecordsRequest, ExportViewRequest];

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A target as commands receive it: explorer Uri, path, a Runs tree item, a session, { outputPath },
 * a grid source, or a Results tree item ({ database, table }).
 */
type GridTarget =
  | vscode.Uri | string | GridSource
  | { outputPath?: string; file?: string; session?: SessionInfo; uri?: vscode.Uri; database?: DatabaseRef; table?: string }
  | undefined;

class GridPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private state: GridPersistedState;
  private pending: { fileRows?: number; live?: LiveState } | null = null;
  private flushTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private ready = false;
  private live: LiveState | undefined;
  readonly onDispose: vscode.Event<void>;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly source: RowSource,
    private readonly manager: GridManager,
    state: GridPersistedState | undefined,
  ) {
    this.state = { ...state, ...this.identity() };
    this.onDispose = this.disposeEmitter.event;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(manager.context.extensionUri, 'dist')] };
    panel.webview.html = gridHtml(panel.webview, manager.context.extensionUri, panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) this.manager.setActive(this);
      }),
    );
  }

  /** What the saved state says the grid shows: a file by its path (as before sources), anything else by its source too. */
  private identity(): Pick<GridPersistedState, 'path' | 'source'> {
    const ref = this.source.ref;
    return ref.kind === 'file' ? { path: ref.path, source: undefined } : { path: this.source.key, source: ref };
  }

  get persisted(): GridPersistedState {
    return this.state;
  }

  setLive(live: LiveState | undefined): void {
    this.live = live;
    this.queue({ live });
  }

  pageArrived(fileRows: number): void {
    this.source.changed?.();
    this.queue({ fileRows });
  }

  /** Host → webview action (commands, keybindings, tests). */
  action(params: ParamsOf<typeof ActionNotification>): void {
    this.notify(ActionNotification, params);
  }

  // Pages can arrive many times a second; the webview refreshes at most every 250 ms.
  private queue(change: { fileRows?: number; live?: LiveState }): void {
    this.pending = { ...this.pending, ...change };
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const p = this.pending;
      this.pending = null;
      if (p && this.ready) this.notify(RowsChangedNotification, p);
    }, 250);
  }

  private notify<P>(type: IpcNotification<P>, params: P): void {
    const msg: IpcMessage<P> = { id: `h${++this.seq}`, scope: 'grid', method: type.method, params };
    void this.panel.webview.postMessage(msg);
  }

  private respond<R>(type: IpcRequest<unknown, R>, request: IpcMessage, response: IpcResponse<R>): void {
    const msg: IpcMessage<IpcResponse<R>> = { id: `h${++this.seq}`, scope: 'grid', method: type.responseMethod, params: response, completionId: request.id };
    void this.panel.webview.postMessage(msg);
  }

  private async handle<P, R>(type: IpcRequest<P, R>, msg: IpcMessage<P>, work: (p: P) => Promise<R>): Promise<void> {
    try {
      this.respond(type, msg, { ok: true, value: await work(msg.params) });
    } catch (err) {
      this.respond<R>(type, msg, { ok: false, error: message(err) });
    }
  }

  /** The webview is untrusted input: each message is matched, params shape included, before use. */
  private async onMessage(msg: unknown): Promise<void> {
    if (!isIpcMessage(msg)) return;
    if (ReadyCommand.is(msg)) return this.init(msg.params);
    if (GetRowsRequest.is(msg)) return this.handle(GetRowsRequest, msg, (p) => this.source.rows(p));
    if (GetColumnsRequest.is(msg)) return this.handle(GetColumnsRequest, msg, () => this.source.columns());
    if (GetRecordsRequest.is(msg)) return this.handle(GetRecordsRequest, msg, async ({ ids }) => ({ records: await this.source.records(ids) }));
    if (ExportViewRequest.is(msg)) return this.handle(ExportViewRequest, msg, (p) => this.exportView(p));
    if (CopyCommand.is(msg)) return this.copy(msg.params);
    if (StateChangedCommand.is(msg)) {
      this.state = { ...msg.params, ...this.identity() };
      return;
    }
    // A request with malformed params changes nothing, but gets its answer so the webview does not wait.
    const request = REQUESTS.find((r) => r.method === msg.method);
    if (request) this.respond(request, msg, { ok: false, error: `The grid sent a malformed "${msg.method}" request, so it was ignored.` });
  }

  private async init({ state }: ReadyParams): Promise<void> {
    // The webview's own saved state wins when it is of this source (a reload restores it).
    if (state && (state.source ? sourceKey(state.source) : fileKey(state.path)) === this.source.key) this.state = { ...state, ...this.identity() };
    await this.sendInit();
  }

  /** Tells the webview what it shows (again: a SQL statement run anew starts from its first row). */
  async sendInit(): Promise<void> {
    let info: RowColumnsResult | null = null;
    let error: string | undefined;
    try {
      info = await this.source.columns();
    } catch (err) {
      error = message(err);
    }
    this.ready = true;
    const { path: shown, source } = this.identity();
    this.notify(InitNotification, { path: shown, source, label: this.source.label, info, error, state: this.state, live: this.live });
  }

  private async copy({ text, what }: CopyParams): Promise<void> {
    await vscode.env.clipboard.writeText(text);
    this.manager.lastCopied = text;
    vscode.window.setStatusBarMessage(`Copied ${what}`, 3000);
  }

  private async exportView({ format, view, columns, target }: ExportViewParams): Promise<{ rows: number; target: string } | null> {
    if (!target) {
      const { folder, name } = this.source.exportBase();
      const labels = { csv: 'CSV', jsonl: 'JSON Lines', json: 'JSON' } as const;
      const base = folder ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const picked = await vscode.window.showSaveDialog({
        defaultUri: base ? vscode.Uri.file(path.join(base, `${name}-view.${format}`)) : undefined,
        filters: { [labels[format]]: [format] },
        title: `Export the current view as ${labels[format]}`,
      });
      if (!picked) return null;
      target = picked.fsPath;
    }
    const to = target;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting the view to ${path.basename(to)}…` },
      () => this.source.exportView({ view, target: to, format, columns }),
    );
    void vscode.window.showInformationMessage(`Exported ${result.rows.toLocaleString('en-US')} rows to ${vscode.workspace.asRelativePath(result.target)}.`);
    return result;
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.source.close();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

class GridManager implements vscode.Disposable {
  private readonly panels = new Map<string, GridPanel>();
  private active: GridPanel | undefined;
  /** Last text the grid put on the clipboard (tests read it back through a command). */
  lastCopied: string | undefined;

  constructor(
    readonly context: vscode.ExtensionContext,
    readonly engine: GridEngine,
    private readonly sessions: GridSessions,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.window.registerWebviewPanelSerializer(GRID_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          if (!isGridPersistedState(state)) {
            panel.dispose();
            return;
          }
          this.adopt(panel, state.source ?? { kind: 'file', path: state.path }, state);
        },
      }),
      vscode.commands.registerCommand('zendesk.openInGrid', (target?: GridTarget, more?: unknown) => this.openCommand(target, more)),
      vscode.commands.registerCommand('zendesk.grid.copy', (format?: 'tsv' | 'json') => this.active?.action({ action: 'copy', format: format === 'json' ? 'json' : 'tsv' })),
      vscode.commands.registerCommand('zendesk.grid.exportView', (format?: 'csv' | 'jsonl' | 'json', target?: string) =>
        this.active?.action({ action: 'export', format: format === 'json' || format === 'jsonl' ? format : 'csv', target: typeof target === 'string' ? target : undefined })),
      vscode.commands.registerCommand('zendesk.grid.toggleDetail', () => this.active?.action({ action: 'toggleDetail' })),
      // For tests and automation: what the active grid shows and what it last copied.
      vscode.commands.registerCommand('zendesk.grid.state', () => ({
        state: this.active?.persisted, lastCopied: this.lastCopied, open: [...this.panels.values()].map((p) => p.persisted.path),
      })),
      this.engine.onPage((p) => {
        const session = this.sessions.get(p.sessionId);
        for (const grid of this.panels.values()) {
          if (session ? grid.source.writtenBy(session) : grid.source.key === fileKey(p.outputPath)) grid.pageArrived(p.firstRow + p.count);
        }
      }),
      this.sessions.onDidChange((s) => this.sessionChanged(s)),
    ];
  }

  setActive(panel: GridPanel): void {
    this.active = panel;
  }

  private async openCommand(target: GridTarget, more: unknown): Promise<void> {
    // Explorer multi-select passes (clicked, all selected).
    if (Array.isArray(more) && more.length > 1 && more.every((u): u is vscode.Uri => u instanceof vscode.Uri)) {
      for (const u of more) await this.openFile(u.fsPath);
      return;
    }
    // A grid source as it is, a Results tree item's table, or a run that wrote tables (its resource's current state).
    if (isGridSource(target)) return this.open(target);
    if (target && typeof target === 'object' && !(target instanceof vscode.Uri)) {
      const database = target.database ?? target.session?.database;
      if (database) {
        const table = target.table ?? target.session?.resource;
        if (table) return this.open({ kind: 'table', database, table });
        return this.pickTable(database);
      }
    }
    let file = await this.resolveTarget(target);
    if (!file) {
      // The active editor: a file of records, or the query / checkpoint whose records are wanted.
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active?.scheme === 'file' && GRID_FILE.test(active.fsPath)) file = active.fsPath;
    }
    if (!file) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false, filters: { 'Export output': ['jsonl', 'ndjson', 'json', 'csv', 'duckdb'] }, title: 'Open an output file or a DuckDB file in the grid',
      });
      file = picked?.[0]?.fsPath;
    }
    if (!file) return;
    await this.openFile(file);
  }

  private async openFile(file: string): Promise<void> {
    // A saved query's records are its output (where the engine says it goes), never the query itself.
    if (SAVED_QUERY.test(file)) {
      await vscode.commands.executeCommand('zendesk.openResults', vscode.Uri.file(file));
      return;
    }
    if (CHECKPOINT.test(file)) {
      const output = await outputBeside(file);
      if (output) await this.open({ kind: 'file', path: output });
      else void vscode.window.showWarningMessage(`${path.basename(file)} is a checkpoint, not records, and no output of its name lies beside it.`);
      return;
    }
    if (DUCKDB_FILE.test(file)) return this.pickTable({ kind: 'duckdb', path: file });
    if (!isRecordFile(file)) {
      void vscode.window.showWarningMessage(`The grid opens .jsonl, .json, .csv and .duckdb files; ${path.basename(file)} is none of them.`);
      return;
    }
    await this.open({ kind: 'file', path: file });
  }

  /** A database's tables with their counts, to pick the one to show. */
  private async pickTable(database: DatabaseRef): Promise<void> {
    const listed = await this.engine.listTables({ database });
    if (!listed.tables.length) {
      void vscode.window.showInformationMessage(listed.exists ? `${listed.label} has no tables yet.` : `${listed.label} does not exist yet: run the export that writes it.`);
      return;
    }
    const items = listed.tables.map((t) => ({ label: t.name, description: `${t.rows.toLocaleString('en-US')} rows`, detail: t.role ? ROLE_TEXT[t.role] : undefined }));
    const picked = await vscode.window.showQuickPick(items, { placeHolder: `Open which table of ${listed.label}?` });
    if (picked) await this.open({ kind: 'table', database, table: picked.label });
  }

  private async resolveTarget(target: GridTarget): Promise<string | undefined> {
    if (!target) return undefined;
    if (target instanceof vscode.Uri) return target.scheme === 'file' ? target.fsPath : undefined;
    if (typeof target === 'string') return target.startsWith('file:') ? vscode.Uri.parse(target).fsPath : target;
    if ('kind' in target) return undefined;
    if (typeof target.file === 'string') return target.file;
    if (typeof target.outputPath === 'string' && target.outputPath) return target.outputPath;
    if (target.session?.outputPath) return target.session.outputPath;
    if (target.uri instanceof vscode.Uri) return target.uri.fsPath;
    return undefined;
  }

  /** Reveals the source's grid, or opens a new one; `rerun`: a SQL statement's grid shows its rows anew. */
  async open(ref: GridSource, opts: { rerun?: boolean } = {}): Promise<void> {
    const existing = this.panels.get(sourceKey(ref));
    if (existing) {
      existing.panel.reveal();
      if (opts.rerun) await existing.sendInit();
      return;
    }
    const source = createSource(ref, this.engine);
    const panel = vscode.window.createWebviewPanel(GRID_VIEW_TYPE, source.title, ref.kind === 'sql' ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')],
    });
    this.adopt(panel, ref, undefined, source);
  }

  private adopt(panel: vscode.WebviewPanel, ref: GridSource, state: GridPersistedState | undefined, made?: RowSource): GridPanel {
    const source = made ?? createSource(ref, this.engine);
    panel.title = source.title;
    const grid = new GridPanel(panel, source, this, state);
    const key = source.key;
    this.panels.set(key, grid);
    this.active = grid;
    grid.onDispose(() => {
      if (this.panels.get(key) === grid) this.panels.delete(key);
      if (this.active === grid) this.active = undefined;
      this.letGo(ref);
    });
    // A run already writing what it shows (opened from the explorer, the Runs or Results view while it runs).
    const current = this.sessionOf(grid);
    if (current?.status === 'running') grid.setLive(liveOf(current));
    return grid;
  }

  /** The engine keeps a database open while a grid shows it; the last grid to close lets go of it. */
  private letGo(ref: GridSource): void {
    if (ref.kind === 'file') return;
    const key = databaseKey(ref.database);
    const stillShown = [...this.panels.values()].some((p) => p.source.ref.kind !== 'file' && databaseKey(p.source.ref.database) === key);
    if (!stillShown) void this.engine.closeDatabase(ref.database).catch(() => undefined);
  }

  /** The session a grid follows: the newest that writes what it shows, running ones first (SessionStore's order). */
  private sessionOf(grid: GridPanel): SessionInfo | undefined {
    return this.sessions.list().find((s) => grid.source.writtenBy(s));
  }

  private sessionChanged(changed: SessionInfo | undefined): void {
    for (const grid of this.panels.values()) {
      const s = this.sessionOf(grid);
      // The list changed (the engine's list, a reload): each grid follows its newest session.
      if (!changed) {
        if (s) grid.setLive(liveOf(s));
        continue;
      }
      if (s?.sessionId !== changed.sessionId) continue;
      grid.setLive(liveOf(changed));
      // It ended: read the last rows.
      if (changed.status !== 'running') grid.pageArrived(changed.counts.records);
    }
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
  }
}

/** The output a checkpoint belongs to: `<name>.checkpoint.json` sits beside `<name>.<format>` (by name, never by what the checkpoint says). */
async function outputBeside(checkpoint: string): Promise<string | undefined> {
  const stem = checkpoint.replace(CHECKPOINT, '');
  for (const ext of ['jsonl', 'csv', 'json', 'ndjson']) {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.file(`${stem}.${ext}`));
      return `${stem}.${ext}`;
    } catch {
      // Not this format.
    }
  }
  return undefined;
}

function liveOf(s: SessionInfo): LiveState {
  const waiting = s.status === 'running' && s.counts.waitingUntil !== null && s.counts.waitingUntil > Date.now();
  return {
    status: waiting ? 'waiting' : s.status,
    queryName: s.queryName,
    records: s.counts.records,
    waitingUntil: s.counts.waitingUntil,
    rateLimit: s.counts.rateLimit,
    error: s.error?.message,
  };
}

/**
 * Registers the results grid: `zendesk.openInGrid` (explorer, Runs, command palette), the panel
 * serializer that restores grids after a reload, and the grid's helper commands.
 */
export function registerGrid(context: vscode.ExtensionContext, engine: GridEngine, sessions: GridSessions): { grids: GridOpener; disposable: vscode.Disposable } {
  const manager = new GridManager(context, engine, sessions);
  return { grids: manager, disposable: vscode.Disposable.from(manager, ...manager.register()) };
}

/** What other parts of the extension (Results tree, SQL CodeLens) use to show rows. */
export type GridOpener = Pick<GridManager, 'open'>;
