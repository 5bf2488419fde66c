// Parquet for lake engines: the change log as Parquet files in a folder, partitioned by export day
// (`<resource>_changes/export_day=YYYY-MM-DD/part-<records>-<pages>.parquet`), written by DuckDB's
// COPY … (FORMAT parquet). Pages collect in an in-memory table and go out as one file per batch:
// written to a temp name, fsynced, renamed, and only then is the checkpoint file beside them written,
// so a kill leaves at most a file newer than the checkpoint, which the next run deletes before
// redoing those pages. With `snapshot`, the current state is written after each run as
// `<resource>.parquet` (+ `<resource>_deleted.parquet`, `<resource>_fields.parquet`), by the same
// rule as the database tables.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { acquireLock, loadCheckpoint, syncDirectory, writeCheckpointAtomic, type Checkpoint, type CommitPage, type ExportTarget, type StoredState, type TargetWriter } from '../export';
import { ExportError } from '../errors';
import type { ResolvedQuery } from '../query';
import { planFieldColumns } from './customFields';
import { quote } from './driver';
import { connectMemory, type DuckDbDriver } from './duckdb';
import type { ColumnSpec, FieldColumn, FieldDefinition, FieldSource } from './model';
import { LAYOUTS, RECORD_COLUMN, sideloadTable, tableNames } from './resources';
import { initialColumns, newTopLevelColumns, pageColumns, seenFieldRefs, SIDELOAD_SYSTEM, sideloadColumns, type PageMeta } from './rows';

/** Versions per Parquet file: big enough for lake engines, small enough to redo after a kill. */
export const PARQUET_BATCH = 50_000;

interface ParquetState {
  columns: ColumnSpec[];
  fields: FieldColumn[];
  sideloads: Record<string, ColumnSpec[]>;
}


export function parquetTarget(query: ResolvedQuery, opts: { fields?: FieldSource; batch?: number; signal?: AbortSignal }): ExportTarget {
  const folder = query.output.path;
  const checkpointPath = path.join(folder, `${query.resource}.checkpoint.json`);
  return {
    checkpointLocation: checkpointPath,
    lock: () => acquireLock(path.join(folder, `.${query.resource}.lock`), folder),
    async discard() {
      // The resource's change files, snapshot files and checkpoint; other resources in the folder stay.
      const names = [tableNames(query.resource).changes, ...(query.params.include ?? []).map((k) => `${sideloadTable(query.resource, k)}_changes`),
        `${query.resource}.parquet`, `${query.resource}_deleted.parquet`, `${query.resource}_fields.parquet`, `${query.resource}.checkpoint.json`];
      for (const name of names) await fs.rm(path.join(folder, name), { recursive: true, force: true });
    },
    readCheckpoint: () => loadCheckpoint(checkpointPath, query),
    async open(previous) {
      await fs.mkdir(folder, { recursive: true });
      await removeOrphans(folder, query, previous);
      const writer = new ParquetWriter(query, folder, checkpointPath, opts, previous);
      await writer.prepare();
      return writer;
    },
  };
}

const PART = /^part-(\d+)-(\d+)\.parquet(\.tmp)?$/;

function partName(cp: Checkpoint): string {
  return `part-${String(cp.records).padStart(12, '0')}-${String(cp.pages).padStart(9, '0')}.parquet`;
}

/** Files a killed run wrote after its last checkpoint (and temp files) go before anything is redone. */
async function removeOrphans(folder: string, query: ResolvedQuery, previous: Checkpoint | null): Promise<void> {
  const tables = [tableNames(query.resource).changes, ...(query.params.include ?? []).map((k) => `${sideloadTable(query.resource, k)}_changes`)];
  for (const table of tables) {
    const dir = path.join(folder, table);
    const days = await fs.readdir(dir).catch(() => [] as string[]);
    for (const day of days) {
      for (const name of await fs.readdir(path.join(dir, day)).catch(() => [] as string[])) {
        const m = PART.exec(name);
        if (!m) continue;
        const [records, pages] = [Number(m[1]), Number(m[2])];
        const newer = !previous || records > previous.records || (records === previous.records && pages > previous.pages);
        if (m[3] || newer) await fs.rm(path.join(dir, day, name), { force: true });
      }
    }
  }
}

