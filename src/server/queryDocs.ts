// Hover text for saved query files: what a resource is, how it pages, which rate-limit family it
// spends, which sideloads and parameters it takes. Facts come from the catalogue so they can't drift.
import { DEFAULT_BUDGETS, ENDPOINTS, HIGH_VOLUME_BUDGETS, paginationChoices, requestCostFactor, type EndpointForm, type PaginationModel, type RateLimitFamily, type ResourceName } from '../engine/zendesk';

const RESOURCE_SUMMARY: Record<ResourceName, string> = {
  tickets: 'Every ticket created or changed since the start time, matched on `generated_timestamp` (system updates included). Deleted tickets stay in the stream with `status: "deleted"` unless `excludeDeleted` is set. Archived tickets are included.',
  users: 'Every user created or changed since the start time, matched on `updated_at`. Deleted users come back with `active: false`.',
  organizations: 'Every organization created or changed since the start time, matched on `updated_at`.',
  ticket_events: 'Ticket audit events (field changes, comments as `comment_present` flags) since the start time. Sideload `comment_events` for comment bodies; heavy comment pages are the ones that time out.',
  ticket_metric_events: 'SLA and metric events (reply time, resolution time, …: activate, pause, fulfill, breach, …) that occurred on or after the start time.',
  routing_attributes: 'Skill-based routing attribute changes (create/update/delete). Enterprise plans only. The first request returns the full history; there is no start time.',
  routing_attribute_values: 'Skill-based routing attribute value changes (create/update/delete). Enterprise plans only. The full history; no start time.',
  routing_instance_values: 'Which agents and tickets carry which routing attribute values (associate/unassociate events). Enterprise plans only. The full history; no start time.',
};

const MODEL_TEXT: Record<PaginationModel, string> = {
  cursor: 'cursor-based: `start_time` on the first request, then `cursor=after_cursor`; exact pages, no duplicates; stops on `end_of_stream`',
  time: 'time-based: `start_time` → `end_time`; pages may exceed `per_page` and repeat the boundary second (deduplicated on id + timestamp); stops on `end_of_stream`',
  routing: 'opaque cursor from `next_page`, up to 3000 records a page (`per_page` is ignored); stops when `count` is 0',
  metricCursor: 'cursor pagination with `page[size]` ≤ 100, then `page[after]`; stops when `meta.has_more` is false',
  sample: 'one request, at most 50 records',
};

const FAMILY_TEXT: Record<RateLimitFamily, string> = {
  incremental: 'incremental exports',
  usersCursor: 'users cursor export (its own budget)',
  sample: 'sample endpoints',
};

function budget(family: RateLimitFamily): string {
  const b = DEFAULT_BUDGETS[family];
  const hv = HIGH_VOLUME_BUDGETS[family];
  const per = (w: number) => (w === 60 ? 'min' : `${w / 60} min`);
  return `${b.requests} requests / ${per(b.windowSeconds)}` + (hv.requests !== b.requests ? ` (${hv.requests} with High Volume)` : '');
}

function formsOf(resource: ResourceName): EndpointForm[] {
  return ENDPOINTS.filter((e) => e.resource === resource);
}

