// Where a request's query comes from: inline (the wizard), an open editor (which may be newer than
// the file on disk), or the file. Every one goes through the engine's one loader.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isInside, loadQuery, loadQueryFile, parseQueryText, type ResolvedQuery } from '../engine/query';
import type { CheckpointInfoParams } from '../protocol/customMessages';
import { ServerFailure } from './failures';

export interface SessionQuery {
  resolved: ResolvedQuery;
  queryFile?: string;
  queryUri?: string;
}

export interface QuerySources {
  /** The text of an open editor, undefined when the file is not open (or must be read from disk). */
  documentText(uri: string): string | undefined;
  /** Absolute paths of the workspace folders: a query's output stays inside the one that holds it. */
  workspaceFolders(): string[];
}

export async function loadRequestQuery(params: CheckpointInfoParams, sources: QuerySources): Promise<SessionQuery> {
  if (params.query !== undefined) {
    if (!params.baseDir) throw new ServerFailure('invalidQuery', 'An inline query needs baseDir, the folder its output is written to.');
    const outputRoot = containingFolder(params.baseDir, sources.workspaceFolders()) ?? params.baseDir;
    return { resolved: loadQuery(params.query, { baseDir: params.baseDir, outputRoot }) };
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
  // A query outside every workspace folder (opened on its own) keeps its output in its own folder.
  const outputRoot = containingFolder(file, sources.workspaceFolders()) ?? path.dirname(file);
  const text = sources.documentText(uri);
  const resolved = text === undefined
    ? await loadQueryFile(file, { baseDir, outputRoot })
    : loadQuery(parseQueryText(text, file).value, { baseDir, file, outputRoot });
  return { resolved, queryFile: file, queryUri: uri };
}

/** The innermost folder that holds `file` (multi-root workspaces may nest folders). */
export function containingFolder(file: string, folders: string[]): string | undefined {
  return folders.filter((f) => isInside(path.resolve(file), path.resolve(f))).sort((a, b) => b.length - a.length)[0];
}
