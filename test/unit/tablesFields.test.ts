// Custom-field names from Zendesk's own lists (GET /api/v2/ticket_fields, /user_fields,
// /organization_fields) against the simulator, whose fields include titles that slug alike ("Order #",
// "Order Number", an inactive "order number"), one renamed while it runs, one deleted part-way through
// the history and one created half-way: the typed client pages through them, a run fetches each list
// once, and DuckDB, PostgreSQL and CSV outputs name the columns `cf_<slug of title>` and keep them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { parseCsv, prepareExport, readCheckpoint, runExport, type ExportResult } from '../../src/engine/export';
import { loadQuery, type ResolvedQuery, type SavedOutput } from '../../src/engine/query';
import { targetFor, zendeskFieldSource, type FieldSource } from '../../src/engine/tables';
import { ZendeskClient, type Connection } from '../../src/engine/zendesk';
import { FIELD_RENAME_AFTER_SECONDS, startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { startTestPostgres, type TestPostgres } from '../support/postgres';
import { duckRows } from '../support/tables';

/** The ticket columns the simulator's fields get, by field id. */
const TICKET_COLUMNS: Record<string, string> = {
  360001234501: 'cf_support_tier',
  360001234502: 'cf_order',
  360001234503: 'cf_escalated',
  360001234504: 'cf_order_number',
  360001234506: 'cf_product',
  360001234508: 'cf_follow_up_date',
  // Inactive fields come after the active ones: the third "order number" gets the suffix.
  360001234505: 'cf_order_number_2',
  // Deleted before the export: no list names it, so its values keep a column named after its id.
  360001234507: 'cf_360001234507',
};

describe('custom-field names from Zendesk’s field lists', function () {
  this.timeout(300_000);
  let sim: RunningSimulator;
  let dir: string;
  let connection: Connection;

  const fieldRequests = (list: string): string[] => sim.stats().requestLog.filter((r) => r.url.startsWith(`/api/v2/${list}`)).map((r) => r.url);
  const q = (resource: string, output: SavedOutput, params: Record<string, unknown> = {}): ResolvedQuery =>
    loadQuery({ name: `${resource} ${output.format}`, resource, startTime: 0, params: { perPage: 100, ...(resource === 'tickets' ? { supportTypeScope: 'all' } : {}), ...params }, output }, { baseDir: dir });

  async function exportInto(query: ResolvedQuery, fields: FieldSource, postgres?: TestPostgres): Promise<ExportResult> {
    const prepared = await prepareExport(query, targetFor(query, { fields, postgres: postgres && (async () => ({ url: postgres.url, password: postgres.password })) }));
    try {
      return await runExport({ connection, query, prepared, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
    } finally {
      await prepared.release();
    }
  }

  /** Moves the simulator past the rename and makes a few new versions visible. */
  function renameAndChange(): void {
    const renameAt = sim.anchor + FIELD_RENAME_AFTER_SECONDS + 1;
    if (sim.nowSeconds() < renameAt) sim.advanceClock(renameAt - sim.nowSeconds());
    sim.mutate({ updatedTickets: 20 });
    sim.advanceClock(61);
  }

  // A simulator each: the rename happens on its clock.
  beforeEach(async () => {
    sim = await startSimulator({ seed: 5, counts: { tickets: 900, users: 120, organizations: 20 }, rateLimits: false });
    connection = { baseUrl: sim.url, credentials: { kind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token } };
    dir = mkdtempSync(path.join(os.tmpdir(), 'zdx-fields-'));
  });
  afterEach(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the typed client pages through each list by cursor, whatever the page size', async () => {
    const client = new ZendeskClient({ connection });
    const before = fieldRequests('ticket_fields').length;
    const all = await client.listFields('ticket');
    const paged = await client.listFields('ticket', 4);
    assert.deepEqual(paged.map((f) => f.id), [...all].sort((a, b) => a.id - b.id).map((f) => f.id), 'every field, once');
    const urls = fieldRequests('ticket_fields').slice(before);
    assert.equal(urls.length, 1 + Math.ceil(all.length / 4));
    assert.ok(urls.slice(2).every((u) => /page%5Bafter%5D=|page\[after\]=/.test(u)), urls.join('\n'));
    assert.ok(all.some((f) => f.title === 'Order #') && all.some((f) => f.title === 'order number' && f.active === false));
    const users = await client.listFields('user', 2);
    assert.ok(users.length >= 5 && users.every((f) => typeof f.key === 'string'));
    assert.ok((await client.listFields('organization')).some((f) => f.key === 'account_tier'));
  });

  it('DuckDB: tickets and users get cf_<title> columns from one fetch per run; a rename keeps its column', async () => {
    const tickets = q('tickets', { format: 'duckdb', path: 'zd.duckdb' });
    const fetchesBefore = fieldRequests('ticket_fields').length;
    await exportInto(tickets, zendeskFieldSource(connection));
    assert.equal(fieldRequests('ticket_fields').length - fetchesBefore, 1, 'the ticket field list is fetched once per run');
    const file = tickets.output.path;
    const mapping = await duckRows(file, 'SELECT field_ref, column_name, title, column_type, present FROM tickets_fields ORDER BY field_ref');
    assert.deepEqual(Object.fromEntries(mapping.map((m) => [m.field_ref, m.column_name])), TICKET_COLUMNS);
    const byRef = new Map(mapping.map((m) => [String(m.field_ref), m]));
    assert.deepEqual([byRef.get('360001234504')!.column_type, byRef.get('360001234503')!.column_type, byRef.get('360001234508')!.column_type], ['bigint', 'boolean', 'date']);
    assert.deepEqual([byRef.get('360001234507')!.present, byRef.get('360001234507')!.title], [false, null], 'the deleted field is kept, marked');
    assert.equal(byRef.get('360001234506')!.title, 'Product');
    // The named columns hold what the records carry.
    const rows = await duckRows(file, `SELECT id, cf_order, cf_order_number, cf_support_tier, _record FROM tickets WHERE cf_order IS NOT NULL LIMIT 50`);
    assert.ok(rows.length > 0);
    for (const r of rows) {
      const cf = new Map((JSON.parse(String(r._record)) as { custom_fields: { id: number; value: unknown }[] }).custom_fields.map((f) => [f.id, f.value]));
      assert.deepEqual([r.cf_order, r.cf_order_number, r.cf_support_tier], [cf.get(360001234502), cf.get(360001234504) ?? null, cf.get(360001234501)]);
    }

    renameAndChange();
    const again = fieldRequests('ticket_fields').length;
    await exportInto(tickets, zendeskFieldSource(connection));
    assert.equal(fieldRequests('ticket_fields').length - again, 1);
    const after = await duckRows(file, `SELECT column_name, title FROM tickets_fields WHERE field_ref = '360001234506'`);
    assert.deepEqual(after, [{ column_name: 'cf_product', title: 'Product line' }], 'renamed: the title follows, the column stays');
    const cols = await duckRows(file, `SELECT column_name FROM information_schema.columns WHERE table_name = 'tickets' AND column_name LIKE 'cf_%' ORDER BY 1`);
    assert.deepEqual(cols.map((c) => c.column_name), Object.values(TICKET_COLUMNS).sort());

    const users = q('users', { format: 'duckdb', path: 'zd.duckdb' });
    await exportInto(users, zendeskFieldSource(connection));
    const userMap = await duckRows(file, 'SELECT field_ref, column_name, present FROM users_fields ORDER BY column_name');
    assert.deepEqual(userMap.map((m) => [m.field_ref, m.column_name, m.present]), [
      ['employee_no', 'cf_employee', true], ['employee_number', 'cf_employee_number', true], ['legacy_id', 'cf_legacy_id', false],
      ['newsletter', 'cf_newsletter', true], ['plan', 'cf_plan', true], ['region', 'cf_sales_region', true],
    ], 'keyed fields: slugs of their titles (the region field was renamed before this first users run)');
    const [plan] = await duckRows(file, `SELECT count(*) AS n FROM users WHERE cf_plan = json_extract_string(_record, '$.user_fields.plan')`);
    assert.ok((plan.n as number) > 0);
  });

  it('PostgreSQL: the same names, types and mapping table', async () => {
    const server = await startTestPostgres();
    try {
      const query = q('tickets', { format: 'postgres', connection: 'warehouse', schema: 'named' });
      await exportInto(query, zendeskFieldSource(connection), server);
      const client = new pg.Client({ ...parseIntoClientConfig(server.url), password: server.password });
      await client.connect();
      try {
        const mapping = (await client.query('SELECT field_ref, column_name FROM named.tickets_fields')).rows as { field_ref: string; column_name: string }[];
        assert.deepEqual(Object.fromEntries(mapping.map((m) => [m.field_ref, m.column_name])), TICKET_COLUMNS);
        const types = (await client.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'named' AND table_name = 'tickets' AND column_name IN ('cf_order_number', 'cf_escalated', 'cf_follow_up_date')  ORDER BY 1`)).rows;
        assert.deepEqual(types, [{ column_name: 'cf_escalated', data_type: 'boolean' }, { column_name: 'cf_follow_up_date', data_type: 'date' }, { column_name: 'cf_order_number', data_type: 'bigint' }]);
        const [{ n }] = (await client.query(`SELECT count(*)::int AS n FROM named.tickets WHERE cf_support_tier = _record->'custom_fields'->0->>'value'`)).rows as { n: number }[];
        assert.ok(n > 0);
      } finally {
        await client.end();
      }
    } finally {
      server.stop();
    }
  });

  it('CSV: the header names the fields as the tables do, the names stay in the checkpoint, and a field new to the file goes to _extra by its name', async () => {
    const query = q('tickets', { format: 'csv', path: 'tickets.csv' }, { perPage: 200 });
    // The first run doesn't know the follow-up date field yet (as if it were created after the file began).
    const real = zendeskFieldSource(connection);
    const withoutLate: FieldSource = { definitions: async (kind, signal) => (await real.definitions(kind, signal))?.filter((d) => d.id !== 360001234508) ?? null };
    const first = await exportInto(query, withoutLate);
    const text = readFileSync(query.output.path, 'utf8');
    const [header, ...rows] = parseCsv(text);
    const fieldColumns = header.filter((h) => h.startsWith('cf_'));
    assert.deepEqual(fieldColumns, ['cf_support_tier', 'cf_order', 'cf_escalated', 'cf_order_number', 'cf_product', 'cf_order_number_2', 'cf_360001234507']);
    assert.ok(!header.some((h) => h.startsWith('custom_fields.')), 'no column is named after an id in custom_fields');
    assert.equal(rows.length, first.records);
    const at = (name: string) => header.indexOf(name);
    let late = 0;
    for (const row of rows) {
      const extra = row[at('_extra')] ? (JSON.parse(row[at('_extra')]) as Record<string, unknown>) : {};
      assert.ok(!Object.keys(extra).some((k) => k.startsWith('custom_fields.')), JSON.stringify(extra));
      if ('cf_360001234508' in extra) late++;
    }
    assert.ok(late > 0, 'the field the header lacks goes to _extra under a cf_ name');
    const cp = await readCheckpoint(path.join(dir, 'tickets.checkpoint.json'));
    const state = (cp!.writerState as { csvColumns: Record<string, { names: Record<string, string> }> }).csvColumns['tickets.csv'];
    assert.equal(state.names['custom_fields.360001234506'], 'cf_product');
    assert.equal(state.names['custom_fields.360001234508'], 'cf_360001234508');

    renameAndChange();
    const second = await exportInto(query, real);
    assert.equal(second.records, 20);
    const [header2, ...rows2] = parseCsv(readFileSync(query.output.path, 'utf8'));
    assert.deepEqual(header2, header, 'the header is fixed: the renamed field keeps cf_product');
    const fresh = rows2.slice(-20);
    assert.ok(fresh.every((row) => ['product_app', 'product_api', 'product_hardware', ''].includes(row[at('cf_product')])), 'values of the renamed field stay in its column');
    const extras = fresh.map((row) => (row[at('_extra')] ? (JSON.parse(row[at('_extra')]) as Record<string, unknown>) : {}));
    assert.ok(extras.some((e) => 'cf_360001234508' in e), 'a name given once stays: the late field keeps cf_360001234508 in _extra');
    assert.ok(extras.every((e) => !('cf_follow_up_date' in e)));
  });
});
