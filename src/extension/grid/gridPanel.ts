// Hosts the results grid: one webview panel per output file, restored after a reload by a
// WebviewPanelSerializer. The host holds no rows: it relays the webview's typed requests to the
// engine's row index through EngineClient, pushes "rows changed" when pages arrive, and shows the
// state of the export writing the file as SessionStore knows it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RowColumnsResult, SessionInfo } from '../../protocol/customMessages';
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
  isIpcMessage,
  type CopyParams,
  type ExportViewParams,
  type GridPersistedState,
  type IpcMessage,
  type IpcNotification,
  type IpcRequest,
  type IpcResponse,
  type LiveState,
  type ParamsOf,
  type ReadyParams,
} from '../../protocol/webviewMessages';
import type { EngineClient } from '../engineClient';
import type { SessionStore } from '../sessionStore';
import { gridHtml } from './gridHtml';

export const GRID_VIEW_TYPE = 'zendesk.grid';
const GRID_FILE = /\.(jsonl|ndjson|json|csv)$/i;
/** JSON files of this tool that hold no records: a saved query and a checkpoint end in .json too. */
const SAVED_QUERY = /\.zdquery\.json$/i;
const CHECKPOINT = /\.checkpoint\.json$/i;

/** A file of records the grid can show (not a saved query or a checkpoint, whose names also end in .json). */
export function isRecordFile(file: string): boolean {
  return GRID_FILE.test(file) && !SAVED_QUERY.test(file) && !CHECKPOINT.test(file);
}

/** What the grid uses of the engine: the rows of output files, and the pages appended to them. */
export type GridEngine = Pick<EngineClient, 'onPage' | 'getRows' | 'rowColumns' | 'rowRecords' | 'exportRows' | 'closeRows'>;

/** What the grid reads of the export sessions: which one writes a shown file, and when they change. */
export type GridSessions = Pick<SessionStore, 'list' | 'onDidChange'>;

