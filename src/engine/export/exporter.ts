// One export run: resume from the checkpoint, pull pages, and after every page write the records,
// then the checkpoint, so an interruption at any moment loses at most a page that will be redone.
// The next page's request is already on its way while a page is written (one page ahead, never
// more): the fsyncs no longer leave the connection idle, and requests stay one at a time.
import { endpointById, ZendeskClient, type ClientOptions, type Connection, type RetryPolicy } from '../zendesk';
import { BoundaryDedupe } from './dedupe';
import { ExportError, cancelledError } from '../errors';
import type { Checkpoint, EmitProgress, ProgressEvent } from './model';
import type { ResolvedQuery } from '../query';
import { checkpointPathFor } from './checkpoint';
import { fileTarget } from './fileTarget';
import type { ExportTarget, TargetWriter } from './target';
import { initialPerPage, paginate, type Page } from './pagination';

/** An export ready to run: its target taken for this run (one writer), its checkpoint read once. */
export interface PreparedExport {
  readonly query: ResolvedQuery;
  readonly target: ExportTarget;
  readonly previous: Checkpoint | null;
  /** Gives the target back (safe to call more than once). */
  release(): Promise<void>;
}

/**
 * Locks the target, discards what it stored when starting over (`fresh`), then reads its checkpoint.
 * A refused lock or checkpoint gives the target back as it was.
 */
export async function prepareExport(query: ResolvedQuery, target: ExportTarget, opts: { fresh?: boolean } = {}): Promise<PreparedExport> {
  const release = await target.lock();
  try {
    if (opts.fresh) await target.discard();
    return { query, target, previous: await target.readCheckpoint(), release };
  } catch (err) {
    await release();
    throw err;
  }
}

export interface ExportRequest {
  connection: Connection;
  query: ResolvedQuery;
  /** A prepared export (the caller releases it); without one, runExport prepares the query's file target and releases it at the end. */
  prepared?: PreparedExport;
  /** The checkpoint file of that default file target; default: beside the output. */
  checkpointPath?: string;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Called with each page's records after they and the checkpoint are on disk. */
  onPage?: (records: Record<string, unknown>[]) => void;
  requestTimeoutMs?: number;
  maxRetries?: number;
  /** Backoff tuning (tests and benchmarks shorten it). */
  retry?: Partial<Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>>;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
  /** Family budgets used until Zendesk sends the family's rate-limit header; default DEFAULT_BUDGETS. */
  rateBudgets?: ClientOptions['rateBudgets'];
  /** The longest single wait for a rate limit, Retry-After or backoff; longer stops with 'rateLimited'. */
  maxWaitMs?: number;
}

export interface ExportResult {
  caughtUp: boolean;
  /** Records and pages written by this run (the checkpoint holds the totals across runs). */
  records: number;
  pages: number;
  checkpoint: Checkpoint;
  files: string[];
}

export async function runExport(req: ExportRequest): Promise<ExportResult> {
  if (req.prepared) return runPrepared(req, req.prepared);
  const prepared = await prepareExport(req.query, fileTarget(req.query, req.checkpointPath ?? checkpointPathFor(req.query.output.path)));
  try {
    return await runPrepared(req, prepared);
  } finally {
    await prepared.release();
  }
}

