// Run / Resume / Cancel / Reveal Output / Open Results. Each export runs in the engine process;
// here we pick the connection, ask what must be asked (trust, start over?), show cancellable
// progress, and turn the outcome into one sentence with the next action.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { emptySessionCounts, type ConnectionRef, type DatabaseRef, type ExportFinishedParams, type SavedQuery, type SessionInfo } from '../protocol/customMessages';
import { toConnectionRef, type ConnectionStore } from './connectionStore';
import type { EngineClient } from './engineClient';
import { presentError, presentMissingSecret, toWireError, type ErrorContext } from './errorPresentation';
import { countsText, n, plural, waitingText } from './format';
import { findQueryFiles, isQueryUri, QUERY_SUFFIX, queryLabel, readQuery } from './queryFiles';
import type { SessionStore } from './sessionStore';

export interface RunOptions {
  /** Discard the checkpoint and output and export from the start time again. */
  fresh?: boolean;
  /** Continue from the checkpoint without asking. */
  resume?: boolean;
  /** Connection name to use when the query names none (the wizard passes it). */
  connection?: string;
}

/** Anything a command may be invoked with: a URI (string or Uri), a tree item holding one, a session. */
type Target = vscode.Uri | string | { uri?: vscode.Uri; session?: SessionInfo } | undefined;