export function resourceHover(resource: ResourceName): string {
  const forms = formsOf(resource).filter((f) => f.model !== 'sample');
  const lines = [`**${resource}**`, '', RESOURCE_SUMMARY[resource], ''];
  const choices = paginationChoices(resource);
  for (const f of forms) {
    const choice = f.model === 'time' ? 'time' : 'cursor';
    const isDefault = choices[0] === choice && choices.length > 1 ? ' (default)' : '';
    lines.push(`- \`${f.path}\`${choices.length > 1 ? ` — \`"pagination": "${choice}"\`${isDefault}` : ''}: ${MODEL_TEXT[f.model]}.`
      + ` Up to ${f.recordsPerRequest.toLocaleString('en-US')} records a request${requestCostFactor(f) >= 2 ? ` (≈${Math.round(requestCostFactor(f))}× the requests of the best form)` : ''}.`
      + ` Rate limit: ${FAMILY_TEXT[f.family]}, ${budget(f.family)}.`
      + (f.maxPerPage ? ` \`perPage\` ≤ ${f.maxPerPage}.` : ''));
  }
  const main = forms[0];
  lines.push('');
  lines.push(main.includes.length ? `Sideloads (\`params.include\`): ${main.includes.map((i) => `\`${i}\``).join(', ')}.` : 'No sideloads.');
  const extra: string[] = [];
  if (main.excludeDeleted) extra.push('`excludeDeleted`');
  if (main.supportTypeScope) extra.push('`supportTypeScope`');
  if (main.includeChanges) extra.push('`includeChanges`');
  if (extra.length) lines.push(`Also takes ${extra.join(', ')}.`);
  if (formsOf(resource).some((f) => f.model === 'sample')) lines.push(`\`"sample": true\` fetches one page of ≤ 50 records (${budget('sample')}).`);
  return lines.join('\n');
}

const PARAM_TEXT: Record<string, string> = {
  perPage: 'Records per page (`per_page`). Max 1000 (100 for metric events with cursor pagination, 50 for samples); ignored by routing exports. After a 504 or timeout the engine halves it for the rest of the stream.',
  include: 'Sideloads (`include`): related objects returned next to the records and written to their own files beside the output (`<output>.<sideload>.<ext>`). `last_audits` is not supported by incremental exports.',
  excludeDeleted: '`exclude_deleted=true` drops deleted records from the stream. By default deleted tickets stay in as tombstones (`status: "deleted"`). Tickets and ticket metric events only.',
  supportTypeScope: '`support_type_scope`: `agent` (Zendesk\'s default: AI-agent tickets hidden), `ai_agent`, or `all`. Tickets and ticket events only.',
  includeChanges: '`include_changes=true`: ticket metric events with the changes that produced them.',
  sample: 'Use the `/sample` endpoint: one request, at most 50 records, limited to 10 requests per 20 minutes. For a quick look at the data shape.',
};

export function paramHover(name: string): string | undefined {
  const text = PARAM_TEXT[name];
  return text ? `**params.${name}**\n\n${text}` : undefined;
}

export const FIELD_TEXT: Record<string, string> = {
  name: '**name** — a label for the export; the default output folder is derived from it.',
  connection: '**connection** — the name of a connection from the `zendesk.connections` setting. Never a secret: the token lives in the OS keychain.',
  resource: '**resource** — what to export: tickets, users, organizations, ticket_events, ticket_metric_events, routing_attributes, routing_attribute_values or routing_instance_values.',
  pagination: '**pagination** — `cursor` (exact pages, no duplicates; recommended by Zendesk) or `time` (start_time/end_time). Only tickets, users and ticket_metric_events offer both.',
  startTime: '**startTime** — where the first run starts: an ISO date or date-time (UTC if no zone), Unix seconds, or a relative time such as `-30d`, `-12h`, `-90m`. It is clamped to now − 61 s (Zendesk never returns the last minute). Later runs continue from the checkpoint instead. Routing exports ignore it.',
  params: '**params** — `perPage`, `include` (sideloads), `excludeDeleted`, `supportTypeScope`, `includeChanges`, `sample`.',
  output: '**output** — `path` (relative to this file\'s folder; default `<name>/<resource>.<ext>`) and `format` (`jsonl` default, `csv`, `json`). The checkpoint is written beside it.',
  format: '**format** — `jsonl` (one record per line, appended on resume; default), `csv` (flattened columns, formula-injection safe) or `json` (an array).',
  path: '**path** — the main output file, relative to this file\'s folder. Sideloads and the checkpoint go beside it.',
};

export function sideloadHover(resource: ResourceName, sideload: string): string {
  return `**include: ${sideload}** — sideloaded with ${resource}; written to its own file beside the output (\`<output>.${sideload}.<ext>\`).`;
}
