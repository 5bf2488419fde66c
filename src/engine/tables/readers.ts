// Opening a table source for reading, whatever it is: a DuckDB file (sharing this process's
// instance of it, else opened READ_ONLY), a folder of Parquet files (views in an in-memory DuckDB),
// or a PostgreSQL schema (a pooled read-only session). A reader runs statements in one snapshot,
// can be stopped (signal), and never takes the one-writer lock, so views read while an export writes.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { ExportError } from '../errors';
import { quote } from './driver';
import { closeIdleDuckDbReaders, connectDuckDb, connectMemory, firstLine, toCell, type DuckDbDriver } from './duckdb';
import type { Cell, TableColumn, TableSource } from './model';
import { closeReaderPools, connectionError, readerPool } from './postgres';

export type Param = string | number | boolean | null;

export interface Reader {
  readonly dialect: 'duckdb' | 'postgres';
  /** Where the tables are, for messages. */
  readonly where: string;
  /** The pseudo-column that identifies a row of a table without a key column (rowid, ctid), if any. */
  readonly rowIdentity: string | null;
  /** Every table (and view) with its columns in order, from the database's own catalogue; `table`: that one only. */
  catalogue(table?: string): Promise<Map<string, TableColumn[]>>;
  /** The table's primary key columns ([] where the database keeps none, as DuckDB tables here). */
  primaryKey(table: string): Promise<string[]>;
  /** A table name quoted (and qualified where the database has schemas). */
  table(name: string): string;
  /** Rows as arrays of JSON-safe cells; `types` are the columns' catalogue types (DuckDB dates read as text). */
  rows(sql: string, params: Param[], types?: string[]): Promise<Cell[][]>;
  /** Runs `work` in one read-only snapshot, stopped when `signal` aborts. */
  snapshot<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

export async function openReader(source: TableSource): Promise<Reader> {
  switch (source.kind) {
    case 'duckdb': {
      const driver = await connectDuckDb(source.path, { write: false, create: false, readOnly: true });
      if (!driver) throw new ExportError('notFound', `There is no DuckDB file at ${source.path} yet; the first export into it creates it.`);
      return new DuckReader(driver, source.path, 'rowid');
    }
    case 'parquet':
      return openParquet(source.path);
    case 'postgres': {
      const { pool, where } = await readerPool(source.connection);
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw connectionError(err, where);
      }
      return new PgReader(client, pool, source.schema, `${where} schema ${source.schema}`);
    }
  }
}

export class DuckReader implements Reader {
  readonly dialect = 'duckdb';
  constructor(
    readonly driver: DuckDbDriver,
    readonly where: string,
    /** Parquet views have no rowid. */
    readonly rowIdentity: string | null,
  ) {}

  async catalogue(table?: string): Promise<Map<string, TableColumn[]>> {
    // duckdb_columns() answers several times faster than information_schema.
    const rows = await this.rows(
      `SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main'${table === undefined ? '' : ' AND table_name = $1'} ORDER BY table_name, column_index`,
      table === undefined ? [] : [table],
    );
    return group(rows);
  }

  async primaryKey(): Promise<string[]> {
    return [];
  }

  table(name: string): string {
    return quote(name);
  }

  async rows(sql: string, params: Param[], types?: string[]): Promise<Cell[][]> {
    const reader = await this.driver.connection.runAndReadAll(sql, params.length ? params : undefined);
    const dates = (types ?? []).map((t) => t.toUpperCase() === 'DATE');
    return reader.getRowsJS().map((row) => row.map((v, i) => {
      const cell = toCell(v);
      return dates[i] && typeof cell === 'string' ? cell.slice(0, 10) : cell;
    }));
  }

