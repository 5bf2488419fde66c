// Validation of a saved query: every problem with its JSON path, so the editor can point at it and
// the CLI can say it in one sentence. Catalogue facts (which sideloads, which pagination, which
// flags a form takes) are checked here, not only in the JSON schema.
import { ENDPOINTS, RESOURCES, describeEndpoint, hasSample, paginationChoices, resolveEndpoint, type EndpointForm, type PaginationChoice, type ResourceName } from '../zendesk';
import { ExportError } from '../errors';
import type { DeletionsMode, OutputFormat, QueryFormat, QueryParams, SavedQuery, TableFormat } from './model';
import { parseStartTime, toUnixSeconds } from './startTime';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv', 'json'];
export const TABLE_FORMATS: readonly TableFormat[] = ['duckdb', 'postgres', 'parquet'];
export const QUERY_FORMATS: readonly QueryFormat[] = [...OUTPUT_FORMATS, ...TABLE_FORMATS];
export const DELETIONS_MODES: readonly DeletionsMode[] = ['separate', 'flag'];
/** PostgreSQL schema names this tool writes: unquoted identifiers, so SQL people type just works. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
export const DEFAULT_SCHEMA = 'zendesk';

export function isTableFormat(format: string | undefined): format is TableFormat {
  return TABLE_FORMATS.includes(format as TableFormat);
}

/** A postgres:// or postgresql:// URL (the other form of `output.connection` is a connection name). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/** Null when `value` names a database without a secret in it, otherwise why not. */
export function postgresUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'is not a valid postgresql:// URL';
  }
  if (url.password || /[?&]password=/i.test(url.search)) return 'holds a password; passwords never go into query files or arguments (use PGPASSWORD, ~/.pgpass or the keychain)';
  return null;
}
export const SUPPORT_TYPE_SCOPES: readonly NonNullable<QueryParams['supportTypeScope']>[] = ['all', 'agent', 'ai_agent'];
/** Zendesk's default for support_type_scope: AI-agent tickets are hidden unless asked for. */
export const DEFAULT_SUPPORT_TYPE_SCOPE = 'agent';

export interface QueryProblem {
  /** Dotted JSON path such as `params.include[2]`; '' for the document itself. */
  path: string;
  /** The same path as segments, ready for jsonc-parser's findNodeAtLocation. */
  segments: (string | number)[];
  message: string;
}

const TOP_KEYS = ['$schema', 'name', 'connection', 'resource', 'pagination', 'startTime', 'params', 'output'];
const PARAM_KEYS = ['perPage', 'include', 'excludeDeleted', 'supportTypeScope', 'includeChanges', 'sample'];
const OUTPUT_KEYS = ['path', 'format', 'connection', 'schema', 'deletions', 'snapshot'];

/** Names people carry over from Zendesk's URLs or put at the wrong level. */
const KEY_HINTS: Record<string, string> = {
  start_time: 'startTime', per_page: 'params.perPage', perPage: 'params.perPage', include: 'params.include',
  exclude_deleted: 'params.excludeDeleted', excludeDeleted: 'params.excludeDeleted',
  support_type_scope: 'params.supportTypeScope', supportTypeScope: 'params.supportTypeScope',
  include_changes: 'params.includeChanges', includeChanges: 'params.includeChanges', sample: 'params.sample',
  format: 'output.format', path: 'output.path', file: 'output.path', endpoint: 'resource', cursor: 'pagination',
};

interface ValidateOptions {
  /** When given, a start time in the future is a problem too (it depends on the clock, so it is opt-in). */
  nowSeconds?: number;
}

