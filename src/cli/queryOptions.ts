// Turns `zdx export` flags into a SavedQuery, so ad-hoc exports and saved query files go through
// the same validation, defaults and digest (a flag-built export resumes like a saved one).
import { extname } from 'node:path';
import { RESOURCES, type ResourceName } from '../engine/zendesk';
import { type DeletionsMode, type QueryFormat, type QueryParams, type SavedOutput, type SavedQuery, isPostgresUrl } from '../engine/query';
import { UsageError } from './exitCodes';

export interface ExportFlags extends QueryParams {
  startTime?: string;
  cursor?: boolean;
  time?: boolean;
  out?: string;
  format?: QueryFormat;
  into?: string;
  schema?: string;
  deletions?: DeletionsMode;
  snapshot?: boolean;
}

/** What `--format` accepts: every format with a path (PostgreSQL is reached with --into). */
export const PATH_FORMATS: readonly QueryFormat[] = ['jsonl', 'csv', 'json', 'duckdb', 'parquet'];

export const INTO_HELP = 'duckdb:FILE | postgres:URL-or-connection | parquet:FOLDER';

/** `--into duckdb:FILE`, `postgres:URL` (or a bare postgresql:// URL), `postgres:NAME`, `parquet:FOLDER`. */
export function parseInto(into: string): SavedOutput {
  const value = into.trim();
  if (isPostgresUrl(value)) return { format: 'postgres', connection: value };
  const m = /^(duckdb|postgres|parquet):(.+)$/i.exec(value);
  if (!m || m[2].trim() === '') throw new UsageError(`--into takes ${INTO_HELP}, e.g. duckdb:zendesk.duckdb.`);
  const format = m[1].toLowerCase() as 'duckdb' | 'postgres' | 'parquet';
  return format === 'postgres' ? { format, connection: m[2].trim() } : { format, path: m[2].trim() };
}

export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The query the flags describe; `--out` stays as written (relative to the current directory, or absolute). */
export function savedQueryFromFlags(resourceArg: string, flags: ExportFlags): SavedQuery {
  if (!(RESOURCES as readonly string[]).includes(resourceArg)) {
    throw new UsageError(`Unknown resource "${resourceArg}"; use one of ${RESOURCES.join(', ')}.`);
  }
  const resource = resourceArg as ResourceName;
  if (flags.cursor && flags.time) throw new UsageError('Pass either --cursor or --time, not both.');

  let output: SavedOutput;
  if (flags.into) {
    if (flags.out || flags.format) throw new UsageError('Pass either --into or --out/--format, not both.');
    output = parseInto(flags.into);
  } else {
    // The format follows the output file's extension unless given.
    const fromExt = flags.out ? extname(flags.out).slice(1).toLowerCase() : '';
    const format: QueryFormat = flags.format ?? ((PATH_FORMATS as readonly string[]).includes(fromExt) ? (fromExt as QueryFormat) : 'jsonl');
    if (format === 'postgres') throw new UsageError(`A PostgreSQL output is given with --into postgres:URL-or-connection.`);
    // A sample gets its own default file, so it never collides with the full export's checkpoint.
    const sample = flags.sample ? '.sample' : '';
    const out = flags.out ?? (format === 'parquet' ? `${resource}${sample}-parquet` : `${resource}${sample}.${format}`);
    output = { path: out, format };
  }
  if (flags.schema !== undefined) output.schema = flags.schema;
  if (flags.deletions !== undefined) output.deletions = flags.deletions;
  if (flags.snapshot) output.snapshot = true;

  const params: QueryParams = {};
  if (flags.perPage !== undefined) params.perPage = flags.perPage;
  if (flags.include && flags.include.length) params.include = flags.include;
  if (flags.excludeDeleted) params.excludeDeleted = true;
  if (flags.supportTypeScope) params.supportTypeScope = flags.supportTypeScope;
  if (flags.includeChanges) params.includeChanges = true;
  if (flags.sample) params.sample = true;

  const q: SavedQuery = { name: resource, resource, params, output };
  if (flags.cursor) q.pagination = 'cursor';
  if (flags.time) q.pagination = 'time';
  if (flags.startTime !== undefined) {
    const t = flags.startTime.trim();
    q.startTime = /^\d+$/.test(t) ? Number(t) : t;
  }
  return q;
}
