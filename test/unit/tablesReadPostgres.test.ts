// The editor's reading side against a real, throwaway PostgreSQL (test/support/postgres.ts): tables
// with counts (exact, or the server's estimate for big ones), windows sorted, filtered and searched by
// the server and equal to plain SQL, names from the catalogue only, reads while an export holds the
// schema's writer lock, and the checkpoint info.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { prepareExport, runExport, type ExportResult } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import { loadQuery, type ResolvedQuery } from '../../src/engine/query';
import { closeTableReaders, ESTIMATE_ABOVE, listTables, MAX_WINDOW_ROWS, readWindow, runSql, tableCheckpointInfo, tableSourceFor, targetFor, type FieldSource, type PostgresResolver, type TableSource, type WindowRequest } from '../../src/engine/tables';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { startTestPostgres, type TestPostgres } from '../support/postgres';

describe('reading PostgreSQL table outputs (a throwaway server)', function () {
  this.timeout(300_000);
  let server: TestPostgres;
  let sim: RunningSimulator;
  let dir: string;
  let resolver: PostgresResolver;
  let query: ResolvedQuery;
  let source: TableSource;

  const fields: FieldSource = {
    definitions: async (kind) => (kind === 'ticket' ? [
      { id: 360001234503, key: null, title: 'Escalated', type: 'checkbox', active: true },
      { id: 360001234508, key: null, title: 'Follow-up date', type: 'date', active: true },
    ] : null),
  };

  async function sql(text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ ...parseIntoClientConfig(server.url), password: server.password });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  const q = (schema: string): ResolvedQuery =>
    loadQuery({ name: 'PG', resource: 'tickets', startTime: 0, params: { perPage: 100, supportTypeScope: 'all' }, output: { format: 'postgres', connection: 'warehouse', schema } }, { baseDir: dir });

  async function exportInto(query: ResolvedQuery, onPage?: () => void): Promise<ExportResult> {
    const prepared = await prepareExport(query, targetFor(query, { postgres: resolver, fields }));
    try {
      return await runExport({
        connection: { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } },
        query, prepared, retry: { baseDelayMs: 5, maxDelayMs: 50 }, onPage,
      });
    } finally {
      await prepared.release();
    }
  }

  before(async () => {
    server = await startTestPostgres();
    sim = await startSimulator({ seed: 17, counts: { tickets: 1200, users: 100, organizations: 10 }, rateLimits: false });
    resolver = async () => ({ url: server.url, password: server.password });
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-pg-read-'));
    query = q('zd');
    await exportInto(query);
    source = (await tableSourceFor(query, { postgres: resolver }))!;
  });
  after(async () => {
    await closeTableReaders();
    await sim?.close();
    server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the schema’s tables with exact counts, the server’s estimate past ESTIMATE_ABOVE rows, columns and roles', async () => {
    assert.deepEqual(source, { kind: 'postgres', connection: { url: server.url, password: server.password }, schema: 'zd' });
    await sql(`CREATE TABLE zd.big AS SELECT g AS n FROM generate_series(1, ${ESTIMATE_ABOVE + 50_000}) g`);
    await sql('ANALYZE zd.big');
    const tables = await listTables(source);
    assert.deepEqual(tables.map((t) => [t.name, t.role ?? null]), [
      ['_zdx_checkpoint', 'checkpoint'], ['big', null], ['tickets', 'current'], ['tickets_changes', 'changes'], ['tickets_deleted', 'deleted'], ['tickets_fields', 'fields'],
    ]);
    for (const t of tables.filter((x) => x.name !== 'big')) {
      const [{ n }] = await sql(`SELECT count(*)::int AS n FROM zd."${t.name}"`);
      assert.deepEqual([t.rows, t.rowsEstimated], [n, undefined], t.name);
    }
    const big = tables.find((t) => t.name === 'big')!;
    assert.equal(big.rowsEstimated, true);
    assert.ok(Math.abs(big.rows - (ESTIMATE_ABOVE + 50_000)) < 25_000, `estimate ${big.rows}`);
    const cols = new Map(tables.find((t) => t.name === 'tickets')!.columns.map((c) => [c.name, c.type]));
    assert.deepEqual([cols.get('id'), cols.get('_record'), cols.get('updated_at'), cols.get('cf_escalated')], ['bigint', 'jsonb', 'timestamp with time zone', 'boolean']);
  });

  it('sorted windows page through the table as plain SQL orders it; cells are JSON-safe', async () => {
    const expected = await sql('SELECT id::float8 AS id FROM zd.tickets ORDER BY status DESC NULLS LAST, id');
    const seen: unknown[] = [];
    for (let offset = 0; offset < expected.length; offset += 250) {
      const w = await readWindow(source, { table: 'tickets', offset, limit: 250, sort: [{ column: 'status', descending: true }], columns: ['id', 'status'] });
      assert.equal(w.total, expected.length);
      seen.push(...w.rows.map((r) => r[0]));
    }
    assert.deepEqual(seen, expected.map((r) => r.id));
    const first = await readWindow(source, { table: 'tickets', offset: 0, limit: 3, columns: ['id', 'updated_at', '_record', 'cf_follow_up_date', 'tags'], filters: [{ column: 'cf_follow_up_date', op: 'isNotNull' }] });
    const ids = await sql('SELECT id::float8 AS id FROM zd.tickets WHERE cf_follow_up_date IS NOT NULL ORDER BY id LIMIT 3');
    assert.deepEqual(first.rows.map((r) => r[0]), ids.map((r) => r.id), 'unsorted windows follow the key');
    const [id, updated, record, date, tags] = first.rows[0];
    assert.match(String(updated), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((JSON.parse(String(record)) as { id: number }).id, id);
    assert.match(String(date), /^\d{4}-\d\d-\d\d$/);
    assert.ok(Array.isArray(JSON.parse(String(tags))));
  });

  it('filters and search run on the server with bound values and agree with plain SQL', async () => {
    const check = async (req: Partial<WindowRequest>, where: string): Promise<number> => {
      const w = await readWindow(source, { table: 'tickets', offset: 0, limit: MAX_WINDOW_ROWS, columns: ['id'], ...req });
      const expected = await sql(`SELECT id::float8 AS id FROM zd.tickets WHERE ${where} ORDER BY id`);
      assert.deepEqual(w.rows.map((r) => r[0]), expected.map((r) => r.id), JSON.stringify(req));
      assert.equal(w.total, expected.length);
      return expected.length;
    };
    assert.ok((await check({ filters: [{ column: 'status', op: 'equals', value: 'solved' }] }, `status = 'solved'`)) > 0);
    assert.ok((await check({ filters: [{ column: 'cf_escalated', op: 'equals', value: 'true' }, { column: 'status', op: 'notEquals', value: 'closed' }] }, `cf_escalated AND status IS DISTINCT FROM 'closed'`)) > 0);
    const [{ mid }] = await sql('SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY updated_at) AS mid FROM zd.tickets');
    assert.ok((await check({ filters: [{ column: 'updated_at', op: 'greaterThan', value: (mid as Date).toISOString() }] }, `updated_at > '${(mid as Date).toISOString()}'`)) > 0);
    const [{ low }] = await sql('SELECT (min(id) + 200)::text AS low FROM zd.tickets');
    assert.ok((await check({ filters: [{ column: 'id', op: 'lessThan', value: Number(low) }] }, `id < ${String(low)}`)) > 0);
    assert.ok((await check({ filters: [{ column: 'subject', op: 'startsWith', value: 'h' }] }, `subject ILIKE 'h%'`)) >= 0);
    const [{ word }] = await sql(`SELECT split_part(subject, ' ', 2) AS word FROM zd.tickets ORDER BY id LIMIT 1`);
    assert.ok((await check({ search: String(word).toUpperCase() }, `_record::text ILIKE '%${String(word)}%'`)) > 0);
    assert.equal(await check({ filters: [{ column: 'subject', op: 'contains', value: `'); DROP TABLE zd.tickets; --` }] }, 'false'), 0);
    await assert.rejects(readWindow(source, { table: 'tickets; DROP TABLE zd.tickets', offset: 0, limit: 1 }), (err: ExportError) => err.code === 'notFound' && /^There is no table "tickets; DROP TABLE zd\.tickets" in 127\.0\.0\.1:\d+\/postgres schema zd\.$/.test(err.message));
    await assert.rejects(runSql(source, { sql: 'SELECT 1' }), /SQL runs here against DuckDB files and Parquet folders/);
    assert.ok(Number((await sql('SELECT count(*)::int AS n FROM zd.tickets'))[0].n) > 0, 'the table is still there');
  });

  it('reads while an export holds the schema’s writer lock, mid-run, and the checkpoint info agrees', async () => {
    const live = q('live');
    sim.hold({ afterPages: 3, path: '/incremental/tickets' });
    let committed = 0;
    let threeCommitted!: () => void;
    const stable = new Promise<void>((resolve) => (threeCommitted = resolve));
    const running = exportInto(live, () => ++committed === 3 && threeCommitted());
    try {
      await sim.waitForHeld();
      await stable;
      const liveSource = (await tableSourceFor(live, { postgres: resolver }))!;
      const tables = await listTables(liveSource);
      assert.equal(tables.find((t) => t.name === 'tickets_changes')!.rows, 300);
      const w = await readWindow(liveSource, { table: 'tickets_changes', offset: 0, limit: 1, sort: [{ column: '_position', descending: true }], columns: ['_position'] });
      assert.deepEqual([w.rows[0][0], w.total], [300, 300]);
      const info = await tableCheckpointInfo(live, { postgres: resolver });
      assert.deepEqual([info.exists, info.matchesQuery, info.records, info.caughtUp, info.outputExists, info.busy], [true, true, 300, false, true, undefined]);
      assert.match(info.checkpointLocation, /^postgres:warehouse\/live \(table _zdx_checkpoint\)$/);
    } finally {
      sim.release();
    }
    assert.equal((await running).caughtUp, true);
    const info = await tableCheckpointInfo(live, { postgres: resolver });
    assert.equal(info.caughtUp, true);
    const none = await tableCheckpointInfo(q('nothing_here'), { postgres: resolver });
    assert.deepEqual([none.outputExists, none.exists], [false, false]);
    await assert.rejects(tableCheckpointInfo(live, { postgres: async () => ({ url: server.url, password: 'wrong' }) }), (err: ExportError) => err.code === 'auth' && !err.message.includes('wrong'));
  });
});
