// A person's SQL against a DuckDB file (or a Parquet folder's views), one page of its result at a
// time. It can't change anything: one statement, a query (SELECT, WITH, FROM, DESCRIBE, SHOW,
// SUMMARIZE, EXPLAIN), run in a READ ONLY transaction on the file opened READ_ONLY, or on the
// instance of the export that writes it in this process (DuckDB lets no second instance in). The
// result streams: only the rows up to the page's end are computed and converted. A signal stops it.
import { ExportError } from '../errors';
import { loadDuckDb, toCell } from './duckdb';
import type { Cell, SqlPage, SqlRequest, TableColumn, TableSource } from './model';
import { databaseError, DuckReader, openReader } from './readers';

export const DEFAULT_SQL_PAGE_ROWS = 200;
export const MAX_SQL_PAGE_ROWS = 1000;

/** `onStart`: called once the statement runs (a UI can offer Cancel from then on). */
export async function runSql(source: TableSource, req: SqlRequest, opts: { signal?: AbortSignal; onStart?: () => void } = {}): Promise<SqlPage> {
  const offset = req.offset ?? 0;
  const limit = req.limit ?? DEFAULT_SQL_PAGE_ROWS;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new ExportError('invalidQuery', `A result page's offset is a whole number from 0 (got ${String(offset)}).`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SQL_PAGE_ROWS) throw new ExportError('invalidQuery', `A result page holds 1 to ${MAX_SQL_PAGE_ROWS} rows (got ${String(limit)}).`);
  if (typeof req.sql !== 'string' || !req.sql.trim()) throw new ExportError('invalidQuery', 'There is no SQL to run.');
  if (source.kind === 'postgres') throw new ExportError('invalidQuery', `SQL runs here against DuckDB files and Parquet folders; query the PostgreSQL schema ${source.schema} with your own client.`);
  const duck = await loadDuckDb();
  const reader = await openReader(source);
  if (!(reader instanceof DuckReader)) throw new Error('runSql reads DuckDB sources only');
  const { driver } = reader;
  try {
    return await driver.interruptible(async () => {
      await driver.exec('BEGIN TRANSACTION READ ONLY');
      try {
        let prepared;
        try {
          const statements = await driver.connection.extractStatements(req.sql);
          if (statements.count !== 1) throw new ExportError('invalidQuery', `Run one statement at a time (this SQL holds ${statements.count}).`);
          prepared = await statements.prepare(0);
        } catch (err) {
          if (err instanceof ExportError) throw err;
          throw new ExportError('invalidQuery', `DuckDB can't run this SQL: ${databaseError(err)}.`);
        }
        try {
          const type = prepared.statementType;
          if (type !== duck.StatementType.SELECT && type !== duck.StatementType.EXPLAIN) {
            throw new ExportError('invalidQuery', `Only queries run here (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); this is ${article(duck.StatementType[type])} statement, which would change something.`);
          }
          const streaming = prepared.stream();
          opts.onStart?.();
          const result = await streaming;
          const names = result.columnNames();
          const types = result.columnTypes().map(String);
          const columns: TableColumn[] = names.map((name, i) => ({ name, type: types[i] }));
          const dates = types.map((t) => t === 'DATE');
          const rows: Cell[][] = [];
          let seen = 0;
          let more = false;
          for (;;) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            const n = chunk.rowCount;
            const from = Math.max(0, offset - seen);
            for (let i = from; i < n && rows.length < limit; i++) {
              rows.push(chunk.convertRowValues(i, duck.JSDuckDBValueConverter).map((v, c) => {
                const cell = toCell(v);
                return dates[c] && typeof cell === 'string' ? cell.slice(0, 10) : cell;
              }));
            }
            seen += n;
            if (rows.length === limit && seen > offset + limit) {
              more = true;
              break;
            }
            if (rows.length === limit) {
              // The page ends with this chunk: one more row says whether another page follows.
              const next = await result.fetchChunk();
              more = !!next && next.rowCount > 0;
              break;
            }
          }
          return { columns, rows, offset, more };
        } catch (err) {
          if (err instanceof ExportError) throw err;
          throw new ExportError('invalidQuery', `The query failed: ${databaseError(err)}.`);
        } finally {
          prepared.destroySync();
        }
      } finally {
        await driver.exec('ROLLBACK').catch(() => undefined);
      }
    }, opts.signal);
  } finally {
    await reader.close();
  }
}

function article(type: string | undefined): string {
  const word = (type ?? 'unknown').replace(/_/g, ' ');
  return /^[AEIOU]/i.test(word) ? `an ${word}` : `a ${word}`;
}
