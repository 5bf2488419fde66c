// The pagination behaviours of the Incremental Export API as async generators of pages: time-based
// (start_time → end_time), three cursor forms over one cursor stream (cursor → after_cursor, routing's
// next_page cursor, metric events' page[after]), and sample. Each knows when its stream ends
// (end_of_stream, count == 0, !has_more) and refuses to loop on a position that does not advance.
import { ENDPOINTS, type ApiOutcome, type ApiQuery, type ApiRequest, type EndpointForm, type PerPageState, type ZendeskClient } from '../zendesk';
import type { BoundaryDedupe } from './dedupe';
import { ExportError } from '../errors';
import type { EmitProgress, Position } from './model';
import { MIN_START_AGE_SECONDS, type QueryParams } from '../query';

/** Zendesk's page size for time-based exports when no per_page is sent. */
const FULL_TIME_PAGE = 1000;

export interface Page {
  /** Records after boundary dedupe, in stream order. */
  records: Record<string, unknown>[];
  /** Sideloaded arrays (`include=`), keyed by their top-level name. */
  sideloads: Record<string, unknown[]>;
  /** Where the next request (in this run or the next one) starts. */
  nextPosition: Position;
  endOfStream: boolean;
  /** Newest record timestamp seen so far (Unix seconds). */
  lastRecordTime: number | null;
  /**
   * The dedupe keys of that second as of this page, for its checkpoint: taken here because the
   * exporter may already be fetching (and deduping) the next page while this one is written.
   */
  boundaryKeys: string[];
  duplicatesDropped: number;
  /** Endpoint form in force after this page (differs from the query's after a stuck-timestamp switch). */
  endpointId: string;
  /** False for the synthetic end page produced without a request (position too recent to ask). */
  requested: boolean;
}

export interface StreamSetup {
  client: ZendeskClient;
  endpoint: EndpointForm;
  params: QueryParams;
  /** The query's resolved start time (used when there is no position yet). */
  startTime: number;
  position: Position | null;
  perPage: PerPageState;
  dedupe: BoundaryDedupe;
  emit: EmitProgress;
  now?: () => number;
}

type DriverEnd =
  | { kind: 'done' }
  /** A time-based stream stuck on one second: continue on the cursor form from that second. */
  | { kind: 'switch'; to: EndpointForm; startTime: number; reason: string }
  /** The server rejected our cursor: restart with start_time on the same form. */
  | { kind: 'restart'; startTime: number; reason: string };

interface Ctx extends StreamSetup {
  /** Zendesk's clock once it has answered (its Date header), else this machine's (or the injected one). */
  nowSeconds: () => number;
  /** Whether nowSeconds is a clock to judge by: Zendesk's, or one a caller injected. */
  clockKnown: () => boolean;
}

/** Pages of one export stream, switching forms and restarting cursors as the API requires. */
export async function* paginate(setup: StreamSetup): AsyncGenerator<Page, void, undefined> {
  const local = setup.now ?? Date.now;
  const ctx: Ctx = {
    ...setup,
    nowSeconds: () => Math.floor((setup.client.serverNow() ?? local()) / 1000),
    clockKnown: () => setup.client.serverNow() !== null || setup.now !== undefined,
  };
  let endpoint = setup.endpoint;
  let position = setup.position;
  let restarts = 0;
  for (;;) {
    const driver = driverFor(endpoint.model);
    const gen = driver({ ...ctx, endpoint, position });
    let end: DriverEnd;
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        end = step.value;
        break;
      }
      // Only new records prove the restart got past the rejection; a page of repeats doesn't.
      if (step.value.records.length > 0) restarts = 0;
      yield step.value;
    }
    if (end.kind === 'done') return;
    if (end.kind === 'switch') {
      ctx.emit({ type: 'switched', from: endpoint.id, to: end.to.id, reason: end.reason });
      endpoint = end.to;
      position = { kind: 'time', startTime: end.startTime };
      continue;
    }
    restarts++;
    if (restarts > 2) {
      throw new ExportError('stuck', `Zendesk rejected the ${endpoint.id} cursor again right after a restart (${end.reason}); the export stopped instead of looping.`);
    }
    ctx.emit({ type: 'retry', attempt: restarts, status: 400, message: `${end.reason}; restarting from ${new Date(end.startTime * 1000).toISOString()} and dropping repeats` });
    position = { kind: 'time', startTime: end.startTime };
  }
}

