// The editor's reading side of table outputs (DuckDB files and Parquet folders): tables with row
// counts, columns and roles; windows with sort, filters and search checked against an independent
// DuckDB client; names only from the catalogue; a person's SQL that can change nothing, paged and
// cancellable; reading while an export of this process writes, and the "busy" answer while another
// process holds the file; the checkpoint as the Resume CodeLens and the Runs view show it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareExport, runExport, type ExportResult } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import { loadQuery, type ResolvedQuery, type SavedOutput } from '../../src/engine/query';
import { closeTableReaders, listTables, MAX_WINDOW_ROWS, readWindow, runSql, tableCheckpointInfo, tableSourceFor, targetFor, type FieldSource, type TableSource, type WindowRequest } from '../../src/engine/tables';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { duckRows } from '../support/tables';

const ROOT = path.resolve(__dirname, '..', '..');

describe('reading table outputs (DuckDB, Parquet)', function () {
  this.timeout(240_000);
  let sim: RunningSimulator;
  let dir: string;
  let file: string;
  let query: ResolvedQuery;
  let source: TableSource;

  const connection = () => ({ baseUrl: sim.url, credentials: { kind: 'apiToken' as const, email: sim.credentials.admin.email, token: sim.credentials.admin.token } });
  const q = (output: SavedOutput, name = 'Tickets'): ResolvedQuery =>
    loadQuery({ name, resource: 'tickets', startTime: 0, params: { perPage: 100, supportTypeScope: 'all', include: ['users'] }, output }, { baseDir: dir });

  // Field definitions as the account has them, so custom fields have named, typed columns.
  const fields: FieldSource = {
    definitions: async (kind) => (kind === 'ticket' ? [
      { id: 360001234503, key: null, title: 'Escalated', type: 'checkbox', active: true },
      { id: 360001234504, key: null, title: 'Order Number', type: 'integer', active: true },
      { id: 360001234508, key: null, title: 'Follow-up date', type: 'date', active: true },
    ] : null),
  };

  async function exportInto(query: ResolvedQuery, opts: { onPage?: () => void } = {}): Promise<ExportResult> {
    const prepared = await prepareExport(query, targetFor(query, { mergeEvery: 500, parquetBatch: 400, fields }));
    try {
      return await runExport({ connection: connection(), query, prepared, retry: { baseDelayMs: 5, maxDelayMs: 50 }, onPage: opts.onPage });
    } finally {
      await prepared.release();
    }
  }

  before(async () => {
    sim = await startSimulator({ seed: 31, counts: { tickets: 1200, users: 150, organizations: 20 }, rateLimits: false });
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-tables-read-'));
    query = q({ format: 'duckdb' });
    file = query.output.path;
    await exportInto(query);
    source = (await tableSourceFor(query))!;
  });
  after(async () => {
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists every table with its row count, columns and role', async () => {
    assert.deepEqual(source, { kind: 'duckdb', path: file });
    const tables = await listTables(source);
    assert.deepEqual(tables.map((t) => [t.name, t.role, t.resource]), [
      ['_zdx_checkpoint', 'checkpoint', undefined],
      ['tickets', 'current', 'tickets'],
      ['tickets_changes', 'changes', 'tickets'],
      ['tickets_deleted', 'deleted', 'tickets'],
      ['tickets_fields', 'fields', 'tickets'],
      ['tickets_users', 'sideload', 'tickets'],
    ]);
    for (const t of tables) {
      const [{ n }] = await duckRows(file, `SELECT count(*) AS n FROM "${t.name}"`);
      assert.equal(t.rows, n, t.name);
      assert.equal(t.rowsEstimated, undefined);
    }
    const tickets = tables.find((t) => t.name === 'tickets')!;
    const cols = new Map(tickets.columns.map((c) => [c.name, c.type]));
    assert.equal(cols.get('id'), 'BIGINT');
    assert.equal(cols.get('_record'), 'JSON');
    assert.equal(cols.get('updated_at'), 'TIMESTAMP');
    assert.ok([...cols.keys()].some((c) => c.startsWith('cf_')), 'custom-field columns are listed');
  });

  it('windows in the table’s own order and sorted, page after page, equal to an independent client', async () => {
    const [{ n }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets');
    const first = await readWindow(source, { table: 'tickets', offset: 0, limit: 50 });
    assert.equal(first.total, n);
    assert.equal(first.rows.length, 50);
    assert.equal(first.columns[0].name, '_position');
    const expected = await duckRows(file, 'SELECT id FROM tickets ORDER BY subject DESC NULLS LAST, id');
    const seen: unknown[] = [];
    const idAt = (w: { columns: { name: string }[]; rows: unknown[][] }) => w.columns.findIndex((c) => c.name === 'id');
    for (let offset = 0; offset < (n as number); offset += 400) {
      const w = await readWindow(source, { table: 'tickets', offset, limit: 400, sort: [{ column: 'subject', descending: true }], count: offset === 0 });
      assert.equal(w.offset, offset);
      assert.equal(w.total, offset === 0 ? n : null);
      seen.push(...w.rows.map((r) => r[idAt(w)]));
    }
    assert.deepEqual(seen, expected.map((r) => r.id), 'consecutive sorted windows neither overlap nor skip');
    const cells = await readWindow(source, { table: 'tickets', offset: 0, limit: 1, columns: ['id', 'updated_at', '_record', 'tags', 'cf_follow_up_date'], sort: [{ column: 'cf_follow_up_date', descending: true }] });
    assert.deepEqual(cells.columns.map((c) => c.name), ['id', 'updated_at', '_record', 'tags', 'cf_follow_up_date']);
    const [id, updated, record, tags, date] = cells.rows[0];
    assert.equal(typeof id, 'number');
    assert.match(String(updated), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'timestamps as ISO text');
    assert.equal((JSON.parse(String(record)) as { id: number }).id, id, 'the record as JSON text');
    assert.ok(Array.isArray(JSON.parse(String(tags))));
    assert.match(String(date), /^\d{4}-\d\d-\d\d$/, 'dates as YYYY-MM-DD');
  });

  it('filters and search are done by the database, with the values bound, and agree with plain SQL', async () => {
    const check = async (req: Partial<WindowRequest>, where: string): Promise<number> => {
      const w = await readWindow(source, { table: 'tickets', offset: 0, limit: MAX_WINDOW_ROWS, ...req });
      const expected = await duckRows(file, `SELECT id FROM tickets WHERE ${where} ORDER BY id`);
      const ids = w.rows.map((r) => r[w.columns.findIndex((c) => c.name === 'id')]).sort((a, b) => Number(a) - Number(b));
      assert.deepEqual(ids, expected.map((r) => r.id), JSON.stringify(req));
      assert.equal(w.total, expected.length);
      return expected.length;
    };
    assert.ok((await check({ filters: [{ column: 'status', op: 'equals', value: 'open' }] }, `status = 'open'`)) > 0);
    assert.ok((await check({ filters: [{ column: 'status', op: 'notEquals', value: 'open' }] }, `status IS DISTINCT FROM 'open'`)) > 0);
    const [{ mid }] = await duckRows(file, 'SELECT median(generated_timestamp)::BIGINT AS mid FROM tickets');
    assert.ok((await check({ filters: [{ column: 'generated_timestamp', op: 'greaterThan', value: String(mid) }] }, `generated_timestamp > ${mid}`)) > 0);
    const [{ t }] = await duckRows(file, `SELECT strftime(median(updated_at), '%Y-%m-%dT%H:%M:%SZ') AS t FROM tickets`);
    assert.ok((await check({ filters: [{ column: 'updated_at', op: 'lessThan', value: String(t) }] }, `updated_at < TIMESTAMP '${String(t).replace('T', ' ').replace('Z', '')}'`)) > 0);
    assert.ok((await check({ filters: [{ column: 'subject', op: 'contains', value: 'A' }] }, `subject ILIKE '%a%'`)) > 0, 'contains ignores case');
    assert.ok((await check({ filters: [{ column: 'cf_escalated', op: 'equals', value: true }, { column: 'cf_order_number', op: 'isNotNull' }] }, 'cf_escalated AND cf_order_number IS NOT NULL')) > 0);
    assert.ok((await check({ filters: [{ column: 'assignee_id', op: 'isNull' }] }, 'assignee_id IS NULL')) >= 0);
    const [{ word }] = await duckRows(file, `SELECT split_part(subject, ' ', 1) AS word FROM tickets LIMIT 1`);
    assert.ok((await check({ search: String(word).toUpperCase() }, `CAST(_record AS VARCHAR) ILIKE '%${String(word)}%'`)) > 0, 'search looks at the whole record');
    // LIKE's wildcards and SQL in values are plain text: nothing matches, nothing breaks.
    assert.equal(await check({ filters: [{ column: 'subject', op: 'contains', value: `%'; DROP TABLE tickets; --` }] }, 'false'), 0);
    assert.equal(await check({ search: '_%_%_%_%_%_%_%_%_%_%_%' }, 'false'), 0);
    const [{ n }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets');
    assert.ok((n as number) > 0, 'the table is still there');
  });

  it('takes table and column names from the catalogue only, and refuses bad requests in one sentence', async () => {
    const refuse = async (req: Partial<WindowRequest>, code: string, message: RegExp) =>
      assert.rejects(readWindow(source, { table: 'tickets', offset: 0, limit: 10, ...req }), (err: ExportError) => {
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    await refuse({ table: 'tickets"; DROP TABLE tickets; --' }, 'notFound', /^There is no table "tickets"; DROP TABLE tickets; --" in .*tickets\.duckdb\.$/);
    await refuse({ sort: [{ column: 'id" DESC; DROP TABLE tickets; --' }] }, 'notFound', /^The table tickets has no column "id" DESC; DROP TABLE tickets; --" \(sorted on\)\.$/);
    await refuse({ columns: ['1; SELECT 2'] }, 'notFound', /has no column "1; SELECT 2" \(asked for\)/);
    await refuse({ filters: [{ column: 'nope', op: 'equals', value: 1 }] }, 'notFound', /has no column "nope" \(filtered on\)/);
    await refuse({ filters: [{ column: 'id', op: 'like' as never, value: 1 }] }, 'invalidQuery', /"like" is not a filter/);
    await refuse({ filters: [{ column: 'id', op: 'greaterThan', value: 'ten' }] }, 'invalidQuery', /^The column id holds numbers; "ten" is not one\.$/);
    await refuse({ filters: [{ column: 'updated_at', op: 'lessThan', value: 'yesterday' }] }, 'invalidQuery', /holds times; "yesterday" is not one/);
    await refuse({ filters: [{ column: 'status', op: 'equals' }] }, 'invalidQuery', /needs a value/);
    await refuse({ limit: MAX_WINDOW_ROWS + 1 }, 'invalidQuery', /^A window holds 1 to 1000 rows \(got 1001\)\.$/);
    await refuse({ offset: -1 }, 'invalidQuery', /offset is a whole number/);
    await assert.rejects(listTables({ kind: 'duckdb', path: path.join(dir, 'none.duckdb') }), (err: ExportError) => err.code === 'notFound' && /no DuckDB file at .*none\.duckdb yet/.test(err.message));
    const [{ n }] = await duckRows(file, `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'tickets'`);
    assert.equal(n, 1);
  });

  it('runs a person’s SQL read-only, page by page, and refuses anything that would change something', async () => {
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const sql = 'SELECT id, status, updated_at FROM tickets ORDER BY id';
    const all = await duckRows(file, sql);
    const pages: unknown[] = [];
    let offset = 0;
    for (;;) {
      const page = await runSql(source, { sql, offset, limit: 300 });
      assert.deepEqual(page.columns.map((c) => [c.name, c.type]), [['id', 'BIGINT'], ['status', 'VARCHAR'], ['updated_at', 'TIMESTAMP']]);
      assert.equal(page.offset, offset);
      pages.push(...page.rows.map((r) => r[0]));
      offset += page.rows.length;
      if (!page.more) break;
      assert.equal(page.rows.length, 300);
    }
    assert.deepEqual(pages, all.map((r) => r.id));
    const exact = await runSql(source, { sql: `SELECT * FROM range(600)`, offset: 300, limit: 300 });
    assert.deepEqual([exact.rows.length, exact.more, exact.rows[0][0], exact.rows[299][0]], [300, false, 300, 599], 'a page ending with the result says no more');
    const described = await runSql(source, { sql: 'DESCRIBE tickets' });
    assert.ok(described.rows.some((r) => r[0] === '_record'));
    const refused: [string, RegExp][] = [
      ['INSERT INTO tickets (id) VALUES (1)', /^Only queries run here .*; this is an INSERT statement, which would change something\.$/],
      ['DROP TABLE tickets', /this is a DROP statement/],
      [`COPY tickets TO '${path.join(dir, 'out.csv')}'`, /this is a COPY statement/],
      [`ATTACH '${path.join(dir, 'other.duckdb')}'`, /this is an ATTACH statement/],
      ['SET threads = 1', /this is a SET statement/],
      ['SELECT 1; DROP TABLE tickets', /^Run one statement at a time \(this SQL holds 2\)\.$/],
      ['EXPLAIN ANALYZE DELETE FROM tickets', /read-only/i],
      ['SELEC id FROM tickets', /^DuckDB can't run this SQL: Parser Error: syntax error at or near "SELEC"/],
      ['SELECT nope FROM tickets', /Referenced column "nope" not found/],
    ];
    for (const [text, message] of refused) {
      await assert.rejects(runSql(source, { sql: text }), (err: ExportError) => {
        assert.equal(err.code, 'invalidQuery', text);
        assert.match(err.message, message, text);
        return true;
      });
    }
    await assert.rejects(runSql(source, { sql: 'SELECT 1', limit: 5000 }), /A result page holds 1 to 1000 rows/);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), before, 'the file is unchanged');
  });

  it('a long query stops when cancelled', async () => {
    const abort = new AbortController();
    const running = runSql(source, { sql: 'SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3' }, { signal: abort.signal, onStart: () => abort.abort() });
    await assert.rejects(running, (err: ExportError) => err.code === 'cancelled' && /^The query on tickets\.duckdb was cancelled\.$/.test(err.message));
    assert.equal((await listTables(source)).length, 6, 'the connection is usable again');
  });

  it('reads while an export of this process writes the file; a person’s SQL then goes through the writer’s instance and still changes nothing', async () => {
    const live = q({ format: 'duckdb', path: 'live.duckdb' }, 'Live');
    sim.hold({ afterPages: 4, path: '/incremental/tickets' });
    // Four pages pass the simulator's gate, so four commit; then the export waits for the fifth.
    const pages = 4;
    let committed = 0;
    let fourCommitted!: () => void;
    const stable = new Promise<void>((resolve) => (fourCommitted = resolve));
    const running = exportInto(live, { onPage: () => ++committed === pages && fourCommitted() });
    try {
      await sim.waitForHeld();
      await stable;
      const liveSource: TableSource = { kind: 'duckdb', path: live.output.path };
      const tables = await listTables(liveSource);
      const changes = tables.find((t) => t.name === 'tickets_changes')!;
      assert.equal(changes.rows, pages * 100, 'the committed pages, counted while the export holds the file');
      const w = await readWindow(liveSource, { table: 'tickets_changes', offset: 0, limit: 10, sort: [{ column: '_position', descending: true }] });
      assert.equal(w.rows[0][0], pages * 100);
      const info = await tableCheckpointInfo(live);
      assert.deepEqual([info.exists, info.matchesQuery, info.records, info.caughtUp, info.busy], [true, true, pages * 100, false, undefined]);
      await assert.rejects(runSql(liveSource, { sql: 'EXPLAIN ANALYZE DELETE FROM tickets_changes' }), /read-only/i);
      await assert.rejects(runSql(liveSource, { sql: 'DELETE FROM tickets_changes' }), /this is a DELETE statement/);
      const page = await runSql(liveSource, { sql: 'SELECT count(*) AS n FROM tickets_changes' });
      assert.equal(page.rows[0][0], pages * 100);
    } finally {
      sim.release();
    }
    const done = await running;
    assert.equal(done.caughtUp, true);
    const [{ n }] = await duckRows(live.output.path, 'SELECT count(*) AS n FROM tickets_changes');
    assert.equal(n, done.records, 'nothing was lost to the reads');
  });

  it('an export starting in this process stops a long read-only query and writes', async () => {
    const abort = new AbortController();
    let started!: () => void;
    const isRunning = new Promise<void>((resolve) => (started = resolve));
    const sql = runSql(source, { sql: 'SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3' }, { signal: abort.signal, onStart: () => started() });
    sql.catch(() => undefined);
    try {
      await isRunning;
      sim.mutate({ updatedTickets: 5 });
      sim.advanceClock(61);
      const result = await exportInto(query);
      assert.equal(result.records, 5);
      await assert.rejects(sql, (err: ExportError) => err.code === 'cancelled' && /was stopped because an export started writing the file/.test(err.message));
    } finally {
      abort.abort();
      await sql.catch(() => undefined);
    }
  });

  it('another process writing the file: reads are refused in one sentence naming it, and the checkpoint info says busy', async () => {
    let holder: ChildProcess | undefined;
    // This process's readers let go of the file first (they linger a moment after each read).
    await closeTableReaders();
    try {
      holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
        const { DuckDBInstance } = require('@duckdb/node-api');
        DuckDBInstance.create(${JSON.stringify(file)}).then(() => { process.stdout.write('open\\n'); setInterval(() => {}, 1000); });`], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
      await new Promise<void>((resolve, reject) => {
        holder!.stdout!.once('data', () => resolve());
        holder!.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      const sentence = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is being written by another process \\(node, PID ${holder.pid}\\); DuckDB lets no other process open it meanwhile, so its tables can be read once that export ends\\.$`);
      await assert.rejects(listTables(source), (err: ExportError) => err.code === 'locked' && sentence.test(err.message));
      await assert.rejects(readWindow(source, { table: 'tickets', offset: 0, limit: 1 }), (err: ExportError) => err.code === 'locked');
      const info = await tableCheckpointInfo(query);
      assert.match(info.busy ?? '', sentence);
      assert.equal(info.outputExists, true);
    } finally {
      if (holder && holder.exitCode === null) {
        const gone = new Promise((resolve) => holder!.once('exit', resolve));
        holder.kill('SIGKILL');
        await gone;
      }
    }
    // Once it is gone, everything reads again.
    assert.equal((await tableCheckpointInfo(query)).busy, undefined);
  });

  it('checkpoint info for table outputs: records, last record time, caught up; a different query and a missing file', async () => {
    const info = await tableCheckpointInfo(query);
    const [{ cp }] = await duckRows(file, `SELECT checkpoint AS cp FROM _zdx_checkpoint WHERE resource = 'tickets'`);
    const stored = JSON.parse(String(cp)) as { records: number; pages: number; lastRecordTime: number; updatedAt: string };
    assert.deepEqual(info, {
      checkpointLocation: `${file} (table _zdx_checkpoint)`, outputExists: true, exists: true, matchesQuery: true,
      records: stored.records, pages: stored.pages, lastRecordTime: stored.lastRecordTime, caughtUp: true, updatedAt: stored.updatedAt,
      files: ['tickets', 'tickets_changes', 'tickets_deleted', 'tickets_fields', 'tickets_users'],
    });
    const other = q({ format: 'duckdb', deletions: 'flag' });
    assert.equal((await tableCheckpointInfo(other)).matchesQuery, false);
    const missing = await tableCheckpointInfo(q({ format: 'duckdb', path: 'never.duckdb' }));
    assert.deepEqual([missing.outputExists, missing.exists, missing.records], [false, false, 0]);
  });

  it('a Parquet folder reads the same way: its change log and snapshot as tables', async () => {
    const lake = q({ format: 'parquet', path: 'lake', snapshot: true }, 'Lake');
    const result = await exportInto(lake);
    const lakeSource = (await tableSourceFor(lake))!;
    assert.deepEqual(lakeSource, { kind: 'parquet', path: path.join(dir, 'lake') });
    const tables = await listTables(lakeSource);
    assert.deepEqual(tables.map((t) => [t.name, t.role]), [
      ['tickets', 'current'], ['tickets_changes', 'changes'], ['tickets_deleted', 'deleted'], ['tickets_fields', 'fields'], ['tickets_users_changes', 'sideload'],
    ]);
    assert.equal(tables.find((t) => t.name === 'tickets_changes')!.rows, result.records);
    const w = await readWindow(lakeSource, { table: 'tickets_changes', offset: 0, limit: 5, sort: [{ column: '_position', descending: true }], columns: ['_position', 'id'] });
    assert.deepEqual([w.rows[0][0], w.total], [result.records, result.records]);
    const page = await runSql(lakeSource, { sql: 'SELECT count(*) FROM tickets' });
    assert.equal(page.rows[0][0], tables.find((t) => t.name === 'tickets')!.rows);
    const info = await tableCheckpointInfo(lake);
    assert.deepEqual([info.exists, info.records, info.caughtUp, info.checkpointLocation], [true, result.records, true, path.join(dir, 'lake', 'tickets.checkpoint.json')]);
  });
});
