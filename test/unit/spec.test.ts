// The project's OpenAPI document: its shape, every difference from Zendesk's official document
// (each one deliberate and listed below), and the validator other tests rely on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { ENDPOINTS } from '../../src/engine/zendesk';
import {
  loadSpec,
  normalizePath,
  operationFor,
  resolvePointer,
  toJsonSchema,
  validateResponse,
  type JsonObject,
} from '../support/openapi';
import { readRecordings } from '../support/recordings';
import { SHARED_ZENDESK_DIR } from '../support/shared';

const REPO_ROOT = path.resolve(__dirname, '../..');
const OFFICIAL_FILE = path.join(SHARED_ZENDESK_DIR, 'official-incremental-oas.yaml');
const README_FILE = path.join(REPO_ROOT, 'spec', 'README.md');

const OFFICIAL_SAMPLE = '/api/v2/incremental/{incremental_resource}/sample';
const SAMPLE_PATHS = ['tickets', 'ticket_events', 'users', 'organizations'].map((r) => `/api/v2/incremental/${r}/sample`);
const USERS_ME = '/api/v2/users/me';
const FIELD_LISTS = ['ticket_fields', 'user_fields', 'organization_fields'].map((r) => `/api/v2/${r}`);

const TICKETS = '/api/v2/incremental/tickets';
const TICKETS_CURSOR = '/api/v2/incremental/tickets/cursor';
const USERS = '/api/v2/incremental/users';
const USERS_CURSOR = '/api/v2/incremental/users/cursor';
const ORGS = '/api/v2/incremental/organizations';
const TICKET_EVENTS = '/api/v2/incremental/ticket_events';
const METRIC_EVENTS = '/api/v2/incremental/ticket_metric_events';
const ROUTING = ['attributes', 'attribute_values', 'instance_values'].map((r) => `/api/v2/incremental/routing/${r}`);
const [TICKETS_SAMPLE, EVENTS_SAMPLE, USERS_SAMPLE, ORGS_SAMPLE] = SAMPLE_PATHS;
const INCREMENTAL = [TICKETS, TICKETS_CURSOR, USERS, USERS_CURSOR, ORGS, TICKET_EVENTS, METRIC_EVENTS, ...ROUTING, ...SAMPLE_PATHS];
const ERROR_STATUSES = ['400', '401', '403', '404', '422', '429', '500', '503', '504'];
const TICKET_SIDELOADS = ['users', 'groups', 'organizations', 'brands', 'ticket_forms', 'metric_sets', 'metric_events', 'sharing_agreements'];
const USER_SIDELOADS = ['identities', 'groups', 'organizations', 'roles', 'abilities', 'open_ticket_count'];

type Kind =
  | 'path-added' // a path the official document does not have
  | 'path-concretised' // an official templated path written as concrete paths (subject: the official key)
  | 'operation-id' // a different operationId (subject: ours)
  | 'param-added' // subject: name
  | 'param-removed' // subject: name
  | 'param-required' // required-ness differs (subject: name)
  | 'param-schema' // the parameter's schema differs (subject: name)
  | 'responses-added' // subject: status
  | 'response-200-schema' // the 200 body schema differs (subject: '200')
  | 'envelope-key-added' // a top-level body key the official 200 schema lacks (subject: key)
  | 'envelope-key-removed' // subject: key
  | 'security-added'; // path '(document)', subject: scheme name

interface Difference {
  id: string;
  kind: Kind;
  /** Every (path, subject) pair is claimed: the test fails if any pair is not actually different. */
  paths: string[];
  subjects: string[];
  why: string;
}

