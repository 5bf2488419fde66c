// Shared bits of the benchmarks: temp folders, formatting, and the export the engine runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionFromUrl, resolveQuery, runExport } from '../src/engine/index';
import type { ExportResult, ProgressEvent } from '../src/engine/index';

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `zdx-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export function basicAuth(email: string, token: string): string {
  return `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`;
}

export interface BenchExport {
  url: string;
  email: string;
  token: string;
  dir: string;
  perPage: number;
  onProgress?: (e: ProgressEvent) => void;
}

/** A cursor export of tickets from the start of time, as `zdx export tickets` would run it. */
export function exportTickets(o: BenchExport): Promise<ExportResult> {
  const query = resolveQuery(
    { name: 'bench', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: o.perPage }, output: { path: 'tickets.jsonl', format: 'jsonl' } },
    { baseDir: o.dir },
  );
  return runExport({
    connection: connectionFromUrl({ url: o.url, credentials: { kind: 'apiToken', email: o.email, token: o.token } }),
    query,
    checkpointPath: join(o.dir, 'tickets.checkpoint.json'),
    onProgress: o.onProgress,
  });
}

/** True when the file is run directly (node --import tsx bench/x.ts), not imported by bench/run.ts. */
export function isMain(mod: NodeJS.Module): boolean {
  return require.main === mod;
}
