// The HTTP front of the simulator: routing, auth, faults, rate limits, holds and the data clock.
// Pages come from src/simulator/exportEndpoints.ts and src/simulator/fields.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_USER_ID, AGENT_USER_ID, Dataset, iso, type Rec } from './dataset';
import { ExportEndpoints, filtersFor, SAMPLE_MAX, MAX_PER_PAGE } from './exportEndpoints';
import { FaultBook } from './faults';
import { fieldList } from './fields';
import { HoldGate } from './hold';
import { LiveActivity, livePace } from './live';
import { visible } from './pagination';
import { OAuthServer } from './oauth';
import { hash32 } from './random';
import { ACCOUNT_RATE_LIMIT_BODY, RATE_LIMIT_BODY, RateLimiter } from './rateLimit';
import { HttpError, RequestRules, type Reply } from './requests';
import { exportById, ROUTES, type ExportRoute, type Route } from './routes';
import { makeSources, type Resource, type Source } from './sources';
import type {
  AccountCredentials, CurrentRecord, CurrentResource, ExpectedOptions, Fault, MutationResult, RequestLogEntry, RunningSimulator,
  SimulatorOptions, SimulatorStats,
} from './types';

const FORBIDDEN_BODY = {
  error: 'Forbidden',
  description: 'You do not have access to this page. Please contact the account owner of this help desk for further help.',
};
const UNAUTHORIZED_BODY = { error: "Couldn't authenticate you" };

const ADMIN: AccountCredentials = { email: 'admin@example.com', token: 'sim-admin-token', oauthToken: 'sim-oauth-token' };
const AGENT: AccountCredentials = { email: 'agent@example.com', token: 'sim-agent-token', oauthToken: 'sim-agent-oauth-token' };

interface Account { id: number; name: string; email: string; role: 'admin' | 'agent' }

