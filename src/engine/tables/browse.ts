// The editor's view of a table source: its tables (row counts, columns, what each holds) and windows
// of one table with sort, filters and search done by the database. Table and column names are taken
// from the database's catalogue and quoted, never spliced from a request; values are bound parameters.
import { ExportError } from '../errors';
import type { ResourceName } from '../zendesk';
import type { Cell, ColumnFilter, SortKey, TableColumn, TableInfo, TableSource, WindowRequest, WindowResult } from './model';
import { openReader, databaseError, type Param, type Reader } from './readers';
import { CHECKPOINT_TABLE, LAYOUTS, tableNames } from './resources';

/** The most rows one window returns. */
export const MAX_WINDOW_ROWS = 1000;
/** PostgreSQL tables estimated past this many rows report the estimate (an exact count is a full scan there). */
export const ESTIMATE_ABOVE = 200_000;

const RESOURCES = (Object.keys(LAYOUTS) as ResourceName[]).sort((a, b) => b.length - a.length);

/** What a table holds, from its name: `<resource>`, `_changes`, `_deleted`, `_fields`, a sideload `<resource>_<key>`, the checkpoint. */
export function tableRole(name: string): Pick<TableInfo, 'role' | 'resource'> {
  if (name === CHECKPOINT_TABLE) return { role: 'checkpoint' };
  for (const resource of RESOURCES) {
    const names = tableNames(resource);
    if (name === names.current) return { role: 'current', resource };
    if (name === names.changes) return { role: 'changes', resource };
    if (name === names.deleted) return { role: 'deleted', resource };
    if (name === names.fields) return { role: 'fields', resource };
  }
  for (const resource of RESOURCES) {
    // Parquet sideload change logs are `<resource>_<key>_changes`.
    if (name.startsWith(`${resource}_`) && /^[a-z0-9_]+$/.test(name)) return { role: 'sideload', resource };
  }
  return {};
}

/** Every table of the source with its row count, columns and role, by name. */
export async function listTables(source: TableSource, opts: { signal?: AbortSignal } = {}): Promise<TableInfo[]> {
  const reader = await openReader(source);
  try {
    return await reader.snapshot(async () => {
      const catalogue = await reader.catalogue();
      const names = [...catalogue.keys()].sort();
      const estimates = reader.dialect === 'postgres' ? await pgEstimates(reader, source) : new Map<string, number>();
      const out: TableInfo[] = [];
      for (const name of names) {
        const estimate = estimates.get(name);
        let rows: number;
        let rowsEstimated = false;
        if (estimate !== undefined && estimate > ESTIMATE_ABOVE) {
          rows = estimate;
          rowsEstimated = true;
        } else {
          const [[n]] = await reader.rows(`SELECT count(*) FROM ${reader.table(name)}`, []);
          rows = Number(n);
        }
        out.push({ name, rows, ...(rowsEstimated ? { rowsEstimated } : {}), columns: catalogue.get(name)!, ...tableRole(name) });
      }
      return out;
    }, opts.signal);
  } catch (err) {
    throw readError(err, reader.where);
  } finally {
    await reader.close();
  }
}

