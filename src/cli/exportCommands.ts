// `zdx export` (an ad-hoc query from flags) and `zdx run` (a saved *.zdquery.json file). Both go
// through the engine's one query loader, so a flag-built export validates, defaults and resumes
// exactly like a saved one.
import { dirname, resolve } from 'node:path';
import { checkpointPathFor } from '../engine/export';
import { loadQuery, loadQueryFile, type ResolvedQuery } from '../engine/query';
import { targetFor, zendeskFieldSource } from '../engine/tables';
import { cliPostgresResolver } from './databases';
import { resolveConnection } from './account';
import type { AccountFlags } from './baseUrl';
import type { IO } from './io';
import { EXIT_NOT_CAUGHT_UP, EXIT_OK, UsageError } from './exitCodes';
import { prepareCredentials } from './oauth';
import { savedQueryFromFlags } from './queryOptions';
import type { ExportFlags } from './queryOptions';
import { runSession, summaryJson, summaryText } from './session';

/** Flags every export-running command takes. */
export interface RunFlags extends AccountFlags {
  state?: string;
  json?: boolean;
  /** Minutes. */
  maxWait?: number;
}

async function exportResolved(query: ResolvedQuery, flags: RunFlags, io: IO): Promise<number> {
  if (flags.state && query.output.tables) throw new UsageError(`--state is for file outputs; a ${query.output.tables.format} output keeps its checkpoint with the data.`);
  const { connection } = resolveConnection({ url: flags.url, subdomain: flags.subdomain }, io.env);
  await prepareCredentials(connection.credentials); // refresh an expiring OAuth token first (src/cli/oauth.ts)
  const checkpointPath = flags.state ? resolve(io.cwd, flags.state) : checkpointPathFor(query.output.path);
  const json = Boolean(flags.json);
  const maxWaitMs = flags.maxWait !== undefined ? flags.maxWait * 60_000 : undefined;
  // Custom fields are named after the account's field lists, fetched once when the output opens.
  const target = targetFor(query, { checkpointPath, postgres: cliPostgresResolver(io.env), fields: zendeskFieldSource(connection, { maxWaitMs }) });
  const s = await runSession({ connection, query, checkpointPath, target, json, maxWaitMs });
  io.out(json ? summaryJson(s) : summaryText(s));
  if (!s.result.caughtUp) {
    io.err('zdx: the export stopped before the end of the stream; run the same command again to continue.');
    return EXIT_NOT_CAUGHT_UP;
  }
  return EXIT_OK;
}

export async function exportCommand(resource: string, flags: ExportFlags & RunFlags, io: IO): Promise<number> {
  const query = loadQuery(savedQueryFromFlags(resource, flags), { baseDir: io.cwd });
  return exportResolved(query, flags, io);
}

export async function runCommand(file: string, flags: RunFlags, io: IO): Promise<number> {
  const path = resolve(io.cwd, file);
  const query = await loadQueryFile(path, { baseDir: dirname(path) });
  return exportResolved(query, flags, io);
}
