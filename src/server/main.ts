// The engine process. Speaks LSP + the custom messages of src/protocol/customMessages.ts over IPC
// (started by the extension's language client with TransportKind.ipc) or stdio (`--stdio`, for other
// editors and tools). Exports run here so a long export never blocks or bloats the extension host.
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import {
  CodeLensRefreshRequest,
  createConnection,
  type Connection,
  DidChangeConfigurationNotification,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CancelExport,
  CheckpointInfo,
  ExportFinished,
  ExportProgress,
  GetCredentials,
  GetDatabaseConnection,
  ListSessions,
  PageArrived,
  PARAMS_CHECKS,
  SessionsChanged,
  StartExport,
  TestConnection,
  type ConnectionRef,
  type GetDatabaseConnectionParams,
  type InitializationOptions,
  type ResponseErrorData,
} from '../protocol/customMessages';
import { parseConnections } from './connections';
import { databaseResolver } from './databases';
import { registerRowHandlers } from './rows';
import { codeLensesFor, computeCompletion, computeDiagnostics, computeHover, isSavedQueryUri, type QueryContext } from './queryLanguage';
import { toResponseError } from './failures';
import { SessionManager } from './sessions';
import { FrameResync } from './stdioFrames';
import { engineTableReading, registerTableHandlers, TableService } from './tables';

// The name other processes see, e.g. in an output's lock when a second export is refused.
process.title = 'zdx-engine';
const connection = openConnection();
const documents = new TextDocuments(TextDocument);

/**
 * IPC (the language client) as vscode-languageserver sets it up from argv. On stdio the input goes
 * through FrameResync first, so a malformed frame from a client is dropped instead of swallowing
 * every request after it; console output then goes to the client's log (stdout carries the protocol).
 */
function openConnection(): Connection {
  if (!process.argv.includes('--stdio')) return createConnection(ProposedFeatures.all);
  const early: string[] = [];
  let warn = (why: string): void => void early.push(why);
  const frames = new FrameResync((why) => warn(why));
  process.stdin.pipe(frames);
  const conn = createConnection(ProposedFeatures.all, frames, process.stdout);
  warn = (why) => conn.console.warn(why);
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const send = level === 'debug' ? 'log' : level;
    console[level] = (...args: unknown[]) => conn.console[send](format(...args));
  }
  for (const why of early.splice(0)) warn(why);
  return conn;
}

let connections: ConnectionRef[] | undefined;
let workspaceFolders: string[] = [];
let codeLensRefresh = false;
let configurationRegistration = false;
let sessions: SessionManager | undefined;
let tables: TableService | undefined;

const log = {
  info: (m: string) => connection.console.info(m),
  warn: (m: string) => connection.console.warn(m),
  error: (m: string) => connection.console.error(m),
};

function uriToPath(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}

function documentOf(p: { textDocument?: { uri?: unknown } } | null | undefined): TextDocument | undefined {
  const uri = p?.textDocument?.uri;
  return typeof uri === 'string' ? documents.get(uri) : undefined;
}

function queryContext(): QueryContext {
  return { connections, workspaceFolders, nowSeconds: Math.floor(Date.now() / 1000) };
}

function manager(): SessionManager {
  if (!sessions) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'The engine server is not initialized yet.');
  return sessions;
}

/** Failures cross the wire as ResponseError: the sentence as message, the code in data; a bug's stack goes to the log. */
async function guarded<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const failure = toResponseError(err);
    if (failure.data?.code === 'internal') log.error(err instanceof Error ? err.stack ?? err.message : String(err));
    throw failure;
  }
}

/**
 * A custom request's params are untrusted input: checked against the method's declared shape first
 * (InvalidParams, -32602, with a sentence naming the field), then the work runs guarded.
 */
function served<P, T>(method: string, params: unknown, work: (p: P) => Promise<T> | T): Promise<T> {
  const problem = PARAMS_CHECKS[method]?.(params);
  if (problem) return Promise.reject(new ResponseError<ResponseErrorData>(ErrorCodes.InvalidParams, problem, { code: 'invalidParams' }));
  return guarded(() => work(params as P));
}

