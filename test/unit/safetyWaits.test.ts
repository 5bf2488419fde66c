// Safe at the edges: never hang, never spin. `zdx` against a hostile HTTP server of the test's own
// (absurd Retry-After and rate-limit resets, cursors that loop, pages that bring nothing, a gzip bomb)
// and against the simulator running ahead of the local clock. Every run here is bounded: a run that
// would hang is killed and fails the test instead of stalling the suite.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startSimulator } from '../../src/simulator/index';
import { cleanEnv, duplicates, jsonlKeys, startCli, zdxFailureLines, type CliResult } from '../support/cliProcess';
import { hostileZendesk, json, ticket, type HostileHandler, type HostileZendesk } from '../support/hostileZendesk';

const CURSOR_PATH = '/api/v2/incremental/tickets/cursor';

/** zdx in a child process, killed (and the result marked) if it runs longer than `boundMs`. */
async function boundedCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, boundMs: number): Promise<CliResult & { ms: number; killed: boolean }> {
  const started = Date.now();
  const run = startCli(args, opts);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    run.child.kill('SIGKILL');
  }, boundMs);
  const r = await run.done;
  clearTimeout(timer);
  return { ...r, ms: Date.now() - started, killed };
}

function failureLine(r: CliResult): string {
  const lines = zdxFailureLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr.slice(0, 2000));
  return lines[0];
}

/** A cursor page of tickets/cursor. */
function cursorPage(records: Record<string, unknown>[], afterCursor: string | null, end = false): Record<string, unknown> {
  return { tickets: records, after_cursor: afterCursor, after_url: afterCursor ? `${CURSOR_PATH}.json?cursor=${afterCursor}` : null, before_cursor: null, before_url: null, end_of_stream: end };
}

describe('safe at the edges: never hang', function () {
  this.timeout(240_000);
  let dir: string;
  let srv: HostileZendesk | undefined;
  const env = cleanEnv({ ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: 'hostile-token' });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-waits-'));
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  // The bound is for a hang (a wait of minutes or forever), far above what a loaded machine needs.
  async function exportAgainst(handler: HostileHandler, extra: string[] = [], boundMs = 120_000) {
    srv = await hostileZendesk(handler);
    return boundedCli(['export', 'tickets', '--url', srv.url, '--start-time', '0', '--out', 't.jsonl', ...extra], { cwd: dir, env }, boundMs);
  }

  /** A stop that names the time, quickly, quietly: exit 14, one sentence, no timer warning, no flood. */
  function assertRateLimitedStop(r: CliResult & { ms: number; killed: boolean }, sentence: RegExp): void {
    assert.ok(!r.killed, `zdx was still running after ${r.ms} ms (the test's bound); stderr starts: ${r.stderr.slice(0, 500)}`);
    assert.equal(r.code, 14, r.stderr.slice(0, 2000));
    assert.match(failureLine(r), sentence);
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
    const lines = `${r.stdout}${r.stderr}`.split('\n').length;
    assert.ok(lines < 30, `${lines} lines of output`);
  }

  it('Retry-After: 1000000000 stops with the rate-limited exit code and a sentence naming the time, at once', async () => {
    const r = await exportAgainst((_req, res) => json(res, 429, { error: 'TooManyRequests' }, { 'retry-after': '1000000000' }));
    assertRateLimitedStop(r, /^zdx: Zendesk asked to wait until \d{4}-\d\d-\d\dT\S+Z \(\d+ min\), longer than the 20 min an export waits at most; resume after that time \(the longest wait is set with --max-wait in zdx, zendesk\.export\.maxWaitMinutes in VS Code\)\.$/);
    assert.equal(srv!.exportRequests().length, 1, 'one request, no retry loop');
  });

  it('remaining: 0 with a reset decades away stops with the rate-limited exit code after the page it got', async () => {
    const r = await exportAgainst((req, res) => {
      if (req.query.get('cursor')) return json(res, 200, cursorPage([ticket(2, 1_600_000_100)], 'c2', true));
      json(res, 200, cursorPage([ticket(1, 1_600_000_000)], 'c1'), { 'x-rate-limit': '700', 'x-rate-limit-remaining': '0', 'ratelimit-reset': '999999999' });
    });
    assertRateLimitedStop(r, /^zdx: Zendesk asked to wait until \d{4}-\S+Z \(\d+ min\), longer than the 20 min an export waits at most/);
    assert.equal(srv!.exportRequests().length, 1);
    assert.equal(jsonlKeys(join(dir, 't.jsonl')).length, 1, 'the page before the stop is kept, with its checkpoint');
  });

  it('--max-wait caps a single wait: Retry-After 120 with --max-wait 1 stops at once', async () => {
    const r = await exportAgainst((_req, res) => json(res, 429, { error: 'TooManyRequests' }, { 'retry-after': '120' }), ['--max-wait', '1']);
    assertRateLimitedStop(r, /^zdx: Zendesk asked to wait until \S+ \(2 min\), longer than the 60 s an export waits at most/);
    // One request: it stopped instead of waiting (a wait would have ended in a retry).
    assert.equal(srv!.exportRequests().length, 1);
  });

  it('a cursor seen before in the same run (A → B → A) stops with stuck (13)', async () => {
    const next: Record<string, string> = { '': 'A', A: 'B', B: 'A' };
    let id = 0;
    const r = await exportAgainst((req, res) => {
      id++;
      json(res, 200, cursorPage([ticket(id, 1_600_000_000 + id)], next[req.query.get('cursor') ?? '']));
    });
    assert.ok(!r.killed, 'still running at the bound');
    assert.equal(r.code, 13, r.stderr);
    assert.match(failureLine(r), /^zdx: Zendesk's tickets\/cursor export returned a cursor it had already given in this run; the export stopped instead of looping forever\.$/);
    assert.equal(srv!.exportRequests().length, 3);
  });

  it('a run of pages that bring nothing new (yet "more" each time) stops with stuck (13)', async () => {
    let n = 0;
    const r = await exportAgainst((_req, res) => json(res, 200, cursorPage([], `empty-${++n}`)));
    assert.ok(!r.killed, 'still running at the bound');
    assert.equal(r.code, 13, r.stderr);
    assert.match(failureLine(r), /^zdx: Zendesk's tickets\/cursor export sent 5 pages in a row with nothing new but kept saying there is more/);
    assert.ok(srv!.exportRequests().length <= 6, `${srv!.exportRequests().length} requests`);
  });

  it('a gzip body that inflates past the cap (128 MiB) stops with one sentence and no retry', async () => {
    // 150 MiB of zeros compress to ~150 KB.
    const bomb = gzipSync(Buffer.alloc(150 * 1024 * 1024));
    const r = await exportAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length });
      res.end(bomb);
    }, [], 180_000);
    assert.ok(!r.killed, 'still running at the bound');
    assert.equal(r.code, 15, r.stderr.slice(0, 2000));
    assert.match(failureLine(r), /^zdx: 127\.0\.0\.1:\d+ answered \/api\/v2\/incremental\/tickets\/cursor with a body larger than 128 MiB once decompressed; the export stopped instead of reading it \(a page is never that large\)\.$/);
    assert.equal(srv!.exportRequests().length, 1, 'no retry storm');
  });
});

