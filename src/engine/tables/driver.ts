// What the table targets need from a database: statements, a bulk append of column arrays, the
// columns of a table, and the few places where DuckDB and PostgreSQL spell SQL differently.
import type { ColumnSpec, ColumnType } from './model';
import type { SqlValue } from './rows';

export interface Dialect {
  readonly name: 'duckdb' | 'postgres';
  /** The database's type for a column type. */
  type(t: ColumnType): string;
  /** A table name, quoted and qualified (PostgreSQL: "schema"."table"). */
  table(name: string): string;
}

export interface SqlDriver {
  readonly dialect: Dialect;
  /** Rows as objects; 64-bit integers as numbers when safe, else strings; timestamps as ISO text. */
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  exec(sql: string, params?: SqlValue[]): Promise<void>;
  /** Appends rows given as one array per column; `columns` are all of the table's columns, in order. */
  append(table: string, columns: ColumnSpec[], values: SqlValue[][]): Promise<void>;
  /** The table's columns in order, or null when it doesn't exist. */
  columns(table: string): Promise<ColumnSpec[] | null>;
  close(): Promise<void>;
}

/** "name" with quotes doubled: column and table names come from records and field titles. */
export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  type: (t) => ({ bigint: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN', text: 'VARCHAR', timestamp: 'TIMESTAMP', date: 'DATE', json: 'JSON' })[t],
  table: (name) => quote(name),
};

export function postgresDialect(schema: string): Dialect {
  return {
    name: 'postgres',
    type: (t) => ({ bigint: 'bigint', double: 'double precision', boolean: 'boolean', text: 'text', timestamp: 'timestamptz', date: 'date', json: 'jsonb' })[t],
    table: (name) => `${quote(schema)}.${quote(name)}`,
  };
}

/** Column types back from a database's type names (information_schema.columns.data_type). */
export function columnTypeOf(dbType: string): ColumnType {
  const t = dbType.toLowerCase();
  if (t === 'bigint' || t === 'integer' || t === 'smallint' || t === 'hugeint' || t === 'ubigint') return 'bigint';
  if (t === 'double' || t === 'double precision' || t === 'real' || t === 'float' || t.startsWith('decimal') || t === 'numeric') return 'double';
  if (t === 'boolean') return 'boolean';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'date') return 'date';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'text';
}
