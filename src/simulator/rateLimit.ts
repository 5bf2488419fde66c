// Fixed-window budgets per endpoint family plus the account-wide one, on real time (scaled by
// timeScale so tests can exhaust a "minute" in a second), and the header spellings Zendesk uses.
import type { RateBudget, RateFamily, RateLimitOptions } from './types';

// The budgets Zendesk documents, written down here from ../shared/zendesk/api-behaviour.md §1
// "Rate limits" and nowhere else: the simulator must not take them from the client it tests, or a
// wrong number in the engine's catalogue would pass unnoticed.
//   incremental exports 10 requests/min, 30/min with the High Volume add-on [S1, S4];
//   users/cursor 20/min, 60/min with High Volume [S1 "Incremental User Export, Cursor Based"];
//   sample 10 requests per 20 minutes [S1/OAS];
//   account-wide 700/min (Enterprise, what recorded responses carry), 2500/min with High Volume [S4, S7].
export const DOCUMENTED_BUDGETS: Readonly<Record<RateFamily, RateBudget>> = {
  incremental: { requests: 10, windowSeconds: 60 },
  usersCursor: { requests: 20, windowSeconds: 60 },
  sample: { requests: 10, windowSeconds: 20 * 60 },
};
export const DOCUMENTED_HIGH_VOLUME_BUDGETS: Readonly<Record<RateFamily, RateBudget>> = {
  incremental: { requests: 30, windowSeconds: 60 },
  usersCursor: { requests: 60, windowSeconds: 60 },
  sample: { requests: 10, windowSeconds: 20 * 60 },
};
export const DOCUMENTED_ACCOUNT_PER_MINUTE = 700;
export const DOCUMENTED_HIGH_VOLUME_ACCOUNT_PER_MINUTE = 2500;

class FixedWindow {
  private windowStart: number;
  private used = 0;
  constructor(readonly limit: number, readonly windowMs: number, origin: number) {
    this.windowStart = origin;
  }
  private roll(now: number): void {
    if (now >= this.windowStart + this.windowMs) {
      this.windowStart += Math.floor((now - this.windowStart) / this.windowMs) * this.windowMs;
      this.used = 0;
    }
  }
  /** Remaining budget and ms until the window resets, without spending anything. */
  peek(now: number): { remaining: number; resetMs: number } {
    this.roll(now);
    return { remaining: Math.max(0, this.limit - this.used), resetMs: this.windowStart + this.windowMs - now };
  }
  spend(now: number): void {
    this.roll(now);
    this.used++;
  }
}

/** Family headers use Zendesk's endpoint-specific name (`zendesk-ratelimit-<name>`). */
const FAMILY_HEADER: Record<RateFamily, string> = {
  incremental: 'zendesk-ratelimit-incremental-exports',
  usersCursor: 'Zendesk-RateLimit-incremental-exports-cursor',
  sample: 'zendesk-ratelimit-incremental-exports-sample',
};

export const RATE_LIMIT_BODY = {
  error: 'APIRateLimitExceeded',
  description: 'Number of allowed incremental export API requests per minute exceeded',
};
export const ACCOUNT_RATE_LIMIT_BODY = {
  error: 'APIRateLimitExceeded',
  description: 'Number of allowed API requests per minute exceeded',
};

export interface RateDecision {
  allowed: boolean;
  /** Seconds (scaled) until the exhausted bucket resets; set when !allowed. */
  retryAfter?: string;
  /** Which bucket refused: the family or the account. */
  refusedBy?: 'family' | 'account';
  headers: Record<string, string>;
}

export class RateLimiter {
  private readonly enabled: boolean;
  private readonly timeScale: number;
  private readonly wholeSeconds: boolean;
  private readonly families = new Map<RateFamily, FixedWindow>();
  private readonly account: FixedWindow;

