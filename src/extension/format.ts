// Small text helpers shared by the views, the status bar and notifications.
import type { SessionCounts, SessionInfo } from '../protocol/customMessages';

const numberFormat = new Intl.NumberFormat('en-US');

export function n(value: number): string {
  return numberFormat.format(value);
}

export function plural(value: number, one: string, many = `${one}s`): string {
  return `${n(value)} ${value === 1 ? one : many}`;
}

/** "1,000 records, 1 page": the short form, for the status bar. */
export function recordsAndPages(c: Pick<SessionCounts, 'records' | 'pages'>): string {
  return `${plural(c.records, 'record')}, ${plural(c.pages, 'page')}`;
}

/**
 * How a start time reads in a name or a list: "since -7d", "since 2024-01-01"; a start of 0 (or
 * none) is "from the beginning", never "since 0".
 */
export function sinceText(startTime: string | number | undefined): string {
  const s = String(startTime ?? '').trim();
  return s === '' || /^0+$/.test(s) ? 'from the beginning' : `since ${s}`;
}

export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/** "12,000 records · 12 pages" plus the wait, the part every surface shows. */
export function countsText(c: SessionCounts): string {
  const parts = [plural(c.records, 'record'), plural(c.pages, 'page')];
  if (c.rateLimitWaits) parts.push(plural(c.rateLimitWaits, 'rate-limit wait'));
  return parts.join(' · ');
}

export function waitingText(c: SessionCounts, now = Date.now()): string | undefined {
  return c.waitingUntil && c.waitingUntil > now ? `waiting until ${clock(c.waitingUntil)}` : undefined;
}

export function statusText(s: SessionInfo): string {
  if (s.status === 'running') return waitingText(s.counts) ?? (s.resumed ? 'resuming' : 'running');
  if (s.status === 'done') return s.caughtUp ? 'caught up' : 'done';
  return s.status;
}
