// zdx's start-up: an empty run (an export that is caught up: one request, nothing new) of the built
// CLI (dist/cli.js, as npm installs it) against `node -e 0` on the same machine, runs alternated so
// that load falls on both alike. Aim: within x2.5.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMain, simulatorProcess, tempDir } from './support';

const CLI = join(__dirname, '..', 'dist', 'cli.js');

export interface StartupResult {
  nodeMs: number;
  zdxMs: number;
  ratio: number;
}

function timed(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { env, stdio: 'ignore' });
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function startupBench(opts: { runs?: number; log?: (l: string) => void } = {}): Promise<StartupResult> {
  const log = opts.log ?? console.log;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run node scripts/build.mjs first (npm run bench does).`);
  const tmp = tempDir('startup');
  // execFileSync blocks this thread: the simulator answers from its own process.
  const server = await simulatorProcess(['--tickets', '50', '--no-rate-limits', '--live', '0']);
  try {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tmp.dir, ZENDESK_URL: server.url, ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: 'sim-admin-token' };
    const run = [CLI, 'export', 'tickets', '--out', join(tmp.dir, 'tickets.jsonl')];
    timed(run, env); // the first run exports; every later one is empty
    const node: number[] = [];
    const zdx: number[] = [];
    for (let i = 0; i < (opts.runs ?? 15); i++) {
      node.push(timed(['-e', '0'], env));
      zdx.push(timed(run, env));
    }
    const result = { nodeMs: median(node), zdxMs: median(zdx), ratio: median(zdx) / median(node) };
    log(`node -e 0: ${result.nodeMs.toFixed(0)} ms; zdx empty run: ${result.zdxMs.toFixed(0)} ms (medians of ${node.length})`);
    return result;
  } finally {
    await server.close();
    tmp.remove();
  }
}

if (isMain(module)) {
  void startupBench().then((r) => console.log(`zdx empty run x${r.ratio.toFixed(2)} of node -e 0 (aim <= x2.5)`));
}
