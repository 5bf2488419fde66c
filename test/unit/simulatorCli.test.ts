// `zdx simulate` passes the simulator's options through: the live activity (on by default, --live N,
// --live 0 off) and --whole-second-resets. A real child process, as a person starts it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, startCli, type CliRun } from '../support/cliProcess';

describe('zdx simulate options', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-simulate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts `zdx simulate`, waits for its banner, runs `check`, stops it with SIGINT. */
  async function withSimulate(args: string[], check: (url: string, banner: string) => Promise<void>): Promise<void> {
    const run: CliRun = startCli(['simulate', '--port', '0', '--tickets', '50', ...args], { cwd: dir, env: cleanEnv() });
    let banner = '';
    const url = await new Promise<string>((resolveUrl, reject) => {
      run.onLine((line) => {
        banner += `${line}\n`;
        const m = /listening on (http:\/\/\S+)/.exec(banner);
        if (m && banner.includes('Press Ctrl-C')) resolveUrl(m[1]);
      });
      void run.done.then((res) => reject(new Error(`simulate exited early: ${res.stderr}`)));
    });
    try {
      await check(url, banner);
    } finally {
      run.child.kill('SIGINT');
    }
    assert.equal((await run.done).code, 0);
  }

  it('runs a live account by default and says so', async () => {
    await withSimulate([], async (_url, banner) => {
      assert.match(banner, /Data: history up to now; live, about 4 changes a minute \(--live 0 turns it off\)/);
    });
  });

  it('--live 0 keeps the data still; --whole-second-resets rounds resets up even with --time-scale', async () => {
    await withSimulate(['--live', '0', '--time-scale', '30', '--whole-second-resets'], async (url, banner) => {
      assert.match(banner, /Data: history up to now; not changing/);
      assert.match(banner, /time scale 30, resets in whole seconds/);
      const auth = `Basic ${Buffer.from('admin@example.com/token:sim-admin-token').toString('base64')}`;
      const res = await fetch(`${url}/api/v2/incremental/tickets?start_time=0&per_page=1`, { headers: { authorization: auth } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('ratelimit-reset')!, /^[12]$/, 'a 2 s scaled window reported in whole seconds');
      assert.match(res.headers.get('zendesk-ratelimit-incremental-exports')!, /resets=[12]$/);
    });
  });
});
