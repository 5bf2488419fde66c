// The four pagination behaviours of the Incremental Export API (plus sample), as async generators of
// pages. Each driver knows when its stream ends (end_of_stream, count == 0, !has_more) and refuses
// to loop on a position that does not advance.
import { ENDPOINTS, type EndpointForm, type ApiOutcome, type ApiRequest, type PerPageState, type QueryValues, type ZendeskClient } from '../zendesk';
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
  nowSeconds: () => number;
}

/** Pages of one export stream, switching forms and restarting cursors as the API requires. */
export async function* paginate(setup: StreamSetup): AsyncGenerator<Page, void, undefined> {
  const ctx: Ctx = { ...setup, nowSeconds: () => Math.floor((setup.now ?? Date.now)() / 1000) };
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
    case 'cursor': return cursorDriver;
    case 'routing': return routingDriver;
    case 'metricCursor': return metricCursorDriver;
    case 'sample': return sampleDriver;
  }
}

/** include / exclude_deleted / support_type_scope / include_changes, limited to what the form accepts. */
export function filterParams(endpoint: EndpointForm, params: QueryParams): QueryValues {
  const q: QueryValues = {};
  const include = (params.include ?? []).filter((i) => endpoint.includes.includes(i));
  if (include.length) q.include = include.join(',');
  if (endpoint.excludeDeleted && params.excludeDeleted) q.exclude_deleted = 'true';
  if (endpoint.supportTypeScope && params.supportTypeScope) q.support_type_scope = params.supportTypeScope;
  if (endpoint.includeChanges && params.includeChanges) q.include_changes = 'true';
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

/** A continuation position inside the last minute: Zendesk would answer "too recent", so don't ask. */
function tooRecentToAsk(ctx: Ctx, startTime: number): boolean {
  return startTime > ctx.nowSeconds() - MIN_START_AGE_SECONDS;
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

function page(ctx: Ctx, endpoint: EndpointForm, raw: Record<string, unknown>[], side: Record<string, unknown[]>, nextPosition: Position, endOfStream: boolean, requested = true): Page {
  const { kept, dropped } = ctx.dedupe.filter(raw);
  return {
    records: kept, sideloads: side, nextPosition, endOfStream, lastRecordTime: ctx.dedupe.lastRecordTime(),
    boundaryKeys: ctx.dedupe.boundaryKeys(), duplicatesDropped: dropped, endpointId: endpoint.id, requested,
  };
}

function endPage(ctx: Ctx, endpoint: EndpointForm, position: Position, requested: boolean): Page {
  return page(ctx, endpoint, [], {}, position, true, requested);
}

async function call(ctx: Ctx, endpoint: EndpointForm, query: QueryValues): Promise<ApiOutcome> {
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
    let query: QueryValues = { ...filterParams(endpoint, ctx.params) };
    if (link) query = { ...query, ...ctx.client.resolveLink(link, endpoint.path).query };
    query.start_time = String(clampStart(ctx, start));
    delete query.cursor;

    const outcome = await call(ctx, endpoint, query);
    if (outcome.kind === 'tooRecent') {
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

/** start_time once, then cursor=after_cursor (never both); stop on end_of_stream; exact pages. */
async function* cursorDriver(ctx: Ctx): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  let cursor: string | null = ctx.position?.kind === 'cursor' ? ctx.position.cursor : null;
  const start = ctx.position?.kind === 'time' ? ctx.position.startTime : ctx.startTime;
  let link: string | null = null;
  if (!cursor && ctx.position?.kind === 'time' && tooRecentToAsk(ctx, start)) {
    yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, false);
    return { kind: 'done' };
  }
  for (;;) {
    let query: QueryValues = { ...filterParams(endpoint, ctx.params) };
    if (cursor) {
      if (link) query = { ...query, ...ctx.client.resolveLink(link, endpoint.path).query };
      // after_cursor is what we checkpoint, so it is also what we send.
      query.cursor = cursor;
      delete query.start_time;
    } else {
      query.start_time = String(clampStart(ctx, start));
    }

    const outcome = await call(ctx, endpoint, query);
    const here: Position = cursor ? { kind: 'cursor', cursor } : { kind: 'time', startTime: start };
    if (outcome.kind === 'tooRecent') {
      yield endPage(ctx, endpoint, here, true);
      return { kind: 'done' };
    }
    if (outcome.kind === 'invalidCursor') {
      if (!cursor) throw new ExportError('badRequest', `Zendesk rejected the request for ${endpoint.path}: ${outcome.message}.`);
      return { kind: 'restart', startTime: ctx.dedupe.lastRecordTime() ?? start, reason: `Zendesk rejected the saved cursor (${outcome.message})` };
    }
    const body = outcome.body;
    const list = records(body, endpoint);
    const afterUrl = str(body.after_url);
    const next = str(body.after_cursor) ?? (afterUrl ? safeParam(afterUrl, 'cursor') : null);
    if (body.end_of_stream === true) {
      // Persist after_cursor: the next run starts from it without start_time.
      yield page(ctx, endpoint, list, sideloads(body, endpoint), next ? { kind: 'cursor', cursor: next } : here, true);
      return { kind: 'done' };
    }
    if (!next) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} has no after_cursor and no end_of_stream; the export stopped at the last complete page.`);
    }
    if (next === cursor) {
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export returned the same cursor again with more records; the export stopped instead of looping forever.`);
    }
    yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'cursor', cursor: next }, false);
    cursor = next;
    link = afterUrl;
  }
}

