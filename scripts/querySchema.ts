// Builds schemas/zdquery.schema.json from the catalogue, so the editor's completion and validation
// can't drift from what validateSavedQuery accepts (test/unit/query.test.ts checks the file is current).
// Regenerate: npm run generate
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ENDPOINTS, RESOURCES, hasSample, paginationChoices, type EndpointForm, type ResourceName } from '../src/engine/zendesk';
import { DELETIONS_MODES, QUERY_FORMATS, SCHEMA_NAME_PATTERN, TABLE_FORMATS } from '../src/engine/query';

type Schema = Record<string, unknown>;

const RESOURCE_TEXT: Record<ResourceName, string> = {
  tickets: 'Tickets, matched on `generated_timestamp` (any change to the ticket). Cursor or time-based; sample available.',
  users: 'Users, matched on `updated_at`. Cursor (own rate limit) or time-based; sample available.',
  organizations: 'Organizations, matched on `updated_at`. Time-based only; sample available.',
  ticket_events: 'Ticket events (audits as a stream). Time-based only; `include: ["comment_events"]` adds comments; sample available.',
  ticket_metric_events: 'Ticket metric events (SLA and reply-time events). Time-based by default (about 1,000 events a request); cursor (`page[size]` ≤ 100) needs ≈10× the requests.',
  routing_attributes: 'Skill-based routing attributes (Enterprise). Cursor via `next_page`; ignores `startTime` and `perPage`.',
  routing_attribute_values: 'Skill-based routing attribute values (Enterprise). Cursor via `next_page`; ignores `startTime` and `perPage`.',
  routing_instance_values: 'Skill-based routing instance values (Enterprise). Cursor via `next_page`; ignores `startTime` and `perPage`.',
};

/** JSON Schema pattern for the string forms parseStartTime reads (calendar validity is checked by the engine). */
export const START_TIME_PATTERN =
  '^\\s*(\\d+|[Nn][Oo][Ww]|([Nn][Oo][Ww])?\\s*[-+]\\s*\\d+\\s*[smhdwSMHDW]|\\d{4}-\\d{2}-\\d{2}([Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?\\s*([Zz]|[+-]\\d{2}(:?\\d{2})?)?)?)\\s*$';

