// What a grid panel shows, behind one interface: a file of records (the engine's row index), a
// table of a database (windows read by the database: sort, filter and search in SQL), or the rows
// of one read-only SQL statement. Every source asks the engine process through EngineClient; the
// extension host keeps no rows, only the view last asked, to find a row again by its position.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ColumnFilter, DatabaseRef, GetRowsResult, RowCell, RowColumnsResult, RowView, SessionInfo, SqlPage, TableInfo } from '../../protocol/customMessages';
import type { ExportFormat, GridSource, RowsWindowParams } from '../../protocol/webviewMessages';
import { usualColumns } from '../../engine/rows';
import type { EngineClient } from '../engineClient';

/** What the grid uses of the engine. */
export type GridEngine = Pick<EngineClient, 'onPage' | 'getRows' | 'rowColumns' | 'rowRecords' | 'exportRows' | 'closeRows' | 'listTables' | 'tableWindow' | 'runSql' | 'closeDatabase'>;

export interface RowSource {
  readonly ref: GridSource;
  /** One panel per key. */
  readonly key: string;
  /** The panel's title. */
  readonly title: string;
  /** The header's label (workspace-relative where it is a file). */
  readonly label: string;
  /** Whether an export session writes what this source shows (the grid follows its state and pages). */
  writtenBy(session: SessionInfo): boolean;
  columns(): Promise<RowColumnsResult>;
  rows(p: RowsWindowParams): Promise<GetRowsResult>;
  /** Whole records (a file) or rows as objects (a table, SQL), by the ids `rows` gave. */
  records(ids: number[]): Promise<Record<string, unknown>[]>;
  exportView(p: { format: ExportFormat; view: RowView; columns: string[]; target: string }): Promise<{ rows: number; target: string }>;
  /** The folder and file name a "save as" dialog proposes for an exported view. */
  exportBase(): { folder: string | undefined; name: string };
  /** An export wrote to what this source shows (a page arrived). */
  changed?(): void;
  close(): void;
}

const GRID_FILE = /\.(jsonl|ndjson|json|csv)$/i;
/** Rows the engine answers at most per window (record pane and copy ask by position). */
const MAX_WINDOW = 1000;
/** The grid's block of rows (webview/table.ts cacheBlockSize): a SQL statement's first page is read with its columns. */
const FIRST_PAGE = 100;

export function fileKey(p: string): string {
  const r = path.resolve(p);
  return process.platform === 'win32' ? r.toLowerCase() : r;
}

/** A database's identity: the DuckDB file's path, or the PostgreSQL connection and schema. */
export function databaseKey(db: DatabaseRef): string {
  return db.kind === 'postgres' ? `postgres:${db.connection}/${db.schema}` : `${db.kind}:${fileKey(db.path)}`;
}

/** For people: the workspace-relative DuckDB file or Parquet folder, or "connection (schema s)". */
export function databaseLabel(db: DatabaseRef): string {
  return db.kind === 'postgres' ? `${db.connection} (schema ${db.schema})` : vscode.workspace.asRelativePath(db.path);
}

export function sourceKey(ref: GridSource): string {
  switch (ref.kind) {
    case 'file': return fileKey(ref.path);
    case 'table': return `table:${databaseKey(ref.database)}#${ref.table}`;
    case 'sql': return `sql:${databaseKey(ref.database)}#${ref.sql.trim()}`;
  }
}

export function createSource(ref: GridSource, engine: GridEngine): RowSource {
  switch (ref.kind) {
    case 'file': return new FileSource(ref, engine);
    case 'table': return new TableSource(ref, engine);
    case 'sql': return new SqlSource(ref, engine);
  }
}

class FileSource implements RowSource {
  readonly key: string;
  readonly file: string;

  constructor(readonly ref: Extract<GridSource, { kind: 'file' }>, private readonly engine: GridEngine) {
    this.file = path.resolve(ref.path);
    this.key = fileKey(ref.path);
  }

  get title(): string {
    return path.basename(this.file);
  }

  get label(): string {
    return vscode.workspace.asRelativePath(this.file);
  }

  writtenBy(session: SessionInfo): boolean {
    return !!session.outputPath && fileKey(session.outputPath) === this.key;
  }

  columns(): Promise<RowColumnsResult> {
    return this.engine.rowColumns(this.file);
  }

  rows({ start, count, columns, sort, filters, search }: RowsWindowParams): Promise<GetRowsResult> {
    return this.engine.getRows({ path: this.file, start, count, columns, sort, filters, search });
  }

  records(ids: number[]): Promise<Record<string, unknown>[]> {
    return this.engine.rowRecords(this.file, ids);
  }

  exportView(p: { format: ExportFormat; view: RowView; columns: string[]; target: string }): Promise<{ rows: number; target: string }> {
    return this.engine.exportRows({ path: this.file, ...p });
  }

  exportBase(): { folder: string; name: string } {
    return { folder: path.dirname(this.file), name: path.basename(this.file).replace(GRID_FILE, '') };
  }

