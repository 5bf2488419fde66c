// Entry point of the extension: wires settings + secrets, the engine's language client, the
// three views, the commands and the status bar. Activation stays cheap (the engine starts in
// the background); how long it took goes to the log.
import * as vscode from 'vscode';
import { registerZendeskAuth } from './auth/index';
import { ConnectionCommands } from './connectionCommands';
import { ConnectionStore } from './connectionStore';
import { DemoSimulator } from './demoSimulator';
import { EngineClient } from './engineClient';
import { ExportCommands } from './exportCommands';
import { registerGrid } from './grid/gridPanel';
import { NewExportWizard } from './newExportWizard';
import { SessionStore } from './sessionStore';
import { ExportStatusBar } from './statusBar';
import { registerTestCommands } from './testCommands';
import { ConnectionsTreeProvider } from './views/connectionsView';
import { QueriesTreeProvider } from './views/queriesView';
import { RunsTreeProvider } from './views/runsView';

/** What activate() returns: for tests and for other extensions that want to watch exports. */
export interface ZendeskExportApi {
  readonly activationMs: number;
  readonly connections: ConnectionStore;
  readonly sessions: SessionStore;
  readonly engine: EngineClient;
  readonly exports: ExportCommands;
  readonly simulator: DemoSimulator;
}

export function activate(context: vscode.ExtensionContext): ZendeskExportApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Zendesk Export', { log: true });
  context.subscriptions.push(log);

  const connections = new ConnectionStore(context.secrets);
  const auth = registerZendeskAuth(context, log);
  connections.signedIn = (name) => auth.isSignedIn(name);
  const engine = new EngineClient(context, log, connections, auth);
  const sessions = new SessionStore(engine, log);
  const exports = new ExportCommands(engine, sessions, connections, log);
  const simulator = new DemoSimulator(context, connections, log);
  context.subscriptions.push(connections, engine, sessions, simulator);

  const connectionsTree = new ConnectionsTreeProvider(connections);
  const queriesTree = new QueriesTreeProvider(engine, sessions);
  const runsTree = new RunsTreeProvider(sessions);
  const runsView = vscode.window.createTreeView('zendesk.runs', { treeDataProvider: runsTree, showCollapseAll: true });
  runsTree.attach(runsView);
  context.subscriptions.push(
    connectionsTree, queriesTree, runsTree, runsView,
    vscode.window.createTreeView('zendesk.connections', { treeDataProvider: connectionsTree }),
    vscode.window.createTreeView('zendesk.queries', { treeDataProvider: queriesTree }),
    new ExportStatusBar(sessions),
    ...new ConnectionCommands(connections, engine, log).register(),
    ...exports.register(),
    ...simulator.register(),
    new NewExportWizard(connections, exports).register(),
    registerGrid(context, engine, sessions),
    vscode.commands.registerCommand('zendesk.refreshQueries', () => queriesTree.refresh()),
    vscode.commands.registerCommand('zendesk.showLog', () => log.show()),
  );
  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    context.subscriptions.push(...registerTestCommands(engine, context.secrets));
  }

  // The engine is needed by the first export, CodeLens and diagnostics, but not by activation.
  void engine.ready().catch((err: unknown) => {
    log.error(`The export engine did not start: ${err instanceof Error ? err.message : String(err)}`);
    void vscode.window.showErrorMessage('The Zendesk export engine did not start.', 'Show Log').then((p) => p && log.show());
  });
  void simulator.adoptFromEnvironment();

  const activationMs = Math.round((performance.now() - started) * 10) / 10;
  log.info(`Activated in ${activationMs} ms (${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'} UI, VS Code ${vscode.version}).`);
  return { activationMs, connections, sessions, engine, exports, simulator };
}

export function deactivate(): void {
  // Everything is in context.subscriptions; the language client stops with them.
}
