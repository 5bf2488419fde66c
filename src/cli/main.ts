// `zdx`: the command-line face of the export engine (cron, CI, scripts). Every failure ends with
// one sentence on stderr, prefixed "zdx: ", and an exit code per error kind (see --help).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { RESOURCES, DEFAULT_LOOPBACK_REDIRECT_PORT, DEFAULT_MAX_WAIT_MS } from '../engine/zendesk';
import { ExportError } from '../engine/errors';
import { DELETIONS_MODES, SUPPORT_TYPE_SCOPES } from '../engine/query';
import { ACCOUNT_HELP } from './account';
import { EXIT_CODES, EXIT_INTERNAL, EXIT_USAGE, UsageError, exitCodeHelp } from './exitCodes';
import { LOGIN_REDIRECT_HELP } from './oauth';
import { exportCommand, runCommand } from './exportCommands';
import type { IO } from './io';
import type * as AuthCommands from './authCommands';
import type * as SimulatorCommands from './simulatorCommands';
import { INTO_HELP, PATH_FORMATS, parseList } from './queryOptions';
import { version } from '../../package.json';

/** The flags a command takes (commander hands them over untyped). */
type Flags<C extends (flags: never, io: IO) => unknown> = Parameters<C>[0];

// Option parsers throw commander's own error so the message names the option.
function intOption(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive whole number.');
  return Number(value);
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('Expected a whole number.');
  return Number(value);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a positive number.');
  return n;
}

function accountOptions(cmd: Command): Command {
  return cmd
    .option('--subdomain <name>', 'Zendesk subdomain (https://NAME.zendesk.com)')
    .option('--url <baseUrl>', 'full base URL (https, or http on loopback such as the simulator)');
}