async function runPrepared(req: ExportRequest, prepared: PreparedExport): Promise<ExportResult> {
  const { query, signal } = req;
  const { target, previous } = prepared;
  const emit: EmitProgress = (e) => {
    try {
      req.onProgress?.(e);
    } catch {
      // A failing progress listener must not break the export.
    }
  };
  const now = req.now ?? Date.now;
  if (signal?.aborted) throw cancelledError();

  if (query.startTime > Math.floor(now() / 1000)) {
    throw new ExportError('futureStartTime', `The start time ${new Date(query.startTime * 1000).toISOString()} is in the future; Zendesk only exports what already happened.`);
  }
  const endpointId = previous?.endpointId ?? query.endpointId;
  const endpoint = endpointById(endpointId);
  if (!endpoint) throw new ExportError('invalidQuery', `"${endpointId}" is not an endpoint form this tool knows.`);

  // Aborted when the run ends early, so a page fetched ahead stops too (it is refetched on resume).
  const stop = new AbortController();
  const client = new ZendeskClient({
    connection: req.connection,
    signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
    emit,
    requestTimeoutMs: req.requestTimeoutMs,
    retry: { maxRetries: req.maxRetries, ...req.retry },
    rateBudgets: req.rateBudgets,
    maxWaitMs: req.maxWaitMs,
  });

  // The target is opened when the first page has arrived, so a wrong token, a non-admin account or an
  // unreachable host fails before any file is created or truncated.
  let writer: TargetWriter | null = null;
  const openWriter = async (): Promise<TargetWriter> => (writer ??= await target.open(previous));

  const perPage = { value: initialPerPage(endpoint, query.params, previous?.perPage ?? null) };
  const dedupe = new BoundaryDedupe(endpoint, previous?.lastRecordTime ?? null, previous?.boundaryKeys ?? []);
  let totals = { records: previous?.records ?? 0, pages: previous?.pages ?? 0 };
  let checkpoint: Checkpoint | null = previous;
  let records = 0;
  let pages = 0;
  let caughtUp = false;

  const stream = paginate({
    client, endpoint, params: query.params, startTime: query.startTime, position: previous?.position ?? null,
    perPage, dedupe, emit, now,
  });
  // A settled result, never a rejection: a page fetched ahead may fail while the current one is
  // being written, and its error must wait until that page's checkpoint is saved.
  type Pulled = { ok: true; step: IteratorResult<Page, void> } | { ok: false; error: unknown };
  const pull = (): Promise<Pulled> => stream.next().then((step) => ({ ok: true, step }), (error: unknown) => ({ ok: false, error }));
  let ahead: Promise<Pulled> | null = null;

  try {
    emit({ type: 'start', endpointId, resumed: previous !== null, position: previous?.position ?? null });
    // Sent as exclude_deleted too; filtering here as well keeps the promise if a server ignores it.
    const excludeDeleted = endpoint.excludeDeleted && query.params.excludeDeleted === true;
    ahead = pull();
    while (ahead) {
      const pulled: Pulled = await ahead;
      ahead = null;
      if (!pulled.ok) throw pulled.error;
      if (pulled.step.done) break;
      const page = pulled.step.value;
      // The end of the stream asks for nothing more.
      if (!page.endOfStream) ahead = pull();
      const kept = excludeDeleted ? page.records.filter((r) => !isDeleted(r)) : page.records;
      const out = await openWriter();
      if (page.requested) pages++;
      records += kept.length;
      const stored: Checkpoint = await out.commit({ records: kept, sideloads: page.sideloads, endOfStream: page.endOfStream }, ({ files, writerState }) => ({
        version: 1,
        queryDigest: query.digest,
        endpointId: page.endpointId,
        position: page.nextPosition,
        lastRecordTime: page.lastRecordTime,
        boundaryKeys: page.boundaryKeys,
        perPage: perPage.value,
        files,
        ...(writerState !== undefined ? { writerState } : {}),
        records: totals.records + kept.length,
        pages: totals.pages + (page.requested ? 1 : 0),
        caughtUp: page.endOfStream,
        updatedAt: new Date(now()).toISOString(),
      }));
      checkpoint = stored;
      totals = { records: checkpoint.records, pages: checkpoint.pages };
      emit({
        type: 'page', pages: checkpoint.pages, records: checkpoint.records, pageRecords: kept.length,
        duplicatesDropped: page.duplicatesDropped, position: page.nextPosition, lastRecordTime: page.lastRecordTime, files: stored.files,
      });
      try {
        req.onPage?.(kept);
      } catch {
        // The page is on disk; a failing viewer must not break the export.
      }
      if (page.endOfStream) {
        caughtUp = true;
        break;
      }
      if (signal?.aborted) throw cancelledError();
    }
  } catch (err) {
    // Stop the page fetched ahead and let it settle, so nothing runs on after the run has failed.
    stop.abort();
    if (ahead) await ahead;
    await (writer as TargetWriter | null)?.close().catch(() => undefined);
    if (err instanceof ExportError) throw err;
    if (signal?.aborted) throw cancelledError();
    throw asExportError(err);
  } finally {
    await stream.return(undefined).catch(() => undefined);
  }
  const out = await openWriter();
  await out.close();
  if (!checkpoint) throw new ExportError('server', 'The export ended without a single page from Zendesk; nothing was written.');
  emit({ type: 'done', caughtUp, records, pages });
  return { caughtUp, records, pages, checkpoint, files: [...out.paths] };
}

/** Tombstones: deleted tickets carry status "deleted"; metric events a `deleted` flag. */
function isDeleted(record: Record<string, unknown>): boolean {
  return record.status === 'deleted' || record.deleted === true;
}

function asExportError(err: unknown): ExportError {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    return new ExportError('io', `Writing the export failed (${e.code}); the checkpoint keeps the last complete page, so fix the cause and resume.`, e.message);
  }
  return new ExportError('server', `The export failed unexpectedly (${e?.message ?? String(err)}); the checkpoint keeps the last complete page.`);
}
