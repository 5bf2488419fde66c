// Validates HTTP responses against the project's OpenAPI document (spec/zendesk-incremental.yaml),
// so tests of the simulator and the engine can assert "this body is what Zendesk would send".
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const SPEC_FILE = path.resolve(__dirname, '../../spec/zendesk-incremental.yaml');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface OperationInfo {
  /** The key in the document's `paths`, e.g. `/api/v2/incremental/tickets/cursor`. */
  pathKey: string;
  method: 'get';
  operationId: string;
  operation: JsonObject;
}

const DOC_ID = 'https://zdx.invalid/zendesk-incremental.json';

let cachedDoc: JsonObject | undefined;
let cachedAjv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The project's document, parsed once. Treat it as read-only. */
export function loadSpec(): JsonObject {
  cachedDoc ??= parse(fs.readFileSync(SPEC_FILE, 'utf8')) as JsonObject;
  return cachedDoc;
}

/**
 * Rewrites OpenAPI 3.0 `nullable: true` as JSON Schema: `type: [t, 'null']` (and `null` added to
 * `enum`), or `anyOf: [{type: 'null'}, …]` when there is no single type. Ajv's own `nullable`
 * support ignores `enum`, so `priority: null` would fail against `enum: [urgent, …]`.
 */
export function toJsonSchema<T>(node: T): T {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n)) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = toJsonSchema(v);
  if (out.nullable !== true) {
    if (out.nullable === false) delete out.nullable;
    return out as T;
  }
  delete out.nullable;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out as T;
  }
  const constrained = ['$ref', 'oneOf', 'anyOf', 'allOf', 'enum', 'not', 'type'].some((k) => k in out);
  if (!constrained) return out as T; // no type at all: null is already allowed
  const { description, ...rest } = out;
  return { ...(description === undefined ? {} : { description }), anyOf: [{ type: 'null' }, rest] } as T;
}

function ajv(): Ajv {
  if (cachedAjv) return cachedAjv;
  // strict: false because OpenAPI keywords such as `example` are not JSON Schema keywords.
  const instance = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(instance);
  instance.addSchema({ ...toJsonSchema(loadSpec()), $id: DOC_ID });
  cachedAjv = instance;
  return instance;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Resolves a local `#/a/b` reference inside the project's document. */
export function resolvePointer(doc: JsonObject, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let cur: Json | undefined = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !(key in cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * Reduces a request path or URL to the form used as a key in `paths`: drops scheme, host,
 * query and fragment, a trailing slash and the optional `.json` suffix.
 */
export function normalizePath(input: string): string {
  let p = input.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(p);
  if (scheme) p = p.slice(scheme[0].length);
  p = p.replace(/[?#].*$/, '');
  if (p.length > 1) p = p.replace(/\/+$/, '');
  p = p.replace(/\.json$/, '');
  return p || '/';
}

/**
 * The GET operation for a path or URL (with or without `.json` and query string).
 * Concrete paths win; templated keys (`{name}`) are matched segment by segment.
 */
export function operationFor(input: string): OperationInfo | undefined {
  const doc = loadSpec();
  const paths = doc.paths as Record<string, JsonObject>;
  const wanted = normalizePath(input);
  let key: string | undefined = wanted in paths ? wanted : undefined;
  if (!key) {
    const segments = wanted.split('/');
    key = Object.keys(paths).find((k) => {
      const parts = k.split('/');
      return parts.length === segments.length && parts.every((part, i) => /^\{[^}]+\}$/.test(part) || part === segments[i]);
    });
  }
  if (!key) return undefined;
  const operation = paths[key].get as JsonObject | undefined;
  if (!operation) return undefined;
  return { pathKey: key, method: 'get', operationId: String(operation.operationId), operation };
}

function formatError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(body)' : e.instancePath;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${where} has unexpected property '${String(params.additionalProperty)}'`;
  if (e.keyword === 'enum') return `${where} must be one of ${JSON.stringify(params.allowedValues)}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * Validates a response body against the document. Returns human-readable problems; an empty
 * array means valid.
 *
 * @param requestPath the request path or URL, e.g. `/api/v2/incremental/tickets.json?start_time=0`
 * @param status the HTTP status
 * @param body the parsed JSON body (or the raw string for text/* responses)
 * @param contentType the response's Content-Type; parameters such as `charset` are ignored. Default application/json.
 */
export function validateResponse(requestPath: string, status: number, body: unknown, contentType = 'application/json'): string[] {
  const doc = loadSpec();
  const op = operationFor(requestPath);
  if (!op) return [`no operation in the document for ${normalizePath(requestPath)}`];
  const where = `GET ${op.pathKey} ${status}`;
  const responses = op.operation.responses as Record<string, JsonObject>;
  const statusKey = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
  if (!statusKey) return [`${where}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];

  let responsePointer = `#/paths/${escapePointer(op.pathKey)}/get/responses/${statusKey}`;
  let response = responses[statusKey];
  const ref = response.$ref;
  if (typeof ref === 'string') {
    const target = resolvePointer(doc, ref);
    if (!target || typeof target !== 'object' || Array.isArray(target)) return [`${where}: unresolvable ${ref}`];
    response = target;
    responsePointer = ref;
  }

  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  const content = response.content as Record<string, JsonObject> | undefined;
  if (!content) {
    const empty = body === undefined || body === null || body === '';
    return empty ? [] : [`${where}: the document declares no body, got one`];
  }
  if (!(mediaType in content)) {
    return [`${where}: content type ${mediaType} is not documented (documented: ${Object.keys(content).join(', ')})`];
  }
  if (mediaType.startsWith('text/') && typeof body !== 'string') return [`${where}: ${mediaType} body must be a string`];

  const schemaRef = `${DOC_ID}${responsePointer}/content/${escapePointer(mediaType)}/schema`;
  let validate = validators.get(schemaRef);
  if (!validate) {
    validate = ajv().compile({ $ref: schemaRef });
    validators.set(schemaRef, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${where}: ${formatError(e)}`);
}
