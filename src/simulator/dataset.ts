// The generated account: one VersionedStream per resource and the record builders. Every field is
// a pure function of (seed, record index, version), so pages are rebuilt identically on demand.
import { AccountFields } from './fields';
import { RecordRng, hash32, saltOf, uuidFrom } from './random';
import { HISTORY_END_MARGIN, SPAN_SECONDS, VersionedStream, type Entry } from './stream';
import type { CountName } from './types';

export const DEFAULT_COUNTS: Record<CountName, number> = {
  tickets: 2000,
  users: 500,
  organizations: 100,
  ticketEvents: 3000,
  metricEvents: 4000,
  routingAttributes: 20,
  routingAttributeValues: 120,
  routingInstanceValues: 1500,
};

export type Rec = Record<string, unknown>;

export function iso(ts: number): string {
  return new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
}

const STATUSES = ['new', 'open', 'open', 'open', 'pending', 'hold', 'solved', 'solved', 'closed', 'closed', 'closed'] as const;
const PRIORITIES = [null, 'low', 'normal', 'normal', 'high', 'urgent'] as const;
const TYPES = [null, 'question', 'incident', 'problem', 'task'] as const;
const CHANNELS = ['email', 'web', 'api', 'chat', 'voice', 'native_messaging', 'mobile_sdk'] as const;
const SUBJECTS = ['Cannot log in', 'Refund request', 'Invoice is wrong', 'Feature request: dark mode', 'Order has not arrived', 'Password reset link expired', 'App crashes on start', 'Change my plan', 'Shipping address update', 'Two charges on my card'] as const;
const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Radia', 'Donald', 'Frances', 'Edsger', 'Katherine'] as const;
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Turing', 'Liskov', 'Thompson', 'Perlman', 'Knuth', 'Allen', 'Dijkstra', 'Johnson'] as const;
const TAGS = ['vip', 'billing', 'mobile', 'escalated', 'refund', 'bug', 'how_to', 'sales', 'shipping'] as const;
const ZONES = [['America/New_York', 'Eastern Time (US & Canada)'], ['Europe/London', 'London'], ['Europe/Berlin', 'Berlin'], ['Asia/Tokyo', 'Tokyo'], ['Australia/Sydney', 'Sydney']] as const;
const METRICS = ['agent_work_time', 'pausable_update_time', 'periodic_update_time', 'reply_time', 'requester_wait_time', 'resolution_time', 'group_ownership_time'] as const;
const METRIC_TYPES = ['activate', 'pause', 'fulfill', 'apply_sla', 'apply_group_sla', 'breach', 'update_status', 'measure'] as const;
const ATTRIBUTES = ['Language', 'Skill', 'Region', 'Product', 'Tier', 'Channel', 'Certification'] as const;
const ATTRIBUTE_VALUES = ['English', 'German', 'Japanese', 'Billing', 'Hardware', 'EMEA', 'APAC', 'Gold', 'Silver', 'Phone'] as const;
const INSTANCE_TYPES = ['associate_agent', 'unassociate_agent', 'associate_ticket', 'unassociate_ticket'] as const;
/** The account, its groups, brands and forms predate the seeded history by this much. */
const ACCOUNT_AGE_BEFORE_HISTORY = 30 * 86_400;

const GROUP_COUNT = 6;
const GROUP_BASE = 6_128_000_000_000;
const BRAND_IDS = [6_127_000_000_001, 6_127_000_000_002] as const;
const FORM_IDS = [6_126_000_000_001, 6_126_000_000_002, 6_126_000_000_003] as const;
const CUSTOM_STATUS_BASE = 6_125_000_000_000;

/** Ids of the simulator's own accounts (users/me). */
export const ADMIN_USER_ID = 6_100_000_000_001;
export const AGENT_USER_ID = 6_100_000_000_002;

export interface Filters {
  excludeDeleted: boolean;
  /** 'agent' (default), 'ai_agent' or 'all'. */
  supportTypeScope: string;
}

