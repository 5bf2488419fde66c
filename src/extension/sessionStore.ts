// The extension's view of export sessions: seeded from the server's ListSessions, kept live by
// ExportProgress / ExportFinished, and closed off when the server process dies mid-run.
import * as vscode from 'vscode';
import type { ExportFinishedParams, SessionInfo } from '../protocol/customMessages';
import type { EngineClient } from './engineClient';

export const ENGINE_STOPPED_MESSAGE = 'The export engine stopped during this export; resume it to continue from the last complete page.';

export class SessionStore implements vscode.Disposable {
  private readonly sessions = new Map<string, SessionInfo>();
  private readonly waiters = new Map<string, ((f: ExportFinishedParams) => void)[]>();
  private readonly changed = new vscode.EventEmitter<SessionInfo | undefined>();
  /** Fires with the session that changed, or undefined when the whole list did. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      engine.onProgress(({ sessionId, event, counts }) => {
        const s = this.sessions.get(sessionId);
        if (!s) return;
        s.counts = counts;
        if (event.type === 'start') s.resumed = event.resumed;
        if (event.type === 'switched') s.endpointId = event.to;
        this.changed.fire(s);
      }),
      engine.onFinished((f) => this.finish(f)),
      engine.onStopped(() => this.failRunning()),
      engine.onReady(() => void this.reload()),
      engine.onSessionsChanged((list) => this.merge(list)),
    );
  }

  /** Newest first, running ones on top. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].sort((a, b) => {
      const ra = a.status === 'running' ? 1 : 0;
      const rb = b.status === 'running' ? 1 : 0;
      return rb - ra || b.startedAt.localeCompare(a.startedAt);
    });
  }

  get(sessionId: string): SessionInfo | undefined {
    return this.sessions.get(sessionId);
  }

  running(): SessionInfo[] {
    return this.list().filter((s) => s.status === 'running');
  }

  /** Registered before StartExport is sent, so early progress notifications find it. */
  add(info: SessionInfo): void {
    this.sessions.set(info.sessionId, info);
    this.changed.fire(info);
  }

  update(sessionId: string, patch: Partial<SessionInfo>): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    Object.assign(s, patch);
    this.changed.fire(s);
  }

  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
    this.changed.fire(undefined);
  }

  clearFinished(): void {
    for (const [id, s] of this.sessions) if (s.status !== 'running') this.sessions.delete(id);
    this.changed.fire(undefined);
  }

  /** Resolves when the session ends, whatever the outcome (including the engine dying). */
  whenFinished(sessionId: string): Promise<ExportFinishedParams> {
    const s = this.sessions.get(sessionId);
    if (s && s.status !== 'running') return Promise.resolve(this.finishedOf(s));
    return new Promise((resolve) => {
      const list = this.waiters.get(sessionId) ?? [];
      list.push(resolve);
      this.waiters.set(sessionId, list);
    });
  }

  private finish(f: ExportFinishedParams): void {
    const s = this.sessions.get(f.sessionId);
    if (s) {
      Object.assign(s, {
        status: f.status, counts: f.counts, files: f.files, outputPath: f.outputPath, checkpointPath: f.checkpointPath,
        caughtUp: f.caughtUp, endedAt: f.endedAt, error: f.error,
      });
      this.changed.fire(s);
    }
    const waiting = this.waiters.get(f.sessionId);
    this.waiters.delete(f.sessionId);
    for (const w of waiting ?? []) w(f);
  }

  private finishedOf(s: SessionInfo): ExportFinishedParams {
    return {
      sessionId: s.sessionId, queryName: s.queryName, status: s.status === 'running' ? 'failed' : s.status, error: s.error, counts: s.counts,
      files: s.files, outputPath: s.outputPath, checkpointPath: s.checkpointPath, caughtUp: s.caughtUp ?? false,
      startedAt: s.startedAt, endedAt: s.endedAt ?? new Date().toISOString(),
    };
  }

  /** The process that ran them is gone: no ExportFinished will come. */
  private failRunning(): void {
    for (const s of this.sessions.values()) {
      if (s.status !== 'running') continue;
      this.log.warn(`Session ${s.sessionId} ("${s.queryName}") was interrupted by the engine stopping.`);
      this.finish({
        ...this.finishedOf(s), status: 'failed', error: { code: 'internal', message: ENGINE_STOPPED_MESSAGE },
        endedAt: new Date().toISOString(),
      });
    }
  }

  /** Merge the server's list (past sessions from its history file, and anything we missed). */
  async reload(): Promise<void> {
    try {
      this.merge(await this.engine.listSessions());
    } catch (err) {
      this.log.warn(`Could not list export sessions: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private merge(listed: SessionInfo[]): void {
    for (const s of listed) {
      const mine = this.sessions.get(s.sessionId);
      // A session we already closed (e.g. as interrupted) stays closed, whatever an old list says.
      if (mine && mine.status !== 'running' && s.status === 'running') continue;
      // Progress notifications are newer than a list sent at session start.
      const counts = mine && mine.counts.records > s.counts.records ? mine.counts : s.counts;
      this.sessions.set(s.sessionId, mine ? Object.assign(mine, s, { counts }) : s);
      if (s.status !== 'running' && this.waiters.has(s.sessionId)) this.finish(this.finishedOf(s));
    }
    this.changed.fire(undefined);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
