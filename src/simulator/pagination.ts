// Page selection for the three pagination models, as observed on the wire (api-behaviour.md §3-5).
import { hash32, hex } from './random';
import type { Entry, Position } from './stream';

/** Zendesk's default and maximum page size for the time-based exports. */
export const FULL_PAGE = 1000;

/** Visible entries after `after`, stopping at the first one newer than `cutoff`. */
export function* visible(source: Iterable<Entry>, keep: (e: Entry) => boolean, cutoff: number): Generator<Entry> {
  for (const e of source) {
    if (e.ts > cutoff) return;
    if (keep(e)) yield e;
  }
}

export interface TimePage {
  entries: Entry[];
  endTime: number;
  endOfStream: boolean;
}

/**
 * Time-based page from `startTime` (inclusive).
 * - A small per_page never splits a second: the page grows to hold the whole last second and
 *   end_time = max_ts + 1 (recorded: per_page=1 gave pages of 7, 6, 10… tickets).
 * - A full default-size page keeps exactly per_page records and end_time = max_ts, so the next
 *   page repeats the boundary second (recorded: n=1000, end_time == max ts). Only when the
 *   whole page is one second does it overflow, as the docs promise.
 * - At the end of the stream end_time = max_ts (the tail is re-read by a follow-up poll, zenpy#451).
 * - `legacy` reproduces the old bug: never overflow, end_time = max_ts even inside one busy second.
 */
export function timePage(source: Iterator<Entry>, startTime: number, perPage: number, legacy: boolean): TimePage {
  const { entries, next } = take(source, perPage);
  let r = next;
  if (r.done) {
    return { entries, endTime: entries.length ? entries[entries.length - 1].ts : startTime, endOfStream: true };
  }
  const lastTs = entries[entries.length - 1].ts;
  if (legacy) return { entries, endTime: lastTs, endOfStream: false };
  const overflow = perPage < FULL_PAGE || entries[0].ts === lastTs;
  if (!overflow) return { entries, endTime: lastTs, endOfStream: false };
  while (!r.done && r.value.ts === lastTs) {
    entries.push(r.value);
    r = source.next();
  }
  return { entries, endTime: lastTs + 1, endOfStream: Boolean(r.done) };
}

export interface CursorPage {
  entries: Entry[];
  /** Position after the last entry (or the request's position when the page is empty). */
  after: Position;
  hasMore: boolean;
}

/** Keyset page: exactly `perPage` entries after `after` (recorded: per_page=1 gave 1 per page). */
export function cursorPage(source: Iterator<Entry>, after: Position, perPage: number): CursorPage {
  const { entries, next } = take(source, perPage);
  const last = entries[entries.length - 1];
  return { entries, after: last ? { ts: last.ts, id: last.id } : after, hasMore: !next.done };
}

/** Up to `perPage` entries, plus the iterator's next result (done = nothing follows). */
function take(source: Iterator<Entry>, perPage: number): { entries: Entry[]; next: IteratorResult<Entry> } {
  const entries: Entry[] = [];
  let next = source.next();
  while (!next.done && entries.length < perPage) {
    entries.push(next.value);
    next = source.next();
  }
  return { entries, next };
}

/** Export cursor as recorded: base64("<epoch>.0||<id>|"). */
export function encodeExportCursor(p: Position): string {
  return Buffer.from(`${p.ts}.0||${p.id}|`).toString('base64');
}

export function decodeExportCursor(cursor: string): Position | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) return null;
  const m = /^(\d{1,12})\.0\|\|(\d{1,16})\|$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) return null;
  const p = { ts: Number(m[1]), id: Number(m[2]) };
  return Number.isSafeInteger(p.ts) && Number.isSafeInteger(p.id) ? p : null;
}

/** Cursor for standard (page[size]) pagination of ticket_metric_events: opaque, URL-safe. */
export function encodeMetricCursor(p: Position): string {
  return Buffer.from(`tme:${p.ts}:${p.id}`).toString('base64url');
}

export function decodeMetricCursor(cursor: string): Position | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const m = /^tme:(\d{1,12}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { ts: Number(m[1]), id: Number(m[2]) } : null;
}

/** Routing cursors look like the UUIDs in Zendesk's examples but encode the next index. */
export function encodeRoutingCursor(seed: number, index: number): string {
  const mask = hash32(seed, 0x70c, 0, 0);
  const a = hash32(seed, index, 0x70c, 1);
  const b = hash32(seed, index, 0x70c, 2);
  return `${hex((index ^ mask) >>> 0, 8)}-${hex(a, 4)}-4${hex(a >>> 16, 3)}-${hex(0x8000 | (b & 0x3fff), 4)}-${hex(b >>> 16, 4)}${hex(a ^ b, 8)}`;
}

export function decodeRoutingCursor(seed: number, cursor: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(cursor)) return null;
  const index = (parseInt(cursor.slice(0, 8), 16) ^ hash32(seed, 0x70c, 0, 0)) >>> 0;
  return encodeRoutingCursor(seed, index) === cursor ? index : null;
}
