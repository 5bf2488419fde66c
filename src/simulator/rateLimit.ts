// Fixed-window budgets per endpoint family plus the account-wide one, on real time (scaled by
// timeScale so tests can exhaust a "minute" in a second), and the header spellings Zendesk uses.
import { DEFAULT_BUDGETS, HIGH_VOLUME_BUDGETS, type RateBudget, type RateLimitFamily } from '../engine/zendesk';
import type { RateLimitOptions } from './types';

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
const FAMILY_HEADER: Record<RateLimitFamily, string> = {
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
  private readonly families = new Map<RateLimitFamily, FixedWindow>();
  private readonly account: FixedWindow;
  private readonly clock = (): number => performance.now();

  constructor(opts: false | RateLimitOptions | undefined) {
    this.enabled = opts !== false;
    const o = opts || {};
    this.timeScale = o.timeScale && o.timeScale > 0 ? o.timeScale : 1;
    const origin = this.clock();
    const budgets: Record<RateLimitFamily, RateBudget> = { ...(o.highVolume ? HIGH_VOLUME_BUDGETS : DEFAULT_BUDGETS), ...o.budgets };
    for (const family of Object.keys(budgets) as RateLimitFamily[]) {
      const b = budgets[family];
      this.families.set(family, new FixedWindow(b.requests, (b.windowSeconds * 1000) / this.timeScale, origin));
    }
    const accountPerMinute = o.accountPerMinute ?? (o.highVolume ? 2500 : 700);
    this.account = new FixedWindow(accountPerMinute, 60_000 / this.timeScale, origin);
  }

  /** Seconds as the client should read them: integers at real speed, decimals when scaled. */
  private seconds(ms: number): string {
    const s = Math.max(0, ms) / 1000;
    if (this.timeScale === 1) return String(Math.max(1, Math.ceil(s)));
    return String(Math.max(0.001, Math.round(s * 1000) / 1000));
  }

  /** Spends one request from the account bucket and, when given, the family bucket. */
  check(family: RateLimitFamily | null): RateDecision {
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
  peek(family: RateLimitFamily | null): Record<string, string> {
    return this.enabled ? this.headersAt(this.clock(), family) : this.unlimitedHeaders(family);
  }

  private headersAt(now: number, family: RateLimitFamily | null): Record<string, string> {
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

  private unlimitedHeaders(family: RateLimitFamily | null): Record<string, string> {
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
