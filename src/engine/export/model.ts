// The state of an export stream: where it stands (position), what the checkpoint keeps, and what a
// run reports as it goes.
import type { ClientEvent } from '../zendesk';

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

export type ProgressEvent =
  | ClientEvent
  | { type: 'start'; endpointId: string; resumed: boolean; position: Position | null }
  | { type: 'page'; pages: number; records: number; pageRecords: number; duplicatesDropped: number; position: Position; lastRecordTime: number | null; files: Record<string, number> }
  | { type: 'switched'; from: string; to: string; reason: string }
  | { type: 'done'; caughtUp: boolean; records: number; pages: number };

export type EmitProgress = (e: ProgressEvent) => void;
