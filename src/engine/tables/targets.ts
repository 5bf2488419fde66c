// The one place that picks where an export writes: files for jsonl/csv/json (the export room's
// fileTarget), tables for duckdb/postgres, Parquet files for parquet.
import { acquireLock, checkpointPathFor, fileTarget, type ExportTarget } from '../export';
import { csvFieldNames } from './customFields';
import { ExportError } from '../errors';
import type { ResolvedQuery } from '../query';
import { connectDuckDb } from './duckdb';
import type { FieldSource, PostgresConnection, PostgresResolver } from './model';
import { connectPostgres, describeDatabase } from './postgres';
import { parquetTarget } from './parquet';
import { LAYOUTS } from './resources';
import { sqlTarget } from './sqlTarget';

export interface TargetOptions {
  /** The checkpoint file of a file output (default: beside the output). */
  checkpointPath?: string;
  /** Field definitions for custom-field column names in tables and CSV files (zendeskFieldSource: fetched once per run). */
  fields?: FieldSource;
  /** Turns a PostgreSQL output's connection name into a URL and password. */
  postgres?: PostgresResolver;
  /** Merge the current-state tables once this many versions wait (DuckDB default 20000, PostgreSQL every page). */
  mergeEvery?: number;
  /** Versions per Parquet file (default PARQUET_BATCH). */
  parquetBatch?: number;
  signal?: AbortSignal;
}

/** DuckDB merges in batches: each statement has a fixed cost that a page's worth of rows doesn't repay. */
export const DUCKDB_MERGE_EVERY = 20_000;

export function targetFor(query: ResolvedQuery, opts: TargetOptions = {}): ExportTarget {
  const tables = query.output.tables;
  if (!tables) {
    const custom = LAYOUTS[query.resource].customFields;
    const { fields } = opts;
    const csvFields = custom && fields ? async () => csvFieldNames(custom.kind, custom.field, await fields.definitions(custom.kind, opts.signal)) : undefined;
    return fileTarget(query, opts.checkpointPath ?? checkpointPathFor(query.output.path), { csvFields });
  }
  switch (tables.format) {
    case 'duckdb': {
      const file = query.output.path;
      return sqlTarget({
        query,
        location: file,
        lock: () => acquireLock(`${file}.lock`, file),
        connectExisting: () => connectDuckDb(file, { write: false, create: false }),
        connectWriter: async () => (await connectDuckDb(file, { write: true, create: true }))!,
        fields: opts.fields,
        mergeEvery: opts.mergeEvery ?? DUCKDB_MERGE_EVERY,
        signal: opts.signal,
      });
    }
    case 'postgres': {
      const { connection, schema } = tables.database!;
      let conn: PostgresConnection | null = null;
      const resolve = async (): Promise<PostgresConnection> => (conn ??= await resolvePostgres(connection, opts.postgres));
      let where = isUrl(connection) ? `${describeDatabase(connection)} schema ${schema}` : `${connection} (schema ${schema})`;
      return sqlTarget({
        query,
        get location() {
          return where;
        },
        connectExisting: async () => {
          const driver = await connectPostgres(await resolve(), schema, { write: false });
          where = `${driver.where} schema ${schema}`;
          return driver;
        },
        lock: async () => {
          const holder = await connectPostgres(await resolve(), schema, { write: true, lock: true });
          return () => holder.close();
        },
        connectWriter: async () => connectPostgres(await resolve(), schema, { write: true }),
        prepare: (driver) => driver.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`),
        fields: opts.fields,
        mergeEvery: opts.mergeEvery ?? 1,
        signal: opts.signal,
      });
    }
    case 'parquet':
      return parquetTarget(query, { fields: opts.fields, batch: opts.parquetBatch, signal: opts.signal });
  }
}

function isUrl(connection: string): boolean {
  return /^postgres(ql)?:\/\//i.test(connection);
}

/** A URL connects as it is (the password from PGPASSWORD or ~/.pgpass); a name needs the caller's resolver. */
export async function resolvePostgres(connection: string, resolver: PostgresResolver | undefined): Promise<PostgresConnection> {
  if (resolver) return resolver(connection);
  if (isUrl(connection)) return { url: connection };
  throw new ExportError('invalidQuery', `The database connection "${connection}" is a name this tool can't look up here; use a postgresql:// URL, or define the connection in the editor's settings.`);
}
