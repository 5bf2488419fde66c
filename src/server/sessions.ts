// Export sessions: one runExport per session with its own AbortController, running totals for the
// UI, and the list of past sessions (kept by SessionHistory). A session loads its query and reads
// its checkpoint once, then hands both to the exporter.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { cancelledError, ExportError } from '../engine/errors';
import { checkpointPathFor, readCheckpoint, runExport, sideloadPath, type Checkpoint, type ExportTarget } from '../engine/export';
import type { ResolvedQuery } from '../engine/query';
import { discardTables, targetFor, type PostgresResolver } from '../engine/tables';
import { checkConnection, connectionFromUrl } from '../engine/zendesk';
import {
  emptySessionCounts,
  type CheckpointInfoParams,
  type CheckpointInfoResult,
  type ConnectionRef,
  type ExportFinishedParams,
  type ExportProgressParams,
  type GetCredentialsParams,
  type GetCredentialsResult,
  type PageArrivedParams,
  type SessionInfo,
  type StartExportParams,
  type StartExportResult,
  type TestConnectionParams,
  type TestConnectionResult,
  type WireError,
} from '../protocol/customMessages';
import { findConnection } from './connections';
import { credentialsFor } from './credentials';
import { ServerFailure, toWireError } from './failures';
import { SessionHistory } from './history';
import { loadRequestQuery, type SessionQuery } from './queryLoading';
import { countEvent } from './sessionCounts';

/** What the session manager needs from the connection it serves. */
export interface SessionHost {
  getCredentials(params: GetCredentialsParams): Promise<GetCredentialsResult>;
  progress(p: ExportProgressParams): void;
  page(p: PageArrivedParams): void;
  finished(p: ExportFinishedParams): void;
  sessionsChanged(sessions: SessionInfo[]): void;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  connections(): ConnectionRef[] | undefined;
  /** Text of an open document, which may be newer than the file on disk. */
  documentText(uri: string): string | undefined;
  /** A PostgreSQL output's connection (name from settings → URL, password asked of the client); absent: only URLs with PGPASSWORD/~/.pgpass work. */
  databaseConnection?: PostgresResolver;
}

interface Session {
  info: SessionInfo;
  abort: AbortController;
  done: Promise<ExportFinishedParams>;
}

