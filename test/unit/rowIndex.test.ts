import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OutputFormat } from '../../src/engine/query';
import { openOutput, parseCsv } from '../../src/engine/export';
import { RowIndex, type ViewSpec } from '../../src/engine/rows';
import { topLevelField } from '../../src/engine/rows/topLevelField';
import { csvCellAt } from '../../src/engine/rows/readers';
import { cellText, columnValue, compareKeys, sortKey, toCell } from '../../src/engine/rows/values';

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
    // Whitespace between tokens (pretty-printed arrays) and keys written with escapes.
    assert.deepEqual(topLevelField('{ "a" : { "subject": 1 } ,\n  "subject" :\t"x" }', 'subject'), { found: true, value: 'x' });
    assert.deepEqual(topLevelField('{"sub\\u006aect":2,"subject":3}', 'subjject'), { found: false });
    assert.deepEqual(topLevelField('{"subj\\u0065ct":2,"subject":3}', 'subject'), { found: true, value: 2 });
    // Not an object, or a damaged value: the caller parses the whole record.
    assert.equal(topLevelField('[1, 2]', 'subject'), null);
    assert.equal(topLevelField('{"subject": [1, 2', 'subject'), null);
  });

  it('reads a CSV cell by position as parseCsv reads the record', () => {
    const lines = ['a,b,c', '"q,1","q""2",3', 'ab"c,d"e,f', ',,', '"",x', '\ufeffbom,1', 'only', 'cr\rafter,1', '"multi\nline",2', 'é,"ü",中'];
    for (const line of lines) {
      const buf = Buffer.from(line, 'utf8');
      const cells = parseCsv(line)[0] ?? [];
      for (let at = 0; at < 4; at++) assert.equal(csvCellAt(buf, 0, buf.length, at), cells[at] ?? '', `${JSON.stringify(line)} cell ${at}`);
    }
  });

  it('answers the first window of a big file before it is fully indexed, then completes', async () => {
    const file = path.join(dir, 'big.jsonl');
    await fs.writeFile(file, padded(60_000));
    const idx = await RowIndex.open(file, { background: false });
    open.push(idx);
    assert.ok(idx.rows > 0 && idx.rows < 60_000, `indexed ${idx.rows} rows at open`);
    const first = await idx.getRows({ start: 0, count: 10, columns: ['id'] });
    assert.deepEqual(first.rows.map((r) => r.cells[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(first.complete, false);
    assert.ok(first.fileRows < 60_000);
    // A window further down indexes at least up to it.
    const far = await idx.getRows({ start: 40_000, count: 5, columns: ['id'] });
    assert.deepEqual(far.rows.map((r) => r.cells[0]), [40_000, 40_001, 40_002, 40_003, 40_004]);
    assert.ok(far.fileRows < 60_000, `${far.fileRows} rows indexed for a window at 40,000`);
    // A sorted view needs (and indexes) everything.
    const sorted = await idx.getRows({ start: 0, count: 3, columns: ['id'], sort: [{ column: 'id', dir: 'desc' }] });
    assert.deepEqual(sorted.rows.map((r) => r.cells[0]), [59_999, 59_998, 59_997]);
    assert.equal(sorted.total, 60_000);
    assert.equal(sorted.fileRows, 60_000);
    await idx.settle();
    assert.equal((await idx.getRows({ start: 0, count: 3, columns: ['id'], sort: [{ column: 'id', dir: 'desc' }] })).complete, true);
  });

  it('indexes the rest in the background: a request in the middle answers at once, later ones see the count grow to complete', async () => {
    const file = path.join(dir, 'big.jsonl');
    await fs.writeFile(file, padded(60_000));
    // One chunk of the file a background step.
    const idx = await RowIndex.open(file, { stepMs: 0 });
    open.push(idx);
    // Asked before any background step ran: answered from the first chunk, not after indexing the file.
    const first = await idx.getRows({ start: 0, count: 10, columns: ['id'] });
    assert.deepEqual(first.rows.map((r) => r.cells[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(first.complete, false);
    assert.ok(first.fileRows < 60_000, `${first.fileRows} rows indexed`);
    // The webview asks again while complete is false; nothing in these requests indexes beyond row 10.
    const seen = [first.fileRows];
    const deadline = Date.now() + 30_000;
    let last = first;
    while (!last.complete) {
      assert.ok(Date.now() < deadline, `still ${last.fileRows} rows after 30 s`);
      // The next turn of the event loop, not a timer: background steps (setImmediate) and these
      // requests then take turns whatever the machine's speed, so the count is seen growing.
      await new Promise((r) => setImmediate(r));
      last = await idx.getRows({ start: 0, count: 10, columns: ['id'] });
      seen.push(last.fileRows);
    }
    assert.equal(last.fileRows, 60_000);
    assert.equal(last.total, 60_000);
    assert.ok(new Set(seen).size > 2, `fileRows grew in steps: ${[...new Set(seen)].join(', ')}`);
  });
});

describe('rowIndex: views of a million-row file in small', () => {
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rowindex-'));
  });
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads columns, sort keys, filters and search from the bytes exactly as from the parsed record (jsonl, json, pretty json, csv)', async () => {
    const records = numbers(0, 3000).map(varied);
    const cases: [string, (file: string) => Promise<void>][] = [
      ['v.jsonl', (f) => writeOutput(f, 'jsonl', [records.slice(0, 1000), records.slice(1000)])],
      ['v.json', (f) => writeOutput(f, 'json', [records.slice(0, 1500), records.slice(1500)])],
      ['pretty.json', (f) => fs.writeFile(f, JSON.stringify(records, null, 2))],
      ['v.csv', (f) => writeOutput(f, 'csv', [records.slice(0, 2000), records.slice(2000)])],
    ];
    for (const [name, write] of cases) {
      const file = path.join(dir, name);
      await write(file);
      const idx = await indexOf(file);
      const ref = await reference(file);
      assert.equal(ref.records.length, 3000);
      for (const column of COLUMNS_TO_CHECK) {
        const got = await idx.getRows({ start: 0, count: 5000, columns: [column] });
        assert.deepEqual(got.rows.map((r) => r.cells[0]), ref.records.map((r) => toCell(columnValue(r, column))), `${name} cells of ${column}`);
        for (const dir of ['asc', 'desc'] as const) {
          const sort = [{ column, dir }];
          const view = await idx.getRows({ start: 0, count: 5000, columns: [], sort });
          assert.deepEqual(view.rows.map((r) => r.id), ref.order({ sort }), `${name} sorted by ${column} ${dir}`);
        }
        for (const needle of ['1', 'i', 'K', 'É', '"', 'nul']) {
          const filters = { [column]: needle };
          const view = await idx.getRows({ start: 0, count: 5000, columns: [], filters });
          assert.deepEqual(view.rows.map((r) => r.id), ref.order({ filters }), `${name} ${column} contains ${needle}`);
        }
      }
      const multi = [{ column: 'n', dir: 'desc' as const }, { column: 'subject', dir: 'asc' as const }, { column: 'via.channel', dir: 'desc' as const }];
      const view = await idx.getRows({ start: 0, count: 5000, columns: [], sort: multi, filters: { subject: 'e' } });
      assert.deepEqual(view.rows.map((r) => r.id), ref.order({ sort: multi, filters: { subject: 'e' } }), `${name} multi-column sort`);
      if (name.endsWith('.jsonl')) {
        // Search reads the raw line: ASCII needles on the bytes (İ and the Kelvin sign lower-case to ASCII), others decoded.
        for (const search of ['i', 'k', 'printer 1', 'é', 'İ', '\\\\"', 'zzz']) {
          const s = await idx.getRows({ start: 0, count: 5000, columns: [], search });
          assert.deepEqual(s.rows.map((r) => r.id), ref.order({ search }), `search ${search}`);
        }
      }
    }
  });

  it('shows a big sorted view\'s first window from a top-N pass, equal to the full order\'s, then completes it in the background', async () => {
    const file = path.join(dir, 'big.jsonl');
    const records = numbers(0, 25_000).map(varied);
    await writeOutput(file, 'jsonl', [records]);
    const idx = await RowIndex.open(file, { background: false });
    open.push(idx);
    const ref = await reference(file);
    const views: ViewSpec[] = [
      { sort: [{ column: 'subject', dir: 'asc' }] },
      { sort: [{ column: 'n', dir: 'desc' }, { column: 'subject', dir: 'desc' }] },
      { sort: [{ column: 'custom_fields.360001', dir: 'asc' }], filters: { subject: 'r' } },
    ];
    for (const spec of views) {
      const want = ref.order(spec);
      const top = await idx.getRows({ start: 0, count: 100, columns: ['id'], ...spec });
      if (!spec.filters) assert.equal(top.complete, false, 'answered before the full order is done');
      assert.equal(top.total, want.length);
      assert.deepEqual(top.rows.map((r) => r.id), want.slice(0, 100), JSON.stringify(spec));
      const second = await idx.getRows({ start: 100, count: 100, columns: ['id'], ...spec });
      assert.deepEqual(second.rows.map((r) => r.id), want.slice(100, 200));
      await idx.settle();
      const all = await idx.getRows({ start: 0, count: 25_000, columns: [], ...spec });
      assert.equal(all.complete, true);
      assert.deepEqual(all.rows.map((r) => r.id), want, `full order of ${JSON.stringify(spec)}`);
    }
    // Far down a view whose order isn't done: the request finishes it first.
    const far = await idx.getRows({ start: 12_000, count: 10, columns: ['id'], sort: [{ column: 'updated_at', dir: 'desc' }] });
    assert.equal(far.complete, true);
    assert.deepEqual(far.rows.map((r) => r.id), ref.order({ sort: [{ column: 'updated_at', dir: 'desc' }] }).slice(12_000, 12_010));
  });

  it('stays exact when the file grows during a background sort, and starts over when a resume rewrites it', async () => {
    const file = path.join(dir, 'big.jsonl');
    await writeOutput(file, 'jsonl', [numbers(0, 25_000).map(varied)]);
    const idx = await RowIndex.open(file, { background: false, stepMs: 0 });
    open.push(idx);
    const sort = [{ column: 'subject', dir: 'desc' as const }];
    assert.equal((await idx.getRows({ start: 0, count: 50, columns: ['id'], sort })).complete, false);
    // The full sort starts (one slice of it), then an export appends a page.
    assert.equal(await idx.step(), true);
    await fs.appendFile(file, numbers(25_000, 27_000).map((i) => JSON.stringify(varied(i)) + '\n').join(''));
    let ref = await reference(file);
    const grown = await idx.getRows({ start: 0, count: 50, columns: ['id'], sort });
    assert.equal(grown.total, 27_000);
    assert.deepEqual(grown.rows.map((r) => r.id), ref.order({ sort }).slice(0, 50));
    while (await idx.step());
    const done = await idx.getRows({ start: 0, count: 27_000, columns: [], sort });
    assert.equal(done.complete, true);
    assert.deepEqual(done.rows.map((r) => r.id), ref.order({ sort }));
    // Another page once the order is done: merged in.
    await fs.appendFile(file, numbers(27_000, 27_500).map((i) => JSON.stringify(varied(i * 7)) + '\n').join(''));
    ref = await reference(file);
    const merged = await idx.getRows({ start: 0, count: 27_500, columns: [], sort });
    assert.deepEqual(merged.rows.map((r) => r.id), ref.order({ sort }));

    // A resume truncates to its checkpoint and appends other records, past the old size before the grid looks again.
    const text = await fs.readFile(file, 'utf8');
    const keep = Buffer.byteLength(text.split('\n').slice(0, 12_000).join('\n')) + 1;
    await fs.truncate(file, keep);
    await fs.appendFile(file, numbers(0, 17_000).map((i) => JSON.stringify({ ...varied(i + 5), id: 100_000 + i }) + '\n').join(''));
    assert.ok((await fs.stat(file)).size >= Buffer.byteLength(text));
    ref = await reference(file);
    const after = await idx.getRows({ start: 0, count: 100, columns: ['id', 'subject'], sort });
    assert.equal(after.total, 29_000);
    assert.deepEqual(after.rows.map((r) => r.id), ref.order({ sort }).slice(0, 100));
    assert.deepEqual(after.rows.map((r) => r.cells[0]), ref.order({ sort }).slice(0, 100).map((i) => ref.records[i].id));
  });

  it('answers a filtered view as soon as its window is full, then completes the count', async () => {
    const file = path.join(dir, 'big.jsonl');
    await fs.writeFile(file, padded(60_000));
    const idx = await RowIndex.open(file, { background: false });
    open.push(idx);
    const filters = { id: '7' };
    const want = range(0, 60_000).map((r) => r.id as number).filter((id) => String(id).includes('7'));
    const first = await idx.getRows({ start: 0, count: 20, columns: ['id'], filters });
    assert.deepEqual(first.rows.map((r) => r.id), want.slice(0, 20));
    assert.equal(first.complete, false);
    assert.ok(first.total < want.length, `total so far ${first.total}`);
    await idx.settle();
    const done = await idx.getRows({ start: want.length - 5, count: 20, columns: ['id'], filters });
    assert.equal(done.complete, true);
    assert.equal(done.total, want.length);
    assert.deepEqual(done.rows.map((r) => r.id), want.slice(-5));
  });
});

