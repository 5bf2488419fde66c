// Which version of a record a file holds, read the way Zendesk documents it, independently of the
// engine's catalogue and helpers (a mistake there must not hide itself in the expectation). The
// simulator's oracle (expected(), current()) speaks in the same unit: id and Unix seconds.

/**
 * The field that stamps a version, per resource (shared/zendesk/api-behaviour.md §3, §6, §9, §5):
 * tickets by generated_timestamp (Unix seconds), users and organizations by updated_at (ISO 8601),
 * ticket events by timestamp, metric and routing events by time.
 */
export const VERSION_FIELD: Readonly<Record<string, string>> = {
  tickets: 'generated_timestamp',
  users: 'updated_at',
  organizations: 'updated_at',
  ticket_events: 'timestamp',
  ticket_metric_events: 'time',
  routing_attributes: 'time',
  routing_attribute_values: 'time',
  routing_instance_values: 'time',
};

/** The resource of an endpoint id such as `tickets/cursor`, `users/sample` or `routing_attributes`. */
export function resourceOf(endpointId: string): string {
  return endpointId.split('/')[0];
}

/** The version's Unix second: a number as it is, an ISO 8601 string parsed. */
export function versionSeconds(record: Record<string, unknown>, resource: string): number {
  const field = VERSION_FIELD[resource];
  if (!field) throw new Error(`No documented version field for "${resource}".`);
  const v = record[field];
  const seconds = typeof v === 'number' ? v : typeof v === 'string' ? Math.floor(Date.parse(v) / 1000) : Number.NaN;
  if (!Number.isFinite(seconds)) throw new Error(`Record ${JSON.stringify(record.id)} of ${resource} has no usable ${field}: ${JSON.stringify(v)}.`);
  return seconds;
}

/** `id<sep>seconds` of every record, in file order. */
export function versionKeys(records: Record<string, unknown>[], endpointId: string, sep = '@'): string[] {
  const resource = resourceOf(endpointId);
  return records.map((r) => `${String(r.id)}${sep}${versionSeconds(r, resource)}`);
}

/** The newest version of each id, as `id<sep>seconds`, sorted: what the oracle's current() lists. */
export function latestVersionKeys(records: Record<string, unknown>[], endpointId: string, sep = '@'): string[] {
  const resource = resourceOf(endpointId);
  const latest = new Map<string, number>();
  for (const r of records) {
    const id = String(r.id);
    latest.set(id, Math.max(latest.get(id) ?? -Infinity, versionSeconds(r, resource)));
  }
  return [...latest].map(([id, ts]) => `${id}${sep}${ts}`).sort();
}
