// Backoff, Retry-After parsing and abortable waits: the building blocks the HTTP client uses to
// survive 429s, 5xx storms, timeouts and dropped connections without hammering Zendesk.
import { cancelledError } from '../errors';

export interface RetryPolicy {
  /** Attempts after the first one for 5xx, network errors and timeouts. */
  maxRetries: number;
  /** First backoff ceiling; doubles per attempt (full jitter picks uniformly below it). */
  baseDelayMs: number;
  /** Upper bound of a single backoff wait. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 6, baseDelayMs: 1000, maxDelayMs: 60_000 };

/** Exponential backoff with full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffDelayMs(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * Retry-After in milliseconds, or null when absent or unreadable. Zendesk and its edge have sent
 * "93", "93.0" and HTTP dates, so all three are accepted; a value with trailing junk keeps its
 * leading number (what Airbyte learned to do).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  if (/[a-z]/i.test(text)) {
    const date = Date.parse(text);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const leading = /^(\d+(?:\.\d+)?)/.exec(text);
  if (leading) return Math.ceil(Number(leading[1]) * 1000);
  return null;
}

/** per_page after a 504 or a timeout: half, never below 1. */
export function halvePerPage(perPage: number): number {
  return Math.max(1, Math.floor(perPage / 2));
}

/** The longest delay a timer takes as it is (Node fires larger ones after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits ms milliseconds (at most ~24.8 days, a timer's limit; callers cap their waits far below), or
 * rejects with ExportError('cancelled') as soon as the signal aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelledError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A short, secret-free description of a network-level failure for progress messages. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof SyntaxError) return 'the response body was not complete JSON';
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } } | null;
  const code = e?.cause?.code ?? e?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
