// One export run as the CLI drives it: take the target and read its checkpoint, run the engine with
// a progress display, turn Ctrl-C / SIGTERM into a clean stop (the engine writes the last complete
// page's checkpoint), and summarise. No separate account check first: the engine creates no output
// before Zendesk has answered with a page, so a wrong token or an agent account changes nothing.
import { endpointById, requestCostNote, type Connection } from '../engine/zendesk';
import { prepareExport, runExport, type ExportResult, type ExportTarget } from '../engine/export';
import { targetFor } from '../engine/tables';
import { ExportError } from '../engine/errors';
import type { ResolvedQuery } from '../engine/query';
import { createReporter, fmtDuration, fmtInt, pickMode, type ProgressReporter, type RunTally } from './progress';

export interface SessionOptions {
  connection: Connection;
  query: ResolvedQuery;
  checkpointPath: string;
  /** Where the export writes (default: targetFor(query) with checkpointPath); table outputs keep their checkpoint with the data. */
  target?: ExportTarget;
  json: boolean;
  /** The longest single wait (ms) before stopping with 'rateLimited'. */
  maxWaitMs?: number;
  reporter?: ProgressReporter;
}

export interface SessionResult {
  /** The page size the query asked for (its cost is said in the summary). */
  perPage: number | null;
  result: ExportResult;
  tally: RunTally;
  resumed: boolean;
  durationMs: number;
  checkpointPath: string;
}

/** Abort on the first SIGINT/SIGTERM; a second one quits at once. */
function installSignalHandlers(controller: AbortController, say: (line: string) => void): () => void {
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    say('Stopping after the current page (the checkpoint will be saved); press Ctrl-C again to quit at once.');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}

export async function runSession(opts: SessionOptions): Promise<SessionResult> {
  const { query, checkpointPath, connection } = opts;
  const started = Date.now();

  const reporter = opts.reporter ?? await createReporter(pickMode(opts.json), { startTime: query.startTime || null });
  // One writer per output, and a foreign or broken checkpoint refused, before any request or file write.
  const target = opts.target ?? targetFor(query, { checkpointPath });
  const prepared = await prepareExport(query, target);
  const checkpoint = prepared.previous;
  const controller = new AbortController();
  const uninstall = installSignalHandlers(controller, (l) => reporter.note(l));
  try {
    if (controller.signal.aborted) throw new ExportError('cancelled', 'The export was cancelled before it started; nothing was written.');
    let result: ExportResult;
    try {
      result = await runExport({
        connection,
        query,
        prepared,
        signal: controller.signal,
        maxWaitMs: opts.maxWaitMs,
        onProgress: (e) => reporter.onEvent(e),
      });
    } catch (err) {
      if (isAbort(err)) throw new ExportError('cancelled', 'The export was cancelled; the checkpoint is saved, run the same command again to resume.');
      throw err;
    }
    return { result, tally: reporter.tally, resumed: checkpoint !== null, durationMs: Date.now() - started, checkpointPath: target.checkpointLocation, perPage: query.params.perPage ?? null };
  } finally {
    reporter.stop();
    uninstall();
    await prepared.release();
  }
}

/** The human summary printed on stdout after a run. */
export function summaryText(s: SessionResult): string {
  const { result, tally } = s;
  const total = result.checkpoint.records;
  const what = `${count(result.records, 'record')} in ${count(result.pages, 'page')}`;
  const head = result.caughtUp
    ? `Export complete: ${what}, caught up with the stream.`
    : `Export stopped before the end of the stream: ${what}.`;
  const lines = [
    head,
    `  This run:         ${count(tally.requests, 'request')} in ${fmtDuration(s.durationMs)}${s.resumed ? ` (resumed from the checkpoint; ${fmtInt(total)} records in the output in all)` : ''}`,
    `  Rate-limit waits: ${tally.rateLimitWaits}${tally.rateLimitWaits ? ` (${fmtDuration(tally.rateLimitWaitMs)} in total)` : ''}`,
  ];
  if (tally.retries) lines.push(`  Retries:          ${tally.retries}`);
  if (tally.duplicatesDropped) lines.push(`  Duplicates dropped (boundary seconds): ${fmtInt(tally.duplicatesDropped)}`);
  for (const [i, f] of result.files.entries()) lines.push(`  ${i === 0 ? 'Output:' : '       '}           ${f}`);
  lines.push(`  Checkpoint:       ${s.checkpointPath}`);
  // Under a fixed budget of requests, records per request is the export's speed: say what a choice costs.
  const cost = costNote(s);
  if (cost) lines.push(`  Note:             ${cost}`);
  return lines.join('\n');
}

function costNote(s: SessionResult): string | undefined {
  const form = endpointById(s.result.checkpoint.endpointId);
  return (form && requestCostNote(form, s.perPage ?? undefined)?.text) ?? undefined;
}

function count(n: number, noun: string): string {
  return `${fmtInt(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** The last line of a --json stream. */
export function summaryJson(s: SessionResult): string {
  return JSON.stringify({
    type: 'result',
    caughtUp: s.result.caughtUp,
    records: s.result.records,
    pages: s.result.pages,
    totalRecords: s.result.checkpoint.records,
    requests: s.tally.requests,
    rateLimitWaits: s.tally.rateLimitWaits,
    files: s.result.files,
    checkpoint: s.checkpointPath,
    durationMs: s.durationMs,
    ...(costNote(s) ? { requestCost: costNote(s) } : {}),
  });
}
