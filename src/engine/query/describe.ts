// One line that says what a query does, for lists, titles and tooltips.
import { endpointById, ignoresStartTime, paginationLabel, type ResourceName } from '../zendesk';
import type { ResolvedQuery, SavedQuery } from './model';
import { slug } from './slug';
import { formatUnix } from './startTime';
import { DEFAULT_SUPPORT_TYPE_SCOPE, safeEndpoint } from './validate';

/**
 * One line for lists, titles and tooltips, e.g. `Weekly tickets: tickets (cursor) since -7d with users → weekly-tickets/tickets.jsonl`.
 * Tolerates a query that failed validation, since UIs list those too.
 */
export function describeQuery(q: SavedQuery | ResolvedQuery): string {
  const resolved = 'endpointId' in q;
  const endpoint = resolved ? endpointById(q.endpointId) : safeEndpoint(q);
  const model = endpoint ? paginationLabel(endpoint) : resolved ? '' : q.pagination ?? '';
  const resource = String(q.resource ?? '(no resource)');
  const name = String(q.name ?? 'Untitled');
  const parts = [`${name}: ${resource}${model ? ` (${model})` : ''}`];
  if (!ignoresStartTime(resource as ResourceName)) {
    const from = resolved ? (q.startTime === 0 ? undefined : formatUnix(q.startTime)) : q.startTime === undefined || q.startTime === 0 ? undefined : String(q.startTime);
    parts.push(from === undefined ? 'from the beginning' : `since ${from}`);
  }
  const include = q.params?.include;
  if (Array.isArray(include) && include.length) parts.push(`with ${include.join(', ')}`);
  if (q.params?.excludeDeleted) parts.push('without deleted');
  if (q.params?.supportTypeScope && q.params.supportTypeScope !== DEFAULT_SUPPORT_TYPE_SCOPE) parts.push(`scope ${q.params.supportTypeScope}`);
  const format = q.output?.format ?? 'jsonl';
  if (format === 'postgres') {
    const db = resolved ? q.output.tables?.database : q.output;
    return `${parts.join(' ')} → PostgreSQL ${db?.connection ?? '(no connection)'}, schema ${db?.schema ?? 'zendesk'}`;
  }
  const fallback = format === 'duckdb' ? `${slug(name)}.duckdb` : format === 'parquet' ? `${slug(name)}/` : `${slug(name)}/${resource}.${format}`;
  const target = q.output?.path ?? fallback;
  return `${parts.join(' ')} → ${target}${target.endsWith(`.${format}`) ? '' : ` (${format})`}`;
}
