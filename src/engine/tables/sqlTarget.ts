// The database target (DuckDB and PostgreSQL alike): every page's versions go to `<resource>_changes`
// in one transaction with the checkpoint row, so the position and the rows never disagree. The
// current-state tables (`<resource>`, `<resource>_deleted`) are derived from the change log by a
// merge that records how far it got (`merged_position`) in the same transaction, a batch of pages
// at a time (DUCKDB_MERGE_EVERY, POSTGRES_MERGE_EVERY versions) and at the end of every run. A kill
// at any instant leaves both the log and the merged tables consistent with the stored position; the
// next run merges whatever is left first. Sideloads are upserted by id per page.
import { checkpointShapeProblem, type Checkpoint, type CommitPage, type ExportTarget, type StoredState, type TargetWriter } from '../export';
import { ExportError } from '../errors';
import type { ResolvedQuery } from '../query';
import type { FieldKind } from './model';
import { planFieldColumns } from './customFields';
import { quote, type SqlDriver } from './driver';
import type { ColumnSpec, FieldColumn, FieldDefinition, FieldSource } from './model';
import { CHECKPOINT_TABLE, LAYOUTS, RECORD_COLUMN, sideloadTable, tableNames, type ResourceLayout } from './resources';
import { initialColumns, newTopLevelColumns, pageColumns, seenFieldRefs, SIDELOAD_SYSTEM, sideloadColumns } from './rows';
import { textOf } from '../text';

export interface SqlTargetOptions {
  query: ResolvedQuery;
  /** Where the target is, for messages: the file, or the database and schema. */
  location: string;
  /** Takes the one-writer lock for the run, or refuses at once with ExportError('locked') naming the holder. */
  lock(): Promise<() => Promise<void>>;
  /** Opens the database for reading the checkpoint; null when it doesn't exist yet (then nothing is created). */
  connectExisting(): Promise<SqlDriver | null>;
  /** Opens it for writing (the lock is already held): creates the database file when missing. */
  connectWriter(): Promise<SqlDriver>;
  /** Creates the schema where the database has them (PostgreSQL). */
  prepare?(driver: SqlDriver): Promise<void>;
  fields?: FieldSource;
  /** Merge the current-state tables once this many versions wait (and at the end of every run). */
  mergeEvery: number;
  signal?: AbortSignal;
}

export function sqlTarget(opts: SqlTargetOptions): ExportTarget {
  const { query } = opts;
  const layout = LAYOUTS[query.resource];
  const names = tableNames(query.resource);
  return {
    checkpointLocation: `${opts.location} (table ${CHECKPOINT_TABLE})`,
    lock: () => opts.lock(),
    async discard() {
      const driver = await opts.connectExisting();
      if (!driver) return;
      try {
        await dropResourceTables(driver, query);
      } finally {
        await driver.close();
      }
    },
    async readCheckpoint() {
      const driver = await opts.connectExisting();
      if (!driver) return null;
      try {
        return (await readRow(driver, query, opts.location))?.checkpoint ?? null;
      } finally {
        await driver.close();
      }
    },
    async open(previous) {
      const driver = await opts.connectWriter();
      try {
        const writer = new SqlWriter(driver, opts, layout, names);
        await writer.prepare(previous);
        return writer;
      } catch (err) {
        await driver.close().catch(() => undefined);
        throw err;
      }
    },
  };
}

interface StoredRow {
  checkpoint: Checkpoint;
  mergedPosition: number;
}

async function ensureCheckpointTable(driver: SqlDriver): Promise<void> {
  await driver.exec(`CREATE TABLE IF NOT EXISTS ${driver.dialect.table(CHECKPOINT_TABLE)} (resource ${driver.dialect.type('text')}, query_digest ${driver.dialect.type('text')}, checkpoint ${driver.dialect.type('text')}, merged_position ${driver.dialect.type('bigint')}, updated_at ${driver.dialect.type('timestamp')})`);
}

