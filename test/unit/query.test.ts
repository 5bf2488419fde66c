import { strict as assert } from 'node:assert';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { ENDPOINTS, RESOURCES } from '../../src/engine/zendesk';
import { ExportError } from '../../src/engine/errors';
import { type SavedQuery, describeQuery, loadQuery, loadQueryFile, validateSavedQuery, slug, parseStartTime } from '../../src/engine/query';
import { buildQuerySchema } from '../../scripts/querySchema';

const ROOT = path.resolve(__dirname, '..', '..');
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0) / 1000; // 2026-06-15T12:00:00Z

function throwsCode(fn: () => unknown, code: string, match?: RegExp): ExportError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ExportError, `expected ExportError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (match) assert.match(err.message, match);
    return err;
  }
  assert.fail(`expected ExportError(${code})`);
}

describe('parseStartTime', () => {
  it('reads ISO dates as UTC midnight and date-times with or without a zone', () => {
    assert.equal(parseStartTime('2024-01-31', NOW), Date.UTC(2024, 0, 31) / 1000);
    assert.equal(parseStartTime('2024-01-31T08:30:00Z', NOW), Date.UTC(2024, 0, 31, 8, 30) / 1000);
    assert.equal(parseStartTime('2024-01-31T08:30', NOW), Date.UTC(2024, 0, 31, 8, 30) / 1000);
    assert.equal(parseStartTime('2024-01-31 08:30:15.250', NOW), Date.UTC(2024, 0, 31, 8, 30, 15) / 1000);
    assert.equal(parseStartTime('2024-01-31T10:30:00+02:00', NOW), Date.UTC(2024, 0, 31, 8, 30) / 1000);
    assert.equal(parseStartTime('2024-01-31T03:00:00-0530', NOW), Date.UTC(2024, 0, 31, 8, 30) / 1000);
  });

  it('reads Unix seconds as a number or a digit string', () => {
    assert.equal(parseStartTime(1700000000, NOW), 1700000000);
    assert.equal(parseStartTime(' 1700000000 ', NOW), 1700000000);
    assert.equal(parseStartTime(0, NOW), 0);
  });

  it('reads relative times against now', () => {
    assert.equal(parseStartTime('-7d', NOW), NOW - 7 * 86400);
    assert.equal(parseStartTime('-12h', NOW), NOW - 12 * 3600);
    assert.equal(parseStartTime('-30m', NOW), NOW - 1800);
    assert.equal(parseStartTime('-2w', NOW), NOW - 14 * 86400);
    assert.equal(parseStartTime('now-7d', NOW), NOW - 7 * 86400);
    assert.equal(parseStartTime('NOW - 3D', NOW), NOW - 3 * 86400);
  });

  it('clamps to now − 61 and to 0', () => {
    assert.equal(parseStartTime('-45s', NOW), NOW - 61);
    assert.equal(parseStartTime('now', NOW), NOW - 61);
    assert.equal(parseStartTime(NOW - 10, NOW), NOW - 61);
    assert.equal(parseStartTime('1960-01-01', NOW), 0);
    assert.equal(parseStartTime('-100000w', NOW), 0);
  });

  it('rejects the future with a sentence saying so', () => {
    throwsCode(() => parseStartTime('2027-01-01', NOW), 'futureStartTime', /^The start time 2027-01-01T00:00:00Z is in the future; Zendesk only exports what already happened\.$/);
    throwsCode(() => parseStartTime('+1h', NOW), 'futureStartTime');
    throwsCode(() => parseStartTime(NOW + 5, NOW), 'futureStartTime');
  });

  it('rejects milliseconds and suggests seconds', () => {
    throwsCode(() => parseStartTime(1700000000000, NOW), 'invalidQuery', /looks like milliseconds.*Unix seconds, e\.g\. 1700000000\./);
    throwsCode(() => parseStartTime('1700000000000', NOW), 'invalidQuery', /milliseconds/);
  });

  it('rejects garbage, naming the accepted forms', () => {
    for (const bad of ['yesterday', '', '2024-13-01', '2024-02-30', '2024-01-31T25:00', '7d', '-7y', '12.5', 'now-', '2024-01-31T08:00+15:00']) {
      throwsCode(() => parseStartTime(bad, NOW), 'invalidQuery');
    }
    throwsCode(() => parseStartTime('soon', NOW), 'invalidQuery', /ISO date.*Unix seconds.*-7d/);
    throwsCode(() => parseStartTime('7d', NOW), 'invalidQuery', /write -7d/);
    throwsCode(() => parseStartTime(-5, NOW), 'invalidQuery', /negative/);
    throwsCode(() => parseStartTime(1.5, NOW), 'invalidQuery', /whole number/);
    throwsCode(() => parseStartTime(Number.NaN, NOW), 'invalidQuery');
  });
});

const base: SavedQuery = { name: 'Weekly tickets', resource: 'tickets', startTime: '-7d' };

function problemsOf(raw: unknown, nowSeconds?: number): { path: string; message: string }[] {
  return validateSavedQuery(raw, { nowSeconds }).problems.map(({ path: p, message }) => ({ path: p, message }));
}

describe('validateSavedQuery', () => {
  it('accepts a good query and returns it', () => {
    const r = validateSavedQuery({ ...base, params: { include: ['users', 'groups'], perPage: 500, excludeDeleted: true, supportTypeScope: 'all' }, output: { format: 'csv', path: 'out/t.csv' } });
    assert.deepEqual(r.problems, []);
    assert.equal(r.query?.name, 'Weekly tickets');
  });

  it('reports every problem with its JSON path', () => {
    const problems = problemsOf({
      name: '',
      resource: 'tickets',
      startTime: 'soon',
      color: 'blue',
      params: { include: ['users', 'bogus', 'users'], perPage: 5000, includeChanges: true, per_page: 10 },
      output: { format: 'xlsx', path: '' },
    });
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      'color', 'name', 'output.format', 'output.path', 'params.includeChanges', 'params.include[1]',
      'params.include[2]', 'params.perPage', 'params.per_page', 'startTime',
    ]);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    assert.match(byPath['params.include[1]'], /"bogus" is not a sideload of the cursor-based tickets export; use users, groups/);
    assert.match(byPath['params.per_page'], /use "perPage"/);
    assert.match(byPath['params.perPage'], /at most 1000/);
    assert.match(byPath['params.includeChanges'], /doesn't support "includeChanges"/);
  });

  it('gives segments usable with jsonc-parser', () => {
    const [p] = validateSavedQuery({ ...base, params: { include: ['nope'] } }).problems;
    assert.deepEqual(p.segments, ['params', 'include', 0]);
  });

  it('needs an object with name and resource', () => {
    assert.deepEqual(problemsOf([]).map((p) => p.path), ['']);
    assert.equal(problemsOf({}).length, 2);
    assert.match(problemsOf({ name: 'x', resource: 'ticket' })[0].message, /did you mean "tickets"/);
  });

  it('checks pagination against what the resource offers', () => {
    assert.match(problemsOf({ name: 'o', resource: 'organizations', pagination: 'cursor' })[0].message, /organizations offers only time-based export/);
    assert.deepEqual(problemsOf({ name: 'u', resource: 'users', pagination: 'time' }), []);
    assert.equal(problemsOf({ name: 'r', resource: 'routing_attributes', pagination: 'time' })[0].path, 'pagination');
  });

  it('checks per_page against the endpoint form', () => {
    assert.deepEqual(problemsOf({ name: 'm', resource: 'ticket_metric_events', pagination: 'cursor', params: { perPage: 100 } }), []);
    assert.match(problemsOf({ name: 'm', resource: 'ticket_metric_events', pagination: 'cursor', params: { perPage: 101 } })[0].message, /at most 100/);
    // Time-based is the default (it brings the most records per request), and it takes no per_page.
    assert.match(problemsOf({ name: 'm', resource: 'ticket_metric_events', params: { perPage: 1000 } })[0].message, /time-based ticket_metric_events export ignores per_page; remove "perPage"/);
    assert.match(problemsOf({ name: 's', resource: 'tickets', params: { sample: true, perPage: 51 } })[0].message, /sample export allows at most 50/);
    assert.match(problemsOf({ name: 'r', resource: 'routing_instance_values', params: { perPage: 10 } })[0].message, /ignores per_page \(its pages hold up to 3000 records\)/);
    assert.equal(problemsOf({ ...base, params: { perPage: 0 } })[0].path, 'params.perPage');
  });

  it('checks flags and sample against the endpoint form', () => {
    assert.equal(problemsOf({ name: 'u', resource: 'users', params: { excludeDeleted: true } })[0].path, 'params.excludeDeleted');
    assert.equal(problemsOf({ name: 'o', resource: 'organizations', params: { supportTypeScope: 'all' } })[0].path, 'params.supportTypeScope');
    assert.deepEqual(problemsOf({ name: 'e', resource: 'ticket_events', params: { supportTypeScope: 'ai_agent', include: ['comment_events'] } }), []);
    assert.equal(problemsOf({ ...base, params: { supportTypeScope: 'robots' } })[0].path, 'params.supportTypeScope');
    assert.match(problemsOf({ name: 'r', resource: 'routing_attributes', params: { sample: true } })[0].message, /has no sample endpoint/);
    assert.match(problemsOf({ name: 'm', resource: 'ticket_metric_events', params: { include: ['users'] } })[0].message, /accepts no sideloads/);
    assert.match(problemsOf({ ...base, params: { include: ['last_audits'] } })[0].message, /last_audits/);
    assert.match(problemsOf({ ...base, start_time: 5 })[0].message, /use "startTime"/);
  });

  it('flags a future start time only when given the clock', () => {
    assert.deepEqual(problemsOf({ ...base, startTime: '2999-01-01' }), []);
    assert.match(problemsOf({ ...base, startTime: '2999-01-01' }, NOW)[0].message, /in the future/);
    assert.match(problemsOf({ ...base, startTime: 1700000000000 })[0].message, /milliseconds/);
  });
});

describe('zdquery.schema.json', () => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'zdquery.schema.json'), 'utf8')) as Record<string, unknown>;

  it('is what the generator builds from the catalogue (regenerate: npm run generate)', () => {
    assert.deepEqual(schema, JSON.parse(JSON.stringify(buildQuerySchema())));
  });

  it('lists every resource and every sideload', () => {
    const props = schema.properties as Record<string, { enum?: string[]; properties?: Record<string, { items?: { enum: string[] } }> }>;
    assert.deepEqual(props.resource.enum, [...RESOURCES]);
    assert.deepEqual(new Set(props.params.properties!.include.items!.enum), new Set(ENDPOINTS.flatMap((e) => e.includes)));
  });

  it('describes every property', () => {
    const walk = (node: Record<string, unknown>, at: string): void => {
      for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        assert.ok(typeof child.description === 'string' && typeof child.markdownDescription === 'string', `${at}${key} lacks a description`);
        walk(child, `${at}${key}.`);
      }
    };
    walk(schema, '');
  });

  it('agrees with validateSavedQuery on good and bad queries', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const check = ajv.compile(schema);
    const cases: unknown[] = [
      base,
      { name: 'x', resource: 'tickets', pagination: 'time', startTime: 1700000000, params: { perPage: 1000, include: ['slas'], excludeDeleted: false, supportTypeScope: 'agent' }, output: { path: 'a.json', format: 'json' } },
      { name: 'x', resource: 'tickets', params: { sample: true, perPage: 50 } },
      { name: 'x', resource: 'tickets', params: { sample: true, perPage: 51 } },
      { name: 'x', resource: 'tickets', params: { sample: true, excludeDeleted: true } },
      { name: 'x', resource: 'users', startTime: '2024-01-01T00:00:00Z', params: { include: ['identities'] } },
      { name: 'x', resource: 'users', params: { include: ['slas'] } },
      { name: 'x', resource: 'users', params: { supportTypeScope: 'all' } },
      { name: 'x', resource: 'users', pagination: 'time', params: { perPage: 1000 } },
      { name: 'x', resource: 'organizations', pagination: 'cursor' },
      { name: 'x', resource: 'organizations', params: { include: ['abilities'], sample: true } },
      { name: 'x', resource: 'ticket_events', params: { include: ['comment_events'], supportTypeScope: 'all' } },
      { name: 'x', resource: 'ticket_events', params: { excludeDeleted: true } },
      { name: 'x', resource: 'ticket_metric_events', pagination: 'cursor', params: { perPage: 100, includeChanges: true, excludeDeleted: true } },
      { name: 'x', resource: 'ticket_metric_events', pagination: 'cursor', params: { perPage: 101 } },
      { name: 'x', resource: 'ticket_metric_events', pagination: 'time', params: { perPage: 1000 } },
      { name: 'x', resource: 'ticket_metric_events', params: { sample: true } },
      { name: 'x', resource: 'ticket_metric_events', params: { include: [] } },
      { name: 'x', resource: 'ticket_metric_events', params: { include: ['users'] } },
      { name: 'x', resource: 'routing_attributes' },
      { name: 'x', resource: 'routing_attribute_values', params: { perPage: 10 } },
      { name: 'x', resource: 'routing_instance_values', pagination: 'time' },
      { name: 'x', resource: 'nope' },
      { name: ' ', resource: 'tickets' },
      { resource: 'tickets' },
      { name: 'x', resource: 'tickets', extra: 1 },
      { name: 'x', resource: 'tickets', params: { per_page: 1 } },
      { name: 'x', resource: 'tickets', output: { format: 'xml' } },
      { name: 'x', resource: 'tickets', output: { path: 'a', color: 1 } },
      { name: 'x', resource: 'tickets', startTime: 'soon' },
      { name: 'x', resource: 'tickets', startTime: 'now-2w' },
      { name: 'x', resource: 'tickets', startTime: -1 },
      { name: 'x', resource: 'tickets', startTime: 1700000000000 },
      { name: 'x', resource: 'tickets', params: { include: ['users', 'users'] } },
      { name: 'x', resource: 'tickets', params: { include: ['last_audits'] } },
      { name: 'x', resource: 'tickets', connection: 'acme', $schema: './s.json' },
      { name: 'x', resource: 'tickets', connection: 7 },
      'not an object',
    ];
    for (const c of cases) {
      const bySchema = check(c) === true;
      const byValidator = validateSavedQuery(c).problems.length === 0;
      assert.equal(bySchema, byValidator, `${JSON.stringify(c)}: schema ${bySchema ? 'accepts' : `rejects (${ajv.errorsText(check.errors)})`}, validator ${byValidator ? 'accepts' : `rejects (${validateSavedQuery(c).problems.map((p) => p.message).join('; ')})`}`);
    }
  });

  it('accepts the example query', async () => {
    const file = path.join(ROOT, 'examples', 'tickets.zdquery.json');
    const q = await loadQueryFile(file, { baseDir: os.tmpdir() });
    assert.equal(q.resource, 'tickets');
    const check = new Ajv({ strict: false }).compile(schema);
    assert.ok(check(JSON.parse(readFileSync(file, 'utf8'))));
  });
});

describe('loadQueryFile', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdq-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('names the file, line and column of a JSON syntax error', async () => {
    const file = path.join(dir, 'bad.zdquery.json');
    await fs.writeFile(file, '{\n  "name": "x",\n  "resource": "tickets"\n  "startTime": "-7d"\n}\n');
    await assert.rejects(loadQueryFile(file, { baseDir: os.tmpdir() }), (err: ExportError) => {
      assert.equal(err.code, 'invalidQuery');
      assert.equal(err.message, `The query file ${file} is not valid JSON: line 4, column 3: expected a comma between entries.`);
      return true;
    });
  });

  it('rejects comments, trailing commas and empty files', async () => {
    for (const [name, text] of [['c', '{ // hi\n "name": "x", "resource": "tickets" }'], ['t', '{ "name": "x", "resource": "tickets", }'], ['e', '  \n']]) {
      const file = path.join(dir, `${name}.zdquery.json`);
      await fs.writeFile(file, text);
      await assert.rejects(loadQueryFile(file, { baseDir: os.tmpdir() }), (err: ExportError) => err.code === 'invalidQuery' && err.message.includes(file));
    }
  });

  it('reports validation problems in one sentence and all of them in details', async () => {
    const file = path.join(dir, 'invalid.zdquery.json');
    await fs.writeFile(file, JSON.stringify({ name: 'x', resource: 'tickets', params: { include: ['nope'], perPage: 0 } }));
    await assert.rejects(loadQueryFile(file, { baseDir: os.tmpdir() }), (err: ExportError) => {
      assert.equal(err.code, 'invalidQuery');
      assert.match(err.message, new RegExp(`^The query file .*invalid\\.zdquery\\.json is invalid: params\\.perPage: .* \\(and 1 more problem\\)\\.$`));
      assert.equal(err.details?.split('\n').length, 2);
      return true;
    });
  });

  it('reads a file with a BOM, and reports a missing file as io', async () => {
    const file = path.join(dir, 'bom.zdquery.json');
    await fs.writeFile(file, `\uFEFF${JSON.stringify(base)}`);
    assert.equal((await loadQueryFile(file, { baseDir: os.tmpdir() })).name, base.name);
    await assert.rejects(loadQueryFile(path.join(dir, 'missing.zdquery.json'), { baseDir: os.tmpdir() }), (err: ExportError) => err.code === 'io' && /doesn't exist/.test(err.message));
  });
});

describe('loadQuery', () => {
  const baseDir = path.join(os.tmpdir(), 'ws');

  it('resolves endpoint, start time, defaults and the default output path', () => {
    const r = loadQuery({ ...base, params: { include: ['users', 'groups'] } }, { baseDir, nowSeconds: NOW });
    assert.equal(r.endpointId, 'tickets/cursor');
    assert.equal(r.startTime, NOW - 7 * 86400);
    assert.deepEqual(r.params, { perPage: 1000, include: ['groups', 'users'] });
    assert.deepEqual(r.output, { path: path.join(baseDir, 'weekly-tickets', 'tickets.jsonl'), format: 'jsonl' });
    assert.match(r.digest, /^[0-9a-f]{64}$/);
  });

  it('resolves relative output paths against baseDir and picks the right endpoint forms', () => {
    const r = loadQuery({ name: 'm', resource: 'ticket_metric_events', pagination: 'cursor', startTime: 0, output: { path: 'out/m.csv', format: 'csv' } }, { baseDir, nowSeconds: NOW });
    assert.equal(r.endpointId, 'ticket_metric_events/cursor');
    assert.equal(r.params.perPage, 100);
    assert.equal(loadQuery({ name: 'm', resource: 'ticket_metric_events' }, { baseDir, nowSeconds: NOW }).endpointId, 'ticket_metric_events');
    assert.equal(r.output.path, path.join(baseDir, 'out', 'm.csv'));
    assert.equal(loadQuery({ name: 'u', resource: 'users', pagination: 'time' }, { baseDir, nowSeconds: NOW }).endpointId, 'users');
    assert.equal(loadQuery({ name: 's', resource: 'users', params: { sample: true } }, { baseDir, nowSeconds: NOW }).endpointId, 'users/sample');
    const abs = path.join(os.tmpdir(), 'elsewhere', 'x.json');
    assert.equal(loadQuery({ ...base, output: { path: abs } }, { baseDir, nowSeconds: NOW }).output.path, abs);
  });

  it('ignores startTime for routing exports and omits per_page', () => {
    const r = loadQuery({ name: 'Routing', resource: 'routing_attributes', startTime: '-7d' }, { baseDir, nowSeconds: NOW });
    assert.equal(r.startTime, 0);
    assert.equal(r.params.perPage, undefined);
    const other = loadQuery({ name: 'Routing', resource: 'routing_attributes', startTime: '2020-01-01' }, { baseDir, nowSeconds: NOW });
    assert.equal(r.digest, other.digest);
  });

  it('throws invalidQuery and futureStartTime', () => {
    throwsCode(() => loadQuery({ ...base, params: { include: ['nope'] } }, { baseDir, nowSeconds: NOW }), 'invalidQuery', /params\.include\[0\]/);
    throwsCode(() => loadQuery({ ...base, startTime: '2030-01-01' }, { baseDir, nowSeconds: NOW }), 'futureStartTime');
  });

  it('keeps the digest stable across time, spelling of defaults, include order and the base folder', () => {
    const d = (q: SavedQuery, opts: { baseDir: string; nowSeconds?: number } = { baseDir, nowSeconds: NOW }): string => loadQuery(q, opts).digest;
    const q: SavedQuery = { ...base, params: { include: ['users', 'groups'] } };
    assert.equal(d(q), d(q, { baseDir, nowSeconds: NOW + 7 * 86400 }), 'a relative start time is compared as written');
    assert.equal(d(q), d({ ...q, pagination: 'cursor', params: { include: ['groups', 'users'], perPage: 1000, supportTypeScope: 'agent', excludeDeleted: false }, output: { format: 'jsonl' } }));
    assert.equal(d(q), d({ ...q, connection: 'another', $schema: 'x' }), 'the connection is not part of the stream identity');
    assert.equal(d(q), d(q, { baseDir: path.join(os.tmpdir(), 'moved'), nowSeconds: NOW }), 'a moved workspace keeps its checkpoints');
    assert.equal(d({ ...base, startTime: 1700000000 }), d({ ...base, startTime: '1700000000' }));
  });

  it('changes the digest when the stream or its writing changes', () => {
    const d = (q: SavedQuery): string => loadQuery(q, { baseDir, nowSeconds: NOW }).digest;
    const seen = new Set([
      d(base),
      d({ ...base, startTime: '-8d' }),
      d({ ...base, pagination: 'time' }),
      d({ ...base, params: { include: ['users'] } }),
      d({ ...base, params: { perPage: 500 } }),
      d({ ...base, params: { excludeDeleted: true } }),
      d({ ...base, params: { supportTypeScope: 'all' } }),
      d({ ...base, output: { format: 'csv' } }),
      d({ ...base, output: { path: 'elsewhere.jsonl' } }),
      d({ ...base, name: 'Renamed' }), // moves the default output folder
      d({ ...base, resource: 'users' }),
    ]);
    assert.equal(seen.size, 11);
  });
});

describe('describeQuery and slug', () => {
  it('summarises saved and resolved queries in one line', () => {
    const line = describeQuery({ ...base, params: { include: ['users'], supportTypeScope: 'all' } });
    assert.equal(line, 'Weekly tickets: tickets (cursor) since -7d with users scope all → weekly-tickets/tickets.jsonl');
    const resolved = loadQuery({ ...base, output: { path: 'x.out', format: 'csv' } }, { baseDir: os.tmpdir(), nowSeconds: NOW });
    assert.match(describeQuery(resolved), /^Weekly tickets: tickets \(cursor\) since 2026-06-08T12:00:00Z → .*x\.out \(csv\)$/);
    assert.equal(describeQuery({ name: 'R', resource: 'routing_attributes' }), 'R: routing_attributes (cursor) → r/routing_attributes.jsonl');
    assert.doesNotMatch(describeQuery(resolved), /\n/);
    assert.equal(describeQuery({} as SavedQuery), 'Untitled: (no resource) from the beginning → untitled/(no resource).jsonl');
  });

  it('makes safe folder names', () => {
    assert.equal(slug('Wöchentliche Tickets / Q3!'), 'wochentliche-tickets-q3');
    assert.equal(slug('../../etc'), 'etc');
    assert.equal(slug('   '), 'query');
  });
});
