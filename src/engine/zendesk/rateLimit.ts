// Proactive pacing: Zendesk tells us on every response how many requests are left in the window,
// so we wait for the reset instead of running into a 429. One limiter per endpoint family (each
// has its own budget on Zendesk's side) plus one for the account-wide limit. An account that
// sends no family header is paced to the documented budget instead, until one shows up.
import { DEFAULT_BUDGETS, type RateBudget, type RateLimitFamily } from './catalogue';
import { cancelledError, ExportError } from '../errors';
import type { ClientEvent } from './model';
import { sleep } from './retry';

export interface RateLimitInfo {
  total: number | null;
  remaining: number | null;
  /** Seconds until the window resets, when the server said so. */
  resetSeconds: number | null;
}

export interface ParsedRateLimitHeaders {
  /** x-rate-limit / rate-limit / ratelimit-*: the account-wide plan limit. */
  account: RateLimitInfo | null;
  /** zendesk-ratelimit-<name>: the limit of the endpoint family that served the request (most restrictive if several). */
  endpoint: (RateLimitInfo & { name: string }) | null;
}

function num(value: string | null | undefined): number | null {
  if (value == null) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : null;
}

/** Parses `total=10; remaining=9; resets=60` (or `limit=..., reset=...`) into its fields. */
export function parseLimitFields(value: string): RateLimitInfo {
  const fields: Record<string, string> = {};
  for (const part of value.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim().replace(/^"|"$/g, '');
  }
  return {
    total: num(fields.total ?? fields.limit),
    remaining: num(fields.remaining),
    resetSeconds: num(fields.resets ?? fields.reset),
  };
}

/** Reads every rate-limit spelling Zendesk uses. Header names are case-insensitive (fetch lower-cases them). */
export function readRateLimitHeaders(headers: Headers): ParsedRateLimitHeaders {
  const get = (name: string) => headers.get(name);
  const total = num(get('x-rate-limit')) ?? num(get('ratelimit-limit')) ?? num(get('rate-limit'));
  const remaining = num(get('x-rate-limit-remaining')) ?? num(get('ratelimit-remaining')) ?? num(get('rate-limit-remaining'));
  const resetSeconds = num(get('ratelimit-reset')) ?? num(get('rate-limit-reset')) ?? num(get('x-rate-limit-reset'));
  let account: RateLimitInfo | null = total !== null || remaining !== null || resetSeconds !== null ? { total, remaining, resetSeconds } : null;
  // The IETF draft's combined form: `ratelimit: limit=100, remaining=50, reset=5`.
  const combined = get('ratelimit');
  if (!account && combined && combined.includes('=')) account = parseLimitFields(combined);

  let endpoint: ParsedRateLimitHeaders['endpoint'] = null;
  headers.forEach((value, key) => {
    const lower = key.toLowerCase();
    if (!lower.startsWith('zendesk-ratelimit-')) return;
    const info = parseLimitFields(value);
    if (info.total === null && info.remaining === null) return;
    const candidate = { ...info, name: lower.slice('zendesk-ratelimit-'.length) };
    if (!endpoint || (candidate.remaining ?? Infinity) < (endpoint.remaining ?? Infinity)) endpoint = candidate;
  });
  return { account, endpoint };
}

type Emit = (e: ClientEvent) => void;

export interface RateLimiterOptions {
  /** One request at a time (a family); the account limiter only waits. */
  serial: boolean;
  /**
   * Until the first header for this budget arrives, keep at most `budget.requests` requests in any
   * `budget.windowSeconds` (families: Zendesk documents them, but not every account sends the header).
   */
  paceWithoutHeaders: boolean;
}

/**
 * Budget state for one family (or the account). `acquire` serialises requests of the family:
 * Zendesk counts parallel requests against the same 10/min budget, so they only cause 429s.
 */
export class RateLimiter {
  private remaining: number | null = null;
  private total: number | null = null;
  private resetsAt: number | null = null;
  private blockedUntil = 0;
  private blockReason: 'rateLimit' | 'retryAfter' = 'rateLimit';
  private tail: Promise<void> = Promise.resolve();
  private headersSeen = false;
  /** When each recent request was answered (epoch ms), for the budget used without headers. */
  private answered: number[] = [];

  constructor(
    readonly name: string,
    readonly budget: RateBudget,
    private readonly opts: RateLimiterOptions,
  ) {}

