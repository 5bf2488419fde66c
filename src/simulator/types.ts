// Public shapes of the simulator: options, faults, the running handle. Consumers (engine tests,
// CLI `zdx simulate`, benchmarks) import these from src/simulator/index.ts. The simulator is the
// other side of the wire, so it defines its own vocabulary instead of borrowing the engine's.

export type CountName =
  | 'tickets' | 'users' | 'organizations' | 'ticketEvents' | 'metricEvents'
  | 'routingAttributes' | 'routingAttributeValues' | 'routingInstanceValues';

/** Limits a fault to some requests. Without `times` it fires on every matching request. */
export interface FaultScope {
  /** Fire on at most this many matching requests, then stop. */
  times?: number;
  /** Let this many matching requests through before firing (e.g. fail the third page). */
  skip?: number;
  /** Only requests whose path (without `.json`) contains this string, e.g. `/tickets/cursor`. */
  path?: string;
}

/** Retry-After value in real (already scaled) seconds for the 429 faults; default 1. */
interface RetryAfterOption { retryAfter?: number }

export type Fault = FaultScope & (
  /** 429 with a text/plain body `Number of allowed API requests per minute exceeded` (airbyte#11035). */
  | ({ kind: 'plainText429' } & RetryAfterOption)
  /** 429 with the JSON body but no Retry-After header. */
  | { kind: 'noRetryAfter429' }
  /** 429 from the edge/WAF: `{"detail":"Rate limited by Zendesk edge protection","status":"429","title":"Automated response"}`. */
  | ({ kind: 'edge429' } & RetryAfterOption)
  /** 429 whose Retry-After is an HTTP-date. */
  | ({ kind: 'httpDateRetryAfter429' } & RetryAfterOption)
  /** 429 whose Retry-After is a decimal such as `1.5` (default 1.5). */
  | ({ kind: 'decimalRetryAfter429' } & RetryAfterOption)
  /** 500 (JSON), 502 or 503 (HTML). Default 503. */
  | { kind: 'status5xx'; status?: 500 | 502 | 503 }
  /** 504 Gateway Timeout while the request's per_page (default 1000) exceeds `maxPerPage`. */
  | { kind: 'timeoutAbovePageSize'; maxPerPage: number }
  /** Delay the response by `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** Destroy the socket without a response. */
  | { kind: 'connectionReset' }
  /** 200 with half of the JSON body, then the response ends. */
  | { kind: 'truncatedBody' }
  /** next_page / after_url / links.next point at the simulator's second ("foreign") origin. */
  | { kind: 'foreignNextPage' }
  /** Old time-based behaviour: no page overflow, end_time = max_ts, so a busy second never advances. */
  | { kind: 'legacyStuckTimestamp' }
  /** 403 with an empty text/html body. */
  | { kind: 'empty403' }
  /** 401 `Couldn't authenticate you` even with valid credentials (an expired OAuth token). */
  | { kind: 'unauthorized' }
);

export type FaultKind = Fault['kind'];

/** Zendesk's rate-limit families for the incremental exports, each with its own budget. */
export type RateFamily = 'incremental' | 'usersCursor' | 'sample';

export interface RateBudget {
  requests: number;
  windowSeconds: number;
}

export interface RateLimitOptions {
  /** 60 => a 60 s window lasts 1 s; header and Retry-After values are scaled (decimals allowed). */
  timeScale?: number;
  /** High Volume add-on: incremental 30/min, users/cursor 60/min, account 2500/min. */
  highVolume?: boolean;
  /** Override a family budget (window in unscaled seconds). */
  budgets?: Partial<Record<RateFamily, RateBudget>>;
  /** Account-wide requests per minute (default 700, or 2500 with highVolume). */
  accountPerMinute?: number;
  /**
   * Report every reset (`rate-limit-reset`, `ratelimit-reset`, the family header's `resets=`) and
   * every Retry-After in whole seconds rounded up, as Zendesk does, even when timeScale makes a
   * window last less than a minute. Default: whole seconds at timeScale 1, decimals when scaled.
   */
  wholeSecondResets?: boolean;
  /**
   * The windows' clock, in milliseconds (default real time). A test passes one it moves, so that a
   * window ends when the test says rather than when the machine gets round to it.
   */
  clock?: () => number;
}

