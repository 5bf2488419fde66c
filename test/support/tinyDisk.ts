// A real full disk for tests: a tmpfs of a few KiB mounted on a folder. Mounting needs root (as CI
// runs); elsewhere the test fails with that reason rather than passing unchecked.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';

export interface TinyDisk {
  dir: string;
  unmount(): Promise<void>;
}

export async function mountTinyDisk(dir: string, kib: number): Promise<TinyDisk> {
  if (process.getuid?.() !== 0) throw new Error('This test mounts a tiny tmpfs to fill a disk for real, which needs root (CI runs as root).');
  await fs.mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0777`, 'tmpfs', dir]);
  return {
    dir,
    async unmount() {
      execFileSync('umount', ['-l', dir]);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
