// PostgreSQL through node-postgres (pure JavaScript, bundled, evaluated only when a PostgreSQL output
// or view needs it). One writer per schema: a session advisory lock, released by PostgreSQL itself
// when the connection ends, however the writer ended. Rows are appended with COPY … FROM STDIN in
// the text format (pg-copy-streams), inside the page's transaction: the server parses the values
// (JSON included) in its own process. The password never appears in a message.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, ClientConfig, Pool } from 'pg';
import { ExportError } from '../errors';
import { columnTypeOf, postgresDialect, quote, type SqlDriver } from './driver';
import type { ColumnSpec, PostgresConnection } from './model';
import type { SqlValue } from './rows';

type PgModule = typeof import('pg');
type CopyModule = typeof import('pg-copy-streams');
let copyLoad: Promise<CopyModule> | null = null;
type UrlModule = typeof import('pg-connection-string');
let moduleLoad: Promise<[PgModule, UrlModule]> | null = null;

function loadPg(): Promise<[PgModule, UrlModule]> {
  const unwrap = <T>(m: T): T => (m as { default?: T }).default ?? m;
  moduleLoad ??= Promise.all([import('pg').then(unwrap), import('pg-connection-string').then(unwrap)]).catch((err: unknown) => {
    moduleLoad = null;
    throw new ExportError('io', `The PostgreSQL driver (pg) could not be loaded (${(err as Error).message.split('\n')[0]}).`);
  });
  return moduleLoad;
}

/** host:port/database of a URL, for messages (never the user's password, which a URL here doesn't hold anyway). */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || new URLSearchParams(u.search).get('host') || 'localhost';
    return `${decodeURIComponent(host)}${u.port ? `:${u.port}` : ''}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the database';
  }
}

/** Two positive 31-bit keys for pg_advisory_lock(int, int), from the schema name. */
function lockKeys(schema: string): [number, number] {
  const h = createHash('sha256').update(`zdx-tables:${schema}`).digest();
  return [h.readUInt32BE(0) & 0x7fffffff, h.readUInt32BE(4) & 0x7fffffff];
}

const INT8 = 20;
const JSON_OID = 114;
const JSONB = 3802;
const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;
const DATE = 1082;
const NUMERIC = 1700;

/** The client settings for a connection: parsed URL, the password given apart, cells JSON-safe and exact. */
function clientConfig(pg: PgModule, urls: UrlModule, conn: PostgresConnection, purpose: 'export' | 'view', readOnly = false): ClientConfig {
  const where = describeDatabase(conn.url);
  let parsed: ClientConfig;
  try {
    parsed = urls.parseIntoClientConfig(conn.url);
  } catch (err) {
    throw new ExportError('invalidQuery', `The PostgreSQL connection URL for ${where} is invalid (${(err as Error).message.split('\n')[0]}).`);
  }
  // Parsed here, not passed as connectionString, so the password given apart from the URL is the one used.
  for (const key of Object.keys(parsed) as (keyof ClientConfig)[]) if (parsed[key] === undefined || parsed[key] === null) delete parsed[key];
  const config: ClientConfig = {
    ...parsed,
    application_name: `zdx ${purpose} (pid ${process.pid} on ${hostname()})`,
    connectionTimeoutMillis: 15_000,
    types: {
      getTypeParser: ((oid: number, format?: string) => {
        // Cells stay JSON-safe and exact: 64-bit integers as numbers only when safe, JSON as text, times as ISO text.
        if (oid === INT8 || oid === NUMERIC) return (v: string) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
        if (oid === JSON_OID || oid === JSONB || oid === DATE) return (v: string) => v;
        if (oid === TIMESTAMPTZ || oid === TIMESTAMP) return (v: string) => new Date(oid === TIMESTAMP ? `${v}Z` : v).toISOString();
        return pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown;
      }) as never,
    },
  };
  // The editor's views never change anything: their sessions refuse writes whatever SQL reaches them.
  if (readOnly) config.options = `${parsed.options ? `${parsed.options} ` : ''}-c default_transaction_read_only=on`;
  if (conn.password !== undefined) config.password = conn.password;
  return config;
}

/** `lock`: hold the schema's one-writer advisory lock for as long as this connection lives. */
export async function connectPostgres(conn: PostgresConnection, schema: string, opts: { write: boolean; lock?: boolean }): Promise<PostgresDriver> {
  const [pg, urls] = await loadPg();
  const where = describeDatabase(conn.url);
  const client = new pg.Client(clientConfig(pg, urls, conn, opts.write ? 'export' : 'view'));
  // A dropped connection surfaces on the next query; without a listener it would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectionError(err, where);
  }
  const driver = new PostgresDriver(client, schema, where);
  if (opts.lock) {
    try {
      await driver.lock();
    } catch (err) {
      await driver.close();
      throw err;
    }
  }
  return driver;
}

const pools = new Map<string, Pool>();

/**
 * A small pool of read-only sessions per database and password, shared by every view of this
 * process and closed when idle; it never takes the writer's lock, so views read while an export writes.
 */
export async function readerPool(conn: PostgresConnection): Promise<{ pool: Pool; where: string }> {
  const [pg, urls] = await loadPg();
  const key = `${conn.url}\u0000${createHash('sha256').update(conn.password ?? '').digest('hex')}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new pg.Pool({ ...clientConfig(pg, urls, conn, 'view', true), max: 3, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    pool.on('error', () => undefined);
    pools.set(key, pool);
  }
  return { pool, where: describeDatabase(conn.url) };
}

