// What every endpoint handler shares: the reply shape, Zendesk's error bodies, the rules for the
// parameters (start_time, page sizes, cursors) and the follow-up links built from a request.

/** What a handler produces: a JSON body, or a ready-made error. */
export interface Reply {
  status: number;
  body: unknown;
  records: number;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}`);
  }
}

/** Data from the most recent minute is never returned (api-behaviour.md §2). */
export const FRESHNESS_SECONDS = 60;

export class RequestRules {
  constructor(
    /** Shape of validation errors: classic `{error, description}` or `{errors: [{code, status, title}]}`. */
    private readonly errorShape: 'classic' | 'errors',
    /** The data clock in Unix seconds. */
    private readonly nowSeconds: () => number,
  ) {}

  badRequest(description: string, code = 'InvalidValue'): HttpError {
    if (this.errorShape === 'errors') return new HttpError(400, { errors: [{ code, status: '400', title: description }] });
    return new HttpError(400, { error: code, description });
  }

  invalidCursor(): HttpError {
    return new HttpError(400, { errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] });
  }

  /** The newest second an export may serve. */
  cutoff(): number {
    return this.nowSeconds() - FRESHNESS_SECONDS;
  }

  /** start_time: required integer, not in the future, older than one minute. */
  startTime(url: URL): number {
    const raw = url.searchParams.get('start_time');
    if (raw === null || raw === '') throw this.badRequest('start_time is required', 'StartTimeRequired');
    if (!/^\d{1,12}$/.test(raw)) throw this.badRequest('start_time must be a Unix timestamp in seconds', 'InvalidStartTime');
    const st = Number(raw);
    const now = this.nowSeconds();
    if (st > now) throw this.badRequest('start_time is in the future', 'InvalidStartTime');
    if (st > now - FRESHNESS_SECONDS) {
      if (this.errorShape === 'errors') {
        throw new HttpError(400, { errors: [{ code: 'StartTimeTooRecent', status: '400', title: 'start_time must be more than 60 seconds ago' }] });
      }
      throw new HttpError(422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });
    }
    return st;
  }

  /** A page-size parameter (`per_page`, `page[size]`), 1..max, or the fallback when absent. */
  pageSize(url: URL, name: string, max: number, fallback: number): number {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return fallback;
    const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 1 && n <= max)) throw this.badRequest(`${name} must be an integer between 1 and ${max}`, 'InvalidPageSize');
    return n;
  }
}

/** Query string of the next request: `head`, then the received params minus `drop`, then `tail`. */
export function nextQuery(url: URL, drop: string[], head: [string, string][], tail: [string, string][]): string {
  const q = new URLSearchParams();
  for (const [k, v] of head) q.append(k, v);
  for (const [k, v] of url.searchParams) if (!drop.includes(k)) q.append(k, v);
  for (const [k, v] of tail) q.append(k, v);
  return q.toString();
}

/**
 * The `meta` and `links` of Zendesk's standard cursor pagination (page[size] / page[after]), as
 * ticket_metric_events and the field lists use it.
 */
export function cursorLinks(url: URL, base: string, hasMore: boolean, afterCursor: string | null, beforeCursor: string | null): { meta: Record<string, unknown>; links: Record<string, unknown> } {
  const link = (key: string, c: string | null): string | null =>
    c === null ? null : `${base}?${nextQuery(url, ['page[after]', 'page[before]', 'start_time'], [[key, c]], [])}`;
  return {
    meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
    links: { prev: link('page[before]', beforeCursor), next: link('page[after]', afterCursor) },
  };
}

export function originOf(base: string): string {
  return new URL(base).origin;
}
