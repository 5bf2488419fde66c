// DuckDB, loaded only when an output or a table view needs it (the native package ships with the
// platform build of the extension and with the CLI's npm install; see the README). One instance per
// file in this process, shared by the export that writes it and the views that read it, and closed
// when the last user lets go, so the file isn't held locked. DuckDB's own file lock keeps a second
// process out; this process's writers are kept to one per file here.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ExportError } from '../errors';
import { columnTypeOf, duckdbDialect, type SqlDriver } from './driver';
import type { Cell, ColumnSpec, ColumnType } from './model';
import type { SqlValue } from './rows';

type DuckModule = typeof import('@duckdb/node-api');
let moduleLoad: Promise<DuckModule> | null = null;

/** The build a platform needs for DuckDB, as `vsce package --target` names it (e.g. linux-x64, darwin-arm64, win32-x64). */
export function platformTarget(): string {
  return `${process.platform}-${process.arch}`;
}

/**
 * The DuckDB driver, or one sentence saying it isn't here: the universal .vsix doesn't carry the
 * native binding (the platform builds do; the CLI installed with npm has it as a dependency).
 */
export function loadDuckDb(): Promise<DuckModule> {
  moduleLoad ??= import('@duckdb/node-api').catch((err: unknown) => {
    moduleLoad = null;
    throw new ExportError(
      'io',
      `DuckDB and Parquet outputs need DuckDB's native driver, which this build doesn't carry: install the extension's build for this platform (${platformTarget()}), or \`npm install @duckdb/node-api\` beside the CLI.`,
      firstLine(err),
    );
  });
  return moduleLoad;
}

interface Held {
  instance: DuckDBInstance;
  users: number;
  /** Opened READ_ONLY (views and SQL while nothing here writes the file): other processes may read it too. */
  readOnly: boolean;
  /** Set while a writer of this process waits for the readers of a read-only instance to let go. */
  draining: boolean;
  /** Stops long reads (SQL) when a writer needs the file. */
  readonly interrupters: Set<() => void>;
  /** Resolved when the last user lets go (and the instance is closed). */
  readonly closed: Promise<void>;
  onClosed(): void;
  /** A read-only instance stays open this long after its last reader, for the next window of a scroll. */
  linger?: NodeJS.Timeout;
}

/**
 * How long a read-only instance outlives its last reader: scrolling reads again within it, and opening
 * a file costs tens of milliseconds. Meanwhile another process can't open the file to write it, so it
 * is short (a writer of this process takes the file over at once).
 */
export const READ_LINGER_MS = 1500;

const instances = new Map<string, Promise<Held>>();
const writers = new Set<string>();

/**
 * Opens (or shares) the instance of a file. One instance per file in this process: readers share the
 * writer's (DuckDB keeps them apart by MVCC); without a writer they open it READ_ONLY, so another
 * process may read it at the same time. A writer arriving while a read-only instance is open stops
 * its long reads, waits for the others and reopens the file read-write. A lock held by another
 * process is refused in one sentence naming it.
 */
async function acquire(file: string, mode: 'read' | 'write'): Promise<Held> {
  const key = path.resolve(file);
  for (;;) {
    let pending = instances.get(key);
    if (!pending) {
      const readOnly = mode === 'read';
      pending = (async () => {
        const duck = await loadDuckDb();
        try {
          // Fewer checkpoints while pages stream in: the WAL is folded into the file when the last user closes it.
          const options: Record<string, string> = readOnly ? { access_mode: 'READ_ONLY' } : { checkpoint_threshold: '256MB' };
          const instance = await duck.DuckDBInstance.create(key, options);
          let onClosed = (): void => undefined;
          const closed = new Promise<void>((resolve) => (onClosed = resolve));
          return { instance, users: 0, readOnly, draining: false, interrupters: new Set(), closed, onClosed } satisfies Held;
        } catch (err) {
          throw openError(key, err, mode);
        }
      })();
      instances.set(key, pending);
      pending.catch(() => instances.delete(key));
    }
    const held = await pending;
    clearTimeout(held.linger);
    held.linger = undefined;
    if (mode === 'write' && held.readOnly) {
      held.draining = true;
      for (const stop of held.interrupters) stop();
      if (held.users === 0) closeHeld(key, held);
      await held.closed;
      continue;
    }
    if (held.draining) {
      await held.closed;
      continue;
    }
    held.users++;
    return held;
  }
}

