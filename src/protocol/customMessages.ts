// The custom JSON-RPC messages between the engine server (src/server/main.ts) and its client
// (the extension's language client, or any editor / tool speaking LSP over stdio).
// One file imported by both sides, as vscode-eslint does, so a changed shape fails to compile
// on both ends. Imports only 'vscode-jsonrpc' (a dependency of both vscode-languageserver and
// vscode-languageclient, browser-safe) and engine *types*, so the webview may import it too.
/* eslint-disable @typescript-eslint/no-namespace -- the `namespace X { method; type }` pattern is the LSP/vscode-eslint convention both sides know */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { ResourceName } from '../engine/zendesk';
import type { ErrorCode } from '../engine/errors';
import type { ProgressEvent } from '../engine/export';
import type { SavedQuery } from '../engine/query';
import type { Cell, ColumnFilter, FilterOp, SortKey, SqlPage, TableColumn, TableInfo, WindowRequest, WindowResult } from '../engine/tables';

export type { ProgressEvent, SavedQuery };

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

/**
 * A connection as configured in settings. Never carries a secret: the server asks for the
 * token with {@link GetCredentials} when it needs it.
 */
export interface ConnectionRef {
  /** The name saved queries refer to in their "connection" field, and the key of the secret. */
  name: string;
  /** e.g. https://acme.zendesk.com, or http://127.0.0.1:PORT for the simulator (loopback only). */
  baseUrl: string;
  auth: 'apiToken' | 'oauth';
  /** Required for auth 'apiToken' (Basic `{email}/token:{token}`). */
  email?: string;
}

/** Error codes on the wire: the engine's codes plus the server's own. */
export type ServerErrorCode =
  | ErrorCode
  /** Another session is already writing the same output file. */
  | 'alreadyRunning'
  /** The client had no secret for the connection (GetCredentials answered null). */
  | 'noCredentials'
  /** The connection name is not among the configured connections (or the query names none). */
  | 'unknownConnection'
  /** Unknown session id. */
  | 'unknownSession'
  /** The database of a table output can't be used: no connection of that name, no password given, or its login was refused. */
  | 'database'
  /** A request's params have the wrong shape (JSON-RPC InvalidParams, -32602); the message names the field. */
  | 'invalidParams'
  /** A bug: the message says what failed. */
  | 'internal';

export interface WireError {
  code: ServerErrorCode;
  /** One sentence, never a secret. */
  message: string;
}

/**
 * When a request fails, the JSON-RPC ResponseError's `message` is the one sentence and its `data`
 * is this, so the extension can offer an action by code (e.g. 'auth' / 'noCredentials' → "Set Token…").
 */
export interface ResponseErrorData {
  code: ServerErrorCode;
  details?: string;
}

/**
 * Which connection to use: the settings entry, or just its name (the server looks it up in the
 * connections it got through initializationOptions / didChangeConfiguration).
 */
export type ConnectionSpec = string | ConnectionRef;

export type SessionStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** Running totals of a session, sent with every progress notification. */
export interface SessionCounts {
  /** Records in the output, including those from earlier runs when resumed. */
  records: number;
  /** Pages in the checkpoint, including earlier runs when resumed. */
  pages: number;
  /** Records and pages fetched by this session only. */
  sessionRecords: number;
  sessionPages: number;
  /** HTTP requests made by this session (including retries). */
  requests: number;
  /** Boundary duplicates dropped by this session (time-based streams). */
  duplicatesDropped: number;
  retries: number;
  /** How many times this session waited for a rate limit, Retry-After or backoff. */
  rateLimitWaits: number;
  /** Total milliseconds spent waiting. */
  waitedMs: number;
  /** Epoch ms until which the session is currently waiting, else null. */
  waitingUntil: number | null;
  /** Largest record timestamp seen (Unix seconds), the "last cursor time" shown to people. */
  lastRecordTime: number | null;
  perPage: number | null;
  /** Latest rate-limit budget reported by the server for the session's family. */
  rateLimit: { family: string; total: number | null; remaining: number | null; resetsAt: number | null } | null;
}

