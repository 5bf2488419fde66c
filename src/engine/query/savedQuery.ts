// Saved query files (*.zdquery.json): validation with JSON paths (for diagnostics), reading with
// line/column on syntax errors, and resolution into what the exporter runs plus a digest that
// tells a checkpoint whether it belongs to this query.
import { slug } from './slug';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { ENDPOINTS, RESOURCES, endpointById, hasSample, ignoresStartTime, paginationChoices, resolveEndpoint, type EndpointForm, type PaginationChoice, type ResourceName } from '../zendesk';
import { ExportError } from '../errors';
import type { OutputFormat, QueryParams, ResolvedQuery, SavedQuery } from './model';
import { formatUnix, parseStartTime, toUnixSeconds } from './startTime';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv', 'json'];
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
const OUTPUT_KEYS = ['path', 'format'];

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
    add(['resource'], `"${String(raw.resource)}" is not a resource Zendesk exports incrementally${near ? ` (did you mean "${near}"?)` : ''}; use one of ${RESOURCES.join(', ')}.`);
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
    else {
      unknownKeys(output, OUTPUT_KEYS, ['output'], add);
      if (output.path !== undefined && (typeof output.path !== 'string' || output.path.trim() === '')) {
        add(['output', 'path'], '"path" must be a non-empty file path (relative paths start at the query file\'s folder).');
      }
      if (output.format !== undefined && !OUTPUT_FORMATS.includes(output.format as OutputFormat)) {
        add(['output', 'format'], `"format" must be one of ${OUTPUT_FORMATS.join(', ')}.`);
      }
    }
  }

  return problems.length ? { problems } : { query: raw as unknown as SavedQuery, problems };
}

/** Read and validate a saved query file; every failure is one ExportError('invalidQuery') sentence naming the file. */
export async function readSavedQuery(file: string): Promise<SavedQuery> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? "doesn't exist" : code === 'EISDIR' ? 'is a folder' : `can't be read (${code ?? String(err)})`;
    throw new ExportError('io', `The query file ${file} ${why}.`);
  }
  const raw = parseQueryText(text, file);
  const { query, problems } = validateSavedQuery(raw);
  if (!query) throw invalidQueryError(file, problems);
  return query;
}

/** Parse the text of a query file strictly as JSON, reporting the first syntax error with line and column. */
export function parseQueryText(text: string, file: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new ExportError('invalidQuery', `The query file ${file} is empty; it should hold a JSON object with "name" and "resource".`);
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length) {
    const first = errors[0];
    const { line, column } = lineColumn(body, first.offset);
    throw new ExportError(
      'invalidQuery',
      `The query file ${file} is not valid JSON: line ${line}, column ${column}: ${syntaxWords(printParseErrorCode(first.error))}.`,
    );
  }
  return value;
}

/** ExportError for a query with problems: the first in the sentence, all of them in details. */
export function invalidQueryError(file: string | undefined, problems: QueryProblem[]): ExportError {
  const where = (p: QueryProblem): string => (p.path ? `${p.path}: ${p.message}` : p.message);
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  const subject = file ? `The query file ${file}` : 'The query';
  return new ExportError('invalidQuery', `${subject} is invalid: ${where(problems[0]).replace(/\.$/, '')}${more}.`, problems.map(where).join('\n'));
}

/**
 * Resolve a saved query for the exporter: endpoint form, start time in Unix seconds (clamped to
 * now − 61; 0 for routing), per_page filled in, output path made absolute, digest computed.
 */
export function resolveQuery(q: SavedQuery, opts: { baseDir: string; nowSeconds?: number }): ResolvedQuery {
  const { problems } = validateSavedQuery(q);
  if (problems.length) throw invalidQueryError(undefined, problems);
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
  const outPath = q.output?.path
    ? path.resolve(baseDir, q.output.path)
    : path.join(baseDir, slug(q.name), `${q.resource}.${format}`);

  return {
    name: q.name,
    resource: q.resource,
    endpointId: endpoint.id,
    startTime,
    params,
    output: { path: outPath, format },
    digest: queryDigest(endpoint, routing ? null : q.startTime, params, format, path.relative(baseDir, outPath)),
  };
}

/**
 * One line for lists, titles and tooltips, e.g. `Weekly tickets: tickets (cursor) since -7d with users → weekly-tickets/tickets.jsonl`.
 * Tolerates a query that failed validation, since UIs list those too.
 */
export function describeQuery(q: SavedQuery | ResolvedQuery): string {
  const resolved = 'endpointId' in q;
  const endpoint = resolved ? endpointById(q.endpointId) : safeEndpoint(q);
  const model = endpoint ? modelLabel(endpoint) : resolved ? '' : q.pagination ?? '';
  const resource = String(q.resource ?? '(no resource)');
  const name = String(q.name ?? 'Untitled');
  const parts = [`${name}: ${resource}${model ? ` (${model})` : ''}`];
  if (!ignoresStartTime(resource as ResourceName)) {
    const from = resolved ? (q.startTime === 0 ? undefined : formatUnix(q.startTime)) : q.startTime === undefined || q.startTime === 0 ? undefined : String(q.startTime);
    parts.push(from === undefined ? 'from the beginning' : `since ${from}`);
  }
  const include = q.params?.include;
  if (Array.isArray(include) && include.length) parts.push(`with ${include.join(', ')}`);
  if (q.params?.excludeDeleted) parts.push('without deleted');
  if (q.params?.supportTypeScope && q.params.supportTypeScope !== DEFAULT_SUPPORT_TYPE_SCOPE) parts.push(`scope ${q.params.supportTypeScope}`);
  const format = q.output?.format ?? 'jsonl';
  const target = q.output?.path ?? `${slug(name)}/${resource}.${format}`;
  return `${parts.join(' ')} → ${target}${target.endsWith(`.${format}`) ? '' : ` (${format})`}`;
}

/**
 * sha256 over what decides the stream's content and how it is written. The start time is taken as
 * written, so a relative `-7d` query keeps resuming next week; defaults are filled in so spelling out
 * a default doesn't orphan a checkpoint.
 */
function queryDigest(endpoint: EndpointForm, startTime: string | number | undefined | null, params: QueryParams, format: OutputFormat, relOutput: string): string {
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
    output: relOutput.split(path.sep).join('/'),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

function normalizeWrittenStartTime(v: string | number | undefined): string | number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : t.replace(/\s+/g, '').toLowerCase();
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

function describeEndpoint(e: EndpointForm): string {
  if (e.model === 'sample') return `the ${e.resource} sample export`;
  return `the ${modelLabel(e)}-based ${e.resource} export`;
}

function modelLabel(e: EndpointForm): string {
  return e.model === 'time' || e.model === 'sample' ? e.model : 'cursor';
}

function safeEndpoint(q: SavedQuery): EndpointForm | undefined {
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

function formatPath(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function syntaxWords(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character', InvalidNumberFormat: 'malformed number',
    PropertyNameExpected: 'expected a property name in double quotes', ValueExpected: 'expected a value',
    ColonExpected: 'expected a colon after the property name', CommaExpected: 'expected a comma between entries',
    CloseBraceExpected: 'expected a closing brace }', CloseBracketExpected: 'expected a closing bracket ]',
    EndOfFileExpected: 'unexpected text after the end of the JSON', InvalidCommentToken: 'comments are not allowed in JSON',
    UnexpectedEndOfComment: 'unterminated comment', UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number', InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character', InvalidCharacter: 'invalid character in a string',
  };
  return words[code] ?? code;
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