function doc(text: string, markdown?: string): Schema {
  // VS Code shows markdownDescription; other tools read description.
  return { description: text.replace(/`/g, ''), markdownDescription: markdown ?? text };
}

function choiceOf(e: EndpointForm): 'cursor' | 'time' {
  return e.model === 'time' ? 'time' : 'cursor';
}

const SAMPLE_ON = { properties: { params: { properties: { sample: { const: true } }, required: ['sample'] } }, required: ['params'] };

/** Schema matching exactly the queries that resolveEndpoint maps to `e`. */
function selects(e: EndpointForm): Schema {
  const resource = { properties: { resource: { const: e.resource } }, required: ['resource'] };
  if (e.model === 'sample') return { allOf: [resource, SAMPLE_ON] };
  const choice = choiceOf(e);
  const pagination = paginationChoices(e.resource)[0] === choice
    ? { anyOf: [{ not: { required: ['pagination'] } }, { properties: { pagination: { const: choice } } }] }
    : { properties: { pagination: { const: choice } }, required: ['pagination'] };
  return { allOf: [resource, { not: SAMPLE_ON }, pagination] };
}

/** What `params` may hold for endpoint `e`; `false` forbids a property the endpoint doesn't take. */
function paramsFor(e: EndpointForm): Schema {
  const props: Schema = {};
  props.perPage = e.maxPerPage === null ? false : { maximum: e.maxPerPage };
  props.include = e.includes.length === 0 ? { maxItems: 0 } : { items: { enum: [...e.includes] } };
  if (!e.excludeDeleted) props.excludeDeleted = false;
  if (!e.supportTypeScope) props.supportTypeScope = false;
  if (!e.includeChanges) props.includeChanges = false;
  return { properties: { params: { properties: props } } };
}

export function buildQuerySchema(): Schema {
  const allIncludes = [...new Set(ENDPOINTS.flatMap((e) => e.includes))];
  const byChoices = new Map<string, ResourceName[]>();
  for (const r of RESOURCES) {
    const key = paginationChoices(r).join(',');
    byChoices.set(key, [...(byChoices.get(key) ?? []), r]);
  }
  const noSample = RESOURCES.filter((r) => !hasSample(r));

  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Zendesk incremental export query',
    ...doc(
      'A saved Zendesk incremental export: which resource, from when, with which parameters, and where the records go. Run it again to continue where the last run stopped.',
      'A saved Zendesk incremental export: which resource, from when, with which parameters, and where the records go.\n\nRun it again to continue exactly where the last run stopped (the checkpoint sits beside the output).',
    ),
    type: 'object',
    required: ['name', 'resource'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', ...doc('The schema of this file, for editors (e.g. `./schemas/zdquery.schema.json`).') },
      name: { type: 'string', minLength: 1, pattern: '\\S', patternErrorMessage: 'The name must not be blank.', ...doc('A name for this export, shown in lists; the default output folder is derived from it.') },
      connection: {
        type: 'string', minLength: 1, pattern: '\\S',
        ...doc('The name of a configured Zendesk connection. Only the name: tokens live in the OS keychain, never in this file.'),
      },
      resource: {
        enum: [...RESOURCES],
        ...doc('What to export. Each resource is its own incremental stream.'),
        markdownEnumDescriptions: RESOURCES.map((r) => RESOURCE_TEXT[r]),
        enumDescriptions: RESOURCES.map((r) => RESOURCE_TEXT[r].replace(/`/g, '')),
      },
      pagination: {
        enum: ['cursor', 'time'],
        ...doc(
          'Pagination model where a resource has both (tickets, users, ticket_metric_events). Default: the one that brings the most records per request: cursor for tickets and users (Zendesk recommends it), time for ticket_metric_events (cursor pages hold 100 events, ≈10× the requests).',
          'Pagination model where a resource has both (`tickets`, `users`, `ticket_metric_events`).\n\nDefault: the one that brings the most records per request — `cursor` for tickets and users (Zendesk recommends it), `time` for ticket metric events (cursor pages hold at most 100 events: ≈10× the requests). `time` pages may overflow and repeat the boundary second; the exporter removes the duplicates.',
        ),
        markdownEnumDescriptions: ['Cursor-based: exact pages, resumes from `after_cursor`.', 'Time-based: `start_time` → `end_time`, boundary duplicates removed.'],
      },
      startTime: {
        anyOf: [
          { type: 'integer', minimum: 0, maximum: 100000000000 },
          {
            type: 'string', pattern: START_TIME_PATTERN,
            patternErrorMessage: 'Use an ISO date or date-time (2024-01-31, 2024-01-31T08:00:00Z), Unix seconds, or a relative time such as -7d, -12h, -30m, -2w.',
          },
        ],
        ...doc(
          'Where the export begins: an ISO date or date-time (UTC unless a zone is given), Unix seconds, or a relative time such as "-7d", "-12h", "-30m", "-2w". Default 0 (everything). Ignored by routing exports. Zendesk never returns the last minute, so later times are moved back to now − 61 s.',
          'Where the export begins:\n\n- ISO date or date-time: `"2024-01-31"`, `"2024-01-31T08:00:00Z"` (UTC unless a zone is given)\n- Unix **seconds**: `1706688000` (not milliseconds)\n- relative: `"-7d"`, `"-12h"`, `"-30m"`, `"-45s"`, `"-2w"`\n\nDefault `0` (everything). Ignored by routing exports. Zendesk never returns the last minute, so later times are moved back to now − 61 s. A relative time is measured when the export first starts; reruns continue from the checkpoint.',
        ),
        defaultSnippets: [{ label: '-7d', body: '-7d' }, { label: 'ISO date', body: '${1:2024-01-01}' }],
      },
      params: {
        type: 'object',
        additionalProperties: false,
        ...doc('Request parameters; which ones apply depends on the resource and pagination.'),
        properties: {
          perPage: {
            type: 'integer', minimum: 1, maximum: 1000,
            ...doc(
              'Records per page (per_page). Up to 1000; 100 for cursor-based ticket_metric_events, 50 for samples; time-based ticket_metric_events and routing exports ignore it. Default: the maximum. The exporter halves it after timeouts.',
              'Records per page (`per_page`, or `page[size]` for cursor-based `ticket_metric_events`).\n\nAt most 1000; 100 for cursor-based ticket metric events; 50 for samples. Time-based ticket metric events and routing exports ignore it. Default: the maximum. After a 504 or timeout the exporter halves it for the rest of the stream.',
            ),
          },
          include: {
            type: 'array', uniqueItems: true,
            items: { enum: allIncludes },
            ...doc(
              'Sideloads (include=…). Each goes to its own file beside the output, e.g. tickets.users.jsonl. tickets: users, groups, organizations, brands, ticket_forms, metric_sets, metric_events, dates, slas, comment_count, sharing_agreements, incident_counts; users: identities, groups, organizations, roles, abilities, open_ticket_count; organizations: abilities; ticket_events: comment_events.',
              'Sideloads (`include=…`). Each goes to its own file beside the output, e.g. `tickets.users.jsonl`.\n\n- **tickets**: users, groups, organizations, brands, ticket_forms, metric_sets, metric_events, dates, slas, comment_count, sharing_agreements, incident_counts\n- **users**: identities, groups, organizations, roles, abilities, open_ticket_count\n- **organizations**: abilities\n- **ticket_events**: comment_events\n\n`last_audits` is not supported on incremental exports.',
            ),
          },
          excludeDeleted: {
            type: 'boolean',
            ...doc('exclude_deleted: leave deleted records out (tickets, ticket_metric_events). Default false: deletions stay in the stream as tombstones.'),
          },
          supportTypeScope: {
            enum: ['all', 'agent', 'ai_agent'],
            ...doc(
              'support_type_scope (tickets, ticket_events): which tickets by who handles them. Zendesk\'s default "agent" hides AI-agent tickets; "all" includes them.',
              '`support_type_scope` (tickets, ticket_events).\n\nZendesk\'s default `agent` **hides AI-agent tickets**; use `all` to include them.',
            ),
            markdownEnumDescriptions: ['Every ticket, including AI-agent tickets.', 'Tickets handled by human agents (Zendesk\'s default).', 'Only AI-agent tickets.'],
          },
          includeChanges: {
            type: 'boolean',
            ...doc('include_changes (ticket_metric_events): include the changes behind each metric event.'),
          },
          sample: {
            type: 'boolean',
            ...doc(
              'Use the /sample endpoint: one request, at most 50 records, 10 requests per 20 minutes. For tickets, ticket_events, users and organizations.',
              'Use the `/sample` endpoint: one request, at most 50 records; its budget is 10 requests per **20 minutes**. For tickets, ticket_events, users and organizations.',
            ),
          },
        },
        defaultSnippets: [{ label: 'sideloads', body: { include: ['$1'] } }],
      },
      output: {
        type: 'object',
        additionalProperties: false,
        ...doc(
          'Where the records go: files (jsonl, csv, json) or analysis-ready tables (duckdb, postgres, parquet). Default: <query folder>/<name as slug>/<resource>.jsonl.',
          'Where the records go: files (`jsonl`, `csv`, `json`) or analysis-ready tables (`duckdb`, `postgres`, `parquet`).\n\nDefault: `<query folder>/<name-as-slug>/<resource>.jsonl`.',
        ),
        properties: {
          path: {
            type: 'string', minLength: 1, pattern: '\\S',
            ...doc(
              'Output file (jsonl, csv, json, duckdb) or folder (parquet); relative paths start at the folder of this query file. Default for duckdb: <name as slug>.duckdb beside the query; for parquet: the folder <name as slug>.',
              'Output file (`jsonl`, `csv`, `json`, `duckdb`) or folder (`parquet`); relative paths start at the folder of this query file. Sideloads and the checkpoint of a file output are written beside it.\n\nDefault for `duckdb`: `<name-as-slug>.duckdb` beside the query; for `parquet`: the folder `<name-as-slug>`.',
            ),
          },
          format: {
            enum: [...QUERY_FORMATS],
            ...doc('Output format. Default jsonl.', 'Output format. Default `jsonl`.'),
            markdownEnumDescriptions: [
              'JSON Lines: one record per line (default; appends on resume).',
              'CSV: nested fields flattened to dotted columns (`custom_fields.<id>`), formula-injection safe, later fields in `_extra`.',
              'A JSON array, valid after every completed run.',
              'DuckDB file: `<resource>` (current state), `<resource>_changes` (every version), `<resource>_deleted`, custom fields as `cf_<title>` columns; the checkpoint is stored in the file.',
              'PostgreSQL: the same tables in `schema` of the database named by `connection`; the checkpoint is stored in the database.',
              'Parquet files: the change log partitioned by export day, and the current state with `snapshot`.',
            ],
          },
          connection: {
            type: 'string', minLength: 1, pattern: '\\S', not: { pattern: '^\\s*[Pp][Oo][Ss][Tt][Gg][Rr][Ee][Ss]([Qq][Ll])?://[^/@]*:[^/@]*@|[?&][Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=' },
            ...doc(
              'postgres only: the name of a database connection in settings, or a postgresql:// URL without a password (the password is kept in the keychain, or comes from PGPASSWORD / ~/.pgpass).',
              '`postgres` only: the name of a database connection in settings, or a `postgresql://user@host:5432/db` URL **without a password** (the password is kept in the keychain, or comes from `PGPASSWORD` / `~/.pgpass`).',
            ),
          },
          schema: {
            type: 'string', pattern: SCHEMA_NAME_PATTERN.source,
            patternErrorMessage: 'Lower-case letters, digits and underscores, not starting with a digit.',
            ...doc('postgres only: the schema the tables go to. Default zendesk.', '`postgres` only: the schema the tables go to. Default `zendesk`.'),
          },
          deletions: {
            enum: [...DELETIONS_MODES],
            ...doc(
              'Table outputs: what happens to deleted records. separate (default): they leave <resource> and are kept in <resource>_deleted; flag: they stay in <resource> with _deleted = true.',
              'Table outputs: what happens to deleted records.\n\n- `separate` (default): they leave `<resource>` and are kept in `<resource>_deleted`\n- `flag`: they stay in `<resource>` with `_deleted = true`',
            ),
            markdownEnumDescriptions: ['Deleted records move to `<resource>_deleted`.', 'Deleted records stay in `<resource>` with `_deleted = true`.'],
          },
          snapshot: {
            type: 'boolean',
            ...doc('parquet only: after each run also write the current state as <resource>.parquet (and <resource>_deleted.parquet).', '`parquet` only: after each run also write the current state as `<resource>.parquet` (and `<resource>_deleted.parquet`).'),
          },
        },
        allOf: [
          {
            if: { properties: { format: { const: 'postgres' } }, required: ['format'] },
            then: { required: ['connection'], properties: { path: false } },
            else: { properties: { connection: false, schema: false } },
          },
          { if: { properties: { format: { enum: [...TABLE_FORMATS] } }, required: ['format'] }, else: { properties: { deletions: false } } },
          { if: { properties: { format: { const: 'parquet' } }, required: ['format'] }, else: { properties: { snapshot: false } } },
        ],
      },
    },
    allOf: [
      ...[...byChoices.entries()].map(([choices, resources]) => ({
        if: { properties: { resource: { enum: resources } }, required: ['resource'] },
        then: { properties: { pagination: { enum: choices.split(',') } } },
      })),
      {
        if: { properties: { resource: { enum: noSample } }, required: ['resource'] },
        then: { properties: { params: { properties: { sample: { const: false } } } } },
      },
      ...ENDPOINTS.map((e) => ({ if: selects(e), then: paramsFor(e) })),
    ],
    defaultSnippets: [
      {
        label: 'Tickets (cursor, last 7 days)',
        description: 'Export tickets changed in the last 7 days, with their users, as JSON Lines.',
        body: { $schema: '${1:./zdquery.schema.json}', name: '${2:Recent tickets}', resource: 'tickets', pagination: 'cursor', startTime: '${3:-7d}', params: { include: ['users'] }, output: { format: 'jsonl' } },
      },
      {
        label: 'Users (cursor, everything)',
        body: { name: '${1:All users}', resource: 'users', startTime: 0, output: { format: '${2|jsonl,csv,json|}' } },
      },
      {
        label: 'Tickets as DuckDB tables',
        description: 'Current state, change log and named custom fields in one .duckdb file beside the query.',
        body: { name: '${1:Tickets}', resource: 'tickets', startTime: 0, output: { format: 'duckdb' } },
      },
      {
        label: 'Routing attributes',
        body: { name: '${1:Routing attributes}', resource: 'routing_attributes' },
      },
    ],
  };
}

/** Where the generated schema lives, relative to the repository root. */
export const QUERY_SCHEMA_FILE = path.join('schemas', 'zdquery.schema.json');

export function writeQuerySchema(rootDir: string): void {
  writeFileSync(path.join(rootDir, QUERY_SCHEMA_FILE), `${JSON.stringify(buildQuerySchema(), null, 2)}\n`);
}

if (require.main === module) writeQuerySchema(path.resolve(__dirname, '..'));
