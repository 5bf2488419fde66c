// PostgreSQL output against a real, throwaway server (test/support/postgres.ts): the same tables and
// semantics as DuckDB, the password kept out of URLs and messages, one writer per schema by advisory
// lock, SIGKILL at random moments then resume, and the CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { prepareExport, runExport, type ExportResult } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import { loadQuery, type ResolvedQuery, type SavedOutput } from '../../src/engine/query';
import { targetFor, type PostgresResolver } from '../../src/engine/tables';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, runCli, seededRandom } from '../support/cliProcess';
import { startTestPostgres, type TestPostgres } from '../support/postgres';
import { latestVersions } from '../support/tables';

const ROOT = path.resolve(__dirname, '..', '..');

describe('PostgreSQL output (a throwaway server)', function () {
  this.timeout(600_000);
  let server: TestPostgres;
  let sim: RunningSimulator;
  let dir: string;
  let resolver: PostgresResolver;

  before(async () => {
    server = await startTestPostgres();
    sim = await startSimulator({ seed: 9, counts: { tickets: 3000, users: 300, organizations: 40 }, rateLimits: false, latencyMs: 2 });
    resolver = async (name) => {
      if (name !== 'warehouse') throw new Error(`unknown connection ${name}`);
      return { url: server.url, password: server.password };
    };
  });
  after(async () => {
    await sim?.close();
    server?.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-pg-tables-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function sql(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ ...parseIntoClientConfig(server.url), password: server.password });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  const q = (schema: string, output: Partial<SavedOutput> = {}, resource = 'tickets'): ResolvedQuery =>
    loadQuery({ name: 'PG', resource, startTime: 0, params: { perPage: 250, ...(resource === 'tickets' ? { supportTypeScope: 'all', include: ['users'] } : {}) }, output: { format: 'postgres', connection: 'warehouse', schema, ...output } }, { baseDir: dir });

  async function exportInto(query: ResolvedQuery): Promise<ExportResult> {
    const prepared = await prepareExport(query, targetFor(query, { postgres: resolver }));
    try {
      return await runExport({
        connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
        query, prepared, retry: { baseDelayMs: 5, maxDelayMs: 50 },
      });
    } finally {
      await prepared.release();
    }
  }

  async function assertCurrentState(schema: string, latest: Map<number, number>, separate = true): Promise<void> {
    const rows = await sql(`SELECT id::text AS id, generated_timestamp::text AS v, status, _deleted, 'current' AS t FROM ${schema}.tickets${separate ? ` UNION ALL SELECT id::text, generated_timestamp::text, status, _deleted, 'deleted' FROM ${schema}.tickets_deleted` : ''}`);
    assert.equal(rows.length, latest.size, 'one row per id');
    for (const r of rows) {
      assert.equal(Number(r.v), latest.get(Number(r.id)), `ticket ${r.id} holds its newest version`);
      assert.equal(r._deleted, r.status === 'deleted');
      if (separate) assert.equal(r.t === 'deleted', r.status === 'deleted');
    }
  }

  it('tickets: current state equals the newest versions, every version in tickets_changes, named columns, sideloads; a rerun adds the changes', async () => {
    const first = await exportInto(q('zd'));
    await assertCurrentState('zd', latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }));
    const [log] = await sql('SELECT count(*)::int AS n, count(DISTINCT _position)::int AS p FROM zd.tickets_changes');
    assert.deepEqual(log, { n: first.records, p: first.records });
    const cf = await sql(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'zd' AND table_name = 'tickets' AND column_name LIKE 'cf\\_%'`);
    assert.ok(cf.length >= 3);
    const [types] = await sql(`SELECT data_type FROM information_schema.columns WHERE table_schema = 'zd' AND table_name = 'tickets' AND column_name = '_record'`);
    assert.equal(types.data_type, 'jsonb');
    const [users] = await sql('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM zd.tickets_users');
    assert.ok(Number(users.n) > 0 && users.n === users.d);
    const [rec] = await sql(`SELECT count(*)::int AS n FROM zd.tickets WHERE (_record->>'id')::bigint <> id`);
    assert.equal(rec.n, 0);

    sim.mutate({ newTickets: 4, updatedTickets: 30 });
    sim.advanceClock(61);
    const second = await exportInto(q('zd'));
    assert.equal(second.records, 34);
    await assertCurrentState('zd', latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }));
  });

  it('deletions "flag", users and organizations in one schema', async () => {
    await exportInto(q('flagged', { deletions: 'flag' }));
    await assertCurrentState('flagged', latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }), false);
    for (const resource of ['users', 'organizations']) {
      await exportInto(q('flagged', { deletions: 'flag' }, resource));
      const latest = latestVersions(sim, resource);
      const rows = await sql(`SELECT id::text AS id, extract(epoch FROM updated_at)::bigint::text AS v FROM flagged.${resource}`);
      assert.equal(rows.length, latest.size, resource);
      for (const r of rows) assert.equal(Number(r.v), latest.get(Number(r.id)));
    }
  });

  it('one writer per schema: a second export is refused at once, naming the session that holds it; start over drops the tables', async () => {
    const query = q('locked');
    await exportInto(query);
    const release = await targetFor(query, { postgres: resolver }).lock();
    try {
      await assert.rejects(targetFor(query, { postgres: resolver }).lock(), (err: ExportError) => {
        assert.equal(err.code, 'locked');
        assert.match(err.message, /^The schema locked at 127\.0\.0\.1:\d+\/postgres is being written by another export \(zdx export \(pid \d+ on .+\), PostgreSQL backend \d+, connected since .+\): only one export writes a schema at a time; wait for it to finish or stop it\.$/);
        return true;
      });
    } finally {
      await release();
    }
    const prepared = await prepareExport(query, targetFor(query, { postgres: resolver }), { fresh: true });
    await prepared.release();
    const left = await sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'locked' ORDER BY 1`);
    assert.deepEqual(left.map((r) => r.table_name), ['_zdx_checkpoint']);
    assert.equal((await exportInto(query)).checkpoint.records > 0, true);
  });

  it('a wrong password fails in one sentence that holds no secret, and creates nothing', async () => {
    const query = q('nope');
    const target = targetFor(query, { postgres: async () => ({ url: server.url, password: 'not-the-password' }) });
    await assert.rejects(target.readCheckpoint(), (err: ExportError) => {
      assert.equal(err.code, 'auth');
      assert.match(err.message, /^PostgreSQL at 127\.0\.0\.1:\d+\/postgres refused the login/);
      assert.ok(!err.message.includes('not-the-password') && !err.message.includes(server.password));
      return true;
    });
    assert.deepEqual(await sql(`SELECT 1 FROM information_schema.schemata WHERE schema_name = 'nope'`), []);
  });

  it('the CLI: --into postgres:URL --schema with PGPASSWORD; a password in the URL is refused without echoing it', async () => {
    const env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token, PGPASSWORD: server.password });
    const r = await runCli(['export', 'tickets', '--url', sim.url, '--support-type-scope', 'all', '--into', `postgres:${server.url}`, '--schema', 'cli'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    await assertCurrentState('cli', latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' }));
    const withSecret = server.url.replace('postgres@', 'postgres:hunter2@');
    const bad = await runCli(['export', 'tickets', '--url', sim.url, '--into', `postgres:${withSecret}`], { cwd: dir, env });
    assert.equal(bad.code, 7, bad.stderr);
    assert.match(bad.stderr, /holds a password/);
    assert.ok(!bad.stderr.includes('hunter2'));
    const byName = await runCli(['export', 'tickets', '--url', sim.url, '--into', 'postgres:warehouse', '--schema', 'named'], { cwd: dir, env: { ...env, ZDX_DATABASE_URL_WAREHOUSE: server.url } });
    assert.equal(byName.code, 0, byName.stderr);
  });

  it('SIGKILL at random moments, then a rerun: change log and position always agree, the end result is exact', async () => {
    const seed = Number(process.env.ZDX_TEST_SEED ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const note = `(seed ${seed}; replay with ZDX_TEST_SEED=${seed})`;
    const query = q('killed');
    const script = `
      const { targetFor } = require(${JSON.stringify(path.join(ROOT, 'src', 'engine', 'tables', 'index.ts'))});
      const { prepareExport, runExport } = require(${JSON.stringify(path.join(ROOT, 'src', 'engine', 'export', 'index.ts'))});
      const req = JSON.parse(process.argv[1]);
      (async () => {
        const prepared = await prepareExport(req.query, targetFor(req.query, { postgres: async () => req.database }));
        await runExport({ ...req, prepared, onPage: () => process.stdout.write('page\\n') });
      })().then(() => process.exit(0), (e) => { console.error(e.code, e.message); process.exit(3); });`;
    const arg = JSON.stringify({
      connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
      query, database: { url: server.url, password: server.password },
    });
    let kills = 0;
    let last = 0;
    for (let attempt = 0; attempt < 6 && kills < 4; attempt++) {
      const killAfter = 1 + Math.floor(random() * 5);
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
      const [cp] = await sql(`SELECT checkpoint FROM killed._zdx_checkpoint WHERE resource = 'tickets'`);
      const records = (JSON.parse(cp.checkpoint as string) as { records: number }).records;
      const [log] = await sql('SELECT count(*)::int AS n, coalesce(max(_position), 0)::int AS hi FROM killed.tickets_changes');
      assert.deepEqual([log.n, log.hi], [records, records], `change log and checkpoint agree after kill ${kills} ${note}`);
      assert.ok(records >= last, note);
      last = records;
    }
    assert.ok(kills >= 2, `runs were killed mid-export (${kills}) ${note}`);
    await exportInto(query);
    const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
    const [log] = await sql('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM killed.tickets_changes');
    assert.deepEqual(log, { n: latest.size, ids: latest.size }, `every version once ${note}`);
    await assertCurrentState('killed', latest);
  });
});
