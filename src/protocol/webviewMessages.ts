// Typed messages between the grid webview (webview/) and its host in the extension
// (src/extension/grid/), GitLens-style: a command is fire-and-forget, a request gets exactly one
// response (matched by id), a notification goes from host to webview. Both sides import these
// descriptors, so a changed shape fails to compile on both ends. Types only at run time: no vscode,
// no Node, safe in the browser bundle.
import type { GetRowsResult, RowColumnsResult, RowView, SessionCounts } from './customMessages';

export type { GetRowsResult, RowColumnsResult, RowView };

export type IpcScope = 'grid';

abstract class IpcCall<Params> {
  declare readonly _params: Params;
  constructor(readonly method: string) {}
}

export class IpcCommand<Params = void> extends IpcCall<Params> {
  readonly kind = 'command';
}

export class IpcRequest<Params, Response> extends IpcCall<Params> {
  readonly kind = 'request';
  declare readonly _response: Response;
  /** The method of the response message. */
  get responseMethod(): string {
    return `${this.method}/response`;
  }
}

export class IpcNotification<Params> extends IpcCall<Params> {
  readonly kind = 'notification';
}

/** What crosses postMessage in either direction. */
export interface IpcMessage<Params = unknown> {
  /** Unique per sender. */
  id: string;
  scope: IpcScope;
  method: string;
  params: Params;
  /** Set on a response: the id of the request it answers. */
  completionId?: string;
}

/** A request's answer: the value, or the one-sentence error. */
export type IpcResponse<R> = { ok: true; value: R } | { ok: false; error: string };

export type ParamsOf<T> = T extends IpcCall<infer P> ? P : never;

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/** The live state of the export writing the shown file (absent when nothing writes it). */
export interface LiveState {
  status: 'running' | 'waiting' | 'done' | 'failed' | 'cancelled';
  queryName?: string;
  /** Records written by the run (including earlier runs when resumed). */
  records: number;
  /** Epoch ms until which the run waits for a rate limit, else null. */
  waitingUntil: number | null;
  rateLimit: SessionCounts['rateLimit'];
  error?: string;
}

/** What the webview keeps across reloads (vscode.setState) and the serializer hands back. */
export interface GridPersistedState {
  path: string;
  /** Visible columns in order, with widths and pinning. */
  columns?: { id: string; width?: number; pinned?: 'left' | 'right' | null }[];
  view?: RowView;
  detailOpen?: boolean;
}

export interface GridInit {
  path: string;
  /** Workspace-relative (or base) name for the title and header. */
  label: string;
  info: RowColumnsResult | null;
  /** Why the columns could not be read (e.g. the file does not exist yet). */
  error?: string;
  state?: GridPersistedState;
  live?: LiveState;
}

// ---------------------------------------------------------------------------------------------
// Webview → host
// ---------------------------------------------------------------------------------------------

/** The webview has loaded and listens: the host answers with {@link InitNotification}. */
export const ReadyCommand = new IpcCommand<{ state?: GridPersistedState }>('grid/ready');

/** A window of the view. */
export const GetRowsRequest = new IpcRequest<{ start: number; count: number; columns: string[] } & RowView, GetRowsResult>('grid/rows');

/** Re-read the file's columns (e.g. after more pages arrived). */
export const GetColumnsRequest = new IpcRequest<void, RowColumnsResult>('grid/columns');

/** Whole records by file position (detail pane, copy as JSON). */
export const GetRecordsRequest = new IpcRequest<{ ids: number[] }, { records: Record<string, unknown>[] }>('grid/records');

/** Put text on the clipboard (vscode.env.clipboard). `what` is for the status message. */
export const CopyCommand = new IpcCommand<{ text: string; what: string }>('grid/copy');

/**
 * Export the current view. Without `target` the host asks with a save dialog; answers null when
 * the person cancelled it.
 */
export const ExportViewRequest = new IpcRequest<{ format: 'csv' | 'jsonl' | 'json'; view: RowView; columns: string[]; target?: string }, { rows: number; target: string } | null>('grid/export');

/** The webview's state changed (columns, view): the host keeps it for tests and restores. */
export const StateChangedCommand = new IpcCommand<GridPersistedState>('grid/stateChanged');

// ---------------------------------------------------------------------------------------------
// Host → webview
// ---------------------------------------------------------------------------------------------

export const InitNotification = new IpcNotification<GridInit>('grid/init');

/** The file grew (a page arrived) or the run's state changed: refresh the row count and header. */
export const RowsChangedNotification = new IpcNotification<{ fileRows?: number; live?: LiveState }>('grid/rowsChanged');

/** Host-driven actions (from commands / keybindings / tests). */
export const ActionNotification = new IpcNotification<
  | { action: 'copy'; format: 'tsv' | 'json' }
  | { action: 'export'; format: 'csv' | 'jsonl' | 'json'; target?: string }
  | { action: 'search'; text: string }
  | { action: 'toggleDetail' }
>('grid/action');
