// Writes that survive a crash or a power cut at any instant: a whole file replaced atomically
// (temp file, fsync, rename, fsync the folder), and the folder fsync that makes a new name durable.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `text` to '<file>.tmp-<pid>', fsyncs it, renames it over `file` and fsyncs the folder, so a
 * crash leaves either the old file or the new one. The temp file is created exclusively (a planted
 * symlink at its name is removed, never written through) and removed again on failure. Throws the
 * system error as it is; callers say what the file was for.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.rm(tmp, { force: true });
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
  await removeStaleTemps(file);
}

/** Makes a rename or a new file's name durable. Some platforms (Windows) can't open a directory; there it is skipped. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort by design: the file itself is already fsynced and renamed.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Temp files of processes that crashed mid-write; a live process's temp file is left alone. */
async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
