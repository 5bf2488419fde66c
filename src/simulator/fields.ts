// The account's field definitions (GET /api/v2/ticket_fields, /user_fields, /organization_fields)
// and the custom-field values records carry for them. Ids and titles are fixed, whatever the seed,
// and chosen to exercise a client that names columns after titles: titles that slug alike
// ("Order #", "Order Number", an inactive "order number"), one field renamed while the simulator
// runs, one deleted part-way through the history (older versions still carry its value), one
// inactive, one created half-way (older versions lack it).
import { RecordRng, saltOf } from './random';
import { cursorLinks, nextQuery, type Reply, type RequestRules } from './requests';
import { SPAN_SECONDS } from './stream';

export type FieldKind = 'ticket' | 'user' | 'organization';

/** The renamed field changes its title this long after the anchor, so a running demo shows it. */
export const FIELD_RENAME_AFTER_SECONDS = 600;
/** The deleted field is deleted, and the late field created, at these fractions of the history. */
const DELETED_AT = 2 / 3;
const CREATED_LATE_AT = 1 / 2;

interface FieldSpec {
  id: number;
  /** user_fields / organization_fields key; null for ticket fields. */
  key: string | null;
  type: string;
  title: string;
  position: number;
  /** The title after FIELD_RENAME_AFTER_SECONDS. */
  renamedTo?: string;
  /** A ticket system field: not removable, never in custom_fields. */
  system?: boolean;
  inactive?: boolean;
  createdLate?: boolean;
  deleted?: boolean;
  /** Dropdown (tagger) values. */
  options?: readonly string[];
  /** The value a record version carries: `r` is stable per record, `v` per version, `ts` the version's second. */
  value?(r: RecordRng, v: RecordRng, ts: number): unknown;
}

const day = (ts: number): string => new Date(ts * 1000).toISOString().slice(0, 10);

const TICKET_FIELDS: readonly FieldSpec[] = [
  { id: 360_000_001_001, key: null, type: 'subject', title: 'Subject', position: 0, system: true },
  { id: 360_000_001_002, key: null, type: 'description', title: 'Description', position: 1, system: true },
  { id: 360_000_001_003, key: null, type: 'status', title: 'Status', position: 2, system: true },
  { id: 360_000_001_004, key: null, type: 'tickettype', title: 'Type', position: 3, system: true },
  { id: 360_000_001_005, key: null, type: 'priority', title: 'Priority', position: 4, system: true },
  { id: 360_000_001_006, key: null, type: 'group', title: 'Group', position: 5, system: true },
  { id: 360_000_001_007, key: null, type: 'assignee', title: 'Assignee', position: 6, system: true },
  { id: 360_001_234_501, key: null, type: 'tagger', title: 'Support tier', position: 10, options: ['tier_1', 'tier_2', 'tier_3'], value: (r) => r.pick(['tier_1', 'tier_2', 'tier_3']) },
  { id: 360_001_234_502, key: null, type: 'text', title: 'Order #', position: 12, value: (r) => (r.chance(60) ? `A-${100_000 + r.int(900_000)}` : null) },
  { id: 360_001_234_503, key: null, type: 'checkbox', title: 'Escalated', position: 13, value: (_r, v) => v.chance(15) },
  { id: 360_001_234_504, key: null, type: 'integer', title: 'Order Number', position: 11, value: (r) => (r.chance(50) ? 10_000 + r.int(90_000) : null) },
  { id: 360_001_234_505, key: null, type: 'text', title: 'order number', position: 14, inactive: true, value: (r) => (r.chance(10) ? `legacy-${r.int(10_000)}` : null) },
  { id: 360_001_234_506, key: null, type: 'tagger', title: 'Product', renamedTo: 'Product line', position: 15, options: ['product_app', 'product_api', 'product_hardware'], value: (r) => r.pick(['product_app', 'product_api', 'product_hardware', null]) },
  { id: 360_001_234_507, key: null, type: 'textarea', title: 'Refund reason', position: 16, deleted: true, value: (r) => (r.chance(20) ? r.pick(['Damaged in transit', 'Charged twice', 'Changed my mind']) : null) },
  { id: 360_001_234_508, key: null, type: 'date', title: 'Follow-up date', position: 17, createdLate: true, value: (r, _v, ts) => (r.chance(30) ? day(ts - r.int(30) * 86_400) : null) },
];

