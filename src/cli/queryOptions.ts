// Turns `zdx export` flags into a SavedQuery, so ad-hoc exports and saved query files go through
// the same validation, defaults and digest (a flag-built export resumes like a saved one).
import { extname } from 'node:path';
import { RESOURCES, type ResourceName } from '../engine/zendesk';
import { type OutputFormat, type QueryParams, type SavedQuery, OUTPUT_FORMATS } from '../engine/query';
import { UsageError } from './exitCodes';

export interface ExportFlags extends QueryParams {
  startTime?: string;
  cursor?: boolean;
  time?: boolean;
  out?: string;
  format?: OutputFormat;
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

  // The format follows the output file's extension unless given.
  const fromExt = flags.out ? extname(flags.out).slice(1).toLowerCase() : '';
  const format: OutputFormat = flags.format ?? ((OUTPUT_FORMATS as readonly string[]).includes(fromExt) ? (fromExt as OutputFormat) : 'jsonl');
  // A sample gets its own default file, so it never collides with the full export's checkpoint.
  const out = flags.out ?? `${resource}${flags.sample ? '.sample' : ''}.${format}`;

  const params: QueryParams = {};
  if (flags.perPage !== undefined) params.perPage = flags.perPage;
  if (flags.include && flags.include.length) params.include = flags.include;
  if (flags.excludeDeleted) params.excludeDeleted = true;
  if (flags.supportTypeScope) params.supportTypeScope = flags.supportTypeScope;
  if (flags.includeChanges) params.includeChanges = true;
  if (flags.sample) params.sample = true;

  const q: SavedQuery = { name: resource, resource, params, output: { path: out, format } };
  if (flags.cursor) q.pagination = 'cursor';
  if (flags.time) q.pagination = 'time';
  if (flags.startTime !== undefined) {
    const t = flags.startTime.trim();
    q.startTime = /^\d+$/.test(t) ? Number(t) : t;
  }
  return q;
}
