import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OutputFormat } from '../../src/engine/query';
import { openOutput, parseCsv } from '../../src/engine/export';
import { RowIndex } from '../../src/engine/rows';
import { topLevelField } from '../../src/engine/rows/topLevelField';

type Rec = Record<string, unknown>;

const SUBJECTS = ['Printer on fire', 'login broken', 'Refund please', '<img src=x onerror=alert(1)>', 'zebra crossing'];
const STATUSES = ['open', 'pending', 'solved', 'new'];

function ticket(id: number): Rec {
  return {
    id,
    subject: `${SUBJECTS[id % SUBJECTS.length]} #${id}`,
    status: STATUSES[(id * 7) % STATUSES.length],
    priority: id % 5 === 0 ? null : ['low', 'normal', 'high'][id % 3],
    via: { channel: id % 2 ? 'web' : 'email', source: { to: { name: `Team ${id % 4}` } } },
    custom_fields: [{ id: 360001, value: `cf-${(id * 13) % 17}` }],
    updated_at: new Date(Date.UTC(2024, 0, 1) + ((id * 7919) % 1000) * 3600_000).toISOString(),
    score: (id * 31) % 101,
  };
}

let dir: string;
const open: RowIndex[] = [];

async function indexOf(file: string): Promise<RowIndex> {
  const idx = await RowIndex.open(file);
  open.push(idx);
  return idx;
}

/** Writes records through the project's real output writers, page by page. */
async function writeOutput(file: string, format: OutputFormat, pages: Rec[][]): Promise<void> {
  const sink = await openOutput({ path: file, format, resource: 'tickets', resume: null });
  for (const p of pages) await sink.writePage(p, {});
  await sink.finish();
  await sink.close();
}

function range(from: number, to: number): Rec[] {
  const out: Rec[] = [];
  for (let i = from; i < to; i++) out.push(ticket(i));
  return out;
}

function expectedOrder(records: Rec[], pick: (r: Rec) => unknown, dir: 'asc' | 'desc'): number[] {
  const key = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'string' ? v.toLowerCase() : v);
  return records
    .map((r, i) => ({ i, k: key(pick(r)) as string | number | null }))
    .sort((a, b) => {
      if (a.k === b.k) return a.i - b.i;
      if (a.k === null) return 1;
      if (b.k === null) return -1;
      const r = a.k < b.k ? -1 : 1;
      return dir === 'asc' ? r : -r;
    })
    .map((x) => x.i);
}

