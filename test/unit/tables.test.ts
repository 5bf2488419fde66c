// Table outputs: the query language for them, the column catalogue against the OpenAPI document,
// custom-field column names, and DuckDB end to end against the simulator (current state equal to
// the simulator's newest versions, every version in the change log, deletions both ways, SIGKILL at
// random moments then resume, one writer per file, the CLI).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { prepareExport, runExport, type ExportResult } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import { loadQuery, validateSavedQuery, type ResolvedQuery, type SavedOutput } from '../../src/engine/query';
import { fieldColumnName, LAYOUTS, planFieldColumns, targetFor, type FieldDefinition, type FieldSource } from '../../src/engine/tables';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, runCli, seededRandom } from '../support/cliProcess';
import { loadSpec } from '../support/openapi';
import { duckRows, latestVersions } from '../support/tables';

const ROOT = path.resolve(__dirname, '..', '..');

describe('table outputs: the query language', () => {
  const base = { name: 'T', resource: 'tickets' };
  const problems = (output: unknown): string[] => validateSavedQuery({ ...base, output }).problems.map((p) => p.message);

  it('accepts duckdb, postgres and parquet with their options, and refuses options that belong elsewhere', () => {
    assert.deepEqual(problems({ format: 'duckdb' }), []);
    assert.deepEqual(problems({ format: 'duckdb', path: 'x.duckdb', deletions: 'flag' }), []);
    assert.deepEqual(problems({ format: 'postgres', connection: 'warehouse', schema: 'zd_raw' }), []);
    assert.deepEqual(problems({ format: 'postgres', connection: 'postgresql://me@db.example.com/analytics' }), []);
    assert.deepEqual(problems({ format: 'parquet', path: 'lake', snapshot: true }), []);
    assert.match(problems({ format: 'postgres' })[0], /needs "connection"/);
    assert.match(problems({ format: 'postgres', connection: 'postgresql://me:secret@db/x' })[0], /holds a password/);
    assert.match(problems({ format: 'postgres', connection: 'x', path: 'a' })[0], /not to a path/);
    assert.match(problems({ format: 'postgres', connection: 'x', schema: 'Bad-Name' })[0], /lower-case PostgreSQL name/);
    assert.match(problems({ format: 'jsonl', deletions: 'flag' })[0], /applies to table outputs/);
    assert.match(problems({ format: 'duckdb', snapshot: true })[0], /Parquet outputs only/);
    assert.match(problems({ format: 'duckdb', schema: 'x' })[0], /belongs to a PostgreSQL output/);
    assert.match(problems({ format: 'duckdb', deletions: 'drop' })[0], /"separate".*"flag"/);
  });

  it('the JSON schema agrees with the validator on table outputs', () => {
    const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'zdquery.schema.json'), 'utf8')) as object;
    const check = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const outputs: unknown[] = [
      { format: 'duckdb' }, { format: 'duckdb', path: 'a.duckdb', deletions: 'flag' }, { format: 'parquet', snapshot: true },
      { format: 'postgres', connection: 'w' }, { format: 'postgres', connection: 'w', schema: 'raw_1' }, { format: 'postgres' },
      { format: 'postgres', connection: 'postgresql://u:p@h/db' }, { format: 'postgres', connection: 'w', path: 'x' },
      { format: 'postgres', connection: 'w', schema: '1x' }, { format: 'csv', deletions: 'flag' }, { deletions: 'separate' },
      { format: 'parquet', deletions: 'separate', snapshot: false }, { format: 'json', snapshot: true }, { format: 'duckdb', connection: 'w' },
      { format: 'duckdb', deletions: 'nope' },
    ];
    for (const output of outputs) {
      const q = { ...base, output };
      assert.equal(check(q), validateSavedQuery(q).problems.length === 0, JSON.stringify(output));
    }
  });

  it('resolves defaults: a .duckdb file beside the query, the zendesk schema, deletions separate; the digest sees the deletions option', () => {
    const dir = path.join(os.tmpdir(), 'q');
    const duck = loadQuery({ ...base, name: 'Weekly Tickets', output: { format: 'duckdb' } }, { baseDir: dir });
    assert.equal(duck.output.path, path.join(dir, 'weekly-tickets.duckdb'));
    assert.deepEqual(duck.output.tables, { format: 'duckdb', deletions: 'separate', snapshot: false });
    const pg = loadQuery({ ...base, output: { format: 'postgres', connection: 'warehouse' } }, { baseDir: dir });
    assert.deepEqual(pg.output.tables?.database, { connection: 'warehouse', schema: 'zendesk' });
    assert.equal(pg.output.path, 'postgres:warehouse/zendesk');
    const flag = loadQuery({ ...base, name: 'Weekly Tickets', output: { format: 'duckdb', deletions: 'flag' } }, { baseDir: dir });
    assert.notEqual(flag.digest, duck.digest);
    assert.equal(loadQuery({ ...base, output: { format: 'parquet' } }, { baseDir: dir }).output.path, path.join(dir, 't'));
  });
});

