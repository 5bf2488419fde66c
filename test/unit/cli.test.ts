// The `zdx` CLI as a real child process against the simulator on loopback: every format against
// the simulator's oracle, saved queries rerun after changes, SIGKILL at random points, SIGINT,
// and one clear sentence (and untouched files) for every failure.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import type { Checkpoint } from '../../src/engine/export';
import {
  cleanEnv, csvKeys, duplicates, expectedKeys, jsonArrayKeys, jsonlKeys, runCli, seededRandom, snapshot, startCli,
} from '../support/cliProcess';
import type { CliResult } from '../support/cliProcess';

function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

/** Every failure: non-zero exit, exactly one line on stderr, "zdx: " + a sentence, no secret. */
function assertOneSentenceFailure(r: CliResult, exitCode: number | number[], secret?: string): void {
  const codes = Array.isArray(exitCode) ? exitCode : [exitCode];
  assert.ok(codes.includes(r.code ?? -1), `exit ${r.code}, expected ${codes.join(' or ')}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `stderr should be one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^zdx: \S.*[.)]$/, `not one "zdx: " sentence: ${lines[0]}`);
  if (secret) {
    assert.ok(!r.stderr.includes(secret), 'the secret leaked into stderr');
    assert.ok(!r.stdout.includes(secret), 'the secret leaked into stdout');
  }
}