  /** @param clock milliseconds on a monotonic clock (real time; injectable for unit tests). */
  constructor(opts: false | RateLimitOptions | undefined, private readonly clock: () => number = () => performance.now()) {
    this.enabled = opts !== false;
    const o = opts || {};
    this.timeScale = o.timeScale && o.timeScale > 0 ? o.timeScale : 1;
    this.wholeSeconds = this.timeScale === 1 || o.wholeSecondResets === true;
    const origin = this.clock();
    const budgets: Record<RateFamily, RateBudget> = { ...(o.highVolume ? DOCUMENTED_HIGH_VOLUME_BUDGETS : DOCUMENTED_BUDGETS), ...o.budgets };
    for (const family of Object.keys(budgets) as RateFamily[]) {
      const b = budgets[family];
      this.families.set(family, new FixedWindow(b.requests, (b.windowSeconds * 1000) / this.timeScale, origin));
    }
    const accountPerMinute = o.accountPerMinute ?? (o.highVolume ? DOCUMENTED_HIGH_VOLUME_ACCOUNT_PER_MINUTE : DOCUMENTED_ACCOUNT_PER_MINUTE);
    this.account = new FixedWindow(accountPerMinute, 60_000 / this.timeScale, origin);
  }

  /** Seconds as the client should read them: whole seconds rounded up (as Zendesk), or decimals when scaled. */
  private seconds(ms: number): string {
    const s = Math.max(0, ms) / 1000;
    if (this.wholeSeconds) return String(Math.max(1, Math.ceil(s)));
    return String(Math.max(0.001, Math.round(s * 1000) / 1000));
  }

  /** Spends one request from the account bucket and, when given, the family bucket. */
  check(family: RateFamily | null): RateDecision {
    if (!this.enabled) return { allowed: true, headers: this.unlimitedHeaders(family) };
    const now = this.clock();
    const acc = this.account.peek(now);
    const fam = family ? this.families.get(family)! : null;
    const famState = fam ? fam.peek(now) : null;
    let allowed = true;
    let refusedBy: RateDecision['refusedBy'];
    let retryMs = 0;
    if (famState && famState.remaining <= 0) {
      allowed = false;
      refusedBy = 'family';
      retryMs = famState.resetMs;
    }
    if (acc.remaining <= 0) {
      allowed = false;
      refusedBy ??= 'account';
      retryMs = Math.max(retryMs, acc.resetMs);
    }
    if (allowed) {
      this.account.spend(now);
      fam?.spend(now);
    }
    const headers = this.headersAt(now, family);
    return allowed ? { allowed, headers } : { allowed, headers, refusedBy, retryAfter: this.seconds(retryMs) };
  }

  /** The headers as they stand, without spending anything (for responses that never reach a handler). */
  peek(family: RateFamily | null): Record<string, string> {
    return this.enabled ? this.headersAt(this.clock(), family) : this.unlimitedHeaders(family);
  }

  private headersAt(now: number, family: RateFamily | null): Record<string, string> {
    const fam = family ? this.families.get(family)! : null;
    const accAfter = this.account.peek(now);
    const headers: Record<string, string> = {
      'x-rate-limit': String(this.account.limit),
      'x-rate-limit-remaining': String(accAfter.remaining),
      'rate-limit': String(this.account.limit),
      'rate-limit-remaining': String(accAfter.remaining),
      'rate-limit-reset': this.seconds(accAfter.resetMs),
      'ratelimit-limit': String(this.account.limit),
      'ratelimit-remaining': String(accAfter.remaining),
      'ratelimit-reset': this.seconds(accAfter.resetMs),
    };
    if (fam && family) {
      const f = fam.peek(now);
      headers[FAMILY_HEADER[family]] = `total=${fam.limit}; remaining=${f.remaining}; resets=${this.seconds(f.resetMs)}`;
    }
    return headers;
  }

  private unlimitedHeaders(family: RateFamily | null): Record<string, string> {
    const big = '1000000';
    const headers: Record<string, string> = {
      'x-rate-limit': big, 'x-rate-limit-remaining': big,
      'rate-limit': big, 'rate-limit-remaining': big, 'rate-limit-reset': '60',
      'ratelimit-limit': big, 'ratelimit-remaining': big, 'ratelimit-reset': '60',
    };
    if (family) headers[FAMILY_HEADER[family]] = `total=${big}; remaining=${big}; resets=60`;
    return headers;
  }
}