/** Counts of a session that has done nothing yet; a resumed one starts from its checkpoint's totals. */
export function emptySessionCounts(base?: Pick<SessionCounts, 'records' | 'pages' | 'lastRecordTime' | 'perPage'>): SessionCounts {
  return {
    records: base?.records ?? 0,
    pages: base?.pages ?? 0,
    sessionRecords: 0,
    sessionPages: 0,
    requests: 0,
    duplicatesDropped: 0,
    retries: 0,
    rateLimitWaits: 0,
    waitedMs: 0,
    waitingUntil: null,
    lastRecordTime: base?.lastRecordTime ?? null,
    perPage: base?.perPage ?? null,
    rateLimit: null,
  };
}

/** A session as listed in the Runs tree. */
export interface SessionInfo {
  sessionId: string;
  status: SessionStatus;
  queryName: string;
  /** file:// URI and absolute path of the saved query, when started from a file. */
  queryUri?: string;
  queryFile?: string;
  resource: ResourceName;
  endpointId: string;
  connectionName: string;
  /** True when the session continued from an existing checkpoint. */
  resumed: boolean;
  /** ISO timestamps. */
  startedAt: string;
  endedAt?: string;
  counts: SessionCounts;
  /** Main output file (absolute path) and every file written (main + sideloads). */
  outputPath: string;
  files: string[];
  checkpointPath: string;
  /** The database a table output (DuckDB, PostgreSQL, Parquet) writes; absent for files. */
  database?: DatabaseRef;
  caughtUp?: boolean;
  error?: WireError;
}

// ---------------------------------------------------------------------------------------------
// Initialization and configuration
// ---------------------------------------------------------------------------------------------

/**
 * `initializationOptions` of the LSP initialize request (all optional).
 * Connections can later be replaced with workspace/didChangeConfiguration, whose
 * `settings` may be `{ zendesk: { connections: ConnectionRef[] } }` (the shape the language
 * client sends with `synchronize.configurationSection: 'zendesk'`) or `{ connections: [...] }`.
 */
export interface InitializationOptions {
  /** Directory where the server may keep a small session-history file (e.g. context.globalStorageUri.fsPath). */
  storagePath?: string;
  connections?: ConnectionRef[];
  /** Path of the saved-query JSON schema, referenced in hovers; optional. */
  schemaPath?: string;
}

// ---------------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------------

export interface StartExportParams {
  /** Default: the saved query's "connection" field. */
  connection?: ConnectionSpec;
  /** A saved query (`*.zdquery.json`) as file:// URI or absolute path (one of these), or inline `query`. */
  queryUri?: string;
  queryFile?: string;
  /** An inline saved query (e.g. from the "New Export…" wizard). Requires `baseDir`. */
  query?: SavedQuery;
  /**
   * Directory that relative output paths and the default output (`<baseDir>/<slug(name)>/<resource>.<ext>`)
   * resolve against. Default for `queryUri`: the query file's directory.
   */
  baseDir?: string;
  /** Client-chosen id (so notifications can be matched before the response arrives); default: generated. */
  sessionId?: string;
  /**
   * Discard an existing checkpoint and its output files first and export from the start time again
   * (ask the person first). Default false: Run and Resume both continue from a checkpoint whose
   * digest matches the query, which is what makes a rerun next week fetch only what changed.
   */
  fresh?: boolean;
  /** Include record bodies in {@link PageArrived} for pages of at most this many records. Default 0 (never). */
  pageRecordsLimit?: number;
  /**
   * Answer only when the session has ended: 'done' → the response carries `finished`; 'failed' /
   * 'cancelled' → ResponseError (data.code e.g. 'auth', 'cancelled'). Cancelling the request
   * ($/cancelRequest, i.e. the client's CancellationToken) cancels the session.
   * Default false: answer as soon as the session has started.
   */
  waitForCompletion?: boolean;
  requestTimeoutMs?: number;
  maxRetries?: number;
  /**
   * The longest single wait (ms) for a rate limit, Retry-After or backoff; a longer one stops the
   * session with 'rateLimited' naming the time Zendesk gave. Default: the engine's (20 min).
   */
  maxWaitMs?: number;
}