function isExport(route: Route): route is ExportRoute {
  return route.kind !== 'me' && route.kind !== 'fields';
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
  private readonly stat = { requests: 0, byStatus: {} as Record<number, number>, authorizationSentTo: [] as string[], foreignRequests: 0, requestLog: [] as RequestLogEntry[] };
  private readonly sources: Record<Resource, Source>;
  private readonly rules: RequestRules;
  private readonly exports: ExportEndpoints;
  private readonly live: LiveActivity | null;
  readonly gate = new HoldGate();
  foreignOrigin = '';

  constructor(private readonly opts: SimulatorOptions) {
    this.clock = opts.now ?? Date.now;
    const now = this.nowSeconds();
    const anchor = opts.anchor ?? now;
    if (!Number.isSafeInteger(anchor) || anchor > now) {
      throw new Error(`anchor must be whole Unix seconds at or before the simulator's clock (${now}); got ${String(opts.anchor)}.`);
    }
    this.data = new Dataset(opts.seed ?? 1, opts.counts, anchor);
    const pace = livePace(opts.live);
    this.live = pace === null ? null : new LiveActivity(this.data, pace, now);
    this.limiter = new RateLimiter(opts.rateLimits, opts.rateLimits ? opts.rateLimits.clock : undefined);
    this.oauthAdmin = new Set([ADMIN.oauthToken, ...(opts.extraOAuthTokens ?? [])]);
    this.oauth = new OAuthServer(opts.oauth, this.oauthAdmin);
    this.faults.set(opts.faults ?? []);
    this.sources = makeSources(this.data);
    this.rules = new RequestRules(opts.errorShape ?? 'classic', () => this.nowSeconds());
    this.exports = new ExportEndpoints(this.data, this.sources, this.rules);
  }

  // ---------------------------------------------------------------- public operations

  setFaults(f: Fault[]): void {
    this.faults.set(f);
  }

  nowSeconds(): number {
    return Math.floor((this.clock() + this.clockOffsetMs) / 1000);
  }

  advanceClock(seconds: number): void {
    if (!(Number.isFinite(seconds) && seconds >= 0)) throw new Error(`advanceClock takes seconds, 0 or more (got ${String(seconds)}): the data clock never goes back.`);
    this.clockOffsetMs += seconds * 1000;
  }

  /** Brings the live activity up to the data clock; every read of the streams comes after it. */
  private sync(): void {
    this.live?.catchUp(this.nowSeconds());
  }

  mutate(change: { newTickets?: number; updatedTickets?: number }): MutationResult {
    this.sync();
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
    this.sync();
    return {
      ...this.stat,
      byStatus: { ...this.stat.byStatus },
      authorizationSentTo: [...this.stat.authorizationSentTo],
      requestLog: [...this.stat.requestLog],
      liveChanges: this.live?.changes ?? 0,
      holdsExpired: this.gate.expired,
      refreshTokenReuses: this.oauth.refreshTokenReuses,
    };
  }

  expected(endpointId: string, o: ExpectedOptions = {}): { id: number | string; ts: number }[] {
    const form = exportById(endpointId);
    if (!form) throw new Error(`Unknown endpoint id ${endpointId}.`);
    this.sync();
    const source = this.sources[form.resource];
    if (form.kind === 'routing') {
      const out: { id: string; ts: number }[] = [];
      for (const e of source.stream.after({ ts: -1, id: -1 })) out.push({ id: source.build(e, '', new Set()).id as string, ts: e.ts });
      return out;
    }
    const filters = filtersFor(form.resource, Boolean(o.excludeDeleted), o.supportTypeScope ?? 'agent');
    const limit = form.kind === 'sample' ? SAMPLE_MAX : Infinity;
    const out: { id: number; ts: number }[] = [];
    for (const e of visible(source.stream.after({ ts: o.startTime ?? 0, id: -1 }), (x) => source.keep(x, filters), this.rules.cutoff())) {
      if (out.length >= limit) break;
      out.push({ id: e.id, ts: e.ts });
    }
    return out;
  }

  current(resource: CurrentResource, o: { supportTypeScope?: string } = {}): CurrentRecord<number | string>[] {
    const source = this.sources[resource];
    if (!source) throw new Error(`Unknown resource ${String(resource)}; use one of ${Object.keys(this.sources).join(', ')}.`);
    this.sync();
    const filters = filtersFor(resource, false, o.supportTypeScope ?? 'agent');
    const routing = resource.startsWith('routing_');
    // Routing exports serve their whole history at once; the others nothing from the last minute.
    const entries = routing ? source.stream.after({ ts: -1, id: -1 }) : visible(source.stream.after({ ts: -1, id: -1 }), (x) => source.keep(x, filters), this.rules.cutoff());
    const out: CurrentRecord<number | string>[] = [];
    for (const e of entries) out.push({ id: routing ? (source.build(e, '', new Set()).id as string) : e.id, ts: e.ts, deleted: source.deleted(e) });
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
    const exportRoute = route && isExport(route) ? route : null;
    // Field lists and users/me count against the account budget only.
    const family = exportRoute?.family ?? null;
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
    // Exports are for admins; agents may read users/me and the field lists.
    if (exportRoute && account.role !== 'admin') {
      this.sendJson(res, 403, FORBIDDEN_BODY, this.limiter.peek(family));
      return finish(403);
    }

    // Faults that replace the whole response. They fire before the rate limiter, so they do not spend budget.
    // Routing exports have a fixed page size, so a page-size timeout cannot apply to them.
    const perPageAsked = !exportRoute || exportRoute.kind === 'routing' ? 0
      : Number(url.searchParams.get('page[size]') ?? url.searchParams.get('per_page') ?? (exportRoute.kind === 'sample' ? SAMPLE_MAX : MAX_PER_PAGE));
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
    // A test holding exports sees them wait here, their budget spent, before the page is built.
    if (exportRoute) await this.gate.pass(path, req.url ?? '/');

    let reply: Reply;
    try {
      this.sync();
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
      // The account's clock, as Zendesk's Date header gives its own (the simulator's may be set or moved).
      date: new Date(this.nowSeconds() * 1000).toUTCString(),
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
      case 'me': {
        const at = iso(this.data.accountCreated);
        return {
          status: 200,
          records: 1,
          body: { user: { id: account.id, url: `${origin}/api/v2/users/${account.id}.json`, name: account.name, email: account.email, role: account.role, active: true, verified: true, locale: 'en-US', time_zone: 'UTC', created_at: at, updated_at: at } },
        };
      }
      case 'fields':
        return fieldList(this.data.fields, route.list, url, base, this.rules, this.nowSeconds());
      default:
        return this.exports.reply(route, url, base, () => this.faults.take(['legacyStuckTimestamp'], path).length > 0);
    }
  }
}

/** Latency and the slow fault: a closed simulator's sleeping requests don't keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
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
  const inflight = new Set<Promise<void>>();
  const serve = (listener: 'main' | 'foreign') => (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const handled = sim.handle(req, res, listener).catch((err: unknown) => {
      opts.log?.(`simulator error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'InternalServerError', description: 'The simulator failed on this request.' }));
      } else {
        res.destroy();
      }
    });
    inflight.add(handled);
    void handled.finally(() => inflight.delete(handled));
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
    anchor: sim.data.anchor,
    historyStart: sim.data.historyStart,
    close: async () => {
      // Requests a test still held get their answer before the sockets close (at most 5 s).
      if (sim.gate.release() > 0) await Promise.race([Promise.allSettled([...inflight]), sleep(5000)]);
      await Promise.all([closeServer(main), closeServer(foreign)]);
    },
    setFaults: (f) => sim.setFaults(f),
    mutate: (c) => sim.mutate(c),
    advanceClock: (s) => sim.advanceClock(s),
    nowSeconds: () => sim.nowSeconds(),
    expected: ((id: string, o?: ExpectedOptions) => sim.expected(id, o)) as RunningSimulator['expected'],
    current: ((resource: CurrentResource, o?: { supportTypeScope?: string }) => sim.current(resource, o)) as RunningSimulator['current'],
    hold: (o) => sim.gate.hold(o),
    release: () => {
      sim.gate.release();
    },
    waitForHeld: (timeoutMs, count) => sim.gate.waitForHeld(timeoutMs, count),
    heldRequests: () => sim.gate.heldNow(),
    stats: () => sim.stats(),
    credentials: sim.credentials,
  };
}