describe('zdx CLI (child process against the simulator)', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator({ seed: 7, counts: { tickets: 3000, users: 500 }, rateLimits: false });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['jsonl', 'csv', 'json'] as const) {
    it(`exports tickets (cursor) as ${format}, equal to the simulator's oracle`, async () => {
      const r = await runCli(['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '250', '--format', format, '--out', `t.${format}`], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      const file = join(dir, `t.${format}`);
      const keys = format === 'jsonl' ? jsonlKeys(file) : format === 'csv' ? csvKeys(file) : jsonArrayKeys(file);
      assert.deepEqual(duplicates(keys), []);
      assert.deepEqual(sorted(keys), sorted(expectedKeys(sim.expected('tickets/cursor', { startTime: 0 }))));
      assert.ok(existsSync(join(dir, 't.checkpoint.json')), 'checkpoint beside the output');
      assert.match(r.stdout, /Export complete: [\d,]+ records/);
    });
  }

  it('exports users with time-based pagination (boundary duplicates removed) into --state', async () => {
    const r = await runCli(['export', 'users', '--time', '--url', sim.url, '--per-page', '50', '--state', 'state/users.json'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const keys = jsonlKeys(join(dir, 'users.jsonl'), 'updated_at');
    assert.deepEqual(duplicates(keys), []);
    const expected = expectedKeys(sim.expected('users', { startTime: 0 }));
    // updated_at is an ISO string in the record and Unix seconds in the oracle.
    const normalised = keys.map((k) => {
      const [id, ts] = k.split(':', 2);
      return `${id}:${/^\d+$/.test(ts) ? ts : Math.floor(Date.parse(k.slice(id.length + 1)) / 1000)}`;
    });
    assert.deepEqual(sorted(normalised), sorted(expected));
    assert.ok(existsSync(join(dir, 'state', 'users.json')));
  });

  it('--json prints one parseable JSON object per line: start, pages, done, result', async () => {
    const r = await runCli(['export', 'tickets', '--url', sim.url, '--per-page', '500', '--json'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'start');
    assert.ok(types.filter((t) => t === 'page').length >= 6, types.join(','));
    assert.ok(types.includes('done'));
    const result = events[events.length - 1];
    assert.equal(result.type, 'result');
    assert.equal(result.caughtUp, true);
    assert.equal(result.records, sim.expected('tickets/cursor', { startTime: 0 }).length);
    assert.equal(r.stderr, '', 'nothing human on stderr in --json mode');
  });

  it('runs a saved query, then a rerun after changes appends exactly the changes', async () => {
    const local = await startSimulator({ seed: 11, counts: { tickets: 1200 }, rateLimits: false });
    try {
      const localEnv = cleanEnv({ ZENDESK_EMAIL: local.credentials.admin.email, ZENDESK_API_TOKEN: local.credentials.admin.token });
      mkdirSync(join(dir, 'queries'));
      const queryFile = join(dir, 'queries', 'weekly.zdquery.json');
      writeFileSync(queryFile, JSON.stringify({
        name: 'Weekly tickets', connection: 'simulator', resource: 'tickets', pagination: 'cursor', startTime: 0,
        params: { perPage: 100 }, output: { path: 'out/tickets.jsonl', format: 'jsonl' },
      }, null, 2));
      const first = await runCli(['run', queryFile, '--url', local.url], { cwd: dir, env: localEnv });
      assert.equal(first.code, 0, first.stderr);
      const out = join(dir, 'queries', 'out', 'tickets.jsonl');
      const before = jsonlKeys(out);
      const expectedBefore = expectedKeys(local.expected('tickets/cursor', { startTime: 0 }));
      assert.deepEqual(sorted(before), sorted(expectedBefore));
      assert.ok(existsSync(join(dir, 'queries', 'out', 'tickets.checkpoint.json')));

      local.mutate({ newTickets: 7, updatedTickets: 9 });
      local.advanceClock(61);
      // The account may come from the environment as well as from flags.
      const second = await runCli(['run', 'queries/weekly.zdquery.json'], { cwd: dir, env: { ...localEnv, ZENDESK_URL: local.url } });
      assert.equal(second.code, 0, second.stderr);
      const after = jsonlKeys(out);
      assert.deepEqual(after.slice(0, before.length), before, 'the first run\'s lines are untouched');
      const appended = after.slice(before.length);
      const beforeSet = new Set(expectedBefore);
      const changes = expectedKeys(local.expected('tickets/cursor', { startTime: 0 })).filter((k) => !beforeSet.has(k));
      // 7 new + 9 updated, less any the default support_type_scope (agent) hides.
      assert.ok(changes.length >= 10 && changes.length <= 16, `the oracle shows ${changes.length} changed versions`);
      assert.deepEqual(sorted(appended), sorted(changes));

      // A third run with nothing new appends nothing and still exits 0.
      const third = await runCli(['run', queryFile, '--url', local.url], { cwd: dir, env: localEnv });
      assert.equal(third.code, 0, third.stderr);
      assert.equal(jsonlKeys(out).length, after.length);
    } finally {
      await local.close();
    }
  });

  describe('interruptions', function () {
    let big: RunningSimulator;
    let bigEnv: NodeJS.ProcessEnv;
    before(async () => {
      big = await startSimulator({ seed: 3, counts: { tickets: 30_000 }, rateLimits: false, latencyMs: 4 });
      bigEnv = cleanEnv({ ZENDESK_EMAIL: big.credentials.admin.email, ZENDESK_API_TOKEN: big.credentials.admin.token });
    });
    after(async () => {
      await big?.close();
    });
    const args = (): string[] => ['export', 'tickets', '--url', big.url, '--start-time', '0', '--per-page', '100', '--out', 'tickets.jsonl', '--json'];

    /** Starts an export and resolves once `pages` page events have been printed (or the run ended). */
    function startAndWaitForPages(pages: number): { run: ReturnType<typeof startCli>; reached: Promise<boolean> } {
      const run = startCli(args(), { cwd: dir, env: bigEnv });
      let seen = 0;
      const reached = new Promise<boolean>((resolveReached) => {
        run.onLine((line) => {
          if (line.startsWith('{"type":"page"') && ++seen === pages) resolveReached(true);
        });
        void run.done.then(() => resolveReached(false));
      });
      return { run, reached };
    }

    it('SIGKILL at random points, then a rerun: the output equals an uninterrupted run (no duplicates, none missing)', async function () {
      this.timeout(600_000);
      const seed = Number(process.env.ZDX_TEST_SEED ?? Date.now() % 100_000);
      const random = seededRandom(seed);
      const note = `(seed ${seed}; replay with ZDX_TEST_SEED=${seed})`;

      // The reference: one uninterrupted run in its own folder.
      const refDir = join(dir, 'reference');
      mkdirSync(refDir);
      const ref = await runCli(args(), { cwd: refDir, env: bigEnv });
      assert.equal(ref.code, 0, ref.stderr);
      const reference = jsonlKeys(join(refDir, 'tickets.jsonl'));
      assert.equal(reference.length, big.expected('tickets/cursor', { startTime: 0 }).length);

      let kills = 0;
      for (let attempt = 0; attempt < 4; attempt++) {
        const pages = 3 + Math.floor(random() * 40);
        // The run can't get far past the kill point, however slow this machine is: the simulator
        // holds its requests a few pages later (the kill may land while one is held, too).
        big.hold({ afterPages: pages + 1 + Math.floor(random() * 4), path: '/tickets/cursor' });
        const { run, reached } = startAndWaitForPages(pages);
        const ok = await reached;
        assert.ok(ok, `the run ended before ${pages} pages ${note}`);
        // A random extra delay lands the kill anywhere: mid-request, mid-write, mid-checkpoint.
        await new Promise((r) => setTimeout(r, Math.floor(random() * 60)));
        run.child.kill('SIGKILL');
        const res = await run.done;
        big.release();
        assert.equal(res.signal, 'SIGKILL', `attempt ${attempt} finished before it was killed ${note}`);
        kills++;
      }
      assert.ok(kills >= 3);
      const last = await runCli(args(), { cwd: dir, env: bigEnv });
      assert.equal(last.code, 0, `${last.stderr} ${note}`);
      const keys = jsonlKeys(join(dir, 'tickets.jsonl'));
      assert.deepEqual(duplicates(keys), [], `duplicates after resume ${note}`);
      assert.deepEqual(sorted(keys), sorted(reference), `resumed output differs from the uninterrupted run ${note}`);
      const cp = JSON.parse(readFileSync(join(dir, 'tickets.checkpoint.json'), 'utf8')) as Checkpoint;
      assert.equal(cp.caughtUp, true);
      assert.equal(cp.records, reference.length);
    });

    it('SIGINT stops cleanly: exit 130, one sentence, a checkpoint that matches the output; the rerun completes', async () => {
      big.hold({ afterPages: 5, path: '/tickets/cursor' });
      const { run, reached } = startAndWaitForPages(5);
      assert.ok(await reached, 'the export ended before 5 pages');
      await big.waitForHeld();
      run.child.kill('SIGINT');
      const res = await run.done;
      big.release();
      assert.equal(res.code, 130, res.stderr);
      const errLines = res.stderr.split('\n').filter((l) => l.startsWith('zdx: '));
      assert.equal(errLines.length, 1, res.stderr);
      const cp = JSON.parse(readFileSync(join(dir, 'tickets.checkpoint.json'), 'utf8')) as Checkpoint;
      assert.equal(cp.version, 1);
      assert.ok(cp.position, 'the checkpoint has a position');
      assert.equal(cp.caughtUp, false);
      const out = join(dir, 'tickets.jsonl');
      assert.equal(statSync(out).size, Object.entries(cp.files).find(([p]) => p.endsWith('tickets.jsonl'))?.[1], 'checkpoint byte length = output length');
      assert.equal(jsonlKeys(out).length, cp.records);

      const rerun = await runCli(args(), { cwd: dir, env: bigEnv });
      assert.equal(rerun.code, 0, rerun.stderr);
      const keys = jsonlKeys(out);
      assert.deepEqual(duplicates(keys), []);
      assert.deepEqual(sorted(keys), sorted(expectedKeys(big.expected('tickets/cursor', { startTime: 0 }))));
    });
  });

  describe('failures: non-zero exit, one sentence, no file changed', () => {
    const token = 'definitely-wrong-token-4711';

    async function failing(args: string[], runEnv: NodeJS.ProcessEnv, exit: number | number[], secret?: string, prepare?: () => void): Promise<CliResult> {
      prepare?.();
      const before = snapshot(dir);
      const r = await runCli(args, { cwd: dir, env: runEnv });
      assertOneSentenceFailure(r, exit, secret);
      assert.deepEqual(snapshot(dir), before, 'a failed run changed files');
      return r;
    }

    it('wrong API token: exit 3 (auth), the token is not echoed', async () => {
      const r = await failing(['export', 'tickets', '--url', sim.url], cleanEnv({ ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: token }), 3, token);
      assert.match(r.stderr, /authenticat|credential|token/i);
    });

    it('wrong OAuth token: exit 3 (auth)', async () => {
      await failing(['export', 'tickets', '--url', sim.url], cleanEnv({ ZENDESK_OAUTH_TOKEN: token }), 3, token);
    });

    it('an agent (not admin) account: exit 4 (forbidden)', async () => {
      const agent = sim.credentials.agent;
      await failing(['export', 'tickets', '--url', sim.url], cleanEnv({ ZENDESK_EMAIL: agent.email, ZENDESK_API_TOKEN: agent.token }), 4, agent.token);
    });

    it('a malformed subdomain (a typo): exit 7 (invalidQuery)', async () => {
      const r = await failing(['export', 'tickets', '--subdomain', 'acme corp!'], env, 7);
      assert.match(r.stderr, /subdomain/);
    });

    it('plain http to a non-loopback host: exit 12 (insecureUrl)', async () => {
      await failing(['export', 'tickets', '--url', 'http://acme.zendesk.com'], env, 12);
    });

    it('no account at all: exit 2 with the ways to give one', async () => {
      const r = await failing(['export', 'tickets'], env, 2);
      assert.match(r.stderr, /--subdomain|ZENDESK_URL/);
    });

    it('no credentials anywhere: exit 3, naming the environment variables and auth login', async () => {
      // DBUS unset: the keychain is unreachable, which the message mentions rather than hides.
      const r = await failing(['export', 'tickets', '--url', sim.url], cleanEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' }), 3);
      assert.match(r.stderr, /ZENDESK_API_TOKEN/);
      assert.match(r.stderr, /auth login/);
    });

    it('a corrupt query file: exit 7 (invalidQuery) naming the file', async () => {
      const r = await failing(['run', 'broken.zdquery.json', '--url', sim.url], env, 7, undefined, () => {
        writeFileSync(join(dir, 'broken.zdquery.json'), '{ "name": "x", "resource": ');
      });
      assert.match(r.stderr, /broken\.zdquery\.json/);
    });

    it('a query file with an unknown resource: exit 7', async () => {
      await failing(['run', 'bad.zdquery.json', '--url', sim.url], env, 7, undefined, () => {
        writeFileSync(join(dir, 'bad.zdquery.json'), JSON.stringify({ name: 'x', resource: 'requests' }));
      });
    });

    it('a corrupt checkpoint: exit 10 (checkpointCorrupt), output and checkpoint untouched', async () => {
      const r = await failing(['export', 'tickets', '--url', sim.url, '--out', 'tickets.jsonl'], env, 10, undefined, () => {
        writeFileSync(join(dir, 'tickets.jsonl'), '{"id":1}\n');
        writeFileSync(join(dir, 'tickets.checkpoint.json'), '{"version":1,"queryDig');
      });
      assert.match(r.stderr, /checkpoint/i);
    });

    it('a checkpoint of a different query: exit 9 (checkpointMismatch)', async () => {
      const first = await runCli(['export', 'tickets', '--url', sim.url, '--per-page', '1000'], { cwd: dir, env });
      assert.equal(first.code, 0, first.stderr);
      await failing(['export', 'tickets', '--url', sim.url, '--per-page', '1000', '--exclude-deleted'], env, 9);
    });

    it('a start time in the future: exit 8 (futureStartTime)', async () => {
      await failing(['export', 'tickets', '--url', sim.url, '--start-time', '2099-01-01T00:00:00Z'], env, 8);
    });

    it('bad options: exit 2 with a zdx: line', async () => {
      await failing(['export', 'tickets', '--url', sim.url, '--per-page', 'lots'], env, 2);
      await failing(['export', 'nonsense', '--url', sim.url], env, 2);
      await failing(['export', 'tickets', '--url', sim.url, '--cursor', '--time'], env, 2);
      // A token typed as an option is not echoed back in the error.
      await failing(['export', 'tickets', '--url', sim.url, `--token=${token}`], env, 2, token);
    });

    it('--json failures also print one {"type":"error"} line on stdout', async () => {
      const r = await failing(['export', 'tickets', '--url', sim.url, '--json'], cleanEnv({ ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: token }), 3, token);
      const obj = JSON.parse(r.stdout.trim()) as { type: string; code: string };
      assert.equal(obj.type, 'error');
      assert.equal(obj.code, 'auth');
    });
  });

  it('demo: seeded simulator in process, a paced export with rate-limit waits, a rerun that picks up changes', async () => {
    const r = await runCli(['demo'], { cwd: dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Demo summary/);
    const waits = Number(/Rate-limit waits: (\d+)/.exec(r.stdout)?.[1]);
    const run = /First run: +[\d,]+ records in ([\d,]+) pages, (?:(\d+)m)?(\d+)s/.exec(r.stdout);
    assert.ok(run, r.stdout);
    const pages = Number(run[1].replace(/,/g, ''));
    const seconds = Number(run[2] ?? 0) * 60 + Number(run[3]);
    // The budget at work (10 requests per 2 s in the demo): either the export waited for a reset,
    // or this machine was slow enough that it never sent more than 10 in a window, which takes at
    // least 2 s per 10 pages after the first 10 (less half a second of rounding in the summary).
    assert.ok(waits >= 1 || seconds + 0.5 >= 2 * (Math.ceil(pages / 10) - 1), `the demo should show the budget at work:\n${r.stdout}`);
    const first = Number(/First run: +([\d,]+) records/.exec(r.stdout)?.[1].replace(/,/g, ''));
    const second = Number(/Second run: +([\d,]+) changed/.exec(r.stdout)?.[1].replace(/,/g, ''));
    assert.ok(second > 0, 'the rerun picked up the changes');
    const keys = jsonlKeys(join(dir, 'demo-output', 'tickets.jsonl'));
    assert.equal(keys.length, first + second);
    assert.deepEqual(duplicates(keys), []);
  });

  it('simulate: prints the URL and demo credentials, serves them, stops on SIGINT with exit 0', async () => {
    const run = startCli(['simulate', '--port', '0', '--tickets', '50', '--no-rate-limits'], { cwd: dir, env: cleanEnv() });
    const url = await new Promise<string>((resolveUrl, reject) => {
      run.onLine((line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) resolveUrl(m[1]);
      });
      void run.done.then((res) => reject(new Error(`simulate exited early: ${res.stderr}`)));
    });
    try {
      const auth = `Basic ${Buffer.from('admin@example.com/token:sim-admin-token').toString('base64')}`;
      const res = await fetch(`${url}/api/v2/users/me`, { headers: { Authorization: auth } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { user: { role: string } }).user.role, 'admin');
    } finally {
      run.child.kill('SIGINT');
    }
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /sim-admin-token/);
  });

  it('--help documents the exit codes and the credential sources', async () => {
    const r = await runCli(['--help'], { cwd: dir, env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:/);
    assert.match(r.stdout, /130/);
    assert.match(r.stdout, /ZENDESK_API_TOKEN/);
  });
});