function closeHeld(key: string, held: Held): void {
  if (key !== ':memory:') instances.delete(key);
  try {
    held.instance.closeSync();
  } finally {
    held.onClosed();
  }
}

function release(file: string, held: Held): void {
  if (--held.users > 0) return;
  const key = file === ':memory:' ? file : path.resolve(file);
  if (held.readOnly && !held.draining && key !== ':memory:') {
    held.linger = setTimeout(() => {
      held.linger = undefined;
      if (held.users === 0) closeHeld(key, held);
    }, READ_LINGER_MS);
    held.linger.unref();
    return;
  }
  closeHeld(key, held);
}

/** Closes the read-only instances no reader uses now (lingering after a read), so other processes may write their files. */
export async function closeIdleDuckDbReaders(): Promise<void> {
  for (const [key, pending] of [...instances]) {
    const held = await pending.catch(() => null);
    if (held && held.users === 0 && held.linger) {
      clearTimeout(held.linger);
      held.linger = undefined;
      closeHeld(key, held);
    }
  }
}

function openError(file: string, err: unknown, mode: 'read' | 'write'): ExportError {
  const text = firstLine(err);
  const holder = /Conflicting lock is held in (.+?) \(PID (\d+)\)/.exec(text);
  if (holder) {
    const who = `${path.basename(holder[1])}, PID ${holder[2]}`;
    return mode === 'write'
      ? new ExportError('locked', `${file} is in use by another process (${who}): only one export writes a DuckDB file at a time; wait for it to finish or stop it.`)
      : new ExportError('locked', `${file} is being written by another process (${who}); DuckDB lets no other process open it meanwhile, so its tables can be read once that export ends.`);
  }
  return new ExportError('io', `The DuckDB file ${file} could not be opened (${text.replace(/[.\s]+$/, '')}).`);
}

/**
 * A connection to a DuckDB file. `write`: the one writer of this process (a second is refused);
 * `create`: create the file when missing (otherwise null is returned for a missing file); `readOnly`:
 * only reads (shares whatever instance this process has, else opens the file READ_ONLY).
 */
export async function connectDuckDb(file: string, opts: { write: boolean; create: boolean; readOnly?: boolean }): Promise<DuckDbDriver | null> {
  const key = path.resolve(file);
  if (!opts.create && !existsSync(key)) return null;
  if (opts.write) {
    if (writers.has(key)) throw new ExportError('locked', `${key} is being written by another export in this window; only one export writes a DuckDB file at a time.`);
    writers.add(key);
  }
  try {
    const held = await acquire(key, opts.readOnly && !opts.write ? 'read' : 'write');
    const duck = await loadDuckDb();
    try {
      return new DuckDbDriver(duck, key, held, await held.instance.connect(), opts.write);
    } catch (err) {
      release(key, held);
      throw err;
    }
  } catch (err) {
    if (opts.write) writers.delete(key);
    throw err;
  }
}

/** A private in-memory database (Parquet batches, SQL over Parquet files), closed with its connection. */
export async function connectMemory(): Promise<DuckDbDriver> {
  const duck = await loadDuckDb();
  const instance = await duck.DuckDBInstance.create(':memory:');
  let onClosed = (): void => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const held: Held = { instance, users: 1, readOnly: false, draining: false, interrupters: new Set(), closed, onClosed };
  return new DuckDbDriver(duck, ':memory:', held, await instance.connect(), false);
}

/** Whether an export of this process is writing the file. */
export function isDuckDbBeingWritten(file: string): boolean {
  return writers.has(path.resolve(file));
}

export class DuckDbDriver implements SqlDriver {
  readonly dialect = duckdbDialect;
  private closed = false;