describe('rowIndex', () => {
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rowindex-'));
  });
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers windows of a .jsonl file with flattened columns, custom fields by id, values as text', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    await writeOutput(file, 'jsonl', [range(0, 500), range(500, 1000)]);
    const idx = await indexOf(file);
    assert.equal(idx.rows, 1000);
    const r = await idx.getRows({ start: 100, count: 5, columns: ['id', 'subject', 'via.source.to.name', 'custom_fields.360001', 'custom_fields', 'nope'] });
    assert.equal(r.total, 1000);
    assert.deepEqual(r.rows.map((x) => x.id), [100, 101, 102, 103, 104]);
    const t = ticket(103);
    assert.deepEqual(r.rows[3].cells, [103, t.subject, 'Team 3', 'cf-13', JSON.stringify(t.custom_fields), null]);
    assert.equal(r.rows.find((x) => x.id === 103)!.cells[1], '<img src=x onerror=alert(1)> #103');
    // Past the end: clipped, never an error.
    assert.deepEqual((await idx.getRows({ start: 995, count: 50, columns: ['id'] })).rows.map((x) => x.cells[0]), [995, 996, 997, 998, 999]);
    assert.deepEqual((await idx.getRecords([7]))[0], ticket(7));

    const cols = await idx.columns();
    assert.ok(cols.columns.includes('via.source.to.name') && cols.columns.includes('custom_fields.360001'), cols.columns.join());
    assert.equal(cols.resource, 'tickets');
    assert.deepEqual(cols.defaults.slice(0, 3), ['id', 'subject', 'status']);
  });

  it('sorts by number, string, nested and custom-field columns (empty last), both directions', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    const records = range(0, 700);
    await writeOutput(file, 'jsonl', [records]);
    const idx = await indexOf(file);
    const cases: [string, (r: Rec) => unknown][] = [
      ['score', (r) => r.score],
      ['subject', (r) => r.subject],
      ['priority', (r) => r.priority],
      ['updated_at', (r) => r.updated_at],
      ['via.source.to.name', (r) => (r.via as { source: { to: { name: string } } }).source.to.name],
    ];
    for (const [column, pick] of cases) {
      for (const d of ['asc', 'desc'] as const) {
        const r = await idx.getRows({ start: 0, count: 700, columns: ['id'], sort: [{ column, dir: d }] });
        assert.deepEqual(r.rows.map((x) => x.id), expectedOrder(records, pick, d), `${column} ${d}`);
      }
    }
    // A window of the sorted view is the same slice.
    const all = await idx.getRows({ start: 0, count: 700, columns: ['id'], sort: [{ column: 'score', dir: 'desc' }] });
    const win = await idx.getRows({ start: 250, count: 20, columns: ['id', 'score'], sort: [{ column: 'score', dir: 'desc' }] });
    assert.deepEqual(win.rows.map((x) => x.id), all.rows.slice(250, 270).map((x) => x.id));
    // Two keys: status, then score descending.
    const two = await idx.getRows({ start: 0, count: 700, columns: ['status', 'score'], sort: [{ column: 'status', dir: 'asc' }, { column: 'score', dir: 'desc' }] });
    for (let i = 1; i < two.rows.length; i++) {
      const [s0, n0] = two.rows[i - 1].cells as [string, number];
      const [s1, n1] = two.rows[i].cells as [string, number];
      assert.ok(s0 < s1 || (s0 === s1 && n0 >= n1), `row ${i}: ${s0},${n0} then ${s1},${n1}`);
    }
  });

  it('filters by column text and searches whole records, combined with a sort', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    const records = range(0, 800);
    await writeOutput(file, 'jsonl', [records]);
    const idx = await indexOf(file);
    const f = await idx.getRows({ start: 0, count: 1000, columns: ['id', 'status'], filters: { status: 'PEND' } });
    assert.deepEqual(f.rows.map((x) => x.id), records.filter((r) => r.status === 'pending').map((r) => r.id));
    assert.equal(f.total, f.rows.length);
    assert.equal(f.fileRows, 800);

    const s = await idx.getRows({ start: 0, count: 1000, columns: ['id'], search: 'refund' });
    assert.deepEqual(s.rows.map((x) => x.id), records.filter((r) => String(r.subject).toLowerCase().includes('refund')).map((r) => r.id));

    const both = await idx.getRows({ start: 0, count: 1000, columns: ['id'], search: 'team 2', filters: { 'custom_fields.360001': 'cf-1' }, sort: [{ column: 'score', dir: 'asc' }] });
    const want = records.filter((r) => JSON.stringify(r).toLowerCase().includes('team 2') && String((r.custom_fields as { value: string }[])[0].value).includes('cf-1'));
    assert.deepEqual(both.rows.map((x) => x.id), expectedOrder(want, (r) => r.score, 'asc').map((i) => want[i].id));
    assert.ok(both.total > 0 && both.total < 800);
  });

  it('grows with the file: new pages appear, a half-written line waits, sorted/filtered views stay right', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    await fs.writeFile(file, range(0, 300).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const idx = await indexOf(file);
    const sort = [{ column: 'score', dir: 'desc' as const }];
    const filters = { status: 'open' };
    await idx.getRows({ start: 0, count: 10, columns: ['id'], sort, filters });
    // Half a line: not a row yet.
    const next = JSON.stringify(ticket(300));
    await fs.appendFile(file, next.slice(0, 20));
    assert.equal((await idx.getRows({ start: 0, count: 1, columns: ['id'] })).total, 300);
    await fs.appendFile(file, next.slice(20) + '\n' + range(301, 650).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const all = range(0, 650);
    const r = await idx.getRows({ start: 0, count: 1000, columns: ['id'], sort, filters });
    const want = all.filter((x) => x.status === 'open');
    assert.deepEqual(r.rows.map((x) => x.id), expectedOrder(want, (x) => x.score, 'desc').map((i) => want[i].id));
    assert.equal(r.fileRows, 650);
    assert.equal((await idx.getRows({ start: 640, count: 20, columns: ['id'] })).rows.length, 10);
  });

  it('starts over when the file is truncated (a resume) or deleted (a fresh run)', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    await fs.writeFile(file, range(0, 100).map((r) => JSON.stringify(r) + '\n').join(''));
    const idx = await indexOf(file);
    assert.equal(idx.rows, 100);
    await fs.truncate(file, (await fs.readFile(file, 'utf8')).split('\n').slice(0, 40).join('\n').length + 1);
    assert.equal(await idx.refresh(), 40);
    await fs.rm(file);
    assert.equal(await idx.refresh(), 0);
    assert.equal((await idx.getRows({ start: 0, count: 10, columns: ['id'] })).total, 0);
    await fs.writeFile(file, range(0, 3).map((r) => JSON.stringify(r) + '\n').join(''));
    assert.equal(await idx.refresh(), 3);
  });

  it('reads a .json array written page by page (the closing bracket rewritten by each page)', async () => {
    const file = path.join(dir, 'tickets.json');
    const sink = await openOutput({ path: file, format: 'json', resource: 'tickets', resume: null });
    await sink.writePage(range(0, 120), {});
    const idx = await indexOf(file);
    assert.equal(idx.rows, 120);
    JSON.parse(await fs.readFile(file, 'utf8'));
    await sink.writePage(range(120, 200), {});
    await sink.finish();
    await sink.close();
    const r = await idx.getRows({ start: 0, count: 300, columns: ['id', 'subject'], sort: [{ column: 'id', dir: 'desc' }] });
    assert.equal(r.total, 200);
    assert.deepEqual(r.rows.map((x) => x.cells[0]), range(0, 200).map((x) => x.id).reverse());
    assert.deepEqual((await idx.getRecords([150]))[0], ticket(150));
    // A record containing brackets and braces inside strings.
    const tricky = path.join(dir, 'other.json');
    await fs.writeFile(tricky, JSON.stringify([{ id: 1, s: 'a } ] [ { "q' }, { id: 2, s: '\\"}' }], null, 2));
    const t = await indexOf(tricky);
    assert.deepEqual((await t.getRows({ start: 0, count: 5, columns: ['id', 's'] })).rows.map((x) => x.cells), [[1, 'a } ] [ { "q'], [2, '\\"}']]);
  });

  it('reads a .csv (quoted newlines, header as columns) written by the project writer, numbers sort numerically', async () => {
    const file = path.join(dir, 'tickets.csv');
    const records: Rec[] = range(0, 150).map((r, i) => ({ ...r, subject: i === 3 ? 'line one\nline "two", three' : r.subject }));
    await writeOutput(file, 'csv', [records.slice(0, 100), records.slice(100)]);
    const idx = await indexOf(file);
    assert.equal(idx.rows, 150);
    const cols = await idx.columns();
    assert.ok(cols.columns.includes('via.source.to.name') && cols.columns.includes('custom_fields.360001'), cols.columns.join());
    const r = await idx.getRows({ start: 3, count: 1, columns: ['id', 'subject', 'custom_fields.360001'] });
    assert.deepEqual(r.rows[0].cells, ['3', 'line one\nline "two", three', 'cf-5']);
    const sorted = await idx.getRows({ start: 0, count: 150, columns: ['score'], sort: [{ column: 'score', dir: 'asc' }] });
    const scores = sorted.rows.map((x) => Number(x.cells[0]));
    assert.deepEqual(scores, [...scores].sort((a, b) => a - b));
    assert.equal((await idx.getRows({ start: 0, count: 200, columns: ['id'], filters: { status: 'solved' } })).total, records.filter((x) => x.status === 'solved').length);
  });

  it('exports the current view (filter + sort) as CSV, JSON Lines and JSON', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    const records = range(0, 400);
    await writeOutput(file, 'jsonl', [records]);
    const idx = await indexOf(file);
    const view = { filters: { status: 'new' }, sort: [{ column: 'score', dir: 'asc' as const }] };
    const want = records.filter((r) => r.status === 'new');
    const order = expectedOrder(want, (r) => r.score, 'asc').map((i) => want[i]);

    const jsonl = path.join(dir, 'view.jsonl');
    assert.equal((await idx.exportView(view, jsonl, 'jsonl', ['id'])).rows, want.length);
    assert.deepEqual((await fs.readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)), order);

    const json = path.join(dir, 'view.json');
    await idx.exportView(view, json, 'json', ['id']);
    assert.deepEqual(JSON.parse(await fs.readFile(json, 'utf8')), order);

    const csv = path.join(dir, 'view.csv');
    await idx.exportView({ ...view, filters: {} , search: 'onerror' }, csv, 'csv', ['id', 'subject', 'score']);
    const rows = parseCsv(await fs.readFile(csv, 'utf8'));
    assert.deepEqual(rows[0], ['id', 'subject', 'score']);
    assert.ok(rows.length > 10);
    assert.ok(rows.slice(1).every((r) => r[1].startsWith('<img src=x onerror=alert(1)>')));
  });
});

