// Where an export's pages and its checkpoint go. A target keeps the two in agreement: after a commit
// both the page and the checkpoint that covers it are durable, and a crash at any instant leaves a
// checkpoint that matches what is stored. Files keep the checkpoint in a file beside the output;
// a database target keeps it in the database, committed in the same transaction as the rows.
import type { Checkpoint } from './model';

/** What a target's writer reports for the checkpoint: byte lengths of files, and writer state (CSV columns). */
export interface StoredState {
  files: Record<string, number>;
  writerState?: unknown;
}

export interface CommitPage {
  records: Record<string, unknown>[];
  /** Sideloaded arrays (`include=`), keyed by their top-level name. */
  sideloads: Record<string, unknown[]>;
  endOfStream: boolean;
}

export interface ExportTarget {
  /** Where the checkpoint lives, for messages and the CLI's summary. */
  readonly checkpointLocation: string;
  /**
   * Takes the target for this run: one writer at a time. A second writer is refused at once with
   * ExportError('locked') naming the holder, and has written nothing.
   */
  lock(): Promise<() => Promise<void>>;
  /**
   * "Start over": removes what this query stored (its checkpoint and outputs) — names derived from the
   * query alone, never from what a checkpoint lists. Only while holding the lock.
   */
  discard(): Promise<void>;
  /** The stored checkpoint, checked against the query; null when there is none. Creates nothing. */
  readCheckpoint(): Promise<Checkpoint | null>;
  /** Opens for writing, resuming from `previous`. Called once the first page is in hand, so a wrong token creates nothing. */
  open(previous: Checkpoint | null): Promise<TargetWriter>;
}

export interface TargetWriter {
  /** Stores the page, then the checkpoint `checkpointOf` builds from what was stored, durably and in that order (or together). */
  commit(page: CommitPage, checkpointOf: (stored: StoredState) => Checkpoint): Promise<Checkpoint>;
  close(): Promise<void>;
  /** Everything this export writes so far (for files: the main output first, then sideloads). */
  readonly paths: string[];
}
