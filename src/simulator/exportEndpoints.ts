// The incremental export endpoints: each request's parameters checked as Zendesk checks them, and a
// generated stream turned into a page in the endpoint's pagination model (api-behaviour.md §3-6).
import type { Dataset, Filters, Rec } from './dataset';
import {
  cursorPage, decodeExportCursor, decodeMetricCursor, decodeRoutingCursor, encodeExportCursor,
  encodeMetricCursor, encodeRoutingCursor, timePage, visible, type CursorPage,
} from './pagination';
import { cursorLinks, nextQuery, originOf, type Reply, type RequestRules } from './requests';
import type { ExportRoute } from './routes';
import type { Resource, Source } from './sources';
import type { Entry, Position } from './stream';

export const MAX_PER_PAGE = 1000;
export const SAMPLE_MAX = 50;
const METRIC_PAGE_MAX = 100;
const ROUTING_PAGE = 3000;

/** The two keyset dialects: the export cursor (tickets, users) and standard page[size] cursors (metric events). */
interface KeysetDialect {
  cursorParam: 'cursor' | 'page[after]';
  sizeParam: 'per_page' | 'page[size]';
  maxSize: number;
  decode(cursor: string): Position | null;
}

const EXPORT_CURSOR: KeysetDialect = { cursorParam: 'cursor', sizeParam: 'per_page', maxSize: MAX_PER_PAGE, decode: decodeExportCursor };
const METRIC_CURSOR: KeysetDialect = { cursorParam: 'page[after]', sizeParam: 'page[size]', maxSize: METRIC_PAGE_MAX, decode: decodeMetricCursor };

/**
 * The one rule for which filters a resource honours, shared by the handlers and the oracle
 * (sample forms included: they filter like the full export of their resource).
 */
export function filtersFor(resource: Resource, excludeDeleted: boolean, scope: string): Filters {
  return {
    excludeDeleted: excludeDeleted && (resource === 'tickets' || resource === 'ticket_metric_events'),
    supportTypeScope: resource === 'tickets' || resource === 'ticket_events' ? scope : 'all',
  };
}

export class ExportEndpoints {
  constructor(
    private readonly data: Dataset,
    private readonly sources: Record<Resource, Source>,
    private readonly rules: RequestRules,
  ) {}

  /**
   * One page of an export. `base` is the request's origin and path as sent (with `.json` when it had
   * it); `legacyFault` takes the legacyStuckTimestamp fault, asked only where it applies.
   */
  reply(route: ExportRoute, url: URL, base: string, legacyFault: () => boolean): Reply {
    switch (route.kind) {
      case 'routing':
        return this.routing(route.resource, url, base);
      case 'sample':
        return this.timeBased(route.resource, url, base, true, true);
      case 'cursor':
        return this.exportCursor(route.resource, url, base);
      case 'time':
        if (route.resource === 'ticket_metric_events' && (url.searchParams.has('page[size]') || url.searchParams.has('page[after]') || url.searchParams.has('page[before]'))) {
          return this.metricCursor(url, base);
        }
        return this.timeBased(route.resource, url, base, false, legacyFault());
    }
  }

  private filters(url: URL, resource: Resource): Filters {
    const scope = url.searchParams.get('support_type_scope') ?? 'agent';
    if (!['all', 'agent', 'ai_agent'].includes(scope)) throw this.rules.badRequest('support_type_scope must be one of all, agent, ai_agent');
    const ex = url.searchParams.get('exclude_deleted');
    if (ex !== null && !['true', 'false', '1', '0'].includes(ex)) throw this.rules.badRequest('exclude_deleted must be true or false');
    return filtersFor(resource, ex === 'true' || ex === '1', scope);
  }