function numbers(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** JSON Lines of `n` records of about 420 bytes: several scan chunks. */
function padded(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: i, pad: 'p'.repeat(400) }));
  return lines.join('\n') + '\n';
}

const COLUMNS_TO_CHECK = ['id', 'subject', 'n', 'via.channel', 'via.source.to.name', 'custom_fields.360001', 'tags', 'a.b', 'missing', 'updated_at'];

/** Records whose values exercise every path: numbers and number-like texts, empties, unicode, escapes, long shared prefixes, nesting. */
function varied(id: number): Rec {
  let seed = id * 2654435761 + 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  const pick = <T>(xs: T[]): T => xs[next() % xs.length];
  const long = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore';
  const rec: Rec = {
    id,
    subject: pick([`Printer ${id % 13}`, 'printer', 'Printer', '', null, '-1', '42', '3.5e2', '007', '1.', 'İstanbul', 'istanbul', 'Kelvin \u212a', 'ÉCOLE', 'école', `${long} ${id % 5}`, `${long} ${id % 7}!`, 'x\u0000y', `emoji 😀 ${id % 3}`, 'line\nbreak', 'quote " and \\ slash', '=SUM(A1)', 'Zebra', 'zebra', 'ß', 'ǅ', `${'a'.repeat(79)}${id % 2 ? 'İ' : 'b'}`]),
    status: pick(['open', 'pending', 'solved']),
    via: { channel: pick(['web', 'Email', null, 'API', '']), source: { to: { name: pick(['Team 1', 'team 1', 'Équipe', 7]) } } },
    custom_fields: [{ id: 360001, value: pick(['cf-1', 'CF-2', null, 12, -3.25, true, '', 'x']) }, { id: 360002, value: 'other' }],
    tags: pick([[], ['a'], ['b', 'a'], ['K']]),
    updated_at: new Date(Date.UTC(2024, 0, 1) + (next() % 5000) * 3600_000).toISOString(),
  };
  const n = pick<unknown>([1, -1, 0, 2.5, 1e21, -1e-7, 123456789012345, 1234567890123456789, '7', '-7', 'abc', true, false, null, 'missing', { deep: 1 }, [3, 1]]);
  if (n !== 'missing') rec.n = n;
  if (next() % 3 === 0) rec['a.b'] = pick(['dotted literal', 5, null]);
  return rec;
}

