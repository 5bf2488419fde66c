// The editor's table messages at their boundaries: the engine server's checks of untrusted params
// (PARAMS_CHECKS: one sentence naming the field), the webview's guards for a grid over a table or a
// SQL statement (restore after reload included), and the scratch SQL file's binding and statements.
import assert from 'node:assert/strict';
import {
  CloseDatabase,
  GetTableWindow,
  ListTables,
  PARAMS_CHECKS,
  RunSql,
} from '../../src/protocol/customMessages';
import { GetRowsRequest, StateChangedCommand, isGridPersistedState, isGridSource, type GridPersistedState, type IpcMessage } from '../../src/protocol/webviewMessages';
import { bindingLine, boundTo, splitStatements } from '../../src/extension/sql/statements';

const check = (method: string, params: unknown) => PARAMS_CHECKS[method](params);
const duck = { kind: 'duckdb', path: '/work/out/tickets.duckdb' };
const pg = { kind: 'postgres', connection: 'warehouse', schema: 'zendesk' };

describe('table messages: the engine server\'s checks of params', () => {
  it('takes every declared shape', () => {
    assert.equal(check(ListTables.method, { database: duck }), undefined);
    assert.equal(check(ListTables.method, { database: { kind: 'parquet', path: '/work/out/tickets' } }), undefined);
    assert.equal(check(ListTables.method, { queryUri: 'file:///work/t.zdquery.json' }), undefined);
    assert.equal(check(GetTableWindow.method, {
      database: pg, table: 'tickets', offset: 0, limit: 100, columns: ['id', 'subject'],
      sort: [{ column: 'updated_at', descending: true }, { column: 'id' }],
      filters: [{ column: 'status', op: 'contains', value: 'solv' }, { column: 'id', op: 'greaterThan', value: 10 }, { column: 'assignee_id', op: 'isNull' }],
      search: 'refund',
    }), undefined);
    assert.equal(check(RunSql.method, { database: duck, sql: 'SELECT 1', offset: 0, limit: 100 }), undefined);
    assert.equal(check(CloseDatabase.method, { database: duck }), undefined);
  });

  it('refuses a wrong shape with one sentence naming the field', () => {
    const cases: [string, unknown, RegExp][] = [
      [ListTables.method, null, /^zendesk\/tables\/list takes an object of params, not null\.$/],
      [ListTables.method, { database: { kind: 'sqlite', path: '/x' } }, /"database" must be \{ kind: "duckdb" \| "parquet", path \} or \{ kind: "postgres", connection, schema \}, not an object\./],
      [ListTables.method, { database: { kind: 'postgres', connection: 'warehouse' } }, /"database" must be/],
      [ListTables.method, { database: { kind: 'duckdb', path: '' } }, /"database" must be/],
      [GetTableWindow.method, { database: duck, offset: 0, limit: 10 }, /^zendesk\/tables\/window needs "table" \(a non-empty string\)\.$/],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: -1, limit: 10 }, /"offset" must be a whole number, 0 or more, not the number -1\./],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: 0, limit: 1.5 }, /"limit" must be a whole number, 0 or more, not the number 1\.5\./],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: 0, limit: 10, sort: [{ column: 'id', dir: 'asc', descending: 'yes' }] }, /"sort" must be an array of \{ column, descending\? \}/],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: 0, limit: 10, filters: [{ column: 'status', op: 'like', value: 'x' }] }, /"filters" must be an array of \{ column, op: "equals" \| /],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: 0, limit: 10, filters: [{ column: 'id', op: 'equals', value: { $gt: 1 } }] }, /"filters" must be/],
      [GetTableWindow.method, { database: duck, table: 'tickets', offset: 0, limit: 10, columns: 'id' }, /"columns" must be an array of strings, not "id"\./],
      [RunSql.method, { database: duck, sql: '   ', offset: 0, limit: 10 }, /"sql" must be a non-empty string, not " {3}"\./],
      [RunSql.method, { database: duck, offset: 0, limit: 10 }, /needs "sql"/],
      [CloseDatabase.method, {}, /^zendesk\/tables\/close needs "database"/],
    ];
    for (const [method, params, sentence] of cases) {
      const problem = check(method, params);
      assert.ok(problem, `${method} ${JSON.stringify(params)} was accepted`);
      assert.match(problem, sentence, `${method} ${JSON.stringify(params)}`);
    }
  });
});

