// "Zendesk: New Export…": connection → resource → pagination (where there are two) → start
// time → options → output format → its options (PostgreSQL: database connection and schema; tables:
// what happens to deletions; Parquet: a current-state snapshot) → name → output path → Run now /
// Save / both.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hasSample, ignoresStartTime, paginationChoices, requestCostFactor, resolveEndpoint, RESOURCES, type PaginationChoice, type ResourceName } from '../engine/zendesk';
import { DEFAULT_SCHEMA, SCHEMA_NAME_PATTERN, isPostgresUrl, isTableFormat, postgresUrlProblem, slug, type DeletionsMode, type QueryFormat, type QueryParams, type SavedOutput, type SavedQuery } from '../engine/query';
import type { ExportFinishedParams } from '../protocol/customMessages';
import { baseUrlOf, type ConnectionStore } from './connectionStore';
import { serverOf, type DatabaseStore } from './databaseStore';
import type { ExportCommands } from './exportCommands';
import { sinceText } from './format';
import { MultiStepInput, type InputStep } from './multiStepInput';
import { QUERY_SUFFIX } from './queryFiles';

export type WizardAction = 'run' | 'save' | 'both';

/** Programmatic form of the command (tests, other extensions): no prompts. */
export interface NewExportArgs {
  query: SavedQuery;
  action: WizardAction;
  /** Folder for the query file (and, for 'run', the base of the default output). Default: first workspace folder. */
  folder?: vscode.Uri;
}

export interface NewExportResult {
  queryUri?: vscode.Uri;
  finished?: ExportFinishedParams;
}

const RESOURCE_INFO: Record<ResourceName, string> = {
  tickets: 'Tickets, including deleted ones as tombstones',
  users: 'End users, agents and admins',
  organizations: 'Organizations',
  ticket_events: 'Every change to every ticket (audits)',
  ticket_metric_events: 'SLA and metric events (reply time, resolution time, …)',
  routing_attributes: 'Skill-based routing: attributes',
  routing_attribute_values: 'Skill-based routing: attribute values',
  routing_instance_values: 'Skill-based routing: values assigned to agents and tickets',
};

const START_PRESETS = [
  { label: 'Last 7 days', value: '-7d' },
  { label: 'Last 30 days', value: '-30d' },
  { label: 'Last 365 days', value: '-365d' },
  { label: 'Everything', value: '0', description: 'from the first record' },
];

export function validateStartTime(v: string): string | undefined {
  const s = v.trim();
  if (/^-\d+[dhms]$/.test(s)) return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000 > Date.now() ? 'That time is in the future.' : undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return 'Use an ISO date (2024-01-31 or 2024-01-31T12:00:00Z), Unix seconds, or a relative time such as -30d, -12h.';
  return t > Date.now() ? 'That time is in the future.' : undefined;
}

interface State {
  connection?: string;
  resource?: ResourceName;
  pagination?: PaginationChoice;
  startTime?: string;
  params: QueryParams;
  format: QueryFormat;
  /** PostgreSQL: a connection name from zendesk.databases, or a URL without a password. */
  database?: string;
  schema?: string;
  deletions?: DeletionsMode;
  snapshot?: boolean;
  name?: string;
  outputPath?: string;
  action?: WizardAction;
}

/** The query's `output` as a person would write it: the format's own settings, defaults left out. */
function outputOf(state: State): SavedOutput {
  const out: SavedOutput = {};
  if (state.outputPath && state.format !== 'postgres') out.path = state.outputPath;
  out.format = state.format;
  if (state.format === 'postgres') {
    out.connection = state.database;
    out.schema = state.schema ?? DEFAULT_SCHEMA;
  }
  if (isTableFormat(state.format) && state.deletions === 'flag') out.deletions = 'flag';
  if (state.format === 'parquet' && state.snapshot) out.snapshot = true;
  return out;
}

