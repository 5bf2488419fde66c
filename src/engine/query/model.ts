// A saved query as a person writes it, and as the exporter runs it.
import type { PaginationChoice, ResourceName } from '../zendesk';

export type OutputFormat = 'jsonl' | 'csv' | 'json';

/** A saved query file (`*.zdquery.json`), as a person writes it. */
export interface SavedQuery {
  $schema?: string;
  name: string;
  /** Connection name (never a secret). The CLI may also take --subdomain/--url instead. */
  connection?: string;
  resource: ResourceName;
  /** Only for resources with both models (tickets, users, ticket_metric_events). Default: cursor. */
  pagination?: PaginationChoice;
  /** ISO date/time, Unix seconds, or relative such as `-30d`, `-12h`, `-90m`. Ignored by routing exports. */
  startTime?: string | number;
  params?: QueryParams;
  output?: { path?: string; format?: OutputFormat };
}

export interface QueryParams {
  perPage?: number;
  include?: string[];
  excludeDeleted?: boolean;
  supportTypeScope?: 'all' | 'agent' | 'ai_agent';
  includeChanges?: boolean;
  sample?: boolean;
}

/** A query after validation: everything resolved except the connection. */
export interface ResolvedQuery {
  name: string;
  resource: ResourceName;
  /** Endpoint form id from the catalogue, e.g. `tickets/cursor`. */
  endpointId: string;
  /** Unix seconds, already clamped to ≤ now − 61 s; 0 for routing. */
  startTime: number;
  params: QueryParams;
  output: { path: string; format: OutputFormat };
  /** The connection the query names, if any. */
  connection?: string;
  /** The folder the output must stay in, symlinks resolved (set when the query was loaded with one). */
  outputRoot?: string;
  /** sha256 over the fields that change what the stream contains or how it is written. */
  digest: string;
}
