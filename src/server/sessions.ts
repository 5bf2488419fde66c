// Export sessions: one runExport per session with its own AbortController, running totals for the
// UI, and a history of past sessions (in memory, plus a small JSON file when a storage path is given).
// Secrets are fetched from the client per session (GetCredentials) and live only in that closure.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { checkpointPathFor, readCheckpoint, type Checkpoint, type ProgressEvent, runExport } from '../engine/export';
import { ExportError } from '../engine/errors';
import { checkConnection, connectionFromUrl, type Credentials } from '../engine/zendesk';
import { type ResolvedQuery, type SavedQuery, readSavedQuery, resolveQuery, validateSavedQuery } from '../engine/query';
import {
  emptySessionCounts,
  type CheckpointInfoParams,
  CheckpointInfoResult,
  ConnectionRef,
  ConnectionSpec,
  ExportFinishedParams,
  ExportProgressParams,
  GetCredentialsParams,
  GetCredentialsResult,
  PageArrivedParams,
  ServerErrorCode,
  SessionCounts,
  SessionInfo,
  StartExportParams,
  StartExportResult,
  TestConnectionParams,
  TestConnectionResult,
  WireError,
} from '../protocol/customMessages';

/** A failure that is the server's own (not the engine's), with a protocol error code. */
export class ServerFailure extends Error {
  constructor(readonly code: ServerErrorCode, message: string) {
    super(message);
    this.name = 'ServerFailure';
  }
}

export function toWireError(err: unknown): WireError {
  if (err instanceof ExportError || err instanceof ServerFailure) return { code: err.code, message: err.message };
  return { code: 'internal', message: `Internal error: ${err instanceof Error ? err.message : String(err)}` };
}

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
}

interface Session {
  info: SessionInfo;
  abort: AbortController;
  /** Set right after the session is registered (run() needs the registered session). */
  done?: Promise<ExportFinishedParams>;
}

interface LoadedQuery {
  query: SavedQuery;
  baseDir: string;
  queryFile?: string;
  queryUri?: string;
}

