// Where a request's query comes from: inline (the wizard), an open editor (which may be newer than
// the file on disk), or the file. Every one goes through the engine's one loader.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadQuery, loadQueryFile, parseQueryText, type ResolvedQuery } from '../engine/query';
import type { CheckpointInfoParams } from '../protocol/customMessages';
import { ServerFailure } from './failures';

export interface SessionQuery {
  resolved: ResolvedQuery;
  queryFile?: string;
  queryUri?: string;
}

/** `documentText` is the text of an open editor, undefined when the file is not open (or must be read from disk). */
export async function loadRequestQuery(params: CheckpointInfoParams, documentText: (uri: string) => string | undefined): Promise<SessionQuery> {
  if (params.query !== undefined) {
    if (!params.baseDir) throw new ServerFailure('invalidQuery', 'An inline query needs baseDir, the folder its output is written to.');
    return { resolved: loadQuery(params.query, { baseDir: params.baseDir }) };
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
  const text = documentText(uri);
  const resolved = text === undefined
    ? await loadQueryFile(file, { baseDir })
    : loadQuery(parseQueryText(text, file).value, { baseDir, file });
  return { resolved, queryFile: file, queryUri: uri };
}
