// The editor's requests about table outputs, in the engine server: list a database's tables with
// their counts and columns (Results tree), read windows of a table with sort, filter and search
// done by the database (grid), run one read-only SQL statement a page at a time (Open in SQL).
// Rows stay in the database and in this process; a PostgreSQL password is asked of the client
// (GetDatabaseConnection) when a connection is first needed and kept in memory only.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { postgresLabel, type ResolvedQuery } from '../engine/query';
import {
  listTables,
  MAX_WINDOW_ROWS,
  readWindow,
  runSql,
  type PostgresConnection,
  type PostgresResolver,
  type SqlPage,
  type TableInfo,
  type TableSource,
  type WindowRequest,
  type WindowResult,
} from '../engine/tables';
import {
  CloseDatabase,
  GetTableWindow,
  ListTables,
  PARAMS_CHECKS,
  RunSql,
  type DatabaseRef,
  type ListTablesResult,
} from '../protocol/customMessages';
import { ServerFailure, toWireError } from './failures';
import { loadRequestQuery, type QuerySources } from './queryLoading';
import type { Served } from './rows';

/** Rows answered at most per window or page (the grid asks 100 at a time). */
export const MAX_WINDOW = MAX_WINDOW_ROWS;

/** The order tables are listed in: what a person looks at first, the bookkeeping last. */
const ROLE_ORDER: (TableInfo['role'] | 'other')[] = ['current', 'changes', 'deleted', 'fields', 'sideload', 'other', 'checkpoint'];

/** What the handlers need of the engine's tables room. */
export interface TableReading {
  /** The tables with counts and columns; null when the database doesn't exist (nothing is created). */
  list(source: TableSource): Promise<TableInfo[] | null>;
  window(source: TableSource, request: WindowRequest): Promise<WindowResult>;
  sql(source: TableSource, sql: string, page: { offset: number; limit: number }, signal?: AbortSignal): Promise<SqlPage>;
  /** Lets go of the database (a DuckDB file is then free for other programs). */
  close(source: TableSource): Promise<void>;
}

export interface TableHost extends QuerySources {
  reading: TableReading;
  /** A PostgreSQL connection name or URL → URL and password (asked of the client). */
  postgres: PostgresResolver;
  /** An export of this server writes this output (a .duckdb file, or a PostgreSQL output's label) now. */
  isWriting(outputPath: string): boolean;
}

/** The database a query's output writes; null for files. */
export function databaseOfQuery(resolved: ResolvedQuery): DatabaseRef | null {
  const tables = resolved.output.tables;
  if (tables?.format === 'duckdb' || tables?.format === 'parquet') return { kind: tables.format, path: resolved.output.path };
  if (tables?.format === 'postgres' && tables.database) return { kind: 'postgres', connection: tables.database.connection, schema: tables.database.schema };
  return null;
}

/** Where an export's session says it writes the database (its outputPath). */
export function outputPathOf(db: DatabaseRef): string {
  return db.kind === 'postgres' ? postgresLabel(db) : resolve(db.path);
}

function labelOf(db: DatabaseRef): string {
  return db.kind === 'postgres' ? `${db.connection} (schema ${db.schema})` : db.path;
}

export class TableService {
  /** Resolved PostgreSQL connections by name or URL, for reads; dropped when one fails. */
  private readonly postgres = new Map<string, Promise<PostgresConnection>>();

  constructor(private readonly host: TableHost) {}

  private async sourceOf(db: DatabaseRef): Promise<TableSource> {
    if (db.kind !== 'postgres') {
      if (!isAbsolute(db.path)) throw new ServerFailure('invalidQuery', `A ${db.kind === 'duckdb' ? 'DuckDB file' : 'Parquet folder'} is named by its absolute path, not "${db.path}".`);
      return { kind: db.kind, path: resolve(db.path) };
    }
    let conn = this.postgres.get(db.connection);
    if (!conn) {
      conn = this.host.postgres(db.connection);
      this.postgres.set(db.connection, conn);
      conn.catch(() => this.postgres.delete(db.connection));
    }
    return { kind: 'postgres', connection: await conn, schema: db.schema };
  }