class ParquetWriter implements TargetWriter {
  readonly paths: string[];
  private db!: DuckDbDriver;
  private state: ParquetState;
  private readonly layout;
  private definitions: FieldDefinition[] | null = null;
  private buffered = 0;
  private pending: Checkpoint | null = null;
  private closed = false;

  constructor(
    private readonly query: ResolvedQuery,
    private readonly folder: string,
    private readonly checkpointPath: string,
    private readonly opts: { fields?: FieldSource; batch?: number; signal?: AbortSignal },
    previous: Checkpoint | null,
  ) {
    this.paths = [folder];
    this.layout = LAYOUTS[query.resource];
    const stored = previous?.writerState as ParquetState | undefined;
    this.state = stored?.columns ? { columns: stored.columns, fields: stored.fields ?? [], sideloads: stored.sideloads ?? {} } : { columns: [], fields: [], sideloads: {} };
  }

  async prepare(): Promise<void> {
    const definitions = this.layout.customFields && this.opts.fields ? await this.opts.fields.definitions(this.layout.customFields.kind, this.opts.signal) : null;
    this.definitions = definitions;
    if (this.layout.customFields) {
      const taken = new Set([...initialColumns(this.layout, []).map((c) => c.name), ...this.state.columns.map((c) => c.name), ...this.state.fields.map((f) => f.column)]);
      const plan = planFieldColumns(this.layout.customFields.kind, this.state.fields, definitions, [], taken);
      this.state.fields = plan.columns;
      if (this.state.columns.length) this.state.columns.push(...plan.added.map((f) => ({ name: f.column, type: f.type })));
    }
    if (!this.state.columns.length) this.state.columns = initialColumns(this.layout, this.state.fields);
    // An in-memory DuckDB: the batch lives there until COPY writes it out.
    this.db = await connectMemory();
    await this.createBuffer('buf', this.state.columns);
    for (const [key, cols] of Object.entries(this.state.sideloads)) await this.createBuffer(`side_${key}`, cols);
  }

  private async createBuffer(name: string, cols: ColumnSpec[]): Promise<void> {
    await this.db.exec(`CREATE OR REPLACE TABLE ${quote(name)} (${cols.map((c) => `${quote(c.name)} ${this.db.dialect.type(c.type)}`).join(', ')})`);
  }