export class NewExportWizard {
  constructor(private readonly connections: ConnectionStore, private readonly exports: ExportCommands, private readonly databases?: DatabaseStore) {}

  register(): vscode.Disposable {
    return vscode.commands.registerCommand('zendesk.newExport', (args?: NewExportArgs) => (args?.query ? this.finish(args) : this.interactive()));
  }

  private async interactive(): Promise<NewExportResult | undefined> {
    if (this.connections.list().length === 0) {
      const pick = await vscode.window.showInformationMessage('Add a Zendesk connection (or start the demo simulator) first.', 'Add Connection', 'Start Demo Simulator');
      if (pick === 'Add Connection') await vscode.commands.executeCommand('zendesk.addConnection');
      if (pick === 'Start Demo Simulator') await vscode.commands.executeCommand('zendesk.startSimulator');
      if (this.connections.list().length === 0) return undefined;
    }
    const state: State = { params: {}, format: 'jsonl' };
    const title = 'Zendesk: New Export';
    // Step numbers follow from the choices so far: pagination and start time don't always apply.
    const order = (): string[] => [
      'connection', 'resource',
      ...(!state.resource || paginationChoices(state.resource).length > 1 ? ['pagination'] : []),
      ...(!(state.resource && ignoresStartTime(state.resource)) ? ['start'] : []),
      'options', 'format',
      ...(state.format === 'postgres' ? ['database', 'schema'] : []),
      ...(isTableFormat(state.format) ? ['deletions'] : []),
      ...(state.format === 'parquet' ? ['snapshot'] : []),
      'name',
      ...(state.format === 'postgres' ? [] : ['output']),
      'action',
    ];
    const total = (): number => order().length;
    const stepNo = (key: string): number => order().indexOf(key) + 1;

    const pickConnection: InputStep = async (input) => {
      const items = this.connections.list().map((c) => ({ label: c.name, description: baseUrlOf(c) }));
      const pick = await input.showQuickPick({ title, step: stepNo('connection'), totalSteps: total(), placeholder: 'Export from which connection?', items, activeItem: items.find((i) => i.label === state.connection) });
      state.connection = pick.label;
      return pickResource;
    };
    const pickResource: InputStep = async (input) => {
      const items = RESOURCES.map((r) => ({ label: r, description: RESOURCE_INFO[r] }));
      const pick = await input.showQuickPick({ title, step: stepNo('resource'), totalSteps: total(), placeholder: 'Which resource?', items, activeItem: items.find((i) => i.label === state.resource) });
      if (pick.label !== state.resource) state.params = {};
      state.resource = pick.label;
      state.pagination = undefined;
      return paginationChoices(state.resource).length > 1 ? pickPagination : ignoresStartTime(state.resource) ? pickOptions : pickStart;
    };
    const pickPagination: InputStep = async (input) => {
      const resource = state.resource as ResourceName;
      const items = paginationChoices(resource).map((p, i) => {
        const form = resolveEndpoint(resource, p);
        const cost = requestCostFactor(form);
        const what = p === 'cursor' ? 'exact pages, no duplicates' : 'start_time/end_time pages';
        return { label: p, description: `${i === 0 ? 'recommended: ' : ''}up to ${form.recordsPerRequest.toLocaleString('en-US')} records a request, ${what}${cost >= 2 ? ` (≈${Math.round(cost)}× the requests)` : ''}` };
      });
      const pick = await input.showQuickPick({ title, step: stepNo('pagination'), totalSteps: total(), placeholder: 'Which pagination?', items });
      state.pagination = pick.label;
      return pickStart;
    };
    const pickStart: InputStep = async (input) => {
      const items = [...START_PRESETS.map((p) => ({ ...p, description: p.description ?? p.value })), { label: 'Custom…', value: '', description: 'ISO date, Unix seconds or -Nd/-Nh' }];
      const pick = await input.showQuickPick({ title, step: stepNo('start'), totalSteps: total(), placeholder: 'Export records changed since…', items });
      if (pick.value) {
        state.startTime = pick.value;
        return pickOptions;
      }
      return customStart;
    };
    const customStart: InputStep = async (input) => {
      state.startTime = (await input.showInputBox({ title, step: stepNo('start'), totalSteps: total(), value: state.startTime ?? '', prompt: 'Start time', placeholder: '2024-01-31, 1706659200, -90d', validate: validateStartTime })).trim();
      return pickOptions;
    };
    const pickOptions: InputStep = async (input) => {
      const resource = state.resource as ResourceName;
      const endpoint = resolveEndpoint(resource, state.pagination);
      type Opt = vscode.QuickPickItem & { apply: (p: QueryParams) => void; on: (p: QueryParams) => boolean };
      const items: Opt[] = [];
      if (endpoint.excludeDeleted) items.push({ label: 'Exclude deleted', description: 'exclude_deleted=true: no tombstones', apply: (p) => (p.excludeDeleted = true), on: (p) => !!p.excludeDeleted });
      if (endpoint.includeChanges) items.push({ label: 'Include changes', description: 'include_changes=true', apply: (p) => (p.includeChanges = true), on: (p) => !!p.includeChanges });
      if (hasSample(resource)) items.push({ label: 'Sample only', description: 'one request, at most 50 records', apply: (p) => (p.sample = true), on: (p) => !!p.sample });
      for (const inc of endpoint.includes) {
        items.push({ label: `Sideload ${inc}`, description: `include=${inc} (own file beside the output)`, apply: (p) => (p.include = [...(p.include ?? []), inc]), on: (p) => !!p.include?.includes(inc) });
      }
      if (items.length === 0) return pickFormat;
      const chosen = await input.showQuickPickMany({ title, step: stepNo('options'), totalSteps: total(), placeholder: 'Options (none needed; Enter to continue)', items, selected: items.filter((i) => i.on(state.params)) });
      state.params = {};
      for (const c of chosen) c.apply(state.params);
      return pickFormat;
    };
    const pickFormat: InputStep = async (input) => {
      const items: (vscode.QuickPickItem & { format: QueryFormat })[] = [
        { label: 'jsonl', format: 'jsonl', description: 'JSON Lines: one record a line, appended on resume (default)' },
        { label: 'csv', format: 'csv', description: 'flattened columns, custom fields by name, safe to open in a spreadsheet' },
        { label: 'json', format: 'json', description: 'one JSON array' },
        { label: 'duckdb', format: 'duckdb', description: 'DuckDB tables in one .duckdb file: the current state, every version, deletions; query them with SQL' },
        { label: 'postgres', format: 'postgres', description: 'the same tables in a schema of a PostgreSQL database, shared with your team' },
        { label: 'parquet', format: 'parquet', description: 'the change log as Parquet files per export day, for Spark, Trino, BigQuery, DuckDB' },
      ];
      const pick = await input.showQuickPick({ title, step: stepNo('format'), totalSteps: total(), placeholder: 'Output format', items, activeItem: items.find((i) => i.format === state.format) });
      state.format = pick.format;
      if (state.format === 'postgres') return pickDatabase;
      return isTableFormat(state.format) ? pickDeletions : inputName;
    };
    const pickDatabase: InputStep = async (input) => {
      type Item = vscode.QuickPickItem & { connection?: string; add?: 'setting' | 'url' };
      const items: Item[] = [
        ...(this.databases?.list() ?? []).map((d): Item => ({ label: d.name, description: serverOf(d.url), connection: d.name })),
        { label: '$(add) Add a database connection…', description: 'a name and a postgresql:// URL, kept in your settings', add: 'setting' },
        { label: '$(link) Enter a URL…', description: 'postgresql://user@host:5432/database, written into the query', add: 'url' },
      ];
      const pick = await input.showQuickPick({
        title, step: stepNo('database'), totalSteps: total(), placeholder: 'Which PostgreSQL database? (its password is asked when first needed and kept in the OS keychain)', items,
        activeItem: items.find((i) => i.connection === state.database),
      });
      if (pick.connection) {
        state.database = pick.connection;
        return inputSchema;
      }
      return pick.add === 'setting' ? inputDatabaseName : inputDatabaseUrl;
    };
    let newDatabaseName: string | undefined;
    const inputDatabaseName: InputStep = async (input) => {
      newDatabaseName = (await input.showInputBox({
        title, step: stepNo('database'), totalSteps: total(), value: newDatabaseName ?? 'warehouse', prompt: 'Name of the database connection (saved queries refer to it by this name)',
        validate: (v) => (!v.trim() ? 'Enter a name.' : isPostgresUrl(v) ? 'A name, not a URL.' : undefined),
      })).trim();
      return inputDatabaseUrl;
    };
    const inputDatabaseUrl: InputStep = async (input) => {
      const url = (await input.showInputBox({
        title, step: stepNo('database'), totalSteps: total(), value: '', prompt: 'PostgreSQL URL without the password (it is asked when first needed)',
        placeholder: 'postgresql://zdx@db.example.com:5432/analytics?sslmode=require',
        // The message shows until the URL is valid, in place of the prompt: it says what to enter.
        validate: (v) => (!v.trim() ? 'Enter the PostgreSQL URL, without the password (it is asked when first needed).'
          : !isPostgresUrl(v) ? 'Enter a postgresql:// URL.' : postgresUrlProblem(v) ? `The URL ${postgresUrlProblem(v)}.` : undefined),
      })).trim();
      if (newDatabaseName && this.databases) {
        await this.databases.add({ name: newDatabaseName, url });
        state.database = newDatabaseName;
      } else {
        state.database = url;
      }
      return inputSchema;
    };
    const inputSchema: InputStep = async (input) => {
      state.schema = (await input.showInputBox({
        title, step: stepNo('schema'), totalSteps: total(), value: state.schema ?? DEFAULT_SCHEMA, prompt: 'Schema the tables go to (created when missing)',
        validate: (v) => (SCHEMA_NAME_PATTERN.test(v.trim()) ? undefined : 'A lower-case PostgreSQL name: letters, digits and underscores, not starting with a digit.'),
      })).trim();
      return pickDeletions;
    };
    const pickDeletions: InputStep = async (input) => {
      const resource = state.resource as ResourceName;
      const items: (vscode.QuickPickItem & { mode: DeletionsMode })[] = [
        { label: 'Separate', mode: 'separate', description: `deleted records leave ${resource} and go to ${resource}_deleted (default)` },
        { label: 'Flag', mode: 'flag', description: `deleted records stay in ${resource} with _deleted = true` },
      ];
      state.deletions = (await input.showQuickPick({ title, step: stepNo('deletions'), totalSteps: total(), placeholder: 'Deleted records', items, activeItem: items.find((i) => i.mode === state.deletions) })).mode;
      return state.format === 'parquet' ? pickSnapshot : inputName;
    };
    const pickSnapshot: InputStep = async (input) => {
      const items = [
        { label: 'Change log only', snapshot: false, description: 'every exported version, in files per export day (default)' },
        { label: 'Also the current state', snapshot: true, description: `${state.resource}.parquet with the newest version of each record, after each run` },
      ];
      state.snapshot = (await input.showQuickPick({ title, step: stepNo('snapshot'), totalSteps: total(), placeholder: 'Parquet files', items })).snapshot;
      return inputName;
    };
    const inputName: InputStep = async (input) => {
      const since = state.startTime && !(state.resource && ignoresStartTime(state.resource)) ? ` ${sinceText(state.startTime)}` : '';
      state.name = (await input.showInputBox({
        title, step: stepNo('name'), totalSteps: total(), value: state.name ?? `${state.resource}${since}`, prompt: 'Name of the export (also names its output folder)',
        validate: (v) => (v.trim() ? undefined : 'Enter a name.'),
      })).trim();
      return state.format === 'postgres' ? pickAction : inputOutput;
    };
    const inputOutput: InputStep = async (input) => {
      const base = slug(state.name as string);
      const fallback = state.format === 'duckdb' ? `${base}.duckdb` : state.format === 'parquet' ? base : `${base}/${state.resource}.${state.format}`;
      const value = await input.showInputBox({
        title, step: stepNo('output'), totalSteps: total(), value: state.outputPath ?? fallback,
        prompt: `${state.format === 'parquet' ? 'Output folder' : 'Output file'}, relative to the query file (Enter keeps the default)`,
        validate: (v) => (!v.trim() ? 'Enter a path.' : path.isAbsolute(v.trim()) || v.includes('..') ? 'Keep the output inside the workspace: use a relative path without "..".' : undefined),
      });
      state.outputPath = value.trim() === fallback ? undefined : value.trim();
      return pickAction;
    };
    const pickAction: InputStep = async (input) => {
      const items = [
        { label: 'Save as query file and run', action: 'both' as WizardAction, description: 'recommended: resumable next time' },
        { label: 'Run now', action: 'run' as WizardAction },
        { label: 'Save as query file', action: 'save' as WizardAction },
      ];
      state.action = (await input.showQuickPick({ title, step: stepNo('action'), totalSteps: total(), placeholder: 'What now?', items })).action;
    };

    if (!(await MultiStepInput.run(pickConnection)) || !state.action) return undefined;
    const query: SavedQuery = {
      name: state.name as string,
      connection: state.connection,
      resource: state.resource as ResourceName,
      ...(state.pagination ? { pagination: state.pagination } : {}),
      ...(state.startTime !== undefined && !(state.resource && ignoresStartTime(state.resource)) ? { startTime: /^\d+$/.test(state.startTime) ? Number(state.startTime) : state.startTime } : {}),
      ...(Object.keys(state.params).length ? { params: state.params } : {}),
      output: outputOf(state),
    };
    return this.finish({ query, action: state.action });
  }