/** The account's own activity while the simulator runs (see src/simulator/live.ts). */
export interface LiveOptions {
  /**
   * Average business changes per minute of the data clock (default 4): a new, updated or deleted
   * ticket with its audit and metric event, a new or updated user or organization. The schedule
   * and every change are derived from the seed, so a fixed clock gives the same account every run.
   */
  changesPerMinute?: number;
}

export interface SimulatorOptions {
  /** 0 (default) = a random free port on 127.0.0.1. */
  port?: number;
  seed?: number;
  counts?: Partial<Record<CountName, number>>;
  /** false disables enforcement (headers then advertise a huge budget). Default: real limits, timeScale 1. */
  rateLimits?: false | RateLimitOptions;
  /** Extra latency per response: fixed, or a function of the number of records in the page. */
  latencyMs?: number | ((records: number) => number);
  faults?: Fault[];
  /** Shape of the "too recent start_time" error: classic 422 InvalidValue (default) or 400 StartTimeTooRecent. */
  errorShape?: 'classic' | 'errors';
  /** One line per request; nothing is printed without it. */
  log?: (line: string) => void;
  /**
   * Wall clock for the data (ms since epoch); default Date.now. A fixed function (`() => T`) stops
   * the data clock, so only advanceClock moves it: tests use that for deterministic data.
   * Rate-limit windows and OAuth expiry always use real time.
   */
  now?: () => number;
  /**
   * Unix seconds the seeded history is placed against: it covers the 18 months before the anchor,
   * its last record at least 62 s before it (so everything is exportable at once). Default: the data
   * clock when the simulator starts, so the account has data up to the present. Never after the clock.
   */
  anchor?: number;
  /** The account keeps changing while it runs. Default off here; `zdx simulate`, `zdx demo` and the extension's demo turn it on. */
  live?: boolean | LiveOptions;
  /** Extra OAuth bearer tokens accepted for the admin account (e.g. a refreshed token). */
  extraOAuthTokens?: string[];
  /** OAuth server: token lifetimes and clients (default public client `zdx-demo`, scopes ['read']). See src/simulator/oauth.ts. */
  oauth?: import('./oauth').SimulatorOAuthOptions;
}

export interface AccountCredentials {
  email: string;
  token: string;
  oauthToken: string;
}

export interface RequestLogEntry {
  method: string;
  /** Path and query as received. */
  url: string;
  host: string;
  status: number;
  authorization: boolean;
  /** Which listener got it: the simulator itself or the foreign origin. */
  origin: 'main' | 'foreign';
}

export interface SimulatorStats {
  requests: number;
  byStatus: Record<number, number>;
  /** Every distinct Host (host:port) on which an Authorization header arrived. */
  authorizationSentTo: string[];
  /** Requests that reached the foreign origin (see the foreignNextPage fault). */
  foreignRequests: number;
  /** The last 2000 requests, oldest first. */
  requestLog: RequestLogEntry[];
  /** Changes the live activity has applied so far (0 when it is off). */
  liveChanges: number;
  /** Held requests answered because their hold ran out (maxHoldMs) rather than by release(). */
  holdsExpired: number;
  /**
   * refresh_token grants that presented a refresh token already exchanged (refused, and the pair
   * it was rotated into revoked): a client must never send one, so tests expect 0.
   */
  refreshTokenReuses: number;
}

export type RoutingEndpointId = 'routing_attributes' | 'routing_attribute_values' | 'routing_instance_values';

export interface ExpectedOptions {
  startTime?: number;
  excludeDeleted?: boolean;
  supportTypeScope?: string;
}

