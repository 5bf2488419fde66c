// Typed messages between the grid webview (webview/) and its host in the extension
// (src/extension/grid/), GitLens-style: a command is fire-and-forget, a request gets exactly one
// response (matched by id), a notification goes from host to webview. Both sides import these
// descriptors, so a changed shape fails to compile on both ends, and each descriptor's `is()`
// narrows a received message to its params. The webview is untrusted input to the host: every
// webview → host descriptor carries a check of its params' shape, which `is()` runs. No vscode,
// no Node, no dependencies: safe in the browser bundle.
import type { DatabaseRef, GetRowsResult, RowColumnsResult, RowSort, RowView, SessionCounts } from './customMessages';

export type { DatabaseRef, GetRowsResult, RowColumnsResult, RowView };

export type IpcScope = 'grid';

/** Whether an untrusted value has the shape of T. */
export type Guard<T> = (value: unknown) => value is T;

abstract class IpcCall<Params> {
  declare readonly _params: Params;
  constructor(
    readonly method: string,
    private readonly paramsOk?: Guard<Params>,
  ) {}

  /** The message is this call: same method, and params of the declared shape where a check is given. */
  is(msg: IpcMessage): msg is IpcMessage<Params> {
    return msg.method === this.method && (this.paramsOk?.(msg.params) ?? true);
  }
}

/** Webview → host, no answer. */
export class IpcCommand<Params = void> extends IpcCall<Params> {
  readonly kind = 'command';
  constructor(method: string, paramsOk: Guard<Params>) {
    super(method, paramsOk);
  }
}

/** Webview → host, answered by one {@link IpcResponse}. */
export class IpcRequest<Params, Response> extends IpcCall<Params> {
  readonly kind = 'request';
  declare readonly _response: Response;
  constructor(method: string, paramsOk: Guard<Params>) {
    super(method, paramsOk);
  }

  /** The method of the response message. */
  get responseMethod(): string {
    return `${this.method}/response`;
  }

  /** The message answers this request (the host is trusted: the value itself is not checked). */
  isResponse(msg: IpcMessage): msg is IpcMessage<IpcResponse<Response>> {
    return msg.method === this.responseMethod && isResponseShape(msg.params);
  }
}

/** Host → webview. */
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
// Checks of untrusted values (small and hand-written: this file has no dependencies)
// ---------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
/** A row position or count: a whole number, not negative. */
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isExportFormat = (v: unknown): v is ExportFormat => v === 'csv' || v === 'jsonl' || v === 'json';

function optional<T>(check: Guard<T>): Guard<T | undefined> {
  return (v): v is T | undefined => v === undefined || check(v);
}

function arrayOf<T>(check: Guard<T>): Guard<T[]> {
  return (v): v is T[] => Array.isArray(v) && v.every(check);
}

const isStringArray = arrayOf(isString);

function isRowSort(v: unknown): v is RowSort {
  return isObject(v) && isString(v.column) && (v.dir === 'asc' || v.dir === 'desc');
}

function isTextRecord(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every(isString);
}

export function isRowView(v: unknown): v is RowView {
  return isObject(v) && optional(arrayOf(isRowSort))(v.sort) && optional(isTextRecord)(v.filters) && optional(isString)(v.search);
}

function isDatabaseRef(v: unknown): v is DatabaseRef {
  return isObject(v) && (((v.kind === 'duckdb' || v.kind === 'parquet') && isString(v.path)) || (v.kind === 'postgres' && isString(v.connection) && isString(v.schema)));
}

export function isGridSource(v: unknown): v is GridSource {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'file': return isString(v.path);
    case 'table': return isDatabaseRef(v.database) && isString(v.table);
    case 'sql': return isDatabaseRef(v.database) && isString(v.sql);
    default: return false;
  }
}

function isPersistedColumn(v: unknown): v is PersistedColumn {
  return isObject(v) && isString(v.id) && optional(isFiniteNumber)(v.width) && (v.pinned === undefined || v.pinned === null || v.pinned === 'left' || v.pinned === 'right');
}

/** The grid's saved state, as the webview keeps it and the panel serializer hands it back. */
export function isGridPersistedState(v: unknown): v is GridPersistedState {
  return isObject(v) && isString(v.path) && optional(isGridSource)(v.source) && optional(arrayOf(isPersistedColumn))(v.columns) && optional(isRowView)(v.view)
    && optional(isBoolean)(v.detailOpen);
}

/** The envelope of every grid message, whichever side sent it. */
export function isIpcMessage(v: unknown): v is IpcMessage {
  return isObject(v) && isString(v.id) && v.scope === 'grid' && isString(v.method) && optional(isString)(v.completionId);
}

