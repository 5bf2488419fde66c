// Shared bits of the benchmarks: temp folders, formatting, and the export the engine runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectionFromUrl } from '../src/engine/zendesk';
import { loadQuery } from '../src/engine/query';
import { prepareExport, runExport, type ExportResult, type ProgressEvent } from '../src/engine/export';
import { targetFor, type FieldSource } from '../src/engine/tables';

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
  /** Output format (jsonl unless given). */
  format?: 'jsonl' | 'csv' | 'json';
  onProgress?: (e: ProgressEvent) => void;
  /** Field definitions: a CSV names its custom-field columns as a real run does. */
  fields?: FieldSource;
}

/** A cursor export of every ticket (support_type_scope=all) from the start of time, as `zdx export tickets` would run it. */
export function exportTickets(o: BenchExport): Promise<ExportResult> {
  const query = loadQuery(
    { name: 'bench', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: o.perPage, supportTypeScope: 'all' }, output: { path: `tickets.${o.format ?? 'jsonl'}`, format: o.format ?? 'jsonl' } },
    { baseDir: o.dir },
  );
  const connection = connectionFromUrl({ url: o.url, credentials: { kind: 'apiToken', email: o.email, token: o.token } });
  const checkpointPath = join(o.dir, 'tickets.checkpoint.json');
  if (!o.fields) return runExport({ connection, query, checkpointPath, onProgress: o.onProgress });
  return (async () => {
    const prepared = await prepareExport(query, targetFor(query, { checkpointPath, fields: o.fields }));
    try {
      return await runExport({ connection, query, prepared, onProgress: o.onProgress });
    } finally {
      await prepared.release();
    }
  })();
}

/** True when the file is run directly (node --import tsx bench/x.ts), not imported by bench/run.ts. */
export function isMain(mod: NodeJS.Module): boolean {
  return require.main === mod;
}

/** tsx's loader by absolute URL, for child processes started from any folder. */
export const TSX_LOADER = pathToFileURL(join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * The simulator in its own process (`zdx simulate`), so the client under test has the event loop to
 * itself and a second core can serve while it works, as a real server would.
 */
export async function simulatorProcess(args: string[]): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(__dirname, '..', 'src', 'cli', 'main.ts'), 'simulate', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<void>((resolveExit) => child.on('close', () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) resolveUrl(m[1]);
    });
    void exited.then(() => reject(new Error(`the simulator process exited before listening: ${stderr.trim()}`)));
  });
  return {
    url,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
