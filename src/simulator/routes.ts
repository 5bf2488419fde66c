// The paths the simulator serves and, for each export, its pagination model and rate-limit family
// as Zendesk documents them (api-behaviour.md §0-1). The simulator keeps its own table: it is the
// server the engine's catalogue is tested against, so it must not read that catalogue.
import type { FieldKind } from './fields';
import type { Resource } from './sources';
import type { RateFamily } from './types';

export interface ExportRoute {
  kind: 'time' | 'cursor' | 'routing' | 'sample';
  resource: Resource;
  family: RateFamily;
  /** The endpoint id the oracle answers to (the engine's catalogue uses the same names). */
  id: string;
}

export type Route = { kind: 'me' } | { kind: 'fields'; list: FieldKind } | ExportRoute;

const INC = '/api/v2/incremental';
const exp = (id: string, kind: ExportRoute['kind'], resource: Resource, family: RateFamily = 'incremental'): ExportRoute => ({ id, kind, resource, family });

export const ROUTES = new Map<string, Route>([
  ['/api/v2/users/me', { kind: 'me' }],
  ['/api/v2/ticket_fields', { kind: 'fields', list: 'ticket' }],
  ['/api/v2/user_fields', { kind: 'fields', list: 'user' }],
  ['/api/v2/organization_fields', { kind: 'fields', list: 'organization' }],
  [`${INC}/tickets`, exp('tickets', 'time', 'tickets')],
  [`${INC}/tickets/cursor`, exp('tickets/cursor', 'cursor', 'tickets')],
  [`${INC}/users`, exp('users', 'time', 'users')],
  [`${INC}/users/cursor`, exp('users/cursor', 'cursor', 'users', 'usersCursor')],
  [`${INC}/organizations`, exp('organizations', 'time', 'organizations')],
  [`${INC}/ticket_events`, exp('ticket_events', 'time', 'ticket_events')],
  // page[size] switches this one to standard cursor pagination (handled with the time-based form).
  [`${INC}/ticket_metric_events`, exp('ticket_metric_events', 'time', 'ticket_metric_events')],
  [`${INC}/routing/attributes`, exp('routing_attributes', 'routing', 'routing_attributes')],
  [`${INC}/routing/attribute_values`, exp('routing_attribute_values', 'routing', 'routing_attribute_values')],
  [`${INC}/routing/instance_values`, exp('routing_instance_values', 'routing', 'routing_instance_values')],
  [`${INC}/tickets/sample`, exp('tickets/sample', 'sample', 'tickets', 'sample')],
  [`${INC}/ticket_events/sample`, exp('ticket_events/sample', 'sample', 'ticket_events', 'sample')],
  [`${INC}/users/sample`, exp('users/sample', 'sample', 'users', 'sample')],
  [`${INC}/organizations/sample`, exp('organizations/sample', 'sample', 'organizations', 'sample')],
]);

/** The export a complete run of endpoint id `id` makes, for the oracle; undefined for an unknown id. */
export function exportById(id: string): ExportRoute | undefined {
  // ticket_metric_events with page[size] serves the same records as its time-based form.
  const wanted = id === 'ticket_metric_events/cursor' ? 'ticket_metric_events' : id;
  for (const r of ROUTES.values()) if (r.kind !== 'me' && r.kind !== 'fields' && r.id === wanted) return r;
  return undefined;
}
