// Hosts the results grid: one webview panel per output file, restored after a reload by a
// WebviewPanelSerializer. The host holds no rows: it relays the webview's typed requests to the
// engine server's row index (src/server/rows.ts) and pushes "rows changed" when pages arrive.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  CloseRows,
  ExportRows,
  GetRowColumns,
  GetRowRecords,
  GetRows,
  PageArrived,
  type ExportProgressParams,
  type ExportFinishedParams,
  type RowColumnsResult,
  type SessionInfo,
} from '../../protocol/customMessages';
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
  type GridPersistedState,
  type IpcMessage,
  type IpcNotification,
  type IpcRequest,
  type IpcResponse,
  type LiveState,
  type ParamsOf,
} from '../../protocol/webviewMessages';
import { gridHtml } from './gridHtml';

export const GRID_VIEW_TYPE = 'zendesk.grid';
const GRID_FILE = /\.(jsonl|ndjson|json|csv)$/i;

/** What the grid needs from the extension's engine client (EngineClient satisfies it). */
export interface GridEngine {
  ready(): Promise<LanguageClient>;
  readonly onReady: vscode.Event<void>;
  readonly onProgress: vscode.Event<ExportProgressParams>;
  readonly onFinished: vscode.Event<ExportFinishedParams>;
  readonly onSessionsChanged: vscode.Event<SessionInfo[]>;
  listSessions(): Promise<SessionInfo[]>;
}