/** Every problem in a saved query, each with its JSON path. `query` is set only when there are none. */
export function validateSavedQuery(raw: unknown, opts: ValidateOptions = {}): { query?: SavedQuery; problems: QueryProblem[] } {
  const problems: QueryProblem[] = [];
  const add = (segments: (string | number)[], message: string): void => {
    problems.push({ path: formatPath(segments), segments, message });
  };
  if (!isObject(raw)) {
    add([], 'A saved query must be a JSON object with at least "name" and "resource".');
    return { problems };
  }
  unknownKeys(raw, TOP_KEYS, [], add);

  if (raw.$schema !== undefined && typeof raw.$schema !== 'string') add(['$schema'], '"$schema" must be a string (the path or URL of the schema).');
  if (raw.name === undefined) add([], 'The query needs a "name".');
  else if (typeof raw.name !== 'string' || raw.name.trim() === '') add(['name'], '"name" must be a non-empty string.');
  if (raw.connection !== undefined && (typeof raw.connection !== 'string' || raw.connection.trim() === '')) {
    add(['connection'], '"connection" must be the name of a connection (a non-empty string).');
  }

  let resource: ResourceName | undefined;
  if (raw.resource === undefined) add([], `The query needs a "resource": one of ${RESOURCES.join(', ')}.`);
  else if (typeof raw.resource !== 'string' || !RESOURCES.includes(raw.resource as ResourceName)) {
    const near = typeof raw.resource === 'string' ? closest(raw.resource, RESOURCES) : undefined;
    add(['resource'], `${JSON.stringify(raw.resource)} is not a resource Zendesk exports incrementally${near ? ` (did you mean "${near}"?)` : ''}; use one of ${RESOURCES.join(', ')}.`);
  } else {
    resource = raw.resource as ResourceName;
  }

  let pagination: PaginationChoice | undefined;
  let paginationOk = true;
  if (raw.pagination !== undefined) {
    if (raw.pagination !== 'cursor' && raw.pagination !== 'time') {
      paginationOk = false;
      add(['pagination'], '"pagination" must be "cursor" or "time".');
    } else if (resource && !paginationChoices(resource).includes(raw.pagination)) {
      paginationOk = false;
      add(['pagination'], `${resource} offers only ${paginationChoices(resource)[0]}-based export; remove "pagination" or set it to "${paginationChoices(resource)[0]}".`);
    } else {
      pagination = raw.pagination;
    }
  }

  if (raw.startTime !== undefined) {
    const problem = startTimeProblem(raw.startTime, opts.nowSeconds);
    if (problem) add(['startTime'], problem);
  }

  const params = raw.params;
  if (params !== undefined && !isObject(params)) add(['params'], '"params" must be an object.');
  const p = isObject(params) ? params : {};
  if (isObject(params)) unknownKeys(params, PARAM_KEYS, ['params'], add);
  if (p.sample !== undefined && typeof p.sample !== 'boolean') add(['params', 'sample'], '"sample" must be true or false.');
  const sample = p.sample === true;

  let endpoint: EndpointForm | undefined;
  if (resource && sample && !hasSample(resource)) {
    add(['params', 'sample'], `${resource} has no sample endpoint; sample exists for ${sampleResources().join(', ')}.`);
  } else if (resource && paginationOk) {
    endpoint = resolveEndpoint(resource, pagination, sample);
  }
  const what = endpoint ? describeEndpoint(endpoint) : '';

  if (p.perPage !== undefined) {
    if (typeof p.perPage !== 'number' || !Number.isInteger(p.perPage) || p.perPage < 1) {
      add(['params', 'perPage'], '"perPage" must be a whole number of at least 1.');
    } else if (endpoint && endpoint.maxPerPage === null) {
      const why = endpoint.model === 'routing' ? ' (its pages hold up to 3000 records)' : '';
      add(['params', 'perPage'], `${what} ignores per_page${why}; remove "perPage".`);
    } else if (p.perPage > (endpoint?.maxPerPage ?? 1000)) {
      add(['params', 'perPage'], `"perPage" ${p.perPage} is too large; ${what || 'Zendesk'} allows at most ${endpoint?.maxPerPage ?? 1000}.`);
    }
  }

  if (p.include !== undefined) {
    if (!Array.isArray(p.include)) add(['params', 'include'], '"include" must be a list of sideload names, e.g. ["users", "groups"].');
    else if (endpoint && endpoint.includes.length === 0 && p.include.length > 0) {
      add(['params', 'include'], `${what} accepts no sideloads; remove "include".`);
    } else {
      const seen = new Set<string>();
      p.include.forEach((item, i) => {
        if (typeof item !== 'string') add(['params', 'include', i], 'Each "include" entry must be a string.');
        else if (seen.has(item)) add(['params', 'include', i], `"${item}" is listed twice.`);
        else if (item === 'last_audits') add(['params', 'include', i], 'Zendesk does not support "last_audits" on incremental exports.');
        else if (endpoint && !endpoint.includes.includes(item)) {
          add(['params', 'include', i], `"${item}" is not a sideload of ${what}; use ${endpoint.includes.join(', ')}.`);
        } else if (!endpoint && !allIncludes().includes(item)) {
          add(['params', 'include', i], `"${item}" is not a sideload Zendesk offers on incremental exports.`);
        }
        if (typeof item === 'string') seen.add(item);
      });
    }
  }

  const flag = (key: 'excludeDeleted' | 'includeChanges', supported: (e: EndpointForm) => boolean, owners: string): void => {
    if (p[key] === undefined) return;
    if (typeof p[key] !== 'boolean') add(['params', key], `"${key}" must be true or false.`);
    else if (endpoint && !supported(endpoint)) add(['params', key], `${what} doesn't support "${key}" (only ${owners} do); remove it.`);
  };
  flag('excludeDeleted', (e) => e.excludeDeleted, 'tickets and ticket_metric_events exports');
  flag('includeChanges', (e) => e.includeChanges, 'ticket_metric_events exports');
  if (p.supportTypeScope !== undefined) {
    if (!SUPPORT_TYPE_SCOPES.includes(p.supportTypeScope as never)) {
      add(['params', 'supportTypeScope'], `"supportTypeScope" must be one of ${SUPPORT_TYPE_SCOPES.join(', ')}.`);
    } else if (endpoint && !endpoint.supportTypeScope) {
      add(['params', 'supportTypeScope'], `${what} doesn't support "supportTypeScope" (only tickets and ticket_events exports do); remove it.`);
    }
  }

  const output = raw.output;
  if (output !== undefined) {
    if (!isObject(output)) add(['output'], '"output" must be an object with "path" and/or "format".');
    else outputProblems(output, add);
  }

  return problems.length ? { problems } : { query: raw as unknown as SavedQuery, problems };
}