export class Dataset {
  readonly counts: Record<CountName, number>;
  /** First second of the seeded history (the earliest stream's). */
  readonly historyStart: number;
  /** When the account was created: before every record. */
  readonly accountCreated: number;
  readonly fields: AccountFields;
  readonly tickets: VersionedStream;
  readonly users: VersionedStream;
  readonly organizations: VersionedStream;
  readonly ticketEvents: VersionedStream;
  readonly metricEvents: VersionedStream;
  readonly routingAttributes: VersionedStream;
  readonly routingAttributeValues: VersionedStream;
  readonly routingInstanceValues: VersionedStream;
  private readonly salt = {
    ticket: saltOf('ticket'), ticketV: saltOf('ticket-version'), user: saltOf('user'), org: saltOf('org'),
    event: saltOf('event'), metric: saltOf('metric'), attr: saltOf('attr'), value: saltOf('value'), instance: saltOf('instance'),
  };
  /** Tickets deleted by the live activity: index → first deleted version (later versions stay deleted). */
  private readonly deletedFromVersion = new Map<number, number>();
  /** Ticket events and metric events added for a ticket change: event index → the ticket's index. */
  private readonly eventTicket = new Map<number, { ticket: number; create: boolean }>();
  private readonly metricTicket = new Map<number, number>();

  /** @param anchor Unix seconds the seeded history ends before (see SimulatorOptions.anchor). */
  constructor(readonly seed: number, counts: Partial<Record<CountName, number>> = {}, readonly anchor: number) {
    this.counts = { ...DEFAULT_COUNTS };
    for (const [k, v] of Object.entries(counts) as [CountName, number | undefined][]) {
      if (v !== undefined) this.counts[k] = Math.max(0, Math.floor(v));
    }
    const c = this.counts;
    const s = this.salt;
    this.tickets = new VersionedStream(seed, s.ticket, c.tickets, 5_000_000_000, 4, anchor);
    this.users = new VersionedStream(seed, s.user, c.users, 6_130_000_000_000, 128, anchor);
    this.organizations = new VersionedStream(seed, s.org, c.organizations, 6_129_000_000_000, 64, anchor);
    this.ticketEvents = new VersionedStream(seed, s.event, c.ticketEvents, 9_100_000_000_000, 8, anchor);
    this.metricEvents = new VersionedStream(seed, s.metric, c.metricEvents, 9_200_000_000_000, 8, anchor);
    this.routingAttributes = new VersionedStream(seed, s.attr, c.routingAttributes, 1, 1, anchor);
    this.routingAttributeValues = new VersionedStream(seed, s.value, c.routingAttributeValues, 1, 1, anchor);
    this.routingInstanceValues = new VersionedStream(seed, s.instance, c.routingInstanceValues, 1, 1, anchor);
    const nominalStart = anchor - HISTORY_END_MARGIN - SPAN_SECONDS;
    this.historyStart = Math.min(nominalStart, ...[this.tickets, this.users, this.organizations, this.ticketEvents, this.metricEvents].map((st) => st.start));
    this.accountCreated = this.historyStart - ACCOUNT_AGE_BEFORE_HISTORY;
    this.fields = new AccountFields(seed, nominalStart, this.accountCreated, anchor);
  }

  private rng(salt: number, index: number, version = 0): RecordRng {
    return new RecordRng(this.seed, salt ^ Math.imul(version, 0x27d4eb2d), index);
  }

  // ---- facts shared by builders and filters (must agree, or the oracle would lie) ----

  /** AI-agent tickets are hidden unless support_type_scope is all or ai_agent. */
  ticketIsAi(index: number): boolean {
    return hash32(this.seed, this.salt.ticket, index, 0xa1) % 100 < 4;
  }

  ticketStatus(index: number, version: number): string {
    const deletedFrom = this.deletedFromVersion.get(index);
    if (deletedFrom !== undefined && version >= deletedFrom) return 'deleted';
    const baseDeleted = hash32(this.seed, this.salt.ticket, index, 0xde) % 100 < 6;
    if (baseDeleted) return 'deleted';
    if (version === 0) return STATUSES[hash32(this.seed, this.salt.ticket, index, 0x57) % STATUSES.length];
    // A later version is sometimes a deletion: the tombstone replaces the ticket in the stream.
    const h = hash32(this.seed, this.salt.ticketV, index, version);
    return h % 100 < 5 ? 'deleted' : STATUSES[(h >>> 8) % STATUSES.length];
  }

  keepTicket(e: Entry, f: Filters): boolean {
    if (f.excludeDeleted && this.ticketStatus(e.index, e.version) === 'deleted') return false;
    return scopeAllows(f.supportTypeScope, this.ticketIsAi(e.index));
  }