  async commit(page: CommitPage, checkpointOf: (stored: StoredState) => Checkpoint): Promise<Checkpoint> {
    const records = page.records;
    const checkpoint = (): Checkpoint => checkpointOf({ files: {}, writerState: structuredClone(this.state) });
    let cp = checkpoint();
    const meta: PageMeta = { firstPosition: cp.records - records.length + 1, page: cp.pages, exportedAt: new Date() };
    if (records.length) {
      const fresh = newTopLevelColumns(records, this.state.columns);
      if (this.layout.customFields) {
        const refs = seenFieldRefs(records, this.layout);
        const known = new Set(this.state.fields.map((f) => f.ref));
        if ([...refs.keys()].some((r) => !known.has(r))) {
          const plan = planFieldColumns(this.layout.customFields.kind, this.state.fields, this.definitions, refs, new Set([...this.state.columns.map((c) => c.name), ...fresh.map((c) => c.name)]));
          this.state.fields = plan.columns;
          fresh.push(...plan.added.map((f) => ({ name: f.column, type: f.type })));
        }
      }
      for (const col of fresh) {
        await this.db.exec(`ALTER TABLE buf ADD COLUMN ${quote(col.name)} ${this.db.dialect.type(col.type)}`);
        this.state.columns.push(col);
      }
      await this.db.append('buf', this.state.columns, pageColumns(records, this.layout, this.state.columns, this.state.fields, meta));
    }
    for (const [key, list] of Object.entries(page.sideloads)) {
      const rows = list.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r));
      if (!rows.length) continue;
      let cols = this.state.sideloads[key];
      if (!cols) {
        cols = this.state.sideloads[key] = [...SIDELOAD_SYSTEM, RECORD_COLUMN];
        await this.createBuffer(`side_${key}`, cols);
      }
      for (const col of newTopLevelColumns(rows, cols)) {
        await this.db.exec(`ALTER TABLE ${quote(`side_${key}`)} ADD COLUMN ${quote(col.name)} ${this.db.dialect.type(col.type)}`);
        cols.push(col);
      }
      await this.db.append(`side_${key}`, cols, sideloadColumns(rows, cols, meta));
    }
    cp = checkpoint();
    this.buffered += records.length;
    this.pending = cp;
    if (this.buffered >= (this.opts.batch ?? PARQUET_BATCH) || page.endOfStream) await this.flush();
    return cp;
  }

  /** Writes the batch as Parquet files, then the checkpoint that covers them. */
  private async flush(): Promise<void> {
    const cp = this.pending;
    if (!cp) return;
    const day = new Date().toISOString().slice(0, 10);
    const outputs: [string, string][] = [['buf', tableNames(this.query.resource).changes]];
    for (const key of Object.keys(this.state.sideloads)) outputs.push([`side_${key}`, `${sideloadTable(this.query.resource, key)}_changes`]);
    try {
      for (const [buffer, table] of outputs) {
        const [{ n }] = await this.db.query(`SELECT count(*) AS n FROM ${quote(buffer)}`);
        if (!Number(n)) continue;
        const dir = path.join(this.folder, table, `export_day=${day}`);
        await fs.mkdir(dir, { recursive: true });
        const file = path.join(dir, partName(cp));
        await this.db.exec(`COPY ${quote(buffer)} TO '${(file + '.tmp').replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION zstd)`);
        const handle = await fs.open(`${file}.tmp`, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(`${file}.tmp`, file);
        await syncDirectory(dir);
        await this.db.exec(`DELETE FROM ${quote(buffer)}`);
      }
      await writeCheckpointAtomic(this.checkpointPath, cp);
    } catch (err) {
      if (err instanceof ExportError) throw err;
      throw new ExportError('io', `Writing Parquet files to ${this.folder} failed (${(err as Error).message.split('\n')[0]}); the checkpoint keeps the last complete batch, so fix the cause and resume.`);
    }
    this.buffered = 0;
    this.pending = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
      if (this.query.output.tables?.snapshot) await this.snapshot();
    } finally {
      await this.db?.close();
    }
  }

  /** The current state from every change file, by the rule the database tables follow. */
  private async snapshot(): Promise<void> {
    const names = tableNames(this.query.resource);
    const glob = path.join(this.folder, names.changes, '*', '*.parquet');
    const parts = await fs.readdir(path.join(this.folder, names.changes)).catch(() => [] as string[]);
    if (!parts.length) return;
    const src = `read_parquet('${glob.replace(/'/g, "''")}', union_by_name = true)`;
    const newest = `SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY _version DESC, _position DESC) AS rn FROM ${src}) WHERE rn = 1`;
    const write = async (name: string, select: string): Promise<void> => {
      const file = path.join(this.folder, `${name}.parquet`);
      await this.db.exec(`COPY (${select}) TO '${(file + '.tmp').replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION zstd)`);
      await fs.rename(`${file}.tmp`, file);
    };
    if (this.query.output.tables?.deletions === 'flag') await write(names.current, `${newest} ORDER BY id`);
    else {
      await write(names.current, `SELECT * FROM (${newest}) WHERE NOT _deleted ORDER BY id`);
      await write(names.deleted, `SELECT * FROM (${newest}) WHERE _deleted ORDER BY id`);
    }
    if (this.state.fields.length) {
      const values = this.state.fields.map((f) => `(${[f.ref, f.fieldId, f.key, f.column, f.title, f.type, f.present].map(sqlLiteral).join(', ')})`).join(', ');
      await write(names.fields, `SELECT * FROM (VALUES ${values}) AS f(field_ref, field_id, field_key, column_name, title, column_type, present)`);
    }
    await syncDirectory(this.folder);
  }
}

function sqlLiteral(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `'${v.replace(/'/g, "''")}'`;
}
