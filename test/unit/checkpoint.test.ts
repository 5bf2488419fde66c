import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointPathFor, readCheckpoint, writeCheckpointAtomic, type Checkpoint } from '../../src/engine/export';
import { rejectsWith } from '../support/exportErrors';

const ROOT = path.resolve(__dirname, '..', '..');

function sample(overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    version: 1,
    queryDigest: 'a'.repeat(64),
    endpointId: 'tickets/cursor',
    position: { kind: 'cursor', cursor: 'MTU3NjYxMzUzOS4wfHw0NTF8' },
    lastRecordTime: 1700000000,
    boundaryKeys: [],
    perPage: 1000,
    files: { '/x/tickets.jsonl': 1234 },
    writerState: { csvColumns: { 'tickets.csv': ['id', '_extra'] } },
    records: 10,
    pages: 1,
    caughtUp: false,
    updatedAt: '2026-06-15T12:00:00.000Z',
    ...overrides,
  };
}

/** A pid that no process has right now: a child that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('checkpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdcp-'));
  });
  afterEach(async () => {
    await fs.chmod(dir, 0o755).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('lives beside the output, named after it', () => {
    assert.equal(checkpointPathFor('/w/out/tickets.jsonl'), path.join('/w/out', 'tickets.checkpoint.json'));
    assert.equal(checkpointPathFor('/w/out/data.v2.csv'), path.join('/w/out', 'data.v2.checkpoint.json'));
    assert.equal(checkpointPathFor('/w/out/noext'), path.join('/w/out', 'noext.checkpoint.json'));
  });

  it('reads a missing checkpoint as null', async () => {
    assert.equal(await readCheckpoint(path.join(dir, 'nothing.checkpoint.json')), null);
  });

  it('round-trips, creating the folder, leaving no temp file', async () => {
    const file = path.join(dir, 'sub', 'deeper', 't.checkpoint.json');
    const cp = sample({ position: { kind: 'time', startTime: 1700000000 }, boundaryKeys: ['1:1700000000'] });
    await writeCheckpointAtomic(file, cp);
    assert.deepEqual(await readCheckpoint(file), cp);
    await writeCheckpointAtomic(file, sample({ position: null, lastRecordTime: null, perPage: null, caughtUp: true }));
    assert.equal((await readCheckpoint(file))?.caughtUp, true);
    assert.deepEqual(await fs.readdir(path.dirname(file)), ['t.checkpoint.json']);
    for (const position of [{ kind: 'routing', cursor: null }, { kind: 'routing', cursor: 'abc' }, { kind: 'metricCursor', after: 'x' }] as const) {
      await writeCheckpointAtomic(file, sample({ position }));
      assert.deepEqual((await readCheckpoint(file))?.position, position);
    }
  });

  it('survives a crash mid-write: the old checkpoint stays, the next write cleans up', async () => {
    const file = path.join(dir, 't.checkpoint.json');
    await writeCheckpointAtomic(file, sample({ records: 1 }));
    const crashed = `${file}.tmp-${await deadPid()}`;
    await fs.writeFile(crashed, '{"version":1,"queryDig');
    assert.equal((await readCheckpoint(file))?.records, 1);
    await writeCheckpointAtomic(file, sample({ records: 2 }));
    assert.equal((await readCheckpoint(file))?.records, 2);
    assert.equal(existsSync(crashed), false, 'a dead process\'s temp file is removed');
  });

  it('leaves a live process\'s temp file alone', async () => {
    const file = path.join(dir, 't.checkpoint.json');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      const live = `${file}.tmp-${other.pid}`;
      await fs.writeFile(live, 'in progress');
      await writeCheckpointAtomic(file, sample());
      assert.equal(existsSync(live), true);
    } finally {
      other.kill();
    }
  });

  it('reports damaged checkpoints as checkpointCorrupt and never changes them', async () => {
    const cases: [string, string, RegExp][] = [
      ['truncated', JSON.stringify(sample()).slice(0, 40), /not valid JSON/],
      ['empty', '', /it is empty/],
      ['array', '[]', /not a JSON object/],
      ['version', JSON.stringify({ ...sample(), version: 2 }), /version is 2, this tool reads version 1/],
      ['shape', JSON.stringify({ ...sample(), records: -1, files: { a: 'x' } }), /files, records are missing or malformed/],
      ['position', JSON.stringify({ ...sample(), position: { kind: 'cursor' } }), /position is missing or malformed/],
    ];
    for (const [name, text, why] of cases) {
      const file = path.join(dir, `${name}.checkpoint.json`);
      await fs.writeFile(file, text);
      const err = await rejectsWith(readCheckpoint(file), 'checkpointCorrupt', why);
      assert.match(err.message, new RegExp(`^The checkpoint ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged \\(.*\\); delete it to start over from the query's start time\\.$`));
      assert.equal(await fs.readFile(file, 'utf8'), text, `${name} must not be modified`);
    }
    const folder = path.join(dir, 'folder.checkpoint.json');
    await fs.mkdir(folder);
    await rejectsWith(readCheckpoint(folder), 'checkpointCorrupt', /can't be read: EISDIR/);
  });

  it('fails with io on a read-only folder and keeps the old checkpoint', async function () {
    if (process.platform === 'win32') this.skip(); // folder modes don't restrict writes there
    const file = path.join(dir, 't.checkpoint.json');
    await writeCheckpointAtomic(file, sample({ records: 1 }));
    const before = await fs.readFile(file, 'utf8');
    await fs.chmod(dir, 0o555);
    if (process.getuid?.() === 0) {
      // Root ignores permissions: run the write as an unprivileged user instead.
      const script = `
        const { writeCheckpointAtomic } = require(${JSON.stringify(path.join(ROOT, 'src/engine/export/index.ts'))});
        writeCheckpointAtomic(${JSON.stringify(file)}, ${JSON.stringify(sample({ records: 2 }))})
          .then(() => console.log(JSON.stringify({ ok: true })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: ROOT, uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: os.tmpdir() },
      });
      assert.ok(!run.error && run.status === 0 && run.stdout.trim(), `could not run the write as user nobody: ${run.error?.message ?? run.stderr}`);
      const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { code?: string; message?: string };
      assert.equal(result.code, 'io', run.stdout);
      assert.match(result.message!, /no permission to write the checkpoint .*\(EACCES\); the previous checkpoint is unchanged/);
    } else {
      await rejectsWith(writeCheckpointAtomic(file, sample({ records: 2 })), 'io', /no permission.*previous checkpoint is unchanged/);
    }
    assert.equal(await fs.readFile(file, 'utf8'), before);
  });

  it('fails with io when the disk is full, keeping the old checkpoint and removing the temp file', () => {
    // A 64 KiB tmpfs in a private mount namespace: a real full disk, invisible to the rest of the machine
    // and gone when the child exits. Needs util-linux's unshare and mount namespaces (Linux, as in CI).
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const { writeCheckpointAtomic, readCheckpoint } = require(${JSON.stringify(path.join(ROOT, 'src/engine/export/index.ts'))});
      const dir = process.argv[1];
      const file = path.join(dir, 't.checkpoint.json');
      (async () => {
        await writeCheckpointAtomic(file, ${JSON.stringify(sample({ records: 1 }))});
        const before = fs.readFileSync(file, 'utf8');
        const fd = fs.openSync(path.join(dir, 'filler'), 'w');
        try { for (;;) fs.writeSync(fd, Buffer.alloc(4096)); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
        fs.closeSync(fd);
        let error = null;
        try { await writeCheckpointAtomic(file, ${JSON.stringify(sample({ records: 2 }))}); } catch (e) { error = { code: e.code, message: e.message }; }
        console.log(JSON.stringify({ error, intact: fs.readFileSync(file, 'utf8') === before, records: (await readCheckpoint(file)).records, names: fs.readdirSync(dir).sort() }));
      })().catch((e) => { console.log(JSON.stringify({ crash: String(e) })); });`;
    const run = spawnSync('unshare', ['--mount', '--map-root-user', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" --import tsx -e "$3" "$1"', 'sh', dir, process.execPath, script], {
      cwd: ROOT, encoding: 'utf8',
    });
    const last = run.stdout?.trim().split('\n').pop();
    assert.ok(!run.error && run.status === 0 && last, `could not set up a full tmpfs with unshare: ${run.error?.message ?? run.stderr}`);
    const result = JSON.parse(last) as { error: { code: string; message: string } | null; intact: boolean; records: number; names: string[]; crash?: string };
    assert.equal(result.crash, undefined);
    assert.equal(result.error?.code, 'io');
    assert.match(result.error.message, /^The disk is full, so the checkpoint .*t\.checkpoint\.json couldn't be saved; the previous checkpoint is unchanged\. Free some space and resume\.$/);
    assert.ok(result.intact);
    assert.equal(result.records, 1);
    assert.deepEqual(result.names, ['filler', 't.checkpoint.json'], 'no temp file is left behind');
  });

  it('never writes through a planted symlink at the temp name', async () => {
    const file = path.join(dir, 't.checkpoint.json');
    const victim = path.join(dir, 'victim.txt');
    await fs.writeFile(victim, 'precious');
    await fs.symlink(victim, `${file}.tmp-${process.pid}`);
    await writeCheckpointAtomic(file, sample());
    assert.equal(await fs.readFile(victim, 'utf8'), 'precious');
    assert.equal((await readCheckpoint(file))?.records, 10);
  });
});