  userIsDeleted(index: number): boolean {
    return hash32(this.seed, this.salt.user, index, 0xde) % 100 < 4;
  }

  organizationIsDeleted(index: number): boolean {
    return hash32(this.seed, this.salt.org, index, 0xde) % 100 < 3;
  }

  private eventTicketIndex(salt: number, index: number): number {
    return this.counts.tickets === 0 ? 0 : hash32(this.seed, salt, index, 0x71) % this.counts.tickets;
  }

  private ticketEventTicket(index: number): number {
    return this.eventTicket.get(index)?.ticket ?? this.eventTicketIndex(this.salt.event, index);
  }

  private metricEventTicket(index: number): number {
    return this.metricTicket.get(index) ?? this.eventTicketIndex(this.salt.metric, index);
  }

  keepTicketEvent(e: Entry, f: Filters): boolean {
    return scopeAllows(f.supportTypeScope, this.ticketIsAi(this.ticketEventTicket(e.index)));
  }

  metricEventDeleted(index: number): boolean {
    return this.ticketStatus(this.metricEventTicket(index), 0) === 'deleted';
  }

  // ---- changes made while the simulator runs (src/simulator/live.ts) ----

  /** A new version of ticket `index` at `ts` that is a deletion (it stays deleted). */
  deleteTicket(index: number, ts: number): Entry {
    const e = this.tickets.touch(index, ts, false);
    this.deletedFromVersion.set(index, e.version);
    return e;
  }

  /** The audit of a ticket change: a ticket event at `ts` that belongs to ticket `ticketIndex`. */
  addTicketEvent(ticketIndex: number, create: boolean, ts: number): Entry {
    const e = this.ticketEvents.add(ts, false);
    this.eventTicket.set(e.index, { ticket: ticketIndex, create });
    return e;
  }

  addMetricEvent(ticketIndex: number, ts: number): Entry {
    const e = this.metricEvents.add(ts, false);
    this.metricTicket.set(e.index, ticketIndex);
    return e;
  }

  keepMetricEvent(e: Entry, f: Filters): boolean {
    return !(f.excludeDeleted && this.metricEventDeleted(e.index));
  }

  // ---- references between resources ----

  userId(index: number): number {
    return this.users.id(index);
  }

  private requesterIndex(r: RecordRng): number {
    return r.int(Math.max(1, this.counts.users));
  }

  /** Agents are users 1, 21, 41, … */
  private agentIndex(r: RecordRng): number | null {
    const n = this.counts.users;
    if (n < 2) return null;
    return 1 + 20 * r.int(Math.floor((n - 2) / 20) + 1);
  }

  userRole(index: number): string {
    if (index % 97 === 0) return 'admin';
    return index % 20 === 1 ? 'agent' : 'end-user';
  }

  orgId(r: RecordRng): number | null {
    if (this.counts.organizations === 0) return null;
    return this.organizations.id(r.int(this.counts.organizations));
  }

  groupId(r: RecordRng): number {
    return GROUP_BASE + r.int(GROUP_COUNT);
  }

  // ---- builders ----