  close(): void {
    void this.engine.closeRows(this.file).catch(() => undefined);
  }
}

/** Cells of `wanted` columns from a row whose cells follow `have`; a column the row lacks is null. */
function pick(have: { name: string }[], row: RowCell[], wanted: string[]): RowCell[] {
  const at = new Map<string, number>();
  have.forEach((c, i) => {
    if (!at.has(c.name)) at.set(c.name, i);
  });
  return wanted.map((c) => {
    const i = at.get(c);
    return i === undefined ? null : row[i] ?? null;
  });
}

/** A row as an object for the record pane and Copy JSON; JSON columns (the full `_record` among them) as JSON, not text. */
function rowObject(columns: { name: string; type?: string }[], row: RowCell[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    let v: unknown = row[i] ?? null;
    if ((c.name === '_record' || /^jsonb?$/i.test(c.type ?? '')) && typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        // Shown as the text it is.
      }
    }
    out[c.name] = v;
  });
  return out;
}

/** Contiguous runs of sorted, distinct ids, each at most MAX_WINDOW long: one window each. */
function runsOf(ids: number[]): { offset: number; limit: number }[] {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const runs: { offset: number; limit: number }[] = [];
  for (const id of sorted) {
    const last = runs[runs.length - 1];
    if (last && id === last.offset + last.limit && last.limit < MAX_WINDOW) last.limit++;
    else runs.push({ offset: id, limit: 1 });
  }
  return runs;
}

function filtersOf(view: RowView): ColumnFilter[] {
  return Object.entries(view.filters ?? {}).filter(([, text]) => text.trim() !== '').map(([column, value]) => ({ column, op: 'contains', value }));
}

/** The columns a table shows first: its resource's usual ones, else its first few (never the long `_record`). */
function defaultColumns(table: TableInfo): string[] {
  const names = table.columns.map((c) => c.name);
  const preferred = usualColumns(table.resource).filter((c) => names.includes(c));
  if (preferred.length >= 3) return preferred;
  return names.filter((c) => c !== '_record').slice(0, 10);
}

class TableSource implements RowSource {
  readonly key: string;
  private table: TableInfo | undefined;
  /** An export wrote since the table's count was read. */
  private stale = false;
  /** The count of the last view's filters and search: another window of them (scrolled, sorted anew) needs no count. */
  private counted: { key: string; total: number } | undefined;
  /** The view of the last window asked: a row id is its position in that view. */
  private lastView: RowView = {};

  constructor(readonly ref: Extract<GridSource, { kind: 'table' }>, private readonly engine: GridEngine) {
    this.key = sourceKey(ref);
  }

  get title(): string {
    return this.ref.table;
  }

  get label(): string {
    return `${this.ref.table} — ${databaseLabel(this.ref.database)}`;
  }

  writtenBy(session: SessionInfo): boolean {
    return !!session.database && databaseKey(session.database) === databaseKey(this.ref.database);
  }

  private async info(): Promise<TableInfo> {
    const listed = await this.engine.listTables({ database: this.ref.database });
    const table = listed.tables.find((t) => t.name === this.ref.table);
    if (!table) {
      throw new Error(listed.exists
        ? `${listed.label} has no table "${this.ref.table}" (yet); its tables: ${listed.tables.map((t) => t.name).join(', ') || 'none'}.`
        : `${listed.label} does not exist yet: run the export that writes it.`);
    }
    this.table = table;
    return table;
  }

  async columns(): Promise<RowColumnsResult> {
    const table = await this.info();
    return { columns: table.columns.map((c) => c.name), defaults: defaultColumns(table), resource: table.resource ?? null, format: 'table', fileRows: table.rows };
  }

  async rows({ start, count, columns, sort, filters, search }: RowsWindowParams): Promise<GetRowsResult> {
    const view: RowView = { sort, filters, search };
    this.lastView = view;
    const narrowed = !!(search || filtersOf(view).length);
    let table = this.table && !(narrowed && this.stale) ? this.table : await this.info();
    // A column the table gained since (a new custom field) is read; one it never had stays empty.
    if (columns.some((c) => !table.columns.some((k) => k.name === c))) table = await this.info();
    const countKey = JSON.stringify([filtersOf(view), search ?? '']);
    const counted = !this.stale && this.counted?.key === countKey ? this.counted.total : undefined;
    this.stale = false;
    const known = columns.filter((c) => table.columns.some((k) => k.name === c));
    const window = await this.engine.tableWindow({
      database: this.ref.database, table: this.ref.table, offset: start, limit: Math.min(count, MAX_WINDOW),
      sort: sort?.map((s) => ({ column: s.column, descending: s.dir === 'desc' })), filters: filtersOf(view), search: search || undefined,
      columns: known.length ? known : undefined, count: counted === undefined,
    });
    const total = window.total ?? counted ?? table.rows;
    this.counted = { key: countKey, total };
    // The table's count: the view's total when nothing narrows it, else as last listed (refreshed by pages).
    if (!narrowed) table.rows = total;
    return {
      rows: window.rows.map((row, i) => ({ id: start + i, cells: pick(window.columns, row, columns) })),
      total,
      fileRows: table.rows,
      complete: true,
    };
  }

