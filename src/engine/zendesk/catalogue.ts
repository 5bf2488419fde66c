// Every endpoint form of Zendesk's Incremental Export API, as data. The pagination drivers,
// the CLI and the saved-query schema all read this one table.
import type { ApiPath } from './api';

export type ResourceName =
  | 'tickets'
  | 'users'
  | 'organizations'
  | 'ticket_events'
  | 'ticket_metric_events'
  | 'routing_attributes'
  | 'routing_attribute_values'
  | 'routing_instance_values';

/**
 * - `time`: start_time → end_time/next_page, stop on end_of_stream, pages may overflow per_page
 *   and repeat the boundary second (dedupe needed).
 * - `cursor`: start_time once, then cursor=after_cursor, stop on end_of_stream, exact pages.
 * - `routing`: no start_time, cursor taken from next_page, stop when count == 0.
 * - `metricCursor`: ticket_metric_events with page[size] (≤ 100), then page[after]; stop when !meta.has_more.
 * - `sample`: one request, at most 50 records.
 */
export type PaginationModel = 'time' | 'cursor' | 'routing' | 'metricCursor' | 'sample';

/** The pagination a person chooses for a resource that has both. */
export type PaginationChoice = 'cursor' | 'time';

/** Each family has its own budget on Zendesk's side, so each gets its own limiter. */
export type RateLimitFamily = 'incremental' | 'usersCursor' | 'sample';

export interface RateBudget {
  requests: number;
  windowSeconds: number;
}

/** Budgets documented by Zendesk (api-behaviour.md §1). Headers, when present, take precedence. */
export const DEFAULT_BUDGETS: Record<RateLimitFamily, RateBudget> = {
  incremental: { requests: 10, windowSeconds: 60 },
  usersCursor: { requests: 20, windowSeconds: 60 },
  sample: { requests: 10, windowSeconds: 1200 },
};
export const HIGH_VOLUME_BUDGETS: Record<RateLimitFamily, RateBudget> = {
  incremental: { requests: 30, windowSeconds: 60 },
  usersCursor: { requests: 60, windowSeconds: 60 },
  sample: { requests: 10, windowSeconds: 1200 },
};

export interface EndpointForm {
  /** Stable id, used in checkpoints and progress: e.g. `tickets/cursor`, `ticket_metric_events/cursor`, `tickets/sample`. */
  id: string;
  resource: ResourceName;
  /** Path as in the project's OpenAPI document (without `.json`). */
  path: ApiPath;
  model: PaginationModel;
  /** Key of the record array in the response body. */
  wrapperKey: string;
  family: RateLimitFamily;
  /** Field that orders the stream and, with `id`, identifies a version of a record (time-based dedupe). */
  timestampField: string | null;
  /** Whether (id, timestamp) or id alone identifies a record version for dedupe. */
  dedupeOnIdOnly: boolean;
  /** Records a full page holds (the most one budgeted request can bring). Under a budget of 10 requests a minute this is what sets an export's speed. */
  recordsPerRequest: number;
  /** per_page bounds; null when the endpoint ignores per_page. */
  maxPerPage: number | null;
  defaultPerPage: number | null;
  /** Sideloads accepted in `include`. */
  includes: readonly string[];
  excludeDeleted: boolean;
  supportTypeScope: boolean;
  includeChanges: boolean;
}

const TICKET_INCLUDES = [
  'users', 'groups', 'organizations', 'brands', 'ticket_forms', 'metric_sets', 'metric_events',
  'dates', 'slas', 'comment_count', 'sharing_agreements', 'incident_counts',
] as const;
const USER_INCLUDES = ['identities', 'groups', 'organizations', 'roles', 'abilities', 'open_ticket_count'] as const;
const ORGANIZATION_INCLUDES = ['abilities'] as const;

const base = {
  family: 'incremental' as RateLimitFamily,
  dedupeOnIdOnly: false,
  recordsPerRequest: 1000,
  maxPerPage: 1000,
  defaultPerPage: 1000,
  includes: [] as readonly string[],
  excludeDeleted: false,
  supportTypeScope: false,
  includeChanges: false,
};