  ticket(e: Entry, origin: string): Rec {
    const r = this.rng(this.salt.ticket, e.index);
    const v = this.rng(this.salt.ticketV, e.index, e.version);
    const status = this.ticketStatus(e.index, e.version);
    const ai = this.ticketIsAi(e.index);
    const seeded = e.index < this.tickets.baseCount;
    // System updates bump generated_timestamp only, so updated_at may lag behind it (up to a day).
    const updated = seeded && e.version === 0 && r.chance(20) ? e.ts - r.int(86_400) : e.ts;
    // Fixed for the record's life: a seeded ticket was created up to 31 days before its seeded version.
    const created = seeded ? this.tickets.createdTs(e.index) - 86_400 - r.int(30 * 86_400) : this.tickets.createdTs(e.index);
    const requester = this.userId(this.requesterIndex(r));
    const agent = this.agentIndex(r);
    const assignee = status === 'new' || agent === null ? null : this.userId(agent);
    const subject = status === 'deleted' && r.chance(50) ? 'SCRUBBED' : r.pick(SUBJECTS);
    const channel = ai ? 'native_messaging' : r.pick(CHANNELS);
    const customFields = this.fields.ticketValues(e.index, e.version, e.ts);
    const tags = [...new Set([r.pick(TAGS), ...(v.chance(50) ? [v.pick(TAGS)] : [])])];
    const score = status === 'solved' || status === 'closed' ? v.pick(['good', 'bad', 'offered', 'unoffered']) : null;
    return {
      url: `${origin}/api/v2/tickets/${e.id}.json`,
      id: e.id,
      external_id: r.chance(10) ? `ext-${e.index}` : null,
      via: { channel, source: { from: {}, to: {}, rel: null } },
      created_at: iso(created),
      updated_at: iso(updated),
      type: r.pick(TYPES),
      subject,
      raw_subject: subject,
      description: status === 'deleted' ? 'X' : `${subject}. Customer message #${e.index} (generated).`,
      priority: v.pick(PRIORITIES),
      status,
      recipient: channel === 'email' ? 'support@example.com' : null,
      requester_id: requester,
      submitter_id: requester,
      assignee_id: assignee,
      organization_id: this.orgId(r),
      group_id: assignee === null ? null : this.groupId(r),
      collaborator_ids: [],
      follower_ids: [],
      email_cc_ids: [],
      forum_topic_id: null,
      problem_id: null,
      has_incidents: false,
      is_public: true,
      due_at: null,
      tags,
      custom_fields: customFields,
      satisfaction_rating: score === null ? null : { score },
      sharing_agreement_ids: [],
      custom_status_id: CUSTOM_STATUS_BASE + STATUSES.indexOf(status as (typeof STATUSES)[number]) + 1,
      fields: customFields.map((f) => ({ ...f })),
      followup_ids: [],
      ticket_form_id: r.pick(FORM_IDS),
      brand_id: r.pick(BRAND_IDS),
      allow_channelback: false,
      allow_attachments: true,
      from_messaging_channel: channel === 'native_messaging',
      support_type: ai ? 'ai_agent' : 'agent',
      generated_timestamp: e.ts,
    };
  }

  user(e: Entry, origin: string): Rec {
    const r = this.rng(this.salt.user, e.index);
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const role = this.userRole(e.index);
    const active = !this.userIsDeleted(e.index);
    const zone = r.pick(ZONES);
    const seeded = e.index < this.users.baseCount;
    const created = this.users.createdTs(e.index) - (seeded ? r.int(90 * 86_400) : 0);
    return {
      id: e.id,
      url: `${origin}/api/v2/users/${e.id}.json`,
      name: `${first} ${last}`,
      email: `${first}.${last}.${e.index}@example.com`.toLowerCase(),
      created_at: iso(created),
      updated_at: iso(e.ts),
      time_zone: zone[1],
      iana_time_zone: zone[0],
      phone: null,
      shared_phone_number: null,
      photo: null,
      locale_id: 1,
      locale: 'en-US',
      organization_id: r.chance(60) ? this.orgId(r) : null,
      role,
      verified: r.chance(70),
      external_id: null,
      tags: r.chance(30) ? [r.pick(TAGS)] : [],
      alias: null,
      active,
      shared: false,
      shared_agent: false,
      last_login_at: role === 'end-user' ? null : iso(e.ts - r.int(86_400)),
      two_factor_auth_enabled: role !== 'end-user',
      signature: null,
      details: null,
      notes: null,
      role_type: null,
      custom_role_id: null,
      moderator: false,
      ticket_restriction: role === 'end-user' ? 'requested' : null,
      only_private_comments: false,
      restricted_agent: role === 'end-user',
      suspended: false,
      default_group_id: role === 'end-user' ? null : this.groupId(r),
      report_csv: false,
      user_fields: this.fields.keyedValues('user', e.index, e.version, e.ts),
      permanently_deleted: false,
    };
  }

  organization(e: Entry, origin: string): Rec {
    const r = this.rng(this.salt.org, e.index);
    const name = `${r.pick(LAST)} ${r.pick(['Industries', 'GmbH', 'Ltd', 'Inc', 'Labs', 'Co-op'])} ${e.index}`;
    const deleted = this.organizationIsDeleted(e.index);
    const seeded = e.index < this.organizations.baseCount;
    const created = this.organizations.createdTs(e.index) - (seeded ? r.int(365 * 86_400) : 0);
    return {
      url: `${origin}/api/v2/organizations/${e.id}.json`,
      id: e.id,
      name,
      shared_tickets: r.chance(20),
      shared_comments: r.chance(10),
      external_id: r.chance(30) ? `org-${e.index}` : null,
      created_at: iso(created),
      updated_at: iso(e.ts),
      domain_names: [`${name.split(' ')[0].toLowerCase()}${e.index}.example.com`],
      details: null,
      notes: null,
      group_id: null,
      tags: r.chance(40) ? [r.pick(TAGS)] : [],
      organization_fields: this.fields.keyedValues('organization', e.index, e.version, e.ts),
      deleted_at: deleted ? iso(e.ts) : null,
    };
  }