/** No start_time; cursor from next_page; stop when count == 0 (there is no end_of_stream). */
async function* routingDriver(ctx: Ctx): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  let cursor: string | null = ctx.position?.kind === 'routing' ? ctx.position.cursor : null;
  let link: string | null = null;
  for (;;) {
    let query: QueryValues = {};
    if (link) query = { ...ctx.client.resolveLink(link, endpoint.path).query };
    if (cursor) query.cursor = cursor;
    delete query.start_time;

    const outcome = await call(ctx, endpoint, query);
    if (outcome.kind === 'tooRecent') {
      yield endPage(ctx, endpoint, { kind: 'routing', cursor }, true);
      return { kind: 'done' };
    }
    if (outcome.kind === 'invalidCursor') {
      // Routing has no start_time to fall back to; restarting would re-export the whole history.
      throw new ExportError('badRequest', `Zendesk rejected the saved ${endpoint.id} cursor (${outcome.message}); delete the checkpoint and its output to export the full history again.`);
    }
    const body = outcome.body;
    const list = records(body, endpoint);
    const count = int(body.count) ?? list.length;
    const nextPage = str(body.next_page);
    const next = nextPage ? safeParam(nextPage, 'cursor') : null;
    if (count === 0) {
      // Keep the newest cursor Zendesk gave us: the next run continues from there.
      yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'routing', cursor: next ?? cursor }, true);
      return { kind: 'done' };
    }
    if (!next) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} has records but no next_page cursor; the export stopped at the last complete page.`);
    }
    if (next === cursor) {
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export returned the same cursor again with more records; the export stopped instead of looping forever.`);
    }
    yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'routing', cursor: next }, false);
    cursor = next;
    link = nextPage;
  }
}

/** ticket_metric_events with page[size]: start_time + page[size], then page[after]; stop when !meta.has_more. */
async function* metricCursorDriver(ctx: Ctx): AsyncGenerator<Page, DriverEnd, undefined> {
  const { endpoint } = ctx;
  let after: string | null = ctx.position?.kind === 'metricCursor' ? ctx.position.after : null;
  const start = ctx.position?.kind === 'time' ? ctx.position.startTime : ctx.startTime;
  let link: string | null = null;
  if (!after && ctx.position?.kind === 'time' && tooRecentToAsk(ctx, start)) {
    yield endPage(ctx, endpoint, { kind: 'time', startTime: start }, false);
    return { kind: 'done' };
  }
  for (;;) {
    let query: QueryValues = { ...filterParams(endpoint, ctx.params) };
    if (after) {
      if (link) query = { ...query, ...ctx.client.resolveLink(link, endpoint.path).query };
      // The cursor alone decides the position; Zendesk refuses start_time next to it.
      query['page[after]'] = after;
      delete query.start_time;
    } else {
      query.start_time = String(clampStart(ctx, start));
    }

    const outcome = await call(ctx, endpoint, query);
    const here: Position = after ? { kind: 'metricCursor', after } : { kind: 'time', startTime: start };
    if (outcome.kind === 'tooRecent') {
      yield endPage(ctx, endpoint, here, true);
      return { kind: 'done' };
    }
    if (outcome.kind === 'invalidCursor') {
      if (!after) throw new ExportError('badRequest', `Zendesk rejected the request for ${endpoint.path}: ${outcome.message}.`);
      return { kind: 'restart', startTime: ctx.dedupe.lastRecordTime() ?? start, reason: `Zendesk rejected the saved cursor (${outcome.message})` };
    }
    const body = outcome.body;
    const list = records(body, endpoint);
    const meta = (typeof body.meta === 'object' && body.meta !== null ? body.meta : {}) as Record<string, unknown>;
    const links = (typeof body.links === 'object' && body.links !== null ? body.links : {}) as Record<string, unknown>;
    const nextLink = str(links.next);
    const next = str(meta.after_cursor) ?? (nextLink ? safeParam(nextLink, 'page[after]') : null);
    if (meta.has_more !== true) {
      const position: Position = next
        ? { kind: 'metricCursor', after: next }
        : after ? here : { kind: 'time', startTime: ctx.dedupe.lastRecordTime() ?? start };
      yield page(ctx, endpoint, list, sideloads(body, endpoint), position, true);
      return { kind: 'done' };
    }
    if (!next) {
      throw new ExportError('server', `Zendesk's response for ${endpoint.path} says has_more but gives no after_cursor; the export stopped at the last complete page.`);
    }
    if (next === after) {
      throw new ExportError('stuck', `Zendesk's ${endpoint.id} export returned the same cursor again with more records; the export stopped instead of looping forever.`);
    }
    yield page(ctx, endpoint, list, sideloads(body, endpoint), { kind: 'metricCursor', after: next }, false);
    after = next;
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
  const query: QueryValues = { ...filterParams(endpoint, ctx.params), start_time: String(clampStart(ctx, start)) };
  const outcome = await call(ctx, endpoint, query);
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