export class ExportCommands {
  constructor(
    private readonly engine: EngineClient,
    private readonly sessions: SessionStore,
    private readonly connections: ConnectionStore,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('zendesk.runQuery', (t?: Target, o?: RunOptions) => this.runCommand(t, o ?? {})),
      vscode.commands.registerCommand('zendesk.resumeQuery', (t?: Target) => this.runCommand(t, { resume: true })),
      vscode.commands.registerCommand('zendesk.cancelExport', (t?: Target) => this.cancel(t)),
      vscode.commands.registerCommand('zendesk.revealOutput', (t?: Target) => this.reveal(t)),
      vscode.commands.registerCommand('zendesk.openResults', (t?: Target) => this.openResults(t)),
      vscode.commands.registerCommand('zendesk.clearRuns', () => this.sessions.clearFinished()),
    ];
  }

  private async runCommand(target: Target, opts: RunOptions): Promise<ExportFinishedParams | undefined> {
    const uri = await this.queryUriOf(target, opts.resume ? 'Resume which saved query?' : 'Run which saved query?');
    if (!uri) return undefined;
    return this.runQueryFile(uri, opts);
  }

  /** Runs a saved query file to the end; resolves with how it ended (undefined when not started). */
  async runQueryFile(uri: vscode.Uri, opts: RunOptions = {}): Promise<ExportFinishedParams | undefined> {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) await open.save();
    const summary = await readQuery(uri);
    if (!summary.query) {
      await presentError(this.log, { code: 'invalidQuery', message: summary.parseError ?? `${path.basename(uri.fsPath)} is not a saved query.` }, { queryUri: uri });
      return undefined;
    }
    const name = queryLabel(summary);
    const already = this.sessions.running().find((s) => s.queryUri === uri.toString());
    if (already) {
      const pick = await vscode.window.showInformationMessage(`"${name}" is already running.`, 'Cancel Export');
      if (pick) await this.cancel(already.sessionId);
      return undefined;
    }
    const connection = await this.connectionFor(summary.query.connection ?? opts.connection, uri);
    if (!connection) return undefined;
    if (!(await this.confirmUntrusted(name, connection))) return undefined;

    let fresh = opts.fresh ?? false;
    if (!opts.fresh && !opts.resume) {
      const decided = await this.askResumeOrStartOver(uri, name);
      if (decided === undefined) return undefined;
      fresh = decided;
    }
    return this.start({ queryUri: uri, name, connection, fresh, resource: summary.query.resource });
  }

  /** Runs a query that has no file yet (the wizard's "Run now"). */
  async runInline(query: SavedQuery, baseDir: string): Promise<ExportFinishedParams | undefined> {
    const connection = await this.connectionFor(query.connection, undefined);
    if (!connection) return undefined;
    if (!(await this.confirmUntrusted(query.name, connection))) return undefined;
    return this.start({ query, baseDir, name: query.name, connection, fresh: false, resource: query.resource });
  }

  private async start(req: {
    queryUri?: vscode.Uri; query?: SavedQuery; baseDir?: string; name: string; connection: ConnectionRef;
    fresh: boolean; resource?: SavedQuery['resource'];
  }): Promise<ExportFinishedParams | undefined> {
    const sessionId = randomUUID();
    const placeholder: SessionInfo = {
      sessionId, status: 'running', queryName: req.name, queryUri: req.queryUri?.toString(), resource: req.resource ?? 'tickets',
      endpointId: '', connectionName: req.connection.name, resumed: false, startedAt: new Date().toISOString(),
      counts: emptySessionCounts(), outputPath: '', files: [], checkpointPath: '',
    };
    this.sessions.add(placeholder);
    this.log.info(`Starting "${req.name}" (session ${sessionId}) on ${req.connection.name}${req.fresh ? ', from the start time' : ''}.`);
    const errorCtx = { connectionName: req.connection.name, auth: req.connection.auth, queryUri: req.queryUri };
    try {
      const started = await this.engine.startExport({
        sessionId, connection: req.connection, queryUri: req.queryUri?.toString(), query: req.query, baseDir: req.baseDir, fresh: req.fresh,
        maxWaitMs: maxWaitMs(),
      });
      this.sessions.update(sessionId, {
        queryName: started.queryName, endpointId: started.endpointId, outputPath: started.outputPath, checkpointPath: started.checkpointPath,
      });
    } catch (err) {
      const wire = toWireError(err);
      this.sessions.update(sessionId, { status: 'failed', error: wire, endedAt: new Date().toISOString() });
      this.sessions.remove(sessionId);
      // Shown, not awaited: the command ends with the failure while the notification stays up.
      void presentError(this.log, err, errorCtx);
      return { ...finishedStub(placeholder), status: 'failed', error: wire };
    }

    const finished = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Zendesk: exporting "${req.name}"`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => void this.cancel(sessionId));
        const sub = this.sessions.onDidChange((s) => {
          if (s?.sessionId === sessionId && s.status === 'running') {
            progress.report({ message: [countsText(s.counts), waitingText(s.counts)].filter(Boolean).join(' · ') });
          }
        });
        try {
          return await this.sessions.whenFinished(sessionId);
        } finally {
          sub.dispose();
        }
      },
    );
    this.announce(finished, req.name, errorCtx);
    return finished;
  }

  private announce(f: ExportFinishedParams, name: string, ctx: ErrorContext & { connectionName: string }): void {
    const c = f.counts;
    this.log.info(`"${name}" ${f.status}: ${c.sessionRecords} new records in ${c.sessionPages} pages, ${c.records} in the output; caughtUp=${f.caughtUp}.`);
    if (f.status === 'done') {
      const msg = `Exported ${plural(c.sessionRecords, 'new record')} from "${name}" (${n(c.records)} in the output)${f.caughtUp ? '; it is up to date.' : '.'}`;
      void vscode.window.showInformationMessage(msg, 'Open Results', 'Reveal Output').then((pick) => {
        if (pick === 'Open Results') void this.openResults(f.outputPath);
        if (pick === 'Reveal Output') void this.reveal(f.outputPath);
      });
    } else if (f.status === 'cancelled') {
      const buttons = ctx.queryUri ? ['Resume'] : [];
      void vscode.window.showInformationMessage(`Cancelled "${name}" after ${plural(c.records, 'record')}; Resume continues from the last complete page.`, ...buttons).then((pick) => {
        if (pick === 'Resume') void vscode.commands.executeCommand('zendesk.resumeQuery', ctx.queryUri);
      });
    } else {
      void presentError(this.log, f.error ?? { code: 'internal', message: `"${name}" failed.` }, ctx);
    }
  }

  /** true = start over, false = continue from the checkpoint, undefined = the person backed out. */
  private async askResumeOrStartOver(uri: vscode.Uri, name: string): Promise<boolean | undefined> {
    let info;
    try {
      info = await this.engine.checkpointInfo({ queryUri: uri.toString() });
    } catch (err) {
      this.log.warn(`Could not read the checkpoint of "${name}": ${toWireError(err).message}`);
      return false;
    }
    if (!info.exists) return false;
    if (!info.matchesQuery) {
      const pick = await vscode.window.showWarningMessage(
        `"${name}" changed since its last run, so its checkpoint no longer applies.`,
        { modal: true, detail: 'Start over exports from the start time again and replaces the output files.' },
        'Start Over',
      );
      return pick ? true : undefined;
    }
    if (info.records === 0 && !info.caughtUp) return false;
    const pick = await vscode.window.showInformationMessage(
      `"${name}" already has ${plural(info.records, 'record')} from an earlier run.`,
      { modal: true, detail: 'Resume fetches only what changed since the last cursor. Start over replaces the output files.' },
      'Resume', 'Start Over',
    );
    return pick === undefined ? undefined : pick === 'Start Over';
  }

  /** In an untrusted workspace a query file could point anywhere: never run it without a yes. */
  private async confirmUntrusted(name: string, connection: ConnectionRef): Promise<boolean> {
    if (vscode.workspace.isTrusted) return true;
    const pick = await vscode.window.showWarningMessage(
      `Run "${name}" in this untrusted workspace?`,
      { modal: true, detail: `It will send requests to ${connection.baseUrl} with the token of "${connection.name}" and write files into this workspace.` },
      'Run',
    );
    return pick === 'Run';
  }

  private async connectionFor(name: string | undefined, uri: vscode.Uri | undefined): Promise<ConnectionRef | undefined> {
    const all = this.connections.list();
    let setting = name ? this.connections.get(name) : all.length === 1 ? all[0] : undefined;
    if (!name && !setting && all.length > 1) {
      const pick = await vscode.window.showQuickPick(all.map((c) => ({ label: c.name, description: toConnectionRef(c).baseUrl, c })), { placeHolder: 'Which connection?' });
      setting = pick?.c;
      if (!setting) return undefined;
    }
    if (!setting) {
      const msg = name
        ? `The query uses connection "${name}", which is not configured${vscode.workspace.isTrusted ? '' : ' (workspace connections are ignored until you trust the workspace)'}.`
        : 'No Zendesk connection is configured.';
      const pick = await vscode.window.showErrorMessage(msg, 'Add Connection', 'Open Settings', ...(uri ? ['Open Query'] : []));
      if (pick === 'Add Connection') await vscode.commands.executeCommand('zendesk.addConnection', name ? { name } : undefined);
      if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'zendesk.connections');
      if (pick === 'Open Query' && uri) await vscode.window.showTextDocument(uri);
      return undefined;
    }
    if (!(await this.connections.hasSecret(setting))) {
      await presentMissingSecret(setting);
      if (!(await this.connections.hasSecret(setting))) return undefined;
    }
    return toConnectionRef(setting);
  }

  private async queryUriOf(target: Target, placeHolder: string): Promise<vscode.Uri | undefined> {
    if (target instanceof vscode.Uri) return target;
    if (typeof target === 'string') return vscode.Uri.parse(target);
    if (target?.uri) return target.uri;
    if (target?.session?.queryUri) return vscode.Uri.parse(target.session.queryUri);
    const active = vscode.window.activeTextEditor?.document.uri;
    if (isQueryUri(active)) return active;
    const files = await findQueryFiles();
    if (files.length === 0) {
      const pick = await vscode.window.showInformationMessage('There is no saved query (*.zdquery.json) in this workspace.', 'New Export…');
      if (pick) await vscode.commands.executeCommand('zendesk.newExport');
      return undefined;
    }
    if (files.length === 1) return files[0];
    const items = await Promise.all(files.map(async (uri) => {
      const s = await readQuery(uri);
      return { label: queryLabel(s), description: vscode.workspace.asRelativePath(uri), uri };
    }));
    return (await vscode.window.showQuickPick(items, { placeHolder }))?.uri;
  }

  private async cancel(target?: Target | string): Promise<boolean> {
    let sessionId: string | undefined;
    if (typeof target === 'string' && this.sessions.get(target)) sessionId = target;
    else if (target && typeof target === 'object' && 'session' in target && target.session) sessionId = target.session.sessionId;
    else {
      const running = this.sessions.running();
      const uri = target instanceof vscode.Uri ? target.toString() : typeof target === 'string' ? target : undefined;
      const byUri = uri ? running.find((s) => s.queryUri === uri) : undefined;
      if (byUri) sessionId = byUri.sessionId;
      else if (running.length === 1) sessionId = running[0].sessionId;
      else if (running.length > 1) {
        const pick = await vscode.window.showQuickPick(running.map((s) => ({ label: s.queryName, description: countsText(s.counts), s })), { placeHolder: 'Cancel which export?' });
        sessionId = pick?.s.sessionId;
      } else {
        void vscode.window.showInformationMessage('No Zendesk export is running.');
      }
    }
    if (!sessionId) return false;
    this.log.info(`Cancelling session ${sessionId}.`);
    try {
      return await this.engine.cancelExport(sessionId);
    } catch (err) {
      await presentError(this.log, err);
      return false;
    }
  }

  /** Output path of a target: a session's, or what the query's checkpoint info says. */
  private async outputOf(target: Target): Promise<{ output?: string; files: string[] }> {
    if (target && typeof target === 'object' && !(target instanceof vscode.Uri) && target.session) {
      return { output: target.session.outputPath || undefined, files: target.session.files };
    }
    if (typeof target === 'string' && !target.includes('://') && path.isAbsolute(target) && !target.endsWith(QUERY_SUFFIX)) return { output: target, files: [target] };
    const uri = await this.queryUriOf(target, 'Results of which saved query?');
    if (!uri) return { files: [] };
    const latest = this.sessions.list().find((s) => s.queryUri === uri.toString() && s.outputPath);
    try {
      const info = await this.engine.checkpointInfo({ queryUri: uri.toString() });
      if (info.outputPath) return { output: info.outputPath, files: info.files };
    } catch (err) {
      this.log.warn(`Could not resolve the output of ${uri.fsPath}: ${toWireError(err).message}`);
    }
    return { output: latest?.outputPath, files: latest?.files ?? [] };
  }

  private async openResults(target: Target): Promise<void> {
    // A table output's results are its current-state table (of the query's resource) in the grid.
    const tables = await this.tablesOf(target);
    if (tables) {
      await vscode.commands.executeCommand('zendesk.openInGrid', tables);
      return;
    }
    const { output } = await this.outputOf(target);
    if (!output) return;
    const uri = vscode.Uri.file(output);
    try {
      await vscode.workspace.fs.stat(uri);
    } catch {
      void vscode.window.showInformationMessage(`There are no results yet at ${vscode.workspace.asRelativePath(uri)}; run the query first.`);
      return;
    }
    // Records open in the grid (rows streamed from the engine); anything else, or a grid failure, as text.
    if (/\.(jsonl|ndjson|json|csv|duckdb)$/i.test(output)) {
      try {
        await vscode.commands.executeCommand('zendesk.openInGrid', uri);
        return;
      } catch (err) {
        this.log.warn(`The grid could not open ${output}: ${toWireError(err).message}; opening it as text.`);
      }
    }
    await vscode.window.showTextDocument(uri, { preview: false });
  }

  /** The database (and the current-state table) a run or a saved query writes; undefined for files. */
  private async tablesOf(target: Target): Promise<{ database: DatabaseRef; table?: string } | undefined> {
    if (target && typeof target === 'object' && !(target instanceof vscode.Uri) && target.session) {
      return target.session.database ? { database: target.session.database, table: target.session.resource } : undefined;
    }
    const uri = target instanceof vscode.Uri ? target : typeof target === 'string' && target.includes('://') ? vscode.Uri.parse(target) : undefined;
    if (!isQueryUri(uri)) return undefined;
    try {
      const listed = await this.engine.listTables({ queryUri: uri.toString() });
      if (!listed.database) return undefined;
      return { database: listed.database, table: listed.tables.find((t) => t.role === 'current')?.name };
    } catch (err) {
      this.log.warn(`Could not list the tables of ${uri.fsPath}: ${toWireError(err).message}`);
      return undefined;
    }
  }

  private async reveal(target: Target): Promise<void> {
    const { output } = await this.outputOf(target);
    if (!output) return;
    const uri = vscode.Uri.file(output);
    // The Explorer can only reveal what is inside the workspace; otherwise open the OS file manager.
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    else await vscode.commands.executeCommand('revealFileInOS', uri);
  }
}

/** `zendesk.export.maxWaitMinutes` in ms; undefined (the engine's default) when unset or not a positive number. */
function maxWaitMs(): number | undefined {
  const minutes = vscode.workspace.getConfiguration('zendesk').get<unknown>('export.maxWaitMinutes');
  return typeof minutes === 'number' && Number.isFinite(minutes) && minutes > 0 ? Math.min(minutes, 1440) * 60_000 : undefined;
}

function finishedStub(s: SessionInfo): ExportFinishedParams {
  const now = new Date().toISOString();
  return { sessionId: s.sessionId, queryName: s.queryName, status: 'failed', counts: s.counts, files: [], outputPath: '', checkpointPath: '', caughtUp: false, startedAt: s.startedAt, endedAt: now };
}