function outputProblems(output: Record<string, unknown>, add: (segments: (string | number)[], message: string) => void): void {
  unknownKeys(output, OUTPUT_KEYS, ['output'], add);
  const format = output.format;
  if (format !== undefined && !QUERY_FORMATS.includes(format as QueryFormat)) {
    add(['output', 'format'], `"format" must be one of ${QUERY_FORMATS.join(', ')}.`);
  }
  const postgres = format === 'postgres';
  if (output.path !== undefined) {
    if (postgres) add(['output', 'path'], 'A PostgreSQL output goes to "connection" and "schema", not to a path; remove "path".');
    else if (typeof output.path !== 'string' || output.path.trim() === '') {
      add(['output', 'path'], `"path" must be a non-empty ${format === 'parquet' ? 'folder' : 'file'} path (relative paths start at the query file's folder).`);
    }
  }
  if (postgres && output.connection === undefined) {
    add(['output'], 'A PostgreSQL output needs "connection": the name of a database connection in settings, or a postgresql:// URL without a password.');
  }
  if (output.connection !== undefined) {
    if (!postgres) add(['output', 'connection'], '"connection" belongs to a PostgreSQL output ("format": "postgres"); remove it.');
    else if (typeof output.connection !== 'string' || output.connection.trim() === '') add(['output', 'connection'], '"connection" must be a database connection name or a postgresql:// URL.');
    else if (isPostgresUrl(output.connection)) {
      const problem = postgresUrlProblem(output.connection);
      if (problem) add(['output', 'connection'], `The connection URL ${problem}.`);
    }
  }
  if (output.schema !== undefined) {
    if (!postgres) add(['output', 'schema'], '"schema" belongs to a PostgreSQL output ("format": "postgres"); remove it.');
    else if (typeof output.schema !== 'string' || !SCHEMA_NAME_PATTERN.test(output.schema)) {
      add(['output', 'schema'], '"schema" must be a lower-case PostgreSQL name: letters, digits and underscores, not starting with a digit, at most 63 characters.');
    }
  }
  if (output.deletions !== undefined) {
    if (!isTableFormat(format as string | undefined)) add(['output', 'deletions'], '"deletions" applies to table outputs (duckdb, postgres, parquet); remove it.');
    else if (!DELETIONS_MODES.includes(output.deletions as DeletionsMode)) {
      add(['output', 'deletions'], '"deletions" must be "separate" (deleted records move to <resource>_deleted) or "flag" (they stay, with _deleted = true).');
    }
  }
  if (output.snapshot !== undefined) {
    if (format !== 'parquet') add(['output', 'snapshot'], '"snapshot" applies to Parquet outputs only; remove it.');
    else if (typeof output.snapshot !== 'boolean') add(['output', 'snapshot'], '"snapshot" must be true or false.');
  }
}

function startTimeProblem(value: unknown, nowSeconds: number | undefined): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') {
    return '"startTime" must be an ISO date/time, Unix seconds, or a relative time such as "-7d".';
  }
  try {
    if (nowSeconds === undefined) toUnixSeconds(value, Math.floor(Date.now() / 1000));
    else parseStartTime(value, nowSeconds);
    return null;
  } catch (err) {
    if (err instanceof ExportError) return err.message;
    throw err;
  }
}

function unknownKeys(obj: Record<string, unknown>, known: string[], at: (string | number)[], add: (s: (string | number)[], m: string) => void): void {
  const where = at.length ? `in "${formatPath(at)}"` : 'in a saved query';
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    // A hint names the full path, shortened when it lies in the object at hand.
    const inside = at.length ? `${formatPath(at)}.` : '';
    const target = Object.hasOwn(KEY_HINTS, key) ? KEY_HINTS[key] : undefined;
    const hint = target?.startsWith(inside) ? target.slice(inside.length) : target;
    const near = closest(key, known);
    const suggestion = hint ? ` (use "${hint}")` : near ? ` (did you mean "${near}"?)` : '';
    add([...at, key], `"${key}" is not a known property ${where}${suggestion}.`);
  }
}

export function safeEndpoint(q: SavedQuery): EndpointForm | undefined {
  try {
    return resolveEndpoint(q.resource, q.pagination, q.params?.sample === true);
  } catch {
    return undefined;
  }
}

function sampleResources(): ResourceName[] {
  return RESOURCES.filter(hasSample);
}

function allIncludes(): string[] {
  return [...new Set(ENDPOINTS.flatMap((e) => e.includes))];
}

export function formatPath(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/** Closest candidate within a small edit distance, for "did you mean". */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