const USER_FIELDS: readonly FieldSpec[] = [
  { id: 360_002_000_001, key: 'plan', type: 'dropdown', title: 'Plan', position: 0, options: ['free', 'pro', 'enterprise'], value: (r) => r.pick(['free', 'pro', 'enterprise']) },
  { id: 360_002_000_002, key: 'employee_no', type: 'text', title: 'Employee #', position: 1, value: (r) => (r.chance(40) ? `E${1000 + r.int(9000)}` : null) },
  { id: 360_002_000_003, key: 'employee_number', type: 'integer', title: 'Employee Number', position: 2, value: (r) => (r.chance(40) ? 1000 + r.int(9000) : null) },
  { id: 360_002_000_004, key: 'region', type: 'dropdown', title: 'Region', renamedTo: 'Sales region', position: 3, options: ['emea', 'amer', 'apac'], value: (r) => r.pick(['emea', 'amer', 'apac']) },
  { id: 360_002_000_005, key: 'newsletter', type: 'checkbox', title: 'Newsletter', position: 4, inactive: true, value: (_r, v) => v.chance(50) },
  { id: 360_002_000_006, key: 'legacy_id', type: 'text', title: 'Legacy ID', position: 5, deleted: true, value: (r) => `L-${r.int(1_000_000)}` },
];

const ORGANIZATION_FIELDS: readonly FieldSpec[] = [
  { id: 360_003_000_001, key: 'account_tier', type: 'dropdown', title: 'Account tier', position: 0, options: ['gold', 'silver', 'bronze'], value: (r) => r.pick(['gold', 'silver', 'bronze']) },
  { id: 360_003_000_002, key: 'account_no', type: 'text', title: 'Account #', position: 1, value: (r) => `ACC-${r.int(100_000)}` },
  { id: 360_003_000_003, key: 'account_number', type: 'integer', title: 'Account Number', position: 2, value: (r) => (r.chance(70) ? r.int(100_000) : null) },
  { id: 360_003_000_004, key: 'industry', type: 'dropdown', title: 'Industry', renamedTo: 'Sector', position: 3, options: ['retail', 'software', 'health', 'finance'], value: (r) => r.pick(['retail', 'software', 'health', 'finance']) },
  { id: 360_003_000_005, key: 'renewal_date', type: 'date', title: 'Renewal date', position: 4, createdLate: true, value: (r, _v, ts) => day(ts - r.int(300) * 86_400) },
  { id: 360_003_000_006, key: 'crm_id', type: 'text', title: 'CRM ID', position: 5, deleted: true, value: (r) => `crm-${r.int(1_000_000)}` },
  { id: 360_003_000_007, key: 'old_segment', type: 'text', title: 'Old segment', position: 6, inactive: true, value: (r) => (r.chance(20) ? r.pick(['smb', 'mid', 'ent']) : null) },
];

const SPECS: Record<FieldKind, readonly FieldSpec[]> = { ticket: TICKET_FIELDS, user: USER_FIELDS, organization: ORGANIZATION_FIELDS };

/** Field lists return at most this many per page (offset and cursor pagination alike). */
const LIST_PAGE_MAX = 100;

/** Wrapper key and path segment of each list endpoint. */
export const FIELD_LISTS: Record<FieldKind, string> = { ticket: 'ticket_fields', user: 'user_fields', organization: 'organization_fields' };

export type Rec = Record<string, unknown>;

function iso(ts: number): string {
  return new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
}