  /** The count of a narrowed view's table is read again with its next window (an unnarrowed window counts it anyway). */
  changed(): void {
    this.stale = true;
  }

  async records(ids: number[]): Promise<Record<string, unknown>[]> {
    const byId = new Map<number, Record<string, unknown>>();
    const { sort, search } = this.lastView;
    for (const run of runsOf(ids)) {
      const w = await this.engine.tableWindow({
        database: this.ref.database, table: this.ref.table, offset: run.offset, limit: run.limit,
        sort: sort?.map((s) => ({ column: s.column, descending: s.dir === 'desc' })), filters: filtersOf(this.lastView), search: search || undefined, count: false,
      });
      w.rows.forEach((row, i) => byId.set(run.offset + i, rowObject(w.columns, row)));
    }
    return ids.map((id) => byId.get(id)).filter((r): r is Record<string, unknown> => r !== undefined);
  }

  exportView(): Promise<{ rows: number; target: string }> {
    return Promise.reject(new Error('Exporting the view of a table is not available yet: select rows and copy them, or write the query in Open in SQL.'));
  }

  exportBase(): { folder: string | undefined; name: string } {
    return { folder: this.ref.database.kind === 'postgres' ? undefined : path.dirname(this.ref.database.path), name: this.ref.table };
  }

  close(): void {
    // The grid manager lets go of the database once no grid shows it.
  }
}

class SqlSource implements RowSource {
  readonly key: string;
  /** Rows seen so far (the count grows as the grid scrolls, until the statement's last page). */
  private seen = 0;
  private known: number | null = null;
  /** The first page, read with the columns: the grid's first window is answered from it (the statement runs once to open). */
  private first: SqlPage | undefined;

  constructor(readonly ref: Extract<GridSource, { kind: 'sql' }>, private readonly engine: GridEngine) {
    this.key = sourceKey(ref);
  }

  get title(): string {
    const oneLine = this.ref.sql.replace(/\s+/g, ' ').trim();
    return oneLine.length > 40 ? `${oneLine.slice(0, 39)}…` : oneLine;
  }

  get label(): string {
    return `${this.ref.sql.replace(/\s+/g, ' ').trim()} — ${databaseLabel(this.ref.database)}`;
  }

  writtenBy(): boolean {
    // A statement's rows are read when it runs; an export writing meanwhile changes nothing shown.
    return false;
  }

  async columns(): Promise<RowColumnsResult> {
    this.seen = 0;
    this.known = null;
    const page = await this.engine.runSql({ database: this.ref.database, sql: this.ref.sql, offset: 0, limit: FIRST_PAGE });
    this.first = page;
    const names = page.columns.map((c) => c.name);
    return { columns: names, defaults: names.slice(0, 60), resource: null, format: 'sql', fileRows: page.more ? -1 : page.rows.length };
  }

  async rows({ start, count, columns }: RowsWindowParams): Promise<GetRowsResult> {
    const cached = this.first;
    this.first = undefined;
    const page = cached && start === 0 && count <= FIRST_PAGE && (cached.rows.length >= count || !cached.more)
      ? { ...cached, rows: cached.rows.slice(0, count), more: cached.more || cached.rows.length > count }
      : await this.engine.runSql({ database: this.ref.database, sql: this.ref.sql, offset: start, limit: Math.min(count, MAX_WINDOW) });
    this.seen = Math.max(this.seen, start + page.rows.length);
    if (!page.more) this.known = start + page.rows.length;
    return {
      rows: page.rows.map((row, i) => ({ id: start + i, cells: pick(page.columns, row, columns) })),
      total: this.known ?? -1,
      fileRows: this.known ?? this.seen,
      complete: true,
    };
  }

  async records(ids: number[]): Promise<Record<string, unknown>[]> {
    const byId = new Map<number, Record<string, unknown>>();
    for (const run of runsOf(ids)) {
      const page = await this.engine.runSql({ database: this.ref.database, sql: this.ref.sql, offset: run.offset, limit: run.limit });
      page.rows.forEach((row, i) => byId.set(run.offset + i, rowObject(page.columns, row)));
    }
    return ids.map((id) => byId.get(id)).filter((r): r is Record<string, unknown> => r !== undefined);
  }

  exportView(): Promise<{ rows: number; target: string }> {
    return Promise.reject(new Error('Exporting SQL results is not available yet: select rows and copy them.'));
  }

  exportBase(): { folder: string | undefined; name: string } {
    return { folder: this.ref.database.kind === 'postgres' ? undefined : path.dirname(this.ref.database.path), name: 'sql-results' };
  }

  close(): void {
    // As for tables: the grid manager lets go of the database.
  }
}