const HISTORY_FILE = 'sessions.json';
const HISTORY_LIMIT = 100;

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function cancelledError(): ExportError {
  return new ExportError('cancelled', 'The export was cancelled; the next run resumes from the last complete page.');
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private past: SessionInfo[] = [];
  /** Output paths being written, reserved before any await so two starts can't race. */
  private readonly busyOutputs = new Set<string>();
  private historySave: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: SessionHost,
    private readonly storagePath?: string,
  ) {}

  async loadHistory(): Promise<void> {
    if (!this.storagePath) return;
    try {
      const raw = JSON.parse(await fs.readFile(path.join(this.storagePath, HISTORY_FILE), 'utf8')) as { sessions?: SessionInfo[] };
      if (Array.isArray(raw.sessions)) this.past = raw.sessions.filter((s) => s && typeof s.sessionId === 'string' && s.status !== 'running');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.host.log.warn(`Session history unreadable, starting a new one: ${(err as Error).message}`);
    }
  }

  list(): SessionInfo[] {
    const running = [...this.sessions.values()].map((s) => s.info).filter((i) => i.status === 'running');
    const ended = [...[...this.sessions.values()].map((s) => s.info).filter((i) => i.status !== 'running'), ...this.past]
      .filter((i, idx, all) => all.findIndex((j) => j.sessionId === i.sessionId) === idx);
    const newest = (a: SessionInfo, b: SessionInfo) => b.startedAt.localeCompare(a.startedAt);
    return [...running.sort(newest), ...ended.sort(newest)];
  }

  isRunning(outputPath: string): boolean {
    return this.busyOutputs.has(outputPath);
  }

  /** Every running session is cancelled and awaited (server shutdown). */
  async cancelAll(): Promise<void> {
    const running = [...this.sessions.values()].filter((s) => s.info.status === 'running');
    for (const s of running) s.abort.abort();
    await Promise.allSettled(running.map((s) => s.done));
    await this.historySave;
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
    // Runs read the file on disk, like the CLI: the extension saves before running.
    const loaded = await this.loadQuery(params, false);
    const resolved = resolveQuery(loaded.query, { baseDir: loaded.baseDir });
    const ref = this.connectionRef(params.connection ?? loaded.query.connection);
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
    let done: Promise<ExportFinishedParams>;
    try {
      if (params.fresh) await this.discard(checkpointPath, outputPath);
      let existing: Checkpoint | null = null;
      try {
        existing = await readCheckpoint(checkpointPath);
      } catch {
        // A damaged checkpoint is runExport's to report, in the session's result.
      }
      const resumed = existing !== null && existing.queryDigest === resolved.digest;
      const info: SessionInfo = {
        sessionId,
        status: 'running',
        queryName: resolved.name,
        queryUri: loaded.queryUri,
        queryFile: loaded.queryFile,
        resource: resolved.resource,
        endpointId: resolved.endpointId,
        connectionName: ref.name,
        resumed,
        startedAt: new Date().toISOString(),
        counts: emptySessionCounts(resumed ? existing ?? undefined : undefined),
        outputPath,
        files: [],
        checkpointPath,
      };
      session = { info, abort: new AbortController() };
      this.sessions.set(sessionId, session);
      done = this.run(session, resolved, ref, params);
      session.done = done;
    } catch (err) {
      this.busyOutputs.delete(outputPath);
      throw err;
    }
    this.host.log.info(`[${sessionId}] started ${resolved.name} (${resolved.endpointId}) -> ${outputPath}${session.info.resumed ? ', resuming' : ''}`);
    this.host.sessionsChanged(this.list());

    const result: StartExportResult = { sessionId, queryName: resolved.name, endpointId: resolved.endpointId, outputPath, checkpointPath };
    if (!params.waitForCompletion) return result;
    onCancel?.(() => session.abort.abort());
    const finished = await done;
    if (finished.status !== 'done') {
      throw new ServerFailure(finished.error?.code ?? 'internal', finished.error?.message ?? 'The export failed.');
    }
    return { ...result, finished };
  }

  private async run(s: Session, resolved: ResolvedQuery, ref: ConnectionRef, params: StartExportParams): Promise<ExportFinishedParams> {
    const { info, abort } = s;
    const counts = info.counts;
    let error: WireError | undefined;
    let caughtUp = false;
    const pageLimit = params.pageRecordsLimit ?? 0;
    try {
      const credentials = await this.raceAbort(this.credentials(ref, 'export'), abort.signal);
      const connection = connectionFromUrl({ url: ref.baseUrl, credentials });
      const result = await runExport({
        connection,
        query: resolved,
        checkpointPath: info.checkpointPath,
        signal: abort.signal,
        requestTimeoutMs: params.requestTimeoutMs,
        maxRetries: params.maxRetries,
        onProgress: (event) => {
          this.count(counts, event);
          this.host.progress({ sessionId: info.sessionId, queryFile: info.queryFile, event, counts: { ...counts } });
        },
        onPage: (records) => {
          const firstRow = counts.records;
          counts.records += records.length;
          counts.sessionRecords += records.length;
          const page: PageArrivedParams = { sessionId: info.sessionId, outputPath: info.outputPath, firstRow, count: records.length };
          if (records.length <= pageLimit) page.records = records;
          this.host.page(page);
        },
      });
      caughtUp = result.caughtUp;
      counts.records = result.checkpoint?.records ?? result.records;
      counts.pages = result.checkpoint?.pages ?? result.pages;
      info.files = result.files;
      info.status = 'done';
    } catch (err) {
      // Once aborted, whatever the abort surfaced as (AbortError, a network error) is a cancellation.
      const cancelled = err instanceof ExportError && err.code === 'cancelled' ? err : abort.signal.aborted ? cancelledError() : undefined;
      error = toWireError(cancelled ?? err);
      info.status = error.code === 'cancelled' ? 'cancelled' : 'failed';
      info.error = error;
      if (error.code === 'internal') this.host.log.error(`[${info.sessionId}] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      // What is on disk is what the next run resumes from: report that, not the in-memory tally.
      try {
        const cp = await readCheckpoint(info.checkpointPath);
        if (cp && cp.queryDigest === resolved.digest) {
          counts.records = cp.records;
          counts.pages = cp.pages;
          info.files = Object.keys(cp.files);

        }
      } catch {
        // The failure above already says what went wrong.
      }
    }
    counts.waitingUntil = null;
    if (!info.files.length && (await exists(info.outputPath))) info.files = [info.outputPath];
    info.caughtUp = caughtUp;
    info.endedAt = new Date().toISOString();
    this.busyOutputs.delete(info.outputPath);
    const finished: ExportFinishedParams = {
      sessionId: info.sessionId,
      status: info.status as ExportFinishedParams['status'],
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
    this.host.log.info(`[${info.sessionId}] ${info.status}: ${counts.records} records, ${counts.pages} pages${error ? ` (${error.code}: ${error.message})` : ''}`);
    this.host.finished(finished);
    this.host.sessionsChanged(this.list());
    this.saveHistory();
    return finished;
  }

  private count(c: SessionCounts, e: ProgressEvent): void {
    switch (e.type) {
      case 'request':
        c.requests++;
        c.waitingUntil = null;
        if (e.perPage !== null) c.perPage = e.perPage;
        break;
      case 'page':
        c.sessionPages++;
        c.pages++;
        c.duplicatesDropped += e.duplicatesDropped;
        c.lastRecordTime = e.lastRecordTime ?? c.lastRecordTime;
        c.waitingUntil = null;
        break;
      case 'rateLimit':
        c.rateLimit = { family: e.family, total: e.total, remaining: e.remaining, resetsAt: e.resetsAt };
        break;
      case 'waiting': {
        // The engine reports epoch ms; tolerate seconds.
        const until = e.until < 1e12 ? e.until * 1000 : e.until;
        c.rateLimitWaits++;
        c.waitedMs += Math.max(0, until - Date.now());
        c.waitingUntil = until;
        break;
      }
      case 'retry':
        c.retries++;
        break;
      case 'perPage':
        c.perPage = e.perPage;
        break;
      case 'done':
        c.records = Math.max(c.records, e.records);
        c.pages = Math.max(c.pages, e.pages);
        break;
      default:
        break;
    }
  }

  async testConnection(params: TestConnectionParams, signal?: AbortSignal): Promise<TestConnectionResult> {
    try {
      const ref = this.connectionRef(params.connection);
      const credentials = await this.credentials(ref, 'testConnection');
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
      const loaded = await this.loadQuery(params, true);
      resolved = resolveQuery(loaded.query, { baseDir: loaded.baseDir });
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

  // -------------------------------------------------------------------------------------------

  private async loadQuery(params: CheckpointInfoParams, preferOpenDocument: boolean): Promise<LoadedQuery> {
    if (params.query) {
      if (!params.baseDir) throw new ServerFailure('invalidQuery', 'An inline query needs baseDir, the folder its output is written to.');
      const { query, problems } = validateSavedQuery(params.query);
      if (!query || problems.length) throw new ExportError('invalidQuery', `The query is invalid: ${problems.map((p) => `${p.path ? `${p.path}: ` : ''}${p.message}`).join('; ')}`);
      return { query, baseDir: params.baseDir };
    }
    let file = params.queryFile;
    let uri = params.queryUri;
    if (!file && uri) {
      try {
        file = fileURLToPath(uri);
      } catch {
        throw new ServerFailure('invalidQuery', `The query ${uri} is not a file on this machine.`);
      }
    }
    if (!file) throw new ServerFailure('invalidQuery', 'No query given: send queryUri, queryFile or query.');
    uri ??= pathToFileURL(file).toString();
    const baseDir = params.baseDir ?? path.dirname(file);
    const text = preferOpenDocument ? this.host.documentText(uri) : undefined;
    if (text === undefined) return { query: await readSavedQuery(file), baseDir, queryFile: file, queryUri: uri };
    const errors: ParseError[] = [];
    const raw: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
    if (errors.length) throw new ExportError('invalidQuery', `The query ${file} is not valid JSON.`);
    const { query, problems } = validateSavedQuery(raw);
    if (!query || problems.length) throw new ExportError('invalidQuery', `The query ${file} is invalid: ${problems[0]?.message ?? 'unknown problem'}`);
    return { query, baseDir, queryFile: file, queryUri: uri };
  }

  private connectionRef(spec: ConnectionSpec | undefined): ConnectionRef {
    if (spec === undefined || spec === '') {
      throw new ServerFailure('unknownConnection', 'The query names no connection; add "connection" to it or choose one when running it.');
    }
    if (typeof spec !== 'string') {
      if (!spec.baseUrl) throw new ServerFailure('unknownConnection', `The connection "${spec.name}" has no URL or subdomain.`);
      return spec;
    }
    const known = this.host.connections() ?? [];
    const ref = known.find((c) => c.name === spec);
    if (!ref) {
      throw new ServerFailure('unknownConnection', known.length
        ? `There is no connection named "${spec}"; configured connections: ${known.map((c) => c.name).join(', ')}.`
        : `There is no connection named "${spec}"; no connections are configured.`);
    }
    if (!ref.baseUrl) throw new ServerFailure('unknownConnection', `The connection "${spec}" has no URL or subdomain.`);
    return ref;
  }

  private async credentials(ref: ConnectionRef, reason: 'export' | 'testConnection'): Promise<Credentials> {
    const answer = await this.host.getCredentials({ connection: ref, reason });
    if (!answer || typeof answer.secret !== 'string' || !answer.secret) {
      throw new ServerFailure('noCredentials', `No token is stored for the connection "${ref.name}"; set one and try again.`);
    }
    if (ref.auth === 'oauth') {
      return {
        kind: 'oauth',
        accessToken: answer.secret,
        refresh: async () => {
          const renewed = await this.host.getCredentials({ connection: ref, reason: 'refresh' });
          if (!renewed?.secret) throw new ExportError('auth', `Zendesk rejected the OAuth token of "${ref.name}" and it couldn't be refreshed; sign in again.`);
          return renewed.secret;
        },
      };
    }
    if (!ref.email) throw new ServerFailure('unknownConnection', `The connection "${ref.name}" uses an API token but has no email; add the agent's email to it.`);
    return { kind: 'apiToken', email: ref.email, token: answer.secret };
  }

  private raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(cancelledError());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(cancelledError());
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** `fresh`: remove the checkpoint and every file it recorded, so the run starts from the start time. */
  private async discard(checkpointPath: string, outputPath: string): Promise<void> {
    let files: string[] = [outputPath];
    try {
      const cp = await readCheckpoint(checkpointPath);
      if (cp) files = [...new Set([...files, ...Object.keys(cp.files)])];
    } catch {
      // Damaged: delete it all the same, that is what "start over" means.
    }
    for (const f of [checkpointPath, ...files]) await fs.rm(f, { force: true });
  }

  private saveHistory(): void {
    if (!this.storagePath) return;
    const dir = this.storagePath;
    const sessions = this.list().filter((s) => s.status !== 'running').slice(0, HISTORY_LIMIT);
    this.historySave = this.historySave.then(async () => {
      const file = path.join(dir, HISTORY_FILE);
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        await fs.mkdir(dir, { recursive: true });
        await fs.writeFile(tmp, JSON.stringify({ version: 1, sessions }, null, 1));
        await fs.rename(tmp, file);
      } catch (err) {
        this.host.log.warn(`Couldn't save the session history: ${(err as Error).message}`);
      }
    });
  }
}
