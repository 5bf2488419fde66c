// The Zendesk client. Every request goes through openapi-fetch typed by the project's own OpenAPI
// document; this file adds what the document can't express: the origin guard for next-page links,
// HTTPS-only, per-request timeouts, rate-limit pacing, retries, OAuth refresh and one clear
// sentence per failure.
import createClient, { type Client } from 'openapi-fetch';
import type { RateBudget, RateLimitFamily } from './catalogue';
import { AuthSession } from './auth';
import { cancelledError, ExportError } from '../errors';
import { validateBaseUrl } from './connectionUrl';
import { assertDocumentedParams, type ApiPath, type ApiQuery } from './api';
import type { components, paths } from './generated/zendesk';
import type { ClientEvent, Connection } from './model';
import { limitersFor, readRateLimitHeaders, waitTooLong } from './rateLimit';
import { BodyTooLargeError, nodeFetch } from './transport';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, describeNetworkError, halvePerPage, parseRetryAfter, sleep, type RetryPolicy } from './retry';

export type Emit = (e: ClientEvent) => void;

/** A field definition as Zendesk lists it: ticket fields (tickets carry values by id), user and organization fields (by key). */
export type ZendeskField = components['schemas']['TicketField'] | components['schemas']['KeyedField'];

/** The three field lists, by the kind of record whose custom fields they name. */
const FIELD_LISTS = {
  ticket: { path: '/api/v2/ticket_fields', key: 'ticket_fields' },
  user: { path: '/api/v2/user_fields', key: 'user_fields' },
  organization: { path: '/api/v2/organization_fields', key: 'organization_fields' },
} as const satisfies Record<string, { path: ApiPath; key: string }>;

/** Cursor pages of field lists hold at most this many. */
const FIELD_PAGE_SIZE = 100;
/** No account has more fields than this many pages hold; past it the links go round in circles. */
const MAX_FIELD_PAGES = 1000;

export interface ApiRequest {
  path: ApiPath;
  query: ApiQuery;
  /** Rate-limit family; null for requests outside the incremental budgets (users/me). */
  family: RateLimitFamily | null;
  /** The query parameter that carries the page size, so a 504/timeout can halve it. */
  perPageParam?: 'per_page' | 'page[size]' | null;
}

/** The page size in force for one stream; halved in place on 504s and timeouts. */
export interface PerPageState {
  value: number | null;
}

export type ApiOutcome =
  | { kind: 'ok'; status: number; body: Record<string, unknown>; headers: Headers; url: string }
  /** 400/422 "Too recent start_time" / StartTimeTooRecent: nothing new yet, i.e. caught up. */
  | { kind: 'tooRecent'; message: string }
  /** 400 InvalidCursor: the caller restarts from its timestamp fallback. */
  | { kind: 'invalidCursor'; message: string };

export interface ClientOptions {
  connection: Connection;
  signal?: AbortSignal;
  emit?: Emit;
  /** Per-request timeout (headers and body). Default 60 s. */
  requestTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Family budgets used until Zendesk sends the family's header; default DEFAULT_BUDGETS (tests shorten them). */
  rateBudgets?: Partial<Record<RateLimitFamily, RateBudget>>;
  /** The longest single wait (rate limit, Retry-After, backoff); longer stops with 'rateLimited'. Default DEFAULT_MAX_WAIT_MS. */
  maxWaitMs?: number;
  /** The largest response body read, after decompression. Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

/** The longest window Zendesk documents (the sample budget's 20 minutes): no honest wait is longer. */
export const DEFAULT_MAX_WAIT_MS = 20 * 60_000;

/** A page of 1,000 records with every sideload is tens of MB; a body past this is not a page. */
export const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;

/** Zendesk's own words for a failure, whatever envelope it came in (classic, `errors[]`, edge, plain text). */
export function describeErrorBody(body: unknown): { code: string | null; text: string | null } {
  if (typeof body === 'string') {
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    return { code: null, text: text ? text.slice(0, 300) : null };
  }
  if (!body || typeof body !== 'object') return { code: null, text: null };
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    const first = b.errors[0] as Record<string, unknown> | string;
    if (typeof first === 'string') return { code: null, text: first };
    const code = typeof first.code === 'string' ? first.code : null;
    const text = [first.title, first.detail, first.description].find((v): v is string => typeof v === 'string');
    return { code, text: text ?? code };
  }
  const code = typeof b.error === 'string' ? b.error : typeof b.code === 'string' ? b.code : null;
  const text = [b.description, b.detail, b.title, b.message, b.error].find((v) => typeof v === 'string' && v !== '') as string | undefined;
  return { code, text: text ?? null };
}

interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it isn't JSON, or undefined when empty. */
  body: unknown;
  /** Set when a 2xx body was not complete JSON (truncated). */
  parseError?: unknown;
}