describe('table messages: the grid webview\'s guards', () => {
  const table = { kind: 'table', database: duck, table: 'tickets' };
  const sql = { kind: 'sql', database: duck, sql: 'SELECT status, count(*) FROM tickets GROUP BY 1' };

  it('knows the three grid sources and nothing else', () => {
    assert.equal(isGridSource({ kind: 'file', path: '/work/out/tickets.jsonl' }), true);
    assert.equal(isGridSource(table), true);
    assert.equal(isGridSource({ ...table, database: pg }), true);
    assert.equal(isGridSource(sql), true);
    assert.equal(isGridSource({ kind: 'table', database: duck }), false);
    assert.equal(isGridSource({ kind: 'sql', database: { kind: 'postgres', connection: 'w' }, sql: 'x' }), false);
    assert.equal(isGridSource({ kind: 'url', path: 'https://example.com' }), false);
  });

  it('keeps a table grid\'s source in its saved state (restore after reload), and refuses a malformed one', () => {
    const saved: GridPersistedState = {
      path: 'table:duckdb:/work/out/tickets.duckdb#tickets', source: table as GridPersistedState['source'],
      columns: [{ id: 'id', width: 90 }, { id: 'subject' }], view: { sort: [{ column: 'subject', dir: 'desc' }], filters: { status: 'open' } },
    };
    const delivered = JSON.parse(JSON.stringify(saved)) as unknown;
    assert.equal(isGridPersistedState(delivered), true);
    const msg: IpcMessage = { id: 'w1', scope: 'grid', method: StateChangedCommand.method, params: delivered };
    assert.equal(StateChangedCommand.is(msg), true);
    assert.equal(isGridPersistedState({ ...saved, source: { kind: 'table', database: duck, table: 7 } }), false);
    // A state saved before grids had sources (a file by its path) is still one.
    assert.equal(isGridPersistedState({ path: '/work/out/tickets.jsonl' }), true);
  });

  it('takes the same window request for a table as for a file', () => {
    const msg: IpcMessage = { id: 'w2', scope: 'grid', method: GetRowsRequest.method, params: { start: 100, count: 100, columns: ['id'], sort: [{ column: 'id', dir: 'desc' }], filters: { status: 'solved' } } };
    assert.equal(GetRowsRequest.is(msg), true);
  });
});

describe('scratch SQL: binding and statements', () => {
  it('finds the DuckDB file or Parquet folder the first lines name, as written', () => {
    assert.deepEqual(boundTo(`${bindingLine('out/tickets.duckdb')}\nSELECT 1;`), { kind: 'duckdb', path: 'out/tickets.duckdb' });
    assert.deepEqual(boundTo(`-- notes\n--  ZDX:  parquet  /data/my tickets  \nSELECT 1`), { kind: 'parquet', path: '/data/my tickets' });
    assert.equal(boundTo('SELECT 1;\n-- zdx: sqlite x.db'), undefined);
    assert.equal(boundTo('a\nb\nc\nd\ne\n-- zdx: duckdb late.duckdb'), undefined, 'only the first five lines bind');
  });

  it('splits statements at semicolons outside strings, quoted names and comments; comment-only parts are none', () => {
    const text = [
      '-- zdx: duckdb out/t.duckdb',
      '-- just a comment;',
      "SELECT 'a;b' AS \"x;y\", 'it''s' FROM t -- trailing; comment",
      ';',
      '/* block ; */ SELECT $$x;y$$, 2',
      ';;',
      'FROM tickets',
    ].join('\n');
    const statements = splitStatements(text);
    assert.deepEqual(statements.map((s) => s.sql), [
      "SELECT 'a;b' AS \"x;y\", 'it''s' FROM t",
      'SELECT $$x;y$$, 2',
      'FROM tickets',
    ]);
    for (const s of statements) assert.equal(text.slice(s.start, s.end), s.sql);
    assert.deepEqual(splitStatements('-- nothing to run\n/* at all */\n'), []);
    assert.deepEqual(splitStatements("SELECT 'unclosed;").map((s) => s.sql), ["SELECT 'unclosed;"]);
  });
});
