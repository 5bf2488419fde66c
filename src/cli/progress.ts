// How a run shows its progress: a live status line on a terminal, timestamped plain lines in logs
// (cron, CI), or one JSON object per engine event for programs (--json). Human output goes to
// stderr so stdout stays clean for the summary or the JSON stream.
import type { SingleBar } from 'cli-progress';
import type { Position, ProgressEvent } from '../engine/export';

export type ProgressMode = 'tty' | 'plain' | 'json';

export interface RunTally {
  /** Totals across runs, as in the checkpoint. */
  records: number;
  pages: number;
  requests: number;
  retries: number;
  /** Waits for a rate limit or Retry-After, and their total length. */
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  duplicatesDropped: number;
}

export interface ProgressReporter {
  readonly tally: RunTally;
  onEvent(e: ProgressEvent): void;
  /** A human note (plain/tty) that is not an engine event. */
  note(line: string): void;
  stop(): void;
}

/** Epoch milliseconds from a value that may be seconds or milliseconds. */
export function toMillis(t: number): number {
  return t < 1e12 ? t * 1000 : t;
}

/** 1234567 → "1,234,567", without Intl: its locale data costs ~30 ms at start-up, a tenth of a short run. */
function fmtInt(n: number): string {
  const [whole, frac] = String(Math.abs(n)).split('.');
  return `${n < 0 ? '-' : ''}${whole.replace(/\B(?=(\d{3})+$)/g, ',')}${frac ? `.${frac}` : ''}`;
}

function fmtClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 90 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Short waits with a decimal, so a 0.4 s wait doesn't read as "0s". */
function fmtWait(ms: number): string {
  return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : fmtDuration(ms);
}

function describePosition(p: Position | null): string {
  if (!p) return 'the query start time';
  switch (p.kind) {
    case 'time': return `start_time ${p.startTime} (${new Date(p.startTime * 1000).toISOString()})`;
    case 'cursor': return 'the saved cursor';
    case 'routing': return p.cursor ? 'the saved cursor' : 'the beginning';
    case 'metricCursor': return 'the saved page cursor';
  }
}

class Tracker {
  readonly tally: RunTally = { records: 0, pages: 0, requests: 0, retries: 0, rateLimitWaits: 0, rateLimitWaitMs: 0, duplicatesDropped: 0 };
  readonly startedAt = Date.now();
  /** Records at start (a resumed run starts from the checkpoint's count). */
  baseRecords: number | null = null;
  endpointId = '';
  lastRecordTime: number | null = null;
  /** Record time at the first page: the lower end of the range when the query starts at 0. */
  firstRecordTime: number | null = null;
  limit: { remaining: number | null; total: number | null } | null = null;
  waitingUntil: number | null = null;
  waitingReason = '';
  caughtUp = false;

  constructor(private readonly startTime: number | null) {}

  track(e: ProgressEvent): void {
    switch (e.type) {
      case 'start':
        this.endpointId = e.endpointId;
        break;
      case 'request':
        this.tally.requests++;
        this.waitingUntil = null;
        break;
      case 'page':
        if (this.baseRecords === null) this.baseRecords = e.records - e.pageRecords;
        this.tally.records = e.records;
        this.tally.pages = e.pages;
        this.tally.duplicatesDropped += e.duplicatesDropped;
        if (e.lastRecordTime !== null) {
          this.lastRecordTime = e.lastRecordTime;
          if (this.firstRecordTime === null) this.firstRecordTime = e.lastRecordTime;
        }
        break;
      case 'rateLimit':
        this.limit = { remaining: e.remaining, total: e.total };
        break;
      case 'waiting': {
        const until = toMillis(e.until);
        this.waitingUntil = until;
        this.waitingReason = e.reason === 'backoff' ? 'backing off' : e.reason === 'retryAfter' ? 'Retry-After' : 'rate limit';
        if (e.reason !== 'backoff') {
          this.tally.rateLimitWaits++;
          this.tally.rateLimitWaitMs += Math.max(0, until - Date.now());
        }
        break;
      }
      case 'retry':
        this.tally.retries++;
        break;
      case 'done':
        this.caughtUp = e.caughtUp;
        this.waitingUntil = null;
        break;
      default:
        break;
    }
  }