/** Every way our document differs from Zendesk's official one. spec/README.md lists the same ids. */
const DELIBERATE_DIFFERENCES: Difference[] = [
  { id: 'D1', kind: 'path-concretised', paths: SAMPLE_PATHS, subjects: [OFFICIAL_SAMPLE], why: 'The sample wrapper key follows the resource (erratum 2); concrete paths give typed clients one response type per resource.' },
  { id: 'D2', kind: 'param-removed', paths: SAMPLE_PATHS, subjects: ['incremental_resource'], why: 'The path parameter became part of each concrete sample path.' },
  { id: 'D3', kind: 'operation-id', paths: SAMPLE_PATHS, subjects: ['IncrementalSampleExport'], why: 'One operation per concrete sample path: IncrementalSampleExport{Tickets,TicketEvents,Users,Organizations}.' },
  { id: 'D4', kind: 'path-added', paths: [USERS_ME], subjects: [''], why: 'Used by "test connection" and to detect non-admin accounts before an export.' },
  { id: 'D5', kind: 'param-added', paths: [TICKETS, TICKETS_CURSOR, TICKET_EVENTS], subjects: ['per_page'], why: 'The prose documents per_page for tickets (both) and ticket events; the spec omits it (erratum 3).' },
  { id: 'D6', kind: 'param-schema', paths: [USERS, USERS_CURSOR, ORGS], subjects: ['per_page'], why: 'per_page gets minimum 1, maximum 1000, default 1000 from the prose (erratum 3).' },
  { id: 'D7', kind: 'param-added', paths: SAMPLE_PATHS, subjects: ['per_page'], why: 'The sample export returns at most 50; per_page is bounded to 1..50.' },
  { id: 'D8', kind: 'param-added', paths: [TICKETS, TICKETS_CURSOR, USERS, USERS_CURSOR, ORGS, ...SAMPLE_PATHS], subjects: ['include'], why: 'Sideloads are documented in prose for tickets, users, organizations and the sample export (erratum 4).' },
  { id: 'D9', kind: 'param-added', paths: [TICKETS, TICKETS_CURSOR], subjects: ['exclude_deleted'], why: 'Documented in prose for the ticket exports (erratum 4).' },
  { id: 'D10', kind: 'param-schema', paths: [TICKETS, TICKETS_CURSOR, TICKET_EVENTS], subjects: ['support_type_scope'], why: 'The description names the values: enum all|agent|ai_agent, default agent.' },
  { id: 'D11', kind: 'param-added', paths: ROUTING, subjects: ['cursor'], why: 'The routing cursor appears only in the description tables (erratum 5).' },
  { id: 'D12', kind: 'param-added', paths: [METRIC_EVENTS], subjects: ['page[size]', 'page[after]'], why: 'Cursor pagination of ticket metric events (max 100 per page) is documented in prose only (erratum 7).' },
  { id: 'D13', kind: 'responses-added', paths: INCREMENTAL, subjects: ERROR_STATUSES, why: 'The official document declares only 200; both error body families, plain-text 429 and empty text/html 403/5xx are real.' },
  { id: 'D14', kind: 'security-added', paths: ['(document)'], subjects: ['bearerAuth'], why: 'OAuth bearer tokens are real and become the only way in when API tokens retire on 2027-04-30 (erratum 8).' },
  { id: 'D15', kind: 'response-200-schema', paths: [TICKETS, TICKETS_CURSOR, TICKETS_SAMPLE], subjects: ['200'], why: 'Ticket: int64 ids; nullable fields as sent on the wire; status "deleted"; custom field values of any type; write-only fields dropped; closed envelope with ticket sideloads; end_of_stream and next_page required.' },
  { id: 'D16', kind: 'response-200-schema', paths: [USERS, USERS_CURSOR, USERS_SAMPLE], subjects: ['200'], why: 'User: one schema instead of anyOf(admin, end-user); int64 ids; nullable fields as sent on the wire; date-time formats fixed ("datetime" is not a format); closed envelope with user sideloads.' },
  { id: 'D17', kind: 'response-200-schema', paths: [ORGS, ORGS_SAMPLE], subjects: ['200'], why: 'Organization: int64 ids, organization_fields values of any type; closed envelope.' },
  { id: 'D18', kind: 'response-200-schema', paths: [TICKET_EVENTS, EVENTS_SAMPLE], subjects: ['200'], why: 'A real TicketEvent (id, ticket_id, timestamp, created_at, updater_id, via, system, metadata, event_type, merged_ticket_ids, child_events with Comment children) instead of a metric event (erratum 1); the ticket_events sample wraps ticket_events (erratum 2).' },
  { id: 'D19', kind: 'response-200-schema', paths: [METRIC_EVENTS], subjects: ['200'], why: 'oneOf the time-based envelope (with end_of_stream) and the cursor envelope (meta, links) (erratum 7); int64 ids.' },
  { id: 'D20', kind: 'response-200-schema', paths: ROUTING, subjects: ['200'], why: 'One closed envelope per routing resource instead of one schema with all three arrays optional; nullable next_page/end_time; type enums.' },
  { id: 'D21', kind: 'envelope-key-added', paths: [TICKETS, TICKETS_CURSOR, TICKETS_SAMPLE], subjects: TICKET_SIDELOADS, why: 'Top-level ticket sideloads requested with include.' },
  { id: 'D22', kind: 'envelope-key-added', paths: [USERS, USERS_CURSOR], subjects: USER_SIDELOADS, why: 'Top-level user sideloads requested with include.' },
  { id: 'D23', kind: 'envelope-key-added', paths: [ORGS, ORGS_SAMPLE], subjects: ['abilities'], why: 'Top-level organization sideload requested with include.' },
  { id: 'D24', kind: 'envelope-key-added', paths: [METRIC_EVENTS], subjects: ['end_of_stream', 'meta', 'links'], why: 'The time-based envelope ends with end_of_stream; the page[size] envelope carries meta and links (erratum 7).' },
  { id: 'D25', kind: 'envelope-key-added', paths: [EVENTS_SAMPLE], subjects: ['ticket_events'], why: 'The ticket_events sample wraps ticket_events (erratum 2).' },
  { id: 'D26', kind: 'envelope-key-removed', paths: [EVENTS_SAMPLE, USERS_SAMPLE, ORGS_SAMPLE], subjects: ['tickets'], why: 'Only the tickets sample wraps tickets (erratum 2).' },
  { id: 'D27', kind: 'envelope-key-added', paths: [USERS_SAMPLE], subjects: ['users', ...USER_SIDELOADS], why: 'The users sample wraps users (erratum 2) and carries user sideloads.' },
  { id: 'D28', kind: 'envelope-key-added', paths: [ORGS_SAMPLE], subjects: ['organizations'], why: 'The organizations sample wraps organizations (erratum 2).' },
  { id: 'D29', kind: 'envelope-key-removed', paths: [ROUTING[0]], subjects: ['attribute_values', 'instance_values'], why: 'Each routing envelope holds only its own array.' },
  { id: 'D30', kind: 'envelope-key-removed', paths: [ROUTING[1]], subjects: ['attributes', 'instance_values'], why: 'Each routing envelope holds only its own array.' },
  { id: 'D31', kind: 'envelope-key-removed', paths: [ROUTING[2]], subjects: ['attributes', 'attribute_values'], why: 'Each routing envelope holds only its own array.' },
  { id: 'D32', kind: 'path-added', paths: FIELD_LISTS, subjects: [''], why: 'Field definitions name the custom fields records carry (ticket custom_fields by id, user_fields / organization_fields by key); the envelopes add the offset keys the wire carries.' },
];