interface Reference {
  records: Rec[];
  /** The view's ids as today's semantics define them: values.ts's keys and comparison, ties by file position. */
  order(spec: ViewSpec): number[];
}

/** The file read back independently (whole-file parse), and views computed the simple way. */
async function reference(file: string): Promise<Reference> {
  const text = await fs.readFile(file, 'utf8');
  let records: Rec[];
  let raw: string[];
  if (file.endsWith('.csv')) {
    const [header, ...rows] = parseCsv(text);
    records = rows.map((cells) => Object.fromEntries(header.map((c, i) => [c, cells[i] ?? ''])));
    raw = [];
  } else if (file.endsWith('.json')) {
    records = JSON.parse(text) as Rec[];
    raw = [];
  } else {
    raw = text.split('\n').filter((l) => l.trim() !== '');
    records = raw.map((l) => JSON.parse(l) as Rec);
  }
  return {
    records,
    order(spec) {
      const filters = Object.entries(spec.filters ?? {}).map(([c, v]) => [c, v.trim().toLowerCase()] as const);
      const search = spec.search?.trim().toLowerCase() ?? '';
      const sort = spec.sort ?? [];
      const ids = records.map((_, i) => i).filter((i) => (!search || raw[i].toLowerCase().includes(search)) && filters.every(([c, v]) => cellText(columnValue(records[i], c)).includes(v)));
      const keys = sort.map((s) => records.map((r) => sortKey(columnValue(r, s.column))));
      return ids.sort((a, b) => {
        for (let k = 0; k < sort.length; k++) {
          const r = compareKeys(keys[k][a], keys[k][b]);
          if (r !== 0) return keys[k][a] === null || keys[k][b] === null || sort[k].dir === 'asc' ? r : -r;
        }
        return a - b;
      });
    },
  };
}
