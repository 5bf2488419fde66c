// The part of Zendesk's API the engine calls, tied to the project's OpenAPI document: which paths,
// and which parameters on each, with the types the document gives them.
import { ExportError } from '../errors';
import type { paths } from './generated/zendesk';

/** Every path the engine calls. `satisfies` makes the compiler check each one exists in the OpenAPI document. */
export const API_PATHS = [
  '/api/v2/incremental/tickets',
  '/api/v2/incremental/tickets/cursor',
  '/api/v2/incremental/users',
  '/api/v2/incremental/users/cursor',
  '/api/v2/incremental/organizations',
  '/api/v2/incremental/ticket_events',
  '/api/v2/incremental/ticket_metric_events',
  '/api/v2/incremental/routing/attributes',
  '/api/v2/incremental/routing/attribute_values',
  '/api/v2/incremental/routing/instance_values',
  '/api/v2/incremental/tickets/sample',
  '/api/v2/incremental/ticket_events/sample',
  '/api/v2/incremental/users/sample',
  '/api/v2/incremental/organizations/sample',
  '/api/v2/users/me',
  '/api/v2/ticket_fields',
  '/api/v2/user_fields',
  '/api/v2/organization_fields',
] as const satisfies readonly (keyof paths)[];

export type ApiPath = (typeof API_PATHS)[number];

/** The query parameters the document gives a path, with their types. */
export type QueryOf<P extends ApiPath> = NonNullable<paths[P]['get']['parameters']['query']>;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Any parameter of the engine's paths, typed as the document types it. */
export type ApiQuery = Partial<UnionToIntersection<QueryOf<ApiPath>>>;

/**
 * The parameters the engine may send on each path. `satisfies` checks every name against that path's
 * query in the document at compile time; request() refuses any other at run time.
 */
const PATH_PARAMS = {
  '/api/v2/incremental/tickets': ['start_time', 'per_page', 'include', 'exclude_deleted', 'support_type_scope'],
  '/api/v2/incremental/tickets/cursor': ['start_time', 'cursor', 'per_page', 'include', 'exclude_deleted', 'support_type_scope'],
  '/api/v2/incremental/users': ['start_time', 'per_page', 'include'],
  '/api/v2/incremental/users/cursor': ['start_time', 'cursor', 'per_page', 'include'],
  '/api/v2/incremental/organizations': ['start_time', 'per_page', 'include'],
  '/api/v2/incremental/ticket_events': ['start_time', 'per_page', 'include', 'support_type_scope'],
  '/api/v2/incremental/ticket_metric_events': ['start_time', 'page[size]', 'page[after]', 'exclude_deleted', 'include_changes'],
  '/api/v2/incremental/routing/attributes': ['cursor'],
  '/api/v2/incremental/routing/attribute_values': ['cursor'],
  '/api/v2/incremental/routing/instance_values': ['cursor'],
  '/api/v2/incremental/tickets/sample': ['start_time', 'include'],
  '/api/v2/incremental/ticket_events/sample': ['start_time', 'include'],
  '/api/v2/incremental/users/sample': ['start_time', 'include'],
  '/api/v2/incremental/organizations/sample': ['start_time', 'include'],
  '/api/v2/users/me': [],
  '/api/v2/ticket_fields': ['page[size]', 'page[after]'],
  '/api/v2/user_fields': ['page[size]', 'page[after]'],
  '/api/v2/organization_fields': ['page[size]', 'page[after]'],
} as const satisfies { [P in ApiPath]: readonly (keyof QueryOf<P>)[] };

/** Throws (a bug, not a Zendesk answer) when a request carries a parameter the document doesn't give its path. */
export function assertDocumentedParams(req: { path: ApiPath; query: ApiQuery; perPageParam?: string | null }): void {
  const allowed: readonly string[] | undefined = PATH_PARAMS[req.path];
  if (!allowed) throw new ExportError('invalidQuery', `${req.path} is not an endpoint this tool knows; pick a resource from the catalogue.`);
  const extra = Object.keys(req.query).filter((k) => req.query[k as keyof ApiQuery] !== undefined && !allowed.includes(k));
  if (req.perPageParam && !allowed.includes(req.perPageParam)) extra.push(req.perPageParam);
  if (extra.length) throw new Error(`The engine built a request for ${req.path} with ${extra.join(', ')}, which the document doesn't give that path.`);
}
