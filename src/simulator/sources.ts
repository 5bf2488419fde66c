// Each exported resource as the endpoints see it: its stream, record builder, filter and sideloads.
import type { Dataset, Filters, Rec } from './dataset';
import { hash32 } from './random';
import type { Entry, VersionedStream } from './stream';

export type Resource = 'tickets' | 'users' | 'organizations' | 'ticket_events' | 'ticket_metric_events'
  | 'routing_attributes' | 'routing_attribute_values' | 'routing_instance_values';

export interface Source {
  stream: VersionedStream;
  wrapperKey: string;
  build(e: Entry, origin: string, includes: Set<string>): Rec;
  keep(e: Entry, f: Filters): boolean;
  /** Whether this version is a tombstone (see CurrentRecord.deleted). */
  deleted(e: Entry): boolean;
  sideload?(records: Rec[], includes: Set<string>, origin: string): Record<string, unknown>;
}

export function makeSources(d: Dataset): Record<Resource, Source> {
  const ticketSideloads = (records: Rec[], inc: Set<string>, origin: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const uniq = (key: string): number[] => [...new Set(records.map((r) => r[key]).filter((v): v is number => typeof v === 'number'))];
    if (inc.has('users')) {
      const ids = [...new Set(records.flatMap((r) => [r.requester_id, r.submitter_id, r.assignee_id]).filter((v): v is number => typeof v === 'number'))];
      out.users = ids.map((id) => d.userById(id, origin)).filter(Boolean);
    }
    if (inc.has('groups')) out.groups = uniq('group_id').map((id) => d.group(id, origin));
    if (inc.has('organizations')) out.organizations = uniq('organization_id').map((id) => d.organizationById(id, origin)).filter(Boolean);
    if (inc.has('brands')) out.brands = uniq('brand_id').map((id) => d.brand(id, origin));
    if (inc.has('ticket_forms')) out.ticket_forms = uniq('ticket_form_id').map((id) => d.ticketForm(id, origin));
    if (inc.has('metric_sets')) out.metric_sets = records.filter((r) => r.status !== 'deleted').map((r) => d.metricSet(r, origin));
    if (inc.has('sharing_agreements')) out.sharing_agreements = [];
    // These four are per-ticket values in Zendesk, so they are embedded in each ticket.
    for (const r of records) {
      const h = hash32(d.seed, r.id as number, 0xc0);
      if (inc.has('comment_count')) r.comment_count = 1 + (h % 12);
      if (inc.has('incident_counts')) r.incident_count = r.type === 'problem' ? h % 4 : 0;
      if (inc.has('slas')) r.slas = { policy_metrics: [] };
      if (inc.has('dates')) {
        r.dates = { assignee_updated_at: r.assignee_id ? r.updated_at : null, requester_updated_at: r.created_at, status_updated_at: r.updated_at, initially_assigned_at: r.assignee_id ? r.created_at : null, assigned_at: r.assignee_id ? r.created_at : null, solved_at: r.status === 'solved' || r.status === 'closed' ? r.updated_at : null, latest_comment_added_at: r.updated_at };
      }
      if (inc.has('metric_events')) r.metric_events = { reply_time: [{ id: (r.id as number) * 2, ticket_id: r.id, metric: 'reply_time', instance_id: 1, type: 'activate', time: r.created_at }] };
    }
    return out;
  };
  const userSideloads = (records: Rec[], inc: Set<string>, origin: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (inc.has('identities')) out.identities = records.map((u) => d.identity(u, origin));
    if (inc.has('groups')) out.groups = [...new Set(records.map((u) => u.default_group_id).filter((v): v is number => typeof v === 'number'))].map((id) => d.group(id, origin));
    if (inc.has('organizations')) out.organizations = [...new Set(records.map((u) => u.organization_id).filter((v): v is number => typeof v === 'number'))].map((id) => d.organizationById(id, origin)).filter(Boolean);
    if (inc.has('roles')) out.roles = [];
    if (inc.has('abilities')) out.abilities = records.map((u) => ({ url: `${origin}/api/v2/users/${u.id as number}.json`, user_id: u.id, can_edit: true, can_edit_password: u.role === 'end-user', can_manage_identities_of: true, can_verify_identities: true }));
    // Zendesk returns this one as an object keyed by user id, not as an array.
    if (inc.has('open_ticket_count')) out.open_ticket_count = Object.fromEntries(records.map((u) => [String(u.id), hash32(d.seed, u.id as number, 0x07) % 5]));
    return out;
  };
  const routingDelete = (build: (e: Entry) => Rec) => (e: Entry): boolean => build(e).type === 'delete';
  return {
    tickets: {
      stream: d.tickets, wrapperKey: 'tickets', build: (e, o) => d.ticket(e, o), keep: (e, f) => d.keepTicket(e, f),
      deleted: (e) => d.ticketStatus(e.index, e.version) === 'deleted', sideload: ticketSideloads,
    },
    users: { stream: d.users, wrapperKey: 'users', build: (e, o) => d.user(e, o), keep: () => true, deleted: (e) => d.userIsDeleted(e.index), sideload: userSideloads },
    organizations: {
      stream: d.organizations, wrapperKey: 'organizations', build: (e, o) => d.organization(e, o), keep: () => true, deleted: (e) => d.organizationIsDeleted(e.index),
      sideload: (records, inc, origin) => (inc.has('abilities') ? { abilities: records.map((r) => ({ url: `${origin}/api/v2/organizations/${r.id as number}.json`, organization_id: r.id, can_edit: true })) } : {}),
    },
    ticket_events: { stream: d.ticketEvents, wrapperKey: 'ticket_events', build: (e, _o, inc) => d.ticketEvent(e, inc.has('comment_events')), keep: (e, f) => d.keepTicketEvent(e, f), deleted: () => false },
    ticket_metric_events: { stream: d.metricEvents, wrapperKey: 'ticket_metric_events', build: (e) => d.metricEvent(e), keep: (e, f) => d.keepMetricEvent(e, f), deleted: (e) => d.metricEventDeleted(e.index) },
    routing_attributes: { stream: d.routingAttributes, wrapperKey: 'attributes', build: (e) => d.routingAttribute(e), keep: () => true, deleted: routingDelete((e) => d.routingAttribute(e)) },
    routing_attribute_values: { stream: d.routingAttributeValues, wrapperKey: 'attribute_values', build: (e) => d.routingAttributeValue(e), keep: () => true, deleted: routingDelete((e) => d.routingAttributeValue(e)) },
    routing_instance_values: { stream: d.routingInstanceValues, wrapperKey: 'instance_values', build: (e) => d.routingInstanceValue(e), keep: () => true, deleted: () => false },
  };
}