/** The webview's requests, to answer one whose params are malformed. */
const REQUESTS: IpcRequest<unknown, unknown>[] = [GetRowsRequest, GetColumnsRequest, GetRecordsRequest, ExportViewRequest];

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
  private pending: { fileRows?: number; live?: LiveState } | null = null;
  private flushTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private ready = false;
  private live: LiveState | undefined;
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
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) this.manager.setActive(this);
      }),
    );
  }

  get persisted(): GridPersistedState {
    return this.state;
  }

  private get engine(): GridEngine {
    return this.manager.engine;
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
    if (GetRowsRequest.is(msg)) {
      return this.handle(GetRowsRequest, msg, ({ start, count, columns, sort, filters, search }) =>
        this.engine.getRows({ path: this.file, start, count, columns, sort, filters, search }));
    }
    if (GetColumnsRequest.is(msg)) return this.handle(GetColumnsRequest, msg, () => this.engine.rowColumns(this.file));
    if (GetRecordsRequest.is(msg)) return this.handle(GetRecordsRequest, msg, async ({ ids }) => ({ records: await this.engine.rowRecords(this.file, ids) }));
    if (ExportViewRequest.is(msg)) return this.handle(ExportViewRequest, msg, (p) => this.exportView(p));
    if (CopyCommand.is(msg)) return this.copy(msg.params);
    if (StateChangedCommand.is(msg)) {
      this.state = { ...msg.params, path: this.file };
      return;
    }
    // A request with malformed params changes nothing, but gets its answer so the webview does not wait.
    const request = REQUESTS.find((r) => r.method === msg.method);
    if (request) this.respond(request, msg, { ok: false, error: `The grid sent a malformed "${msg.method}" request, so it was ignored.` });
  }

  private async init({ state }: ReadyParams): Promise<void> {
    if (state && fileKey(state.path) === fileKey(this.file)) this.state = { ...state, path: this.file };
    let info: RowColumnsResult | null = null;
    let error: string | undefined;
    try {
      info = await this.engine.rowColumns(this.file);
    } catch (err) {
      error = message(err);
    }
    this.ready = true;
    this.notify(InitNotification, { path: this.file, label: vscode.workspace.asRelativePath(this.file), info, error, state: this.state, live: this.live });
  }

  private async copy({ text, what }: CopyParams): Promise<void> {
    await vscode.env.clipboard.writeText(text);
    this.manager.lastCopied = text;
    vscode.window.setStatusBarMessage(`Copied ${what}`, 3000);
  }

  private async exportView({ format, view, columns, target }: ExportViewParams): Promise<{ rows: number; target: string } | null> {
    if (!target) {
      const base = path.basename(this.file).replace(GRID_FILE, '');
      const labels = { csv: 'CSV', jsonl: 'JSON Lines', json: 'JSON' } as const;
      const picked = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(path.join(path.dirname(this.file), `${base}-view.${format}`)),
        filters: { [labels[format]]: [format] },
        title: `Export the current view as ${labels[format]}`,
      });
      if (!picked) return null;
      target = picked.fsPath;
    }
    const to = target;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting the view to ${path.basename(to)}…` },
      () => this.engine.exportRows({ path: this.file, view, target: to, format, columns }),
    );
    void vscode.window.showInformationMessage(`Exported ${result.rows.toLocaleString('en-US')} rows to ${vscode.workspace.asRelativePath(result.target)}.`);
    return result;
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    void this.engine.closeRows(this.file).catch(() => undefined);
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
          this.adopt(panel, state.path, state);
        },
      }),
      vscode.commands.registerCommand('zendesk.openInGrid', (target?: GridTarget, more?: unknown) => this.openCommand(target, more)),
      vscode.commands.registerCommand('zendesk.grid.copy', (format?: 'tsv' | 'json') => this.active?.action({ action: 'copy', format: format === 'json' ? 'json' : 'tsv' })),
      vscode.commands.registerCommand('zendesk.grid.exportView', (format?: 'csv' | 'jsonl' | 'json', target?: string) =>
        this.active?.action({ action: 'export', format: format === 'json' || format === 'jsonl' ? format : 'csv', target: typeof target === 'string' ? target : undefined })),
      vscode.commands.registerCommand('zendesk.grid.toggleDetail', () => this.active?.action({ action: 'toggleDetail' })),
      // For tests and automation: what the active grid shows and what it last copied.
      vscode.commands.registerCommand('zendesk.grid.state', () => ({ state: this.active?.persisted, lastCopied: this.lastCopied, open: [...this.panels.values()].map((p) => p.file) })),
      this.engine.onPage((p) => this.panels.get(fileKey(p.outputPath))?.pageArrived(p.firstRow + p.count)),
      this.sessions.onDidChange((s) => this.sessionChanged(s)),
    ];
  }

  setActive(panel: GridPanel): void {
    this.active = panel;
  }

  private async openCommand(target: GridTarget, more: unknown): Promise<void> {
    // Explorer multi-select passes (clicked, all selected).
    if (Array.isArray(more) && more.length > 1 && more.every((u): u is vscode.Uri => u instanceof vscode.Uri)) {
      for (const u of more) await this.open(u.fsPath);
      return;
    }
    let file = await this.resolveTarget(target);
    if (!file) {
      // The active editor: a file of records, or the query / checkpoint whose records are wanted.
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active?.scheme === 'file' && GRID_FILE.test(active.fsPath)) file = active.fsPath;
    }
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Export output': ['jsonl', 'ndjson', 'json', 'csv'] }, title: 'Open an output file in the grid' });
      file = picked?.[0]?.fsPath;
    }
    if (!file) return;
    // A saved query's records are its output (where the engine says it goes), never the query itself.
    if (SAVED_QUERY.test(file)) {
      await vscode.commands.executeCommand('zendesk.openResults', vscode.Uri.file(file));
      return;
    }
    if (CHECKPOINT.test(file)) {
      const output = await outputBeside(file);
      if (output) await this.open(output);
      else void vscode.window.showWarningMessage(`${path.basename(file)} is a checkpoint, not records, and no output of its name lies beside it.`);
      return;
    }
    if (!isRecordFile(file)) {
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
    // A run already writing this file (opened from the explorer or the Runs view while it runs).
    const current = this.sessionOf(key);
    if (current?.status === 'running') grid.setLive(liveOf(current));
    return grid;
  }

  /** The session a file's grid follows: the file's newest, running ones first (SessionStore's order). */
  private sessionOf(key: string): SessionInfo | undefined {
    return this.sessions.list().find((s) => fileKey(s.outputPath) === key);
  }

  private sessionChanged(changed: SessionInfo | undefined): void {
    if (!changed) {
      // The list changed (the engine's list, a reload): each grid follows its file's newest session.
      for (const [key, grid] of this.panels) {
        const s = this.sessionOf(key);
        if (s) grid.setLive(liveOf(s));
      }
      return;
    }
    const key = fileKey(changed.outputPath);
    const grid = this.panels.get(key);
    if (!grid || this.sessionOf(key)?.sessionId !== changed.sessionId) return;
    grid.setLive(liveOf(changed));
    // It ended: read the file's last rows.
    if (changed.status !== 'running') grid.pageArrived(changed.counts.records);
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
export function registerGrid(context: vscode.ExtensionContext, engine: GridEngine, sessions: GridSessions): vscode.Disposable {
  const manager = new GridManager(context, engine, sessions);
  return vscode.Disposable.from(manager, ...manager.register());
}
