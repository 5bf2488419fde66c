// The editor's table requests through the engine server over stdio (a real child process driven by
// JSON-RPC, as an editor would), against the simulator on loopback: a DuckDB export's tables with
// their counts while it runs (held by the simulator where the test watches) and after, windows with
// sort / filter / search done by DuckDB and checked with DuckDB's own client, read-only SQL paged,
// the checkpoint of a table output; PostgreSQL against a throwaway server with its password asked
// of the client (GetDatabaseConnection) and kept out of every log.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import {
  CheckpointInfo,
  ExportProgress,
  GetDatabaseConnection,
  GetTableWindow,
  ListTables,
  RunSql,
  StartExport,
  type ConnectionRef,
  type DatabaseRef,
  type ExportProgressParams,
  type GetDatabaseConnectionParams,
  type GetDatabaseConnectionResult,
  type ResponseErrorData,
} from '../../src/protocol/customMessages';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { startEngineServer, type EngineServer } from '../support/engineServer';
import { startTestPostgres, type TestPostgres } from '../support/postgres';
import { duckRows, latestVersions } from '../support/tables';

/** A request that must fail: resolves with its ResponseError. */
async function refusal(p: Promise<unknown>): Promise<ResponseError<ResponseErrorData>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResponseError, String(err));
    return err as ResponseError<ResponseErrorData>;
  }
  assert.fail('the request was answered instead of refused');
}

const ID_SORT = (a: number, b: number) => a - b;