type Driver = (ctx: Ctx) => AsyncGenerator<Page, DriverEnd, undefined>;

function driverFor(model: EndpointForm['model']): Driver {
  switch (model) {
    case 'time': return timeDriver;
    case 'cursor': return (ctx) => cursorStream(ctx, CURSOR);
    case 'routing': return (ctx) => cursorStream(ctx, ROUTING);
    case 'metricCursor': return (ctx) => cursorStream(ctx, METRIC_CURSOR);
    case 'sample': return sampleDriver;
  }
}

/** include / exclude_deleted / support_type_scope / include_changes, limited to what the form accepts. */
export function filterParams(endpoint: EndpointForm, params: QueryParams): ApiQuery {
  const q: ApiQuery = {};
  const include = (params.include ?? []).filter((i) => endpoint.includes.includes(i));
  if (include.length) q.include = include.join(',');
  if (endpoint.excludeDeleted && params.excludeDeleted) q.exclude_deleted = true;
  if (endpoint.supportTypeScope && params.supportTypeScope) q.support_type_scope = params.supportTypeScope;
  if (endpoint.includeChanges && params.includeChanges) q.include_changes = true;
  return q;
}

/** The page size to start a stream with: the checkpoint's (possibly halved) value, else the query's, within the form's bounds. */
export function initialPerPage(endpoint: EndpointForm, params: QueryParams, checkpointPerPage: number | null): number | null {
  if (endpoint.maxPerPage === null || endpoint.model === 'sample') return null;
  const wanted = checkpointPerPage ?? params.perPage ?? endpoint.defaultPerPage ?? endpoint.maxPerPage;
  return Math.max(1, Math.min(endpoint.maxPerPage, Math.floor(wanted)));
}

function perPageParam(endpoint: EndpointForm): ApiRequest['perPageParam'] {
  if (endpoint.maxPerPage === null || endpoint.model === 'sample') return null;
  return endpoint.model === 'metricCursor' ? 'page[size]' : 'per_page';
}

function clampStart(ctx: Ctx, startTime: number): number {
  return Math.max(0, Math.min(startTime, ctx.nowSeconds() - MIN_START_AGE_SECONDS));
}

/**
 * A continuation position inside the last minute of Zendesk's clock: it would answer "too recent", so
 * don't ask. Before Zendesk has answered this run its clock is unknown, and this machine's may be
 * behind: then ask, and let Zendesk say it. A position past Zendesk's clock can't have come from it.
 */
function tooRecentToAsk(ctx: Ctx, startTime: number): boolean {
  if (!ctx.clockKnown()) return false;
  assertNotInFuture(ctx, startTime);
  return startTime > ctx.nowSeconds() - MIN_START_AGE_SECONDS;
}

/** Tolerance for Zendesk's own end_time against its Date header (whole seconds, a page built while the clock ticks). */
const CLOCK_SLACK_SECONDS = 120;

function assertNotInFuture(ctx: Ctx, startTime: number): void {
  const server = ctx.client.serverNow();
  if (server !== null && startTime > server / 1000 + CLOCK_SLACK_SECONDS) {
    throw new ExportError(
      'checkpointCorrupt',
      `The export's position ${new Date(startTime * 1000).toISOString()} is ahead of Zendesk's clock (${new Date(server).toISOString()}), so it can't have come from Zendesk and would report "caught up" forever; delete the checkpoint to start over.`,
    );
  }
}

function records(body: Record<string, unknown>, endpoint: EndpointForm): Record<string, unknown>[] {
  const list = body[endpoint.wrapperKey];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new ExportError('server', `Zendesk's response for ${endpoint.path} has "${endpoint.wrapperKey}" that is not a list; the export stopped at the last complete page.`);
  }
  return list.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null && !Array.isArray(r));
}

