// "Open in SQL": a scratch SQL document bound to a DuckDB file (or a Parquet output's folder) by its
// first line (`-- zdx: duckdb out/tickets.duckdb`), with a "▶ Run" CodeLens above each statement. A
// run opens the statement's rows in the grid, paged from the engine (read-only: nothing is changed).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatabaseRef } from '../../protocol/customMessages';
import type { EngineClient } from '../engineClient';
import type { GridOpener } from '../grid/gridPanel';
import { ResultsTreeProvider } from '../views/resultsView';
import { bindingLine, boundTo, splitStatements } from './statements';

const SELECTOR: vscode.DocumentSelector = [{ language: 'sql' }];

/** Where a scratch file's relative binding starts: its own folder when saved, else the first workspace folder. */
function baseOf(doc: vscode.TextDocument): string | undefined {
  if (doc.uri.scheme === 'file') return path.dirname(doc.uri.fsPath);
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The DuckDB file (or Parquet folder) a SQL document is bound to, or undefined. */
export function databaseOfDocument(doc: vscode.TextDocument): DatabaseRef | undefined {
  const bound = boundTo(doc.getText(new vscode.Range(0, 0, 5, 0)));
  if (!bound) return undefined;
  const base = baseOf(doc);
  const file = path.isAbsolute(bound.path) ? bound.path : base ? path.resolve(base, bound.path) : undefined;
  return file ? { kind: bound.kind, path: file } : undefined;
}

/** How the binding line names a file: relative to the workspace folder holding it, else absolute. */
function boundName(file: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  return folder ? path.relative(folder.uri.fsPath, file).split(path.sep).join('/') : file;
}

class RunLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!databaseOfDocument(doc)) return [];
    return splitStatements(doc.getText()).map((s) => {
      const range = new vscode.Range(doc.positionAt(s.start), doc.positionAt(s.end));
      return new vscode.CodeLens(range, { title: '▶ Run', tooltip: 'Run this statement; its rows open in the grid', command: 'zendesk.runSql', arguments: [doc.uri, s.sql] });
    });
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class SqlCommands {
  constructor(private readonly engine: EngineClient, private readonly grids: GridOpener) {}

  register(): vscode.Disposable[] {
    const lenses = new RunLenses();
    return [
      lenses,
      vscode.languages.registerCodeLensProvider(SELECTOR, lenses),
      vscode.commands.registerCommand('zendesk.openInSql', (target?: unknown) => this.openInSql(target)),
      vscode.commands.registerCommand('zendesk.runSql', (uri?: unknown, sql?: unknown) => this.run(uri, sql)),
    ];
  }

  /** Opens a scratch SQL document bound to the DuckDB file of a Results item, a run, a .duckdb Uri, or one picked. */
  async openInSql(target: unknown): Promise<vscode.TextEditor | undefined> {
    const database = target instanceof vscode.Uri ? { kind: 'duckdb' as const, path: target.fsPath } : ResultsTreeProvider.databaseOf(target) ?? (await this.pickDuckDb());
    if (!database) return undefined;
    if (database.kind === 'postgres') {
      void vscode.window.showInformationMessage('Open in SQL works on DuckDB files and Parquet folders; query a PostgreSQL schema with your usual PostgreSQL client.');
      return undefined;
    }
    const table = target && typeof target === 'object' && 'table' in target && typeof target.table === 'string' ? target.table : await this.firstTable(database);
    const content = [
      bindingLine(boundName(database.path), database.kind),
      '-- ▶ Run above a statement shows its rows in the grid. Read-only: nothing is changed.',
      table ? `SELECT * FROM ${quoteName(table)} LIMIT 1000;` : 'SHOW TABLES;',
      '',
    ].join('\n');
    const doc = await vscode.workspace.openTextDocument({ language: 'sql', content });
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  /** The current state of the first resource, as the first statement to run. */
  private async firstTable(database: DatabaseRef): Promise<string | undefined> {
    try {
      const listed = await this.engine.listTables({ database });
      return (listed.tables.find((t) => t.role === 'current') ?? listed.tables[0])?.name;
    } catch {
      return undefined;
    }
  }

  private async pickDuckDb(): Promise<DatabaseRef | undefined> {
    const files = await vscode.workspace.findFiles('**/*.duckdb', '**/node_modules/**', 200);
    if (files.length === 1) return { kind: 'duckdb', path: files[0].fsPath };
    if (files.length === 0) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { DuckDB: ['duckdb'] }, title: 'Query which DuckDB file?' });
      return picked?.[0] ? { kind: 'duckdb', path: picked[0].fsPath } : undefined;
    }
    const pick = await vscode.window.showQuickPick(files.map((f) => ({ label: vscode.workspace.asRelativePath(f), file: f.fsPath })), { placeHolder: 'Query which DuckDB file?' });
    return pick ? { kind: 'duckdb', path: pick.file } : undefined;
  }

  /** Runs one statement of a bound document (the CodeLens's, or the one at the cursor) into the grid. */
  async run(uriArg: unknown, sqlArg: unknown): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const doc = uriArg instanceof vscode.Uri
      ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uriArg.toString()) ?? (await vscode.workspace.openTextDocument(uriArg))
      : editor?.document;
    if (!doc) return;
    const database = databaseOfDocument(doc);
    if (!database) {
      void vscode.window.showWarningMessage(`This SQL is bound to no DuckDB file: start it with a line such as "${bindingLine('out/tickets.duckdb')}", or use "Zendesk: Open in SQL".`);
      return;
    }
    let sql = typeof sqlArg === 'string' ? sqlArg : undefined;
    if (!sql && editor?.document === doc) {
      const at = doc.offsetAt(editor.selection.active);
      const statements = splitStatements(doc.getText());
      sql = (statements.find((s) => at >= s.start && at <= s.end + 1) ?? statements[statements.length - 1])?.sql;
    }
    if (!sql) return;
    await this.grids.open({ kind: 'sql', database, sql }, { rerun: true });
  }
}

/** A table name as DuckDB reads it: bare when it is a plain lower-case name, else double-quoted. */
function quoteName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
