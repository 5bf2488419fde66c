// The shapes of the tables room: column types, field definitions, database connections, and what
// the editor's API returns (tables, windows of rows, SQL result pages).
import type { ResourceName } from '../zendesk';

/** Column types, mapped to each database's own names by its dialect. */
export type ColumnType = 'bigint' | 'double' | 'boolean' | 'text' | 'timestamp' | 'date' | 'json';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

/** The three kinds of records that carry custom fields, and the field lists that name them. */
export type FieldKind = 'ticket' | 'user' | 'organization';

/** One custom field definition (GET /api/v2/ticket_fields, /user_fields, /organization_fields). */
export interface FieldDefinition {
  id: number;
  /** user_fields / organization_fields key (the records carry values by key); null for ticket fields (by id). */
  key: string | null;
  title: string;
  /** Zendesk's field type: text, textarea, checkbox, date, integer, decimal, regexp, tagger, dropdown, multiselect, … */
  type: string;
  active: boolean;
}

/** Where field definitions come from; null when they can't be had (the columns are then named after ids or keys). */
export interface FieldSource {
  definitions(kind: FieldKind, signal?: AbortSignal): Promise<FieldDefinition[] | null>;
}

/** One row of `<resource>_fields`: how a custom field maps to its column. Columns never change once given. */
export interface FieldColumn {
  /** The field id (tickets) or key (users, organizations) that records carry. */
  ref: string;
  fieldId: number | null;
  key: string | null;
  column: string;
  title: string | null;
  type: ColumnType;
  /** False once the field no longer appears in its definitions list (deleted in Zendesk); the column stays. */
  present: boolean;
}

/**
 * A PostgreSQL database as a connection setting names it: a URL without a password (the password is
 * asked for at run time, like a Zendesk token, or comes from PGPASSWORD / ~/.pgpass).
 */
export interface PostgresConnection {
  /** e.g. postgresql://zdx@db.example.com:5432/analytics?sslmode=require */
  url: string;
  password?: string;
}

/** Turns `output.connection` (a name from settings, or a URL) into a connection; asks for the password where one is stored. */
export type PostgresResolver = (connection: string) => Promise<PostgresConnection>;

/** Where the editor API looks: a DuckDB file, a folder of Parquet files (read through DuckDB), or a PostgreSQL schema. */
export type TableSource =
  | { kind: 'duckdb'; path: string }
  | { kind: 'parquet'; path: string }
  | { kind: 'postgres'; connection: PostgresConnection; schema: string };

export interface TableColumn {
  name: string;
  /** The database's own type name (BIGINT, VARCHAR, JSON, jsonb, timestamp with time zone, …). */
  type: string;
}

export interface TableInfo {
  name: string;
  /** Rows now (PostgreSQL tables past ESTIMATE_ABOVE rows: the server's live estimate, see rowsEstimated). */
  rows: number;
  /** True when `rows` is PostgreSQL's estimate (exact counts of big tables take a full scan there). */
  rowsEstimated?: boolean;
  columns: TableColumn[];
  /** What the table holds, when it is one this tool writes. */
  role?: 'current' | 'changes' | 'deleted' | 'fields' | 'sideload' | 'checkpoint';
  resource?: ResourceName;
}

export interface SortKey {
  column: string;
  descending?: boolean;
}

/**
 * contains / startsWith: the column's text, case-insensitive. equals / notEquals: the value itself
 * (numbers, booleans, times as such; anything else as text). greaterThan / lessThan: numerically
 * on numeric columns, in time on timestamps and dates, else as text.
 */
export type FilterOp = 'equals' | 'notEquals' | 'contains' | 'startsWith' | 'greaterThan' | 'lessThan' | 'isNull' | 'isNotNull';

export interface ColumnFilter {
  column: string;
  op: FilterOp;
  /** Needed by every op but isNull / isNotNull. */
  value?: string | number | boolean;
}

export interface WindowRequest {
  table: string;
  offset: number;
  /** 1 … MAX_WINDOW_ROWS. */
  limit: number;
  /** Without: the table's own order (DuckDB: as stored; PostgreSQL: by its key). Ties are broken by the row's identity, so pages never overlap. */
  sort?: SortKey[];
  /** All must hold. */
  filters?: ColumnFilter[];
  /** Case-insensitive text anywhere in the row (its JSON `_record` when it has one, else every column). */
  search?: string;
  /** Only these columns, in this order (default all). A grid that leaves out `_record` and long texts reads far less. */
  columns?: string[];
  /** Count the matching rows (default true); false leaves `total` null (paging on, the count known). */
  count?: boolean;
}

/** Cell values are JSON-safe: numbers, strings (64-bit integers beyond 2^53 as strings, timestamps as ISO text, dates as YYYY-MM-DD, lists and structs as JSON text), booleans, null. */
export type Cell = string | number | boolean | null;

export interface WindowResult {
  columns: TableColumn[];
  rows: Cell[][];
  /** Rows matching the filters and search; null when the request said count: false. */
  total: number | null;
  offset: number;
}

export interface SqlRequest {
  /** One statement: a query (SELECT, WITH, FROM …, DESCRIBE, SHOW, SUMMARIZE, PRAGMA that reads, EXPLAIN). */
  sql: string;
  offset?: number;
  /** 1 … MAX_SQL_PAGE_ROWS (default DEFAULT_SQL_PAGE_ROWS). */
  limit?: number;
}

export interface SqlPage {
  columns: TableColumn[];
  rows: Cell[][];
  offset: number;
  /** True when more rows follow this page. */
  more: boolean;
}

/**
 * What a table target's checkpoint holds, for the Resume CodeLens, the Runs view and the status bar
 * (the fields of the engine server's CheckpointInfoResult that come from the checkpoint).
 */
export interface TableCheckpointInfo {
  /** Where the checkpoint is: the file and table, or the database, schema and table. */
  checkpointLocation: string;
  /** The DuckDB file or Parquet folder exists (PostgreSQL: the schema does). */
  outputExists: boolean;
  /** A checkpoint of this resource exists there. */
  exists: boolean;
  /** It was written by this query (same digest); false → a run would fail with 'checkpointMismatch'. */
  matchesQuery: boolean;
  records: number;
  pages: number;
  lastRecordTime: number | null;
  caughtUp: boolean;
  updatedAt: string | null;
  /** The tables (or Parquet paths) the query writes. */
  files: string[];
  /**
   * Set when the target can't be read now, in one sentence: a DuckDB file another process is
   * writing (DuckDB lets no other process open it meanwhile), a database that can't be reached.
   */
  busy?: string;
}
