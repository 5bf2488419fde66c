// Safe at the edges: a checkpoint is input like any other (a cloned repository holds someone else's).
// Through `zdx`: one that contradicts its query or itself is refused with one sentence and nothing
// changes; the engine never writes one it would refuse; the query's identity doesn't depend on the
// directory zdx runs in.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Checkpoint } from '../../src/engine/export';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, duplicates, jsonlKeys, runCli, snapshot, zdxFailureLines, type CliResult } from '../support/cliProcess';
import { hostileZendesk, json, ticket } from '../support/hostileZendesk';

/** The run's one failure line ("zdx: …", after any progress lines). */
function failure(r: CliResult): string {
  const lines = zdxFailureLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  return lines[0];
}

describe('safe at the edges: checkpoints', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator({ seed: 13, counts: { tickets: 150, users: 60 }, rateLimits: false });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-cp-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const exportTickets = (extra: string[] = []) => runCli(['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '50', '--out', 't.jsonl', ...extra], { cwd: dir, env });
  const cpFile = () => join(dir, 't.checkpoint.json');
  const readCp = (): Checkpoint => JSON.parse(readFileSync(cpFile(), 'utf8')) as Checkpoint;
  const writeCp = (cp: Checkpoint): void => writeFileSync(cpFile(), JSON.stringify(cp, null, 2));

  /** A finished export, its checkpoint edited by `edit`, then a rerun that must be refused with `sentence` and change nothing. */
  async function refusedAfter(edit: (cp: Checkpoint) => void, sentence: RegExp, extra: string[] = []): Promise<void> {
    const first = await exportTickets(extra);
    assert.equal(first.code, 0, first.stderr);
    const cp = readCp();
    edit(cp);
    writeCp(cp);
    const before = snapshot(dir);
    const asked = sim.stats().requests;
    const rerun = await exportTickets(extra);
    assert.equal(rerun.code, 10, rerun.stderr);
    assert.match(failure(rerun), sentence);
    assert.deepEqual(snapshot(dir), before, 'the refused run changed no file');
    assert.equal(sim.stats().requests, asked, 'and asked Zendesk nothing');
  }

  it('refuses "files": {} when the checkpoint counts records; the output keeps what it held', async () => {
    await refusedAfter((cp) => {
      assert.ok(cp.records > 0);
      cp.files = {};
    }, /^zdx: The checkpoint \S+t\.checkpoint\.json is damaged \(it counts \d+ records but lists no bytes of the output t\.jsonl\); delete it to start over from the query's start time\.$/);
    assert.equal(jsonlKeys(join(dir, 't.jsonl')).length, readCp().records);
  });

  it('refuses files that are not the query\'s own outputs', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    await refusedAfter((cp) => {
      cp.files[victim] = 0;
    }, /^zdx: The checkpoint \S+ is damaged \(it lists \S+victim\.txt, which is not an output of this query\)/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });

  it('refuses an endpointId of another resource; no users are appended to the tickets output', async () => {
    await refusedAfter((cp) => {
      cp.endpointId = 'users/cursor';
    }, /^zdx: The checkpoint \S+ is damaged \(it names the endpoint users\/cursor, which a tickets\/cursor export can't be at\)/);
  });

  it('refuses a position far in the future (it would say "caught up" forever)', async () => {
    await refusedAfter((cp) => {
      cp.position = { kind: 'time', startTime: Math.floor(Date.now() / 1000) + 10 * 365 * 86400 };
      cp.lastRecordTime = cp.position.startTime;
    }, /^zdx: The checkpoint \S+ is damaged \(its position \d{4}-\S+Z lies in the future, so it can't have come from Zendesk\)/, ['--time']);
  });

  it('refuses at run time a position ahead of Zendesk\'s clock (its Date header) instead of reporting "caught up"', async () => {
    const first = await exportTickets(['--time']);
    assert.equal(first.code, 0, first.stderr);
    const cp = readCp();
    // An hour ahead: within what a local clock could be off by, but not what Zendesk's clock says.
    cp.position = { kind: 'time', startTime: sim.nowSeconds() + 3600 };
    writeCp(cp);
    const before = snapshot(dir);
    const rerun = await exportTickets(['--time']);
    assert.equal(rerun.code, 10, `${rerun.stdout}\n${rerun.stderr}`);
    assert.match(failure(rerun), /^zdx: The export's position \d{4}-\S+Z is ahead of Zendesk's clock \(\d{4}-\S+Z\), so it can't have come from Zendesk and would report "caught up" forever; delete the checkpoint to start over\.$/);
    assert.doesNotMatch(rerun.stdout, /caught up|Export complete/);
    assert.deepEqual(snapshot(dir), before);
  });

  it('the same absolute --out from two directories resumes the same checkpoint (the query identity is not the current directory)', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b', 'deeper');
    mkdirSync(a);
    mkdirSync(b, { recursive: true });
    const out = join(dir, 'shared', 'tickets.jsonl');
    const args = ['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '50', '--out', out];
    const first = await runCli(args, { cwd: a, env });
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(args, { cwd: b, env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr + second.stdout, /resum/i, 'the second run continued from the checkpoint');
    const keys = jsonlKeys(out);
    assert.deepEqual(duplicates(keys), []);
    assert.deepEqual([...keys].sort(), sim.expected('tickets/cursor', { startTime: 0 }).map((e) => `${e.id}:${e.ts}`).sort());
  });
});

describe('safe at the edges: checkpoints (from a hostile server)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-cp-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a record with a negative generated_timestamp no longer makes the engine write a checkpoint it then rejects', async () => {
    const end = 1_700_000_000;
    const srv = await hostileZendesk((req, res) => {
      if (req.path !== '/api/v2/incremental/tickets') return json(res, 404, { error: 'InvalidEndpoint' });
      const start = Number(req.query.get('start_time'));
      // A first page whose only record is stamped before 1970; then nothing new.
      if (start < end) return json(res, 200, { tickets: [ticket(7, -5)], end_time: end, next_page: null, count: 1, end_of_stream: true });
      return json(res, 200, { tickets: [], end_time: end, next_page: null, count: 0, end_of_stream: true });
    });
    try {
      const env = cleanEnv({ ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: 'hostile-token' });
      const args = ['export', 'tickets', '--time', '--url', srv.url, '--start-time', '0', '--out', 't.jsonl'];
      const first = await runCli(args, { cwd: dir, env });
      assert.equal(first.code, 0, first.stderr);
      const cp = JSON.parse(readFileSync(join(dir, 't.checkpoint.json'), 'utf8')) as Checkpoint;
      assert.equal(cp.records, 1);
      assert.equal(cp.lastRecordTime, null, 'a pre-1970 timestamp is no record time');
      const rerun = await runCli(args, { cwd: dir, env });
      assert.equal(rerun.code, 0, `the engine refused its own checkpoint: ${rerun.stderr}`);
      assert.equal(jsonlKeys(join(dir, 't.jsonl')).length, 1);
    } finally {
      await srv.close();
    }
  });
});
