// The engine process. Speaks LSP + the custom messages of src/protocol/customMessages.ts over IPC
// (started by the extension's language client with TransportKind.ipc) or stdio (`--stdio`, for other
// editors and tools). Exports run here so a long export never blocks or bloats the extension host.
import { fileURLToPath } from 'node:url';
import {
  CodeLensRefreshRequest,
  createConnection,
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
  ListSessions,
  PageArrived,
  SessionsChanged,
  StartExport,
  TestConnection,
  type ConnectionRef,
  type InitializationOptions,
} from '../protocol/customMessages';
import { parseConnections } from './connections';
import { registerRowHandlers } from './rows';
import { codeLensesFor, computeCompletion, computeDiagnostics, computeHover, isSavedQueryUri, type QueryContext } from './queryLanguage';
import { toResponseError } from './failures';
import { SessionManager } from './sessions';

// The name other processes see, e.g. in an output's lock when a second export is refused.
process.title = 'zdx-engine';
const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let connections: ConnectionRef[] | undefined;
let workspaceFolders: string[] = [];
let codeLensRefresh = false;
let configurationRegistration = false;
let sessions: SessionManager | undefined;

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

  sessions = new SessionManager({
    getCredentials: (p) => connection.sendRequest(GetCredentials.type, p),
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
    documentText: (uri) => {
      const open = documents.get(uri);
      if (open) return open.getText();
      // Clients percent-encode file URIs differently (c%3A vs c:); compare paths instead.
      const wanted = uriToPath(uri);
      return wanted ? documents.all().find((d) => uriToPath(d.uri) === wanted)?.getText() : undefined;
    },
  }, options.storagePath);

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

connection.onHover((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (!doc || !isSavedQueryUri(doc.uri)) return null;
  return computeHover(doc, doc.offsetAt(p.position), queryContext());
});

connection.onCompletion((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (!doc || !isSavedQueryUri(doc.uri)) return [];
  return computeCompletion(doc, doc.offsetAt(p.position), queryContext());
});

connection.onCodeLens(async (p) => {
  const doc = documents.get(p.textDocument.uri);
  if (!doc || !isSavedQueryUri(doc.uri)) return [];
  const info = await manager().checkpointInfo({ queryUri: doc.uri });
  return codeLensesFor(doc.uri, info);
});

connection.onRequest(StartExport.type, (params, token: CancellationToken) =>
  guarded(() => manager().start(params, (cancel) => token.onCancellationRequested(cancel))).then((r) => {
    refreshCodeLenses();
    return r;
  }));
connection.onRequest(CancelExport.type, (params) => guarded(() => ({ cancelled: manager().cancel(params.sessionId) })));
connection.onRequest(ListSessions.type, () => guarded(() => ({ sessions: manager().list() })));
connection.onRequest(TestConnection.type, (params, token: CancellationToken) =>
  guarded(() => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    return manager().testConnection(params, abort.signal);
  }));
connection.onRequest(CheckpointInfo.type, (params) => guarded(() => manager().checkpointInfo(params)));

// The grid's zendesk/rows/* requests (grid area, src/server/rows.ts).
registerRowHandlers(connection, guarded);

// Running sessions are cancelled on shutdown so their checkpoints end on a complete page.
connection.onShutdown(async () => {
  await sessions?.cancelAll();
});

documents.listen(connection);
connection.listen();