/** Resources of the current-state view (the oracle's "latest version of each id"). */
export type CurrentResource =
  | 'tickets' | 'users' | 'organizations' | 'ticket_events' | 'ticket_metric_events'
  | 'routing_attributes' | 'routing_attribute_values' | 'routing_instance_values';

export interface CurrentRecord<Id = number> {
  id: Id;
  /** The version's timestamp: generated_timestamp, updated_at, timestamp or time, in Unix seconds. */
  ts: number;
  /**
   * A tombstone: a ticket with status "deleted", a user with active false, an organization with
   * deleted_at, a metric event with deleted true, a routing event of type "delete".
   */
  deleted: boolean;
}

export interface MutationResult {
  /** The second the new versions carry (visible once the data clock passes ts + 60). */
  ts: number;
  newIds: number[];
  updatedIds: number[];
}

export interface HoldOptions {
  /** Let this many export requests through first, then hold the ones after (default 0: hold the next). */
  afterPages?: number;
  /** Only hold requests whose path (without `.json`) contains this, e.g. `/tickets/cursor`. */
  path?: string;
  /**
   * A held request is answered anyway after this long, so a test that never calls release() cannot
   * hang an export: default 30 000 ms, at most 600 000 ms. stats().holdsExpired counts those.
   */
  maxHoldMs?: number;
}

export interface HeldRequest {
  /** Path and query as received. */
  url: string;
  /** Export requests that passed the hold before this one (the `afterPages` that went through). */
  passedBefore: number;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:43123 (no trailing slash). */
  url: string;
  /** The second listener used by the foreignNextPage fault, e.g. http://127.0.0.1:43124 (another origin: another port). */
  foreignUrl: string;
  /** Unix seconds the seeded history was placed against (see SimulatorOptions.anchor). */
  anchor: number;
  /** Unix seconds of the first second of seeded history: a start time from here exports everything. */
  historyStart: number;
  close(): Promise<void>;
  setFaults(faults: Fault[]): void;
  /** New tickets and new versions of existing tickets, stamped with the data clock's current second. */
  mutate(change: { newTickets?: number; updatedTickets?: number }): MutationResult;
  /** Moves the data clock forward (e.g. 61 s to make just-mutated tickets visible); never backward. */
  advanceClock(seconds: number): void;
  /** The data clock in Unix seconds. */
  nowSeconds(): number;
  /**
   * The oracle: the record versions a complete export from startTime must contain, in stream order,
   * live changes included (as of the data clock). Routing events have UUID string ids: ask for them
   * with the routing endpoint id as a literal.
   */
  expected(endpointId: RoutingEndpointId, opts?: ExpectedOptions): { id: string; ts: number }[];
  expected(endpointId: string, opts?: ExpectedOptions): { id: number; ts: number }[];
  /**
   * The oracle's current-state view: the latest version of each id that an export can see now,
   * sorted by id, tombstones marked. An id whose latest change is still inside the freshness
   * minute is left out; advance the clock past it first (as a resumed export must wait too), and
   * this is the state every complete sequence of exports ends in.
   */
  current(resource: 'routing_attributes' | 'routing_attribute_values' | 'routing_instance_values', opts?: { supportTypeScope?: string }): CurrentRecord<string>[];
  current(resource: CurrentResource, opts?: { supportTypeScope?: string }): CurrentRecord[];
  /**
   * Holds export requests (after auth, faults and rate limiting, before the page is built) until
   * release(), so a test can watch an export in progress. A new hold() replaces the previous one.
   */
  hold(options?: HoldOptions): void;
  /** Answers every held request and stops holding. */
  release(): void;
  /**
   * Resolves once `count` requests (default 1) are being held at the same time, at once if they are,
   * with the oldest; rejects after timeoutMs (default 30 000). Several exports held together: pass
   * their number.
   */
  waitForHeld(timeoutMs?: number, count?: number): Promise<HeldRequest>;
  /** The requests held right now, oldest first (a request whose client gave up stays held until released). */
  heldRequests(): HeldRequest[];
  stats(): SimulatorStats;
  credentials: { admin: AccountCredentials; agent: AccountCredentials };
}
