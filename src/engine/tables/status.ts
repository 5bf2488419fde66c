// Where a query's tables are (the source the editor reads) and what their checkpoint says (the
// Resume CodeLens, the Runs view): read without the writer's lock, so it works while an export
// writes; a DuckDB file another process is writing can't be opened at all, which comes back as
// `busy` in one sentence rather than as a failure.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { checkpointShapeProblem, readCheckpoint, type Checkpoint } from '../export';
import { ExportError } from '../errors';
import type { ResolvedQuery } from '../query';
import type { PostgresResolver, TableCheckpointInfo, TableSource } from './model';
import { openReader } from './readers';
import { CHECKPOINT_TABLE, sideloadTable, tableNames } from './resources';
import { resolvePostgres } from './targets';

/** The source to read a table output from; null for file outputs. A named PostgreSQL connection goes through `postgres`. */
export async function tableSourceFor(query: ResolvedQuery, opts: { postgres?: PostgresResolver } = {}): Promise<TableSource | null> {
  const tables = query.output.tables;
  if (!tables) return null;
  switch (tables.format) {
    case 'duckdb':
      return { kind: 'duckdb', path: query.output.path };
    case 'parquet':
      return { kind: 'parquet', path: query.output.path };
    case 'postgres':
      return { kind: 'postgres', connection: await resolvePostgres(tables.database!.connection, opts.postgres), schema: tables.database!.schema };
  }
}

/** The tables (Parquet: the paths) a query writes. */
function outputsOf(query: ResolvedQuery): string[] {
  const names = tableNames(query.resource);
  const sideloads = (query.params.include ?? []).map((k) => sideloadTable(query.resource, k));
  if (query.output.tables?.format === 'parquet') {
    const folder = query.output.path;
    return [path.join(folder, names.changes), ...sideloads.map((s) => path.join(folder, `${s}_changes`)), ...(query.output.tables.snapshot ? [path.join(folder, `${names.current}.parquet`)] : [])];
  }
  const separate = query.output.tables?.deletions !== 'flag';
  return [names.current, names.changes, ...(separate ? [names.deleted] : []), ...(query.resource === 'tickets' || query.resource === 'users' || query.resource === 'organizations' ? [names.fields] : []), ...sideloads];
}

/** What the checkpoint of a table output holds. Throws ExportError for a database that refuses (login, network); `busy` when a DuckDB file is held by another process. */
export async function tableCheckpointInfo(query: ResolvedQuery, opts: { postgres?: PostgresResolver } = {}): Promise<TableCheckpointInfo> {
  const source = await tableSourceFor(query, opts);
  if (!source) throw new ExportError('invalidQuery', `The query ${query.name} writes files, not tables; read its checkpoint file.`);
  const info: TableCheckpointInfo = {
    checkpointLocation: '', outputExists: false, exists: false, matchesQuery: false, records: 0, pages: 0,
    lastRecordTime: null, caughtUp: false, updatedAt: null, files: outputsOf(query),
  };
  let cp: Checkpoint | null = null;
  if (source.kind === 'parquet') {
    const file = path.join(source.path, `${query.resource}.checkpoint.json`);
    info.checkpointLocation = file;
    info.outputExists = existsSync(source.path);
    cp = await readCheckpoint(file);
  } else {
    info.checkpointLocation = source.kind === 'duckdb' ? `${source.path} (table ${CHECKPOINT_TABLE})` : `${query.output.path} (table ${CHECKPOINT_TABLE})`;
    if (source.kind === 'duckdb' && !existsSync(source.path)) return info;
    let reader;
    try {
      reader = await openReader(source);
    } catch (err) {
      if (err instanceof ExportError && err.code === 'locked') return { ...info, outputExists: true, busy: err.message };
      throw err;
    }
    try {
      cp = await reader.snapshot(async () => {
        const catalogue = await reader.catalogue();
        info.outputExists = source.kind === 'duckdb' || catalogue.size > 0;
        if (!catalogue.has(CHECKPOINT_TABLE)) return null;
        const rows = await reader.rows(`SELECT checkpoint FROM ${reader.table(CHECKPOINT_TABLE)} WHERE resource = $1`, [query.resource]);
        if (!rows.length) return null;
        let value: unknown = null;
        try {
          value = JSON.parse(String(rows[0][0]));
        } catch {
          // reported below
        }
        const problem = checkpointShapeProblem(value);
        if (problem) throw new ExportError('checkpointCorrupt', `The checkpoint of ${query.resource} in ${info.checkpointLocation} is damaged (${problem}); drop the ${query.resource} tables to start over.`);
        return value as Checkpoint;
      });
    } finally {
      await reader.close();
    }
  }
  if (!cp) return info;
  return {
    ...info, exists: true, matchesQuery: cp.queryDigest === query.digest, records: cp.records, pages: cp.pages,
    lastRecordTime: cp.lastRecordTime, caughtUp: cp.caughtUp, updatedAt: cp.updatedAt,
  };
}