  /** Runs a read; a refused PostgreSQL login forgets the connection so the next read asks again. */
  private async reading<T>(db: DatabaseRef, work: (source: TableSource) => Promise<T>): Promise<T> {
    const source = await this.sourceOf(db);
    try {
      return await work(source);
    } catch (err) {
      if (db.kind === 'postgres' && toWireError(err).code === 'database') this.postgres.delete(db.connection);
      throw err;
    }
  }

  async list(params: { database?: DatabaseRef } & Parameters<typeof loadRequestQuery>[0]): Promise<ListTablesResult> {
    let database = params.database ?? null;
    let outputPath: string | undefined;
    if (!database) {
      const { resolved } = await loadRequestQuery(params, this.host);
      database = databaseOfQuery(resolved);
      outputPath = resolved.output.path;
    }
    if (!database) return { database: null, label: outputPath ?? '', exists: false, tables: [], writing: false };
    const db = database;
    const tables = await this.reading(db, (source) => this.host.reading.list(source));
    const order = (t: TableInfo) => ROLE_ORDER.indexOf(t.role ?? 'other');
    const sorted = (tables ?? []).sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
    return { database: db, label: labelOf(db), exists: tables !== null, tables: sorted, writing: this.host.isWriting(outputPathOf(db)) };
  }

  window(db: DatabaseRef, request: WindowRequest): Promise<WindowResult> {
    return this.reading(db, (source) => this.host.reading.window(source, { ...request, limit: Math.max(1, Math.min(request.limit, MAX_WINDOW)) }));
  }

  sql(db: DatabaseRef, sql: string, offset: number, limit: number, signal?: AbortSignal): Promise<SqlPage> {
    if (db.kind === 'postgres') throw new ServerFailure('invalidQuery', 'SQL runs on DuckDB files and Parquet folders here; query a PostgreSQL schema with a PostgreSQL client.');
    return this.reading(db, (source) => this.host.reading.sql(source, sql, { offset, limit: Math.max(1, Math.min(limit, MAX_WINDOW)) }, signal));
  }

  async close(db: DatabaseRef): Promise<void> {
    if (db.kind === 'postgres' && !this.postgres.has(db.connection)) return;
    await this.host.reading.close(await this.sourceOf(db));
  }
}

/** Registers the table requests on the server connection (main.ts checks params and maps failures through `served`). */
export function registerTableHandlers(connection: Connection, served: Served, service: () => TableService): void {
  connection.onRequest(ListTables.type, (params) => served(ListTables.method, params, (p: typeof params) => service().list(p)));
  connection.onRequest(GetTableWindow.type, (params) =>
    served(GetTableWindow.method, params, (p: typeof params) => {
      const { database, ...request } = p;
      return service().window(database, request);
    }));
  // A long statement stops when the client cancels the request (the grid closed, the person moved on).
  connection.onRequest(RunSql.type, (params, token: CancellationToken) =>
    served(RunSql.method, params, (p: typeof params) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return service().sql(p.database, p.sql, p.offset, p.limit, abort.signal);
    }));
  // A notification has no answer to carry a refusal: a malformed one is dropped.
  connection.onNotification(CloseDatabase.type, (p) => {
    if (!PARAMS_CHECKS[CloseDatabase.method](p)) void Promise.resolve().then(() => service().close(p.database)).catch(() => undefined);
  });
}

/** The engine's tables room, as the handlers use it. Readers open per request (PostgreSQL's from a pool), so closing has nothing to do. */
export function engineTableReading(): TableReading {
  return {
    async list(source) {
      // A file or folder that isn't there yet is "not exported yet", not an error (and nothing is created).
      if (source.kind !== 'postgres' && !existsSync(source.path)) return null;
      const tables = await listTables(source);
      return source.kind === 'postgres' && tables.length === 0 ? null : tables;
    },
    window: (source, request) => readWindow(source, request),
    sql(source, sql, page, signal) {
      if (source.kind === 'postgres') throw new ServerFailure('invalidQuery', 'SQL runs on DuckDB files and Parquet folders here; query a PostgreSQL schema with a PostgreSQL client.');
      return runSql(source, { sql, ...page }, { signal });
    },
    close: async () => undefined,
  };
}
