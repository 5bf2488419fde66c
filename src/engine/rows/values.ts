// How the grid reads one column out of a record: dotted paths into nested objects, custom fields
// by id (`custom_fields.<id>`), and cells as plain text-safe primitives.
import { flattenRecord } from '../export';
import type { ResourceName } from '../zendesk';
import { textOf } from '../text';

export type Cell = string | number | boolean | null;

const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** The value at `column` ('a.b', 'custom_fields.360001') or undefined; a literal key wins (CSV headers are already dotted). */
export function columnValue(record: Record<string, unknown>, column: string): unknown {
  if (Object.prototype.hasOwnProperty.call(record, column)) return record[column];
  let current: unknown = record;
  const parts = column.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (Array.isArray(current)) {
      const list = current as unknown[];
      // custom_fields: [{id, value}] is addressed by id, like the CSV writer's columns.
      const byId = list.filter(isIdValue).find((f) => textOf(f.id) === part);
      if (byId) {
        current = byId.value;
        continue;
      }
      const at = /^\d+$/.test(part) ? Number(part) : -1;
      current = at >= 0 ? list[at] : undefined;
    } else if (current && typeof current === 'object') {
      const obj = current as Record<string, unknown>;
      // A key that itself contains dots ('a.b' inside a nested object) is matched greedily.
      const rest = parts.slice(i).join('.');
      if (i > 0 && Object.prototype.hasOwnProperty.call(obj, rest)) return obj[rest];
      current = obj[part];
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/** A cell as sent to the webview: objects and arrays as JSON text, missing as null. */
export function toCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/** Text a filter matches against (lower case). */
export function cellText(value: unknown): string {
  const cell = toCell(value);
  return cell === null ? '' : String(cell).toLowerCase();
}

/** Strings longer than this sort by their prefix (ties fall back to file order): bounds the sort column's memory. */
export const SORT_PREFIX = 80;

export type SortKey = number | string | null;

/** Numbers (and number-looking strings, as CSV holds them) compare numerically, strings case-insensitively. */
export function sortKey(value: unknown): SortKey {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (PLAIN_NUMBER.test(text)) return Number(text);
  const cut = text.slice(0, SORT_PREFIX);
  const lower = cut.toLowerCase();
  // toLowerCase returns the same string when nothing changed, and a slice keeps its whole parent
  // (the record's text) alive in V8: store a copy then.
  // (V8 copies strings shorter than 13 characters anyway.)
  return lower === cut && cut.length >= 13 ? (' ' + cut).slice(1) : lower;
}

/** Numbers before strings; empty values last in either direction. */
export function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const ta = typeof a;
  const tb = typeof b;
  if (ta !== tb) return ta === 'number' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Flattened column names of a record, in the record's order (nested objects dotted, custom fields by id). */
export function recordColumns(record: Record<string, unknown>): string[] {
  return [...flattenRecord(record).keys()];
}

const DEFAULT_COLUMNS: Record<ResourceName, string[]> = {
  tickets: ['id', 'subject', 'status', 'priority', 'type', 'requester_id', 'assignee_id', 'created_at', 'updated_at'],
  users: ['id', 'name', 'email', 'role', 'active', 'organization_id', 'created_at', 'updated_at'],
  organizations: ['id', 'name', 'domain_names', 'created_at', 'updated_at'],
  ticket_events: ['id', 'ticket_id', 'event_type', 'updater_id', 'created_at', 'timestamp'],
  ticket_metric_events: ['id', 'ticket_id', 'metric', 'type', 'instance_id', 'time'],
  routing_attributes: ['id', 'name', 'created_at', 'updated_at'],
  routing_attribute_values: ['id', 'name', 'attribute_id', 'created_at', 'updated_at'],
  routing_instance_values: ['id', 'type', 'instance_id', 'attribute_value_id', 'time'],
};

const RESOURCE_BY_LENGTH = (Object.keys(DEFAULT_COLUMNS) as ResourceName[]).sort((a, b) => b.length - a.length);

/** The resource an output file holds, from its name (`tickets.jsonl`, `ticket_metric_events.json`, …). */
export function guessResource(fileName: string): ResourceName | null {
  const base = fileName.replace(/^.*[\\/]/, '').toLowerCase();
  return RESOURCE_BY_LENGTH.find((r) => base.startsWith(r) || base.startsWith(r.replace(/_/g, '-'))) ?? null;
}

/** The columns a grid shows first for a resource (files and tables alike); none for an unknown one. */
export function usualColumns(resource: string | null | undefined): readonly string[] {
  return resource && Object.prototype.hasOwnProperty.call(DEFAULT_COLUMNS, resource) ? DEFAULT_COLUMNS[resource as ResourceName] : [];
}

/** The resource's usual columns that the data has; otherwise the first few columns. */
export function defaultColumns(resource: ResourceName | null, available: string[]): string[] {
  const have = new Set(available);
  const preferred = usualColumns(resource).filter((c) => have.has(c));
  if (preferred.length >= 3) return preferred;
  return available.filter((c) => !c.startsWith('custom_fields.') && c !== '_extra').slice(0, 8);
}

function isIdValue(v: unknown): v is { id: unknown; value: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'id' in v && 'value' in v;
}
