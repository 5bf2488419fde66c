// Safe at the edges, through `zdx`: the CLI writes where --out says, but never through a symbolic
// link someone planted at the output, a sideload, the checkpoint or the lock.
// (Start Over and the workspace bounds go through the engine server: safetyServer.test.ts.)
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, runCli, zdxFailureLines } from '../support/cliProcess';

describe('safe at the edges: files (zdx)', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator({ seed: 5, counts: { tickets: 120, users: 30 }, rateLimits: false });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-files-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const plants: { what: string; link: string; state?: string; code: number; sentence: RegExp }[] = [
    { what: 'the output (--out)', link: 'out.jsonl', code: 17, sentence: /^zdx: The output \S+out\.jsonl is a symbolic link, which this tool never writes through; remove it or choose another output path/ },
    { what: 'a sideload (--include users)', link: 'out.users.jsonl', code: 17, sentence: /^zdx: The output \S+out\.users\.jsonl is a symbolic link, which this tool never writes through/ },
    { what: 'the checkpoint beside the output', link: 'out.checkpoint.json', code: 10, sentence: /^zdx: The checkpoint \S+out\.checkpoint\.json is damaged \(it is a symbolic link, which this tool never follows\)/ },
    { what: 'the checkpoint given with --state', link: 'state.json', state: 'state.json', code: 10, sentence: /^zdx: The checkpoint \S+state\.json is damaged \(it is a symbolic link, which this tool never follows\)/ },
    { what: 'the lock beside the checkpoint', link: 'out.checkpoint.json.lock', code: 17, sentence: /^zdx: The lock \S+out\.checkpoint\.json\.lock is a symbolic link, which this tool never follows; remove it and run again\.$/ },
  ];
  for (const p of plants) {
    it(`never writes through a symlink planted at ${p.what}; the link's target is unchanged`, async () => {
      const victim = join(dir, 'someone-elses.txt');
      writeFileSync(victim, 'precious\n');
      symlinkSync(victim, join(dir, p.link));
      const r = await runCli([
        'export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '50', '--include', 'users', '--out', 'out.jsonl',
        ...(p.state ? ['--state', p.state] : []),
      ], { cwd: dir, env });
      assert.equal(r.code, p.code, r.stderr);
      // Progress lines come first; the failure is the one "zdx: " line, last.
      const failures = zdxFailureLines(r.stderr);
      assert.equal(failures.length, 1, r.stderr);
      assert.match(failures[0], p.sentence);
      assert.equal(r.stderr.trim().split('\n').at(-1), failures[0]);
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link\'s target is unchanged');
      assert.ok(lstatSync(join(dir, p.link)).isSymbolicLink(), 'the link is left where it was');
    });
  }
});