export const ENDPOINTS: readonly EndpointForm[] = [
  { ...base, id: 'tickets/cursor', resource: 'tickets', path: '/api/v2/incremental/tickets/cursor', model: 'cursor', wrapperKey: 'tickets', timestampField: 'generated_timestamp', includes: TICKET_INCLUDES, excludeDeleted: true, supportTypeScope: true },
  { ...base, id: 'tickets', resource: 'tickets', path: '/api/v2/incremental/tickets', model: 'time', wrapperKey: 'tickets', timestampField: 'generated_timestamp', includes: TICKET_INCLUDES, excludeDeleted: true, supportTypeScope: true },
  { ...base, id: 'users/cursor', resource: 'users', path: '/api/v2/incremental/users/cursor', model: 'cursor', wrapperKey: 'users', family: 'usersCursor', timestampField: 'updated_at', includes: USER_INCLUDES },
  { ...base, id: 'users', resource: 'users', path: '/api/v2/incremental/users', model: 'time', wrapperKey: 'users', timestampField: 'updated_at', includes: USER_INCLUDES },
  { ...base, id: 'organizations', resource: 'organizations', path: '/api/v2/incremental/organizations', model: 'time', wrapperKey: 'organizations', timestampField: 'updated_at', includes: ORGANIZATION_INCLUDES },
  { ...base, id: 'ticket_events', resource: 'ticket_events', path: '/api/v2/incremental/ticket_events', model: 'time', wrapperKey: 'ticket_events', timestampField: 'timestamp', dedupeOnIdOnly: true, includes: ['comment_events'], supportTypeScope: true },
  // Zendesk documents no per_page for the time-based metric events export, so none is sent; its pages
  // hold about as many events as the other time-based exports (the cursor form: at most 100).
  { ...base, id: 'ticket_metric_events', resource: 'ticket_metric_events', path: '/api/v2/incremental/ticket_metric_events', model: 'time', wrapperKey: 'ticket_metric_events', timestampField: 'time', dedupeOnIdOnly: true, maxPerPage: null, defaultPerPage: null, excludeDeleted: true, includeChanges: true },
  { ...base, id: 'ticket_metric_events/cursor', resource: 'ticket_metric_events', path: '/api/v2/incremental/ticket_metric_events', model: 'metricCursor', wrapperKey: 'ticket_metric_events', timestampField: 'time', dedupeOnIdOnly: true, recordsPerRequest: 100, maxPerPage: 100, defaultPerPage: 100, excludeDeleted: true, includeChanges: true },
  { ...base, id: 'routing_attributes', resource: 'routing_attributes', path: '/api/v2/incremental/routing/attributes', model: 'routing', wrapperKey: 'attributes', timestampField: 'time', dedupeOnIdOnly: true, recordsPerRequest: 3000, maxPerPage: null, defaultPerPage: null },
  { ...base, id: 'routing_attribute_values', resource: 'routing_attribute_values', path: '/api/v2/incremental/routing/attribute_values', model: 'routing', wrapperKey: 'attribute_values', timestampField: 'time', dedupeOnIdOnly: true, recordsPerRequest: 3000, maxPerPage: null, defaultPerPage: null },
  { ...base, id: 'routing_instance_values', resource: 'routing_instance_values', path: '/api/v2/incremental/routing/instance_values', model: 'routing', wrapperKey: 'instance_values', timestampField: 'time', dedupeOnIdOnly: true, recordsPerRequest: 3000, maxPerPage: null, defaultPerPage: null },
  { ...base, id: 'tickets/sample', resource: 'tickets', path: '/api/v2/incremental/tickets/sample', model: 'sample', wrapperKey: 'tickets', family: 'sample', timestampField: 'generated_timestamp', recordsPerRequest: 50, maxPerPage: 50, defaultPerPage: 50, includes: TICKET_INCLUDES },
  { ...base, id: 'ticket_events/sample', resource: 'ticket_events', path: '/api/v2/incremental/ticket_events/sample', model: 'sample', wrapperKey: 'ticket_events', family: 'sample', timestampField: 'timestamp', dedupeOnIdOnly: true, recordsPerRequest: 50, maxPerPage: 50, defaultPerPage: 50, includes: ['comment_events'] },
  { ...base, id: 'users/sample', resource: 'users', path: '/api/v2/incremental/users/sample', model: 'sample', wrapperKey: 'users', family: 'sample', timestampField: 'updated_at', recordsPerRequest: 50, maxPerPage: 50, defaultPerPage: 50, includes: USER_INCLUDES },
  { ...base, id: 'organizations/sample', resource: 'organizations', path: '/api/v2/incremental/organizations/sample', model: 'sample', wrapperKey: 'organizations', family: 'sample', timestampField: 'updated_at', recordsPerRequest: 50, maxPerPage: 50, defaultPerPage: 50, includes: ORGANIZATION_INCLUDES },
];