/** Ends every view pool (server shutdown). */
export async function closeReaderPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => undefined)));
}

export function connectionError(err: unknown, where: string): ExportError {
  const e = err as { code?: string; message?: string };
  const text = (e.message ?? String(err)).split('\n')[0];
  switch (e.code) {
    case '28P01':
    case '28000':
      return new ExportError('auth', `PostgreSQL at ${where} refused the login (${text}); check the user and the password (PGPASSWORD, ~/.pgpass or the stored one).`);
    case '3D000':
      return new ExportError('notFound', `PostgreSQL at ${where}: ${text}; create the database or fix the connection URL.`);
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return new ExportError('network', `PostgreSQL at ${where} can't be reached (${e.code}); check the host and port, and that the server is running.`);
    default:
      return new ExportError('io', `Connecting to PostgreSQL at ${where} failed (${text.replace(/[.\s]+$/, '')}).`);
  }
}

export class PostgresDriver implements SqlDriver {
  readonly dialect;
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly schema: string,
    readonly where: string,
  ) {
    this.dialect = postgresDialect(schema);
  }

  /** The one-writer rule: refused at once, naming the session that holds the schema. */
  async lock(): Promise<void> {
    const [a, b] = lockKeys(this.schema);
    const { rows } = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [a, b]);
    if (rows[0]?.ok) return;
    const holder = await this.client.query<{ pid: number; application_name: string; backend_start: Date | string }>(
      `SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2 AND l.granted LIMIT 1`, [a, b]);
    const h = holder.rows[0];
    const who = h ? `${h.application_name || 'another client'}, PostgreSQL backend ${h.pid}, connected since ${new Date(h.backend_start).toISOString()}` : 'another session';
    throw new ExportError('locked', `The schema ${this.schema} at ${this.where} is being written by another export (${who}): only one export writes a schema at a time; wait for it to finish or stop it.`);
  }

  async query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]> {
    const result = await this.client.query(sql, params?.map(toPg));
    return result.rows as Record<string, unknown>[];
  }

  async exec(sql: string, params?: SqlValue[]): Promise<void> {
    await this.client.query(sql, params?.map(toPg));
  }

  async append(table: string, columns: ColumnSpec[], values: SqlValue[][]): Promise<void> {
    const rows = values[0]?.length ?? 0;
    if (!rows) return;
    copyLoad ??= import('pg-copy-streams').then((m) => (m as { default?: CopyModule }).default ?? m);
    const { from } = await copyLoad;
    const sink = this.client.query(from(`COPY ${this.dialect.table(table)} (${columns.map((c) => quote(c.name)).join(', ')}) FROM STDIN`));
    // Chunks of a few hundred rows: the socket's backpressure paces the encoding.
    function* text(): Generator<string> {
      const CHUNK = 256;
      for (let start = 0; start < rows; start += CHUNK) {
        let out = '';
        const end = Math.min(rows, start + CHUNK);
        for (let r = start; r < end; r++) {
          for (let c = 0; c < values.length; c++) out += (c ? '\t' : '') + copyCell(values[c][r]);
          out += '\n';
        }
        yield out;
      }
    }
    await pipeline(Readable.from(text()), sink);
  }

  async columns(table: string): Promise<ColumnSpec[] | null> {
    const rows = await this.query('SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [this.schema, table]);
    return rows.length ? rows.map((r) => ({ name: String(r.column_name), type: columnTypeOf(String(r.data_type)) })) : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Ending the session releases the advisory lock.
    await this.client.end().catch(() => undefined);
  }
}

/** A value in COPY's text format: \N for NULL; backslash, tab, newline and carriage return escaped. */
function copyCell(v: SqlValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  const text = toPg(v) as string;
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : text;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function toPg(v: SqlValue): string | number | boolean | null {
  if (v instanceof Date) return v.toISOString();
  // PostgreSQL's text refuses NUL characters and jsonb the \u0000 escape that JSON.stringify writes for them.
  if (typeof v === 'string' && (v.includes('\u0000') || v.includes('\\u0000'))) return v.replace(/\u0000|\\u0000/g, '');
  return v;
}
