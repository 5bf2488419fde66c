// A saved query as a person writes it, and as the exporter runs it.
import type { PaginationChoice, ResourceName } from '../zendesk';

/** File formats: records appended to files beside the query. */
export type OutputFormat = 'jsonl' | 'csv' | 'json';
/** Table formats: current-state tables with their change log (src/engine/tables). */
export type TableFormat = 'duckdb' | 'postgres' | 'parquet';
/** Every value `output.format` may take. */
export type QueryFormat = OutputFormat | TableFormat;
/** What a table output does with deleted records: move them to `<resource>_deleted`, or keep them in `<resource>` with `_deleted = true`. */
export type DeletionsMode = 'separate' | 'flag';

/** Where the records go, as a person writes it. */
export interface SavedOutput {
  /** A file (jsonl, csv, json, duckdb) or a folder (parquet); relative paths start at the query file's folder. */
  path?: string;
  format?: QueryFormat;
  /** postgres: the name of a database connection in settings, or a postgresql:// URL without a password. */
  connection?: string;
  /** postgres: the schema the tables go to (default `zendesk`). */
  schema?: string;
  /** Table formats: what happens to deleted records (default `separate`). */
  deletions?: DeletionsMode;
  /** parquet: also write the current state (`<resource>.parquet`) after each run. */
  snapshot?: boolean;
}

/** A saved query file (`*.zdquery.json`), as a person writes it. */
export interface SavedQuery {
  $schema?: string;
  name: string;
  /** Connection name (never a secret). The CLI may also take --subdomain/--url instead. */
  connection?: string;
  resource: ResourceName;
  /** Only for resources with both models (tickets, users, ticket_metric_events). Default: cursor. */
  pagination?: PaginationChoice;
  /** ISO date/time, Unix seconds, or relative such as `-30d`, `-12h`, `-90m`. Ignored by routing exports. */
  startTime?: string | number;
  params?: QueryParams;
  output?: SavedOutput;
}

export interface QueryParams {
  perPage?: number;
  include?: string[];
  excludeDeleted?: boolean;
  supportTypeScope?: 'all' | 'agent' | 'ai_agent';
  includeChanges?: boolean;
  sample?: boolean;
}

/** A query after validation: everything resolved except the connection. */
export interface ResolvedQuery {
  name: string;
  resource: ResourceName;
  /** Endpoint form id from the catalogue, e.g. `tickets/cursor`. */
  endpointId: string;
  /** Unix seconds, already clamped to ≤ now − 61 s; 0 for routing. */
  startTime: number;
  params: QueryParams;
  /**
   * Files: `{ path, format }` exactly. Tables: `path` is the .duckdb file, the Parquet folder, or
   * for PostgreSQL a label `postgres:<connection>/<schema>`; `tables` says the rest.
   */
  output: { path: string; format: QueryFormat; tables?: ResolvedTables };
  /** The connection the query names, if any. */
  connection?: string;
  /** The folder the output must stay in, symlinks resolved (set when the query was loaded with one). */
  outputRoot?: string;
  /** sha256 over the fields that change what the stream contains or how it is written. */
  digest: string;
}

/** A table output after resolution: defaults filled in. */
export interface ResolvedTables {
  format: TableFormat;
  deletions: DeletionsMode;
  /** parquet only. */
  snapshot: boolean;
  /** postgres only: connection name or URL (never a password) and schema. */
  database?: { connection: string; schema: string };
}
