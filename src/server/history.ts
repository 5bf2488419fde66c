// The Runs view's memory across engine restarts: past sessions in a small JSON file in the client's
// storage folder, written durably (temp file, fsync, rename) one save at a time.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/export';
import type { SessionInfo } from '../protocol/customMessages';

const HISTORY_FILE = 'sessions.json';
const HISTORY_LIMIT = 100;

export class SessionHistory {
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly storagePath: string | undefined,
    private readonly warn: (message: string) => void,
  ) {}

  /** Past sessions from the file; an unreadable file starts a new history (and says so in the log). */
  async load(): Promise<SessionInfo[]> {
    if (!this.storagePath) return [];
    try {
      const raw = JSON.parse(await fs.readFile(path.join(this.storagePath, HISTORY_FILE), 'utf8')) as { sessions?: unknown };
      if (!Array.isArray(raw.sessions)) return [];
      return raw.sessions.filter((s): s is SessionInfo => isEndedSession(s));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`Session history unreadable, starting a new one: ${(err as Error).message}`);
      return [];
    }
  }

  /** Queues a save of the newest ended sessions; saves run one after another. */
  save(sessions: SessionInfo[]): void {
    if (!this.storagePath) return;
    const file = path.join(this.storagePath, HISTORY_FILE);
    const text = JSON.stringify({ version: 1, sessions: sessions.filter((s) => s.status !== 'running').slice(0, HISTORY_LIMIT) }, null, 1);
    this.saving = this.saving.then(() => writeFileAtomic(file, text)).catch((err: unknown) => {
      this.warn(`Couldn't save the session history: ${(err as Error).message}`);
    });
  }

  /** Resolves when every queued save has been written. */
  flushed(): Promise<void> {
    return this.saving;
  }
}

function isEndedSession(s: unknown): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const v = s as Partial<SessionInfo>;
  return typeof v.sessionId === 'string' && typeof v.startedAt === 'string' && v.status !== 'running' && typeof v.counts === 'object' && v.counts !== null;
}