/** The fields of one account, placed in time against its history. */
export class AccountFields {
  private readonly salt: Record<FieldKind, number> = { ticket: saltOf('ticket-fields'), user: saltOf('user-fields'), organization: saltOf('org-fields') };
  readonly renamedAt: number;
  private readonly deletedAt: number;
  private readonly createdLateAt: number;

  /**
   * @param historyStart first second of the seeded history
   * @param created when the account (and its initial fields) came into being
   */
  constructor(private readonly seed: number, historyStart: number, private readonly created: number, anchor: number) {
    this.renamedAt = anchor + FIELD_RENAME_AFTER_SECONDS;
    this.deletedAt = historyStart + Math.floor(SPAN_SECONDS * DELETED_AT);
    this.createdLateAt = historyStart + Math.floor(SPAN_SECONDS * CREATED_LATE_AT);
  }

  private createdOf(f: FieldSpec): number {
    return f.createdLate ? this.createdLateAt : this.created;
  }

  /** Whether the field existed at second `ts` (created, not yet deleted). */
  private existsAt(f: FieldSpec, ts: number): boolean {
    return this.createdOf(f) <= ts && !(f.deleted && ts >= this.deletedAt);
  }

  /** The definitions the list endpoint shows at data-clock second `now`, by position. */
  definitions(kind: FieldKind, now: number, origin: string): Rec[] {
    return SPECS[kind].filter((f) => this.existsAt(f, now)).sort((a, b) => a.position - b.position).map((f) => this.definition(kind, f, now, origin));
  }

  private definition(kind: FieldKind, f: FieldSpec, now: number, origin: string): Rec {
    const renamed = f.renamedTo !== undefined && now >= this.renamedAt;
    const title = renamed ? f.renamedTo! : f.title;
    const created = this.createdOf(f);
    const common: Rec = {
      url: `${origin}/api/v2/${FIELD_LISTS[kind]}/${f.id}.json`,
      id: f.id,
      type: f.type,
      title,
      raw_title: title,
      description: '',
      raw_description: '',
      position: f.position,
      active: !f.inactive,
      regexp_for_validation: null,
      created_at: iso(created),
      updated_at: iso(renamed ? this.renamedAt : created),
    };
    const options = f.options?.map((value, k) => {
      const name = value.replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase());
      return { id: f.id * 100 + k + 1, name, raw_name: name, value, default: false };
    });
    if (kind !== 'ticket') {
      return { ...common, key: f.key, system: false, ...(options ? { custom_field_options: options } : {}) };
    }
    return {
      ...common,
      required: false,
      collapsed_for_agents: false,
      title_in_portal: title,
      raw_title_in_portal: title,
      visible_in_portal: f.system === true,
      editable_in_portal: f.system === true,
      required_in_portal: false,
      agent_can_edit: true,
      agent_description: null,
      tag: null,
      removable: !f.system,
      key: null,
      sub_type_id: 0,
      ...(options ? { custom_field_options: options } : {}),
    };
  }

  private rngs(kind: FieldKind, index: number, version: number): [RecordRng, RecordRng] {
    const salt = this.salt[kind];
    return [new RecordRng(this.seed, salt, index), new RecordRng(this.seed, salt ^ Math.imul(version + 1, 0x27d4eb2d), index)];
  }

  /** A ticket version's `custom_fields`: every custom field that existed at its second, by id. */
  ticketValues(index: number, version: number, ts: number): { id: number; value: unknown }[] {
    const [r, v] = this.rngs('ticket', index, version);
    return TICKET_FIELDS.filter((f) => !f.system).map((f) => [f, f.value!(r, v, ts)] as const)
      .filter(([f]) => this.existsAt(f, ts)).map(([f, value]) => ({ id: f.id, value }));
  }

  /** A user or organization version's `user_fields` / `organization_fields`, keyed by field key. */
  keyedValues(kind: 'user' | 'organization', index: number, version: number, ts: number): Record<string, unknown> {
    const [r, v] = this.rngs(kind, index, version);
    const out: Record<string, unknown> = {};
    // Every value is drawn, present or not, so a field's value never depends on which others exist.
    for (const f of SPECS[kind]) {
      const value = f.value!(r, v, ts);
      if (this.existsAt(f, ts)) out[f.key!] = value;
    }
    return out;
  }

  /** Ids of the ticket fields a ticket form lists (all that exist at `now`). */
  ticketFieldIds(now: number): number[] {
    return TICKET_FIELDS.filter((f) => this.existsAt(f, now) && !f.inactive).map((f) => f.id);
  }
}