export const RESOURCES: readonly ResourceName[] = [
  'tickets', 'users', 'organizations', 'ticket_events', 'ticket_metric_events',
  'routing_attributes', 'routing_attribute_values', 'routing_instance_values',
];

export function endpointById(id: string): EndpointForm | undefined {
  return ENDPOINTS.find((e) => e.id === id);
}

/**
 * Pagination choices a resource offers; the first is the default: the form that brings the most
 * records per budgeted request, and cursor where that ties (Zendesk recommends it; pages never overlap).
 */
export function paginationChoices(resource: ResourceName): PaginationChoice[] {
  switch (resource) {
    case 'tickets':
    case 'users':
      return ['cursor', 'time'];
    case 'ticket_metric_events':
      return ['time', 'cursor'];
    case 'organizations':
    case 'ticket_events':
      return ['time'];
    default:
      return ['cursor'];
  }
}

/** Skill-based routing exports take no start time: their first run always returns the full history. */
export function ignoresStartTime(resource: ResourceName): boolean {
  return ENDPOINTS.some((e) => e.resource === resource && e.model === 'routing');
}

/**
 * How many times the requests of the resource's best form this choice needs (1 = none more): its
 * records per request (or a smaller per_page) against the most any form of the resource brings.
 */
export function requestCostFactor(e: EndpointForm, perPage?: number): number {
  const best = Math.max(...ENDPOINTS.filter((f) => f.resource === e.resource && f.model !== 'sample').map((f) => f.recordsPerRequest));
  const per = perPage !== undefined && e.maxPerPage !== null ? Math.max(1, Math.min(perPage, e.recordsPerRequest)) : e.recordsPerRequest;
  return e.model === 'sample' ? 1 : best / per;
}

/**
 * The sentence for a choice that needs ≈2× or more the requests of the best one (a costlier form, or
 * a smaller per_page), for diagnostics and the CLI; null when it costs nothing more.
 */
export function requestCostNote(e: EndpointForm, perPage?: number): { factor: number; onPerPage: boolean; text: string } | null {
  const byForm = requestCostFactor(e);
  const total = requestCostFactor(e, perPage);
  if (total < 2) return null;
  const factor = Math.round(total);
  const slower = `under the same rate limit the export takes ≈${factor}× as long`;
  if (byForm >= 2) {
    const best = resolveEndpoint(e.resource);
    return { factor, onPerPage: false, text: `≈${factor}× the requests: ${describeEndpoint(e)} brings at most ${e.recordsPerRequest.toLocaleString('en-US')} records a request, ${describeEndpoint(best)} about ${best.recordsPerRequest.toLocaleString('en-US')}; ${slower}.` };
  }
  return { factor, onPerPage: true, text: `≈${factor}× the requests: ${perPage} records a request where ${e.recordsPerRequest.toLocaleString('en-US')} are allowed; ${slower} (a smaller page only helps when Zendesk times out, and the engine halves it by itself then).` };
}

/** How people call a form's pagination: time, sample, or cursor (routing and metric events' page[after] included). */
export function paginationLabel(e: EndpointForm): 'time' | 'sample' | 'cursor' {
  return e.model === 'time' || e.model === 'sample' ? e.model : 'cursor';
}

/** The form in words, for messages: "the cursor-based tickets export". */
export function describeEndpoint(e: EndpointForm): string {
  if (e.model === 'sample') return `the ${e.resource} sample export`;
  return `the ${paginationLabel(e)}-based ${e.resource} export`;
}

/** Resources that have a `/sample` form. */
export function hasSample(resource: ResourceName): boolean {
  return ENDPOINTS.some((e) => e.resource === resource && e.model === 'sample');
}

/** Resolve the endpoint form for a resource + pagination choice (+ sample). */
export function resolveEndpoint(resource: ResourceName, pagination?: PaginationChoice, sample = false): EndpointForm {
  const forms = ENDPOINTS.filter((e) => e.resource === resource);
  if (sample) {
    const s = forms.find((e) => e.model === 'sample');
    if (!s) throw new Error(`${resource} has no sample endpoint; sample exists for tickets, ticket_events, users and organizations.`);
    return s;
  }
  const choice = pagination ?? paginationChoices(resource)[0];
  const wanted = choice === 'time' ? ['time'] : ['cursor', 'metricCursor', 'routing'];
  const form = forms.find((e) => wanted.includes(e.model));
  if (!form) {
    throw new Error(`${resource} has no ${choice}-based export; use ${paginationChoices(resource).join(' or ')}.`);
  }
  return form;
}