describe('safe at the edges: never hang (a local clock behind Zendesk\'s)', function () {
  this.timeout(120_000);

  it('with the local clock 5 minutes behind the server, a time-based export no longer exits 0 "caught up" while missing data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zdx-safety-clock-'));
    const t0 = Math.floor(Date.now() / 1000);
    // The account's clock stands still unless advanced: ten rounds of changes, 30 s apart, in the last minutes.
    const sim = await startSimulator({ seed: 21, counts: { tickets: 60 }, rateLimits: false, now: () => t0 * 1000 });
    try {
      for (let round = 0; round < 10; round++) {
        sim.mutate({ updatedTickets: 12 });
        sim.advanceClock(30);
      }
      sim.advanceClock(100);
      // zdx runs with Date shifted so that its clock reads Zendesk's minus 5 minutes; nothing is injected into the engine.
      const skew = join(dir, 'skewed-clock.cjs');
      writeFileSync(skew, [
        'const RealDate = Date;',
        'const offset = Number(process.env.ZDX_TEST_CLOCK_OFFSET_MS);',
        'class SkewedDate extends RealDate {',
        '  constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }',
        '  static now() { return RealDate.now() + offset; }',
        '}',
        'globalThis.Date = SkewedDate;',
      ].join('\n'));
      const offset = sim.nowSeconds() * 1000 - Date.now() - 5 * 60_000;
      const env = cleanEnv({
        ZENDESK_EMAIL: sim.credentials.admin.email,
        ZENDESK_API_TOKEN: sim.credentials.admin.token,
        ZDX_TEST_CLOCK_OFFSET_MS: String(offset),
        NODE_OPTIONS: `--require ${skew}`,
      });
      const r = await boundedCli(['export', 'tickets', '--time', '--url', sim.url, '--start-time', '0', '--per-page', '20', '--out', 't.jsonl'], { cwd: dir, env }, 90_000);
      assert.ok(!r.killed, 'still running at the bound');
      const keys = jsonlKeys(join(dir, 't.jsonl'));
      const want = sim.expected('tickets', { startTime: 0 }).map((e) => `${e.id}:${e.ts}`);
      assert.ok(want.some((k) => Number(k.split(':')[1]) > t0 + 200), 'the account has versions from the last minutes');
      assert.deepEqual(duplicates(keys), []);
      const missing = want.filter((k) => !keys.includes(k));
      assert.deepEqual(missing, [], `exit ${r.code}, ${missing.length} of ${want.length} versions missing: ${r.stdout.slice(-400)}`);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
