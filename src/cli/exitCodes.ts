// Exit codes are part of the CLI's contract with scripts and cron jobs: one stable number per
// ErrorCode, so a caller can tell "fix your token" from "try again later" without parsing text.
import type { ErrorCode } from '../engine/errors';

export const EXIT_OK = 0;
/** A bug or an error the engine did not classify. */
export const EXIT_INTERNAL = 1;
/** Bad command-line usage (unknown option, missing account, conflicting flags). */
export const EXIT_USAGE = 2;
/** The run ended without error but did not reach the end of the stream. */
export const EXIT_NOT_CAUGHT_UP = 20;
/** 128 + SIGINT, as shells report an interrupted command. */
export const EXIT_CANCELLED = 130;

export const EXIT_CODES: Record<ErrorCode, number> = {
  auth: 3,
  forbidden: 4,
  notFound: 5,
  badRequest: 6,
  invalidQuery: 7,
  futureStartTime: 8,
  checkpointMismatch: 9,
  checkpointCorrupt: 10,
  foreignOrigin: 11,
  insecureUrl: 12,
  stuck: 13,
  rateLimited: 14,
  server: 15,
  network: 16,
  io: 17,
  locked: 18,
  cancelled: EXIT_CANCELLED,
};

const MEANINGS: Record<ErrorCode, string> = {
  auth: 'authentication failed (wrong email/token, or none found)',
  forbidden: 'the account is not an admin, or the plan lacks the feature',
  notFound: 'unknown endpoint or account',
  badRequest: 'Zendesk rejected the request (e.g. an invalid cursor or parameter)',
  invalidQuery: 'the query, the query file or the subdomain is invalid',
  futureStartTime: 'the start time is in the future',
  checkpointMismatch: 'the checkpoint belongs to a different query',
  checkpointCorrupt: 'the checkpoint file is unreadable',
  foreignOrigin: 'Zendesk pointed the next page at another host',
  insecureUrl: 'the URL is not https (plain http is allowed only on loopback) or not a URL',
  stuck: 'the stream stopped advancing',
  rateLimited: 'still rate limited after all retries',
  server: 'Zendesk kept failing (5xx) after all retries',
  network: 'the network failed (DNS, connection, timeout)',
  io: 'reading or writing a local file failed',
  locked: 'another export is writing the same output (its holder is named)',
  cancelled: 'interrupted (Ctrl-C / SIGTERM); the checkpoint is saved, rerun to resume',
};

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The exit-code table for --help. */
export function exitCodeHelp(): string {
  const rows: [number, string][] = [
    [EXIT_OK, 'the export completed (caught up with the stream)'],
    [EXIT_INTERNAL, 'unexpected internal error'],
    [EXIT_USAGE, 'bad usage (options, missing account)'],
    ...(Object.keys(EXIT_CODES) as ErrorCode[]).map((c): [number, string] => [EXIT_CODES[c], `${c}: ${MEANINGS[c]}`]),
    [EXIT_NOT_CAUGHT_UP, 'the run stopped before the end of the stream; run it again'],
  ];
  rows.sort((a, b) => a[0] - b[0]);
  return ['Exit codes:', ...rows.map(([n, text]) => `  ${String(n).padStart(3)}  ${text}`)].join('\n');
}
