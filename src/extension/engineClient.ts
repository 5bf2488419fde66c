// The extension's only door to the engine process: starts the engine server (dist/server.js) the
// way language clients do (vscode-languageclient over IPC, Node via process.execPath, the client
// sets ELECTRON_RUN_AS_NODE), restarts it when it dies, pipes its log into the "Zendesk Export"
// LogOutputChannel, and turns the protocol's messages into typed methods and events. Nothing
// else in the extension holds the LanguageClient.
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  CancelExport,
  CheckpointInfo,
  CloseDatabase,
  CloseRows,
  GetDatabaseConnection,
  GetTableWindow,
  ListTables,
  RunSql,
  type DatabaseRef,
  type GetDatabaseConnectionParams,
  type GetDatabaseConnectionResult,
  type ListTablesParams,
  type ListTablesResult,
  type RunSqlParams,
  type SqlPage,
  type TableWindowParams,
  type WindowResult,
  ExportFinished,
  ExportProgress,
  ExportRows,
  GetCredentials,
  GetRowColumns,
  GetRowRecords,
  GetRows,
  type GetCredentialsParams,
  type GetCredentialsResult,
  ListSessions,
  PageArrived,
  SessionsChanged,
  StartExport,
  TestConnection,
  type CheckpointInfoParams,
  type CheckpointInfoResult,
  type ExportFinishedParams,
  type ExportProgressParams,
  type ExportRowsParams,
  type GetRowsParams,
  type GetRowsResult,
  type InitializationOptions,
  type PageArrivedParams,
  type RowColumnsResult,
  type SessionInfo,
  type StartExportParams,
  type StartExportResult,
  type TestConnectionResult,
  type ConnectionRef,
} from '../protocol/customMessages';
import { isLoopbackUrl, redactSecrets } from '../engine/zendesk';
import type { ZendeskAuth } from './auth/index';
import { releaseToken } from './auth/hostBinding';
import type { ConnectionStore } from './connectionStore';
import type { DatabaseStore } from './databaseStore';

