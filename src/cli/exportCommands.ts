// `zdx export` (an ad-hoc query from flags) and `zdx run` (a saved *.zdquery.json file).
import { dirname, resolve } from 'node:path';
import { checkpointPathFor } from '../engine/export';
import { ExportError } from '../engine/errors';
import { type ResolvedQuery, type SavedQuery, readSavedQuery, resolveQuery, validateSavedQuery } from '../engine/query';
import { resolveConnection, type AccountFlags, type Env } from './account';
import { EXIT_NOT_CAUGHT_UP, EXIT_OK } from './exitCodes';
import { prepareCredentials } from './oauth';
import { savedQueryFromFlags, type ExportFlags } from './queryOptions';
import { runSession, summaryJson, summaryText } from './session';

export interface IO {
  cwd: string;
  env: Env;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** resolveQuery may throw plain Errors from the catalogue; they are query problems too. */
function resolveOrExplain(q: SavedQuery, baseDir: string): ResolvedQuery {
  try {
    return resolveQuery(q, { baseDir });
  } catch (err) {
    if (err instanceof ExportError) throw err;
    throw new ExportError('invalidQuery', err instanceof Error ? err.message : String(err));
  }
}

async function exportResolved(query: ResolvedQuery, account: AccountFlags, state: string | undefined, json: boolean, io: IO): Promise<number> {
  const { connection } = resolveConnection(account, io.env);
  await prepareCredentials(connection.credentials); // refresh an expiring OAuth token first (src/cli/oauth.ts)
  const checkpointPath = state ? resolve(io.cwd, state) : checkpointPathFor(query.output.path);
  const s = await runSession({ connection, query, checkpointPath, json });
  io.out(json ? summaryJson(s) : summaryText(s));
  if (!s.result.caughtUp) {
    io.err('zdx: the export stopped before the end of the stream; run the same command again to continue.');
    return EXIT_NOT_CAUGHT_UP;
  }
  return EXIT_OK;
}

export async function exportCommand(resource: string, flags: ExportFlags & AccountFlags & { state?: string; json?: boolean }, io: IO): Promise<number> {
  const saved = savedQueryFromFlags(resource, flags, io.cwd);
  const { problems } = validateSavedQuery(saved);
  if (problems.length) {
    const p = problems[0];
    throw new ExportError('invalidQuery', `Invalid export options: ${p.path ? `${p.path}: ` : ''}${p.message.replace(/\.$/, '')}.`);
  }
  const query = resolveOrExplain(saved, io.cwd);
  return exportResolved(query, { url: flags.url, subdomain: flags.subdomain }, flags.state, Boolean(flags.json), io);
}

export async function runCommand(file: string, flags: AccountFlags & { state?: string; json?: boolean }, io: IO): Promise<number> {
  const path = resolve(io.cwd, file);
  const saved = await readSavedQuery(path);
  const query = resolveOrExplain(saved, dirname(path));
  return exportResolved(query, { url: flags.url, subdomain: flags.subdomain }, flags.state, Boolean(flags.json), io);
}