function oneSentence(text: string): string {
  // `--token=abc` is an unknown option; its value may be a secret typed in the wrong place.
  const t = text.replace(/\s+/g, ' ').trim().replace(/'(--?[\w-]+)=[^']*'/g, "'$1=…'");
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

export function buildProgram(io: IO, setExit: (code: number) => void): Command {
  const program = new Command('zdx')
    .description('Export data from Zendesk\'s Incremental Export API into files, resumably: only what changed, nothing missing, nothing doubled.')
    .version(version, '-V, --version')
    .addHelpText('after', `\n${ACCOUNT_HELP}\n\n${exitCodeHelp()}`)
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      writeOut: (s) => process.stdout.write(s),
      // One line, like every other failure: "zdx: " + a sentence.
      outputError: (s, write) => write(`zdx: ${oneSentence(s.replace(/^error: /, ''))} See zdx --help.\n`),
    });

  accountOptions(program.command('export'))
    .description('Export one resource (resumes from its checkpoint when there is one).')
    .argument('<resource>', RESOURCES.join(' | '))
    .option('--start-time <time>', 'ISO date/time, Unix seconds, or relative such as -7d, -12h, -30m (default: the beginning)')
    .option('--cursor', 'cursor pagination (the default for tickets and users; for ticket_metric_events ≈10× the requests: 100 a page against ~1,000)')
    .option('--time', 'time-based pagination (the default for ticket_metric_events, organizations and ticket_events)')
    .option('--per-page <n>', 'records per request: the most (and the default) is 1000, 100 for metric events with --cursor; fewer means proportionally more requests under the same rate limit', intOption)
    .option('--include <list>', 'sideloads, comma-separated (e.g. users,groups)', parseList)
    .option('--exclude-deleted', 'leave deleted tickets / metric events out')
    .addOption(new Option('--support-type-scope <scope>', 'which tickets (Zendesk default: agent)').choices(SUPPORT_TYPE_SCOPES))
    .option('--include-changes', 'ticket_metric_events: include_changes=true')
    .option('--sample', 'the /sample endpoint (at most 50 records)')
    .option('--out <file>', 'output file (default ./<resource>.<format>)')
    .addOption(new Option('--format <format>', 'output format (default: from --out, else jsonl)').choices(PATH_FORMATS))
    .option('--into <target>', `tables instead of a file: ${INTO_HELP}`)
    .option('--schema <name>', 'with --into postgres: the schema of the tables (default zendesk)')
    .addOption(new Option('--deletions <mode>', 'tables: deleted records move to <resource>_deleted (separate, default) or stay with _deleted = true (flag)').choices(DELETIONS_MODES))
    .option('--snapshot', 'with --into parquet: also write the current state after the run')
    .option('--state <file>', 'checkpoint file of a file output (default: <out dir>/<out name>.checkpoint.json)')
    .option('--json', 'machine-readable progress: one JSON object per line on stdout')
    .option('--max-wait <minutes>', `the longest single wait for a rate limit or Retry-After; longer stops with exit code ${EXIT_CODES.rateLimited} and the time Zendesk named (default ${DEFAULT_MAX_WAIT_MS / 60_000})`, positiveNumber)
    .addHelpText('after', `\nTables (current state + change log, checkpoint kept in the database):\n  zdx export tickets --into duckdb:zendesk.duckdb\n  PGPASSWORD=… zdx export tickets --into postgres:postgresql://me@db.example.com/analytics --schema zendesk\n  zdx export tickets --into parquet:lake/ --snapshot\n  A postgres connection name (from a saved query) is read from env ZDX_DATABASE_URL_<NAME>; the password from\n  PGPASSWORD or ~/.pgpass, never from an argument.\n\n${ACCOUNT_HELP}`)
    .action(async (resource: string, opts: Parameters<typeof exportCommand>[1]) => setExit(await exportCommand(resource, opts, io)));

  accountOptions(program.command('run'))
    .description('Run a saved query file (*.zdquery.json), continuing from its checkpoint.')
    .argument('<query-file>', 'the saved query')
    .option('--state <file>', 'checkpoint file (default: beside the query\'s output)')
    .option('--json', 'machine-readable progress: one JSON object per line on stdout')
    .option('--max-wait <minutes>', `the longest single wait for a rate limit or Retry-After (default ${DEFAULT_MAX_WAIT_MS / 60_000})`, positiveNumber)
    .addHelpText('after', `\n${ACCOUNT_HELP}`)
    .action(async (file: string, opts: Parameters<typeof runCommand>[1]) => setExit(await runCommand(file, opts, io)));

  const auth = program.command('auth').description('Manage the token stored in the OS keychain.');
  accountOptions(auth.command('login'))
    .description('Store a token for an account in the OS keychain; the token is read from stdin (hidden prompt on a terminal).')
    .option('--email <email>', 'store an API token for this agent email')
    .option('--oauth', 'OAuth: with --client-id, sign in in the browser (PKCE); without, store a pasted access token')
    .option('--client-id <id>', 'the OAuth client\'s Unique Identifier (Admin Center > Apps and integrations > APIs > OAuth clients)')
    .option('--client-credentials', 'OAuth client credentials for unattended runs (secret from ZENDESK_OAUTH_CLIENT_SECRET or stdin)')
    .option('--no-browser', 'with --oauth: print the sign-in URL instead of opening a browser')
    .option('--port <n>', `with --oauth: loopback port of the redirect http://127.0.0.1:N/callback (default ${DEFAULT_LOOPBACK_REDIRECT_PORT}; 0 = any free port, only for servers that accept any)`, nonNegativeInt)
    .option('--no-verify', 'store without checking the token against the account first')
    .addHelpText('after', `\nExamples:\n  zdx auth login --email me@acme.com --subdomain acme          (prompts)\n  pass show zendesk | zdx auth login --email me@acme.com --subdomain acme\n  zdx auth login --oauth --client-id zdx-export --subdomain acme     (browser sign-in; API tokens stop working on 2027-04-30)\n  ZENDESK_OAUTH_CLIENT_SECRET=… zdx auth login --client-credentials --client-id zdx-ci --subdomain acme\n\n${LOGIN_REDIRECT_HELP}`)
    .action(async (opts: Flags<typeof AuthCommands.loginCommand>) => setExit(await (await import('./authCommands.js')).loginCommand(opts, io)));
  accountOptions(auth.command('logout'))
    .description('Remove the stored token for an account.')
    .action(async (opts: Flags<typeof AuthCommands.logoutCommand>) => setExit(await (await import('./authCommands.js')).logoutCommand(opts, io)));
  accountOptions(auth.command('status'))
    .description('Show which credentials would be used for an account (never the secret).')
    .option('--verify', 'also check them against the account (GET /api/v2/users/me)')
    .option('--json', 'print one JSON object')
    .action(async (opts: Flags<typeof AuthCommands.statusCommand>) => setExit(await (await import('./authCommands.js')).statusCommand(opts, io)));

  program.command('simulate')
    .description('Start the Zendesk simulator and print its URL and demo credentials; runs until Ctrl-C.')
    .option('--port <n>', 'port (default 4567; 0 picks a free one)', nonNegativeInt)
    .option('--tickets <n>', 'number of seeded tickets', nonNegativeInt)
    .option('--seed <n>', 'data seed', nonNegativeInt)
    .option('--time-scale <n>', 'run rate-limit windows N times faster (60 => a minute lasts 1 s)', positiveNumber)
    .option('--high-volume', 'High Volume add-on budgets (30/min)')
    .option('--latency <ms>', 'added latency per response', nonNegativeInt)
    .option('--no-rate-limits', 'turn rate limiting off')
    .option('--live <n>', 'about N changes a minute to tickets, users and organizations while it runs (default 4; 0 turns it off)', nonNegativeInt)
    .option('--whole-second-resets', 'rate-limit resets and Retry-After in whole seconds, rounded up, as Zendesk sends them, even with --time-scale')
    .action(async (opts: Flags<typeof SimulatorCommands.simulateCommand>) => setExit(await (await import('./simulatorCommands.js')).simulateCommand(opts, io)));

  program.command('demo')
    .description('Export tickets from an in-process simulator to ./demo-output/ with the progress display, then rerun after some changes.')
    .option('--tickets <n>', 'number of seeded tickets (default 12000)', intOption)
    .option('--time-scale <n>', 'rate-limit time scale (default 30: the 10/min budget refills every 2 s)', positiveNumber)
    .option('--per-page <n>', 'records per request (default 500)', intOption)
    .option('--json', 'machine-readable progress on stdout')
    .action(async (opts: Flags<typeof SimulatorCommands.demoCommand>) => setExit(await (await import('./simulatorCommands.js')).demoCommand(opts, io)));

  return program;
}