describe('tables in the editor: the engine server\'s table requests', function () {
  this.timeout(300_000);
  let sim: RunningSimulator;
  let ws: string;
  let server: EngineServer;
  let connection: ConnectionRef;
  const progress: ExportProgressParams[] = [];
  const asked: GetDatabaseConnectionParams[] = [];
  let answer: (p: GetDatabaseConnectionParams) => GetDatabaseConnectionResult = () => null;

  before(async () => {
    sim = await startSimulator({ seed: 31, counts: { tickets: 1200, users: 120, organizations: 20 }, rateLimits: false, latencyMs: 2 });
    ws = mkdtempSync(path.join(os.tmpdir(), 'zdx-tables-server-'));
    connection = { name: 'sim', baseUrl: sim.url, auth: 'apiToken', email: sim.credentials.admin.email };
    server = await startEngineServer({ workspace: ws, connections: [connection], credentials: () => ({ secret: sim.credentials.admin.token }) });
    server.rpc.onNotification(ExportProgress.type, (p) => void progress.push(p));
    server.rpc.onRequest(GetDatabaseConnection.type, (p) => {
      asked.push(p);
      return answer(p);
    });
  });

  after(async () => {
    sim?.release();
    await server?.stop();
    await sim?.close();
    rmSync(ws, { recursive: true, force: true });
  });

  function writeQuery(name: string, output: Record<string, unknown>): string {
    const file = path.join(ws, `${name}.zdquery.json`);
    const query = { name, connection: 'sim', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 100, supportTypeScope: 'all' }, output };
    writeFileSync(file, JSON.stringify(query, null, 2));
    return pathToFileURL(file).toString();
  }

  describe('DuckDB', () => {
    let queryUri: string;
    let file: string;
    let db: DatabaseRef;

    before(() => {
      queryUri = writeQuery('duck', { format: 'duckdb', path: 'out/duck.duckdb' });
      file = path.join(ws, 'out', 'duck.duckdb');
      db = { kind: 'duckdb', path: file };
    });

    it('lists the tables of the query\'s output: nothing before a run, live counts while it runs, the current state after', async () => {
      const before = await server.rpc.sendRequest(ListTables.type, { queryUri });
      assert.deepEqual(before, { database: db, label: file, exists: false, tables: [], writing: false });

      // The simulator holds the third page: the export has committed two and waits for Zendesk.
      sim.hold({ afterPages: 2, path: '/tickets/cursor' });
      const started = await server.rpc.sendRequest(StartExport.type, { queryUri });
      await sim.waitForHeld();
      const page2 = await server.waitFor('the second page', () => progress.find((p) => p.sessionId === started.sessionId && p.event.type === 'page' && p.counts.pages === 2));
      const live = await server.rpc.sendRequest(ListTables.type, { queryUri });
      assert.equal(live.writing, true, 'an export writes it now');
      assert.equal(live.exists, true);
      const changes = live.tables.find((t) => t.name === 'tickets_changes');
      assert.ok(changes, `tables while running: ${live.tables.map((t) => t.name).join(', ')}`);
      assert.equal(changes.rows, page2.counts.records, 'every version of the two committed pages, and no more');
      assert.equal(changes.role, 'changes');
      sim.release();
      const finished = await server.waitFor('the end of the export', () => server.finished.find((f) => f.sessionId === started.sessionId), 120_000);
      assert.equal(finished.status, 'done', JSON.stringify(finished.error));

      const after = await server.rpc.sendRequest(ListTables.type, { queryUri });
      assert.equal(after.writing, false);
      const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
      const byName = new Map(after.tables.map((t) => [t.name, t]));
      const current = byName.get('tickets');
      assert.ok(current, `tables: ${[...byName.keys()].join(', ')}`);
      assert.equal(current.role, 'current');
      assert.equal(current.resource, 'tickets');
      const [{ n: deleted }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets_deleted');
      assert.equal(current.rows + Number(deleted), latest.size, 'one row per ticket, deleted ones apart');
      assert.equal(byName.get('tickets_changes')?.rows, finished.counts.records);
      for (const c of ['id', 'subject', 'status', 'updated_at', '_record']) assert.ok(current.columns.some((k) => k.name === c), `tickets has ${c}`);
      // Custom fields are columns named after their titles: the engine server fetched the account's field list.
      assert.ok(current.columns.some((k) => k.name === 'cf_support_tier'), `custom-field columns: ${current.columns.filter((k) => k.name.startsWith('cf_')).map((k) => k.name).join(', ')}`);
      assert.equal(byName.get('tickets_fields')?.role, 'fields');
    });

    it('reads windows with sort, filter and search done by DuckDB, as DuckDB\'s own client reads them', async () => {
      const all = await duckRows(file, 'SELECT id, subject, status FROM tickets');
      // Sort by subject, descending; pages follow one another without overlap.
      const first = await server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'tickets', offset: 0, limit: 50, sort: [{ column: 'subject', descending: true }], columns: ['id', 'subject'] });
      const second = await server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'tickets', offset: 50, limit: 50, sort: [{ column: 'subject', descending: true }], columns: ['id', 'subject'] });
      assert.deepEqual(first.columns.map((c) => c.name), ['id', 'subject']);
      assert.equal(first.total, all.length);
      const subjects = [...first.rows, ...second.rows].map((r) => String(r[1]));
      const expected = all.map((r) => String(r.subject)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).slice(0, 100);
      assert.deepEqual(subjects, expected);
      const ids = [...first.rows, ...second.rows].map((r) => Number(r[0]));
      assert.equal(new Set(ids).size, 100, 'no row twice across pages');

      // Filter: status contains "SOLV" (case-insensitive), as the grid's floating filter asks.
      const solved = all.filter((r) => String(r.status).toLowerCase().includes('solv')).map((r) => Number(r.id)).sort(ID_SORT);
      assert.ok(solved.length > 0 && solved.length < all.length);
      const filtered = await server.rpc.sendRequest(GetTableWindow.type, {
        database: db, table: 'tickets', offset: 0, limit: 1000, sort: [{ column: 'id' }], filters: [{ column: 'status', op: 'contains', value: 'SOLV' }], columns: ['id', 'status'],
      });
      assert.equal(filtered.total, solved.length);
      assert.deepEqual(filtered.rows.map((r) => Number(r[0])), solved);

      // Search anywhere in the record: a subject's word finds the tickets whose record holds it.
      const word = String(all[0].subject).split(/\s+/).find((w) => w.length > 4) ?? String(all[0].subject);
      const [{ n }] = await duckRows(file, `SELECT count(*) AS n FROM tickets WHERE CAST(_record AS VARCHAR) ILIKE '%' || '${word.replace(/'/g, "''")}' || '%'`);
      const searched = await server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'tickets', offset: 0, limit: 10, search: word, columns: ['id'] });
      assert.equal(searched.total, Number(n));
      assert.ok(Number(n) >= 1);

      // A table or column that isn't there: one sentence, nothing read.
      const noTable = await refusal(server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'nope', offset: 0, limit: 10 }));
      assert.match(noTable.message, /no table "nope"/);
      const noColumn = await refusal(server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'tickets', offset: 0, limit: 10, sort: [{ column: 'nope' }] }));
      assert.match(noColumn.message, /no column "nope"/);
    });

    it('runs one read-only statement a page at a time, and refuses one that would change the file', async () => {
      const sql = 'SELECT id, status FROM tickets ORDER BY id';
      const expected = (await duckRows(file, sql)).map((r) => Number(r.id));
      const seen: number[] = [];
      for (let offset = 0; ; offset += 300) {
        const page = await server.rpc.sendRequest(RunSql.type, { database: db, sql, offset, limit: 300 });
        assert.deepEqual(page.columns.map((c) => c.name), ['id', 'status']);
        assert.equal(page.offset, offset);
        seen.push(...page.rows.map((r) => Number(r[0])));
        if (!page.more) break;
        assert.equal(page.rows.length, 300, 'a page that says more follow is full');
      }
      assert.deepEqual(seen, expected);

      const [{ n: before }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets');
      const write = await refusal(server.rpc.sendRequest(RunSql.type, { database: db, sql: 'DELETE FROM tickets', offset: 0, limit: 10 }));
      assert.equal(write.data?.code, 'invalidQuery');
      assert.match(write.message, /Only queries run here/);
      const two = await refusal(server.rpc.sendRequest(RunSql.type, { database: db, sql: 'SELECT 1; SELECT 2', offset: 0, limit: 10 }));
      assert.match(two.message, /one statement at a time/);
      const [{ n: after }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets');
      assert.equal(after, before, 'nothing changed');
      const pg = await refusal(server.rpc.sendRequest(RunSql.type, { database: { kind: 'postgres', connection: 'warehouse', schema: 'zendesk' }, sql: 'SELECT 1', offset: 0, limit: 1 }));
      assert.match(pg.message, /SQL runs on DuckDB files and Parquet folders here/);
    });

    it('says what the table output\'s checkpoint holds (Resume CodeLens, Saved Queries)', async () => {
      const info = await server.rpc.sendRequest(CheckpointInfo.type, { queryUri });
      assert.equal(info.queryValid, true);
      assert.equal(info.exists, true);
      assert.equal(info.matchesQuery, true);
      assert.equal(info.caughtUp, true);
      assert.equal(info.outputExists, true);
      const [{ n }] = await duckRows(file, 'SELECT count(*) AS n FROM tickets_changes');
      assert.equal(info.records, Number(n));
      assert.match(String(info.checkpointPath), /duck\.duckdb \(table _zdx_checkpoint\)/);
      assert.equal(info.error, undefined);
    });

    it('checks params at the boundary: InvalidParams with a sentence naming the field', async () => {
      const bad = await refusal(server.rpc.sendRequest(GetTableWindow.type, { database: db, table: 'tickets', offset: 'x', limit: 10 } as never));
      assert.equal(bad.code, ErrorCodes.InvalidParams);
      assert.match(bad.message, /"offset" must be a whole number, 0 or more, not "x"\./);
      const relative = await refusal(server.rpc.sendRequest(ListTables.type, { database: { kind: 'duckdb', path: 'out/duck.duckdb' } }));
      assert.match(relative.message, /named by its absolute path/);
    });
  });

  describe('PostgreSQL', () => {
    let pg: TestPostgres;

    before(async () => {
      pg = await startTestPostgres();
    });

    after(() => {
      pg?.stop();
    });

    it('asks the client for the connection and its password when it connects, and never writes the password anywhere', async () => {
      answer = (p) => (p.connection === 'warehouse' ? { url: pg.url, password: pg.password } : { refused: `There is no database connection named "${p.connection}".` });
      asked.length = 0;
      const queryUri = writeQuery('pg', { format: 'postgres', connection: 'warehouse', schema: 'zd_editor' });
      const started = await server.rpc.sendRequest(StartExport.type, { queryUri, waitForCompletion: true });
      assert.equal(started.finished?.status, 'done');
      assert.ok(asked.some((a) => a.connection === 'warehouse' && a.reason === 'export'), JSON.stringify(asked));

      const db: DatabaseRef = { kind: 'postgres', connection: 'warehouse', schema: 'zd_editor' };
      const listed = await server.rpc.sendRequest(ListTables.type, { queryUri });
      assert.deepEqual(listed.database, db);
      assert.equal(listed.label, 'warehouse (schema zd_editor)');
      const latest = latestVersions(sim, 'tickets/cursor', { supportTypeScope: 'all' });
      const byName = new Map(listed.tables.map((t) => [t.name, t]));
      assert.equal((byName.get('tickets')?.rows ?? 0) + (byName.get('tickets_deleted')?.rows ?? 0), latest.size);
      assert.ok(asked.some((a) => a.reason === 'read'), 'reading asks too');

      const window = await server.rpc.sendRequest(GetTableWindow.type, {
        database: db, table: 'tickets', offset: 0, limit: 20, sort: [{ column: 'id', descending: true }], filters: [{ column: 'status', op: 'contains', value: 'open' }], columns: ['id', 'status'],
      });
      assert.ok(window.rows.length > 0);
      assert.ok(window.rows.every((r) => String(r[1]).includes('open')));
      const ids = window.rows.map((r) => Number(r[0]));
      assert.deepEqual(ids, [...ids].sort(ID_SORT).reverse());

      // The checkpoint's status is read with what the client has stored, never by asking the person.
      asked.length = 0;
      const info = await server.rpc.sendRequest(CheckpointInfo.type, { queryUri });
      assert.equal(info.exists, true);
      assert.equal(info.records, started.finished?.counts.records);
      assert.ok(asked.every((a) => a.reason === 'status'), JSON.stringify(asked));

      // A connection the client doesn't know: its sentence, with the code the editor offers the fix for.
      const unknown = await refusal(server.rpc.sendRequest(ListTables.type, { database: { kind: 'postgres', connection: 'elsewhere', schema: 'zd' } }));
      assert.equal(unknown.data?.code, 'database');
      assert.equal(unknown.message, 'There is no database connection named "elsewhere".');

      const everything = [...server.logs, ...server.stderr].join('\n');
      assert.ok(!everything.includes(pg.password), 'the password is in no log');
    });

    it('a refused login says so with the database code, and the next read asks again', async () => {
      answer = (p) => ({ url: pg.url, password: `wrong-${p.reason}` });
      asked.length = 0;
      const refused = await refusal(server.rpc.sendRequest(ListTables.type, { database: { kind: 'postgres', connection: 'wrongpw', schema: 'zd_editor' } }));
      assert.equal(refused.data?.code, 'database');
      assert.match(refused.message, /^PostgreSQL at .* refused the login/);
      answer = () => ({ url: pg.url, password: pg.password });
      const listed = await server.rpc.sendRequest(ListTables.type, { database: { kind: 'postgres', connection: 'wrongpw', schema: 'zd_editor' } });
      assert.ok(listed.tables.length > 0);
      assert.equal(asked.filter((a) => a.connection === 'wrongpw').length, 2, 'asked again after the refusal');
    });
  });
});