function refreshCodeLenses(): void {
  if (codeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
}

function validate(doc: TextDocument): void {
  if (!isSavedQueryUri(doc.uri)) return;
  try {
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: computeDiagnostics(doc, queryContext()) });
  } catch (err) {
    log.error(`Diagnostics for ${doc.uri} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
}

function revalidateAll(): void {
  for (const doc of documents.all()) validate(doc);
}

connection.onInitialize((params): InitializeResult => {
  const options = (params.initializationOptions ?? {}) as InitializationOptions;
  connections = parseConnections(options.connections);
  const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
  workspaceFolders = folders.map(uriToPath).filter((p): p is string => !!p);
  codeLensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
  configurationRegistration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;

  const askDatabase = (p: GetDatabaseConnectionParams) => connection.sendRequest(GetDatabaseConnection.type, p);
  const documentText = (uri: string): string | undefined => {
    const open = documents.get(uri);
    if (open) return open.getText();
    // Clients percent-encode file URIs differently (c%3A vs c:); compare paths instead.
    const wanted = uriToPath(uri);
    return wanted ? documents.all().find((d) => uriToPath(d.uri) === wanted)?.getText() : undefined;
  };
  sessions = new SessionManager({
    getCredentials: (p) => connection.sendRequest(GetCredentials.type, p),
    databaseConnection: databaseResolver(askDatabase, 'export'),
    databaseStatus: databaseResolver(askDatabase, 'status'),
    progress: (p) => void connection.sendNotification(ExportProgress.type, p),
    page: (p) => void connection.sendNotification(PageArrived.type, p),
    finished: (p) => {
      void connection.sendNotification(ExportFinished.type, p);
      refreshCodeLenses();
    },
    sessionsChanged: (list) => void connection.sendNotification(SessionsChanged.type, { sessions: list }),
    log,
    connections: () => connections,
    workspaceFolders: () => workspaceFolders,
    documentText,
  }, options.storagePath);
  const manager = sessions;
  tables = new TableService({
    reading: engineTableReading(),
    postgres: databaseResolver(askDatabase, 'read'),
    isWriting: (outputPath) => manager.isWriting(outputPath),
    documentText,
    workspaceFolders: () => workspaceFolders,
  });

  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: ['"'] },
      codeLensProvider: { resolveProvider: false },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    serverInfo: { name: 'zendesk-export-engine' },
  };
});

connection.onInitialized(async () => {
  await sessions?.loadHistory();
  if (configurationRegistration) {
    void connection.client.register(DidChangeConfigurationNotification.type, { section: 'zendesk' }).catch(() => undefined);
  }
  connection.workspace.onDidChangeWorkspaceFolders((e) => {
    const removed = new Set(e.removed.map((f) => uriToPath(f.uri)));
    workspaceFolders = [...workspaceFolders.filter((f) => !removed.has(f)), ...e.added.map((f) => uriToPath(f.uri)).filter((p): p is string => !!p)];
    revalidateAll();
  });
  log.info(`Engine server ready (pid ${process.pid}).`);
});

connection.onDidChangeConfiguration((change) => {
  const parsed = parseConnections(change.settings);
  if (parsed) connections = parsed;
  revalidateAll();
});

// Checkpoints and outputs appearing or changing alter what the CodeLens offers.
connection.onDidChangeWatchedFiles(() => refreshCodeLenses());

documents.onDidChangeContent((e) => validate(e.document));
documents.onDidClose((e) => {
  if (isSavedQueryUri(e.document.uri)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

// LSP requests too may come malformed from a client on stdio: no document, no answer.
connection.onHover((p) => {
  const doc = documentOf(p);
  if (!doc || !isSavedQueryUri(doc.uri)) return null;
  return computeHover(doc, doc.offsetAt(p.position), queryContext());
});

connection.onCompletion((p) => {
  const doc = documentOf(p);
  if (!doc || !isSavedQueryUri(doc.uri)) return [];
  return computeCompletion(doc, doc.offsetAt(p.position), queryContext());
});

connection.onCodeLens(async (p) => {
  const doc = documentOf(p);
  if (!doc || !isSavedQueryUri(doc.uri)) return [];
  const info = await manager().checkpointInfo({ queryUri: doc.uri });
  return codeLensesFor(doc.uri, info);
});

connection.onRequest(StartExport.type, (params, token: CancellationToken) =>
  served(StartExport.method, params, (p: typeof params) => manager().start(p, (cancel) => token.onCancellationRequested(cancel))).then((r) => {
    refreshCodeLenses();
    return r;
  }));
connection.onRequest(CancelExport.type, (params) => served(CancelExport.method, params, (p: typeof params) => ({ cancelled: manager().cancel(p.sessionId) })));
connection.onRequest(ListSessions.type, (params) => served(ListSessions.method, params, () => ({ sessions: manager().list() })));
connection.onRequest(TestConnection.type, (params, token: CancellationToken) =>
  served(TestConnection.method, params, (p: typeof params) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    return manager().testConnection(p, abort.signal);
  }));
connection.onRequest(CheckpointInfo.type, (params) => served(CheckpointInfo.method, params, (p: typeof params) => manager().checkpointInfo(p)));

// The grid's zendesk/rows/* requests (grid area, src/server/rows.ts).
registerRowHandlers(connection, served);
// Table outputs' zendesk/tables/* requests (src/server/tables.ts).
registerTableHandlers(connection, served, () => {
  if (!tables) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'The engine server is not initialized yet.');
  return tables;
});

// Running sessions are cancelled on shutdown so their checkpoints end on a complete page.
connection.onShutdown(async () => {
  await sessions?.cancelAll();
});

documents.listen(connection);
connection.listen();