/** "zdx: " + one sentence; never a stack trace unless ZDX_DEBUG is set. */
export function describeFailure(err: unknown): { code: number; message: string; errorCode?: string } {
  if (err instanceof ExportError) return { code: EXIT_CODES[err.code] ?? EXIT_INTERNAL, message: err.message, errorCode: err.code };
  if (err instanceof UsageError) return { code: EXIT_USAGE, message: err.message, errorCode: 'usage' };
  const text = err instanceof Error ? err.message : String(err);
  return { code: EXIT_INTERNAL, message: `Unexpected error: ${text.split('\n')[0].replace(/\.$/, '')}.`, errorCode: 'internal' };
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolveFlush) => stream.write('', () => resolveFlush()));
}

export async function main(argv: string[]): Promise<number> {
  const io: IO = {
    cwd: process.cwd(),
    env: process.env,
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  };
  let exitCode = 0;
  const program = buildProgram(io, (c) => { exitCode = c; });
  program.exitOverride();
  program.commands.forEach(function override(c: Command): void {
    c.exitOverride();
    c.commands.forEach(override);
  });
  const json = argv.includes('--json');
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT_USAGE;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help/version text).
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const f = describeFailure(err);
    if (json) process.stdout.write(`${JSON.stringify({ type: 'error', code: f.errorCode, message: f.message })}\n`);
    process.stderr.write(`zdx: ${f.message}\n`);
    if (process.env.ZDX_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return f.code;
  }
}

/** 128 + SIGPIPE: what a shell reports for a command whose reader went away. */
const EXIT_BROKEN_PIPE = 141;

if (require.main === module) {
  process.title = 'zdx';
  // `zdx … | head`: once the reader is gone, stop quietly as Unix tools do on SIGPIPE. Every
  // checkpoint on disk is complete, so the next run resumes.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
      throw err;
    });
  }
  void main(process.argv).then(async (code) => {
    await flush(process.stdout);
    await flush(process.stderr);
    process.exit(code);
  });
}