/** PostgreSQL's live estimate of each table's rows (the statistics the server keeps as rows come and go). */
async function pgEstimates(reader: Reader, source: TableSource): Promise<Map<string, number>> {
  if (source.kind !== 'postgres') return new Map();
  const rows = await reader.rows(
    `SELECT c.relname, greatest(coalesce(s.n_live_tup, 0), c.reltuples)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, [source.schema]);
  return new Map(rows.map(([name, n]) => [String(name), Number(n)]));
}

/** One window of a table: the rows at `offset` in the requested order among those matching the filters and search. */
export async function readWindow(source: TableSource, req: WindowRequest, opts: { signal?: AbortSignal } = {}): Promise<WindowResult> {
  const { offset, limit } = req;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new ExportError('invalidQuery', `A window's offset is a whole number from 0 (got ${String(offset)}).`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_WINDOW_ROWS) throw new ExportError('invalidQuery', `A window holds 1 to ${MAX_WINDOW_ROWS} rows (got ${String(limit)}).`);
  const reader = await openReader(source);
  try {
    return await reader.snapshot(async () => {
      const all = (await reader.catalogue(req.table)).get(req.table);
      if (!all) throw new ExportError('notFound', `There is no table "${req.table}" in ${reader.where}.`);
      const byName = new Map(all.map((c) => [c.name, c]));
      const column = (name: string, what: string): TableColumn => {
        const c = byName.get(name);
        if (!c) throw new ExportError('notFound', `The table ${req.table} has no column "${name}" (${what}).`);
        return c;
      };
      const columns = req.columns?.length ? req.columns.map((n) => column(n, 'asked for')) : all;
      const params: Param[] = [];
      const where = whereClause(reader, req, column, all, params);
      const order = orderClause(reader, req.sort ?? [], column, byName, await reader.primaryKey(req.table));
      const list = columns.map((c) => quoteName(c.name)).join(', ');
      const rows = await reader.rows(`SELECT ${list} FROM ${reader.table(req.table)}${where}${order} LIMIT ${limit} OFFSET ${offset}`, params, columns.map((c) => c.type));
      let total: number | null = null;
      if (req.count !== false) {
        // A short last window already says how many match.
        if (rows.length < limit && (rows.length > 0 || offset === 0)) total = offset + rows.length;
        else total = Number((await reader.rows(`SELECT count(*) FROM ${reader.table(req.table)}${where}`, params))[0][0]);
      }
      return { columns, rows, total, offset };
    }, opts.signal);
  } catch (err) {
    throw readError(err, reader.where);
  } finally {
    await reader.close();
  }
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

type Kind = 'integer' | 'number' | 'boolean' | 'timestamp' | 'date' | 'text';

function kindOf(type: string): Kind {
  const t = type.toLowerCase();
  if (/^(bigint|integer|int|smallint|tinyint|hugeint|ubigint|uinteger|usmallint|utinyint|uhugeint|int[248])$/.test(t)) return 'integer';
  if (/^(double|double precision|real|float|float[48]|numeric|decimal)/.test(t)) return 'number';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'date') return 'date';
  return 'text';
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function whereClause(reader: Reader, req: WindowRequest, column: (name: string, what: string) => TableColumn, all: TableColumn[], params: Param[]): string {
  const bind = (v: Param): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const text = (name: string): string => `CAST(${quoteName(name)} AS TEXT)`;
  const like = (v: string): string => v.replace(/[\\%_]/g, (c) => `\\${c}`);
  const parts: string[] = [];
  for (const f of req.filters ?? []) parts.push(filterSql(reader, f, column(f.column, 'filtered on'), bind, text, like));
  if (req.search !== undefined && req.search !== '') {
    const record = all.find((c) => c.name === '_record');
    const haystack = record ? text(record.name) : `concat_ws(' ', ${all.map((c) => text(c.name)).join(', ')})`;
    parts.push(`${haystack} ILIKE ${bind(`%${like(req.search)}%`)} ESCAPE '\\'`);
  }
  return parts.length ? ` WHERE ${parts.map((p) => `(${p})`).join(' AND ')}` : '';
}

function filterSql(reader: Reader, f: ColumnFilter, col: TableColumn, bind: (v: Param) => string, text: (name: string) => string, like: (v: string) => string): string {
  const name = quoteName(col.name);
  if (f.op === 'isNull') return `${name} IS NULL`;
  if (f.op === 'isNotNull') return `${name} IS NOT NULL`;
  if (f.value === undefined || f.value === null) throw new ExportError('invalidQuery', `The ${f.op} filter on ${col.name} needs a value.`);
  const raw = String(f.value);
  switch (f.op) {
    case 'contains':
      return `${text(col.name)} ILIKE ${bind(`%${like(raw)}%`)} ESCAPE '\\'`;
    case 'startsWith':
      return `${text(col.name)} ILIKE ${bind(`${like(raw)}%`)} ESCAPE '\\'`;
    case 'equals':
    case 'notEquals':
    case 'greaterThan':
    case 'lessThan': {
      const sqlOp = { equals: '=', notEquals: '<>', greaterThan: '>', lessThan: '<' }[f.op];
      const typed = typedValue(reader, col, raw, f.op);
      const cmp = typed ? `${name} ${sqlOp} ${typed(bind)}` : `${text(col.name)} ${sqlOp} ${bind(raw)}`;
      // "Not equal to x" includes the rows with no value.
      return f.op === 'notEquals' ? `${name} IS NULL OR ${cmp}` : cmp;
    }
    default:
      throw new ExportError('invalidQuery', `"${String(f.op)}" is not a filter; use equals, notEquals, contains, startsWith, greaterThan, lessThan, isNull or isNotNull.`);
  }
}

/** The value as the column's own type (bound as text and cast by the database), or null to compare as text. */
function typedValue(reader: Reader, col: TableColumn, raw: string, op: ColumnFilter['op']): ((bind: (v: Param) => string) => string) | null {
  const kind = kindOf(col.type);
  const pg = reader.dialect === 'postgres';
  const ordered = op === 'greaterThan' || op === 'lessThan';
  switch (kind) {
    case 'integer':
    case 'number': {
      const v = raw.trim();
      if (!NUMBER.test(v)) {
        if (ordered) throw new ExportError('invalidQuery', `The column ${col.name} holds numbers; "${raw}" is not one.`);
        return null;
      }
      // The column's own integer type where the value is one (indexes and zone maps still apply), else a double.
      const whole = kind === 'integer' && /^[+-]?\d+$/.test(v) && BigInt(v) <= 9223372036854775807n && BigInt(v) >= -9223372036854775808n;
      const cast = whole ? 'BIGINT' : pg ? 'double precision' : 'DOUBLE';
      return (bind) => `CAST(${bind(v)} AS ${cast})`;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') return null;
      return (bind) => `CAST(${bind(v)} AS BOOLEAN)`;
    }
    case 'timestamp':
    case 'date': {
      const ms = Date.parse(raw);
      if (Number.isNaN(ms)) {
        if (ordered) throw new ExportError('invalidQuery', `The column ${col.name} holds ${kind === 'date' ? 'dates' : 'times'}; "${raw}" is not one (write it as 2024-05-31 or 2024-05-31T12:00:00Z).`);
        return null;
      }
      const iso = new Date(ms).toISOString();
      if (kind === 'date') return (bind) => `CAST(${bind(iso.slice(0, 10))} AS DATE)`;
      // DuckDB's TIMESTAMP holds UTC without a zone; PostgreSQL's timestamptz takes the ISO text as it is.
      return pg ? (bind) => `CAST(${bind(iso)} AS timestamptz)` : (bind) => `CAST(${bind(iso.slice(0, 23).replace('T', ' '))} AS TIMESTAMP)`;
    }
    default:
      return null;
  }
}

function orderClause(reader: Reader, sort: SortKey[], column: (name: string, what: string) => TableColumn, byName: Map<string, TableColumn>, primaryKey: string[]): string {
  const keys = sort.map((k) => `${quoteName(column(k.column, 'sorted on').name)} ${k.descending ? 'DESC' : 'ASC'} NULLS LAST`);
  // Ties are broken by the row's identity, so consecutive windows neither overlap nor skip: the
  // primary key where there is one (an index walk in PostgreSQL, not a sort of the whole table).
  const identity = primaryKey.length ? primaryKey.map(quoteName).join(', ') : byName.has('_position') ? '"_position"' : byName.has('id') ? '"id"' : reader.rowIdentity;
  const tie = identity ? [identity] : [];
  // Unsorted PostgreSQL windows follow the key (an index walk), not the heap, which updates reorder;
  // DuckDB keeps insertion order without ORDER BY, and a sort there costs a pass over the column.
  if (!keys.length && reader.dialect === 'duckdb') return '';
  const all = [...keys, ...tie];
  return all.length ? ` ORDER BY ${all.join(', ')}` : '';
}

function readError(err: unknown, where: string): ExportError {
  if (err instanceof ExportError) return err;
  return new ExportError('io', `Reading ${where} failed (${databaseError(err)}).`);
}

export type { Cell };
