// The account's own activity while the simulator runs: tickets created and updated (with their
// audit and metric events) and deleted, users and organizations created and updated, at a few
// changes a minute. Applied lazily: before every request and every oracle question the activity catches up
// with the data clock, stamping each change with its own scheduled second. Nothing depends on
// timers or on how often anyone looks, so a fixed clock gives the same account on every run, and a
// change is never stamped after the clock nor inside a range an earlier request already served
// (it lands after that request's clock, which is past its freshness cutoff).
import type { Dataset } from './dataset';
import { hash32, saltOf } from './random';
import type { VersionedStream } from './stream';
import type { LiveOptions } from './types';

export const DEFAULT_CHANGES_PER_MINUTE = 4;
const MAX_CHANGES_PER_MINUTE = 6000;

type ChangeKind = 'ticketUpdate' | 'ticketCreate' | 'ticketDelete' | 'userUpdate' | 'userCreate' | 'organizationUpdate' | 'organizationCreate';

/** How often each kind of change happens, in percent: mostly ticket work, as in a support account. */
const MIX: readonly [ChangeKind, number][] = [
  ['ticketUpdate', 48], ['ticketCreate', 20], ['ticketDelete', 4],
  ['userUpdate', 12], ['userCreate', 8], ['organizationUpdate', 6], ['organizationCreate', 2],
];

const SALT = saltOf('live');

/** The pace from the option, or a sentence saying what is wrong with it. */
export function livePace(option: boolean | LiveOptions | undefined): number | null {
  if (option === undefined || option === false) return null;
  const perMinute = option === true ? DEFAULT_CHANGES_PER_MINUTE : (option.changesPerMinute ?? DEFAULT_CHANGES_PER_MINUTE);
  if (!(Number.isFinite(perMinute) && perMinute > 0 && perMinute <= MAX_CHANGES_PER_MINUTE)) {
    throw new Error(`live.changesPerMinute must be a number above 0 and at most ${MAX_CHANGES_PER_MINUTE} (got ${String(perMinute)}); use live: false to turn the activity off.`);
  }
  return perMinute;
}

export class LiveActivity {
  private applied = 0;
  /** When change number `applied` happens, in fractional seconds (several may share a second). */
  private nextAt: number;

  /** @param from data-clock second the activity starts at (the simulator's start) */
  constructor(private readonly data: Dataset, private readonly perMinute: number, from: number) {
    this.nextAt = from + this.gap(0);
  }

  get changes(): number {
    return this.applied;
  }

  /** Exponential gaps (a Poisson process) with the configured mean, drawn from the seed. */
  private gap(k: number): number {
    const u = (hash32(this.data.seed, SALT, k, 0) + 1) / 4_294_967_297;
    return (-Math.log(u) * 60) / this.perMinute;
  }

  /** Applies every change scheduled at or before data-clock second `now`. */
  catchUp(now: number): void {
    if (Math.floor(this.nextAt) > now) return;
    const touched = new Set<VersionedStream>();
    while (Math.floor(this.nextAt) <= now) {
      this.apply(this.applied, Math.floor(this.nextAt), touched);
      this.applied++;
      this.nextAt += this.gap(this.applied);
    }
    for (const stream of touched) stream.resort();
  }

  private apply(k: number, ts: number, touched: Set<VersionedStream>): void {
    const d = this.data;
    const roll = hash32(d.seed, SALT, k, 1) % 100;
    let kind: ChangeKind = MIX[0][0];
    for (let acc = 0, i = 0; i < MIX.length; i++) {
      acc += MIX[i][1];
      if (roll < acc) {
        kind = MIX[i][0];
        break;
      }
    }
    const recent = (stream: VersionedStream, avoid: (index: number) => boolean = () => false): number | null =>
      recentIndex(stream, hash32(d.seed, SALT, k, 2), avoid);
    const ticketDeleted = (index: number): boolean => d.ticketStatus(index, d.tickets.current(index).version) === 'deleted';
    switch (kind) {
      case 'ticketCreate':
      case 'ticketUpdate':
      case 'ticketDelete': {
        touched.add(d.tickets);
        const index = kind === 'ticketCreate' ? null : recent(d.tickets, ticketDeleted);
        if (index === null) {
          const e = d.tickets.add(ts, false);
          this.audit(e.index, true, ts, touched, true);
        } else if (kind === 'ticketDelete') {
          // A deleted ticket's audits are gone (api-behaviour.md §8): the tombstone comes alone.
          d.deleteTicket(index, ts);
        } else {
          d.tickets.touch(index, ts, false);
          this.audit(index, false, ts, touched, hash32(d.seed, SALT, k, 3) % 2 === 0);
        }
        return;
      }
      default: {
        const stream = kind === 'userCreate' || kind === 'userUpdate' ? d.users : d.organizations;
        touched.add(stream);
        const index = kind === 'userCreate' || kind === 'organizationCreate' ? null : recent(stream);
        if (index === null) stream.add(ts, false);
        else stream.touch(index, ts, false);
      }
    }
  }

  /** The ticket event (audit) of a ticket change, and a metric event when the change moves a metric. */
  private audit(ticketIndex: number, create: boolean, ts: number, touched: Set<VersionedStream>, metric: boolean): void {
    touched.add(this.data.ticketEvents);
    this.data.addTicketEvent(ticketIndex, create, ts);
    if (!metric) return;
    touched.add(this.data.metricEvents);
    this.data.addMetricEvent(ticketIndex, ts);
  }
}

/**
 * A record to change, biased towards recent ones (as in a real account, where new tickets get the
 * replies), skipping those `avoid` rejects; null when the stream is empty or every candidate is avoided.
 */
function recentIndex(stream: VersionedStream, h: number, avoid: (index: number) => boolean): number | null {
  const total = stream.totalCount;
  if (total === 0) return null;
  const u = h / 4_294_967_296;
  const first = total - 1 - Math.floor(total * u * u);
  for (let i = 0; i < Math.min(total, 16); i++) {
    const index = (first - i + total) % total;
    if (!avoid(index)) return index;
  }
  return null;
}
