// One writer per output: an exclusive lock file beside the checkpoint, held for the whole run. It is
// created with O_EXCL (never through a symlink) and names its holder (pid, host, start, command), so a
// second run refuses at once with one sentence, and a lock left by a killed process on this machine
// is taken over (its pid is gone, or now belongs to a process that started later).
import { constants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExportError } from '../errors';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat), which tells a reused pid apart. */
  procStart?: string;
}

export type ReleaseLock = () => Promise<void>;

/** A lock file still being written by its holder is younger than this; an unreadable older one is debris. */
const UNREADABLE_GRACE_MS = 10_000;

/**
 * Takes the lock at `file` for writing `what` (said in the refusal). Folders it had to create for the
 * lock are removed again on release when they are still empty, so a run that fails before Zendesk
 * answers leaves nothing behind.
 */
export async function acquireLock(file: string, what: string): Promise<ReleaseLock> {
  const dir = path.dirname(file);
  let created: string | undefined;
  try {
    created = await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ExportError('io', `Couldn't create the folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  const me: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: commandLine(), procStart: await procStart(process.pid) };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await fs.open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o644);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return once(async () => {
        const holder = await readHolder(file).catch(() => null);
        if (holder && holder.pid === me.pid && holder.startedAt === me.startedAt) await fs.rm(file, { force: true });
        if (created) await removeEmptyFolders(dir, created);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if (err instanceof ExportError) throw err;
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw busy(file, what, await readHolder(file).catch(() => null));
        throw new ExportError('io', `Couldn't create the lock ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
      }
      const info = await fs.lstat(file).catch(() => null);
      if (info?.isSymbolicLink()) {
        throw new ExportError('io', `The lock ${file} is a symbolic link, which this tool never follows; remove it and run again.`);
      }
      const holder = await readHolder(file).catch(() => null);
      const debris = holder === null && info !== null && Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS;
      if (!debris && !(holder && (await holderIsGone(holder)))) throw busy(file, what, holder);
      await fs.rm(file, { force: true });
    }
  }
}

function busy(file: string, what: string, holder: LockHolder | null): ExportError {
  if (!holder) {
    return new ExportError('locked', `Another export is writing ${what} right now (its lock ${file} is being created); wait for it to finish.`);
  }
  const where = holder.host === os.hostname() ? '' : ` on ${holder.host}`;
  return new ExportError(
    'locked',
    `Another export is writing ${what} right now (pid ${holder.pid}${where}, started ${holder.startedAt}: ${holder.command}); wait for it to finish or stop it — if it is gone${where ? ' and that machine shares this folder' : ''}, delete ${file}.`,
  );
}

async function readHolder(file: string): Promise<LockHolder | null> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  let text: string;
  try {
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.startedAt === 'string') {
      return { pid: v.pid, host: v.host, startedAt: v.startedAt, command: typeof v.command === 'string' ? v.command : '?', ...(typeof v.procStart === 'string' ? { procStart: v.procStart } : {}) };
    }
  } catch {
    // Not (yet) a holder: see UNREADABLE_GRACE_MS.
  }
  return null;
}

/** Only a holder on this machine can be known gone: its pid is free, or taken by a process that started later. */
async function holderIsGone(holder: LockHolder): Promise<boolean> {
  if (holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (holder.pid === process.pid) return false;
  const now = await procStart(holder.pid);
  return holder.procStart !== undefined && now !== undefined && now !== holder.procStart;
}

async function procStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** What the holder is, as a person would recognise it: the process title (zdx, zdx-engine) and its arguments. */
function commandLine(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]) : '';
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--node-ipc') && !a.startsWith('--clientProcessId'));
  return [process.title === 'node' ? `node ${script}` : process.title, ...args].join(' ').slice(0, 200);
}

async function removeEmptyFolders(from: string, upTo: string): Promise<void> {
  for (let dir = from; dir.startsWith(upTo); dir = path.dirname(dir)) {
    try {
      await fs.rmdir(dir);
    } catch {
      return;
    }
    if (dir === upTo) return;
  }
}

function once(release: () => Promise<void>): ReleaseLock {
  let done: Promise<void> | undefined;
  return () => (done ??= release().catch(() => undefined));
}
