// Where a request's query comes from: inline (the wizard), an open editor (which may be newer than
// the file on disk), or the file. Every one goes through the engine's one loader.
import { realpathSync } from 'node:fs';
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
    return { resolved: staysInside(loadQuery(params.query, { baseDir: params.baseDir, outputRoot }), outputRoot) };
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
  return { resolved: staysInside(resolved, outputRoot), queryFile: file, queryUri: uri };
}

/** The query, once its output folder is known not to lead out of `root` through a symbolic link (refused up front, so no Run CodeLens either). */
function staysInside(resolved: ResolvedQuery, root: string): ResolvedQuery {
  // A PostgreSQL output is no place on disk (its path is a label).
  if (resolved.output.tables?.database) return resolved;
  const link = outputLeavesThrough(resolved.output.path, root);
  if (link) {
    throw new ServerFailure('invalidQuery', `The output folder ${path.dirname(resolved.output.path)} leads outside the workspace folder ${root} (through a symbolic link, to ${link}); outputs and their checkpoints stay in the workspace.`);
  }
  return resolved;
}

/**
 * Where an output inside `root` by name really lands when a folder on its way is a symbolic link
 * leading out of `root` (the real path of its nearest existing folder), or undefined when it stays.
 * The file target checks the same again when it takes the output (the folder may change meanwhile).
 */
export function outputLeavesThrough(output: string, root: string): string | undefined {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(output); ; dir = path.dirname(dir)) {
    try {
      const real = realpathSync(dir);
      return isInside(real, realRoot) ? undefined : real;
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** The innermost folder that holds `file` (multi-root workspaces may nest folders). */
export function containingFolder(file: string, folders: string[]): string | undefined {
  return folders.filter((f) => isInside(path.resolve(file), path.resolve(f))).sort((a, b) => b.length - a.length)[0];
}