describe('table outputs: columns and custom-field names', () => {
  it('types every documented field of every resource the way the OpenAPI document does', () => {
    const schemas = (loadSpec().components as Record<string, Record<string, { properties?: Record<string, Record<string, unknown>> }>>).schemas;
    const expect = (p: Record<string, unknown>): string => {
      if (p.type === 'integer') return 'bigint';
      if (p.type === 'number') return 'double';
      if (p.type === 'boolean') return 'boolean';
      if (p.type === 'string') return p.format === 'date-time' ? 'timestamp' : 'text';
      return 'json';
    };
    const bySchema: Record<string, string> = { tickets: 'Ticket', users: 'User', organizations: 'Organization', ticket_events: 'TicketEvent' };
    for (const [resource, name] of Object.entries(bySchema)) {
      const props = schemas[name].properties!;
      const columns = new Map(LAYOUTS[resource as keyof typeof LAYOUTS].columns.map((c) => [c.name, c.type]));
      for (const [field, spec] of Object.entries(props)) {
        if (field === 'id') continue;
        assert.equal(columns.get(field), expect(spec), `${resource}.${field}`);
      }
    }
  });

  it('names columns cf_<title>, unique, and never renames them: renamed and deleted fields keep theirs', () => {
    assert.equal(fieldColumnName('Order #'), 'cf_order');
    assert.equal(fieldColumnName('Ünïcode Tïtle – 2'), 'cf_unicode_title_2');
    const defs: FieldDefinition[] = [
      { id: 3, key: null, title: 'order number', type: 'text', active: false },
      { id: 2, key: null, title: 'Order Number', type: 'integer', active: true },
      { id: 1, key: null, title: 'Order #', type: 'text', active: true },
      { id: 4, key: null, title: 'Escalated', type: 'checkbox', active: true },
    ];
    const first = planFieldColumns('ticket', [], defs, [], new Set(['id', 'status']));
    const col = (ref: string, plan = first) => plan.columns.find((f) => f.ref === ref)!;
    assert.deepEqual([col('1').column, col('2').column, col('3').column, col('4').column], ['cf_order', 'cf_order_number', 'cf_order_number_2', 'cf_escalated']);
    assert.deepEqual([col('2').type, col('4').type], ['bigint', 'boolean']);
    const later = planFieldColumns('ticket', first.columns, [{ ...defs[1], title: 'Order No.' }, defs[2], defs[3], { id: 9, key: null, title: 'Order Number', type: 'text', active: true }], [['77', 'x']], new Set(first.columns.map((f) => f.column)));
    assert.equal(col('2', later).column, 'cf_order_number', 'a renamed field keeps its column');
    assert.equal(col('2', later).title, 'Order No.');
    assert.equal(col('3', later).present, false, 'a field gone from the definitions is marked, not dropped');
    assert.equal(col('3', later).column, 'cf_order_number_2');
    assert.equal(col('1', later).present, true);
    assert.equal(col('9', later).column, 'cf_order_number_3');
    assert.equal(col('77', later).column, 'cf_77', 'a field met only in records is named after its id');
    assert.deepEqual(later.added.map((f) => f.ref), ['9', '77']);
  });
});

