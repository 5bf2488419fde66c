// Language features for saved query files (*.zdquery.json): the diagnostics a JSON schema can't
// express, hovers, connection-name completion and the Run / Resume / Open results CodeLens.
// Structure (types, required fields, enums) is the schema's job in VS Code; engine-io's
// validateSavedQuery reports it here too, quietly (Information), for editors without the schema,
// and loudly where it checks catalogue facts the schema can't express.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findNodeAtLocation,
  findNodeAtOffset,
  getLocation,
  getNodeValue,
  parseTree,
  type JSONPath,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import {
  CodeLens,
  CompletionItem,
  CompletionItemKind,
  Diagnostic,
  DiagnosticSeverity,
  Hover,
  MarkupKind,
  Range,
  TextEdit,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { hasSample, paginationChoices, requestCostNote, resolveEndpoint, RESOURCES, type EndpointForm, type ResourceName } from '../engine/zendesk';
import { ExportError } from '../engine/errors';
import { isInside, validateSavedQuery, formatUnix, MIN_START_AGE_SECONDS, parseQueryText, parseStartTime, toUnixSeconds, withinQueryBounds, type ParsedQueryText } from '../engine/query';
import { CodeLensCommands, SAVED_QUERY_SUFFIX, type CheckpointInfoResult, type ConnectionRef } from '../protocol/customMessages';
import { FIELD_TEXT, paramHover, resourceHover, sideloadHover } from './queryDocs';
import { containingFolder, outputLeavesThrough } from './queryLoading';

export const DIAGNOSTIC_SOURCE = 'zendesk';

export function isSavedQueryUri(uri: string): boolean {
  return uri.toLowerCase().endsWith(SAVED_QUERY_SUFFIX);
}

export interface QueryContext {
  /** undefined: the client never sent a connection list, so names can't be checked. */
  connections: ConnectionRef[] | undefined;
  /** Absolute paths of the workspace folders. */
  workspaceFolders: string[];
  nowSeconds: number;
}

interface Parsed {
  root: JsonNode | undefined;
  value: unknown;
}

/**
 * For hover and completion while a person types: tolerant of a missing comma, so help keeps coming,
 * but never over text the loader would refuse unread (a recursive parser would overflow on it).
 * Whether a query is valid is decided by the engine's loader alone (computeDiagnostics).
 */
function parseWhileTyping(text: string): Parsed {
  if (!withinQueryBounds(text)) return { root: undefined, value: undefined };
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  return { root, value: root ? getNodeValue(root) : undefined };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fsPathOf(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}

/** 'params.include[0]', 'params/include/0', '/params/include/0', '' → ['params', 'include', 0]. */
export function problemPathToJsonPath(p: string): JSONPath {
  const trimmed = p.replace(/^[$#]?\/?/, '').replace(/^\$\.?/, '');
  if (!trimmed) return [];
  const parts = trimmed.includes('/') ? trimmed.split('/') : trimmed.replace(/\[(\d+)\]/g, '.$1').split('.');
  return parts.filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** The node for a path; falls back to the nearest existing ancestor (e.g. the object missing a property). */
function nodeFor(root: JsonNode, jsonPath: JSONPath): JsonNode {
  for (let n = jsonPath.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, jsonPath.slice(0, n));
    if (node) return node;
  }
  return root;
}

function rangeOf(doc: TextDocument, node: JsonNode): Range {
  // An object or array spans many lines; point at its first character instead of the whole block.
  const length = node.type === 'object' || node.type === 'array' ? 1 : node.length;
  return Range.create(doc.positionAt(node.offset), doc.positionAt(node.offset + length));
}

/** The endpoint form a query's resource/pagination/sample pick, or undefined if they don't fit. */
function endpointFor(query: Record<string, unknown>): EndpointForm | undefined {
  const resource = query.resource as ResourceName;
  if (!RESOURCES.includes(resource)) return undefined;
  const pagination = query.pagination === 'cursor' || query.pagination === 'time' ? query.pagination : undefined;
  const params = isObject(query.params) ? query.params : {};
  const sample = params.sample === true && hasSample(resource);
  try {
    return resolveEndpoint(resource, pagination && paginationChoices(resource).includes(pagination) ? pagination : undefined, sample);
  } catch {
    return undefined;
  }
}

export function computeDiagnostics(doc: TextDocument, ctx: QueryContext): Diagnostic[] {
  let parsed: ParsedQueryText;
  try {
    parsed = parseQueryText(doc.getText(), fsPathOf(doc.uri) ?? doc.uri);
  } catch (err) {
    // What a run would say about the text (syntax, size, depth), where the loader stopped.
    const e = err instanceof ExportError ? err : new ExportError('invalidQuery', String(err));
    const at = doc.positionAt(Number(e.details) || 0);
    return [{ range: Range.create(at, at), severity: DiagnosticSeverity.Error, message: e.message, source: DIAGNOSTIC_SOURCE }];
  }
  const { root, value } = parsed;
  const out: Diagnostic[] = [];
  const add = (jsonPath: JSONPath, severity: DiagnosticSeverity, message: string) => {
    out.push({ range: rangeOf(doc, nodeFor(root, jsonPath)), severity, message, source: DIAGNOSTIC_SOURCE });
  };

  if (isObject(value)) semanticChecks(value, doc, ctx, add);

  // engine-io's validation: loud where it checks what a schema can't (catalogue facts), quiet
  // (Information) where it repeats the schema (types, enums, required keys), never twice on a node.
  let problems: { path: string; segments?: JSONPath; message: string }[] = [];
  try {
    problems = validateSavedQuery(value).problems;
  } catch (err) {
    problems = [{ path: '', message: (err as Error).message }];
  }
  for (const p of problems) {
    const segments = p.segments ?? problemPathToJsonPath(p.path);
    const range = rangeOf(doc, nodeFor(root, segments));
    const duplicate = out.some((d) => d.range.start.line === range.start.line && d.range.start.character === range.start.character);
    if (!duplicate) out.push({ range, severity: severityOf(segments, value), message: p.message, source: DIAGNOSTIC_SOURCE });
  }
  return out;
}

/**
 * A problem on a value of the right JSON type is one the schema can't see (a sideload the resource
 * lacks, pagination the resource doesn't offer, a flag it ignores): an Error or Warning.
 * Anything else is a type/shape problem the schema already reports: Information.
 */
function severityOf(segments: JSONPath, value: unknown): DiagnosticSeverity {
  let v: unknown = value;
  for (const s of segments) v = isObject(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[s] : undefined;
  const key = segments.join('.');
  if (/^params\.include\.\d+$/.test(key)) return typeof v === 'string' ? DiagnosticSeverity.Error : DiagnosticSeverity.Information;
  switch (key) {
    case 'params.include': return Array.isArray(v) ? DiagnosticSeverity.Error : DiagnosticSeverity.Information;
    case 'pagination': return v === 'cursor' || v === 'time' ? DiagnosticSeverity.Error : DiagnosticSeverity.Information;
    case 'params.sample': return typeof v === 'boolean' ? DiagnosticSeverity.Error : DiagnosticSeverity.Information;
    case 'params.perPage': return Number.isInteger(v) && (v as number) >= 1 ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
    case 'params.excludeDeleted':
    case 'params.includeChanges': return typeof v === 'boolean' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
    case 'params.supportTypeScope': return v === 'all' || v === 'agent' || v === 'ai_agent' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
    case 'startTime': return DiagnosticSeverity.Error;
    default: return DiagnosticSeverity.Information;
  }
}

/** What neither the schema nor validateSavedQuery can know: the clock, the configured connections, the workspace. */
function semanticChecks(
  q: Record<string, unknown>,
  doc: TextDocument,
  ctx: QueryContext,
  add: (p: JSONPath, s: DiagnosticSeverity, m: string) => void,
): void {
  const form = endpointFor(q);
  if (q.startTime !== undefined) {
    if (form?.model === 'routing') {
      add(['startTime'], DiagnosticSeverity.Information, 'Routing exports ignore startTime: the first run always returns the full history.');
    } else if (typeof q.startTime === 'string' || typeof q.startTime === 'number') {
      startTimeCheck(q.startTime, ctx.nowSeconds, add);
    }
  }

  // Under a fixed budget of requests, records per request is the export's speed: say what a choice costs.
  if (form) {
    const perPage = isObject(q.params) && Number.isInteger(q.params.perPage) ? (q.params.perPage as number) : undefined;
    const cost = requestCostNote(form, perPage);
    if (cost) add(cost.onPerPage ? ['params', 'perPage'] : ['pagination'], DiagnosticSeverity.Warning, cost.text);
  }

  if (typeof q.connection === 'string' && q.connection.trim() && ctx.connections) {
    const names = ctx.connections.map((c) => c.name);
    if (!names.includes(q.connection)) {
      add(['connection'], DiagnosticSeverity.Warning, names.length
        ? `There is no connection named "${q.connection}"; configured connections: ${names.join(', ')}.`
        : `There is no connection named "${q.connection}"; no connections are configured yet (Zendesk: Add Connection…).`);
    }
  }

  const out = isObject(q.output) ? q.output : undefined;
  const docPath = fsPathOf(doc.uri);
  if (out && typeof out.path === 'string' && out.path.trim() && docPath) {
    const abs = path.resolve(path.dirname(docPath), out.path);
    const folder = containingFolder(docPath, ctx.workspaceFolders) ?? path.dirname(docPath);
    const link = isInside(abs, folder) ? outputLeavesThrough(abs, folder) : undefined;
    if (!isInside(abs, folder)) {
      add(['output', 'path'], DiagnosticSeverity.Error,
        `The output ${out.path} resolves to ${abs}, outside the workspace folder ${folder}; outputs and their checkpoints stay in the workspace, so this query won't run.`);
    } else if (link) {
      add(['output', 'path'], DiagnosticSeverity.Error,
        `The output ${out.path} leads outside the workspace folder ${folder} (through a symbolic link, to ${link}); outputs and their checkpoints stay in the workspace, so this query won't run.`);
    }
  }
}

function startTimeCheck(input: string | number, now: number, add: (p: JSONPath, s: DiagnosticSeverity, m: string) => void): void {
  try {
    parseStartTime(input, now);
    const unclamped = toUnixSeconds(input, now);
    if (unclamped > Math.floor(now) - MIN_START_AGE_SECONDS) {
      add(['startTime'], DiagnosticSeverity.Warning,
        `The start time is less than ${MIN_START_AGE_SECONDS} seconds ago; it will be clamped to now − ${MIN_START_AGE_SECONDS} s because Zendesk never returns the most recent minute.`);
    }
  } catch (err) {
    if (err instanceof ExportError) add(['startTime'], DiagnosticSeverity.Error, err.message);
    else throw err;
  }
}


// ---------------------------------------------------------------------------------------------

export function computeHover(doc: TextDocument, offset: number, ctx: QueryContext): Hover | null {
  const text = doc.getText();
  const { root, value } = parseWhileTyping(text);
  if (!root || !isObject(value)) return null;
  const loc = getLocation(text, offset);
  const p = loc.path;
  const node = findNodeAtOffset(root, offset);
  const range = node && node.type !== 'object' && node.type !== 'array' ? rangeOf(doc, node) : undefined;
  const md = hoverText(p, value, doc, ctx);
  return md ? { contents: { kind: MarkupKind.Markdown, value: md }, range } : null;
}

function hoverText(p: JSONPath, q: Record<string, unknown>, doc: TextDocument, ctx: QueryContext): string | undefined {
  const resource = RESOURCES.includes(q.resource as ResourceName) ? (q.resource as ResourceName) : undefined;
  const params = isObject(q.params) ? q.params : {};
  const [first, second, third] = p;
  if (first === 'resource') return resource ? resourceHover(resource) : FIELD_TEXT.resource;
  if (first === 'params' && typeof second === 'string') {
    if (second === 'include' && typeof third === 'number' && resource && Array.isArray(params.include)) {
      const inc = (params.include as unknown[])[third];
      if (typeof inc === 'string') return sideloadHover(resource, inc);
    }
    return paramHover(second);
  }
  if (first === 'params') return FIELD_TEXT.params;
  if (first === 'startTime') {
    if (typeof q.startTime !== 'string' && typeof q.startTime !== 'number') return FIELD_TEXT.startTime;
    try {
      const resolved = parseStartTime(q.startTime, ctx.nowSeconds);
      return `${FIELD_TEXT.startTime}\n\nA first run now would start at **${formatUnix(resolved)}** (\`${resolved}\`).`;
    } catch (err) {
      return `${FIELD_TEXT.startTime}\n\n${(err as Error).message}`;
    }
  }
  if (first === 'connection') {
    const ref = typeof q.connection === 'string' ? ctx.connections?.find((c) => c.name === q.connection) : undefined;
    if (!ref) return FIELD_TEXT.connection;
    const who = ref.auth === 'oauth' ? 'OAuth' : `API token${ref.email ? ` of ${ref.email}` : ''}`;
    return `${FIELD_TEXT.connection}\n\n\`${ref.name}\`: ${ref.baseUrl || '(no URL)'}, ${who}.`;
  }
  if (first === 'output') {
    if (second === 'path') {
      const docPath = fsPathOf(doc.uri);
      const out = isObject(q.output) ? q.output : {};
      return docPath && typeof out.path === 'string'
        ? `${FIELD_TEXT.path}\n\nResolves to \`${path.resolve(path.dirname(docPath), out.path)}\`.`
        : FIELD_TEXT.path;
    }
    if (second === 'format') return FIELD_TEXT.format;
    return FIELD_TEXT.output;
  }
  return typeof first === 'string' ? FIELD_TEXT[first] : undefined;
}

// ---------------------------------------------------------------------------------------------

/** Connection names for "connection", sideloads of the resource for "params.include"; the rest is the schema's. */
export function computeCompletion(doc: TextDocument, offset: number, ctx: QueryContext): CompletionItem[] {
  const text = doc.getText();
  const loc = getLocation(text, offset);
  if (loc.isAtPropertyKey) return [];
  const { value } = parseWhileTyping(text);
  const q = isObject(value) ? value : {};
  let candidates: { label: string; detail?: string }[] = [];
  if (loc.path.length === 1 && loc.path[0] === 'connection') {
    candidates = (ctx.connections ?? []).map((c) => ({ label: c.name, detail: `${c.baseUrl}${c.auth === 'oauth' ? ' (OAuth)' : ''}` }));
  } else if (loc.path.length === 3 && loc.path[0] === 'params' && loc.path[1] === 'include' && typeof loc.path[2] === 'number') {
    const form = endpointFor(q);
    candidates = (form?.includes ?? []).map((i) => ({ label: i, detail: `sideload of ${form?.resource}` }));
  } else {
    return [];
  }
  // Inside a string literal, replace the whole literal so the quotes stay balanced.
  const prev = loc.previousNode;
  const replace = prev && prev.type === 'string' && offset >= prev.offset && offset <= prev.offset + prev.length
    ? Range.create(doc.positionAt(prev.offset), doc.positionAt(prev.offset + prev.length))
    : Range.create(doc.positionAt(offset), doc.positionAt(offset));
  return candidates.map((c) => ({
    label: c.label,
    kind: CompletionItemKind.Value,
    detail: c.detail,
    filterText: JSON.stringify(c.label),
    textEdit: TextEdit.replace(replace, JSON.stringify(c.label)),
  }));
}

// ---------------------------------------------------------------------------------------------

/** Run / Resume / Open results; none for a query the loader refuses (its diagnostic says why). */
export function codeLensesFor(uri: string, info: CheckpointInfoResult): CodeLens[] {
  if (!info.queryValid) return [];
  const range = Range.create(0, 0, 0, 0);
  const lenses: CodeLens[] = [
    { range, command: { title: info.running ? '▶ Run (running now)' : '▶ Run', command: CodeLensCommands.run, arguments: [uri] } },
  ];
  if (info.exists && info.matchesQuery) {
    const when = info.lastRecordTime !== null ? `, last cursor time ${formatUnix(info.lastRecordTime)}` : '';
    const caught = info.caughtUp ? ', caught up' : '';
    lenses.push({
      range,
      command: { title: `⟳ Resume (${info.records} records${when}${caught})`, command: CodeLensCommands.resume, arguments: [uri] },
    });
  }
  if (info.outputExists) {
    lenses.push({ range, command: { title: 'Open results', command: CodeLensCommands.openResults, arguments: [uri] } });
  }
  return lenses;
}