// ---------- helpers over plain parsed YAML ----------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function deref(doc: Obj, node: unknown): unknown {
  let cur = node;
  for (let hops = 0; isObj(cur) && typeof cur.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`reference loop at ${cur.$ref}`);
    cur = resolvePointer(doc as JsonObject, cur.$ref);
  }
  return cur;
}

/** A schema with every $ref inlined and documentation-only keywords dropped, for comparison. */
function normalizeSchema(doc: Obj, node: unknown, depth = 0): unknown {
  if (depth > 40) throw new Error('schema nesting too deep (recursive $ref?)');
  const resolved = deref(doc, node);
  if (Array.isArray(resolved)) return resolved.map((n) => normalizeSchema(doc, n, depth + 1));
  if (!isObj(resolved)) return resolved;
  const out: Obj = {};
  for (const key of Object.keys(resolved).sort()) {
    if (['description', 'example', 'examples', 'title', 'readOnly', 'writeOnly', 'externalDocs'].includes(key)) continue;
    out[key] = normalizeSchema(doc, resolved[key], depth + 1);
  }
  return out;
}

/** Top-level property names of a body schema, across oneOf/anyOf/allOf branches. */
function envelopeKeys(doc: Obj, schema: unknown): Set<string> {
  const s = deref(doc, schema);
  const keys = new Set<string>();
  if (!isObj(s)) return keys;
  if (isObj(s.properties)) Object.keys(s.properties).forEach((k) => keys.add(k));
  for (const combiner of ['oneOf', 'anyOf', 'allOf']) {
    const branches = s[combiner];
    if (Array.isArray(branches)) branches.forEach((b) => envelopeKeys(doc, b).forEach((k) => keys.add(k)));
  }
  return keys;
}

interface Param { name: string; in: string; required: boolean; schema: unknown }

/** Path-level and operation-level parameters merged (the operation wins on name + in). */
function effectiveParams(doc: Obj, pathItem: Obj): Map<string, Param> {
  const out = new Map<string, Param>();
  const op = pathItem.get as Obj;
  for (const list of [pathItem.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const p = deref(doc, raw) as Obj;
      out.set(`${String(p.in)}:${String(p.name)}`, { name: String(p.name), in: String(p.in), required: p.required === true, schema: normalizeSchema(doc, p.schema) });
    }
  }
  return out;
}

function body200Schema(doc: Obj, pathItem: Obj): unknown {
  const op = pathItem.get as Obj;
  const resp = deref(doc, (op.responses as Obj)['200']) as Obj;
  return ((resp.content as Obj)['application/json'] as Obj).schema;
}