function fileKey(p: string): string {
  const r = path.resolve(p);
  return process.platform === 'win32' ? r.toLowerCase() : r;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A target as commands receive it: explorer Uri, path, a Runs tree item, a session, or { outputPath }. */
type GridTarget = vscode.Uri | string | { outputPath?: string; file?: string; session?: SessionInfo; uri?: vscode.Uri } | undefined;

class GridPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private state: GridPersistedState;
  private live: LiveState | undefined;
  private pending: { fileRows?: number; live?: LiveState } | null = null;
  private flushTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private ready = false;
  readonly onDispose: vscode.Event<void>;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly file: string,
    private readonly manager: GridManager,
    state: GridPersistedState | undefined,
  ) {
    this.state = { ...state, path: file };
    this.onDispose = this.disposeEmitter.event;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(manager.context.extensionUri, 'dist')] };
    panel.webview.html = gridHtml(panel.webview, manager.context.extensionUri, panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: IpcMessage) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) this.manager.setActive(this);
      }),
    );
  }

  get persisted(): GridPersistedState {
    return this.state;
  }

  setLive(live: LiveState | undefined): void {
    this.live = live;
    this.queue({ live });
  }

  pageArrived(fileRows: number): void {
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

  private async handle<P, R>(type: IpcRequest<P, R>, msg: IpcMessage, work: (p: P) => Promise<R>): Promise<void> {
    try {
      this.respond(type, msg, { ok: true, value: await work(msg.params as P) });
    } catch (err) {
      this.respond<R>(type, msg, { ok: false, error: message(err) });
    }
  }

  private async onMessage(msg: IpcMessage): Promise<void> {
    if (!msg || msg.scope !== 'grid' || typeof msg.method !== 'string') return;
    const client = () => this.manager.client();
    switch (msg.method) {
      case ReadyCommand.method: {
        const p = msg.params as ParamsOf<typeof ReadyCommand>;
        if (p?.state && fileKey(p.state.path) === fileKey(this.file)) this.state = { ...p.state, path: this.file };
        let info: RowColumnsResult | null = null;
        let error: string | undefined;
        try {
          info = await (await client()).sendRequest(GetRowColumns.type, { path: this.file });
        } catch (err) {
          error = message(err);
        }
        this.ready = true;
        this.notify(InitNotification, { path: this.file, label: vscode.workspace.asRelativePath(this.file), info, error, state: this.state, live: this.live });
        return;
      }
      case GetRowsRequest.method:
        return this.handle(GetRowsRequest, msg, async (p) => (await client()).sendRequest(GetRows.type, { ...p, path: this.file }));
      case GetColumnsRequest.method:
        return this.handle(GetColumnsRequest, msg, async () => (await client()).sendRequest(GetRowColumns.type, { path: this.file }));
      case GetRecordsRequest.method:
        return this.handle(GetRecordsRequest, msg, async (p) => (await client()).sendRequest(GetRowRecords.type, { path: this.file, ids: p.ids }));
      case ExportViewRequest.method:
        return this.handle(ExportViewRequest, msg, (p) => this.exportView(p));
      case CopyCommand.method: {
        const p = msg.params as ParamsOf<typeof CopyCommand>;
        if (typeof p?.text !== 'string') return;
        await vscode.env.clipboard.writeText(p.text);
        this.manager.lastCopied = p.text;
        vscode.window.setStatusBarMessage(`Copied ${p.what}`, 3000);
        return;
      }
      case StateChangedCommand.method: {
        const p = msg.params as GridPersistedState;
        if (p && typeof p === 'object') this.state = { ...p, path: this.file };
        return;
      }
    }
  }

  private async exportView(p: ParamsOf<typeof ExportViewRequest>): Promise<{ rows: number; target: string } | null> {
    let target = p.target;
    if (!target) {
      const base = path.basename(this.file).replace(GRID_FILE, '');
      const labels = { csv: 'CSV', jsonl: 'JSON Lines', json: 'JSON' } as const;
      const picked = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(path.join(path.dirname(this.file), `${base}-view.${p.format}`)),
        filters: { [labels[p.format]]: [p.format] },
        title: `Export the current view as ${labels[p.format]}`,
      });
      if (!picked) return null;
      target = picked.fsPath;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting the view to ${path.basename(target)}…` },
      async () => (await this.manager.client()).sendRequest(ExportRows.type, { path: this.file, view: p.view, target: target!, format: p.format, columns: p.columns }),
    );
    void vscode.window.showInformationMessage(`Exported ${result.rows.toLocaleString('en-US')} rows to ${vscode.workspace.asRelativePath(result.target)}.`);
    return result;
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    void this.manager.client().then((c) => c.sendNotification(CloseRows.type, { path: this.file })).catch(() => undefined);
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

class GridManager implements vscode.Disposable {
  private readonly panels = new Map<string, GridPanel>();
  private readonly sessions = new Map<string, SessionInfo>();
  private readonly hooked = new WeakSet<LanguageClient>();
  private active: GridPanel | undefined;
  /** Last text the grid put on the clipboard (tests read it back through a command). */
  lastCopied: string | undefined;

  constructor(
    readonly context: vscode.ExtensionContext,
    private readonly engine: GridEngine,
  ) {}

  async client(): Promise<LanguageClient> {
    const c = await this.engine.ready();
    this.hook(c);
    return c;
  }

  /** PageArrived isn't surfaced by EngineClient: listen on each (re)started language client once. */
  private hook(c: LanguageClient): void {
    if (this.hooked.has(c)) return;
    this.hooked.add(c);
    c.onNotification(PageArrived.type, (p) => this.panels.get(fileKey(p.outputPath))?.pageArrived(p.firstRow + p.count));
  }

  register(): vscode.Disposable[] {
    return [
      vscode.window.registerWebviewPanelSerializer(GRID_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          const s = state as GridPersistedState | undefined;
          if (!s || typeof s.path !== 'string') {
            panel.dispose();
            return;
          }
          this.adopt(panel, s.path, s);
        },
      }),
      vscode.commands.registerCommand('zendesk.openInGrid', (target?: GridTarget, more?: unknown) => this.openCommand(target, more)),
      vscode.commands.registerCommand('zendesk.grid.copy', (format?: 'tsv' | 'json') => this.active?.action({ action: 'copy', format: format === 'json' ? 'json' : 'tsv' })),
      vscode.commands.registerCommand('zendesk.grid.exportView', (format?: 'csv' | 'jsonl' | 'json', target?: string) =>
        this.active?.action({ action: 'export', format: format === 'json' || format === 'jsonl' ? format : 'csv', target: typeof target === 'string' ? target : undefined })),
      vscode.commands.registerCommand('zendesk.grid.toggleDetail', () => this.active?.action({ action: 'toggleDetail' })),
      // For tests and automation: what the active grid shows and what it last copied.
      vscode.commands.registerCommand('zendesk.grid.state', () => ({ state: this.active?.persisted, lastCopied: this.lastCopied, open: [...this.panels.values()].map((p) => p.file) })),
      this.engine.onReady(() => void this.client().catch(() => undefined)),
      this.engine.onSessionsChanged((list) => this.sessionsChanged(list)),
      this.engine.onProgress((p) => this.progress(p)),
      this.engine.onFinished((p) => this.finished(p)),
    ];
  }

  setActive(panel: GridPanel): void {
    this.active = panel;
  }

  private async openCommand(target: GridTarget, more: unknown): Promise<void> {
    // Explorer multi-select passes (clicked, all selected).
    if (Array.isArray(more) && more.length > 1 && more.every((u) => u instanceof vscode.Uri)) {
      for (const u of more as vscode.Uri[]) await this.open(u.fsPath);
      return;
    }
    let file = await this.resolveTarget(target);
    if (!file) {
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active?.scheme === 'file' && GRID_FILE.test(active.fsPath)) file = active.fsPath;
    }
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Export output': ['jsonl', 'ndjson', 'json', 'csv'] }, title: 'Open an output file in the grid' });
      file = picked?.[0]?.fsPath;
    }
    if (!file) return;
    if (!GRID_FILE.test(file)) {
      void vscode.window.showWarningMessage(`The grid opens .jsonl, .json and .csv files; ${path.basename(file)} is none of them.`);
      return;
    }
    await this.open(file);
  }

  private async resolveTarget(target: GridTarget): Promise<string | undefined> {
    if (!target) return undefined;
    if (target instanceof vscode.Uri) return target.scheme === 'file' ? target.fsPath : undefined;
    if (typeof target === 'string') return target.startsWith('file:') ? vscode.Uri.parse(target).fsPath : target;
    if (typeof target.file === 'string') return target.file;
    if (typeof target.outputPath === 'string' && target.outputPath) return target.outputPath;
    if (target.session?.outputPath) return target.session.outputPath;
    if (target.uri instanceof vscode.Uri) return target.uri.fsPath;
    return undefined;
  }

  /** Reveals the file's grid, or opens a new one. */
  async open(file: string): Promise<void> {
    const existing = this.panels.get(fileKey(file));
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(GRID_VIEW_TYPE, path.basename(file), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')],
    });
    this.adopt(panel, file, undefined);
    if (this.sessions.size === 0) {
      // Know about a run already writing this file (opened from the explorer while it runs).
      await this.engine.listSessions().then((l) => this.sessionsChanged(l)).catch(() => undefined);
    }
  }

  private adopt(panel: vscode.WebviewPanel, file: string, state: GridPersistedState | undefined): GridPanel {
    panel.title = path.basename(file);
    const grid = new GridPanel(panel, path.resolve(file), this, state);
    const key = fileKey(file);
    this.panels.set(key, grid);
    this.active = grid;
    grid.onDispose(() => {
      if (this.panels.get(key) === grid) this.panels.delete(key);
      if (this.active === grid) this.active = undefined;
    });
    const running = [...this.sessions.values()].find((s) => fileKey(s.outputPath) === key && s.status === 'running');
    if (running) grid.setLive(liveOf(running));
    return grid;
  }

  private sessionsChanged(list: SessionInfo[]): void {
    this.sessions.clear();
    for (const s of list) {
      // The newest session per output decides what the header shows.
      if (![...this.sessions.values()].some((o) => fileKey(o.outputPath) === fileKey(s.outputPath))) this.sessions.set(s.sessionId, s);
    }
    for (const s of this.sessions.values()) this.panels.get(fileKey(s.outputPath))?.setLive(liveOf(s));
  }

  private progress(p: ExportProgressParams): void {
    const s = this.sessions.get(p.sessionId);
    if (!s) return;
    s.counts = p.counts;
    this.panels.get(fileKey(s.outputPath))?.setLive(liveOf(s));
  }

  private finished(p: ExportFinishedParams): void {
    const grid = this.panels.get(fileKey(p.outputPath));
    grid?.setLive({ status: p.status, queryName: p.queryName, records: p.counts.records, waitingUntil: null, rateLimit: p.counts.rateLimit, error: p.error?.message });
    grid?.pageArrived(p.counts.records);
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
  }
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
export function registerGrid(context: vscode.ExtensionContext, engine: GridEngine): vscode.Disposable {
  const manager = new GridManager(context, engine);
  return vscode.Disposable.from(manager, ...manager.register());
}