  ticketEvent(e: Entry, withComments: boolean): Rec {
    const r = this.rng(this.salt.event, e.index);
    const link = this.eventTicket.get(e.index);
    const ticketId = this.tickets.id(this.ticketEventTicket(e.index));
    const updater = this.userId(r.chance(50) ? this.requesterIndex(r) : (this.agentIndex(r) ?? 0));
    const children: Rec[] = [];
    const drawnCreate = r.chance(25);
    const isCreate = link ? link.create : drawnCreate;
    const commentPresent = isCreate || r.chance(60);
    const commentPublic = commentPresent && r.chance(80);
    const childCount = 1 + r.int(3);
    for (let k = 0; k < childCount; k++) {
      const field = isCreate && k === 0 ? 'status' : r.pick(['status', 'priority', 'assignee_id', 'tags']);
      children.push({
        id: e.id + 1 + k * 2,
        via: 'Web form',
        via_reference_id: null,
        comment_present: commentPresent,
        comment_public: commentPublic,
        event_type: isCreate ? 'Create' : 'Change',
        field_name: field,
        value: field === 'status' ? r.pick(STATUSES) : field === 'priority' ? r.pick(['low', 'normal', 'high']) : field === 'tags' ? [r.pick(TAGS)] : String(updater),
        ...(isCreate ? {} : { previous_value: field === 'tags' ? [] : null }),
      });
    }
    if (withComments && commentPresent) {
      const body = `${r.pick(SUBJECTS)}: reply on ticket ${ticketId}.`;
      children.push({
        id: e.id + 1 + childCount * 2,
        type: 'Comment',
        author_id: updater,
        body,
        html_body: `<div class="zd-comment" dir="auto"><p dir="auto">${body}</p></div>`,
        public: commentPublic,
        attachments: [],
        audit_id: e.id,
        created_at: iso(e.ts),
        event_type: 'Comment',
        via: { channel: 'web', source: { from: {}, to: {}, rel: null } },
      });
    }
    return {
      id: e.id,
      ticket_id: ticketId,
      timestamp: e.ts,
      created_at: iso(e.ts),
      updater_id: updater,
      via: 'Web form',
      system: { client: 'Mozilla/5.0', ip_address: `192.0.2.${1 + r.int(250)}`, latitude: 52.52, longitude: 13.4, location: 'Berlin, BE, Germany' },
      metadata: { system: {}, custom: {} },
      event_type: 'Audit',
      merged_ticket_ids: [],
      child_events: children,
    };
  }

  metricEvent(e: Entry): Rec {
    const r = this.rng(this.salt.metric, e.index);
    const ticketId = this.tickets.id(this.metricEventTicket(e.index));
    const type = r.pick(METRIC_TYPES);
    const rec: Rec = {
      id: e.id,
      ticket_id: ticketId,
      metric: r.pick(METRICS),
      instance_id: 1 + r.int(3),
      type,
      time: iso(e.ts),
      deleted: this.metricEventDeleted(e.index),
    };
    if (type === 'apply_sla' || type === 'apply_group_sla') {
      rec.sla = { target: r.pick([60, 120, 480, 1440]), business_hours: r.chance(50), policy: { id: 6_124_000_000_000 + r.int(3), title: 'Standard SLA', description: 'Generated policy' } };
    }
    if (type === 'update_status') rec.status = { calendar: r.int(100_000), business: r.int(50_000) };
    return rec;
  }

  routingAttribute(e: Entry): Rec {
    const r = this.rng(this.salt.attr, e.index);
    // Ids are unique per event: exports dedupe routing events on id alone.
    return { id: uuidFrom(this.seed, this.salt.attr, e.index), name: r.pick(ATTRIBUTES), time: iso(e.ts), type: e.index < this.counts.routingAttributes / 2 ? 'create' : r.pick(['update', 'delete']) };
  }

