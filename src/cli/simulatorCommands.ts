// `zdx simulate` (the Zendesk simulator as a standalone server) and `zdx demo` (simulator in
// process + a real export with the progress display), so the tool can be tried without an account.
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { connectionFromUrl } from '../engine/zendesk';
import { checkpointPathFor } from '../engine/export';
import { loadQuery } from '../engine/query';
import { DEFAULT_CHANGES_PER_MINUTE, startSimulator } from '../simulator/index';
import type { IO } from './io';
import { EXIT_NOT_CAUGHT_UP, EXIT_OK, UsageError } from './exitCodes';
import { fmtDuration, fmtInt } from './progress';
import { runSession } from './session';

export interface SimulateFlags {
  port?: number;
  tickets?: number;
  seed?: number;
  timeScale?: number;
  rateLimits?: boolean;
  highVolume?: boolean;
  latency?: number;
  /** Live activity: about this many changes a minute; 0 turns it off. */
  live?: number;
  wholeSecondResets?: boolean;
}

export async function simulateCommand(flags: SimulateFlags, io: IO): Promise<number> {
  const port = flags.port ?? 4567;
  const live = flags.live ?? DEFAULT_CHANGES_PER_MINUTE;
  const sim = await startSimulator({
    port,
    seed: flags.seed,
    counts: flags.tickets !== undefined ? { tickets: flags.tickets } : undefined,
    rateLimits: flags.rateLimits === false ? false : { timeScale: flags.timeScale ?? 1, highVolume: Boolean(flags.highVolume), wholeSecondResets: Boolean(flags.wholeSecondResets) },
    latencyMs: flags.latency,
    live: live > 0 ? { changesPerMinute: live } : false,
  }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`Port ${port} is in use; pick another with --port N (0 picks a free one).`);
    throw err;
  });
  // Ctrl-C is handled before the banner says to press it: a SIGINT the moment the banner appears
  // (a script that waits for it, a person quick on the keys) must stop the simulator, not kill it.
  const stopped = new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const admin = sim.credentials.admin;
  const agent = sim.credentials.agent;
  // These are the simulator's fixed demo accounts, not secrets: printing them is the point.
  io.out([
    `Zendesk simulator listening on ${sim.url}`,
    `Rate limits: ${flags.rateLimits === false ? 'off' : `on, time scale ${flags.timeScale ?? 1}${flags.highVolume ? ', High Volume' : ''}${flags.wholeSecondResets ? ', resets in whole seconds' : ''}`}`,
    `Data: history up to now; ${live > 0 ? `live, about ${live} change${live === 1 ? '' : 's'} a minute (--live 0 turns it off)` : 'not changing (--live N makes about N changes a minute)'}`,
    'Demo credentials (fake, for the simulator only):',
    `  admin  email ${admin.email}  API token ${admin.token}  OAuth token ${admin.oauthToken}`,
    `  agent  email ${agent.email}  API token ${agent.token}  (403 on incremental exports)`,
    'Try:',
    `  ZENDESK_EMAIL=${admin.email} ZENDESK_API_TOKEN=${admin.token} zdx export tickets --url ${sim.url} --out tickets.jsonl`,
    'Press Ctrl-C to stop.',
  ].join('\n'));
  await stopped;
  await sim.close();
  io.err('Simulator stopped.');
  return EXIT_OK;
}

export interface DemoFlags {
  tickets?: number;
  timeScale?: number;
  perPage?: number;
  json?: boolean;
}

export async function demoCommand(flags: DemoFlags, io: IO): Promise<number> {
  const timeScale = flags.timeScale ?? 30;
  const tickets = flags.tickets ?? 12_000;
  const perPage = flags.perPage ?? 500;
  const sim = await startSimulator({ port: 0, seed: 42, counts: { tickets }, rateLimits: { timeScale }, live: true });
  try {
    const dir = join(io.cwd, 'demo-output');
    const out = join(dir, 'tickets.jsonl');
    const checkpointPath = checkpointPathFor(out);
    // The demo always starts from scratch: a checkpoint from an earlier demo points into a
    // simulator that no longer runs.
    await mkdir(dir, { recursive: true });
    await rm(out, { force: true });
    await rm(checkpointPath, { force: true });

    const admin = sim.credentials.admin;
    const connection = connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: admin.email, token: admin.token } });
    const query = loadQuery(
      { name: 'demo tickets', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage }, output: { path: out, format: 'jsonl' } },
      { baseDir: io.cwd },
    );
    io.err(`Demo: simulator at ${sim.url} with ${fmtInt(tickets)} tickets; the 10 requests/min budget runs ${timeScale}x faster, so a minute lasts ${fmtDuration(60_000 / timeScale)}.`);
    io.err(`Exporting tickets (cursor pagination, ${perPage} per page) to ${relative(io.cwd, out)}…`);
    const first = await runSession({ connection, query, checkpointPath, json: Boolean(flags.json) });

    // A second run shows the point of checkpoints: only what changed since is fetched.
    sim.mutate({ newTickets: 25, updatedTickets: 40 });
    // Zendesk never returns the most recent minute; move the simulator's clock past it.
    sim.advanceClock(61);
    io.err('Demo: 25 tickets created and 40 updated in the simulator, beside its own live changes; running the same export again…');
    const second = await runSession({ connection, query, checkpointPath, json: Boolean(flags.json) });

    const summary = {
      records: first.result.records,
      pages: first.result.pages,
      rateLimitWaits: first.tally.rateLimitWaits,
      file: out,
      checkpoint: checkpointPath,
      rerunNewRecords: second.result.records,
      caughtUp: second.result.caughtUp,
    };
    if (flags.json) {
      io.out(JSON.stringify({ type: 'demo', ...summary }));
    } else {
      io.out([
        'Demo summary',
        `  First run:        ${fmtInt(first.result.records)} records in ${fmtInt(first.result.pages)} pages, ${fmtDuration(first.durationMs)}`,
        `  Rate-limit waits: ${first.tally.rateLimitWaits}${first.tally.rateLimitWaits ? ` (${fmtDuration(first.tally.rateLimitWaitMs)} in total)` : ''}`,
        `  Second run:       ${fmtInt(summary.rerunNewRecords)} changed records appended (resumed from the checkpoint)`,
        `  File:             ${out}`,
        `  Checkpoint:       ${checkpointPath}`,
      ].join('\n'));
    }
    return second.result.caughtUp ? EXIT_OK : EXIT_NOT_CAUGHT_UP;
  } finally {
    await sim.close();
  }
}