  /** Records per second in this run (not counting records from before a resume). */
  rate(): number {
    const secs = (Date.now() - this.startedAt) / 1000;
    const done = this.tally.records - (this.baseRecords ?? this.tally.records);
    return secs > 0 ? done / secs : 0;
  }

  /**
   * How far through the time range [start time, now] the stream has got. Zendesk gives no totals,
   * but the stream is ordered by time, so this is an honest (if uneven) measure of progress.
   */
  coverage(): number | null {
    if (this.caughtUp) return 1;
    if (this.lastRecordTime === null || this.firstRecordTime === null) return null;
    const from = Math.max(this.startTime ?? 0, this.firstRecordTime);
    const now = Date.now() / 1000;
    if (now <= from) return null;
    return Math.min(1, Math.max(0, (this.lastRecordTime - from) / (now - from)));
  }

  statusText(): string {
    const parts = [`${fmtInt(this.tally.records)} record${this.tally.records === 1 ? '' : 's'}`, `${fmtInt(this.tally.pages)} page${this.tally.pages === 1 ? '' : 's'}`, `${fmtInt(Math.round(this.rate()))} rec/s`];
    // Waiting matters more than the remaining budget, so it comes first when both apply.
    if (this.waitingUntil !== null && this.waitingUntil > Date.now()) {
      parts.push(`waiting ${fmtWait(this.waitingUntil - Date.now())} (${this.waitingReason}, until ${fmtClock(this.waitingUntil)})`);
    } else if (this.limit && this.limit.remaining !== null) {
      parts.push(`budget ${this.limit.remaining}${this.limit.total !== null ? `/${this.limit.total}` : ''} left`);
    }
    const cov = this.coverage();
    if (cov !== null && this.lastRecordTime !== null) {
      parts.push(`through ${new Date(this.lastRecordTime * 1000).toISOString().slice(0, 10)} (${Math.floor(cov * 100)}% of the time range)`);
    }
    return parts.join(' | ');
  }
}

/** Events before the first answer that shows progress: a run refused at once reports only its error. */
function beforeProgress(e: ProgressEvent): boolean {
  return e.type === 'start' || e.type === 'request' || e.type === 'rateLimit';
}

class JsonReporter implements ProgressReporter {
  private readonly t: Tracker;
  private held: ProgressEvent[] | null = [];
  constructor(private readonly out: NodeJS.WritableStream, startTime: number | null) {
    this.t = new Tracker(startTime);
  }
  get tally(): RunTally { return this.t.tally; }
  onEvent(e: ProgressEvent): void {
    this.t.track(e);
    if (this.held && beforeProgress(e)) {
      this.held.push(e);
      return;
    }
    const lines = [...(this.held ?? []), e].map((x) => `${JSON.stringify(x)}\n`).join('');
    this.held = null;
    this.out.write(lines);
  }
  note(): void { /* JSON consumers get events only */ }
  stop(): void { /* nothing buffered */ }
}