class TimeoutError extends Error {}

export class ZendeskClient {
  readonly origin: string;
  readonly host: string;
  private readonly auth: AuthSession;
  private readonly api: Client<paths>;
  private readonly signal: AbortSignal | undefined;
  private readonly emit: Emit;
  private readonly timeoutMs: number;
  private readonly budgets: Partial<Record<RateLimitFamily, RateBudget>>;
  private readonly maxWaitMs: number;
  private readonly maxBodyBytes: number;
  /** Zendesk's clock minus ours, from the Date header of its last answer; null until one arrived. */
  private clockOffsetMs: number | null = null;
  readonly policy: RetryPolicy;

  constructor(opts: ClientOptions) {
    this.origin = validateBaseUrl(opts.connection.baseUrl);
    this.host = new URL(this.origin).host;
    this.auth = new AuthSession(opts.connection.credentials);
    this.signal = opts.signal;
    this.emit = opts.emit ?? (() => undefined);
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(opts.retry ?? {}) };
    this.budgets = opts.rateBudgets ?? {};
    this.maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.api = createClient<paths>({ baseUrl: this.origin, fetch: nodeFetch(this.maxBodyBytes) });
  }

  /**
   * Zendesk's clock (epoch ms) as its last Date header told it, or null before any answer: judgements
   * about time ("too recent to ask", clamping start_time) use the server's clock, not this machine's.
   */
  serverNow(): number | null {
    return this.clockOffsetMs === null ? null : Date.now() + this.clockOffsetMs;
  }

  private noteServerDate(date: string | null): void {
    const at = date ? Date.parse(date) : Number.NaN;
    // Date has whole seconds: take the middle of the second it names.
    if (Number.isFinite(at)) this.clockOffsetMs = at + 500 - Date.now();
  }

  /** Full URL of a request, for progress events (never contains a secret). */
  urlFor(path: string, query: ApiQuery): string {
    const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return `${this.origin}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * Turns a next_page / after_url / links.next link into a request on the configured origin.
   * A link to any other origin stops the export before anything is sent there.
   */
  resolveLink(link: string, expectedPath: ApiPath): URLSearchParams {
    let url: URL;
    try {
      url = new URL(link, this.origin);
    } catch {
      throw new ExportError('server', `Zendesk returned a next-page link that is not a URL (${link.slice(0, 200)}); the export stopped at the last complete page.`);
    }
    if (url.origin !== this.origin) {
      throw new ExportError(
        'foreignOrigin',
        `Zendesk's next-page link points at ${url.origin}, not ${this.origin}; the export stopped rather than send your credentials to another host.`,
        link,
      );
    }
    const path = url.pathname.replace(/\.json$/, '').replace(/\/+$/, '');
    if (path !== expectedPath) {
      throw new ExportError('server', `Zendesk's next-page link leads to ${path}, not ${expectedPath}; the export stopped at the last complete page.`, link);
    }
    return url.searchParams;
  }

  /**
   * One logical GET: paced by the rate limiters, retried on 429/5xx/network errors/timeouts,
   * per_page halved on 504/timeout. Returns the parsed body or a recognised "soft" outcome;
   * everything else becomes an ExportError with one clear sentence.
   */
  async request(req: ApiRequest, perPage: PerPageState = { value: null }): Promise<ApiOutcome> {
    assertDocumentedParams(req);
    let failures = 0;
    let rateLimited = 0;
    // Tokens this request was refused with: each is renewed at most once (a retry refused with the
    // new token may renew again, e.g. when another export rotated the pair meanwhile; three at most).
    const refused = new Set<string>();
    const limiters = req.family ? limitersFor(this.origin, req.family, this.budgets[req.family]) : null;
    const account = limitersFor(this.origin, 'incremental').account;

    for (;;) {
      if (this.signal?.aborted) throw cancelledError();
      const query: ApiQuery = { ...req.query };
      if (req.perPageParam && perPage.value !== null) query[req.perPageParam] = perPage.value;
      const url = this.urlFor(req.path, query);

      // The family's turn first (it may take a while), then the account budget as it is by then.
      const release = limiters ? await limiters.family.acquire(this.signal, this.emit, this.maxWaitMs) : () => undefined;
      let raw: RawResponse;
      let sentWith = '';
      try {
        await account.waitForBudget(this.signal, this.emit, this.maxWaitMs);
        this.emit({ type: 'request', url, perPage: req.perPageParam ? perPage.value : null });
        // Counted whatever the outcome: a failed request may still have reached Zendesk's budget.
        sentWith = this.auth.token();
        raw = await this.send(req.path, query, this.auth.header()).finally(() => limiters?.family.noteRequest());
        this.noteServerDate(raw.headers.get('date'));
        const rl = readRateLimitHeaders(raw.headers);
        if (rl.account) account.observe(rl.account, this.emit);
        if (rl.endpoint && limiters) limiters.family.observe(rl.endpoint, this.emit);
        if (raw.status === 429) {
          const retryAfter = parseRetryAfter(raw.headers.get('retry-after'));
          // Without Retry-After: the reset of whichever budget the headers show exhausted, else
          // exponential backoff capped at the family's window.
          const exhausted = limiters?.family.exhaustedUntil() ?? account.exhaustedUntil();
          const window = (limiters?.family.budget.windowSeconds ?? 60) * 1000;
          const wait = retryAfter
            ?? (exhausted !== null ? exhausted - Date.now() : backoffDelayMs(rateLimited, { baseDelayMs: this.policy.baseDelayMs, maxDelayMs: window }));
          // Block the whole family, so another export against the same account waits too.
          (limiters?.family ?? account).block(Date.now() + wait, retryAfter !== null ? 'retryAfter' : 'rateLimit');
        }
      } catch (err) {
        release();
        if (err instanceof ExportError) throw err;
        if (this.signal?.aborted) throw cancelledError();
        if (err instanceof BodyTooLargeError || (err as { cause?: unknown })?.cause instanceof BodyTooLargeError) {
          throw new ExportError('server', `${this.host} answered ${req.path} with a body larger than ${Math.round(this.maxBodyBytes / 1048576)} MiB once decompressed; the export stopped instead of reading it (a page is never that large).`);
        }
        const timedOut = err instanceof TimeoutError;
        failures++;
        if (timedOut) this.halve(req, perPage);
        const message = timedOut
          ? `no response within ${Math.round(this.timeoutMs / 1000)} s`
          : describeNetworkError(err);
        if (failures > this.policy.maxRetries) {
          throw new ExportError('network', `Couldn't reach ${this.host} (${message}) after ${failures} attempts; check the network and resume the export.`, message);
        }
        await this.backoff(failures, null, message);
        continue;
      }
      release();

      const { status } = raw;
      if (status >= 200 && status < 300) {
        if (raw.parseError !== undefined || !raw.body || typeof raw.body !== 'object' || Array.isArray(raw.body)) {
          failures++;
          const message = raw.parseError !== undefined ? describeNetworkError(raw.parseError) : 'the response body was empty or not a JSON object';
          if (failures > this.policy.maxRetries) {
            throw new ExportError('server', `Zendesk kept sending incomplete responses for ${req.path} (${message}); resume the export later.`, message);
          }
          await this.backoff(failures, status, message);
          continue;
        }
        return { kind: 'ok', status, body: raw.body as Record<string, unknown>, headers: raw.headers, url };
      }
      if (status === 429) {
        rateLimited++;
        const max = Math.max(10, this.policy.maxRetries);
        if (rateLimited > max) {
          throw new ExportError('rateLimited', `Zendesk kept rate-limiting ${this.host} (${rateLimited} times in a row); another integration may be using the same budget, so resume the export later.`);
        }
        this.emit({ type: 'retry', attempt: rateLimited, status, message: describeErrorBody(raw.body).text ?? 'rate limited' });
        continue; // the limiter's block makes the next acquire wait (and emit 'waiting')
      }
      if (status === 401) {
        if (this.auth.canRefresh() && !refused.has(sentWith) && refused.size < 3) {
          refused.add(sentWith);
          if (await this.auth.refresh(sentWith)) continue;
        }
        throw new ExportError('auth', this.auth.rejectedMessage(this.host));
      }
      const said = describeErrorBody(raw.body);
      if (status === 403) {
        const need = req.path.includes('/routing/') ? 'routing exports need an admin account and the Enterprise plan' : 'incremental exports need an admin account';
        throw new ExportError('forbidden', `Zendesk refused access to ${req.path} on ${this.host} (403): ${need}${said.text ? ` (Zendesk said: ${said.text})` : ''}.`);
      }
      if (status === 404) {
        const plan = req.path.includes('/routing/') ? ', and note routing exports need the Enterprise plan' : '';
        throw new ExportError('notFound', `Zendesk has no ${req.path} on ${this.host} (404): check the subdomain or URL${plan}.`);
      }
      if (status === 400 || status === 422) {
        const text = `${said.code ?? ''} ${said.text ?? ''}`;
        if (/StartTimeTooRecent|too recent/i.test(text)) return { kind: 'tooRecent', message: said.text ?? 'start_time too recent' };
        if (/InvalidCursor|cursor is invalid|invalid cursor/i.test(text)) return { kind: 'invalidCursor', message: said.text ?? 'invalid cursor' };
        throw new ExportError('badRequest', `Zendesk rejected the request for ${req.path} (${status}): ${said.text ?? said.code ?? 'no reason given'}.`);
      }
      if (status >= 300 && status < 400) {
        const location = raw.headers.get('location');
        throw new ExportError('server', `${this.host} answered with a redirect${location ? ` to ${location}` : ''}; check the connection's URL (the export doesn't follow redirects, to keep credentials on the configured host).`);
      }
      if (status === 409 || status >= 500) {
        failures++;
        if (status === 504) this.halve(req, perPage);
        const message = `${status}${said.text ? ` ${said.text}` : ''}`;
        if (failures > this.policy.maxRetries) {
          throw new ExportError('server', `Zendesk kept failing on ${req.path} (${message}) after ${failures} attempts; resume the export later.`, message);
        }
        // A 503 for maintenance says when to come back; retrying sooner only spends the attempts.
        await this.backoff(failures, status, message, parseRetryAfter(raw.headers.get('retry-after')));
        continue;
      }
      throw new ExportError('badRequest', `Zendesk rejected the request for ${req.path} (${status})${said.text ? `: ${said.text}` : ''}.`);
    }
  }

  /**
   * Every field definition of one kind (GET /api/v2/ticket_fields, /user_fields, /organization_fields),
   * in cursor pages of 100. These lists are outside the incremental budgets: only the account-wide
   * limit paces them (family null), with the same retries as any request.
   */
  async listFields(kind: keyof typeof FIELD_LISTS, pageSize = FIELD_PAGE_SIZE): Promise<ZendeskField[]> {
    const { path, key } = FIELD_LISTS[kind];
    const out: ZendeskField[] = [];
    let query: ApiQuery = { 'page[size]': pageSize };
    for (let page = 1; ; page++) {
      const outcome = await this.request({ path, query, family: null });
      if (outcome.kind !== 'ok') throw new ExportError('server', `Zendesk answered the ${key} list with "${outcome.message}", which only export streams should say.`);
      const body = outcome.body as { meta?: { has_more?: unknown }; links?: { next?: unknown } } & Record<string, unknown>;
      const list = body[key];
      if (!Array.isArray(list)) throw new ExportError('server', `Zendesk's answer for ${path} holds no ${key} list; check the connection's URL.`);
      out.push(...(list as ZendeskField[]));
      const next = body.links?.next;
      if (body.meta?.has_more !== true || typeof next !== 'string' || !next) return out;
      const after = this.resolveLink(next, path).get('page[after]');
      if (!after || page >= MAX_FIELD_PAGES) throw new ExportError('server', `Zendesk's ${key} pages don't come to an end (page ${page}); the export stopped rather than loop.`);
      query = { 'page[size]': pageSize, 'page[after]': after };
    }
  }

  private halve(req: ApiRequest, perPage: PerPageState): void {
    if (!req.perPageParam || perPage.value === null || perPage.value <= 1) return;
    perPage.value = halvePerPage(perPage.value);
    this.emit({ type: 'perPage', perPage: perPage.value });
  }

  /** Exponential backoff with jitter, but never shorter than the server's Retry-After (ms) when it sent one. */
  private async backoff(attempt: number, status: number | null, message: string, retryAfterMs: number | null = null): Promise<void> {
    this.emit({ type: 'retry', attempt, status, message });
    const jitter = backoffDelayMs(attempt - 1, this.policy);
    const delay = Math.max(jitter, retryAfterMs ?? 0);
    if (delay > this.maxWaitMs) throw waitTooLong(Date.now() + delay, Date.now(), this.maxWaitMs);
    if (delay > 0) this.emit({ type: 'waiting', until: Date.now() + delay, reason: delay > jitter ? 'retryAfter' : 'backoff' });
    await sleep(delay, this.signal);
  }

  /** One HTTP exchange: status, headers and a defensively parsed body. Throws on network errors and timeouts. */
  private async send(path: ApiPath, query: ApiQuery, authorization: string): Promise<RawResponse> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    try {
      const { data, error, response } = await this.api.GET(path, {
        params: { query },
        parseAs: 'text',
        signal,
        headers: { Authorization: authorization, Accept: 'application/json' },
        redirect: 'manual',
      });
      if (response.ok) {
        const text = typeof data === 'string' ? data : '';
        if (text.trim() === '') return { status: response.status, headers: response.headers, body: undefined };
        try {
          return { status: response.status, headers: response.headers, body: JSON.parse(text) };
        } catch (parseError) {
          return { status: response.status, headers: response.headers, body: text, parseError };
        }
      }
      return { status: response.status, headers: response.headers, body: error === '' ? undefined : error };
    } catch (err) {
      if (timeout.aborted && !this.signal?.aborted) throw new TimeoutError('timeout');
      throw err;
    }
  }
}


function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