/** The checkpoint row of the query's resource, refused when another query wrote these tables. */
async function readRow(driver: SqlDriver, query: ResolvedQuery, location: string): Promise<StoredRow | null> {
  if (!(await driver.columns(CHECKPOINT_TABLE))) return null;
  const rows = await driver.query(`SELECT query_digest, checkpoint, merged_position FROM ${driver.dialect.table(CHECKPOINT_TABLE)} WHERE resource = $1`, [query.resource]);
  if (!rows.length) return null;
  const row = rows[0];
  if (row.query_digest !== query.digest) {
    throw new ExportError(
      'checkpointMismatch',
      `The ${query.resource} tables in ${location} were written by a different query (another start time, parameters or deletions option); drop them, or point the query at another ${driver.dialect.name === 'postgres' ? 'schema' : 'file'} to start over.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(String(row.checkpoint));
  } catch {
    value = null;
  }
  const problem = checkpointShapeProblem(value);
  if (problem) throw new ExportError('checkpointCorrupt', `The checkpoint of ${query.resource} in ${location} is damaged (${problem}); drop the ${query.resource} tables to start over.`);
  return { checkpoint: value as Checkpoint, mergedPosition: Number(row.merged_position ?? 0) };
}

class SqlWriter implements TargetWriter {
  readonly paths: string[];
  private columns: ColumnSpec[] = [];
  private fields: FieldColumn[] = [];
  private definitions: FieldDefinition[] | null = null;
  private readonly sideloads = new Map<string, ColumnSpec[]>();
  private mergedPosition = 0;
  private storedPosition = 0;
  private lastCheckpoint: Checkpoint | null = null;
  private closed = false;
  /** Set when a commit failed: memory may be ahead of the rolled-back database, so close() only closes. */
  private broken = false;

  constructor(
    private readonly db: SqlDriver,
    private readonly opts: SqlTargetOptions,
    private readonly layout: ResourceLayout,
    private readonly names: ReturnType<typeof tableNames>,
  ) {
    this.paths = [opts.location];
  }

  private t(name: string): string {
    return this.db.dialect.table(name);
  }

  private get separate(): boolean {
    return this.opts.query.output.tables?.deletions !== 'flag';
  }

  async prepare(previous: Checkpoint | null): Promise<void> {
    const { db, names } = this;
    await this.opts.prepare?.(db);
    await ensureCheckpointTable(db);
    const row = await readRow(db, this.opts.query, this.opts.location);
    if ((row?.checkpoint.records ?? 0) !== (previous?.records ?? 0)) {
      throw new ExportError('checkpointMismatch', `The checkpoint of ${this.opts.query.resource} in ${this.opts.location} changed while this run started; another export wrote it. Run again.`);
    }
    this.mergedPosition = row?.mergedPosition ?? 0;
    this.storedPosition = previous?.records ?? 0;
    this.lastCheckpoint = previous;

    const existing = await db.columns(names.changes);
    if (existing && !previous) {
      const [{ n }] = await db.query(`SELECT count(*) AS n FROM ${this.t(names.changes)}`);
      if (Number(n) > 0) {
        throw new ExportError('checkpointMismatch', `The table ${names.changes} in ${this.opts.location} already holds ${Number(n)} versions but no checkpoint of this query; drop the ${this.opts.query.resource} tables, or point the query at another ${db.dialect.name === 'postgres' ? 'schema' : 'file'}.`);
      }
    }
    this.fields = await this.readFields();
    const definitions = this.layout.customFields && this.opts.fields ? await this.fetchDefinitions(this.layout.customFields.kind) : null;
    this.definitions = definitions;
    const taken = new Set([...(existing ?? initialColumns(this.layout, [])).map((c) => c.name), ...this.fields.map((f) => f.column)]);
    const plan = this.layout.customFields ? planFieldColumns(this.layout.customFields.kind, this.fields, definitions, [], taken) : null;

    await db.exec('BEGIN');
    try {
      if (!existing) {
        this.fields = plan?.columns ?? [];
        this.columns = initialColumns(this.layout, this.fields);
        await this.createVersionTables();
        await this.writeFieldRows(this.fields);
      } else {
        this.columns = existing;
        if (plan) {
          this.fields = plan.columns;
          await this.addColumns(plan.added.map((f) => ({ name: f.column, type: f.type })));
          await this.writeFieldRows([...plan.added, ...plan.changed]);
        }
        await this.alignTables();
      }
      await db.exec('COMMIT');
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
    for (const key of this.opts.query.params.include ?? []) {
      const cols = await db.columns(sideloadTable(this.opts.query.resource, key));
      if (cols) this.sideloads.set(key, cols);
    }
    // What a killed run appended but never merged is merged before anything new.
    if (this.mergedPosition < this.storedPosition) await this.inTransaction(() => this.merge(this.storedPosition, previous));
  }

  private async fetchDefinitions(kind: FieldKind) {
    try {
      return await this.opts.fields!.definitions(kind, this.opts.signal);
    } catch (err) {
      if (err instanceof ExportError) throw err;
      throw new ExportError('server', `Reading the ${kind} field definitions failed (${(err as Error).message}).`);
    }
  }

  private async readFields(): Promise<FieldColumn[]> {
    const { db, names } = this;
    if (!(await db.columns(names.fields))) return [];
    const rows = await db.query(`SELECT field_ref, field_id, field_key, column_name, title, column_type, present FROM ${this.t(names.fields)} ORDER BY column_name`);
    return rows.map((r) => ({
      ref: String(r.field_ref), fieldId: r.field_id === null ? null : Number(r.field_id), key: r.field_key === null ? null : textOf(r.field_key),
      column: String(r.column_name), title: r.title === null ? null : textOf(r.title), type: String(r.column_type) as FieldColumn['type'], present: r.present === true,
    }));
  }

  private async writeFieldRows(rows: FieldColumn[]): Promise<void> {
    if (!this.layout.customFields) return;
    const { db, names } = this;
    const d = db.dialect;
    await db.exec(`CREATE TABLE IF NOT EXISTS ${this.t(names.fields)} (field_ref ${d.type('text')}, field_id ${d.type('bigint')}, field_key ${d.type('text')}, column_name ${d.type('text')}, title ${d.type('text')}, column_type ${d.type('text')}, present ${d.type('boolean')}, updated_at ${d.type('timestamp')})`);
    const now = new Date();
    for (const f of rows) {
      await db.exec(`DELETE FROM ${this.t(names.fields)} WHERE field_ref = $1`, [f.ref]);
      await db.exec(`INSERT INTO ${this.t(names.fields)} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [f.ref, f.fieldId, f.key, f.column, f.title, f.type, f.present, now]);
    }
  }

  private columnList(): string {
    return this.columns.map((c) => quote(c.name)).join(', ');
  }

  private async createVersionTables(): Promise<void> {
    const { db, names } = this;
    const body = this.columns.map((c) => `${quote(c.name)} ${db.dialect.type(c.type)}`).join(', ');
    const pg = db.dialect.name === 'postgres';
    // PostgreSQL finds rows by index; DuckDB scans columns (and can't alter indexed tables).
    await db.exec(`CREATE TABLE IF NOT EXISTS ${this.t(names.changes)} (${body}${pg ? ', PRIMARY KEY (_position)' : ''})`);
    await db.exec(`CREATE TABLE IF NOT EXISTS ${this.t(names.current)} (${body}${pg ? ', PRIMARY KEY (id)' : ''})`);
    if (this.separate) await db.exec(`CREATE TABLE IF NOT EXISTS ${this.t(names.deleted)} (${body}${pg ? ', PRIMARY KEY (id)' : ''})`);
  }

  private versionTables(): string[] {
    const { names } = this;
    return this.separate ? [names.changes, names.current, names.deleted] : [names.changes, names.current];
  }

  /** Widens every versions table by the same columns, so the merge can copy rows as they are. */
  private async addColumns(cols: ColumnSpec[]): Promise<void> {
    for (const col of cols) {
      for (const table of this.versionTables()) {
        await this.db.exec(`ALTER TABLE ${this.t(table)} ADD COLUMN IF NOT EXISTS ${quote(col.name)} ${this.db.dialect.type(col.type)}`);
      }
      this.columns.push(col);
    }
  }

  /** A killed run may have widened one table and not another in an older version of this tool: make them agree. */
  private async alignTables(): Promise<void> {
    for (const table of this.versionTables().slice(1)) {
      const have = await this.db.columns(table);
      if (!have) {
        const body = this.columns.map((c) => `${quote(c.name)} ${this.db.dialect.type(c.type)}`).join(', ');
        await this.db.exec(`CREATE TABLE ${this.t(table)} (${body}${this.db.dialect.name === 'postgres' ? ', PRIMARY KEY (id)' : ''})`);
        continue;
      }
      const names = new Set(have.map((c) => c.name));
      for (const c of this.columns) {
        if (!names.has(c.name)) await this.db.exec(`ALTER TABLE ${this.t(table)} ADD COLUMN ${quote(c.name)} ${this.db.dialect.type(c.type)}`);
      }
    }
  }

  private async inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await this.db.exec('BEGIN');
    try {
      const out = await work();
      await this.db.exec('COMMIT');
      return out;
    } catch (err) {
      await this.db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async commit(page: CommitPage, checkpointOf: (stored: StoredState) => Checkpoint): Promise<Checkpoint> {
    const checkpoint = checkpointOf({ files: {} });
    const records = page.records;
    const firstPosition = checkpoint.records - records.length + 1;
    const meta = { firstPosition, page: checkpoint.pages, exportedAt: new Date() };
    try {
      await this.inTransaction(async () => {
        if (records.length) {
          await this.widen(records);
          await this.db.append(this.names.changes, this.columns, pageColumns(records, this.layout, this.columns, this.fields, meta));
        }
        for (const [key, list] of Object.entries(page.sideloads)) await this.upsertSideload(key, list, meta);
        const pending = checkpoint.records - this.mergedPosition;
        if (pending >= this.opts.mergeEvery || (page.endOfStream && pending > 0)) await this.merge(checkpoint.records, checkpoint);
        else await this.storeCheckpoint(checkpoint, this.mergedPosition);
      });
    } catch (err) {
      this.broken = true;
      throw asWriteError(err, this.opts.location);
    }
    this.storedPosition = checkpoint.records;
    this.lastCheckpoint = checkpoint;
    return checkpoint;
  }

  private async widen(records: Record<string, unknown>[]): Promise<void> {
    const fresh: ColumnSpec[] = newTopLevelColumns(records, this.columns);
    if (this.layout.customFields) {
      const refs = seenFieldRefs(records, this.layout);
      const known = new Set(this.fields.map((f) => f.ref));
      if ([...refs.keys()].some((r) => !known.has(r))) {
        const taken = new Set([...this.columns.map((c) => c.name), ...fresh.map((c) => c.name)]);
        // Fields the account's list (fetched once this run) doesn't name are named after their id or key, marked not present.
        const plan = planFieldColumns(this.layout.customFields.kind, this.fields, this.definitions, refs, taken);
        this.fields = plan.columns;
        fresh.push(...plan.added.map((f) => ({ name: f.column, type: f.type })));
        await this.writeFieldRows(plan.added);
      }
    }
    if (fresh.length) await this.addColumns(fresh);
  }

  private async storeCheckpoint(checkpoint: Checkpoint, merged: number): Promise<void> {
    const table = this.t(CHECKPOINT_TABLE);
    // DELETE + INSERT: measured cheaper than an UPDATE in DuckDB.
    await this.db.exec(`DELETE FROM ${table} WHERE resource = $1`, [this.opts.query.resource]);
    await this.db.exec(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5)`, [this.opts.query.resource, this.opts.query.digest, JSON.stringify(checkpoint), merged, new Date()]);
  }

  /** Applies the versions after mergedPosition up to `through` to the current-state tables. */
  private async merge(through: number, checkpoint: Checkpoint | null): Promise<void> {
    const { names } = this;
    const from = this.mergedPosition;
    const cols = this.columnList();
    const changes = this.t(names.changes);
    const current = this.t(names.current);
    const deleted = this.t(names.deleted);
    const range = `_position > ${from} AND _position <= ${through}`;
    // Stored rows that a newer (or the same) version replaces go first.
    const newest = `(SELECT id, max(_version) AS v FROM ${changes} WHERE ${range} GROUP BY id) l`;
    await this.db.exec(`DELETE FROM ${current} USING ${newest} WHERE ${current}.id = l.id AND ${current}._version <= l.v`);
    if (this.separate) await this.db.exec(`DELETE FROM ${deleted} USING ${newest} WHERE ${deleted}.id = l.id AND ${deleted}._version <= l.v`);
    // The newest version of each id in the range, unless a stored row is newer still.
    const winners = `SELECT _position FROM (SELECT id, _position, _deleted, row_number() OVER (PARTITION BY id ORDER BY _version DESC, _position DESC) AS rn FROM ${changes} WHERE ${range}) w
      WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM ${current} x WHERE x.id = w.id)${this.separate ? ` AND NOT EXISTS (SELECT 1 FROM ${deleted} y WHERE y.id = w.id)` : ''}`;
    if (this.separate) {
      await this.db.exec(`INSERT INTO ${current} (${cols}) SELECT ${cols} FROM ${changes} WHERE ${range} AND NOT _deleted AND _position IN (${winners})`);
      await this.db.exec(`INSERT INTO ${deleted} (${cols}) SELECT ${cols} FROM ${changes} WHERE ${range} AND _deleted AND _position IN (${winners})`);
    } else {
      await this.db.exec(`INSERT INTO ${current} (${cols}) SELECT ${cols} FROM ${changes} WHERE ${range} AND _position IN (${winners})`);
    }
    this.mergedPosition = through;
    if (checkpoint) await this.storeCheckpoint(checkpoint, through);
  }

  private async upsertSideload(key: string, list: unknown[], meta: { page: number; exportedAt: Date; firstPosition: number }): Promise<void> {
    const records = list.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r));
    if (!records.length) return;
    const table = sideloadTable(this.opts.query.resource, key);
    let cols = this.sideloads.get(key);
    if (!cols) {
      cols = [...SIDELOAD_SYSTEM, RECORD_COLUMN];
      const pg = this.db.dialect.name === 'postgres';
      await this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.t(table)} (${cols.map((c) => `${quote(c.name)} ${this.db.dialect.type(c.type)}`).join(', ')}${pg ? ', UNIQUE (id)' : ''})`);
      this.sideloads.set(key, cols);
    }
    for (const col of newTopLevelColumns(records, cols)) {
      await this.db.exec(`ALTER TABLE ${this.t(table)} ADD COLUMN IF NOT EXISTS ${quote(col.name)} ${this.db.dialect.type(col.type)}`);
      cols.push(col);
    }
    // The last copy of an id in the page is the one kept.
    const last = new Map<string, Record<string, unknown>>();
    records.forEach((r, i) => last.set(r.id === undefined || r.id === null ? `#${i}` : textOf(r.id), r));
    const rows = [...last.values()];
    const ids = rows.map((r) => (r.id === undefined || r.id === null ? null : textOf(r.id))).filter((id): id is string => id !== null);
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.db.exec(`DELETE FROM ${this.t(table)} WHERE id IN (${chunk.map((_, k) => `$${k + 1}`).join(', ')})`, chunk);
    }
    await this.db.append(table, cols, sideloadColumns(rows, cols, meta));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.broken && this.mergedPosition < this.storedPosition) await this.inTransaction(() => this.merge(this.storedPosition, this.lastCheckpoint));
    } finally {
      await this.db.close();
    }
  }
}

function asWriteError(err: unknown, location: string): ExportError {
  if (err instanceof ExportError) return err;
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ExportError('io', `Writing the page to ${location} failed (${why.replace(/[.\s]+$/, '')}); the checkpoint keeps the last complete page, so fix the cause and resume.`);
}

/** Start over: drops the resource's tables (versions, current, deleted, fields, sideloads) and its checkpoint row, in one transaction. */
export async function dropResourceTables(driver: SqlDriver, query: ResolvedQuery): Promise<void> {
  if (!(await driver.columns(CHECKPOINT_TABLE))) return;
  const names = tableNames(query.resource);
  const sideloads = (query.params.include ?? []).map((key) => sideloadTable(query.resource, key));
  await driver.exec('BEGIN');
  try {
    for (const table of [names.changes, names.current, names.deleted, names.fields, ...sideloads]) {
      await driver.exec(`DROP TABLE IF EXISTS ${driver.dialect.table(table)}`);
    }
    await driver.exec(`DELETE FROM ${driver.dialect.table(CHECKPOINT_TABLE)} WHERE resource = $1`, [query.resource]);
    await driver.exec('COMMIT');
  } catch (err) {
    await driver.exec('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
