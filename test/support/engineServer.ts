// The engine server as a real child process over stdio (`--stdio`), driven by a JSON-RPC client the
// way another editor would, with a door to its raw stdin for frames no well-behaved client sends.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  CodeLensRefreshRequest,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  type Diagnostic,
} from 'vscode-languageserver-protocol';
import { ExportFinished, GetCredentials, type ConnectionRef, type ExportFinishedParams, type GetCredentialsParams, type GetCredentialsResult } from '../../src/protocol/customMessages';
import { REPO } from './cliProcess';
import { until } from './until';

export interface EngineServer {
  child: ChildProcess;
  rpc: MessageConnection;
  diagnostics: Map<string, Diagnostic[]>;
  finished: ExportFinishedParams[];
  logs: string[];
  stderr: string[];
  /** Bytes written to the server's stdin as they are, between whole messages of the client. */
  writeRaw(bytes: Buffer | string): Promise<void>;
  /** Sends didOpen for a file of the workspace; returns its URI. */
  open(file: string, text: string): Promise<string>;
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface EngineServerOptions {
  workspace: string;
  connections: ConnectionRef[];
  credentials: (p: GetCredentialsParams) => GetCredentialsResult;
}

export async function startEngineServer(opts: EngineServerOptions): Promise<EngineServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/server/main.ts'), '--stdio'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const s: EngineServer = {
    child,
    rpc,
    diagnostics: new Map(),
    finished: [],
    logs: [],
    stderr: [],
    writeRaw: (bytes) => new Promise<void>((resolve, reject) => child.stdin!.write(bytes, (err) => (err ? reject(err) : resolve()))),
    async open(file, text) {
      const uri = pathToFileURL(file).toString();
      await rpc.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
      return uri;
    },
    waitFor: (what, probe, timeoutMs = 30_000) => until(what, probe, { timeoutMs, found: () => `stderr: ${s.stderr.join('')}` }),
    async stop() {
      try {
        await rpc.sendRequest(ShutdownRequest.type);
        await rpc.sendNotification(ExitNotification.type);
      } catch {
        // Already gone; killed below either way.
      }
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill();
          resolve();
        }, 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      rpc.dispose();
    },
  };
  child.stderr!.on('data', (d: Buffer) => s.stderr.push(d.toString()));
  rpc.onNotification(PublishDiagnosticsNotification.type, (p) => {
    s.diagnostics.set(p.uri, p.diagnostics);
  });
  rpc.onNotification(ExportFinished.type, (p) => {
    s.finished.push(p);
  });
  rpc.onNotification(LogMessageNotification.type, (p) => {
    s.logs.push(p.message);
  });
  rpc.onRequest(CodeLensRefreshRequest.type, () => undefined);
  rpc.onRequest(GetCredentials.type, (p) => opts.credentials(p));
  rpc.listen();
  const ws = pathToFileURL(opts.workspace).toString();
  await rpc.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: ws,
    workspaceFolders: [{ uri: ws, name: 'ws' }],
    capabilities: { workspace: { codeLens: { refreshSupport: true } } },
    initializationOptions: { connections: opts.connections, storagePath: path.join(opts.workspace, '.storage') },
  });
  await rpc.sendNotification(InitializedNotification.type, {});
  return s;
}