const encodeFieldCursor = (id: number): string => Buffer.from(`fld:${id}`).toString('base64url');

function decodeFieldCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const m = /^fld:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : null;
}

/**
 * GET /api/v2/{ticket,user,organization}_fields at data-clock second `now`. With page[size] (or a
 * page[after]/page[before] cursor): standard cursor pagination in id order, at most 100 a page.
 * Without: every ticket field in position order (ticket fields have no offset pagination), or user
 * and organization fields by offset (`page`, `per_page` ≤ 100), with `next_page`, `previous_page`
 * and the total `count`.
 */
export function fieldList(fields: AccountFields, kind: FieldKind, url: URL, base: string, rules: RequestRules, now: number): Reply {
  const key = FIELD_LISTS[kind];
  const all = fields.definitions(kind, now, new URL(base).origin);
  const q = url.searchParams;
  if (q.has('page[size]') || q.has('page[after]') || q.has('page[before]')) {
    const size = rules.pageSize(url, 'page[size]', LIST_PAGE_MAX, LIST_PAGE_MAX);
    const byId = [...all].sort((a, b) => (a.id as number) - (b.id as number));
    const afterRaw = q.get('page[after]');
    const beforeRaw = q.get('page[before]');
    const decode = (raw: string): number => {
      const id = decodeFieldCursor(raw);
      if (id === null) throw rules.invalidCursor();
      return id;
    };
    let from = 0;
    let to = byId.length;
    if (afterRaw !== null) {
      const id = decode(afterRaw);
      from = byId.findIndex((f) => (f.id as number) > id);
      if (from < 0) from = byId.length;
      to = Math.min(byId.length, from + size);
    } else if (beforeRaw !== null) {
      const id = decode(beforeRaw);
      to = byId.findIndex((f) => (f.id as number) >= id);
      if (to < 0) to = byId.length;
      from = Math.max(0, to - size);
    } else {
      to = Math.min(byId.length, size);
    }
    const page = byId.slice(from, to);
    const first = page[0];
    const last = page[page.length - 1];
    const links = cursorLinks(url, base, to < byId.length, last ? encodeFieldCursor(last.id as number) : null, first ? encodeFieldCursor(first.id as number) : null);
    return { status: 200, records: page.length, body: { [key]: page, ...links } };
  }
  if (kind === 'ticket') {
    return { status: 200, records: all.length, body: { [key]: all, next_page: null, previous_page: null, count: all.length } };
  }
  const perPage = rules.pageSize(url, 'per_page', LIST_PAGE_MAX, LIST_PAGE_MAX);
  const pageRaw = q.get('page');
  const pageNo = pageRaw === null || pageRaw === '' ? 1 : /^\d{1,7}$/.test(pageRaw) && Number(pageRaw) >= 1 ? Number(pageRaw) : NaN;
  if (Number.isNaN(pageNo)) throw rules.badRequest('page must be a whole number from 1', 'InvalidPageNumber');
  const page = all.slice((pageNo - 1) * perPage, pageNo * perPage);
  const link = (n: number): string => `${base}?${nextQuery(url, ['page'], [], [['page', String(n)]])}`;
  return {
    status: 200,
    records: page.length,
    body: { [key]: page, next_page: pageNo * perPage < all.length ? link(pageNo + 1) : null, previous_page: pageNo > 1 ? link(pageNo - 1) : null, count: all.length },
  };
}