export interface StartExportResult {
  sessionId: string;
  queryName: string;
  endpointId: string;
  outputPath: string;
  checkpointPath: string;
  /** Present when `waitForCompletion` was set. */
  finished?: ExportFinishedParams;
}

/**
 * Start an export session. Fails (ResponseError with {@link ResponseErrorData}) when the query is
 * invalid or unreadable ('invalidQuery', 'futureStartTime'), no connection is named, or another
 * session writes the same output ('alreadyRunning'). Everything later (credentials, auth, network, …)
 * arrives as {@link ExportFinished} (and, with waitForCompletion, as the response).
 */
export namespace StartExport {
  export const method = 'zendesk/startExport';
  export const type = new RequestType<StartExportParams, StartExportResult, ResponseErrorData>(method);
}

export interface CancelExportParams {
  sessionId: string;
}

/**
 * Cancel a running session. The abort reaches the in-flight HTTP request; the engine keeps the
 * checkpoint of the last complete page, so a later StartExport resumes exactly there.
 * `cancelled` is false when the session was not running. The session's ExportFinished
 * (status 'cancelled') follows.
 */
export namespace CancelExport {
  export const method = 'zendesk/cancelExport';
  export const type = new RequestType<CancelExportParams, { cancelled: boolean }, ResponseErrorData>(method);
}

/** Running sessions first, then past ones (this server's lifetime + the history file), newest first. */
export namespace ListSessions {
  export const method = 'zendesk/listSessions';
  export const type = new RequestType<Record<string, never> | null | undefined, { sessions: SessionInfo[] }, ResponseErrorData>(method);
}

export interface TestConnectionParams {
  connection: ConnectionSpec;
}

export type TestConnectionResult =
  | { ok: true; user: { id: number; name: string; email: string; role: string } }
  | { ok: false; error: WireError };

/**
 * GET /api/v2/users/me with the connection's secret (asked for with GetCredentials).
 * A failed check is a result, not an error: `error.code` 'auth' (401), 'forbidden' (not an admin),
 * 'noCredentials', 'network', 'insecureUrl', …
 */
export namespace TestConnection {
  export const method = 'zendesk/testConnection';
  export const type = new RequestType<TestConnectionParams, TestConnectionResult, ResponseErrorData>(method);
}

export interface CheckpointInfoParams {
  /** A saved query as file:// URI or path (the open document's text is used when the server has it), or inline. */
  queryUri?: string;
  queryFile?: string;
  query?: SavedQuery;
  baseDir?: string;
}

export interface CheckpointInfoResult {
  /** False when the query itself is invalid (see `error`); the other fields are then defaults. */
  queryValid: boolean;
  outputPath: string | null;
  checkpointPath: string | null;
  /** Main output exists on disk. */
  outputExists: boolean;
  /** A checkpoint file exists and is readable. */
  exists: boolean;
  /** The checkpoint was written for this query (same digest); false → a run would fail with 'checkpointMismatch'. */
  matchesQuery: boolean;
  records: number;
  pages: number;
  /** Largest record timestamp (Unix seconds) in the checkpoint, the "last cursor time". */
  lastRecordTime: number | null;
  caughtUp: boolean;
  /** ISO time the checkpoint was written. */
  updatedAt: string | null;
  /** Output files recorded in the checkpoint (absolute paths), or the main output alone. */
  files: string[];
  /** A session is writing this output now. */
  running: boolean;
  error?: WireError;
}

