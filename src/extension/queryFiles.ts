// Reading saved query files (`*.zdquery.json`) on the extension side: only what the UI needs
// (name, connection, resource). Validation proper is the server's (diagnostics) and the engine's.
import * as vscode from 'vscode';
import { parse, type ParseError } from 'jsonc-parser';
import { SAVED_QUERY_SUFFIX, type SavedQuery } from '../protocol/customMessages';

export const QUERY_SUFFIX = SAVED_QUERY_SUFFIX;
export const QUERY_GLOB = `**/*${QUERY_SUFFIX}`;

export interface QuerySummary {
  uri: vscode.Uri;
  /** Parsed content, or undefined when the file isn't valid JSON. */
  query?: Partial<SavedQuery>;
  parseError?: string;
}

export function isQueryUri(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.scheme === 'file' && uri.path.endsWith(QUERY_SUFFIX);
}

export function parseQueryText(text: string): { query?: Partial<SavedQuery>; parseError?: string } {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length || !value || typeof value !== 'object' || Array.isArray(value)) {
    return { parseError: 'not a JSON object' };
  }
  return { query: value as Partial<SavedQuery> };
}

/** Prefers the open document (it may be unsaved) over the file on disk. */
export async function readQuery(uri: vscode.Uri): Promise<QuerySummary> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  return { uri, ...parseQueryText(text) };
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