  private async finish(args: NewExportArgs): Promise<NewExportResult | undefined> {
    const folder = args.folder ?? (await this.pickFolder());
    if (!folder) {
      void vscode.window.showErrorMessage('Open a folder first: saved queries and their outputs live in the workspace.', 'Open Folder')
        .then((p) => p && vscode.commands.executeCommand('workbench.action.files.openFolder'));
      return undefined;
    }
    const result: NewExportResult = {};
    if (args.action === 'save' || args.action === 'both') {
      result.queryUri = await this.save(folder, args.query);
      await vscode.window.showTextDocument(result.queryUri, { preview: false });
    }
    if (args.action === 'run') result.finished = await this.exports.runInline(args.query, folder.fsPath);
    if (args.action === 'both' && result.queryUri) result.finished = await this.exports.runQueryFile(result.queryUri, { resume: true, connection: args.query.connection });
    return result;
  }

  private async pickFolder(): Promise<vscode.Uri | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length <= 1) return folders[0]?.uri;
    return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Save the query in which folder?' }))?.uri;
  }

  /** `<folder>/<slug>.zdquery.json`, never overwriting an existing file. */
  private async save(folder: vscode.Uri, query: SavedQuery): Promise<vscode.Uri> {
    const base = slug(query.name);
    for (let i = 1; ; i++) {
      const uri = vscode.Uri.joinPath(folder, `${base}${i > 1 ? `-${i}` : ''}${QUERY_SUFFIX}`);
      try {
        await vscode.workspace.fs.stat(uri);
      } catch {
        await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(`${JSON.stringify(query, null, 2)}\n`));
        return uri;
      }
    }
  }
}
