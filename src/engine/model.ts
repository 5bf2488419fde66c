// The shapes that cross module boundaries: saved queries, checkpoints, credentials, progress.
// Pure types; every consumer (CLI, server, extension, webview protocol) imports them from here.
import type { PaginationChoice, ResourceName } from './catalogue';

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
  /** sha256 over the fields that change what the stream contains or how it is written. */
  digest: string;
}

/** Where the next request starts. */
export type Position =
  | { kind: 'time'; startTime: number }
  | { kind: 'cursor'; cursor: string }
  | { kind: 'routing'; cursor: string | null }
  | { kind: 'metricCursor'; after: string };

export interface Checkpoint {
  version: 1;
  queryDigest: string;
  /** Endpoint form actually in use (a stuck time-based stream may have switched to the cursor form). */
  endpointId: string;
  /** Null before the first page: start from the query's start time. */
  position: Position | null;
  /** Largest record timestamp seen: restart point when a cursor is rejected as invalid. */
  lastRecordTime: number | null;
  /** Dedupe keys of the records in the last boundary second (time-based streams). */
  boundaryKeys: string[];
  /** per_page in force (halved after 504/timeouts, kept smaller for the rest of the stream). */
  perPage: number | null;
  /** Byte length of every output file when this checkpoint was taken; resume truncates to it. */
  files: Record<string, number>;
  /** Extra state owned by the writer (e.g. CSV columns). */
  writerState?: unknown;
  records: number;
  pages: number;
  /** True when the last run reached end_of_stream (or count == 0 for routing). */
  caughtUp: boolean;
  updatedAt: string;
}

export type Credentials =
  | { kind: 'apiToken'; email: string; token: string }
  | { kind: 'oauth'; accessToken: string; refresh?: () => Promise<string> };

export interface Connection {
  /** Base URL such as https://acme.zendesk.com or http://127.0.0.1:4567 (loopback only for http). */
  baseUrl: string;
  credentials: Credentials;
}

export type ProgressEvent =
  | { type: 'start'; endpointId: string; resumed: boolean; position: Position | null }
  | { type: 'request'; url: string; perPage: number | null }
  | { type: 'page'; pages: number; records: number; pageRecords: number; duplicatesDropped: number; position: Position; lastRecordTime: number | null; files: Record<string, number> }
  | { type: 'rateLimit'; family: string; total: number | null; remaining: number | null; resetsAt: number | null }
  | { type: 'waiting'; until: number; reason: 'rateLimit' | 'retryAfter' | 'backoff' }
  | { type: 'retry'; attempt: number; status: number | null; message: string }
  | { type: 'perPage'; perPage: number }
  | { type: 'switched'; from: string; to: string; reason: string }
  | { type: 'done'; caughtUp: boolean; records: number; pages: number };

/** Every failure the engine reports: one clear sentence, a stable code for UIs to offer an action. */
export type ErrorCode =
  | 'auth' | 'forbidden' | 'notFound' | 'badRequest' | 'invalidQuery' | 'futureStartTime'
  | 'checkpointMismatch' | 'checkpointCorrupt' | 'foreignOrigin' | 'insecureUrl' | 'stuck'
  | 'rateLimited' | 'server' | 'network' | 'io' | 'cancelled';
