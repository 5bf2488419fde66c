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

/** Where the editor API looks: a DuckDB file, or a PostgreSQL schema. */
export type TableSource =
  | { kind: 'duckdb'; path: string }
  | { kind: 'postgres'; connection: PostgresConnection; schema: string };

export interface TableColumn {
  name: string;
  /** The database's own type name (BIGINT, VARCHAR, jsonb, …). */
  type: string;
}

export interface TableInfo {
  name: string;
  rows: number;
  columns: TableColumn[];
  /** What the table holds, when it is one this tool writes. */
  role?: 'current' | 'changes' | 'deleted' | 'fields' | 'sideload' | 'checkpoint';
  resource?: ResourceName;
}

export interface SortKey {
  column: string;
  descending?: boolean;
}

export type FilterOp = 'equals' | 'notEquals' | 'contains' | 'startsWith' | 'greaterThan' | 'lessThan' | 'isNull' | 'isNotNull';

export interface ColumnFilter {
  column: string;
  op: FilterOp;
  /** Compared as text, except greaterThan / lessThan on numeric columns. */
  value?: string | number | boolean;
}

export interface WindowRequest {
  table: string;
  offset: number;
  limit: number;
  sort?: SortKey[];
  filters?: ColumnFilter[];
  /** Case-insensitive text anywhere in the row (its JSON `_record` when it has one, else every column). */
  search?: string;
  /** Only these columns (default all). */
  columns?: string[];
}

/** Cell values are JSON-safe: numbers, strings (64-bit integers beyond 2^53 as strings, timestamps as ISO text), booleans, null. */
export type Cell = string | number | boolean | null;

export interface WindowResult {
  columns: TableColumn[];
  rows: Cell[][];
  /** Rows matching the filters and search. */
  total: number;
  offset: number;
}

export interface SqlPage {
  columns: TableColumn[];
  rows: Cell[][];
  offset: number;
  /** True when more rows follow this page. */
  more: boolean;
}