  routingAttributeValue(e: Entry): Rec {
    const r = this.rng(this.salt.value, e.index);
    const attrs = Math.max(1, this.counts.routingAttributes);
    return {
      id: uuidFrom(this.seed, this.salt.value, e.index),
      attribute_id: uuidFrom(this.seed, this.salt.attr, r.int(attrs)),
      name: r.pick(ATTRIBUTE_VALUES),
      time: iso(e.ts),
      type: r.chance(80) ? 'create' : r.pick(['update', 'delete']),
    };
  }

  routingInstanceValue(e: Entry): Rec {
    const r = this.rng(this.salt.instance, e.index);
    const type = r.pick(INSTANCE_TYPES);
    const instance = type.endsWith('agent') ? this.userId(this.agentIndex(r) ?? 0) : this.tickets.id(r.int(Math.max(1, this.counts.tickets)));
    return {
      id: uuidFrom(this.seed, this.salt.instance, e.index),
      attribute_value_id: uuidFrom(this.seed, this.salt.value, r.int(Math.max(1, this.counts.routingAttributeValues))),
      instance_id: String(instance),
      time: iso(e.ts),
      type,
    };
  }

  // ---- sideloads ----

  /** A user record for sideloads, by id (ids outside the generated set are skipped). */
  userById(id: number, origin: string): Rec | null {
    const index = this.users.indexOfId(id);
    return index < 0 ? null : this.user(this.users.current(index), origin);
  }

  organizationById(id: number, origin: string): Rec | null {
    const index = this.organizations.indexOfId(id);
    return index < 0 ? null : this.organization(this.organizations.current(index), origin);
  }

  group(id: number, origin: string): Rec {
    const g = id - GROUP_BASE;
    return { url: `${origin}/api/v2/groups/${id}.json`, id, is_public: true, name: ['Support', 'Billing', 'Tier 2', 'Hardware', 'EMEA', 'VIP'][g % 6], description: '', default: g === 0, deleted: false, created_at: iso(this.accountCreated), updated_at: iso(this.accountCreated) };
  }

  brand(id: number, origin: string): Rec {
    const n = BRAND_IDS.indexOf(id as (typeof BRAND_IDS)[number]) + 1;
    return { url: `${origin}/api/v2/brands/${id}.json`, id, name: n === 1 ? 'Example' : `Example ${n}`, brand_url: `https://example${n}.zendesk.com`, subdomain: `example${n}`, has_help_center: true, active: true, default: n === 1, created_at: iso(this.accountCreated), updated_at: iso(this.accountCreated) };
  }

  ticketForm(id: number, origin: string): Rec {
    const n = FORM_IDS.indexOf(id as (typeof FORM_IDS)[number]) + 1;
    return { url: `${origin}/api/v2/ticket_forms/${id}.json`, id, name: n === 1 ? 'Default Ticket Form' : `Form ${n}`, display_name: `Form ${n}`, position: n, active: true, default: n === 1, end_user_visible: true, ticket_field_ids: this.fields.ticketFieldIds(this.anchor), created_at: iso(this.accountCreated), updated_at: iso(this.accountCreated) };
  }

  metricSet(ticket: Rec, origin: string): Rec {
    const id = (ticket.id as number) + 7_000_000_000;
    const r = this.rng(this.salt.ticket ^ 0x5e7, id % 1_000_000_007);
    return {
      url: `${origin}/api/v2/ticket_metrics/${id}.json`, id, ticket_id: ticket.id,
      created_at: ticket.created_at, updated_at: ticket.updated_at,
      group_stations: 1 + r.int(3), assignee_stations: 1 + r.int(3), reopens: r.int(2), replies: r.int(6),
      reply_time_in_minutes: { calendar: r.int(600), business: r.int(300) },
      first_resolution_time_in_minutes: { calendar: r.int(6000), business: r.int(3000) },
      full_resolution_time_in_minutes: { calendar: r.int(9000), business: r.int(4000) },
    };
  }

  identity(user: Rec, origin: string): Rec {
    const id = (user.id as number) + 1;
    return { url: `${origin}/api/v2/users/${user.id as number}/identities/${id}.json`, id, user_id: user.id, type: 'email', value: user.email, verified: user.verified, primary: true, created_at: user.created_at, updated_at: user.updated_at };
  }
}

export function scopeAllows(scope: string, ai: boolean): boolean {
  if (scope === 'all') return true;
  if (scope === 'ai_agent') return ai;
  return !ai;
}
