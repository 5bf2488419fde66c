// The HTTP front of the simulator: routing, auth, faults, rate limits, and the endpoint handlers
// that turn a generated stream into Zendesk-shaped pages.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointById } from '../engine/zendesk';
import { ADMIN_USER_ID, AGENT_USER_ID, Dataset, iso, type Filters, type Rec } from './dataset';
import { FaultBook } from './faults';
import {
  cursorPage, decodeExportCursor, decodeMetricCursor, decodeRoutingCursor, encodeExportCursor,
  encodeMetricCursor, encodeRoutingCursor, timePage, visible,
} from './pagination';
import { OAuthServer } from './oauth';
import { hash32 } from './random';
import { ACCOUNT_RATE_LIMIT_BODY, RATE_LIMIT_BODY, RateLimiter } from './rateLimit';
import { makeSources, type Resource, type Source } from './sources';
import type { Entry, Position } from './stream';
import type {
  AccountCredentials, ExpectedOptions, Fault, MutationResult, RequestLogEntry, RunningSimulator, SimulatorOptions, SimulatorStats,
} from './types';

type Route =
  | { kind: 'me' }
  | { kind: 'time'; resource: Resource; endpointId: string }
  | { kind: 'cursor'; resource: Resource; endpointId: string }
  | { kind: 'routing'; resource: Resource; endpointId: string }
  | { kind: 'sample'; resource: Resource; endpointId: string };

const INC = '/api/v2/incremental';
const ROUTES = new Map<string, Route>([
  ['/api/v2/users/me', { kind: 'me' }],
  [`${INC}/tickets`, { kind: 'time', resource: 'tickets', endpointId: 'tickets' }],
  [`${INC}/tickets/cursor`, { kind: 'cursor', resource: 'tickets', endpointId: 'tickets/cursor' }],
  [`${INC}/users`, { kind: 'time', resource: 'users', endpointId: 'users' }],
  [`${INC}/users/cursor`, { kind: 'cursor', resource: 'users', endpointId: 'users/cursor' }],
  [`${INC}/organizations`, { kind: 'time', resource: 'organizations', endpointId: 'organizations' }],
  [`${INC}/ticket_events`, { kind: 'time', resource: 'ticket_events', endpointId: 'ticket_events' }],
  // page[size] switches this one to standard cursor pagination (handled in the time handler).
  [`${INC}/ticket_metric_events`, { kind: 'time', resource: 'ticket_metric_events', endpointId: 'ticket_metric_events' }],
  [`${INC}/routing/attributes`, { kind: 'routing', resource: 'routing_attributes', endpointId: 'routing_attributes' }],
  [`${INC}/routing/attribute_values`, { kind: 'routing', resource: 'routing_attribute_values', endpointId: 'routing_attribute_values' }],
  [`${INC}/routing/instance_values`, { kind: 'routing', resource: 'routing_instance_values', endpointId: 'routing_instance_values' }],
  [`${INC}/tickets/sample`, { kind: 'sample', resource: 'tickets', endpointId: 'tickets/sample' }],
  [`${INC}/ticket_events/sample`, { kind: 'sample', resource: 'ticket_events', endpointId: 'ticket_events/sample' }],
  [`${INC}/users/sample`, { kind: 'sample', resource: 'users', endpointId: 'users/sample' }],
  [`${INC}/organizations/sample`, { kind: 'sample', resource: 'organizations', endpointId: 'organizations/sample' }],
]);

const MAX_PER_PAGE = 1000;
const SAMPLE_MAX = 50;
const METRIC_PAGE_MAX = 100;
const ROUTING_PAGE = 3000;
/** Data from the most recent minute is never returned. */
const FRESHNESS_SECONDS = 60;

const FORBIDDEN_BODY = {
  error: 'Forbidden',
  description: 'You do not have access to this page. Please contact the account owner of this help desk for further help.',
};
const UNAUTHORIZED_BODY = { error: "Couldn't authenticate you" };

const ADMIN: AccountCredentials = { email: 'admin@example.com', token: 'sim-admin-token', oauthToken: 'sim-oauth-token' };
const AGENT: AccountCredentials = { email: 'agent@example.com', token: 'sim-agent-token', oauthToken: 'sim-agent-oauth-token' };

