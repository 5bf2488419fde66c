// The one loader of saved queries. Every face (CLI, engine server, editor) reads a query's text
// through here: strict JSON (no comments, no trailing commas), a size and depth bound checked before
// parsing, validation once, then resolution into what the exporter runs.
import { promises as fs } from 'node:fs';
import { getNodeValue, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { ExportError } from '../errors';
import type { ResolvedQuery } from './model';
import { resolveValidQuery, type ResolveOptions } from './resolve';
import { validateSavedQuery, type QueryProblem } from './validate';

/** A saved query is a few hundred bytes; anything this large is not one, and is refused unread. */
export const MAX_QUERY_BYTES = 256 * 1024;
/** Nesting a saved query never needs; deeper input is refused before a recursive parser sees it. */
export const MAX_QUERY_DEPTH = 32;

export interface ParsedQueryText {
  /** The syntax tree, for editors that point at a node. */
  root: JsonNode;
  value: unknown;
}

/**
 * Parses the text of a query file strictly as JSON. Throws ExportError('invalidQuery') naming the
 * file, with line and column for a syntax error; `offset` (in details) locates it for diagnostics.
 */
export function parseQueryText(text: string, file: string): ParsedQueryText {
  const body = text.replace(/^\uFEFF/, '');
  const fail = (offset: number, what: string): never => {
    const { line, column } = lineColumn(body, offset);
    throw new ExportError('invalidQuery', `The query file ${file} is not valid JSON: line ${line}, column ${column}: ${what}.`, String(offset));
  };
  if (body.length > MAX_QUERY_BYTES) {
    throw new ExportError('invalidQuery', `The query file ${file} is ${Math.round(body.length / 1024)} KB; a saved query is a small JSON object (at most ${MAX_QUERY_BYTES / 1024} KB), so this is not one.`, '0');
  }
  if (body.trim() === '') throw new ExportError('invalidQuery', `The query file ${file} is empty; it should hold a JSON object with "name" and "resource".`, '0');
  const deep = depthExceeded(body, MAX_QUERY_DEPTH);
  if (deep !== null) fail(deep, `nested more than ${MAX_QUERY_DEPTH} levels deep, which no saved query is`);
  const errors: ParseError[] = [];
  const root = parseTree(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length || !root) fail(errors[0]?.offset ?? 0, syntaxWords(printParseErrorCode(errors[0]?.error ?? 1)));
  return { root: root!, value: getNodeValue(root!) };
}

/** Whether text is small and shallow enough to parse at all (what parseQueryText refuses unread is not). */
export function withinQueryBounds(text: string): boolean {
  return text.length <= MAX_QUERY_BYTES && depthExceeded(text, MAX_QUERY_DEPTH) === null;
}

/** Reads a query file's text; a missing, unreadable or oversized file is one ExportError sentence. */
export async function readQueryFile(file: string): Promise<string> {
  try {
    const info = await fs.stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    if (info.size > MAX_QUERY_BYTES) {
      throw new ExportError('invalidQuery', `The query file ${file} is ${Math.round(info.size / 1024)} KB; a saved query is a small JSON object (at most ${MAX_QUERY_BYTES / 1024} KB), so this is not one.`);
    }
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ExportError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? "doesn't exist" : code === 'EISDIR' ? 'is a folder' : `can't be read (${code ?? String(err)})`;
    throw new ExportError('io', `The query file ${file} ${why}.`);
  }
}

export interface LoadOptions extends ResolveOptions {
  /** The query file, for messages (inline queries have none). */
  file?: string;
}

/** Validates a parsed query once and resolves it; every problem is one ExportError('invalidQuery'). */
export function loadQuery(raw: unknown, opts: LoadOptions): ResolvedQuery {
  const { query, problems } = validateSavedQuery(raw);
  if (!query) throw invalidQueryError(opts.file, problems);
  return resolveValidQuery(query, opts);
}

/** Reads, parses, validates and resolves a query file. */
export async function loadQueryFile(file: string, opts: ResolveOptions): Promise<ResolvedQuery> {
  return loadQuery(parseQueryText(await readQueryFile(file), file).value, { ...opts, file });
}

/** ExportError for a query with problems: the first in the sentence, all of them in details. */
export function invalidQueryError(file: string | undefined, problems: QueryProblem[]): ExportError {
  const where = (p: QueryProblem): string => (p.path ? `${p.path}: ${p.message}` : p.message);
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  const subject = file ? `The query file ${file}` : 'The query';
  return new ExportError('invalidQuery', `${subject} is invalid: ${where(problems[0]).replace(/\.$/, '')}${more}.`, problems.map(where).join('\n'));
}

/** Offset of the first bracket deeper than `max` (strings skipped), or null. Linear, no recursion. */
function depthExceeded(text: string, max: number): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function syntaxWords(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character', InvalidNumberFormat: 'malformed number',
    PropertyNameExpected: 'expected a property name in double quotes', ValueExpected: 'expected a value',
    ColonExpected: 'expected a colon after the property name', CommaExpected: 'expected a comma between entries',
    CloseBraceExpected: 'expected a closing brace }', CloseBracketExpected: 'expected a closing bracket ]',
    EndOfFileExpected: 'unexpected text after the end of the JSON', InvalidCommentToken: 'comments are not allowed in JSON',
    UnexpectedEndOfComment: 'unterminated comment', UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number', InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character', InvalidCharacter: 'invalid character in a string',
  };
  return words[code] ?? code;
}