/** Runs read the file on disk, like the CLI (the extension saves before running). */
const ON_DISK = (): undefined => undefined;

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private past: SessionInfo[] = [];
  /** Output paths being written, reserved before any await so two starts can't race. */
  private readonly busyOutputs = new Set<string>();
  private readonly history: SessionHistory;

  constructor(
    private readonly host: SessionHost,
    storagePath?: string,
  ) {
    this.history = new SessionHistory(storagePath, (m) => host.log.warn(m));
  }

  async loadHistory(): Promise<void> {
    this.past = await this.history.load();
  }

  list(): SessionInfo[] {
    const mine = [...this.sessions.values()].map((s) => s.info);
    const running = mine.filter((i) => i.status === 'running');
    const ended = [...mine.filter((i) => i.status !== 'running'), ...this.past]
      .filter((i, idx, all) => all.findIndex((j) => j.sessionId === i.sessionId) === idx);
    const newest = (a: SessionInfo, b: SessionInfo) => b.startedAt.localeCompare(a.startedAt);
    return [...running.sort(newest), ...ended.sort(newest)];
  }

  /** Every running session is cancelled and awaited (server shutdown). */
  async cancelAll(): Promise<void> {
    const running = [...this.sessions.values()].filter((s) => s.info.status === 'running');
    for (const s of running) s.abort.abort();
    await Promise.allSettled(running.map((s) => s.done));
    await this.history.flushed();
  }

  cancel(sessionId: string): boolean {
    const s = this.sessions.get(sessionId);
    if (!s) {
      if (this.past.some((p) => p.sessionId === sessionId)) return false;
      throw new ServerFailure('unknownSession', `There is no export session ${sessionId}.`);
    }
    if (s.info.status !== 'running' || s.abort.signal.aborted) return false;
    this.host.log.info(`[${sessionId}] cancel requested`);
    s.abort.abort();
    return true;
  }

  /** Resolves once the session started, or (waitForCompletion) once it ended; `onCancel` hooks the request's token. */
  async start(params: StartExportParams, onCancel?: (cancel: () => void) => void): Promise<StartExportResult> {
    const query = await loadRequestQuery(params, ON_DISK);
    const { resolved } = query;
    const ref = findConnection(params.connection ?? resolved.connection, this.host.connections());
    const outputPath = resolved.output.path;
    const checkpointPath = checkpointPathFor(outputPath);
    const sessionId = params.sessionId ?? randomUUID();
    if (this.sessions.has(sessionId) || this.past.some((p) => p.sessionId === sessionId)) {
      throw new ServerFailure('alreadyRunning', `An export session with id ${sessionId} already exists; use a new id.`);
    }
    if (this.busyOutputs.has(outputPath)) {
      throw new ServerFailure('alreadyRunning', `Another export is writing ${outputPath} right now; cancel it or wait for it to finish.`);
    }
    this.busyOutputs.add(outputPath);

    let session: Session;
    try {
      const target = targetFor(resolved, { checkpointPath, postgres: this.host.databaseConnection });
      if (params.fresh) await discardOutputs(resolved, checkpointPath, this.host.databaseConnection);
      // A damaged or foreign checkpoint fails the session (its ExportFinished says why), not the start.
      const previous = await target.readCheckpoint().then((cp) => ({ cp }), (error: unknown) => ({ error }));
      const base = 'cp' in previous ? previous.cp : null;
      const info: SessionInfo = {
        sessionId,
        status: 'running',
        queryName: resolved.name,
        queryUri: query.queryUri,
        queryFile: query.queryFile,
        resource: resolved.resource,
        endpointId: base?.endpointId ?? resolved.endpointId,
        connectionName: ref.name,
        resumed: base !== null,
        startedAt: new Date().toISOString(),
        counts: emptySessionCounts(base ?? undefined),
        outputPath,
        files: [],
        checkpointPath,
      };
      const abort = new AbortController();
      const run = 'cp' in previous ? this.run(info, abort, query, ref, target, previous.cp, params) : this.fail(info, previous.error);
      session = { info, abort, done: run };
      this.sessions.set(sessionId, session);
    } catch (err) {
      this.busyOutputs.delete(outputPath);
      throw err;
    }
    this.host.log.info(`[${sessionId}] started ${resolved.name} (${resolved.endpointId}) -> ${outputPath}${session.info.resumed ? ', resuming' : ''}`);
    this.host.sessionsChanged(this.list());

    const result: StartExportResult = { sessionId, queryName: resolved.name, endpointId: resolved.endpointId, outputPath, checkpointPath };
    if (!params.waitForCompletion) return result;
    onCancel?.(() => session.abort.abort());
    const finished = await session.done;
    if (finished.status !== 'done') {
      throw new ServerFailure(finished.error?.code ?? 'internal', finished.error?.message ?? 'The export failed.');
    }
    return { ...result, finished };
  }

  private async run(info: SessionInfo, abort: AbortController, query: SessionQuery, ref: ConnectionRef, target: ExportTarget, previous: Checkpoint | null, params: StartExportParams): Promise<ExportFinishedParams> {
    const counts = info.counts;
    const pageLimit = params.pageRecordsLimit ?? 0;
    try {
      const credentials = await raceAbort(credentialsFor(ref, 'export', (p) => this.host.getCredentials(p)), abort.signal);
      const result = await runExport({
        connection: connectionFromUrl({ url: ref.baseUrl, credentials }),
        query: query.resolved,
        checkpointPath: info.checkpointPath,
        target,
        previous,
        signal: abort.signal,
        requestTimeoutMs: params.requestTimeoutMs,
        maxRetries: params.maxRetries,
        onProgress: (event) => {
          countEvent(counts, event);
          if (event.type === 'switched') info.endpointId = event.to;
          this.host.progress({ sessionId: info.sessionId, queryFile: info.queryFile, event, counts: { ...counts } });
        },
        onPage: (records) => {
          const page: PageArrivedParams = { sessionId: info.sessionId, outputPath: info.outputPath, firstRow: counts.records - records.length, count: records.length };
          if (records.length <= pageLimit) page.records = records;
          this.host.page(page);
        },
      });
      info.files = result.files;
      return this.end(info, 'done', result.caughtUp);
    } catch (err) {
      // Once aborted, whatever the abort surfaced as (AbortError, a network error) is a cancellation.
      const cancelled = err instanceof ExportError && err.code === 'cancelled' ? err : abort.signal.aborted ? cancelledError() : undefined;
      const error = toWireError(cancelled ?? err);
      if (error.code === 'internal') this.host.log.error(`[${info.sessionId}] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      await this.settleFromDisk(info, query.resolved);
      return this.end(info, error.code === 'cancelled' ? 'cancelled' : 'failed', false, error);
    }
  }

  /** A session that could not begin (its checkpoint was refused) still ends like any other. */
  private async fail(info: SessionInfo, err: unknown): Promise<ExportFinishedParams> {
    await Promise.resolve();
    return this.end(info, 'failed', false, toWireError(err));
  }

  /** What is on disk is what the next run resumes from: report that, not the in-memory tally. */
  private async settleFromDisk(info: SessionInfo, resolved: ResolvedQuery): Promise<void> {
    try {
      const cp = await readCheckpoint(info.checkpointPath);
      if (cp && cp.queryDigest === resolved.digest) {
        info.counts.records = cp.records;
        info.counts.pages = cp.pages;
        info.files = Object.keys(cp.files);
      }
    } catch {
      // The failure being reported already says what went wrong.
    }
  }

  private async end(info: SessionInfo, status: ExportFinishedParams['status'], caughtUp: boolean, error?: WireError): Promise<ExportFinishedParams> {
    const counts = info.counts;
    counts.waitingUntil = null;
    if (!info.files.length && (await exists(info.outputPath))) info.files = [info.outputPath];
    info.status = status;
    info.error = error;
    info.caughtUp = caughtUp;
    info.endedAt = new Date().toISOString();
    this.busyOutputs.delete(info.outputPath);
    const finished: ExportFinishedParams = {
      sessionId: info.sessionId,
      status,
      error,
      queryName: info.queryName,
      queryFile: info.queryFile,
      counts: { ...counts },
      files: info.files,
      outputPath: info.outputPath,
      checkpointPath: info.checkpointPath,
      caughtUp,
      startedAt: info.startedAt,
      endedAt: info.endedAt,
    };
    this.host.log.info(`[${info.sessionId}] ${status}: ${counts.records} records, ${counts.pages} pages${error ? ` (${error.code}: ${error.message})` : ''}`);
    this.host.finished(finished);
    this.host.sessionsChanged(this.list());
    this.history.save(this.list());
    return finished;
  }

  async testConnection(params: TestConnectionParams, signal?: AbortSignal): Promise<TestConnectionResult> {
    try {
      const ref = findConnection(params.connection, this.host.connections());
      const credentials = await credentialsFor(ref, 'testConnection', (p) => this.host.getCredentials(p));
      const { user } = await checkConnection(connectionFromUrl({ url: ref.baseUrl, credentials }), signal);
      return { ok: true, user };
    } catch (err) {
      return { ok: false, error: toWireError(err) };
    }
  }

  async checkpointInfo(params: CheckpointInfoParams): Promise<CheckpointInfoResult> {
    const result: CheckpointInfoResult = {
      queryValid: false, outputPath: null, checkpointPath: null, outputExists: false, exists: false, matchesQuery: false,
      records: 0, pages: 0, lastRecordTime: null, caughtUp: false, updatedAt: null, files: [], running: false,
    };
    let resolved: ResolvedQuery;
    try {
      resolved = (await loadRequestQuery(params, (uri) => this.host.documentText(uri))).resolved;
    } catch (err) {
      result.error = toWireError(err);
      return result;
    }
    result.queryValid = true;
    result.outputPath = resolved.output.path;
    result.checkpointPath = checkpointPathFor(resolved.output.path);
    result.outputExists = await exists(resolved.output.path);
    result.running = this.busyOutputs.has(resolved.output.path);
    result.files = result.outputExists ? [resolved.output.path] : [];
    try {
      const cp = await readCheckpoint(result.checkpointPath);
      if (cp) {
        result.exists = true;
        result.matchesQuery = cp.queryDigest === resolved.digest;
        result.records = cp.records;
        result.pages = cp.pages;
        result.lastRecordTime = cp.lastRecordTime;
        result.caughtUp = cp.caughtUp;
        result.updatedAt = cp.updatedAt;
        if (Object.keys(cp.files).length) result.files = Object.keys(cp.files);
      }
    } catch (err) {
      result.exists = true;
      result.error = toWireError(err);
    }
    return result;
  }
}

/**
 * "Start over": removes the checkpoint, the output and the sideload files of the query's includes —
 * names derived from the query alone, never from what a checkpoint lists.
 */
async function discardOutputs(resolved: ResolvedQuery, checkpointPath: string, postgres: PostgresResolver | undefined): Promise<void> {
  if (resolved.output.tables) return discardTables(resolved, { postgres });
  const { path: output, format } = resolved.output;
  const sideloads = (resolved.params.include ?? []).map((key) => sideloadPath(output, key, format as 'jsonl' | 'csv' | 'json'));
  for (const f of [checkpointPath, output, ...sideloads]) await fs.rm(f, { force: true });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