class PlainReporter implements ProgressReporter {
  private readonly t: Tracker;
  private lastLine = 0;
  /** The "starting" line waits for the next sign of progress, so a run refused at once says only why. */
  private startLine: string | null = null;
  constructor(private readonly err: NodeJS.WritableStream, startTime: number | null, private readonly everyMs = 2000) {
    this.t = new Tracker(startTime);
  }
  get tally(): RunTally { return this.t.tally; }
  note(line: string): void {
    this.err.write(`${new Date().toISOString()} ${line}\n`);
  }
  onEvent(e: ProgressEvent): void {
    this.t.track(e);
    if (!beforeProgress(e) && this.startLine !== null) {
      this.note(this.startLine);
      this.startLine = null;
    }
    switch (e.type) {
      case 'start':
        this.startLine = `${e.resumed ? 'resuming' : 'starting'} ${e.endpointId} from ${describePosition(e.position)}`;
        break;
      case 'page':
        // A line per page would flood a log with a million-record export; one every few seconds is plenty.
        if (Date.now() - this.lastLine >= this.everyMs) {
          this.lastLine = Date.now();
          this.note(this.t.statusText());
        }
        break;
      case 'waiting':
        this.note(`waiting ${fmtWait(toMillis(e.until) - Date.now())} (${this.t.waitingReason}, until ${fmtClock(toMillis(e.until))})`);
        break;
      case 'retry':
        this.note(`retry ${e.attempt}${e.status !== null ? ` after HTTP ${e.status}` : ''}: ${e.message}`);
        break;
      case 'perPage':
        this.note(`per_page reduced to ${e.perPage}`);
        break;
      case 'switched':
        this.note(`switched from ${e.from} to ${e.to}: ${e.reason}`);
        break;
      case 'done':
        this.note(`${e.caughtUp ? 'caught up' : 'stopped'}: ${this.t.statusText()}`);
        break;
      default:
        break;
    }
  }
  stop(): void { /* lines are already written */ }
}

class TtyReporter implements ProgressReporter {
  private readonly t: Tracker;
  private readonly bar: SingleBar;
  private started = false;
  constructor(private readonly err: NodeJS.WriteStream, startTime: number | null, Bar: typeof SingleBar) {
    this.t = new Tracker(startTime);
    this.bar = new Bar({
      stream: err,
      hideCursor: true,
      clearOnComplete: false,
      fps: 4,
      barsize: 24,
      // The bar shows time-range coverage (the only honest total); the text carries the rest.
      format: (options) => {
        const cov = this.t.coverage();
        const size = options.barsize ?? 24;
        const filled = cov === null ? 0 : Math.round(cov * size);
        const bar = cov === null ? '' : `[${'#'.repeat(filled)}${'-'.repeat(size - filled)}] `;
        const line = `${this.t.endpointId || 'export'} ${bar}${this.t.statusText()}`;
        const width = err.columns ?? 120;
        return line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
      },
    });
  }
  get tally(): RunTally { return this.t.tally; }
  private ensureStarted(): void {
    if (!this.started) {
      this.started = true;
      this.bar.start(1, 0);
    }
  }
  note(line: string): void {
    if (this.started) this.bar.stop();
    this.err.write(`${line}\n`);
    if (this.started) {
      this.started = false;
      this.ensureStarted();
    }
  }
  onEvent(e: ProgressEvent): void {
    this.t.track(e);
    if (e.type === 'start') {
      this.note(`${e.resumed ? 'Resuming' : 'Starting'} ${e.endpointId} from ${describePosition(e.position)}`);
    } else if (e.type === 'switched') {
      this.note(`Switched from ${e.from} to ${e.to}: ${e.reason}`);
    } else if (e.type === 'perPage') {
      this.note(`per_page reduced to ${e.perPage}`);
    }
    this.ensureStarted();
    this.bar.update(0);
  }
  stop(): void {
    if (this.started) {
      this.bar.update(0);
      this.bar.stop();
      this.started = false;
    }
  }
}

/** The bar library loads only for a terminal (cron and CI runs never need it). */
export async function createReporter(mode: ProgressMode, opts: { startTime: number | null; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }): Promise<ProgressReporter> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  switch (mode) {
    case 'json': return new JsonReporter(stdout, opts.startTime);
    case 'tty': return new TtyReporter(stderr, opts.startTime, (await import('cli-progress')).SingleBar);
    case 'plain': return new PlainReporter(stderr, opts.startTime);
  }
}

export function pickMode(json: boolean, stderr: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'json';
  return stderr.isTTY && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

export { fmtDuration, fmtInt };