const SMALL = { tickets: 1500, users: 300, organizations: 40 };

async function exportInto(sim: RunningSimulator, query: ResolvedQuery, opts: { mergeEvery?: number; fields?: FieldSource } = {}): Promise<ExportResult> {
  const prepared = await prepareExport(query, targetFor(query, { mergeEvery: opts.mergeEvery, fields: opts.fields }));
  try {
    return await runExport({
      connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
      query, prepared, retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
  } finally {
    await prepared.release();
  }
}

/** current ∪ deleted equals the oracle's newest versions; the deleted table holds exactly the tombstones. */
async function assertCurrentState(file: string, latest: Map<number, number>, versionColumn: string, separate = true): Promise<void> {
  const rows = await duckRows(file, `SELECT id, ${versionColumn} AS v, status, _deleted, 'current' AS t FROM tickets${separate ? ` UNION ALL SELECT id, ${versionColumn}, status, _deleted, 'deleted' FROM tickets_deleted` : ''}`);
  assert.equal(rows.length, latest.size, 'one row per id');
  for (const r of rows) {
    assert.equal(r.v, latest.get(r.id as number), `ticket ${r.id} holds its newest version`);
    assert.equal(r._deleted, r.status === 'deleted');
    if (separate) assert.equal(r.t === 'deleted', r.status === 'deleted', `ticket ${r.id} is in the right table`);
  }
}

describe('DuckDB output end to end', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let dir: string;
  before(async () => {
    sim = await startSimulator({ seed: 21, counts: SMALL, rateLimits: false });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-tables-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const q = (output: SavedOutput, extra: Record<string, unknown> = {}): ResolvedQuery =>
    loadQuery({ name: 'Tickets', resource: 'tickets', startTime: 0, params: { perPage: 200, supportTypeScope: 'all', include: ['users'] }, output, ...extra }, { baseDir: dir });

  it('tickets: the current state equals the newest versions, the change log holds every version, a rerun adds exactly the changes', async () => {
    const query = q({ format: 'duckdb' });
    const first = await exportInto(sim, query, { mergeEvery: 700 });
    assert.equal(first.caughtUp, true);
    const file = path.join(dir, 'tickets.duckdb');
    assert.deepEqual(first.files, [file]);
    await assertCurrentState(file, latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }), 'generated_timestamp');
    const [log] = await duckRows(file, 'SELECT count(*) AS n, count(DISTINCT _position) AS p, min(_position) AS lo, max(_position) AS hi FROM tickets_changes');
    assert.deepEqual(log, { n: first.records, p: first.records, lo: 1, hi: first.records });
    const cf = await duckRows(file, `SELECT column_name FROM information_schema.columns WHERE table_name = 'tickets' AND column_name LIKE 'cf_%' ORDER BY 1`);
    assert.ok(cf.length >= 3, 'custom fields as their own columns');
    const [fieldRows] = await duckRows(file, 'SELECT count(*) AS n FROM tickets_fields');
    assert.equal(fieldRows.n, cf.length, 'every custom-field column is in the mapping table');
    const [users] = await duckRows(file, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM tickets_users');
    assert.ok((users.n as number) > 0 && users.n === users.d, 'sideloaded users, one row each');
    const [json] = await duckRows(file, `SELECT count(*) AS n FROM tickets WHERE json_extract(_record, '$.id')::BIGINT <> id`);
    assert.equal(json.n, 0, 'the full record is kept as JSON');

    sim.mutate({ newTickets: 6, updatedTickets: 40 });
    sim.advanceClock(61);
    const second = await exportInto(sim, query);
    assert.equal(second.records, 46);
    await assertCurrentState(file, latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }), 'generated_timestamp');
    const [all] = await duckRows(file, 'SELECT count(*) AS n FROM tickets_changes');
    assert.equal(all.n, first.records + 46);
  });

  it('deletions "flag" keeps deleted tickets in the current table with _deleted = true', async () => {
    const query = q({ format: 'duckdb', path: 'flag.duckdb', deletions: 'flag' });
    await exportInto(sim, query);
    const file = path.join(dir, 'flag.duckdb');
    await assertCurrentState(file, latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }), 'generated_timestamp', false);
    const tables = await duckRows(file, `SELECT table_name FROM information_schema.tables WHERE table_name = 'tickets_deleted'`);
    assert.deepEqual(tables, []);
    const [d] = await duckRows(file, 'SELECT count(*) AS n FROM tickets WHERE _deleted');
    assert.ok((d.n as number) > 0);
  });

  it('users and organizations go by updated_at; two resources share one file', async () => {
    const file = 'people.duckdb';
    for (const resource of ['users', 'organizations']) {
      const query = loadQuery({ name: 'People', resource, startTime: 0, output: { format: 'duckdb', path: file } }, { baseDir: dir });
      await exportInto(sim, query);
    }
    for (const resource of ['users', 'organizations']) {
      const latest = latestVersions(sim, resource);
      const rows = await duckRows(path.join(dir, file), `SELECT id, epoch(updated_at)::BIGINT AS v FROM ${resource} UNION ALL SELECT id, epoch(updated_at)::BIGINT FROM ${resource}_deleted`);
      assert.equal(rows.length, latest.size, resource);
      for (const r of rows) assert.equal(r.v, latest.get(r.id as number), `${resource} ${r.id}`);
    }
    const cps = await duckRows(path.join(dir, file), 'SELECT resource FROM _zdx_checkpoint ORDER BY 1');
    assert.deepEqual(cps.map((r) => r.resource), ['organizations', 'users']);
  });

  it('names custom-field columns after the field definitions, once, and keeps them when a title changes', async () => {
    let title = 'Support tier';
    const fields: FieldSource = {
      definitions: async (kind) => (kind === 'ticket' ? [
        { id: 360001234501, key: null, title, type: 'tagger', active: true },
        { id: 360001234503, key: null, title: 'Escalated?', type: 'text', active: true },
      ] : null),
    };
    const query = q({ format: 'duckdb', path: 'named.duckdb' });
    await exportInto(sim, query, { fields });
    const file = path.join(dir, 'named.duckdb');
    const cols = async () => (await duckRows(file, `SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'tickets' AND column_name LIKE 'cf_%' ORDER BY 1`)).map((r) => r.c);
    const named = (list: unknown[]): unknown[] => list.filter((c) => !/^cf_\d+$/.test(String(c)));
    assert.deepEqual(named(await cols()), ['cf_escalated', 'cf_support_tier'], 'fields with a definition are named after it, the others after their id');
    const [v] = await duckRows(file, `SELECT count(*) AS n FROM tickets WHERE cf_support_tier IN ('tier_1', 'tier_2', 'tier_3')`);
    assert.ok((v.n as number) > 0, 'values land in the named column');
    title = 'Tier';
    sim.mutate({ updatedTickets: 3 });
    sim.advanceClock(61);
    await exportInto(sim, query, { fields });
    assert.deepEqual(named(await cols()), ['cf_escalated', 'cf_support_tier'], 'a renamed field keeps its column');
    const [m] = await duckRows(file, `SELECT title FROM tickets_fields WHERE column_name = 'cf_support_tier'`);
    assert.equal(m.title, 'Tier');
  });

  it('refuses tables written by a different query, and start over drops them', async () => {
    const query = q({ format: 'duckdb', path: 'x.duckdb' });
    await exportInto(sim, query);
    const other = q({ format: 'duckdb', path: 'x.duckdb', deletions: 'flag' });
    await assert.rejects(exportInto(sim, other), (err: ExportError) => err.code === 'checkpointMismatch' && /written by a different query/.test(err.message));
    const release = await targetFor(other).lock();
    await targetFor(other).discard();
    await release();
    const again = await exportInto(sim, other);
    assert.equal(again.checkpoint.records, again.records, 'started from the beginning');
  });

  it('one writer per file: a second export in this process or another is refused at once, naming the holder; so is a file another program holds', async function () {
    const query = q({ format: 'duckdb', path: 'busy.duckdb' });
    const env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
    const release = await targetFor(query).lock();
    try {
      await assert.rejects(targetFor(query).lock(), (err: ExportError) => err.code === 'locked' && /^Another export is writing .*busy\.duckdb right now \(pid \d+/.test(err.message));
      const child = await runCli(['export', 'tickets', '--url', sim.url, '--into', 'duckdb:busy.duckdb'], { cwd: dir, env });
      assert.equal(child.code, 18, child.stderr);
      assert.match(child.stderr.trim(), /^zdx: Another export is writing .*busy\.duckdb right now \(pid \d+/);
    } finally {
      await release();
    }
    // Another program (here a DuckDB client in another process) holding the file: DuckDB's own lock names it.
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { DuckDBInstance } = require('@duckdb/node-api');
      DuckDBInstance.create(${JSON.stringify(path.join(dir, 'busy.duckdb'))}).then(() => { process.stdout.write('open\\n'); setInterval(() => {}, 1000); });`], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      const child = await runCli(['export', 'tickets', '--url', sim.url, '--into', 'duckdb:busy.duckdb'], { cwd: dir, env });
      assert.equal(child.code, 18, child.stderr);
      assert.match(child.stderr.trim(), new RegExp(`^zdx: .*busy\\.duckdb is in use by another process \\(node, PID ${holder.pid}\\): only one export writes a DuckDB file at a time; wait for it to finish or stop it\\.$`));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('DuckDB output: the CLI and SIGKILL', function () {
  this.timeout(600_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    sim = await startSimulator({ seed: 4, counts: { tickets: 8000, users: 200 }, rateLimits: false, latencyMs: 3 });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-tables-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('zdx export --into duckdb:FILE writes the tables and says where the checkpoint is', async () => {
    const r = await runCli(['export', 'tickets', '--url', sim.url, '--support-type-scope', 'all', '--into', 'duckdb:zd.duckdb'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Checkpoint: +.*zd\.duckdb \(table _zdx_checkpoint\)/);
    await assertCurrentState(path.join(dir, 'zd.duckdb'), latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }), 'generated_timestamp');
    const usage = await runCli(['export', 'tickets', '--url', sim.url, '--into', 'duckdb:zd.duckdb', '--state', 's.json'], { cwd: dir, env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--state is for file outputs/);
  });

  it('SIGKILL at random moments (mid-page, mid-merge), then a rerun: no version lost, none doubled, current state exact', async () => {
    const seed = Number(process.env.ZDX_TEST_SEED ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const note = `(seed ${seed}; replay with ZDX_TEST_SEED=${seed})`;
    const entry = path.join(ROOT, 'src', 'engine', 'tables', 'index.ts');
    const exporter = path.join(ROOT, 'src', 'engine', 'export', 'index.ts');
    const query = loadQuery({ name: 'Killed', resource: 'tickets', startTime: 0, params: { perPage: 100, supportTypeScope: 'all' }, output: { format: 'duckdb' } }, { baseDir: dir });
    // The child merges every 300 versions, so kills land inside merges as well as inside pages.
    const script = `
      const { targetFor } = require(${JSON.stringify(entry)});
      const { prepareExport, runExport } = require(${JSON.stringify(exporter)});
      const req = JSON.parse(process.argv[1]);
      (async () => {
        const prepared = await prepareExport(req.query, targetFor(req.query, { mergeEvery: 300 }));
        await runExport({ ...req, prepared, onPage: () => process.stdout.write('page\\n') });
      })().then(() => process.exit(0), (e) => { console.error(e.code, e.message); process.exit(3); });`;
    const arg = JSON.stringify({ connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } }, query });
    let kills = 0;
    let lastRecords = 0;
    for (let attempt = 0; attempt < 6 && kills < 4; attempt++) {
      const killAfter = 2 + Math.floor(random() * 12);
      // Until two kills have landed, the simulator holds the run's next request, so it can't finish
      // before the kill however slow the machine (the kill may land while the request is held).
      if (kills < 2) sim.hold({ afterPages: killAfter, path: '/incremental/' });
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let seen = 0;
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').filter(Boolean).length;
        if (seen >= killAfter && !timer) timer = setTimeout(() => { kills++; child.kill('SIGKILL'); }, Math.floor(random() * 50));
      });
      const code = await exited;
      clearTimeout(timer);
      sim.release();
      if (code === 0) break;
      assert.equal(code, null, `killed, not failed: ${stderr} ${note}`);
      // Whatever the moment, the stored position and the change log agree, and never go back.
      const [cp] = await duckRows(query.output.path, 'SELECT checkpoint, merged_position FROM _zdx_checkpoint');
      const records = (JSON.parse(cp.checkpoint as string) as { records: number }).records;
      const [log] = await duckRows(query.output.path, 'SELECT count(*) AS n, coalesce(max(_position), 0) AS hi FROM tickets_changes');
      assert.deepEqual([log.n, log.hi], [records, records], `change log and checkpoint agree after kill ${kills} ${note}`);
      assert.ok(records >= lastRecords, note);
      lastRecords = records;
    }
    assert.ok(kills >= 2, `runs were killed mid-export (${kills}) ${note}`);
    const done = await runCli(['run', '--url', sim.url, writeQueryFile(dir, query)], { cwd: dir, env });
    assert.equal(done.code, 0, `${done.stderr} ${note}`);
    const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
    const [log] = await duckRows(query.output.path, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT _position) AS p FROM tickets_changes');
    assert.deepEqual(log, { n: latest.size, ids: latest.size, p: latest.size }, `every version once ${note}`);
    await assertCurrentState(query.output.path, latest, 'generated_timestamp');
  });
});

/** The saved query behind a resolved one, so the CLI resumes the very same tables. */
function writeQueryFile(dir: string, query: ResolvedQuery): string {
  const file = path.join(dir, 'killed.zdquery.json');
  writeFileSync(file, JSON.stringify({ name: query.name, resource: query.resource, startTime: 0, params: { perPage: 100, supportTypeScope: 'all' }, output: { format: 'duckdb' } }));
  return file;
}


describe('Parquet output end to end', function () {
  this.timeout(300_000);
  let sim: RunningSimulator;
  let dir: string;
  before(async () => {
    sim = await startSimulator({ seed: 13, counts: { tickets: 2500, users: 200 }, rateLimits: false, latencyMs: 2 });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-parquet-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const query = (): ResolvedQuery => loadQuery({ name: 'Lake', resource: 'tickets', startTime: 0, params: { perPage: 100, supportTypeScope: 'all', include: ['users'] }, output: { format: 'parquet', path: 'lake', snapshot: true } }, { baseDir: dir });
  const glob = (table: string): string => `read_parquet('${path.join(dir, 'lake', table, '*', '*.parquet')}', union_by_name = true, hive_partitioning = true)`;

  it('writes the change log by export day in batches and a current-state snapshot, read back by DuckDB', async () => {
    const q = query();
    const prepared = await prepareExport(q, targetFor(q, { parquetBatch: 700 }));
    const r = await runExport({
      connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
      query: q, prepared,
    }).finally(() => prepared.release());
    const [log] = await duckRows(null, `SELECT count(*) AS n, count(DISTINCT _position) AS p, count(DISTINCT export_day) AS days, count(DISTINCT filename) AS files FROM ${glob('tickets_changes').replace(')', ', filename = true)')}`);
    assert.equal(log.n, r.records);
    assert.equal(log.p, r.records);
    assert.equal(log.days, 1);
    assert.equal(log.files, Math.ceil(r.records / 700), 'one file per batch of 700');
    const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
    const current = await duckRows(null, `SELECT id, generated_timestamp AS v, status FROM read_parquet('${path.join(dir, 'lake', 'tickets.parquet')}') UNION ALL SELECT id, generated_timestamp, status FROM read_parquet('${path.join(dir, 'lake', 'tickets_deleted.parquet')}')`);
    assert.equal(current.length, latest.size);
    for (const row of current) assert.equal(row.v, latest.get(row.id as number));
    const [users] = await duckRows(null, `SELECT count(*) AS n FROM ${glob('tickets_users_changes')}`);
    assert.ok((users.n as number) > 0);
    const cf = await duckRows(null, `SELECT name FROM parquet_schema('${path.join(dir, 'lake', 'tickets.parquet')}') WHERE name LIKE 'cf_%'`);
    assert.ok(cf.length >= 3);
  });

  it('SIGKILL at random moments, then a rerun: no version lost or doubled across the Parquet files', async () => {
    const seed = Number(process.env.ZDX_TEST_SEED ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const note = `(seed ${seed}; replay with ZDX_TEST_SEED=${seed})`;
    const q = query();
    const script = `
      const { targetFor } = require(${JSON.stringify(path.join(ROOT, 'src', 'engine', 'tables', 'index.ts'))});
      const { prepareExport, runExport } = require(${JSON.stringify(path.join(ROOT, 'src', 'engine', 'export', 'index.ts'))});
      const req = JSON.parse(process.argv[1]);
      (async () => {
        const prepared = await prepareExport(req.query, targetFor(req.query, { parquetBatch: 300 }));
        await runExport({ ...req, prepared, onPage: () => process.stdout.write('page\\n') });
      })().then(() => process.exit(0), (e) => { console.error(e.code, e.message); process.exit(3); });`;
    const arg = JSON.stringify({ connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } }, query: q });
    let kills = 0;
    for (let attempt = 0; attempt < 6 && kills < 4; attempt++) {
      const killAfter = 2 + Math.floor(random() * 10);
      // Until two kills have landed, the simulator holds the run's next request, so it can't finish
      // before the kill however slow the machine (the kill may land while the request is held).
      if (kills < 2) sim.hold({ afterPages: killAfter, path: '/incremental/' });
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let seen = 0;
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').filter(Boolean).length;
        if (seen >= killAfter && !timer) timer = setTimeout(() => { kills++; child.kill('SIGKILL'); }, Math.floor(random() * 40));
      });
      const code = await exited;
      clearTimeout(timer);
      sim.release();
      if (code === 0) break;
      assert.equal(code, null, `killed, not failed: ${stderr} ${note}`);
    }
    assert.ok(kills >= 2, `runs were killed mid-export (${kills}) ${note}`);
    const prepared = await prepareExport(q, targetFor(q, { parquetBatch: 300 }));
    await runExport({
      connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
      query: q, prepared,
    }).finally(() => prepared.release());
    const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
    const [log] = await duckRows(null, `SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT _position) AS p, max(_position) AS hi FROM ${glob('tickets_changes')}`);
    assert.deepEqual(log, { n: latest.size, ids: latest.size, p: latest.size, hi: latest.size }, `every version once ${note}`);
  });
});
