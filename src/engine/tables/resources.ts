// What each resource's tables look like: the documented fields as typed columns (the project's
// OpenAPI document; test/unit/tables.test.ts checks they agree), the field whose value orders the
// versions of one id, what makes a record a deletion, and where its custom fields are.
import type { ResourceName } from '../zendesk';
import type { ColumnSpec, ColumnType, FieldKind } from './model';

export interface ResourceLayout {
  resource: ResourceName;
  /** Ids are 64-bit integers, except routing events (UUIDs). */
  idType: 'bigint' | 'text';
  /** The field that orders the versions of one id; its value becomes `_version` (Unix seconds). */
  versionField: string;
  /** Whether this version says the record is gone. */
  isDeleted(record: Record<string, unknown>): boolean;
  /** Documented top-level fields, in the order they become columns (after `id`). */
  columns: ColumnSpec[];
  /** Custom fields: tickets carry `custom_fields: [{id, value}]`, users and organizations `<x>_fields: {key: value}`. */
  customFields?: { kind: FieldKind; field: 'custom_fields' | 'user_fields' | 'organization_fields' };
}

const c = (spec: string): ColumnSpec[] => spec.trim().split(/\s+/).map((pair) => {
  const [name, type] = pair.split(':');
  return { name, type: type as ColumnType };
});

const TICKET = c(`
  url:text external_id:text via:json created_at:timestamp updated_at:timestamp generated_timestamp:bigint
  type:text subject:text raw_subject:text description:text priority:text status:text custom_status_id:bigint
  recipient:text requester_id:bigint submitter_id:bigint assignee_id:bigint organization_id:bigint group_id:bigint
  brand_id:bigint ticket_form_id:bigint problem_id:bigint forum_topic_id:bigint collaborator_ids:json
  follower_ids:json email_cc_ids:json followup_ids:json sharing_agreement_ids:json has_incidents:boolean
  is_public:boolean due_at:timestamp tags:json custom_fields:json fields:json satisfaction_rating:json
  allow_channelback:boolean allow_attachments:boolean from_messaging_channel:boolean`);

const USER = c(`
  url:text name:text email:text created_at:timestamp updated_at:timestamp time_zone:text iana_time_zone:text
  phone:text shared_phone_number:boolean photo:json locale_id:bigint locale:text organization_id:bigint role:text
  role_type:bigint custom_role_id:bigint default_group_id:bigint verified:boolean external_id:text tags:json
  alias:text active:boolean permanently_deleted:boolean shared:boolean shared_agent:boolean last_login_at:timestamp
  two_factor_auth_enabled:boolean signature:text details:text notes:text moderator:boolean ticket_restriction:text
  only_private_comments:boolean restricted_agent:boolean suspended:boolean chat_only:boolean report_csv:boolean
  user_fields:json`);

const ORGANIZATION = c(`
  url:text name:text created_at:timestamp updated_at:timestamp details:text notes:text domain_names:json
  external_id:text group_id:bigint shared_comments:boolean shared_tickets:boolean tags:json
  organization_fields:json deleted_at:timestamp`);

const TICKET_EVENT = c(`
  ticket_id:bigint timestamp:bigint created_at:timestamp updater_id:bigint via:json system:json metadata:json
  event_type:text merged_ticket_ids:json child_events:json`);

const METRIC_EVENT = c(`
  ticket_id:bigint metric:text instance_id:bigint type:text time:timestamp deleted:boolean sla:json status:json`);

const ROUTING_ATTRIBUTE = c('name:text time:timestamp type:text');
const ROUTING_ATTRIBUTE_VALUE = c('attribute_id:text name:text time:timestamp type:text');
const ROUTING_INSTANCE_VALUE = c('attribute_value_id:text instance_id:text time:timestamp type:text');

const never = (): boolean => false;
const routingDelete = (r: Record<string, unknown>): boolean => r.type === 'delete';

export const LAYOUTS: Record<ResourceName, ResourceLayout> = {
  tickets: {
    resource: 'tickets', idType: 'bigint', versionField: 'generated_timestamp', columns: TICKET,
    // Deleted tickets stay in the stream as tombstones with status "deleted".
    isDeleted: (r) => r.status === 'deleted',
    customFields: { kind: 'ticket', field: 'custom_fields' },
  },
  users: {
    resource: 'users', idType: 'bigint', versionField: 'updated_at', columns: USER,
    // A deleted user comes back inactive; a GDPR deletion also says permanently_deleted.
    isDeleted: (r) => r.active === false || r.permanently_deleted === true,
    customFields: { kind: 'user', field: 'user_fields' },
  },
  organizations: {
    resource: 'organizations', idType: 'bigint', versionField: 'updated_at', columns: ORGANIZATION,
    isDeleted: (r) => r.deleted_at !== null && r.deleted_at !== undefined,
    customFields: { kind: 'organization', field: 'organization_fields' },
  },
  // Events never change: the current table holds each event once.
  ticket_events: { resource: 'ticket_events', idType: 'bigint', versionField: 'timestamp', columns: TICKET_EVENT, isDeleted: never },
  ticket_metric_events: { resource: 'ticket_metric_events', idType: 'bigint', versionField: 'time', columns: METRIC_EVENT, isDeleted: (r) => r.deleted === true },
  // Routing exports are create/update/delete events per id, ordered by time.
  routing_attributes: { resource: 'routing_attributes', idType: 'text', versionField: 'time', columns: ROUTING_ATTRIBUTE, isDeleted: routingDelete },
  routing_attribute_values: { resource: 'routing_attribute_values', idType: 'text', versionField: 'time', columns: ROUTING_ATTRIBUTE_VALUE, isDeleted: routingDelete },
  routing_instance_values: { resource: 'routing_instance_values', idType: 'text', versionField: 'time', columns: ROUTING_INSTANCE_VALUE, isDeleted: never },
};

/** Columns every table of versions carries before the record's own: where it came from and how it ranks. */
export const SYSTEM_COLUMNS: ColumnSpec[] = [
  { name: '_position', type: 'bigint' },
  { name: '_page', type: 'bigint' },
  { name: '_exported_at', type: 'timestamp' },
  { name: '_version', type: 'bigint' },
  { name: '_deleted', type: 'boolean' },
];
export const RECORD_COLUMN: ColumnSpec = { name: '_record', type: 'json' };

/** The tables of one resource. */
export function tableNames(resource: string): { current: string; changes: string; deleted: string; fields: string } {
  return { current: resource, changes: `${resource}_changes`, deleted: `${resource}_deleted`, fields: `${resource}_fields` };
}

/** A sideload's current-state table, e.g. tickets_users. */
export function sideloadTable(resource: string, key: string): string {
  return `${resource}_${key.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
}

export const CHECKPOINT_TABLE = '_zdx_checkpoint';
