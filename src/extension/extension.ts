// Entry point of the extension: wires settings + secrets, the engine's language client, the
// four views, the commands and the status bar. Activation stays cheap (the engine starts in
// the background); how long it took goes to the log.
import * as vscode from 'vscode';
import { registerZendeskAuth } from './auth/index';
import { ConnectionCommands } from './connectionCommands';
import { ConnectionStore } from './connectionStore';
import { DatabaseStore } from './databaseStore';
import { DemoSimulator } from './demoSimulator';
import { EngineClient } from './engineClient';
import { findQueryFiles } from './queryFiles';
import { ExportCommands } from './exportCommands';
import { registerGrid } from './grid/gridPanel';
import { NewExportWizard } from './newExportWizard';
import { SessionStore } from './sessionStore';
import { SqlCommands } from './sql/sqlCommands';
import { ExportStatusBar } from './statusBar';
import { registerTestCommands } from './testCommands';
import { ConnectionsTreeProvider } from './views/connectionsView';
import { QueriesTreeProvider } from './views/queriesView';
import { ResultsTreeProvider } from './views/resultsView';
import { RunsTreeProvider } from './views/runsView';

/** What activate() returns: for tests and for other extensions that want to watch exports. */
export interface ZendeskExportApi {
  readonly activationMs: number;
  readonly connections: ConnectionStore;
  readonly databases: DatabaseStore;
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
  const databases = new DatabaseStore(context.secrets);
  const engine = new EngineClient(context, log, connections, auth, databases);
  const sessions = new SessionStore(engine, log);
  const exports = new ExportCommands(engine, sessions, connections, log);
  const simulator = new DemoSimulator(context, connections, log);
  context.subscriptions.push(connections, databases, engine, sessions, simulator);

  const connectionsTree = new ConnectionsTreeProvider(connections);
  const queriesTree = new QueriesTreeProvider(engine, sessions);
  const runsTree = new RunsTreeProvider(sessions);
  const runsView = vscode.window.createTreeView('zendesk.runs', { treeDataProvider: runsTree, showCollapseAll: true });
  runsTree.attach(runsView);
  const resultsTree = new ResultsTreeProvider(engine, sessions);
  const grid = registerGrid(context, engine, sessions);
  context.subscriptions.push(
    connectionsTree, queriesTree, runsTree, runsView, resultsTree,
    vscode.window.createTreeView('zendesk.results', { treeDataProvider: resultsTree, showCollapseAll: true }),
    vscode.window.createTreeView('zendesk.connections', { treeDataProvider: connectionsTree }),
    vscode.window.createTreeView('zendesk.queries', { treeDataProvider: queriesTree }),
    new ExportStatusBar(sessions),
    ...new ConnectionCommands(connections, engine, log).register(),
    ...exports.register(),
    ...simulator.register(),
    new NewExportWizard(connections, exports, databases).register(),
    grid.disposable,
    ...new SqlCommands(engine, grid.grids).register(),
    ...databases.register(),
    vscode.commands.registerCommand('zendesk.refreshQueries', () => queriesTree.refresh()),
    vscode.commands.registerCommand('zendesk.refreshResults', () => resultsTree.refresh()),
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
  // Until the views know what they show (npm start's demo connection, the workspace's query files),
  // their welcome text says they are loading rather than offering to add what already exists.
  void Promise.allSettled([simulator.adoptFromEnvironment(), findQueryFiles()])
    .then(() => {
      connectionsTree.markLoaded();
      return vscode.commands.executeCommand('setContext', 'zendesk.ready', true);
    });
  void openWalkthroughOnFirstStart(context, log);

  const activationMs = Math.round((performance.now() - started) * 10) / 10;
  log.info(`Activated in ${activationMs} ms (${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'} UI, VS Code ${vscode.version}).`);
  return { activationMs, connections, databases, sessions, engine, exports, simulator };
}

const WALKTHROUGH_SHOWN = 'zendesk.walkthroughShown';

/**
 * The walkthrough, once, on the first start. Someone who set workbench.startupEditor to "none"
 * asked for no editor at startup (the test harness does), so they get none.
 */
async function openWalkthroughOnFirstStart(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<void> {
  if (context.globalState.get<boolean>(WALKTHROUGH_SHOWN)) return;
  if (vscode.workspace.getConfiguration('workbench').get<string>('startupEditor') === 'none') return;
  try {
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#zendesk.gettingStarted`, false);
    await context.globalState.update(WALKTHROUGH_SHOWN, true);
  } catch (err) {
    log.warn(`Could not open the walkthrough: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function deactivate(): void {
  // Everything is in context.subscriptions; the language client stops with them.
}