  async snapshot<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.driver.interruptible(async () => {
      await this.driver.exec('BEGIN TRANSACTION READ ONLY');
      try {
        return await work();
      } finally {
        await this.driver.exec('ROLLBACK').catch(() => undefined);
      }
    }, signal);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

/** Parquet files as views: `<name>/**.parquet` folders (the change logs, by export day) and `<name>.parquet` snapshots. */
async function openParquet(folder: string): Promise<Reader> {
  const entries = await fs.readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ExportError('notFound', `There is no Parquet folder at ${folder} yet; the first export into it creates it.`);
    throw new ExportError('io', `The Parquet folder ${folder} could not be read (${err.code ?? err.message}).`);
  });
  const views: [string, string][] = [];
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.parquet')) views.push([e.name.slice(0, -'.parquet'.length), path.join(folder, e.name)]);
    else if (e.isDirectory() && !e.name.startsWith('.')) {
      const days = await fs.readdir(path.join(folder, e.name)).catch(() => [] as string[]);
      const hasFiles = await Promise.all(days.map(async (d) => (await fs.readdir(path.join(folder, e.name, d)).catch(() => [] as string[])).some((f) => f.endsWith('.parquet'))));
      if (hasFiles.some(Boolean)) views.push([e.name, path.join(folder, e.name, '*', '*.parquet')]);
    }
  }
  const driver = await connectMemory();
  try {
    for (const [name, glob] of views) {
      // The paths are the folder's own file names (never request input), quoted as SQL literals.
      await driver.exec(`CREATE VIEW ${quote(name)} AS SELECT * FROM read_parquet('${glob.replace(/'/g, "''")}', union_by_name = true, hive_partitioning = true)`);
    }
  } catch (err) {
    await driver.close();
    throw new ExportError('io', `The Parquet files in ${folder} could not be read (${firstLine(err)}).`);
  }
  return new DuckReader(driver, folder, null);
}

class PgReader implements Reader {
  readonly dialect = 'postgres';
  readonly rowIdentity = 'ctid';
  constructor(
    private readonly client: PoolClient,
    private readonly pool: Pool,
    private readonly schema: string,
    readonly where: string,
  ) {}

  async catalogue(table?: string): Promise<Map<string, TableColumn[]>> {
    const rows = await this.rows(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1${table === undefined ? '' : ' AND table_name = $2'} ORDER BY table_name, ordinal_position`,
      table === undefined ? [this.schema] : [this.schema, table],
    );
    return group(rows);
  }

  table(name: string): string {
    return `${quote(this.schema)}.${quote(name)}`;
  }

  async primaryKey(table: string): Promise<string[]> {
    const rows = await this.rows(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [this.table(table)],
    );
    return rows.map(([name]) => String(name));
  }

  async rows(sql: string, params: Param[]): Promise<Cell[][]> {
    const result = await this.client.query({ text: sql, values: params, rowMode: 'array' });
    return (result.rows as unknown[][]).map((row) => row.map(toCell));
  }

  async snapshot<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new ExportError('cancelled', `The query on ${this.where} was cancelled.`);
    // A stopped query is cancelled by the server (from another pooled session), not just abandoned.
    const pid = (this.client as PoolClient & { processID?: number }).processID;
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      if (pid) void this.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await work();
    } catch (err) {
      if (cancelled) throw new ExportError('cancelled', `The query on ${this.where} was cancelled.`);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.client.query('ROLLBACK').catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.client.release();
  }
}

function group(rows: Cell[][]): Map<string, TableColumn[]> {
  const out = new Map<string, TableColumn[]>();
  for (const [table, name, type] of rows) {
    const list = out.get(String(table)) ?? [];
    list.push({ name: String(name), type: String(type) });
    out.set(String(table), list);
  }
  return out;
}

/**
 * Lets go of every idle reader: PostgreSQL view pools, and DuckDB files kept open READ_LINGER_MS after
 * a read (another process can't open them to write meanwhile). For shutdown, or before handing a file over.
 */
export async function closeTableReaders(): Promise<void> {
  await Promise.all([closeReaderPools(), closeIdleDuckDbReaders()]);
}

/** A database's complaint as the end of one sentence. */
export function databaseError(err: unknown): string {
  return firstLine(err).replace(/^Failed to (extract statements|prepare statement|execute prepared statement): /i, '').replace(/[.\s]+$/, '');
}