  /** Takes the family's turn (if serial) and waits until the budget allows a request. Returns the release function. */
  async acquire(signal: AbortSignal | undefined, emit: Emit, maxWaitMs: number): Promise<() => void> {
    let release: () => void = () => undefined;
    if (this.opts.serial) {
      const previous = this.tail;
      let done!: () => void;
      this.tail = new Promise<void>((resolve) => { done = resolve; });
      release = done;
      try {
        await waitOrAbort(previous, signal);
      } catch (err) {
        // Hand the turn on once the previous holder is done, so the chain never breaks.
        void previous.then(done);
        throw err;
      }
    }
    try {
      await this.waitForBudget(signal, emit, maxWaitMs);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Sleeps while the window is exhausted or a Retry-After is pending; a wait longer than `maxWaitMs` stops the export instead. */
  async waitForBudget(signal: AbortSignal | undefined, emit: Emit, maxWaitMs: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      let until = 0;
      let reason: 'rateLimit' | 'retryAfter' = 'rateLimit';
      if (this.blockedUntil > now) {
        until = this.blockedUntil;
        reason = this.blockReason;
      }
      if (this.remaining !== null && this.remaining <= 0) {
        const reset = this.resetsAt ?? now;
        if (reset > until) {
          until = reset;
          reason = 'rateLimit';
        }
      }
      const slot = this.budgetSlot(now);
      if (slot > until) {
        until = slot;
        reason = 'rateLimit';
      }
      if (until <= now) {
        if (this.remaining !== null && this.remaining <= 0) this.remaining = null; // window has reset
        return;
      }
      if (until - now > maxWaitMs) throw waitTooLong(until, now, maxWaitMs);
      emit({ type: 'waiting', until, reason });
      await sleep(until - now, signal);
    }
  }

  /**
   * Without headers: when the next request fits the documented budget, as a sliding window over the
   * requests already answered (0 = now). Timing them by their answer, not their start, keeps the
   * count safe whatever the latency: Zendesk saw each one no later than that.
   */
  private budgetSlot(nowMs: number): number {
    if (!this.opts.paceWithoutHeaders || this.headersSeen) return 0;
    const windowMs = this.budget.windowSeconds * 1000;
    while (this.answered.length > 0 && this.answered[0] + windowMs <= nowMs) this.answered.shift();
    if (this.answered.length < this.budget.requests) return 0;
    return this.answered[this.answered.length - this.budget.requests] + windowMs;
  }

  /** Counts a request that was sent (answered, failed or timed out) against the budget used without headers. */
  noteRequest(nowMs: number = Date.now()): void {
    if (!this.opts.paceWithoutHeaders || this.headersSeen) return;
    this.answered.push(nowMs);
    // Only the newest `requests` entries can ever decide a wait.
    if (this.answered.length > this.budget.requests) this.answered.splice(0, this.answered.length - this.budget.requests);
  }

  /** Records what the last response said about this budget; from then on the headers rule. */
  observe(info: RateLimitInfo, emit: Emit, nowMs: number = Date.now()): void {
    this.headersSeen = true;
    this.answered = [];
    this.total = info.total ?? this.total;
    const before = this.remaining;
    this.remaining = info.remaining;
    if (info.resetSeconds !== null) {
      // A value that looks like an epoch is absolute; otherwise it is seconds from now. A small
      // margin absorbs the time the answer took to arrive.
      const reported = info.resetSeconds > 1e9 ? info.resetSeconds * 1000 : nowMs + info.resetSeconds * 1000 + 25;
      // Zendesk rounds resets up to whole seconds, so every answer bounds the true reset from above:
      // within one window (the count going down while the known reset is still ahead) keep the
      // earliest, or each answer's rounding would push the next window later.
      const sameWindow = this.resetsAt !== null && this.resetsAt > nowMs && before !== null && info.remaining !== null && info.remaining < before;
      this.resetsAt = sameWindow ? Math.min(this.resetsAt!, reported) : reported;
    } else if (info.remaining !== null && info.remaining <= 0) {
      // Exhausted without a reset time: the only safe assumption is a full window.
      this.resetsAt = nowMs + this.budget.windowSeconds * 1000;
    } else {
      this.resetsAt = null;
    }
    emit({ type: 'rateLimit', family: this.name, total: this.total, remaining: this.remaining, resetsAt: this.resetsAt });
  }

  /** Blocks every request of this family until `untilMs` (a 429's Retry-After). */
  block(untilMs: number, reason: 'rateLimit' | 'retryAfter'): void {
    if (untilMs > this.blockedUntil) {
      this.blockedUntil = untilMs;
      this.blockReason = reason;
    }
  }

  /** When the window ends, if this budget is known to be exhausted (the reason for a bare 429). */
  exhaustedUntil(nowMs: number = Date.now()): number | null {
    const exhausted = this.remaining !== null && this.remaining <= 0;
    return exhausted && this.resetsAt !== null && this.resetsAt > nowMs ? this.resetsAt : null;
  }
}

/** One sentence for a wait past the cap, naming the time Zendesk named. */
export function waitTooLong(untilMs: number, nowMs: number, maxWaitMs: number): ExportError {
  // Whole seconds first: a Retry-After of 120 read a millisecond later is still "2 min", not "120 s".
  const minutes = (ms: number) => {
    const s = Math.round(ms / 1000);
    return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
  };
  const when = Number.isFinite(untilMs) && untilMs < 8.64e15 ? new Date(untilMs).toISOString() : 'a time too far away to name';
  return new ExportError(
    'rateLimited',
    `Zendesk asked to wait until ${when} (${minutes(untilMs - nowMs)}), longer than the ${minutes(maxWaitMs)} an export waits at most; resume after that time (the longest wait is set with --max-wait in zdx, zendesk.export.maxWaitMinutes in VS Code).`,
  );
}

function waitOrAbort(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(cancelledError());
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}

const ACCOUNT_BUDGET: RateBudget = { requests: 700, windowSeconds: 60 };
const registry = new Map<string, RateLimiter>();

/**
 * The limiters for one origin: shared by every export in this process against that account, so
 * two exports of the same family take turns instead of racing for one budget. `budget` is the
 * family's budget used until Zendesk sends its header (tests pass a short one).
 */
export function limitersFor(
  origin: string,
  family: RateLimitFamily,
  budget: RateBudget = DEFAULT_BUDGETS[family],
): { family: RateLimiter; account: RateLimiter } {
  const familyKey = `${origin} ${family} ${budget.requests}/${budget.windowSeconds}`;
  let fam = registry.get(familyKey);
  if (!fam) {
    fam = new RateLimiter(family, budget, { serial: true, paceWithoutHeaders: true });
    registry.set(familyKey, fam);
  }
  const accountKey = `${origin} account`;
  let account = registry.get(accountKey);
  if (!account) {
    // The plan limit (200 to 2500/min) can't be guessed, so the account is paced by its headers
    // alone: remaining=0 waits for the reset.
    account = new RateLimiter('account', ACCOUNT_BUDGET, { serial: false, paceWithoutHeaders: false });
    registry.set(accountKey, account);
  }
  return { family: fam, account };
}