/** Restarts allowed within RESTART_WINDOW_MS before we give up and say so. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60_000;

export class EngineClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly restarts: number[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  private readonly progressEmitter = new vscode.EventEmitter<ExportProgressParams>();
  private readonly finishedEmitter = new vscode.EventEmitter<ExportFinishedParams>();
  /** Fires when the server process went away (before any restart). */
  private readonly stoppedEmitter = new vscode.EventEmitter<void>();
  /** Fires when a (re)started server is ready. */
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  private readonly sessionsEmitter = new vscode.EventEmitter<SessionInfo[]>();
  private readonly pageEmitter = new vscode.EventEmitter<PageArrivedParams>();
  readonly onProgress = this.progressEmitter.event;
  readonly onFinished = this.finishedEmitter.event;
  readonly onStopped = this.stoppedEmitter.event;
  readonly onReady = this.readyEmitter.event;
  readonly onSessionsChanged = this.sessionsEmitter.event;
  /** A page of records was appended to an output file (the grid refreshes its rows). */
  readonly onPage = this.pageEmitter.event;
  /** Secrets given to the engine in this window, so the protocol trace can redact them. */
  private readonly handedOut = new Set<string>();
  private readonly redactedLog: vscode.LogOutputChannel;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly connections: ConnectionStore,
    private readonly auth?: ZendeskAuth,
    private readonly databases?: DatabaseStore,
  ) {
    this.redactedLog = redactingChannel(log, this.handedOut);
    this.disposables.push(this.progressEmitter, this.finishedEmitter, this.stoppedEmitter, this.readyEmitter, this.sessionsEmitter, this.pageEmitter);
    this.disposables.push(connections.onDidChange(() => void this.pushConnections()));
  }

  /** Starts the server once; later calls share the same start. */
  async ready(): Promise<void> {
    await this.started();
  }

  private started(): Promise<LanguageClient> {
    if (!this.starting) {
      this.starting = this.start().catch((err: unknown) => {
        this.starting = undefined;
        throw err;
      });
    }
    return this.starting;
  }

  get isRunning(): boolean {
    return this.client?.state === State.Running;
  }

  private async start(): Promise<LanguageClient> {
    const module = this.context.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const initializationOptions: InitializationOptions = {
      storagePath: this.context.globalStorageUri.fsPath,
      connections: this.connections.refs(),
      schemaPath: this.context.asAbsolutePath('schemas/zdquery.schema.json'),
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'json', pattern: '**/*.zdquery.json' },
        { scheme: 'file', language: 'jsonc', pattern: '**/*.zdquery.json' },
      ],
      // The protocol trace prints message contents, GetCredentials replies included.
      outputChannel: this.redactedLog,
      traceOutputChannel: this.redactedLog,
      initializationOptions,
      synchronize: {
        // Checkpoints change what the Resume CodeLens says.
        fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{zdquery.json,checkpoint.json}'),
      },
      errorHandler: this.errorHandler(),
    };
    const client = new LanguageClient('zendeskExport', 'Zendesk Export Engine', serverOptions, clientOptions);
    this.client = client;

    this.disposables.push(
      client.onRequest(GetCredentials.type, async (params) => {
        const answer = await this.credentialsFor(params);
        if (answer && 'secret' in answer) this.handedOut.add(answer.secret);
        return answer;
      }),
      client.onRequest(GetDatabaseConnection.type, async (params) => {
        const answer = await this.databaseFor(params);
        if (answer && 'password' in answer && answer.password) this.handedOut.add(answer.password);
        return answer;
      }),
      client.onNotification(ExportProgress.type, (p) => this.progressEmitter.fire(p)),
      client.onNotification(ExportFinished.type, (p) => this.finishedEmitter.fire(p)),
      client.onNotification(SessionsChanged.type, (p) => this.sessionsEmitter.fire(p.sessions)),
      client.onNotification(PageArrived.type, (p) => this.pageEmitter.fire(p)),
      client.onDidChangeState((e) => {
        this.log.info(`Engine state: ${State[e.oldState]} -> ${State[e.newState]}`);
        if (e.newState === State.Running && e.oldState !== State.Running) this.readyEmitter.fire();
      }),
    );

    const started = Date.now();
    await client.start();
    this.log.info(`Engine server started in ${Date.now() - started} ms.`);
    return client;
  }

  /**
   * GetCredentials: a secret goes only to the origin it was stored for, unless the person agrees
   * (hostBinding.ts); the connection in the request is where the engine will send it.
   */
  private async credentialsFor({ connection, reason, rejected }: GetCredentialsParams): Promise<GetCredentialsResult> {
    const pasted = (): Promise<GetCredentialsResult> => releaseToken(this.connections, connection);
    // OAuth: the provider's access token (refreshed ahead of expiry or after a 401), else a pasted token.
    if (this.auth && !(connection.auth === 'apiToken' && isLoopbackUrl(connection.baseUrl))) {
      return this.auth.secretFor(connection, reason, pasted, rejected);
    }
    if (reason === 'refresh') return null;
    return pasted();
  }

  /** GetDatabaseConnection: the URL from settings, the password from secret storage (asked the first time). */
  private async databaseFor(params: GetDatabaseConnectionParams): Promise<GetDatabaseConnectionResult> {
    if (!this.databases) return { refused: 'This editor keeps no database connections.' };
    return this.databases.connectionFor(params.connection, params.reason);
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (error, _message, count): ErrorHandlerResult => {
        this.log.error(`Engine connection error: ${error.message}`);
        return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
      },
      closed: (): CloseHandlerResult => {
        this.stoppedEmitter.fire();
        const now = Date.now();
        this.restarts.push(now);
        while (this.restarts.length && now - this.restarts[0] > RESTART_WINDOW_MS) this.restarts.shift();
        if (this.restarts.length > MAX_RESTARTS) {
          this.log.error(`The engine stopped ${this.restarts.length} times in 3 minutes; not restarting it.`);
          void vscode.window
            .showErrorMessage('The Zendesk export engine keeps stopping, so it was not restarted.', 'Show Log', 'Reload Window')
            .then((pick) => {
              if (pick === 'Show Log') this.log.show();
              if (pick === 'Reload Window') void vscode.commands.executeCommand('workbench.action.reloadWindow');
            });
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        this.log.warn('The engine stopped; restarting it.');
        void vscode.window
          .showWarningMessage('The Zendesk export engine stopped and was restarted; interrupted exports can be resumed from their last cursor.', 'Show Log')
          .then((pick) => {
            if (pick === 'Show Log') this.log.show();
          });
        return { action: CloseAction.Restart, handled: true };
      },
    };
  }

  private async pushConnections(): Promise<void> {
    if (!this.client || !this.isRunning) return;
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { connections: this.connections.refs() } });
  }

  async startExport(params: StartExportParams): Promise<StartExportResult> {
    return (await this.started()).sendRequest(StartExport.type, params);
  }

  async cancelExport(sessionId: string): Promise<boolean> {
    return (await this.started()).sendRequest(CancelExport.type, { sessionId }).then((r) => r.cancelled);
  }

  async listSessions(): Promise<SessionInfo[]> {
    return (await this.started()).sendRequest(ListSessions.type, {}).then((r) => r.sessions);
  }

  async testConnection(connection: ConnectionRef): Promise<TestConnectionResult> {
    return (await this.started()).sendRequest(TestConnection.type, { connection });
  }

  async checkpointInfo(params: CheckpointInfoParams): Promise<CheckpointInfoResult> {
    return (await this.started()).sendRequest(CheckpointInfo.type, params);
  }

  // The grid's rows: windows of an output file, served by the engine's row index.

  async getRows(params: GetRowsParams): Promise<GetRowsResult> {
    return (await this.started()).sendRequest(GetRows.type, params);
  }

  async rowColumns(path: string): Promise<RowColumnsResult> {
    return (await this.started()).sendRequest(GetRowColumns.type, { path });
  }

  async rowRecords(path: string, ids: number[]): Promise<Record<string, unknown>[]> {
    return (await this.started()).sendRequest(GetRowRecords.type, { path, ids }).then((r) => r.records);
  }

  async exportRows(params: ExportRowsParams): Promise<{ rows: number; target: string }> {
    return (await this.started()).sendRequest(ExportRows.type, params);
  }

  /** The file is no longer shown: the server may drop its index. */
  async closeRows(path: string): Promise<void> {
    await (await this.started()).sendNotification(CloseRows.type, { path });
  }

  // Tables of a table output (DuckDB file, PostgreSQL schema), read by the engine.

  async listTables(params: ListTablesParams): Promise<ListTablesResult> {
    return (await this.started()).sendRequest(ListTables.type, params);
  }

  async tableWindow(params: TableWindowParams): Promise<WindowResult> {
    return (await this.started()).sendRequest(GetTableWindow.type, params);
  }

  async runSql(params: RunSqlParams): Promise<SqlPage> {
    return (await this.started()).sendRequest(RunSql.type, params);
  }

  /** The database is no longer shown: the engine lets go of it. */
  async closeDatabase(database: DatabaseRef): Promise<void> {
    if (!this.isRunning) return;
    await (await this.started()).sendNotification(CloseDatabase.type, { database });
  }

  async stop(): Promise<void> {
    if (this.client?.isRunning()) await this.client.stop(5000);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    void this.stop();
  }
}

/** The same channel, with every secret handed to the engine replaced before it is written. */
function redactingChannel(channel: vscode.LogOutputChannel, secrets: ReadonlySet<string>): vscode.LogOutputChannel {
  return new Proxy(channel, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args.map((a) => (typeof a === 'string' ? redactSecrets(a, secrets) : a)));
    },
  });
}