/** What a saved query's checkpoint holds: for Resume CodeLens, the Runs tree and the status bar. */
export namespace CheckpointInfo {
  export const method = 'zendesk/checkpointInfo';
  export const type = new RequestType<CheckpointInfoParams, CheckpointInfoResult, ResponseErrorData>(method);
}

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

export interface GetCredentialsParams {
  /** The connection whose secret is wanted; `connection.name` is the key in context.secrets. */
  connection: ConnectionRef;
  /**
   * 'refresh': the previous OAuth access token was rejected (401); the client should refresh it
   * (refresh token) and answer with the new one, or null.
   */
  reason: 'export' | 'testConnection' | 'refresh';
  /**
   * With 'refresh': tokenFingerprint() of the token that was rejected. When the client's current
   * token is another one (renewed meanwhile, e.g. for another export), it answers with that one
   * instead of refreshing again: Zendesk rotates refresh tokens, so each may be used only once.
   */
  rejected?: string;
}

/**
 * `secret` is the API token (auth 'apiToken') or the OAuth access token (auth 'oauth'); null → none
 * stored; `refused` → the client keeps the secret back (it belongs to another host than the
 * connection's URL now names, and the person didn't agree to send it there): one sentence saying so.
 */
export type GetCredentialsResult = { secret: string } | { refused: string } | null;

/**
 * The server asks the client for a connection's secret when it needs it (start of a session,
 * TestConnection, OAuth refresh). The extension answers from context.secrets, so secrets never
 * sit in settings, initializationOptions, argv or files; the server keeps them in memory only for
 * the session and never logs them. null → the session fails with 'noCredentials' (offer "Set Token…").
 */
export namespace GetCredentials {
  export const method = 'zendesk/getCredentials';
  export const type = new RequestType<GetCredentialsParams, GetCredentialsResult, void>(method);
}

export interface ExportProgressParams {
  sessionId: string;
  /** Absolute path of the saved query, when the session was started from a file. */
  queryFile?: string;
  event: ProgressEvent;
  counts: SessionCounts;
}

/** Every engine ProgressEvent of a session, with the running totals (status bar, Runs tree). */
export namespace ExportProgress {
  export const method = 'zendesk/exportProgress';
  export const type = new NotificationType<ExportProgressParams>(method);
}

export interface PageArrivedParams {
  sessionId: string;
  /** Main output file the rows were appended to. */
  outputPath: string;
  /** 0-based row number (line in JSONL) of the page's first record in the output. */
  firstRow: number;
  count: number;
  /** Record bodies, only when the page had ≤ StartExportParams.pageRecordsLimit records. */
  records?: Record<string, unknown>[];
}

/** A page was written to the output (after dedupe): live grids fetch or append rows. */
export namespace PageArrived {
  export const method = 'zendesk/pageArrived';
  export const type = new NotificationType<PageArrivedParams>(method);
}

export interface ExportFinishedParams {
  sessionId: string;
  status: Exclude<SessionStatus, 'running'>;
  /** Present when status is 'failed' (or 'cancelled', code 'cancelled'). */
  error?: WireError;
  queryName: string;
  queryFile?: string;
  counts: SessionCounts;
  /** Every output file (main + sideloads), absolute paths. */
  files: string[];
  outputPath: string;
  checkpointPath: string;
  /** The stream reached end_of_stream (count == 0 for routing): nothing newer to fetch now. */
  caughtUp: boolean;
  startedAt: string;
  endedAt: string;
}

/** Sent once per session, whatever the outcome. */
export namespace ExportFinished {
  export const method = 'zendesk/exportFinished';
  export const type = new NotificationType<ExportFinishedParams>(method);
}

/**
 * The session list changed (a session started or ended): the same payload as ListSessions, so the
 * Runs tree can redraw without asking. Counts during a run come with ExportProgress instead.
 */
export namespace SessionsChanged {
  export const method = 'zendesk/sessionsChanged';
  export const type = new NotificationType<{ sessions: SessionInfo[] }>(method);
}

