// A session's running totals, kept from the engine's progress events. Every wait the engine reports
// carries its end as epoch milliseconds.
import type { ProgressEvent } from '../engine/export';
import type { SessionCounts } from '../protocol/customMessages';

export function countEvent(c: SessionCounts, e: ProgressEvent, nowMs: number = Date.now()): void {
  switch (e.type) {
    case 'request':
      c.requests++;
      c.waitingUntil = null;
      if (e.perPage !== null) c.perPage = e.perPage;
      break;
    case 'page':
      // A page that needed no request (the position was too recent to ask) adds none.
      c.sessionPages += Math.max(0, e.pages - c.pages);
      c.pages = e.pages;
      c.sessionRecords += e.pageRecords;
      c.records = e.records;
      c.duplicatesDropped += e.duplicatesDropped;
      c.lastRecordTime = e.lastRecordTime ?? c.lastRecordTime;
      c.waitingUntil = null;
      break;
    case 'rateLimit':
      c.rateLimit = { family: e.family, total: e.total, remaining: e.remaining, resetsAt: e.resetsAt };
      break;
    case 'waiting':
      c.rateLimitWaits++;
      c.waitedMs += Math.max(0, e.until - nowMs);
      c.waitingUntil = e.until;
      break;
    case 'retry':
      c.retries++;
      break;
    case 'perPage':
      c.perPage = e.perPage;
      break;
    case 'done':
      c.waitingUntil = null;
      break;
    default:
      break;
  }
}