describe('rowIndex: big files and single fields', () => {
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rowindex-'));
  });
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('finds top-level fields only, whatever nested objects and strings hold', async () => {

    const records: Rec[] = [
      { via: { subject: 'nested' }, subject: 'top' },
      { description: 'say "subject":"fake" here', subject: 'real \\ "quoted" \u00e9' },
      { tags: ['"subject":', { subject: 1 }], n: -1.5e3, subject: null, ok: true, list: [1, [2]], obj: { a: { b: '}' } } },
      { other: 1 },
      { 'a.b': 3, subject: { deep: ['x'] } },
    ];
    for (const r of records) {
      const text = JSON.stringify(r);
      for (const key of ['subject', 'n', 'ok', 'list', 'obj', 'other', 'a.b', 'missing']) {
        const got = topLevelField(text, key);
        assert.ok(got, `${key} in ${text}`);
        assert.equal(got.found, key in r, `${key} in ${text}`);
        assert.deepEqual(got.value, r[key], `${key} in ${text}`);
      }
    }
    // Not compact JSON: the caller must parse.
    assert.equal(topLevelField('{"subject" : "x"}', 'subject'), null);
  });

  it('answers the first window of a big file before it is fully indexed, then completes', async () => {
    const file = path.join(dir, 'big.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) lines.push(JSON.stringify({ id: i, pad: 'p'.repeat(400) }));
    await fs.writeFile(file, lines.join('\n') + '\n');
    const idx = await RowIndex.open(file, { windowBudgetMs: 0 });
    open.push(idx);
    assert.ok(idx.rows > 0 && idx.rows < 60_000, `indexed ${idx.rows} rows at open`);
    const first = await idx.getRows({ start: 0, count: 10, columns: ['id'] });
    assert.deepEqual(first.rows.map((r) => r.cells[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(first.complete, false);
    assert.ok(first.fileRows < 60_000);
    // A window further down indexes at least up to it.
    const far = await idx.getRows({ start: 40_000, count: 5, columns: ['id'] });
    assert.deepEqual(far.rows.map((r) => r.cells[0]), [40_000, 40_001, 40_002, 40_003, 40_004]);
    // A sorted view needs (and indexes) everything.
    const sorted = await idx.getRows({ start: 0, count: 3, columns: ['id'], sort: [{ column: 'id', dir: 'desc' }] });
    assert.equal(sorted.complete, true);
    assert.deepEqual(sorted.rows.map((r) => r.cells[0]), [59_999, 59_998, 59_997]);
    assert.equal(sorted.total, 60_000);
  });
});