// ---------------------------------------------------------------------------------------------
// CodeLens commands (registered by the extension; the server only names them)
// ---------------------------------------------------------------------------------------------

/** Each takes the saved query's document URI (string) as its only argument. */
export const CodeLensCommands = {
  run: 'zendesk.runQuery',
  resume: 'zendesk.resumeQuery',
  openResults: 'zendesk.openResults',
} as const;

/** Files the server treats as saved queries (language id json/jsonc). */
export const SAVED_QUERY_SUFFIX = '.zdquery.json';

// =============================================================================================
// Grid: rows of an output file, served by the engine's row index (owned by the grid area;
// handlers in src/server/rows.ts, registered with registerRowHandlers(connection)).
// Records stay in the server process: the client asks for windows of rows; sort, filter and
// search run in the server, which caches the sorted order and extends it as the file grows.
// =============================================================================================

export interface RowSort {
  /** A flattened column name: 'subject', 'via.channel', 'custom_fields.360001'. */
  column: string;
  dir: 'asc' | 'desc';
}

/** The view of a file: every filter means "the column's text contains" (case-insensitive); search looks at whole records. */
export interface RowView {
  sort?: RowSort[];
  filters?: Record<string, string>;
  search?: string;
}

export type RowCell = string | number | boolean | null;

export interface GetRowsParams extends RowView {
  /** Absolute path of a .jsonl, .json (array) or .csv file. */
  path: string;
  start: number;
  count: number;
  columns: string[];
}

export interface GetRowsResult {
  /** `id` is the record's position in the file, stable across views. Objects/arrays come as JSON text. */
  rows: { id: number; cells: RowCell[] }[];
  /** Rows in the view; -1 while not known yet (the rows of a SQL statement, until its last page). */
  total: number;
  /** Records in the file (indexed so far). */
  fileRows: number;
  /** False while a big file is still being indexed: fileRows (and an unsorted total) will grow; ask again. */
  complete: boolean;
}

export namespace GetRows {
  export const method = 'zendesk/rows/get';
  export const type = new RequestType<GetRowsParams, GetRowsResult, ResponseErrorData>(method);
}

export interface RowColumnsResult {
  /** Flattened column names found in a sample of the file (nested objects dotted, custom fields by id). */
  columns: string[];
  /** The resource's usual columns present in the data. */
  defaults: string[];
  resource: ResourceName | null;
  /** The file's format; 'table' and 'sql' for a grid over a database (see GridSource). */
  format: 'jsonl' | 'json' | 'csv' | 'table' | 'sql';
  fileRows: number;
}

export namespace GetRowColumns {
  export const method = 'zendesk/rows/columns';
  export const type = new RequestType<{ path: string }, RowColumnsResult, ResponseErrorData>(method);
}

export namespace GetRowRecords {
  export const method = 'zendesk/rows/records';
  export const type = new RequestType<{ path: string; ids: number[] }, { records: Record<string, unknown>[] }, ResponseErrorData>(method);
}

export interface ExportRowsParams {
  path: string;
  view: RowView;
  /** Absolute path to write. */
  target: string;
  format: 'csv' | 'jsonl' | 'json';
  /** Columns of a CSV export (JSON Lines / JSON carry whole records). */
  columns: string[];
}

/** Writes the view (its filters, search and sort) to `target`. */
export namespace ExportRows {
  export const method = 'zendesk/rows/export';
  export const type = new RequestType<ExportRowsParams, { rows: number; target: string }, ResponseErrorData>(method);
}

/** The client no longer shows the file: the server may drop its index. */
export namespace CloseRows {
  export const method = 'zendesk/rows/close';
  export const type = new NotificationType<{ path: string }>(method);
}

// =============================================================================================
// Tables: the databases a table output writes (a DuckDB file, a PostgreSQL schema), read for the
// Results tree, the grid and SQL (handlers in src/server/tables.ts). Rows stay in the database: the
// client asks for windows; sort, filter and search run there. A PostgreSQL password never crosses
// from the client in a request: the server asks for it with GetDatabaseConnection when it connects.
// =============================================================================================

