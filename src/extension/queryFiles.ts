// Reading saved query files (`*.zdquery.json`) on the extension side, only for display (name,
// connection, resource). It parses with the engine's one loader, so a file the editor lists as
// valid JSON is one a run accepts; validating and running are the engine server's.
import * as vscode from 'vscode';
import { parseQueryText } from '../engine/query';
import { SAVED_QUERY_SUFFIX, type SavedQuery } from '../protocol/customMessages';

export const QUERY_SUFFIX = SAVED_QUERY_SUFFIX;
export const QUERY_GLOB = `**/*${QUERY_SUFFIX}`;

export interface QuerySummary {
  uri: vscode.Uri;
  /** Parsed content, or undefined when the file isn't a JSON object. */
  query?: Partial<SavedQuery>;
  /** Why it isn't: the loader's one sentence. */
  parseError?: string;
}

export function isQueryUri(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.scheme === 'file' && uri.path.endsWith(QUERY_SUFFIX);
}

function summarize(uri: vscode.Uri, text: string): QuerySummary {
  try {
    const { value } = parseQueryText(text, vscode.workspace.asRelativePath(uri));
    if (value && typeof value === 'object' && !Array.isArray(value)) return { uri, query: value };
    return { uri, parseError: 'it is not a JSON object' };
  } catch (err) {
    return { uri, parseError: err instanceof Error ? err.message : String(err) };
  }
}

/** Prefers the open document (it may be unsaved) over the file on disk. */
export async function readQuery(uri: vscode.Uri): Promise<QuerySummary> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  return summarize(uri, text);
}

export function queryLabel(s: QuerySummary): string {
  const name = s.query?.name;
  if (typeof name === 'string' && name.trim()) return name;
  const base = s.uri.path.split('/').pop() ?? s.uri.path;
  return base.slice(0, -QUERY_SUFFIX.length) || base;
}

export async function findQueryFiles(): Promise<vscode.Uri[]> {
  const uris = await vscode.workspace.findFiles(QUERY_GLOB, '**/node_modules/**');
  return uris.sort((a, b) => a.path.localeCompare(b.path));
}
