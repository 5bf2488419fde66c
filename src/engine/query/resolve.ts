// Resolution of a valid saved query into what the exporter runs: the endpoint form, the start time
// in Unix seconds, defaults filled in, the output path made absolute, and the digest that tells a
// checkpoint whether it belongs to this query.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { ExportError } from '../errors';
import { resolveEndpoint, type EndpointForm } from '../zendesk';
import type { QueryFormat, QueryParams, ResolvedQuery, ResolvedTables, SavedQuery } from './model';
import { slug } from './slug';
import { parseStartTime } from './startTime';
import { DEFAULT_SCHEMA, DEFAULT_SUPPORT_TYPE_SCOPE, isTableFormat } from './validate';

export interface ResolveOptions {
  /** The folder relative output paths (and the default output folder) start from: the query file's folder, or the CLI's current directory. */
  baseDir: string;
  nowSeconds?: number;
  /**
   * The folder outputs must stay in (the engine server passes the query's workspace folder): an output
   * that resolves outside it is refused. The CLI writes where --out says and passes none.
   */
  outputRoot?: string;
}

/**
 * Resolve a saved query for the exporter: endpoint form, start time in Unix seconds (clamped to
 * now − 61; 0 for routing), per_page filled in, output path made absolute, digest computed.
 */
export function resolveValidQuery(q: SavedQuery, opts: ResolveOptions): ResolvedQuery {
  const endpoint = resolveEndpoint(q.resource, q.pagination, q.params?.sample === true);
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const routing = endpoint.model === 'routing';
  const startTime = routing ? 0 : parseStartTime(q.startTime ?? 0, now);

  const given = q.params ?? {};
  const params: QueryParams = {};
  if (endpoint.defaultPerPage !== null) params.perPage = given.perPage ?? endpoint.defaultPerPage;
  if (given.include?.length) params.include = [...new Set(given.include)].sort();
  if (given.excludeDeleted !== undefined) params.excludeDeleted = given.excludeDeleted;
  if (given.supportTypeScope !== undefined) params.supportTypeScope = given.supportTypeScope;
  if (given.includeChanges !== undefined) params.includeChanges = given.includeChanges;
  if (given.sample) params.sample = true;

  const format = q.output?.format ?? 'jsonl';
  const baseDir = path.resolve(opts.baseDir);
  const tables = resolveTables(q);
  const outPath = tables?.database
    ? postgresLabel(tables.database)
    : q.output?.path
      ? path.resolve(baseDir, q.output.path)
      : defaultOutputPath(baseDir, q, format);
  const outputRoot = opts.outputRoot === undefined ? undefined : path.resolve(opts.outputRoot);
  // A database is not a place in the workspace; files and folders are.
  if (outputRoot !== undefined && !tables?.database && !isInside(outPath, outputRoot)) {
    throw new ExportError('invalidQuery', `The output ${q.output?.path ?? outPath} resolves to ${outPath}, outside the workspace folder ${outputRoot}; outputs and their checkpoints stay in the workspace.`);
  }

  // An output written as an absolute path is that file wherever the command runs; a relative one
  // (or the default) moves with the query's folder.
  const digestOutput = tables?.database ? outPath : q.output?.path && path.isAbsolute(q.output.path) ? outPath : path.relative(baseDir, outPath);
  return {
    name: q.name,
    resource: q.resource,
    endpointId: endpoint.id,
    startTime,
    params,
    output: tables ? { path: outPath, format, tables } : { path: outPath, format },
    ...(q.connection !== undefined ? { connection: q.connection } : {}),
    ...(outputRoot !== undefined ? { outputRoot } : {}),
    digest: queryDigest(endpoint, routing ? null : q.startTime, params, format, digestOutput, tables),
  };
}

/** The default output: `<slug>/<resource>.<ext>` for files, `<slug>.duckdb` beside the query, the folder `<slug>` for Parquet. */
function defaultOutputPath(baseDir: string, q: SavedQuery, format: QueryFormat): string {
  if (format === 'duckdb') return path.join(baseDir, `${slug(q.name)}.duckdb`);
  if (format === 'parquet') return path.join(baseDir, slug(q.name));
  return path.join(baseDir, slug(q.name), `${q.resource}.${format}`);
}

function resolveTables(q: SavedQuery): ResolvedTables | undefined {
  const o = q.output;
  if (!o || !isTableFormat(o.format)) return undefined;
  return {
    format: o.format,
    deletions: o.deletions ?? 'separate',
    snapshot: o.format === 'parquet' && o.snapshot === true,
    ...(o.format === 'postgres' ? { database: { connection: o.connection!.trim(), schema: o.schema ?? DEFAULT_SCHEMA } } : {}),
  };
}

/** What a PostgreSQL output is called where others show a path. */
export function postgresLabel(db: { connection: string; schema: string }): string {
  return `postgres:${db.connection}/${db.schema}`;
}

/**
 * sha256 over what decides the stream's content and how it is written. The start time is taken as
 * written, so a relative `-7d` query keeps resuming next week; defaults are filled in so spelling out
 * a default doesn't orphan a checkpoint.
 */
function queryDigest(endpoint: EndpointForm, startTime: string | number | undefined | null, params: QueryParams, format: QueryFormat, output: string, tables: ResolvedTables | undefined): string {
  const written = startTime === null ? null : normalizeWrittenStartTime(startTime);
  const normalized = {
    perPage: params.perPage ?? null,
    include: params.include ?? [],
    excludeDeleted: endpoint.excludeDeleted ? params.excludeDeleted ?? false : null,
    supportTypeScope: endpoint.supportTypeScope ? params.supportTypeScope ?? DEFAULT_SUPPORT_TYPE_SCOPE : null,
    includeChanges: endpoint.includeChanges ? params.includeChanges ?? false : null,
  };
  const material = {
    endpointId: endpoint.id,
    startTime: written,
    params: normalized,
    format,
    output: output.split(path.sep).join('/'),
    // Only table outputs have these, so file queries keep the digests their checkpoints hold.
    ...(tables ? { deletions: tables.deletions } : {}),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

function normalizeWrittenStartTime(v: string | number | undefined): string | number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : t.replace(/\s+/g, '').toLowerCase();
}

/** Whether `file` is `folder` or lies below it (lexically). */
export function isInside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