export type { Cell, ColumnFilter, FilterOp, SortKey, SqlPage, TableColumn, TableInfo, WindowResult };

/**
 * A database as requests name it: a DuckDB file or a Parquet output's folder (absolute paths; the
 * folder is read through DuckDB), or a schema of a PostgreSQL connection (a name from settings, or a
 * URL without a password).
 */
export type DatabaseRef =
  | { kind: 'duckdb'; path: string }
  | { kind: 'parquet'; path: string }
  | { kind: 'postgres'; connection: string; schema: string };

/** Which database: given as it is, or the one a saved query's output writes (query fields as in CheckpointInfo). */
export interface ListTablesParams extends CheckpointInfoParams {
  database?: DatabaseRef;
}

export interface ListTablesResult {
  /** The database; null when the query writes files (jsonl, csv, json). */
  database: DatabaseRef | null;
  /** For people: the .duckdb file or Parquet folder, or the connection and schema. */
  label: string;
  /** False until an export created it (then `tables` is empty). */
  exists: boolean;
  /** Every table with its row count and columns, the tool's own first (current state, changes, deleted, fields, sideloads). */
  tables: TableInfo[];
  /** An export of this server is writing it now: the counts grow. */
  writing: boolean;
}

/** The tables of a database (or of a saved query's output) with row counts and columns. */
export namespace ListTables {
  export const method = 'zendesk/tables/list';
  export const type = new RequestType<ListTablesParams, ListTablesResult, ResponseErrorData>(method);
}

/** A window of a table (the engine's WindowRequest; the server answers at most 1,000 rows). */
export interface TableWindowParams extends WindowRequest {
  database: DatabaseRef;
}

/** A window of a table: sort, filters and search done by the database. */
export namespace GetTableWindow {
  export const method = 'zendesk/tables/window';
  export const type = new RequestType<TableWindowParams, WindowResult, ResponseErrorData>(method);
}

export interface RunSqlParams {
  /** A DuckDB file or a Parquet folder (SQL runs read-only: nothing is changed). */
  database: DatabaseRef;
  /** One statement. */
  sql: string;
  offset: number;
  /** At most 1,000 rows are answered. */
  limit: number;
}

/** A page of the rows one read-only SQL statement returns; ask the next page with a larger offset. */
export namespace RunSql {
  export const method = 'zendesk/tables/sql';
  export const type = new RequestType<RunSqlParams, SqlPage, ResponseErrorData>(method);
}

/** The client no longer shows the database: the server lets go of it (a DuckDB file is then free for other programs). */
export namespace CloseDatabase {
  export const method = 'zendesk/tables/close';
  export const type = new NotificationType<{ database: DatabaseRef }>(method);
}

export interface GetDatabaseConnectionParams {
  /** As a saved query's `output.connection` says: a connection name from the editor's settings, or a postgresql:// URL without a password. */
  connection: string;
  /**
   * What it is for: an export writing, the editor reading (tree, grid), or a checkpoint's status
   * (CodeLens, trees: answer from what is stored, never ask the person for it).
   */
  reason: 'export' | 'read' | 'status';
}

/**
 * `url`: where to connect, without a password; `password` when one is needed. `refused`: one sentence
 * why not (an unknown name, the person declined). null: the client has no answer.
 */
export type GetDatabaseConnectionResult = { url: string; password?: string } | { refused: string } | null;

/**
 * Server → client, when the server connects to a PostgreSQL database: the client resolves a name
 * from its settings and gives the password from its secret storage (asking the person the first
 * time), so a password never sits in settings, initializationOptions, argv, files or logs.
 */
export namespace GetDatabaseConnection {
  export const method = 'zendesk/getDatabaseConnection';
  export const type = new RequestType<GetDatabaseConnectionParams, GetDatabaseConnectionResult, void>(method);
}

