// Export sessions: one runExport per session with its own AbortController, running totals for the
// UI, and the list of past sessions (kept by SessionHistory). A session loads its query and reads
// its checkpoint once, then hands both to the exporter.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { cancelledError, ExportError } from '../engine/errors';
import { checkpointPathFor, prepareExport, readCheckpoint, runExport, type PreparedExport } from '../engine/export';
import { tableCheckpointInfo, targetFor, zendeskFieldSource, type PostgresResolver } from '../engine/tables';
import type { ResolvedQuery } from '../engine/query';
import { checkConnection, connectionFromUrl, type Connection } from '../engine/zendesk';
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
import { loadRequestQuery } from './queryLoading';
import { countEvent } from './sessionCounts';
import { databaseOfQuery } from './tables';

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
  /** A PostgreSQL output's connection: a name from settings → URL, the password asked of the client; absent: only URLs (with PGPASSWORD or ~/.pgpass) work. */
  databaseConnection?: PostgresResolver;
  /** The same for reading a checkpoint (CodeLens, trees): answered from what the client has stored, never by asking the person. */
  databaseStatus?: PostgresResolver;
  /** Absolute paths of the workspace folders. */
  workspaceFolders(): string[];
}

interface Session {
  info: SessionInfo;
  abort: AbortController;
  done: Promise<ExportFinishedParams>;
}


export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private past: SessionInfo[] = [];
  /** Outputs this server is writing now (for the CodeLens); the target's lock is what keeps writers apart. */
  private readonly running = new Set<string>();
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

  /** An export of this server writes this output (file, .duckdb file, or a PostgreSQL output's label) now. */
  isWriting(outputPath: string): boolean {
    return this.running.has(outputPath);
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
    // Runs read the file on disk, like the CLI (the extension saves before running).
    const query = await loadRequestQuery(params, { documentText: () => undefined, workspaceFolders: () => this.host.workspaceFolders() });
    const { resolved } = query;
    const ref = findConnection(params.connection ?? resolved.connection, this.host.connections());
    const outputPath = resolved.output.path;
    const checkpointPath = checkpointPathFor(outputPath);
    const sessionId = params.sessionId ?? randomUUID();
    if (this.sessions.has(sessionId) || this.past.some((p) => p.sessionId === sessionId)) {
      throw new ServerFailure('alreadyRunning', `An export session with id ${sessionId} already exists; use a new id.`);
    }
    // Another writer (a session here, zdx from cron, another window) refuses the start at once; a
    // damaged or foreign checkpoint fails the session instead (its ExportFinished says why).
    // Custom fields are named after the account's field lists, fetched when the output opens (after
    // the first page): by then the session has asked for its credentials.
    const zendesk = deferred<Connection>();
    const fields = zendeskFieldSource(() => zendesk.promise, { maxWaitMs: params.maxWaitMs, requestTimeoutMs: params.requestTimeoutMs });
    const target = targetFor(resolved, { checkpointPath, postgres: this.host.databaseConnection, fields });
    const prepared = await prepareExport(resolved, target, { fresh: params.fresh }).then(
      (p) => ({ ok: true as const, p }),
      (error: unknown) => {
        if (error instanceof ExportError && error.code === 'locked') throw error;
        return { ok: false as const, error };
      },
    );
    const base = prepared.ok ? prepared.p.previous : null;
    const database = databaseOfQuery(resolved);
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
      ...(database ? { database } : {}),
    };
    const abort = new AbortController();
    this.running.add(outputPath);
    const session: Session = { info, abort, done: prepared.ok ? this.run(info, abort, prepared.p, ref, params, zendesk) : this.fail(info, prepared.error) };
    this.sessions.set(sessionId, session);
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

  private async run(
    info: SessionInfo, abort: AbortController, prepared: PreparedExport, ref: ConnectionRef, params: StartExportParams, zendesk: Deferred<Connection>,
  ): Promise<ExportFinishedParams> {
    const counts = info.counts;
    const pageLimit = params.pageRecordsLimit ?? 0;
    try {
      const credentials = await raceAbort(credentialsFor(ref, 'export', (p) => this.host.getCredentials(p)), abort.signal);
      const result = await runExport({
        connection: zendesk.resolve(connectionFromUrl({ url: ref.baseUrl, credentials })),
        query: prepared.query,
        prepared,
        signal: abort.signal,
        requestTimeoutMs: params.requestTimeoutMs,
        maxRetries: params.maxRetries,
        maxWaitMs: params.maxWaitMs,
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
      zendesk.reject(err);
      // Once aborted, whatever the abort surfaced as (AbortError, a network error) is a cancellation.
      const cancelled = err instanceof ExportError && err.code === 'cancelled' ? err : abort.signal.aborted ? cancelledError() : undefined;
      const error = toWireError(cancelled ?? err);
      if (error.code === 'internal') this.host.log.error(`[${info.sessionId}] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      await this.settleFromDisk(info, prepared.query);
      return this.end(info, error.code === 'cancelled' ? 'cancelled' : 'failed', false, error);
    } finally {
      await prepared.release();
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
    this.running.delete(info.outputPath);
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
      resolved = (await loadRequestQuery(params, this.host)).resolved;
    } catch (err) {
      result.error = toWireError(err);
      return result;
    }
    result.queryValid = true;
    if (resolved.output.tables) return this.tableCheckpointInfo(resolved, result);
    result.outputPath = resolved.output.path;
    result.checkpointPath = checkpointPathFor(resolved.output.path);
    result.outputExists = await exists(resolved.output.path);
    result.running = this.running.has(resolved.output.path);
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

  /** A table output's checkpoint lives with its rows (a table of the database, or a file in the Parquet folder). */
  private async tableCheckpointInfo(resolved: ResolvedQuery, result: CheckpointInfoResult): Promise<CheckpointInfoResult> {
    result.outputPath = resolved.output.path;
    result.running = this.running.has(resolved.output.path);
    try {
      const info = await tableCheckpointInfo(resolved, { postgres: this.host.databaseStatus });
      Object.assign(result, {
        checkpointPath: info.checkpointLocation, outputExists: info.outputExists, exists: info.exists, matchesQuery: info.matchesQuery,
        records: info.records, pages: info.pages, lastRecordTime: info.lastRecordTime, caughtUp: info.caughtUp, updatedAt: info.updatedAt, files: info.files,
      });
      // Another process holds the DuckDB file: what it holds can't be read now, which is no error of the query.
      if (info.busy) result.error = { code: 'locked', message: info.busy };
    } catch (err) {
      result.error = toWireError(err);
    }
    return result;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  /** Settles the promise and hands the value on. */
  resolve(value: T): T;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting (a file output asks for no field lists).
  promise.catch(() => undefined);
  return { promise, resolve: (v) => (resolve(v), v), reject };
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