function walk(node: unknown, visit: (n: Obj, at: string) => void, at = '#'): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${at}/${i}`));
  else if (isObj(node)) {
    visit(node, at);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

const stable = (v: unknown) => JSON.stringify(v);

interface Detected { kind: Kind; path: string; subject: string }

/** Every difference between the official document and ours, as atomic (kind, path, subject) facts. */
function detectDifferences(official: Obj, ours: Obj): { diffs: Detected[]; violations: string[] } {
  const diffs: Detected[] = [];
  const violations: string[] = [];
  const officialPaths = official.paths as Record<string, Obj>;
  const ourPaths = ours.paths as Record<string, Obj>;
  const counterpart = (p: string) => (SAMPLE_PATHS.includes(p) ? OFFICIAL_SAMPLE : p);

  const mapped = new Set<string>();
  for (const [ourPath, ourItem] of Object.entries(ourPaths)) {
    const officialPath = counterpart(ourPath);
    const officialItem = officialPaths[officialPath];
    if (!officialItem) {
      diffs.push({ kind: 'path-added', path: ourPath, subject: '' });
      continue;
    }
    mapped.add(officialPath);
    if (officialPath !== ourPath) diffs.push({ kind: 'path-concretised', path: ourPath, subject: officialPath });

    const officialOp = officialItem.get as Obj;
    const ourOp = ourItem.get as Obj;
    if (officialOp.operationId !== ourOp.operationId) diffs.push({ kind: 'operation-id', path: ourPath, subject: String(officialOp.operationId) });

    const officialParams = effectiveParams(official, officialItem);
    const ourParams = effectiveParams(ours, ourItem);
    const ourByName = new Map([...ourParams.values()].map((p) => [p.name, p]));
    for (const [key, op] of officialParams) {
      const mine = ourParams.get(key);
      if (!mine) {
        const sameName = ourByName.get(op.name);
        if (sameName) violations.push(`${ourPath}: parameter ${op.name} is in ${sameName.in}, the official document says ${op.in}`);
        else diffs.push({ kind: 'param-removed', path: ourPath, subject: op.name });
        continue;
      }
      if (mine.required !== op.required) diffs.push({ kind: 'param-required', path: ourPath, subject: op.name });
      if (stable(mine.schema) !== stable(op.schema)) diffs.push({ kind: 'param-schema', path: ourPath, subject: op.name });
    }
    for (const [key, mine] of ourParams) if (!officialParams.has(key)) diffs.push({ kind: 'param-added', path: ourPath, subject: mine.name });

    const officialStatuses = Object.keys(officialOp.responses as Obj);
    for (const status of Object.keys(ourOp.responses as Obj)) {
      if (!officialStatuses.includes(status)) diffs.push({ kind: 'responses-added', path: ourPath, subject: status });
    }
    for (const status of officialStatuses) {
      if (!(status in (ourOp.responses as Obj))) violations.push(`${ourPath}: the official response ${status} is missing`);
    }

    const officialBody = body200Schema(official, officialItem);
    const ourBody = body200Schema(ours, ourItem);
    if (stable(normalizeSchema(official, officialBody)) !== stable(normalizeSchema(ours, ourBody))) {
      diffs.push({ kind: 'response-200-schema', path: ourPath, subject: '200' });
    }
    const officialKeys = envelopeKeys(official, officialBody);
    const ourKeys = envelopeKeys(ours, ourBody);
    for (const k of ourKeys) if (!officialKeys.has(k)) diffs.push({ kind: 'envelope-key-added', path: ourPath, subject: k });
    for (const k of officialKeys) if (!ourKeys.has(k)) diffs.push({ kind: 'envelope-key-removed', path: ourPath, subject: k });
  }
  for (const p of Object.keys(officialPaths)) if (!mapped.has(p)) violations.push(`official path ${p} has no counterpart`);

  const officialSchemes = Object.keys(((official.components as Obj).securitySchemes as Obj) ?? {});
  for (const scheme of Object.keys((ours.components as Obj).securitySchemes as Obj)) {
    if (!officialSchemes.includes(scheme)) diffs.push({ kind: 'security-added', path: '(document)', subject: scheme });
  }
  return { diffs, violations };
}

// ---------- tests ----------

describe('spec: the project OpenAPI document', () => {
  const ours = loadSpec() as Obj;
  const official = parse(fs.readFileSync(OFFICIAL_FILE, 'utf8')) as Obj;
  const ourPaths = ours.paths as Record<string, Obj>;

  describe('(a) shape', () => {
    it('has the OpenAPI 3.0 top-level keys', () => {
      assert.equal(ours.openapi, '3.0.3');
      const info = ours.info as Obj;
      assert.equal(typeof info.title, 'string');
      assert.equal(typeof info.version, 'string');
      assert.ok(Array.isArray(ours.servers) && ours.servers.length > 0);
      assert.ok(isObj(ours.paths) && Object.keys(ours.paths).length > 0);
      for (const k of ['schemas', 'parameters', 'responses', 'securitySchemes']) assert.ok(isObj((ours.components as Obj)[k]), `components.${k}`);
      const known = ['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags', 'externalDocs'];
      assert.deepEqual(Object.keys(ours).filter((k) => !known.includes(k) && !k.startsWith('x-')), []);
    });

    it('resolves every $ref inside the document', () => {
      const broken: string[] = [];
      let count = 0;
      walk(ours, (n, at) => {
        if (typeof n.$ref !== 'string') return;
        count++;
        if (resolvePointer(ours as JsonObject, n.$ref) === undefined) broken.push(`${at}: ${n.$ref}`);
      });
      assert.ok(count > 50, 'the walk found the references');
      assert.deepEqual(broken, []);
    });

    it('describes the 11 incremental paths (sample as 4 concrete paths) plus users/me and the three field lists, without .json', () => {
      assert.deepEqual(Object.keys(ourPaths).sort(), [...INCREMENTAL, USERS_ME, ...FIELD_LISTS].sort());
      for (const p of Object.keys(ourPaths)) assert.ok(!p.endsWith('.json'), p);
    });

    it('gives every operation a unique operationId, a 200 with a schema, and well-formed parameters', () => {
      const ids = new Set<string>();
      for (const [p, item] of Object.entries(ourPaths)) {
        assert.deepEqual(Object.keys(item), ['get'], `${p} has only GET`);
        const op = item.get as Obj;
        assert.equal(typeof op.operationId, 'string');
        assert.ok(!ids.has(op.operationId as string), `duplicate operationId ${String(op.operationId)}`);
        ids.add(op.operationId as string);
        assert.ok(body200Schema(ours, item), `${p} 200 application/json schema`);
        const seen = new Set<string>();
        for (const raw of (op.parameters as unknown[]) ?? []) {
          const param = deref(ours, raw) as Obj;
          assert.ok(['query', 'path', 'header', 'cookie'].includes(param.in as string), `${p} ${String(param.name)} in`);
          assert.ok(isObj(param.schema), `${p} ${String(param.name)} schema`);
          const key = `${String(param.in)}:${String(param.name)}`;
          assert.ok(!seen.has(key), `${p} declares ${key} twice`);
          seen.add(key);
        }
        for (const [status, raw] of Object.entries(op.responses as Obj)) {
          const resp = deref(ours, raw) as Obj;
          assert.equal(typeof resp.description, 'string', `${p} ${status} description`);
          for (const [mt, media] of Object.entries((resp.content as Obj) ?? {})) assert.ok(isObj((media as Obj).schema), `${p} ${status} ${mt} schema`);
        }
      }
    });

    it('compiles every component schema as JSON Schema', () => {
      const ajv = new Ajv({ strict: false });
      addFormats(ajv);
      const converted = toJsonSchema(ours);
      ajv.addSchema({ ...converted, $id: 'https://zdx.invalid/shape.json' });
      for (const name of Object.keys((ours.components as Obj).schemas as Obj)) {
        assert.doesNotThrow(() => ajv.compile({ $ref: `https://zdx.invalid/shape.json#/components/schemas/${name}` }), name);
      }
    });

    it('declares basic and bearer security as alternatives', () => {
      assert.deepEqual(ours.security, [{ basicAuth: [] }, { bearerAuth: [] }]);
      const schemes = (ours.components as Obj).securitySchemes as Obj;
      assert.deepEqual(schemes.basicAuth, { ...(schemes.basicAuth as Obj), type: 'http', scheme: 'basic' });
      assert.deepEqual(schemes.bearerAuth, { ...(schemes.bearerAuth as Obj), type: 'http', scheme: 'bearer' });
    });

    it('bounds page sizes as the prose says', () => {
      const bounds = (p: string, name: string) => {
        const param = [...effectiveParams(ours, ourPaths[p]).values()].find((x) => x.name === name);
        assert.ok(param, `${p} declares ${name}`);
        const s = param.schema as Obj;
        return [s.minimum, s.maximum, s.default];
      };
      for (const p of [TICKETS, TICKETS_CURSOR, USERS, USERS_CURSOR, ORGS, TICKET_EVENTS]) assert.deepEqual(bounds(p, 'per_page'), [1, 1000, 1000], p);
      for (const p of SAMPLE_PATHS) assert.deepEqual(bounds(p, 'per_page'), [1, 50, 50], p);
      assert.deepEqual(bounds(METRIC_EVENTS, 'page[size]'), [1, 100, undefined]);
      for (const p of ROUTING) assert.ok(![...effectiveParams(ours, ourPaths[p]).values()].some((x) => x.name === 'per_page'), `${p}: per_page does not apply`);
    });

    it('agrees with the endpoint catalogue (paths, wrapper keys, parameters)', () => {
      for (const e of ENDPOINTS) {
        const item = ourPaths[e.path];
        assert.ok(item, `${e.id}: ${e.path} is in the document`);
        const body = deref(ours, body200Schema(ours, item)) as Obj;
        const branches = Array.isArray(body.oneOf) ? body.oneOf.map((b) => deref(ours, b) as Obj) : [body];
        for (const b of branches) {
          assert.ok((b.required as string[]).includes(e.wrapperKey), `${e.id}: wrapper ${e.wrapperKey} required`);
          assert.equal(((b.properties as Obj)[e.wrapperKey] as Obj).type, 'array', `${e.id}: wrapper is an array`);
        }
        const params = new Map([...effectiveParams(ours, item).values()].map((p) => [p.name, p]));
        assert.equal(params.has('include'), e.includes.length > 0, `${e.id}: include`);
        assert.equal(params.has('exclude_deleted'), e.excludeDeleted, `${e.id}: exclude_deleted`);
        assert.equal(params.has('support_type_scope'), e.supportTypeScope, `${e.id}: support_type_scope`);
        assert.equal(params.has('include_changes'), e.includeChanges, `${e.id}: include_changes`);
        const sizeParam = e.model === 'metricCursor' ? params.get('page[size]') : params.get('per_page');
        // Time-based ticket_metric_events takes no per_page (neither the spec nor the prose lists it),
        // so the catalogue's bound for that form is never sent.
        const noPageSize = e.maxPerPage === null || (e.resource === 'ticket_metric_events' && e.model === 'time');
        if (noPageSize) assert.equal(sizeParam, undefined, `${e.id}: no page size`);
        else assert.equal((sizeParam?.schema as Obj | undefined)?.maximum, e.maxPerPage, `${e.id}: page size maximum`);
        if (e.model === 'cursor') assert.ok(params.has('cursor') && params.has('start_time'), `${e.id}: cursor + start_time`);
        if (e.model === 'routing') assert.ok(params.has('cursor'), `${e.id}: cursor`);
        if (e.model === 'metricCursor') assert.ok(params.has('page[after]'), `${e.id}: page[after]`);
      }
    });
  });

  describe('(b) compared with the official document', () => {
    const { diffs, violations } = detectDifferences(official, ours);
    const claimed = DELIBERATE_DIFFERENCES.flatMap((d) => d.paths.flatMap((p) => d.subjects.map((s) => ({ id: d.id, kind: d.kind, path: p, subject: s }))));
    const key = (d: { kind: string; path: string; subject: string }) => `${d.kind} | ${d.path} | ${d.subject}`;

    it('keeps every official path and every official parameter with the same `in`', () => {
      assert.deepEqual(violations, []);
    });

    it('has no difference that DELIBERATE_DIFFERENCES does not list', () => {
      const listed = new Set(claimed.map(key));
      assert.deepEqual(diffs.map(key).filter((k) => !listed.has(k)), []);
    });

    it('lists no difference that does not exist (the table stays true)', () => {
      const actual = new Set(diffs.map(key));
      assert.deepEqual(claimed.filter((c) => !actual.has(key(c))).map((c) => `${c.id}: ${key(c)}`), []);
    });

    it('gives each listed difference a unique id and a reason, and spec/README.md lists exactly those ids', () => {
      const ids = DELIBERATE_DIFFERENCES.map((d) => d.id);
      assert.equal(new Set(ids).size, ids.length);
      for (const d of DELIBERATE_DIFFERENCES) assert.ok(d.why.length > 20 && d.paths.length > 0 && d.subjects.length > 0, d.id);
      const readme = fs.readFileSync(README_FILE, 'utf8');
      const inReadme = [...readme.matchAll(/^\|\s*(D\d+)\s*\|/gm)].map((m) => m[1]);
      assert.deepEqual(inReadme, ids);
    });

    it('would notice an unlisted change (the comparison can fail)', () => {
      const tampered = structuredClone(ours);
      const op = ((tampered.paths as Obj)[USERS] as Obj).get as Obj;
      op.parameters = [...(op.parameters as unknown[]), { name: 'sneaky', in: 'query', schema: { type: 'string' } }];
      const extra = detectDifferences(official, tampered).diffs.map(key);
      assert.ok(extra.includes(`param-added | ${USERS} | sneaky`));
      const moved = structuredClone(ours);
      const movedOp = ((moved.paths as Obj)[TICKETS] as Obj).get as Obj;
      movedOp.parameters = [{ name: 'start_time', in: 'header', required: true, schema: { type: 'integer' } }];
      assert.ok(detectDifferences(official, moved).violations.some((v) => v.includes('start_time is in header')));
    });
  });

  describe('(c) official examples that are wrong fail, corrected shapes pass', () => {
    const officialExample = (name: string) => ((official.components as Obj).examples as Record<string, Obj>)[name].value;

    it('rejects the official ticket_events example (a metric event, erratum 1)', () => {
      const errors = validateResponse(TICKET_EVENTS, 200, officialExample('ExportIncrementalTicketEventsResponseExample'));
      assert.ok(errors.some((e) => e.includes("'timestamp'")), errors.join('\n'));
      assert.ok(errors.some((e) => e.includes("'event_type'")), errors.join('\n'));
    });

    it('accepts a real ticket event, with and without comment_events', () => {
      const event = {
        id: 6130907993200, ticket_id: 28, timestamp: 1695052662, created_at: '2023-09-18T15:57:42Z', updater_id: -1,
        via: 'Web form', system: { client: 'curl/8.0', ip_address: null, location: null, latitude: null, longitude: null },
        metadata: { custom: {}, system: {} }, event_type: 'Audit', merged_ticket_ids: [],
        child_events: [{ id: 6130907993210, via: 'Web form', via_reference_id: null, comment_present: true, comment_public: false, event_type: 'Create', status: 'new' }],
      };
      const page = { ticket_events: [event], count: 1, end_time: 1695052663, next_page: null, end_of_stream: true };
      assert.deepEqual(validateResponse(TICKET_EVENTS, 200, page), []);
      const comment = { id: 6130907993211, type: 'Comment', author_id: 6130907993114, body: 'hi', html_body: '<p>hi</p>', public: false, attachments: [], audit_id: event.id, created_at: event.created_at, event_type: 'Comment', via: { channel: 'web' } };
      const withComment = { ...page, ticket_events: [{ ...event, child_events: [...event.child_events, comment] }] };
      assert.deepEqual(validateResponse(`${TICKET_EVENTS}.json?include=comment_events&start_time=1`, 200, withComment), []);
      const { body: _dropped, ...bodyless } = comment;
      const broken = { ...page, ticket_events: [{ ...event, child_events: [bodyless] }] };
      assert.notDeepEqual(validateResponse(TICKET_EVENTS, 200, broken), [], 'a Comment child needs its body');
    });

    it('rejects the official sample schema for every resource but tickets (erratum 2)', () => {
      const ticketsPage = officialExample('TimeBasedExportIncrementalTicketsResponseExample');
      assert.deepEqual(validateResponse(TICKETS_SAMPLE, 200, ticketsPage), []);
      for (const p of [EVENTS_SAMPLE, USERS_SAMPLE, ORGS_SAMPLE]) {
        const errors = validateResponse(p, 200, ticketsPage);
        assert.ok(errors.some((e) => e.includes("unexpected property 'tickets'")), `${p}: ${errors.join('\n')}`);
      }
      assert.deepEqual(validateResponse(USERS_SAMPLE, 200, officialExample('TimeBasedExportIncrementalUsersResponseExample')), []);
      assert.deepEqual(validateResponse(ORGS_SAMPLE, 200, officialExample('ExportIncrementalOrganizationsResponseExample')), []);
    });

    it('rejects the official metric events example without end_of_stream, accepts it with (erratum 7)', () => {
      const example = officialExample('TicketMetricEventsResponseExample') as Obj;
      assert.notDeepEqual(validateResponse(METRIC_EVENTS, 200, example), []);
      assert.deepEqual(validateResponse(METRIC_EVENTS, 200, { ...example, end_of_stream: true }), []);
    });

    it('accepts every other official 200 example', () => {
      const pairs: [string, string][] = [
        [TICKETS, 'TimeBasedExportIncrementalTicketsResponseExample'],
        [TICKETS_CURSOR, 'CursorBasedExportIncrementalTicketsResponseExample'],
        [USERS, 'TimeBasedExportIncrementalUsersResponseExample'],
        [USERS_CURSOR, 'CursorBasedExportIncrementalUsersResponseExample'],
        [ORGS, 'ExportIncrementalOrganizationsResponseExample'],
        [ROUTING[0], 'IncrementalSkillBasedRoutingAttributesExample'],
        [ROUTING[1], 'IncrementalSkillBasedRoutingAttributeValuesExample'],
        [ROUTING[2], 'IncrementalSkillBasedRoutingInstanceValuesExample'],
      ];
      for (const [p, name] of pairs) assert.deepEqual(validateResponse(p, 200, officialExample(name)), [], name);
    });

    it('accepts every page of real Zendesk traffic recorded in 2023', () => {
      const recorded = readRecordings();
      for (const { uri, status, body } of recorded) assert.deepEqual(validateResponse(uri, status, body), [], uri);
      assert.ok(recorded.length > 200, `${recorded.length} recorded pages`);
    });
  });

  describe('(d) our own examples', () => {
    it('validate against their own schemas, every status and media type', () => {
      let checked = 0;
      for (const [p, item] of Object.entries(ourPaths)) {
        for (const [status, raw] of Object.entries((item.get as Obj).responses as Obj)) {
          const resp = deref(ours, raw) as Obj;
          for (const [mt, media] of Object.entries((resp.content as Obj) ?? {})) {
            for (const [name, ex] of Object.entries(((media as Obj).examples as Obj) ?? {})) {
              const value = (deref(ours, ex) as Obj).value;
              assert.deepEqual(validateResponse(p, Number(status), value, mt), [], `${p} ${status} ${mt} ${name}`);
              checked++;
            }
          }
        }
      }
      assert.ok(checked >= 15 * 8, `${checked} examples checked`);
    });

    it('give every 200 operation an example, whose next-page links point back at the same path', () => {
      for (const [p, item] of Object.entries(ourPaths)) {
        const media = ((deref(ours, ((item.get as Obj).responses as Obj)['200']) as Obj).content as Obj)['application/json'] as Obj;
        const examples = Object.values((media.examples as Obj) ?? {});
        assert.ok(examples.length > 0, `${p} has a 200 example`);
        for (const ex of examples) {
          const value = (deref(ours, ex) as Obj).value as Obj;
          const links = [value.next_page, value.after_url, (value.links as Obj | undefined)?.next].filter((l): l is string => typeof l === 'string');
          // The sample examples reuse the export examples, whose links name the export path.
          const expected = SAMPLE_PATHS.includes(p) ? p.replace(/\/sample$/, '') : p;
          for (const link of links) assert.equal(normalizePath(link), expected, `${p}: ${link}`);
        }
      }
    });
  });

  describe('validateResponse', () => {
    const page = { tickets: [{ id: 6130907993114, generated_timestamp: 1695052663, brand_new_field: { x: 1 } }], after_cursor: null, after_url: null, before_cursor: null, before_url: null, end_of_stream: true };

    it('resolves .json, query strings, absolute URLs and concrete sample paths', () => {
      assert.equal(operationFor('/api/v2/incremental/tickets/cursor.json?cursor=abc')?.pathKey, TICKETS_CURSOR);
      assert.equal(operationFor('http://127.0.0.1:4000/api/v2/incremental/users/sample.json?start_time=1')?.operationId, 'IncrementalSampleExportUsers');
      assert.equal(operationFor('/api/v2/users/me.json')?.operationId, 'ShowCurrentUser');
      assert.equal(operationFor('/api/v2/incremental/requests'), undefined);
      assert.deepEqual(validateResponse('https://x.zendesk.com/api/v2/incremental/tickets/cursor.json?start_time=0', 200, page, 'application/json; charset=utf-8'), []);
    });

    it('allows unknown record fields but not unknown envelope keys', () => {
      assert.deepEqual(validateResponse(TICKETS_CURSOR, 200, page), []);
      const errors = validateResponse(TICKETS_CURSOR, 200, { ...page, surprise: 1 });
      assert.deepEqual(errors, [`GET ${TICKETS_CURSOR} 200: (body) has unexpected property 'surprise'`]);
    });

    it('reports missing envelope keys, wrong id types and bad enums with their location', () => {
      const { after_cursor: _gone, ...noCursor } = page;
      assert.deepEqual(validateResponse(TICKETS_CURSOR, 200, noCursor), [`GET ${TICKETS_CURSOR} 200: (body) must have required property 'after_cursor'`]);
      const stringId = { ...page, tickets: [{ ...page.tickets[0], id: '6130907993114' }] };
      assert.deepEqual(validateResponse(TICKETS_CURSOR, 200, stringId), [`GET ${TICKETS_CURSOR} 200: /tickets/0/id must be integer`]);
      const badStatus = { ...page, tickets: [{ ...page.tickets[0], status: 'archived' }] };
      assert.match(validateResponse(TICKETS_CURSOR, 200, badStatus).join('\n'), /\/tickets\/0\/status must be one of/);
    });

    it('accepts nullable fields as null, including nullable enums', () => {
      const t = { ...page.tickets[0], priority: null, type: null, assignee_id: null, due_at: null };
      assert.deepEqual(validateResponse(TICKETS_CURSOR, 200, { ...page, tickets: [t] }), []);
    });

    it('knows both metric event envelopes and rejects a mix', () => {
      const events = [{ id: 1, ticket_id: 2, metric: 'reply_time', instance_id: 1, type: 'measure', time: '2020-10-26T12:53:12Z' }];
      assert.deepEqual(validateResponse(METRIC_EVENTS, 200, { ticket_metric_events: events, meta: { has_more: false, after_cursor: 'x', before_cursor: null }, links: { next: null, prev: null } }), []);
      assert.deepEqual(validateResponse(METRIC_EVENTS, 200, { ticket_metric_events: events, count: 1, end_time: 5, next_page: 'u', end_of_stream: true }), []);
      assert.notDeepEqual(validateResponse(METRIC_EVENTS, 200, { ticket_metric_events: events, count: 1, end_time: 5, next_page: 'u', end_of_stream: true, meta: { has_more: false, after_cursor: null, before_cursor: null } }), []);
    });

    it('checks error bodies: both JSON families, plain-text 429, empty text/html 403', () => {
      assert.deepEqual(validateResponse(TICKETS, 422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 5 minutes' }), []);
      assert.deepEqual(validateResponse(TICKETS, 400, { errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] }), []);
      assert.deepEqual(validateResponse(TICKETS, 403, { error: { title: 'Forbidden', message: 'You do not have access to this page.' } }), []);
      assert.deepEqual(validateResponse(TICKETS, 429, 'Number of allowed API requests per minute exceeded', 'text/plain; charset=utf-8'), []);
      assert.deepEqual(validateResponse(TICKETS, 403, '', 'text/html'), []);
      assert.notDeepEqual(validateResponse(TICKETS, 401, { message: 'nope' }), []);
      assert.deepEqual(validateResponse(TICKETS, 200, 'ok', 'text/plain'), [`GET ${TICKETS} 200: content type text/plain is not documented (documented: application/json)`]);
      assert.deepEqual(validateResponse(TICKETS, 409, {}), [`GET ${TICKETS} 409: status 409 is not documented (documented: 200, ${ERROR_STATUSES.join(', ')})`]);
      assert.deepEqual(validateResponse('/api/v2/incremental/requests', 200, {}), ['no operation in the document for /api/v2/incremental/requests']);
    });

    it('checks users/me: admins, agents and the anonymous user', () => {
      assert.deepEqual(validateResponse(USERS_ME, 200, { user: { id: 6130869168922, name: 'A', email: 'a@example.com', role: 'agent', extra: true } }), []);
      assert.deepEqual(validateResponse(USERS_ME, 200, { user: { id: null, name: 'Anonymous user', email: 'invalid@example.com', role: 'end-user' } }), []);
      assert.notDeepEqual(validateResponse(USERS_ME, 200, { user: { id: 1, name: 'A', email: 'a@example.com', role: 'owner' } }), []);
    });
  });
});