  private includes(url: URL): Set<string> {
    const set = new Set((url.searchParams.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    if (set.has('last_audits')) throw this.rules.badRequest('last_audits is not supported on incremental exports');
    return set;
  }

  private page(source: Source, entries: Entry[], origin: string, includes: Set<string>): { records: Rec[]; side: Record<string, unknown> } {
    const records = entries.map((e) => source.build(e, origin, includes));
    return { records, side: source.sideload && includes.size ? source.sideload(records, includes, origin) : {} };
  }

  private visibleAfter(source: Source, after: Position, filters: Filters): Generator<Entry> {
    return visible(source.stream.after(after), (e) => source.keep(e, filters), this.rules.cutoff());
  }

  private timeBased(resource: Resource, url: URL, base: string, sample: boolean, legacy: boolean): Reply {
    if (url.searchParams.has('cursor')) {
      throw this.rules.badRequest('cursor is not supported by time-based exports; use the /cursor endpoint', 'InvalidParameter');
    }
    const st = this.rules.startTime(url);
    const perPage = sample ? Math.min(SAMPLE_MAX, this.rules.pageSize(url, 'per_page', MAX_PER_PAGE, SAMPLE_MAX)) : this.rules.pageSize(url, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE);
    const filters = this.filters(url, resource);
    const includes = this.includes(url);
    const source = this.sources[resource];
    const page = timePage(this.visibleAfter(source, { ts: st, id: -1 }, filters), st, perPage, legacy);
    const { records, side } = this.page(source, page.entries, originOf(base), includes);
    const next = `${base}?${nextQuery(url, ['start_time'], [], [['start_time', String(page.endTime)]])}`;
    return {
      status: 200,
      records: records.length,
      body: { [source.wrapperKey]: records, ...side, count: records.length, end_of_stream: page.endOfStream, next_page: next, end_time: page.endTime },
    };
  }

  /** The keyset page both cursor dialects share: start_time once, then the cursor alone; exact page sizes. */
  private keyset(resource: Resource, url: URL, d: KeysetDialect): { source: Source; page: CursorPage } {
    const cursor = url.searchParams.get(d.cursorParam);
    if (cursor !== null && url.searchParams.has('start_time')) {
      throw this.rules.badRequest(`start_time and ${d.cursorParam} cannot be used together; send ${d.cursorParam} alone after the first request`, 'InvalidParameter');
    }
    let after: Position;
    if (cursor !== null) {
      const p = d.decode(cursor);
      if (!p) throw this.rules.invalidCursor();
      after = p;
    } else {
      after = { ts: this.rules.startTime(url), id: 0 };
    }
    const size = this.rules.pageSize(url, d.sizeParam, d.maxSize, d.maxSize);
    const filters = this.filters(url, resource);
    const source = this.sources[resource];
    return { source, page: cursorPage(this.visibleAfter(source, after, filters), after, size) };
  }

  private exportCursor(resource: Resource, url: URL, base: string): Reply {
    const { source, page } = this.keyset(resource, url, EXPORT_CURSOR);
    const includes = this.includes(url);
    const { records, side } = this.page(source, page.entries, originOf(base), includes);
    const afterCursor = encodeExportCursor(page.after);
    const afterUrl = `${base}?${nextQuery(url, ['cursor', 'start_time'], [['cursor', afterCursor]], [])}`;
    return {
      status: 200,
      records: records.length,
      body: { [source.wrapperKey]: records, ...side, after_url: afterUrl, before_url: null, after_cursor: afterCursor, before_cursor: null, end_of_stream: !page.hasMore },
    };
  }

  /** ticket_metric_events with page[size]: standard cursor pagination (meta/links). */
  private metricCursor(url: URL, base: string): Reply {
    if (url.searchParams.has('page[before]')) throw this.rules.badRequest('page[before] is not supported on incremental exports', 'InvalidPaginationParameter');
    const { source, page } = this.keyset('ticket_metric_events', url, METRIC_CURSOR);
    const records = page.entries.map((e) => source.build(e, originOf(base), new Set()));
    const first = page.entries[0];
    const afterCursor = first ? encodeMetricCursor(page.after) : null;
    const beforeCursor = first ? encodeMetricCursor({ ts: first.ts, id: first.id }) : null;
    return {
      status: 200,
      records: records.length,
      body: { ticket_metric_events: records, ...cursorLinks(url, base, page.hasMore, afterCursor, beforeCursor) },
    };
  }

  private routing(resource: Resource, url: URL, base: string): Reply {
    const source = this.sources[resource];
    const cursor = url.searchParams.get('cursor');
    let index = 0;
    if (cursor !== null) {
      const decoded = decodeRoutingCursor(this.data.seed, cursor);
      if (decoded === null || decoded > source.stream.totalCount) throw this.rules.invalidCursor();
      index = decoded;
    }
    const end = Math.min(source.stream.totalCount, index + ROUTING_PAGE);
    const records: Rec[] = [];
    let endTime = 0;
    for (let i = index; i < end; i++) {
      const e = source.stream.current(i);
      records.push(source.build(e, originOf(base), new Set()));
      endTime = e.ts;
    }
    if (records.length === 0 && index > 0) endTime = source.stream.current(index - 1).ts;
    const next = `${base}?cursor=${encodeRoutingCursor(this.data.seed, end)}`;
    return { status: 200, records: records.length, body: { [source.wrapperKey]: records, next_page: next, count: records.length, end_time: endTime } };
  }
}
