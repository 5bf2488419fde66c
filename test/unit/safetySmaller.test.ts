// Safe at the edges, the smaller ones, through `zdx`: a full disk before any checkpoint, a reader that
// goes away (`zdx … | head`), and a 404 that is not about routing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, runCli, startCli, zdxFailureLines } from '../support/cliProcess';
import { hostileZendesk, json } from '../support/hostileZendesk';
import { mountTinyDisk } from '../support/tinyDisk';

describe('safe at the edges: smaller', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator({ seed: 17, counts: { tickets: 300 }, rateLimits: false });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-small-'));
  });
  afterEach(() => {
    sim.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a full disk before any checkpoint exists says so, not "the last checkpoint is still valid"', async () => {
    const disk = await mountTinyDisk(join(dir, 'full'), 16);
    try {
      const r = await runCli(['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '100', '--out', join(disk.dir, 't.jsonl')], { cwd: dir, env });
      assert.equal(r.code, 17, r.stderr);
      const line = zdxFailureLines(r.stderr);
      assert.equal(line.length, 1, r.stderr);
      assert.match(line[0], /^zdx: The disk is full while writing \S+t\.jsonl; free some space; no checkpoint was saved yet, so run the export again once that is fixed\.$/);
      assert.doesNotMatch(r.stderr, /still valid/);
    } finally {
      await disk.unmount();
    }
  });

  it('`zdx … | head`: when the reader goes away, zdx exits quietly with 141 (no stack trace)', async () => {
    sim.hold({ afterPages: 1, path: '/incremental/' });
    const run = startCli(['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '20', '--json', '--out', 't.jsonl'], { cwd: dir, env });
    const firstLine = new Promise<string>((resolve) => run.onLine(resolve));
    assert.ok(JSON.parse(await firstLine), 'a JSON progress line came first');
    await sim.waitForHeld();
    // What `head -n 1` does after its line: close the pipe.
    run.child.stdout!.destroy();
    sim.release();
    const r = await run.done;
    assert.equal(r.code, 141, r.stderr);
    assert.equal(r.stderr, '', 'nothing on stderr: no stack trace, no EPIPE');
  });

  it('a 404 for a tickets export does not mention routing or the Enterprise plan', async () => {
    const srv = await hostileZendesk((_req, res) => json(res, 404, { error: 'InvalidEndpoint', description: 'Not found' }), (_req, res) => json(res, 404, { error: 'InvalidEndpoint', description: 'Not found' }));
    try {
      const r = await runCli(['export', 'tickets', '--url', srv.url, '--start-time', '0', '--out', 't.jsonl'], { cwd: dir, env });
      assert.equal(r.code, 5, r.stderr);
      // zdx asks nothing before the export itself (no account check), so the 404 is the export's.
      assert.match(r.stderr.trim(), /^zdx: Zendesk has no \/api\/v2\/incremental\/tickets\/cursor on 127\.0\.0\.1:\d+ \(404\): check the subdomain or URL\.$/);
      assert.doesNotMatch(r.stderr, /routing|Enterprise/);
    } finally {
      await srv.close();
    }
  });
});