  constructor(
    private readonly duck: DuckModule,
    readonly file: string,
    private readonly held: Held,
    readonly connection: DuckDBConnection,
    private readonly writer: boolean,
  ) {}

  /** Whether this connection reads a read-only instance (nothing in this process writes the file). */
  get readOnly(): boolean {
    return this.held.readOnly;
  }

  /**
   * Runs `work`, interrupting it when `signal` aborts or a writer of this process needs the file
   * (then it fails with ExportError('cancelled') saying which).
   */
  async interruptible<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw stoppedError(this.file, 'cancelled');
    let why: 'cancelled' | 'writer' | null = null;
    let repeat: NodeJS.Timeout | undefined;
    // An interrupt reaches only a statement that is executing: one that starts a moment later (or
    // the next chunk of a streamed result) is caught by the next tick.
    const stop = (reason: 'cancelled' | 'writer') => () => {
      why ??= reason;
      this.connection.interrupt();
      repeat ??= setInterval(() => this.connection.interrupt(), 20);
    };
    const onAbort = stop('cancelled');
    const onWriter = stop('writer');
    signal?.addEventListener('abort', onAbort, { once: true });
    this.held.interrupters.add(onWriter);
    try {
      const out = await work();
      if (why) throw new Error('interrupted');
      return out;
    } catch (err) {
      if (why) throw stoppedError(this.file, why);
      throw err;
    } finally {
      clearInterval(repeat);
      signal?.removeEventListener('abort', onAbort);
      this.held.interrupters.delete(onWriter);
    }
  }

  async query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql, params?.map(toDuck));
    const names = reader.columnNames();
    return reader.getRowsJS().map((row) => Object.fromEntries(row.map((v, i) => [names[i], toCell(v)])));
  }

  async exec(sql: string, params?: SqlValue[]): Promise<void> {
    await this.connection.run(sql, params?.map(toDuck));
  }

  async append(table: string, columns: ColumnSpec[], values: SqlValue[][]): Promise<void> {
    const rows = values[0]?.length ?? 0;
    if (!rows) return;
    const d = this.duck;
    const types = columns.map((c) => duckType(d, c.type));
    // The appender writes inside the connection's open transaction: the page commits with its checkpoint.
    const appender = await this.connection.createAppender(table);
    try {
      for (let start = 0; start < rows; start += 2048) {
        const count = Math.min(2048, rows - start);
        const chunk = d.DuckDBDataChunk.create(types, count);
        chunk.setColumnsConverted(values.map((col) => (start === 0 && count === rows ? col : col.slice(start, start + count))), d.JSToDuckDBValueConverter);
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  async columns(table: string): Promise<ColumnSpec[] | null> {
    const rows = await this.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $1 ORDER BY ordinal_position`, [table]);
    return rows.length ? rows.map((r) => ({ name: String(r.column_name), type: columnTypeOf(String(r.data_type)) })) : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.connection.closeSync();
    } finally {
      release(this.file, this.held);
      if (this.writer) writers.delete(this.file);
    }
  }
}

function duckType(d: DuckModule, t: ColumnType) {
  switch (t) {
    case 'bigint': return d.BIGINT;
    case 'double': return d.DOUBLE;
    case 'boolean': return d.BOOLEAN;
    case 'timestamp': return d.TIMESTAMP;
    case 'date': return d.DATE;
    default: return d.VARCHAR;
  }
}

/** Parameters: dates as ISO text (DuckDB casts it where a timestamp is expected). */
function toDuck(v: SqlValue): string | number | boolean | null {
  return v instanceof Date ? v.toISOString() : v;
}

/** A DuckDB value as a JSON-safe cell. */
export function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? toCell(x) : x));
}

function stoppedError(file: string, why: 'cancelled' | 'writer'): ExportError {
  return why === 'cancelled'
    ? new ExportError('cancelled', `The query on ${path.basename(file)} was cancelled.`)
    : new ExportError('cancelled', `The query on ${path.basename(file)} was stopped because an export started writing the file; run it again (reads share the writer's connection while it runs).`);
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