interface Account { id: number; name: string; email: string; role: 'admin' | 'agent' }

/** What a handler produces: a JSON body, or a ready-made error. */
interface Reply {
  status: number;
  body: unknown;
  records: number;
  headers?: Record<string, string>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}`);
  }
}


export class Simulator {
  readonly data: Dataset;
  private readonly faults = new FaultBook();
  private readonly limiter: RateLimiter;
  private readonly clock: () => number;
  private clockOffsetMs = 0;
  private mutations = 0;
  private requestSeq = 0;
  private readonly oauthAdmin: Set<string>;
  /** OAuth endpoints and issued-token checks (src/simulator/oauth.ts). */
  private readonly oauth: OAuthServer;
  private readonly stat: SimulatorStats = { requests: 0, byStatus: {}, authorizationSentTo: [], foreignRequests: 0, requestLog: [] };
  private readonly sources: Record<Resource, Source>;
  foreignOrigin = '';

  constructor(private readonly opts: SimulatorOptions) {
    this.data = new Dataset(opts.seed ?? 1, opts.counts);
    this.limiter = new RateLimiter(opts.rateLimits);
    this.clock = opts.now ?? Date.now;
    this.oauthAdmin = new Set([ADMIN.oauthToken, ...(opts.extraOAuthTokens ?? [])]);
    this.oauth = new OAuthServer(opts.oauth, this.oauthAdmin);
    this.faults.set(opts.faults ?? []);
    this.sources = makeSources(this.data);
  }

  // ---------------------------------------------------------------- public operations

  setFaults(f: Fault[]): void {
    this.faults.set(f);
  }

  nowSeconds(): number {
    return Math.floor((this.clock() + this.clockOffsetMs) / 1000);
  }

  advanceClock(seconds: number): void {
    this.clockOffsetMs += seconds * 1000;
  }

  mutate(change: { newTickets?: number; updatedTickets?: number }): MutationResult {
    const t = this.data.tickets;
    const ts = this.nowSeconds();
    const newTickets = Math.max(0, Math.floor(change.newTickets ?? 0));
    const updated = Math.max(0, Math.floor(change.updatedTickets ?? 0));
    // Updates pick among the tickets that existed before this call, so a new ticket is never also "updated".
    const total = t.totalCount;
    const chosen = new Set<number>();
    const updatedIds: number[] = [];
    for (let k = 0; k < updated && chosen.size < total; k++) {
      let index = hash32(this.data.seed, 0x3a7e, this.mutations, k) % total;
      while (chosen.has(index)) index = (index + 1) % total;
      chosen.add(index);
      updatedIds.push(t.touch(index, ts, false).id);
    }
    const newIds: number[] = [];
    for (let k = 0; k < newTickets; k++) newIds.push(t.add(ts, false).id);
    t.resort();
    this.mutations++;
    return { ts, newIds, updatedIds };
  }

  stats(): SimulatorStats {
    return {
      ...this.stat,
      byStatus: { ...this.stat.byStatus },
      authorizationSentTo: [...this.stat.authorizationSentTo],
      requestLog: [...this.stat.requestLog],
    };
  }

  expected(endpointId: string, o: ExpectedOptions = {}): { id: number | string; ts: number }[] {
    const form = endpointById(endpointId);
    if (!form) throw new Error(`Unknown endpoint id ${endpointId}.`);
    const source = this.sources[form.resource];
    const filters = filtersFor(form.resource, Boolean(o.excludeDeleted), o.supportTypeScope ?? 'agent');
    if (form.model === 'routing') {
      const out: { id: string; ts: number }[] = [];
      for (const e of source.stream.after({ ts: -1, id: -1 })) out.push({ id: source.build(e, '', new Set()).id as string, ts: e.ts });
      return out;
    }
    const cutoff = this.nowSeconds() - FRESHNESS_SECONDS;
    const limit = form.model === 'sample' ? SAMPLE_MAX : Infinity;
    const out: { id: number; ts: number }[] = [];
    for (const e of visible(source.stream.after({ ts: o.startTime ?? 0, id: -1 }), (x) => source.keep(x, filters), cutoff)) {
      if (out.length >= limit) break;
      out.push({ id: e.id, ts: e.ts });
    }
    return out;
  }

  credentials = { admin: { ...ADMIN }, agent: { ...AGENT } };

  // ---------------------------------------------------------------- HTTP

  async handle(req: http.IncomingMessage, res: http.ServerResponse, listener: 'main' | 'foreign'): Promise<void> {
    const started = performance.now();
    const host = req.headers.host ?? '127.0.0.1';
    const origin = `http://${host}`;
    const hasAuth = typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
    this.stat.requests++;
    if (listener === 'foreign') this.stat.foreignRequests++;
    if (hasAuth && !this.stat.authorizationSentTo.includes(host)) this.stat.authorizationSentTo.push(host);

    const url = new URL(req.url ?? '/', origin);
    const dotJson = url.pathname.endsWith('.json');
    const path = dotJson ? url.pathname.slice(0, -5) : url.pathname.replace(/\/+$/, '');
    const finish = (status: number): void => {
      this.stat.byStatus[status] = (this.stat.byStatus[status] ?? 0) + 1;
      const entry: RequestLogEntry = { method: req.method ?? 'GET', url: req.url ?? '/', host, status, authorization: hasAuth, origin: listener };
      this.stat.requestLog.push(entry);
      if (this.stat.requestLog.length > 2000) this.stat.requestLog.shift();
      this.opts.log?.(`${entry.method} ${entry.url} -> ${status === 0 ? 'reset' : status} (${Math.round(performance.now() - started)} ms)`);
    };

    if (await this.oauth.intercept(req, res, path)) return finish(res.statusCode); // OAuth: src/simulator/oauth.ts
    const route = ROUTES.get(path);
    const family = !route || route.kind === 'me' ? null : (endpointById(route.endpointId)?.family ?? 'incremental');
    if (!route || req.method !== 'GET') {
      const status = route ? 405 : 404;
      this.sendJson(res, status, route ? { error: 'MethodNotAllowed' } : { error: 'InvalidEndpoint', description: 'Not found' }, this.limiter.peek(null));
      return finish(status);
    }
    const account = this.authenticate(req.headers.authorization);
    if (!account || this.faults.take(['unauthorized'], path).length > 0) {
      this.sendJson(res, 401, UNAUTHORIZED_BODY, { ...this.limiter.peek(family), 'www-authenticate': 'Basic realm="Web Password"' });
      return finish(401);
    }
    if (route.kind !== 'me' && account.role !== 'admin') {
      this.sendJson(res, 403, FORBIDDEN_BODY, this.limiter.peek(family));
      return finish(403);
    }

    // Faults that replace the whole response. They fire before the rate limiter, so they do not spend budget.
    // Routing exports have a fixed page size, so a page-size timeout cannot apply to them.
    const perPageAsked = route.kind === 'routing' || route.kind === 'me' ? 0
      : Number(url.searchParams.get('page[size]') ?? url.searchParams.get('per_page') ?? (route.kind === 'sample' ? SAMPLE_MAX : MAX_PER_PAGE));
    for (const f of this.faults.take(['slow'], path)) if (f.kind === 'slow') await sleep(f.delayMs);
    const early = this.faults.take(
      ['connectionReset', 'empty403', 'plainText429', 'noRetryAfter429', 'edge429', 'httpDateRetryAfter429', 'decimalRetryAfter429', 'status5xx', 'timeoutAbovePageSize'],
      path,
      (f) => f.kind !== 'timeoutAbovePageSize' || perPageAsked > f.maxPerPage,
    )[0];
    if (early) {
      const status = this.sendFault(req, res, early, this.limiter.peek(family));
      return finish(status);
    }

    const rate = this.limiter.check(family);
    if (!rate.allowed) {
      const body = rate.refusedBy === 'account' ? ACCOUNT_RATE_LIMIT_BODY : RATE_LIMIT_BODY;
      this.sendJson(res, 429, body, { ...rate.headers, 'retry-after': rate.retryAfter ?? '1' });
      return finish(429);
    }

    let reply: Reply;
    try {
      reply = this.dispatch(route, url, path, dotJson, origin, account);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      reply = { status: err.status, body: err.body, records: 0 };
    }
    if (reply.status === 200 && this.faults.take(['foreignNextPage'], path).length > 0) {
      reply.body = pointElsewhere(reply.body as Rec, origin, this.foreignOrigin);
    }
    const latency = typeof this.opts.latencyMs === 'function' ? this.opts.latencyMs(reply.records) : (this.opts.latencyMs ?? 0);
    if (latency > 0) await sleep(latency);
    const headers = { ...rate.headers, ...reply.headers, 'x-runtime': ((performance.now() - started) / 1000).toFixed(6) };
    if (reply.status === 200 && this.faults.take(['truncatedBody'], path).length > 0) {
      const text = JSON.stringify(reply.body);
      res.writeHead(200, { ...this.commonHeaders(), ...headers });
      res.end(text.slice(0, Math.floor(text.length / 2)));
      return finish(200);
    }
    this.sendJson(res, reply.status, reply.body, headers);
    finish(reply.status);
  }

  private commonHeaders(): Record<string, string> {
    return {
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': `sim-${(++this.requestSeq).toString(16).padStart(8, '0')}`,
      'x-zendesk-api-version': 'v2',
      'x-zendesk-origin-server': 'zendesk-simulator',
      'cache-control': 'max-age=0, private, must-revalidate',
    };
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...this.commonHeaders(), ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  /** Sends a response-replacing fault; returns the status for the log (0 for a reset). */
  private sendFault(req: http.IncomingMessage, res: http.ServerResponse, f: Fault, rateHeaders: Record<string, string>): number {
    const retryAfter = (fallback: number): string => String('retryAfter' in f && f.retryAfter !== undefined ? f.retryAfter : fallback);
    const text = (status: number, body: string, contentType: string, headers: Record<string, string> = {}): number => {
      res.writeHead(status, { ...this.commonHeaders(), ...rateHeaders, 'content-type': contentType, ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return status;
    };
    switch (f.kind) {
      case 'connectionReset':
        req.socket.resetAndDestroy();
        return 0;
      case 'empty403':
        return text(403, '', 'text/html; charset=utf-8');
      case 'plainText429':
        return text(429, 'Number of allowed API requests per minute exceeded', 'text/plain; charset=utf-8', { 'retry-after': retryAfter(1) });
      case 'noRetryAfter429':
        this.sendJson(res, 429, RATE_LIMIT_BODY, rateHeaders);
        return 429;
      case 'edge429':
        this.sendJson(res, 429, { detail: 'Rate limited by Zendesk edge protection', status: '429', title: 'Automated response' }, { ...rateHeaders, 'retry-after': retryAfter(1) });
        return 429;
      case 'httpDateRetryAfter429': {
        const seconds = 'retryAfter' in f && f.retryAfter !== undefined ? f.retryAfter : 1;
        this.sendJson(res, 429, RATE_LIMIT_BODY, { ...rateHeaders, 'retry-after': new Date(Date.now() + seconds * 1000).toUTCString() });
        return 429;
      }
      case 'decimalRetryAfter429':
        this.sendJson(res, 429, RATE_LIMIT_BODY, { ...rateHeaders, 'retry-after': retryAfter(1.5) });
        return 429;
      case 'status5xx': {
        const status = f.status ?? 503;
        if (status === 500) {
          this.sendJson(res, 500, { error: 'InternalServerError', description: 'Something went wrong. Please try again.' }, rateHeaders);
          return 500;
        }
        const title = status === 502 ? '502 Bad Gateway' : '503 Service Temporarily Unavailable';
        return text(status, `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`, 'text/html; charset=utf-8');
      }
      case 'timeoutAbovePageSize':
        return text(504, '<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>', 'text/html; charset=utf-8');
      default:
        throw new Error(`Fault ${f.kind} does not replace a response.`);
    }
  }

  private authenticate(header: string | undefined): Account | null {
    if (!header) return null;
    const [scheme, value] = header.trim().split(/\s+/, 2);
    if (!value) return null;
    if (/^bearer$/i.test(scheme)) {
      if (this.oauthAdmin.has(value)) return { id: ADMIN_USER_ID, name: 'Simulated Admin', email: ADMIN.email, role: 'admin' };
      if (value === AGENT.oauthToken) return { id: AGENT_USER_ID, name: 'Simulated Agent', email: AGENT.email, role: 'agent' };
      return null;
    }
    if (!/^basic$/i.test(scheme)) return null;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    // Only the API-token form; email:password was retired by Zendesk.
    const m = /^([^:]+)\/token:(.+)$/.exec(decoded);
    if (!m) return null;
    const [, email, token] = m;
    if (email.toLowerCase() === ADMIN.email && token === ADMIN.token) return { id: ADMIN_USER_ID, name: 'Simulated Admin', email: ADMIN.email, role: 'admin' };
    if (email.toLowerCase() === AGENT.email && token === AGENT.token) return { id: AGENT_USER_ID, name: 'Simulated Agent', email: AGENT.email, role: 'agent' };
    return null;
  }

  // ---------------------------------------------------------------- endpoints

  private dispatch(route: Route, url: URL, path: string, dotJson: boolean, origin: string, account: Account): Reply {
    const base = `${origin}${path}${dotJson ? '.json' : ''}`;
    switch (route.kind) {
      case 'me':
        return {
          status: 200,
          records: 1,
          body: { user: { id: account.id, url: `${origin}/api/v2/users/${account.id}.json`, name: account.name, email: account.email, role: account.role, active: true, verified: true, locale: 'en-US', time_zone: 'UTC', created_at: iso(1_700_000_000), updated_at: iso(1_700_000_000) } },
        };
      case 'routing':
        return this.routing(route.resource, url, base);
      case 'sample':
        return this.timeBased(route.resource, url, base, path, true);
      case 'cursor':
        return this.cursorBased(route.resource, url, base);
      case 'time':
        if (route.resource === 'ticket_metric_events' && (url.searchParams.has('page[size]') || url.searchParams.has('page[after]') || url.searchParams.has('page[before]'))) {
          return this.metricCursor(url, base);
        }
        return this.timeBased(route.resource, url, base, path, false);
    }
  }

  private cutoff(): number {
    return this.nowSeconds() - FRESHNESS_SECONDS;
  }

  private badRequest(description: string, code = 'InvalidValue'): HttpError {
    if (this.opts.errorShape === 'errors') return new HttpError(400, { errors: [{ code, status: '400', title: description }] });
    return new HttpError(400, { error: code, description });
  }

  private invalidCursor(): HttpError {
    return new HttpError(400, { errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] });
  }

  /** start_time: required integer, not in the future, older than one minute. */
  private startTime(url: URL): number {
    const raw = url.searchParams.get('start_time');
    if (raw === null || raw === '') throw this.badRequest('start_time is required', 'StartTimeRequired');
    if (!/^\d{1,12}$/.test(raw)) throw this.badRequest('start_time must be a Unix timestamp in seconds', 'InvalidStartTime');
    const st = Number(raw);
    const now = this.nowSeconds();
    if (st > now) throw this.badRequest('start_time is in the future', 'InvalidStartTime');
    if (st > now - FRESHNESS_SECONDS) {
      if (this.opts.errorShape === 'errors') {
        throw new HttpError(400, { errors: [{ code: 'StartTimeTooRecent', status: '400', title: 'start_time must be more than 60 seconds ago' }] });
      }
      throw new HttpError(422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });
    }
    return st;
  }

  private perPage(url: URL, name: string, max: number, fallback: number): number {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return fallback;
    const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 1 && n <= max)) throw this.badRequest(`${name} must be an integer between 1 and ${max}`, 'InvalidPageSize');
    return n;
  }

  private filters(url: URL, resource: Resource): Filters {
    const scope = url.searchParams.get('support_type_scope') ?? 'agent';
    if (!['all', 'agent', 'ai_agent'].includes(scope)) throw this.badRequest('support_type_scope must be one of all, agent, ai_agent');
    const ex = url.searchParams.get('exclude_deleted');
    if (ex !== null && !['true', 'false', '1', '0'].includes(ex)) throw this.badRequest('exclude_deleted must be true or false');
    return filtersFor(resource, ex === 'true' || ex === '1', scope);
  }

  private includes(url: URL): Set<string> {
    const set = new Set((url.searchParams.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    if (set.has('last_audits')) throw this.badRequest('last_audits is not supported on incremental exports');
    return set;
  }

  /** Query string of the next request: the received params minus `drop`, then `tail`. */
  private nextQuery(url: URL, drop: string[], head: [string, string][], tail: [string, string][]): string {
    const q = new URLSearchParams();
    for (const [k, v] of head) q.append(k, v);
    for (const [k, v] of url.searchParams) if (!drop.includes(k)) q.append(k, v);
    for (const [k, v] of tail) q.append(k, v);
    return q.toString();
  }

  private page(source: Source, entries: Entry[], origin: string, includes: Set<string>): { records: Rec[]; side: Record<string, unknown> } {
    const records = entries.map((e) => source.build(e, origin, includes));
    return { records, side: source.sideload && includes.size ? source.sideload(records, includes, origin) : {} };
  }

  private timeBased(resource: Resource, url: URL, base: string, path: string, sample: boolean): Reply {
    if (url.searchParams.has('cursor')) {
      throw this.badRequest('cursor is not supported by time-based exports; use the /cursor endpoint', 'InvalidParameter');
    }
    const st = this.startTime(url);
    const perPage = sample ? Math.min(SAMPLE_MAX, this.perPage(url, 'per_page', MAX_PER_PAGE, SAMPLE_MAX)) : this.perPage(url, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE);
    const filters = this.filters(url, resource);
    const includes = this.includes(url);
    const source = this.sources[resource];
    const legacy = sample || this.faults.take(['legacyStuckTimestamp'], path).length > 0;
    const it = visible(source.stream.after({ ts: st, id: -1 }), (e) => source.keep(e, filters), this.cutoff());
    const page = timePage(it, st, perPage, legacy);
    const { records, side } = this.page(source, page.entries, originOf(base), includes);
    const next = `${base}?${this.nextQuery(url, ['start_time'], [], [['start_time', String(page.endTime)]])}`;
    return {
      status: 200,
      records: records.length,
      body: { [source.wrapperKey]: records, ...side, count: records.length, end_of_stream: page.endOfStream, next_page: next, end_time: page.endTime },
    };
  }

  private cursorBased(resource: Resource, url: URL, base: string): Reply {
    const cursor = url.searchParams.get('cursor');
    const hasStart = url.searchParams.has('start_time');
    if (cursor !== null && hasStart) throw this.badRequest('start_time and cursor cannot be used together; send cursor alone after the first request', 'InvalidParameter');
    let after: Position;
    if (cursor !== null) {
      const p = decodeExportCursor(cursor);
      if (!p) throw this.invalidCursor();
      after = p;
    } else {
      after = { ts: this.startTime(url), id: 0 };
    }
    const perPage = this.perPage(url, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE);
    const filters = this.filters(url, resource);
    const includes = this.includes(url);
    const source = this.sources[resource];
    const it = visible(source.stream.after(after), (e) => source.keep(e, filters), this.cutoff());
    const page = cursorPage(it, after, perPage);
    const { records, side } = this.page(source, page.entries, originOf(base), includes);
    const afterCursor = encodeExportCursor(page.after);
    const afterUrl = `${base}?${this.nextQuery(url, ['cursor', 'start_time'], [['cursor', afterCursor]], [])}`;
    return {
      status: 200,
      records: records.length,
      body: { [source.wrapperKey]: records, ...side, after_url: afterUrl, before_url: null, after_cursor: afterCursor, before_cursor: null, end_of_stream: !page.hasMore },
    };
  }

  /** ticket_metric_events with page[size]: standard cursor pagination (meta/links). */
  private metricCursor(url: URL, base: string): Reply {
    if (url.searchParams.has('page[before]')) throw this.badRequest('page[before] is not supported on incremental exports', 'InvalidPaginationParameter');
    const afterRaw = url.searchParams.get('page[after]');
    const hasStart = url.searchParams.has('start_time');
    if (afterRaw !== null && hasStart) throw this.badRequest('start_time and page[after] cannot be used together', 'InvalidParameter');
    let after: Position;
    if (afterRaw !== null) {
      const p = decodeMetricCursor(afterRaw);
      if (!p) throw this.invalidCursor();
      after = p;
    } else {
      after = { ts: this.startTime(url), id: 0 };
    }
    const size = this.perPage(url, 'page[size]', METRIC_PAGE_MAX, METRIC_PAGE_MAX);
    const filters = this.filters(url, 'ticket_metric_events');
    const source = this.sources.ticket_metric_events;
    const it = visible(source.stream.after(after), (e) => source.keep(e, filters), this.cutoff());
    const page = cursorPage(it, after, size);
    const records = page.entries.map((e) => source.build(e, originOf(base), new Set()));
    const first = page.entries[0];
    const afterCursor = first ? encodeMetricCursor(page.after) : null;
    const beforeCursor = first ? encodeMetricCursor({ ts: first.ts, id: first.id }) : null;
    const link = (key: string, c: string | null): string | null =>
      c === null ? null : `${base}?${this.nextQuery(url, ['page[after]', 'page[before]', 'start_time'], [[key, c]], [])}`;
    return {
      status: 200,
      records: records.length,
      body: {
        ticket_metric_events: records,
        meta: { has_more: page.hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
        links: { prev: link('page[before]', beforeCursor), next: link('page[after]', afterCursor) },
      },
    };
  }

  private routing(resource: Resource, url: URL, base: string): Reply {
    const source = this.sources[resource];
    const cursor = url.searchParams.get('cursor');
    let index = 0;
    if (cursor !== null) {
      const decoded = decodeRoutingCursor(this.data.seed, cursor);
      if (decoded === null || decoded > source.stream.totalCount) throw this.invalidCursor();
      index = decoded;
    }
    const end = Math.min(source.stream.totalCount, index + ROUTING_PAGE);
    const records: Rec[] = [];
    let endTime = 0;
    for (let i = index; i < end; i++) {
      const e = source.stream.current(i);
      records.push(source.build(e, originOf(base), new Set()));
      endTime = e.ts;
    }
    if (records.length === 0 && index > 0) endTime = source.stream.current(index - 1).ts;
    const next = `${base}?cursor=${encodeRoutingCursor(this.data.seed, end)}`;
    return { status: 200, records: records.length, body: { [source.wrapperKey]: records, next_page: next, count: records.length, end_time: endTime } };
  }
}

/**
 * The one rule for which filters a resource honours, shared by the HTTP handlers and the oracle
 * (sample forms included: they filter like the full export of their resource).
 */
function filtersFor(resource: Resource, excludeDeleted: boolean, scope: string): Filters {
  return {
    excludeDeleted: excludeDeleted && (resource === 'tickets' || resource === 'ticket_metric_events'),
    supportTypeScope: resource === 'tickets' || resource === 'ticket_events' ? scope : 'all',
  };
}

function originOf(base: string): string {
  return new URL(base).origin;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The foreignNextPage fault: every follow-up URL in the body moves to another origin. */
function pointElsewhere(body: Rec, origin: string, foreign: string): Rec {
  const move = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(origin) ? foreign + v.slice(origin.length) : v);
  const out: Rec = { ...body };
  for (const key of ['next_page', 'after_url', 'before_url']) if (key in out) out[key] = move(out[key]);
  if (out.links && typeof out.links === 'object') {
    const links = out.links as Rec;
    out.links = { ...links, next: move(links.next), prev: move(links.prev) };
  }
  return out;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = new Simulator(opts);
  const serve = (listener: 'main' | 'foreign') => (req: http.IncomingMessage, res: http.ServerResponse): void => {
    sim.handle(req, res, listener).catch((err: unknown) => {
      opts.log?.(`simulator error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'InternalServerError', description: 'The simulator failed on this request.' }));
      } else {
        res.destroy();
      }
    });
  };
  const main = http.createServer(serve('main'));
  const foreign = http.createServer(serve('foreign'));
  const port = await listen(main, opts.port ?? 0);
  const foreignPort = await listen(foreign, 0);
  const url = `http://127.0.0.1:${port}`;
  sim.foreignOrigin = `http://127.0.0.1:${foreignPort}`;
  opts.log?.(`Zendesk simulator listening on ${url}`);
  return {
    url,
    foreignUrl: sim.foreignOrigin,
    close: async () => {
      await Promise.all([closeServer(main), closeServer(foreign)]);
    },
    setFaults: (f) => sim.setFaults(f),
    mutate: (c) => sim.mutate(c),
    advanceClock: (s) => sim.advanceClock(s),
    nowSeconds: () => sim.nowSeconds(),
    expected: ((id: string, o?: ExpectedOptions) => sim.expected(id, o)) as RunningSimulator['expected'],
    stats: () => sim.stats(),
    credentials: sim.credentials,
  };
}