function isResponseShape(v: unknown): v is IpcResponse<unknown> {
  return isObject(v) && (v.ok === true || (v.ok === false && isString(v.error)));
}

/** For a request whose params the host ignores. */
const anyParams = (_v: unknown): _v is void => true;

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

export type ExportFormat = 'csv' | 'jsonl' | 'json';

export interface PersistedColumn {
  id: string;
  width?: number;
  pinned?: 'left' | 'right' | null;
}

/**
 * What a grid shows: a file of records (the engine's row index), a table of a database (windows
 * read by the database), or the rows of one read-only SQL statement (in its own order: no sort,
 * filter or search in the grid).
 */
export type GridSource =
  | { kind: 'file'; path: string }
  | { kind: 'table'; database: DatabaseRef; table: string }
  | { kind: 'sql'; database: DatabaseRef; sql: string };

/** What the webview keeps across reloads (vscode.setState) and the serializer hands back. */
export interface GridPersistedState {
  /** The file shown, or the key of a table / SQL source. */
  path: string;
  /** Absent: the file at `path`. */
  source?: GridSource;
  /** Visible columns in order, with widths and pinning. */
  columns?: PersistedColumn[];
  view?: RowView;
  detailOpen?: boolean;
}

export interface GridInit {
  path: string;
  /** Absent: the file at `path`. */
  source?: GridSource;
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

export interface ReadyParams {
  state?: GridPersistedState;
}

/** A window of the view: `count` rows from `start`, cells of `columns`. */
export interface RowsWindowParams extends RowView {
  start: number;
  count: number;
  columns: string[];
}

export interface CopyParams {
  text: string;
  /** Says what was copied, for the status bar message. */
  what: string;
}

export interface ExportViewParams {
  format: ExportFormat;
  view: RowView;
  columns: string[];
  target?: string;
}

/** The webview has loaded and listens: the host answers with {@link InitNotification}. */
export const ReadyCommand = new IpcCommand<ReadyParams>('grid/ready', (v): v is ReadyParams => isObject(v) && optional(isGridPersistedState)(v.state));

/** A window of the view. */
export const GetRowsRequest = new IpcRequest<RowsWindowParams, GetRowsResult>(
  'grid/rows',
  (v): v is RowsWindowParams => isObject(v) && isIndex(v.start) && isIndex(v.count) && isStringArray(v.columns) && isRowView(v),
);

/** Re-read the file's columns (e.g. after more pages arrived). */
export const GetColumnsRequest = new IpcRequest<void, RowColumnsResult>('grid/columns', anyParams);

/** Whole records by file position (detail pane, copy as JSON). */
export const GetRecordsRequest = new IpcRequest<{ ids: number[] }, { records: Record<string, unknown>[] }>(
  'grid/records',
  (v): v is { ids: number[] } => isObject(v) && arrayOf(isIndex)(v.ids),
);

/** Put text on the clipboard (vscode.env.clipboard). `what` is for the status message. */
export const CopyCommand = new IpcCommand<CopyParams>('grid/copy', (v): v is CopyParams => isObject(v) && isString(v.text) && isString(v.what));

/**
 * Export the current view. Without `target` the host asks with a save dialog; answers null when
 * the person cancelled it.
 */
export const ExportViewRequest = new IpcRequest<ExportViewParams, { rows: number; target: string } | null>(
  'grid/export',
  (v): v is ExportViewParams => isObject(v) && isExportFormat(v.format) && isRowView(v.view) && isStringArray(v.columns) && optional(isString)(v.target),
);

/** The webview's state changed (columns, view): the host keeps it for tests and restores. */
export const StateChangedCommand = new IpcCommand<GridPersistedState>('grid/stateChanged', isGridPersistedState);

// ---------------------------------------------------------------------------------------------
// Host → webview
// ---------------------------------------------------------------------------------------------

export const InitNotification = new IpcNotification<GridInit>('grid/init');

/** The file grew (a page arrived) or the run's state changed: refresh the row count and header. */
export const RowsChangedNotification = new IpcNotification<{ fileRows?: number; live?: LiveState }>('grid/rowsChanged');

/** Host-driven actions (from commands / keybindings / tests). */
export const ActionNotification = new IpcNotification<
  | { action: 'copy'; format: 'tsv' | 'json' }
  | { action: 'export'; format: ExportFormat; target?: string }
  | { action: 'search'; text: string }
  | { action: 'toggleDetail' }
>('grid/action');