/** Every other top-level array is a sideload (`include=users` → `users: [...]`). */
function sideloads(body: Record<string, unknown>, endpoint: EndpointForm): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === endpoint.wrapperKey || key === 'errors' || !Array.isArray(value)) continue;
    out[key] = value;
  }
  return out;
}

function int(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * A page of records. Pages asked for by start_time can repeat what came before (the boundary
 * second, or everything since a restart point), so they are deduped; pages reached by a cursor never
 * overlap, so they only move the boundary the checkpoint keeps.
 */
function page(ctx: Ctx, endpoint: EndpointForm, raw: Record<string, unknown>[], side: Record<string, unknown[]>, nextPosition: Position, endOfStream: boolean, opts: { requested?: boolean; byCursor?: boolean } = {}): Page {
  const { kept, dropped } = opts.byCursor ? ctx.dedupe.observe(raw) : ctx.dedupe.filter(raw);
  return {
    records: kept, sideloads: side, nextPosition, endOfStream, lastRecordTime: ctx.dedupe.lastRecordTime(),
    boundaryKeys: ctx.dedupe.boundaryKeys(), duplicatesDropped: dropped, endpointId: endpoint.id, requested: opts.requested ?? true,
  };
}

function endPage(ctx: Ctx, endpoint: EndpointForm, position: Position, requested: boolean): Page {
  return page(ctx, endpoint, [], {}, position, true, { requested });
}

async function call(ctx: Ctx, endpoint: EndpointForm, query: ApiQuery): Promise<ApiOutcome> {
  return ctx.client.request({ path: endpoint.path, query, family: endpoint.family, perPageParam: perPageParam(endpoint) }, ctx.perPage);
}

function cursorFormFor(endpoint: EndpointForm): EndpointForm | undefined {
  if (endpoint.resource !== 'tickets' && endpoint.resource !== 'users') return undefined;
  return ENDPOINTS.find((e) => e.resource === endpoint.resource && e.model === 'cursor');
}

/** start_time → end_time / next_page; stop on end_of_stream; pages may repeat the boundary second. */
async function* timeDriver(ctx: Ctx): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  let start = ctx.position?.kind === 'time' ? ctx.position.startTime : ctx.startTime;
  const continuing = ctx.position !== null;
  let link: string | null = null;
  for (let first = true; ; first = false) {
    if ((continuing || !first) && tooRecentToAsk(ctx, start)) {
      yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, false);
      return { kind: 'done' };
    }
    // next_page is followed only on the configured origin and path; the request carries our own parameters.
    if (link) ctx.client.resolveLink(link, endpoint.path);
    const outcome = await call(ctx, endpoint, { ...filterParams(endpoint, ctx.params), start_time: clampStart(ctx, start) });
    if (outcome.kind === 'tooRecent') {
      assertNotInFuture(ctx, start);
      yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, true);
      return { kind: 'done' };
    }
    if (outcome.kind === 'invalidCursor') {
      throw new ExportError('badRequest', `Zendesk rejected the request for ${endpoint.path}: ${outcome.message}.`);
    }
    const body = outcome.body;
    const list = records(body, endpoint);
    const endTime = int(body.end_time);
    const nextPage = str(body.next_page);
    const linkStart = nextPage ? int(safeParam(nextPage, 'start_time')) : null;
    const nextStart = linkStart ?? endTime;
    const server = ctx.client.serverNow();
    if (nextStart !== null && server !== null && nextStart > server / 1000 + CLOCK_SLACK_SECONDS) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} puts the next page at ${new Date(nextStart * 1000).toISOString()}, after its own clock (${new Date(server).toISOString()}); the export stopped at the last complete page rather than save a position no later run could continue from.`);
    }
    const advances = nextStart !== null && nextStart > start;
    // A page short of per_page that doesn't advance held everything from `start`: the end, even without
    // end_of_stream (the metric events export documents none). Only a full page can be stuck (§3.7).
    const full = list.length >= (ctx.perPage.value ?? endpoint.defaultPerPage ?? FULL_TIME_PAGE);
    if (body.end_of_stream === true || (!advances && !full)) {
      // Keep end_time for the next run; following next_page now would re-read the tail (zenpy#451).
      yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'time', startTime: advances ? nextStart : start }, true);
      return { kind: 'done' };
    }
    if (nextStart === null) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} has neither end_time nor next_page and no end_of_stream; the export stopped at the last complete page.`);
    }
    if (!advances) {
      const to = cursorFormFor(endpoint);
      const reason = `more records share the second ${start} than one page holds, so time-based paging can't advance`;
      if (to) return { kind: 'switch', to, startTime: start, reason };
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export keeps returning start_time ${start} (${list.length} records share that second); the export stopped instead of looping forever. Try again later or a later start time.`);
    }
    yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'time', startTime: nextStart }, false);
    start = nextStart;
    link = nextPage;
  }
}

/** What tells the three cursor forms apart; cursorStream does the rest. */
interface CursorForm {
  /** The query parameter that carries the cursor. */
  param: 'cursor' | 'page[after]';
  /** The cursor a saved position holds for this form, if any. */
  cursorOf(position: Position | null): string | null;
  at(cursor: string): Position;
  /** Routing exports have no start time: without a cursor they ask for the full history, with no other parameters. */
  startsFromTime: boolean;
  /** The next cursor, the link to follow, and whether the stream ended, as this form's envelope says them. */
  read(body: Record<string, unknown>, list: Record<string, unknown>[]): { next: string | null; link: string | null; ended: boolean };
  /** Where a stream that ended without a newer cursor stands. */
  endedAt(ctx: Ctx, here: Position, cursor: string | null, start: number): Position;
  /** The sentence when the envelope says "more" but gives no cursor. */
  noNext: string;
  /** A rejected saved cursor: restart from the last record time, or stop (routing has no time to restart from). */
  onRejected: 'restart' | 'stop';
}

const CURSOR: CursorForm = {
  param: 'cursor',
  cursorOf: (p) => (p?.kind === 'cursor' ? p.cursor : null),
  at: (cursor) => ({ kind: 'cursor', cursor }),
  startsFromTime: true,
  read(body) {
    const link = str(body.after_url);
    return { next: str(body.after_cursor) ?? (link ? safeParam(link, 'cursor') : null), link, ended: body.end_of_stream === true };
  },
  // Persist after_cursor: the next run starts from it without start_time.
  endedAt: (_ctx, here) => here,
  noNext: 'has no after_cursor and no end_of_stream',
  onRejected: 'restart',
};

const ROUTING: CursorForm = {
  param: 'cursor',
  cursorOf: (p) => (p?.kind === 'routing' ? p.cursor : null),
  at: (cursor) => ({ kind: 'routing', cursor }),
  startsFromTime: false,
  read(body, list) {
    const link = str(body.next_page);
    return { next: link ? safeParam(link, 'cursor') : null, link, ended: (int(body.count) ?? list.length) === 0 };
  },
  // Keep the newest cursor Zendesk gave us: the next run continues from there.
  endedAt: (_ctx, _here, cursor) => ({ kind: 'routing', cursor }),
  noNext: 'has records but no next_page cursor',
  onRejected: 'stop',
};

const METRIC_CURSOR: CursorForm = {
  param: 'page[after]',
  cursorOf: (p) => (p?.kind === 'metricCursor' ? p.after : null),
  at: (after) => ({ kind: 'metricCursor', after }),
  startsFromTime: true,
  read(body) {
    const link = str(obj(body.links).next);
    return { next: str(obj(body.meta).after_cursor) ?? (link ? safeParam(link, 'page[after]') : null), link, ended: obj(body.meta).has_more !== true };
  },
  endedAt: (ctx, here, cursor, start) => (cursor ? here : { kind: 'time', startTime: ctx.dedupe.lastRecordTime() ?? start }),
  noNext: 'says has_more but gives no after_cursor',
  onRejected: 'restart',
};

/** Pages in a row that may bring nothing new before a cursor stream counts as stuck. */
const EMPTY_PAGES_LIMIT = 5;

/**
 * start_time once (where the form has one), then the cursor alone (Zendesk refuses both together);
 * stop where the form's envelope says the stream ended. A cursor seen before in this run, or pages
 * that keep bringing nothing, stop the export instead of following it forever.
 */
async function* cursorStream(ctx: Ctx, form: CursorForm): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  let cursor = form.cursorOf(ctx.position);
  const start = ctx.position?.kind === 'time' ? ctx.position.startTime : ctx.startTime;
  const seen = new Set<string>(cursor ? [cursor] : []);
  let empty = 0;
  let link: string | null = null;
  if (!cursor && form.startsFromTime && ctx.position?.kind === 'time' && tooRecentToAsk(ctx, start)) {
    yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, false);
    return { kind: 'done' };
  }
  for (;;) {
    // The link is followed only on the configured origin and path; the cursor alone decides the position.
    if (link) ctx.client.resolveLink(link, endpoint.path);
    const query: ApiQuery = form.startsFromTime ? filterParams(endpoint, ctx.params) : {};
    if (cursor) query[form.param] = cursor;
    else if (form.startsFromTime) query.start_time = clampStart(ctx, start);
    const outcome = await call(ctx, endpoint, query);
    const here: Position = cursor ? form.at(cursor) : form.startsFromTime ? { kind: 'time', startTime: start } : { kind: 'routing', cursor: null };
    if (outcome.kind === 'tooRecent') {
      if (here.kind === 'time') assertNotInFuture(ctx, start);
      yield endPage(ctx, endpoint, here, true);
      return { kind: 'done' };
    }
    if (outcome.kind === 'invalidCursor') {
      if (cursor && form.onRejected === 'restart') {
        return { kind: 'restart', startTime: ctx.dedupe.lastRecordTime() ?? start, reason: `Zendesk rejected the saved cursor (${outcome.message})` };
      }
      if (cursor) throw new ExportError('badRequest', `Zendesk rejected the saved ${endpoint.id} cursor (${outcome.message}); delete the checkpoint and its output to export the full history again.`);
      throw new ExportError('badRequest', `Zendesk rejected the request for ${endpoint.path}: ${outcome.message}.`);
    }
    const body = outcome.body;
    const list = records(body, endpoint);
    const { next, link: nextLink, ended } = form.read(body, list);
    const byCursor = cursor !== null;
    if (ended) {
      yield page(ctx, endpoint, list, sideloads(body, endpoint), next ? form.at(next) : form.endedAt(ctx, here, cursor, start), true, { byCursor });
      return { kind: 'done' };
    }
    if (!next) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} ${form.noNext}; the export stopped at the last complete page.`);
    }
    if (seen.has(next)) {
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export returned a cursor it had already given in this run; the export stopped instead of looping forever.`);
    }
    seen.add(next);
    const p = page(ctx, endpoint, list, sideloads(body, endpoint), form.at(next), false, { byCursor });
    empty = p.records.length === 0 ? empty + 1 : 0;
    if (empty >= EMPTY_PAGES_LIMIT) {
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export sent ${EMPTY_PAGES_LIMIT} pages in a row with nothing new but kept saying there is more; the export stopped instead of following it forever.`);
    }
    yield p;
    cursor = next;
    link = nextLink;
  }
}

/** One request, at most 50 records: a preview, not a stream. */
async function* sampleDriver(ctx: Ctx): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  const start = ctx.position?.kind === 'time' ? ctx.position.startTime : ctx.startTime;
  if (ctx.position !== null && tooRecentToAsk(ctx, start)) {
    yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, false);
    return { kind: 'done' };
  }
  const outcome = await call(ctx, endpoint, { ...filterParams(endpoint, ctx.params), start_time: clampStart(ctx, start) });
  if (outcome.kind !== 'ok') {
    if (outcome.kind === 'invalidCursor') throw new ExportError('badRequest', `Zendesk rejected the request for ${endpoint.path}: ${outcome.message}.`);
    yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, true);
    return { kind: 'done' };
  }
  const body = outcome.body;
  const endTime = int(body.end_time);
  yield page(ctx, endpoint, records(body, endpoint), sideloads(body, endpoint), { kind: 'time', startTime: endTime ?? start }, true);
  return { kind: 'done' };
}

/** A query parameter of an absolute or relative link, or null. */
function safeParam(link: string, name: string): string | null {
  try {
    return new URL(link, 'http://placeholder.invalid').searchParams.get(name);
  } catch {
    return null;
  }
}