// =============================================================================================
// Checks of untrusted params. The engine server takes requests from any client (an editor, a
// script on stdio): each custom request's params are checked here before use, and a wrong shape is
// answered with JSON-RPC InvalidParams and one sentence naming the field. Small and hand-written,
// like the webview's guards (webviewMessages.ts), so this file stays dependency-free.
// =============================================================================================

/** What is wrong with a request's params, as one sentence; undefined when they have the declared shape. */
export type ParamsCheck = (params: unknown) => string | undefined;

interface Shape {
  /** What a value of this shape is, for the sentence: 'a string', 'true or false'. */
  expected: string;
  ok(v: unknown): boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isIndex = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const STRING: Shape = { expected: 'a string', ok: (v) => typeof v === 'string' };
const NAME: Shape = { expected: 'a non-empty string', ok: (v) => typeof v === 'string' && v.trim() !== '' };
const BOOLEAN: Shape = { expected: 'true or false', ok: (v) => typeof v === 'boolean' };
const INDEX: Shape = { expected: 'a whole number, 0 or more', ok: isIndex };
const POSITIVE: Shape = { expected: 'a number above 0', ok: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0 };
const OBJECT: Shape = { expected: 'an object', ok: isPlainObject };
const STRINGS: Shape = { expected: 'an array of strings', ok: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string') };
const INDEXES: Shape = { expected: 'an array of whole numbers, 0 or more', ok: (v) => Array.isArray(v) && v.every(isIndex) };
const FORMAT: Shape = { expected: '"csv", "jsonl" or "json"', ok: (v) => v === 'csv' || v === 'jsonl' || v === 'json' };
const CONNECTION: Shape = {
  expected: 'a connection name or { name, baseUrl, auth: "apiToken" | "oauth", email? }',
  ok: (v) => (typeof v === 'string' && v.trim() !== '') || (isPlainObject(v) && NAME.ok(v.name) && typeof v.baseUrl === 'string'
    && (v.auth === 'apiToken' || v.auth === 'oauth') && (v.email === undefined || typeof v.email === 'string')),
};
const SORTS: Shape = {
  expected: 'an array of { column, dir: "asc" | "desc" }',
  ok: (v) => Array.isArray(v) && v.every((s) => isPlainObject(s) && typeof s.column === 'string' && (s.dir === 'asc' || s.dir === 'desc')),
};
const TEXTS: Shape = { expected: 'an object of strings', ok: (v) => isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string') };
const VIEW: Shape = {
  expected: 'an object { sort?, filters?, search? }',
  ok: (v) => isPlainObject(v) && (v.sort === undefined || SORTS.ok(v.sort)) && (v.filters === undefined || TEXTS.ok(v.filters))
    && (v.search === undefined || typeof v.search === 'string'),
};

const DATABASE: Shape = {
  expected: '{ kind: "duckdb" | "parquet", path } or { kind: "postgres", connection, schema }',
  ok: (v) => isPlainObject(v) && (((v.kind === 'duckdb' || v.kind === 'parquet') && NAME.ok(v.path)) || (v.kind === 'postgres' && NAME.ok(v.connection) && NAME.ok(v.schema))),
};
const SORT_KEYS: Shape = {
  expected: 'an array of { column, descending? }',
  ok: (v) => Array.isArray(v) && v.every((s) => isPlainObject(s) && typeof s.column === 'string' && (s.descending === undefined || typeof s.descending === 'boolean')),
};
const FILTER_OPS: readonly FilterOp[] = ['equals', 'notEquals', 'contains', 'startsWith', 'greaterThan', 'lessThan', 'isNull', 'isNotNull'];
const COLUMN_FILTERS: Shape = {
  expected: `an array of { column, op: ${FILTER_OPS.map((o) => `"${o}"`).join(' | ')}, value? }`,
  ok: (v) => Array.isArray(v) && v.every((f) => isPlainObject(f) && typeof f.column === 'string' && FILTER_OPS.includes(f.op as FilterOp)
    && (f.value === undefined || typeof f.value === 'string' || typeof f.value === 'boolean' || (typeof f.value === 'number' && Number.isFinite(f.value)))),
};

/** How a value that failed its check reads in the sentence. */
function described(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return v.length > 40 ? 'a string' : JSON.stringify(v);
    case 'number': return `the number ${v}`;
    case 'boolean': return String(v);
    case 'object': return 'an object';
    default: return typeof v;
  }
}

type Fields = Record<string, { shape: Shape; required: boolean }>;
const req = (shape: Shape) => ({ shape, required: true });
const opt = (shape: Shape) => ({ shape, required: false });

function paramsOf(method: string, fields: Fields, orAbsent = false): ParamsCheck {
  return (params) => {
    if (orAbsent && (params === undefined || params === null)) return undefined;
    if (!isPlainObject(params)) return `${method} takes an object of params, not ${described(params)}.`;
    for (const [name, { shape, required }] of Object.entries(fields)) {
      const v = params[name];
      if (v === undefined) {
        if (required) return `${method} needs "${name}" (${shape.expected}).`;
      } else if (!shape.ok(v)) {
        return `${method}: "${name}" must be ${shape.expected}, not ${described(v)}.`;
      }
    }
    return undefined;
  };
}

const QUERY_FIELDS: Fields = { queryUri: opt(STRING), queryFile: opt(STRING), query: opt(OBJECT), baseDir: opt(STRING) };

/** The check of every client → server request and notification, by method. */
export const PARAMS_CHECKS: Readonly<Record<string, ParamsCheck>> = {
  [StartExport.method]: paramsOf(StartExport.method, {
    connection: opt(CONNECTION), ...QUERY_FIELDS, sessionId: opt(NAME), fresh: opt(BOOLEAN), pageRecordsLimit: opt(INDEX),
    waitForCompletion: opt(BOOLEAN), requestTimeoutMs: opt(POSITIVE), maxRetries: opt(INDEX), maxWaitMs: opt(POSITIVE),
  }),
  [CancelExport.method]: paramsOf(CancelExport.method, { sessionId: req(STRING) }),
  [ListSessions.method]: paramsOf(ListSessions.method, {}, true),
  [TestConnection.method]: paramsOf(TestConnection.method, { connection: req(CONNECTION) }),
  [CheckpointInfo.method]: paramsOf(CheckpointInfo.method, QUERY_FIELDS),
  [GetRows.method]: paramsOf(GetRows.method, {
    path: req(STRING), start: req(INDEX), count: req(INDEX), columns: req(STRINGS), sort: opt(SORTS), filters: opt(TEXTS), search: opt(STRING),
  }),
  [GetRowColumns.method]: paramsOf(GetRowColumns.method, { path: req(STRING) }),
  [GetRowRecords.method]: paramsOf(GetRowRecords.method, { path: req(STRING), ids: req(INDEXES) }),
  [ExportRows.method]: paramsOf(ExportRows.method, { path: req(STRING), view: req(VIEW), target: req(STRING), format: req(FORMAT), columns: req(STRINGS) }),
  [CloseRows.method]: paramsOf(CloseRows.method, { path: req(STRING) }),
  [ListTables.method]: paramsOf(ListTables.method, { ...QUERY_FIELDS, database: opt(DATABASE) }),
  [GetTableWindow.method]: paramsOf(GetTableWindow.method, {
    database: req(DATABASE), table: req(NAME), offset: req(INDEX), limit: req(INDEX), sort: opt(SORT_KEYS), filters: opt(COLUMN_FILTERS), search: opt(STRING), columns: opt(STRINGS),
    count: opt(BOOLEAN),
  }),
  [RunSql.method]: paramsOf(RunSql.method, { database: req(DATABASE), sql: req(NAME), offset: req(INDEX), limit: req(INDEX) }),
  [CloseDatabase.method]: paramsOf(CloseDatabase.method, { database: req(DATABASE) }),
};
