import { strict as assert } from 'node:assert';
import { mountTinyDisk } from '../support/tinyDisk';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rejectsWith } from '../support/exportErrors';
import type { OutputFormat } from '../../src/engine/query';
import { openOutput, parseCsv, sideloadPath, type CsvFieldNames, type OutputSink } from '../../src/engine/export';

type Rec = Record<string, unknown>;

function ticket(id: number, extra: Rec = {}): Rec {
  return {
    id,
    subject: `Subject ${id}`,
    status: 'open',
    via: { channel: 'web', source: { from: {}, to: { name: 'Acme' } } },
    tags: ['a', 'b'],
    custom_fields: [{ id: 360001, value: 'x' }, { id: 360002, value: null }],
    generated_timestamp: 1700000000 + id,
    ...extra,
  };
}

async function readJsonl(file: string): Promise<Rec[]> {
  const text = await fs.readFile(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'));
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

async function readCsv(file: string): Promise<Rec[]> {
  const [header, ...rows] = parseCsv(await fs.readFile(file, 'utf8'));
  return rows.map((row) => {
    assert.equal(row.length, header.length, `row ${JSON.stringify(row)} has ${row.length} cells, header ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, row[i]]));
  });
}

async function readJsonArray(file: string): Promise<Rec[]> {
  const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
  assert.ok(Array.isArray(value));
  return value as Rec[];
}

async function sizes(sink: OutputSink): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of sink.paths) out[p] = (await fs.stat(p)).size;
  return out;
}

describe('output', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdout-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const open = (file: string, format: OutputFormat, resume: ReturnType<OutputSink['state']> | null = null): Promise<OutputSink> =>
    openOutput({ path: file, format, resource: 'tickets', resume });

  describe('jsonl', () => {
    it('appends one record per line, with sideloads in their own files, creating folders', async () => {
      const file = path.join(dir, 'a', 'b', 'tickets.jsonl');
      const sink = await open(file, 'jsonl');
      await sink.writePage([ticket(1), ticket(2)], { users: [{ id: 10, name: 'Ann' }], groups: [] });
      await sink.writePage([ticket(3, { id: 9007199254740991 })], { users: [{ id: 11, name: 'Bob' }] });
      const state = sink.state();
      assert.deepEqual(state.files, await sizes(sink));
      assert.equal(state.writerState, undefined);
      await sink.finish();
      await sink.close();
      assert.deepEqual(sink.paths, [file, path.join(dir, 'a', 'b', 'tickets.users.jsonl')]);
      assert.deepEqual((await readJsonl(file)).map((r) => r.id), [1, 2, 9007199254740991]);
      assert.deepEqual(await readJsonl(file).then((r) => r[0]), ticket(1));
      assert.deepEqual(await readJsonl(sideloadPath(file, 'users', 'jsonl')), [{ id: 10, name: 'Ann' }, { id: 11, name: 'Bob' }]);
      assert.equal(existsSync(sideloadPath(file, 'groups', 'jsonl')), false, 'an empty sideload creates no file');
    });

    it('resumes by cutting away what a crashed run wrote after its checkpoint', async () => {
      const file = path.join(dir, 'tickets.jsonl');
      const sink = await open(file, 'jsonl');
      await sink.writePage([ticket(1), ticket(2)], { users: [{ id: 10 }] });
      const checkpoint = sink.state();
      // This page's records and a brand-new sideload are written, then the process dies before its checkpoint.
      await sink.writePage([ticket(3)], { users: [{ id: 11 }], groups: [{ id: 20 }] });
      await sink.close();
      await fs.appendFile(file, '{"id": 4, "subj'); // a torn write

      const resumed = await open(file, 'jsonl', checkpoint);
      assert.deepEqual(await sizes(resumed), checkpoint.files);
      await resumed.writePage([ticket(3), ticket(4)], { groups: [{ id: 21 }] });
      await resumed.finish();
      await resumed.close();
      assert.deepEqual((await readJsonl(file)).map((r) => r.id), [1, 2, 3, 4]);
      assert.deepEqual(await readJsonl(sideloadPath(file, 'users', 'jsonl')), [{ id: 10 }]);
      assert.deepEqual(await readJsonl(sideloadPath(file, 'groups', 'jsonl')), [{ id: 21 }], 'a sideload file unknown to the checkpoint starts over');
    });

    it('overwrites existing files on a fresh start', async () => {
      const file = path.join(dir, 'tickets.jsonl');
      await fs.writeFile(file, '{"id":99}\n');
      const sink = await open(file, 'jsonl');
      await sink.writePage([ticket(1)], {});
      await sink.close();
      assert.deepEqual((await readJsonl(file)).map((r) => r.id), [1]);
    });

    it('refuses to resume when a file is shorter than its checkpoint or missing, changing nothing', async () => {
      const file = path.join(dir, 'tickets.jsonl');
      const sink = await open(file, 'jsonl');
      await sink.writePage([ticket(1), ticket(2)], { users: [{ id: 10 }] });
      const checkpoint = sink.state();
      await sink.writePage([ticket(3)], { users: [{ id: 11 }] });
      await sink.close();
      const usersFile = sideloadPath(file, 'users', 'jsonl');
      const usersBefore = await fs.readFile(usersFile, 'utf8');
      await fs.truncate(file, 10);
      const err = await rejectsWith(open(file, 'jsonl', checkpoint), 'io');
      assert.equal(err.message, `The output ${file} is shorter than its checkpoint says (10 bytes, expected at least ${checkpoint.files[file]}); it was changed outside the export — move it away and delete the checkpoint to start over.`);
      assert.equal(await fs.readFile(usersFile, 'utf8'), usersBefore, 'no file is truncated when any is wrong');
      await fs.rm(file);
      await rejectsWith(open(file, 'jsonl', checkpoint), 'io', /is missing, though its checkpoint says it holds/);
      assert.equal(existsSync(file), false);
    });

    it('recreates a file the checkpoint recorded as empty', async () => {
      const file = path.join(dir, 'tickets.jsonl');
      const sink = await open(file, 'jsonl');
      await sink.writePage([], {});
      const checkpoint = sink.state();
      assert.deepEqual(checkpoint.files, { [file]: 0 });
      await sink.close();
      await fs.rm(file);
      const resumed = await open(file, 'jsonl', checkpoint);
      await resumed.writePage([ticket(1)], {});
      await resumed.close();
      assert.deepEqual((await readJsonl(file)).map((r) => r.id), [1]);
    });

    it('resumes after the workspace folder moved', async () => {
      const file = path.join(dir, 'old', 'tickets.jsonl');
      const sink = await open(file, 'jsonl');
      await sink.writePage([ticket(1)], { users: [{ id: 10 }] });
      const checkpoint = sink.state();
      await sink.close();
      await fs.rename(path.join(dir, 'old'), path.join(dir, 'new'));
      const moved = path.join(dir, 'new', 'tickets.jsonl');
      const resumed = await open(moved, 'jsonl', checkpoint);
      await resumed.writePage([ticket(2)], { users: [{ id: 11 }] });
      await resumed.close();
      assert.deepEqual((await readJsonl(moved)).map((r) => r.id), [1, 2]);
      assert.deepEqual(Object.keys(resumed.state().files), [moved, sideloadPath(moved, 'users', 'jsonl')]);
    });

    it('reports a full disk as io and refuses further pages', async () => {
      const disk = await mountTinyDisk(path.join(dir, 'full'), 8);
      try {
        const file = path.join(disk.dir, 'tickets.jsonl');
        const sink = await open(file, 'jsonl');
        const big = ticket(1, { description: 'x'.repeat(64 * 1024) });
        await rejectsWith(sink.writePage([big], {}), 'io', /^The disk is full while writing .*tickets\.jsonl; free some space\.$/);
        await rejectsWith(sink.writePage([ticket(2)], {}), 'io', /disk is full/);
        assert.deepEqual(sink.state().files, { [file]: 0 });
        await sink.close();
      } finally {
        await disk.unmount();
      }
    });

    it('never writes through a symlink planted at the output', async () => {
      const target = path.join(dir, 'someone-elses.txt');
      await fs.writeFile(target, 'precious');
      const file = path.join(dir, 'planted.jsonl');
      await fs.symlink(target, file);
      await rejectsWith(open(file, 'jsonl'), 'io', /is a symbolic link, which this tool never writes through/);
      assert.equal(await fs.readFile(target, 'utf8'), 'precious');
    });
  });

  describe('csv', () => {
    it('flattens records into fixed columns, quotes per RFC 4180 and neutralises formulas', async () => {
      const file = path.join(dir, 'tickets.csv');
      const sink = await open(file, 'csv');
      const tricky = ticket(2, {
        subject: '=HYPERLINK("http://evil","click")',
        status: '+1 555 0100',
        description: 'line one\r\nline "two", with comma',
        priority: '@SUM(A1)',
        type: '-2+3',
        score: -12.5,
        balance: '-42',
        note: '\tTabbed',
        nothing: null,
        flag: true,
      });
      await sink.writePage([ticket(1, { score: 3, balance: '7', note: 'n', nothing: 'x', flag: false, description: 'd', priority: 'low', type: 'task' }), tricky], { users: [{ id: 10, name: 'Ann, "the admin"' }] });
      const state = sink.state();
      await sink.close();

      const text = await fs.readFile(file, 'utf8');
      assert.ok(text.split('\r\n')[0].startsWith('id,subject,status,via.channel,via.source.from,via.source.to.name,tags,custom_fields.360001,custom_fields.360002,generated_timestamp,'));
      assert.ok(text.endsWith(',_extra\r\n') === false && text.split('\r\n')[0].endsWith(',_extra'));
      const rows = await readCsv(file);
      assert.equal(rows.length, 2);
      const [plain, bad] = rows;
      assert.equal(plain['via.source.from'], '{}');
      assert.equal(plain.tags, '["a","b"]');
      assert.equal(plain['custom_fields.360001'], 'x');
      assert.equal(plain['custom_fields.360002'], '');
      assert.equal(plain.flag, 'false');
      assert.equal(bad.subject, `'=HYPERLINK("http://evil","click")`);
      assert.equal(bad.status, "'+1 555 0100");
      assert.equal(bad.priority, "'@SUM(A1)");
      assert.equal(bad.type, "'-2+3");
      assert.equal(bad.note, "'\tTabbed");
      assert.equal(bad.score, '-12.5', 'a negative number stays a number');
      assert.equal(bad.balance, '-42', 'a string holding a plain negative number stays as it is');
      assert.equal(bad.description, 'line one\r\nline "two", with comma');
      assert.equal(bad.nothing, '');
      assert.equal(bad._extra, '');
      assert.deepEqual(await readCsv(sideloadPath(file, 'users', 'csv')), [{ id: '10', name: 'Ann, "the admin"', _extra: '' }]);
      assert.deepEqual((state.writerState as { csvColumns: Record<string, string[]> }).csvColumns['tickets.users.csv'], ['id', 'name', '_extra']);
    });

    it('keeps later fields in _extra and resumes with the same columns', async () => {
      const file = path.join(dir, 'tickets.csv');
      const sink = await open(file, 'csv');
      await sink.writePage([], {}); // an empty first page fixes nothing
      await sink.writePage([{ id: 1, a: 1 }, { id: 2, b: { c: 2 } }], {});
      const checkpoint = sink.state();
      await sink.writePage([{ id: 3, a: 3 }], {});
      await sink.close();

      const resumed = await open(file, 'csv', JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint);
      await resumed.writePage([{ id: 3, a: 3, d: 'new', custom_fields: [{ id: 5, value: ['x'] }], b: { c: '=1' } }], {});
      await resumed.finish();
      await resumed.close();
      const rows = await readCsv(file);
      assert.deepEqual(rows.map((r) => r.id), ['1', '2', '3']);
      assert.deepEqual(Object.keys(rows[0]), ['id', 'a', 'b.c', '_extra']);
      assert.equal(rows[2]['b.c'], "'=1");
      assert.deepEqual(JSON.parse(rows[2]._extra as string), { d: 'new', 'custom_fields.5': ['x'] });
      const text = await fs.readFile(file, 'utf8');
      assert.equal(text.match(/^id,/gm)?.length, 1, 'the header is written once');
    });

    it('names the main file’s custom-field columns when it is given names, resumes with them, and leaves sideload files alone', async () => {
      const file = path.join(dir, 'tickets.csv');
      const csvFields: CsvFieldNames = {
        field: 'custom_fields',
        defined: ['360002', '360001'],
        name: (ref, taken) => {
          const name = ({ 360001: 'cf_tier', 360002: 'cf_order' } as Record<string, string>)[ref] ?? `cf_${ref}`;
          taken.add(name);
          return name;
        },
      };
      const sink = await openOutput({ path: file, format: 'csv', resource: 'tickets', resume: null, csvFields });
      await sink.writePage([ticket(1)], { users: [{ id: 10, user_fields: { plan: 'pro' }, custom_fields: [{ id: 360001, value: 'u' }] }] });
      const checkpoint = JSON.parse(JSON.stringify(sink.state())) as ReturnType<OutputSink['state']>;
      await sink.close();
      const resumed = await openOutput({ path: file, format: 'csv', resource: 'tickets', resume: checkpoint, csvFields: { ...csvFields, name: () => 'cf_renamed' } });
      await resumed.writePage([ticket(2, { custom_fields: [{ id: 360001, value: 'y' }, { id: 9, value: 1 }] })], {});
      await resumed.close();
      const rows = await readCsv(file);
      assert.deepEqual(Object.keys(rows[0]).slice(6, 10), ['tags', 'cf_order', 'cf_tier', 'generated_timestamp']);
      assert.deepEqual(rows.map((r) => [r.cf_tier, r.cf_order, r._extra]), [['x', '', ''], ['y', '', '{"cf_renamed":1}']]);
      assert.deepEqual(Object.keys((await readCsv(sideloadPath(file, 'users', 'csv')))[0]), ['id', 'user_fields.plan', 'custom_fields.360001', '_extra']);
      await rejectsWith(open(file, 'csv', { files: checkpoint.files, writerState: { csvColumns: { 'tickets.csv': { columns: ['id'] } } } }), 'checkpointCorrupt', /CSV columns/);
    });

    it('needs its columns from the checkpoint to resume', async () => {
      const file = path.join(dir, 'tickets.csv');
      const sink = await open(file, 'csv');
      await sink.writePage([{ id: 1 }], {});
      const { files } = sink.state();
      await sink.close();
      await rejectsWith(open(file, 'csv', { files }), 'checkpointCorrupt', /CSV columns/);
    });
  });

  describe('json', () => {
    it('writes an array that is valid after finish, and again after resume and finish', async () => {
      const file = path.join(dir, 'tickets.json');
      const sink = await open(file, 'json');
      assert.deepEqual(await readJsonArray(file), [], 'valid from the start');
      await sink.writePage([ticket(1), ticket(2)], { users: [{ id: 10 }] });
      assert.deepEqual((await readJsonArray(file)).map((r) => r.id), [1, 2], 'valid after every page');
      const checkpoint = sink.state();
      assert.equal(checkpoint.files[file], (await fs.stat(file)).size - '\n]\n'.length, 'state excludes the closing bracket');
      await sink.finish();
      assert.deepEqual(sink.state(), checkpoint, 'finish() does not change what a checkpoint records');
      await sink.close();
      assert.deepEqual((JSON.parse(await fs.readFile(file, 'utf8')) as Rec[]).map((r) => r.id), [1, 2]);
      assert.deepEqual(JSON.parse(await fs.readFile(sideloadPath(file, 'users', 'json'), 'utf8')), [{ id: 10 }]);

      const resumed = await open(file, 'json', checkpoint);
      await resumed.writePage([ticket(3)], { users: [{ id: 11 }], groups: [{ id: 20 }] });
      await resumed.finish();
      await resumed.close();
      assert.deepEqual((JSON.parse(await fs.readFile(file, 'utf8')) as Rec[]).map((r) => r.id), [1, 2, 3]);
      assert.deepEqual(JSON.parse(await fs.readFile(sideloadPath(file, 'users', 'json'), 'utf8')), [{ id: 10 }, { id: 11 }]);
      assert.deepEqual(JSON.parse(await fs.readFile(sideloadPath(file, 'groups', 'json'), 'utf8')), [{ id: 20 }]);
    });

    it('resumes a run that crashed before finish', async () => {
      const file = path.join(dir, 'tickets.json');
      const sink = await open(file, 'json');
      await sink.writePage([ticket(1)], {});
      const checkpoint = sink.state();
      await sink.writePage([ticket(2)], {});
      await sink.close();
      await fs.appendFile(file, ',\n{"id": 3, "tor'); // a torn write
      const resumed = await open(file, 'json', checkpoint);
      assert.deepEqual((await readJsonArray(file)).map((r) => r.id), [1], 'valid again as soon as it is reopened');
      await resumed.writePage([ticket(2), ticket(3)], {});
      await resumed.finish();
      await resumed.close();
      assert.deepEqual((JSON.parse(await fs.readFile(file, 'utf8')) as Rec[]).map((r) => r.id), [1, 2, 3]);
    });

    it('is an empty array when nothing was exported, and can continue after finish', async () => {
      const file = path.join(dir, 'tickets.json');
      const sink = await open(file, 'json');
      await sink.finish();
      assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), []);
      await sink.writePage([ticket(1)], {});
      await sink.finish();
      await sink.close();
      assert.deepEqual((JSON.parse(await fs.readFile(file, 'utf8')) as Rec[]).map((r) => r.id), [1]);
    });
  });

  it('writes a large page quickly and exactly', async () => {
    const file = path.join(dir, 'tickets.jsonl');
    const sink = await open(file, 'jsonl');
    const page = Array.from({ length: 5000 }, (_, i) => ticket(i + 1));
    const started = Date.now();
    for (let p = 0; p < 4; p++) await sink.writePage(page, {});
    await sink.close();
    assert.ok(Date.now() - started < 10000);
    assert.equal((await readJsonl(file)).length, 20000);
  });
});
