// The simulator's account lives in the present: seeded history placed against an anchor (default:
// when the simulator starts), a live activity that keeps changing it at a configurable pace derived
// from the seed, an oracle that knows every change, and the current-state view (latest version per id).
import assert from 'node:assert/strict';
import { SPAN_SECONDS, startSimulator } from '../../src/simulator/index';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index';

type Json = Record<string, unknown>;
type Rec = { id: number; generated_timestamp?: number; updated_at?: string; created_at?: string; timestamp?: number; time?: string; status?: string; ticket_id?: number; active?: boolean; deleted_at?: string | null; child_events?: { event_type: string }[] };

/** 2026-06-15T12:00:00Z: a fixed data clock, so every run of these tests sees the same account. */
const T = Date.UTC(2026, 5, 15, 12) / 1000;
const DAY = 86_400;

const secs = (iso: string): number => Date.parse(iso) / 1000;
const tsOf = (r: Rec): number => r.generated_timestamp ?? r.timestamp ?? secs((r.updated_at ?? r.time)!);
const key = (r: { id: number | string; ts: number }): string => `${r.id}@${r.ts}`;

function client(sim: RunningSimulator) {
  const auth = `Basic ${Buffer.from(`${sim.credentials.admin.email}/token:${sim.credentials.admin.token}`).toString('base64')}`;
  return async (pathOrUrl: string): Promise<{ status: number; body: Json; text: string }> => {
    const res = await fetch(pathOrUrl.startsWith('http') ? pathOrUrl : sim.url + pathOrUrl, { headers: { authorization: auth } });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Json, text };
  };
}

/** Follows an export (cursor or time-based) to end_of_stream: its records and the position to resume from. */
async function walk(sim: RunningSimulator, first: string, wrapper: string): Promise<{ recs: Rec[]; resume: string }> {
  const get = client(sim);
  const recs: Rec[] = [];
  let url = first;
  for (let page = 0; page < 1000; page++) {
    const r = await get(url);
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    recs.push(...(r.body[wrapper] as Rec[]));
    const next = (r.body.after_url ?? r.body.next_page) as string;
    if (r.body.end_of_stream === true) return { recs, resume: next };
    url = next;
  }
  throw new Error(`${first} did not reach end_of_stream`);
}

/** A current-state table as an export builds it: the latest version of each id wins. */
function fold(table: Map<number, Rec>, recs: Rec[]): Map<number, Rec> {
  for (const r of recs) if (!table.has(r.id) || tsOf(table.get(r.id)!) <= tsOf(r)) table.set(r.id, r);
  return table;
}

describe('simulator: a live account', function () {
  this.timeout(60_000);
  const running: RunningSimulator[] = [];
  async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
    const sim = await startSimulator({ rateLimits: false, ...opts });
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  describe('seeded history against an anchor', () => {
    it('anchors at the start by default: data up to the present, all of it exportable at once', async () => {
      const before = Math.floor(Date.now() / 1000);
      const sim = await start();
      const after = Math.ceil(Date.now() / 1000);
      assert.ok(sim.anchor >= before && sim.anchor <= after, `anchor ${sim.anchor} is the start (${before}..${after})`);
      assert.equal(sim.historyStart, sim.anchor - 62 - SPAN_SECONDS);
      const all = sim.expected('tickets', { supportTypeScope: 'all' });
      assert.equal(all.length, 2000, 'every seeded ticket is visible from the first request');
      assert.ok(all[0].ts >= sim.historyStart);
      const last = all[all.length - 1].ts;
      assert.ok(last <= sim.anchor - 62 && last > sim.anchor - 2 * DAY, `the history ends just before the present (${sim.anchor - last} s before)`);
      // The wizard's default, "last 7 days", finds records.
      const week = sim.nowSeconds() - 7 * DAY;
      const { recs } = await walk(sim, `/api/v2/incremental/tickets/cursor?start_time=${week}`, 'tickets');
      assert.ok(recs.length > 0, 'a 7-day export is not empty');
      assert.deepEqual(recs.map((r) => key({ id: r.id, ts: tsOf(r) })), sim.expected('tickets/cursor', { startTime: week }).map(key));
    });

    it('places the same history relative to any anchor, and a fixed clock gives the same bytes', async () => {
      const a = await start({ seed: 9, counts: { tickets: 300 }, now: () => T * 1000 });
      const b = await start({ seed: 9, counts: { tickets: 300 }, now: () => T * 1000 });
      const earlier = await start({ seed: 9, counts: { tickets: 300 }, now: () => T * 1000, anchor: T - DAY });
      assert.deepEqual([a.anchor, earlier.anchor], [T, T - DAY]);
      const page = '/api/v2/incremental/tickets.json?start_time=0&per_page=100&include=users';
      const bytes = async (s: RunningSimulator): Promise<string> => (await client(s)(page)).text.split(s.url).join('ORIGIN');
      assert.equal(await bytes(a), await bytes(b));
      const shifted = earlier.expected('tickets', { supportTypeScope: 'all' }).map((e) => ({ ...e, ts: e.ts + DAY }));
      assert.deepEqual(shifted, a.expected('tickets', { supportTypeScope: 'all' }), 'the layout is relative to the anchor');
    });

    it('refuses an anchor after the clock, a bad pace and a clock moved back, each with one sentence', async () => {
      await assert.rejects(startSimulator({ now: () => T * 1000, anchor: T + 1 }), /^Error: anchor must be whole Unix seconds at or before the simulator's clock \(\d+\); got \d+\.$/);
      await assert.rejects(startSimulator({ live: { changesPerMinute: 0 } }), /live\.changesPerMinute must be a number above 0/);
      await assert.rejects(startSimulator({ live: { changesPerMinute: Number.NaN } }), /live\.changesPerMinute/);
      const sim = await start({ now: () => T * 1000 });
      assert.throws(() => sim.advanceClock(-1), /never goes back/);
      assert.equal(sim.nowSeconds(), T, 'a refused move changes nothing');
    });
  });

  describe('live activity', () => {
    it('keeps changing at the configured pace, every change stamped at or before the clock', async () => {
      const sim = await start({ seed: 4, counts: { tickets: 500, users: 200, organizations: 50 }, now: () => T * 1000, live: { changesPerMinute: 6 } });
      assert.equal(sim.stats().liveChanges, 0, 'a stopped clock makes no changes');
      let seen = 0;
      for (let minute = 1; minute <= 10; minute++) {
        sim.advanceClock(60);
        const now = sim.nowSeconds();
        const changes = sim.stats().liveChanges;
        assert.ok(changes >= seen, 'changes only accumulate');
        seen = changes;
        for (const id of ['tickets/cursor', 'users', 'organizations', 'ticket_events', 'ticket_metric_events']) {
          assert.ok(sim.expected(id, { supportTypeScope: 'all' }).every((e) => e.ts <= now - 60), `${id}: nothing from the last minute`);
        }
        for (const r of sim.current('tickets', { supportTypeScope: 'all' })) assert.ok(r.ts <= now);
      }
      assert.ok(seen >= 30 && seen <= 90, `about 6 a minute for 10 minutes: ${seen}`);
      const now = sim.nowSeconds();
      const { recs } = await walk(sim, `/api/v2/incremental/tickets/cursor?start_time=${T - 61}&support_type_scope=all`, 'tickets');
      assert.ok(recs.length > 0);
      for (const t of recs) {
        assert.ok(t.generated_timestamp! >= T && t.generated_timestamp! <= now - 60, 'live versions carry their own second');
        assert.ok(secs(t.created_at!) <= t.generated_timestamp! && secs(t.updated_at!) <= t.generated_timestamp!, 'no timestamp after the version');
      }
    });

    it('derives every change from the seed: the same clock gives the same account, another seed another', async () => {
      const opts = { counts: { tickets: 300, users: 100 }, now: () => T * 1000, live: { changesPerMinute: 12 } } as const;
      const [a, b, c] = await Promise.all([start({ ...opts, seed: 5 }), start({ ...opts, seed: 5 }), start({ ...opts, seed: 6 })]);
      // Different observation patterns: a is asked every minute, b only at the end.
      for (let i = 0; i < 5; i++) {
        a.advanceClock(60);
        a.expected('tickets');
      }
      b.advanceClock(300);
      c.advanceClock(300);
      const page = `/api/v2/incremental/tickets/cursor.json?start_time=${T - 61}&support_type_scope=all`;
      const bytes = async (s: RunningSimulator): Promise<string> => (await client(s)(page)).text.split(s.url).join('ORIGIN');
      assert.equal(await bytes(a), await bytes(b));
      assert.notEqual(await bytes(a), await bytes(c));
      assert.equal(a.stats().liveChanges, b.stats().liveChanges);
    });

    it('creates, updates and deletes tickets with their audits, and creates and updates users and organizations', async () => {
      const sim = await start({ seed: 8, counts: { tickets: 400, users: 150, organizations: 40 }, now: () => T * 1000, live: { changesPerMinute: 30 } });
      const seeded = (id: string): Set<number> => new Set(sim.expected(id, { supportTypeScope: 'all' }).map((e) => e.id));
      const [tickets, users, orgs] = [seeded('tickets'), seeded('users'), seeded('organizations')];
      sim.advanceClock(1800);
      const since = `start_time=${T - 61}`;
      const mid = (await walk(sim, `/api/v2/incremental/tickets/cursor?${since}&support_type_scope=all`, 'tickets')).recs;
      const deletedMid = mid.filter((t) => t.status === 'deleted').map((t) => key({ id: t.id, ts: tsOf(t) }));
      sim.advanceClock(1800);
      const changed = (await walk(sim, `/api/v2/incremental/tickets/cursor?${since}&support_type_scope=all`, 'tickets')).recs;
      const created = changed.filter((t) => !tickets.has(t.id));
      const deleted = changed.filter((t) => tickets.has(t.id) && t.status === 'deleted');
      const updated = changed.filter((t) => tickets.has(t.id) && t.status !== 'deleted');
      assert.ok(created.length > 0 && deleted.length > 0 && updated.length > 0, `created ${created.length}, updated ${updated.length}, deleted ${deleted.length}`);
      const deletedNow = new Set(changed.filter((t) => t.status === 'deleted').map((t) => key({ id: t.id, ts: tsOf(t) })));
      assert.ok(deletedMid.length > 0 && deletedMid.every((k) => deletedNow.has(k)), 'a deleted ticket stays deleted, untouched');

      const events = (await walk(sim, `/api/v2/incremental/ticket_events?${since}&support_type_scope=all`, 'ticket_events')).recs;
      const metrics = (await walk(sim, `/api/v2/incremental/ticket_metric_events?${since}`, 'ticket_metric_events')).recs;
      // A ticket changed again inside the last minute is not served yet, though its earlier audit is:
      // a minute later it is, at a later second (unless it changed once more; then look again).
      const changedIds = new Set(changed.map((t) => t.id));
      const later: Rec[] = [];
      const orphans = (): number[] => [...events, ...metrics].map((e) => e.ticket_id!).filter((id) => !changedIds.has(id));
      for (let look = 0; look < 10 && orphans().length > 0; look++) {
        const cutoff = sim.nowSeconds() - 60;
        sim.advanceClock(61);
        const recs = (await walk(sim, `/api/v2/incremental/tickets/cursor?start_time=${cutoff}&support_type_scope=all`, 'tickets')).recs;
        later.push(...recs);
        for (const t of recs) changedIds.add(t.id);
      }
      assert.ok(events.length > 0 && metrics.length > 0);
      assert.deepEqual(orphans(), [], 'each audit and metric event belongs to a changed ticket');
      const createdIds = new Set([...created, ...later.filter((t) => !tickets.has(t.id))].map((t) => t.id));
      const creates = events.filter((e) => e.child_events!.some((c) => c.event_type === 'Create'));
      assert.ok(creates.length > 0 && creates.every((e) => createdIds.has(e.ticket_id!)), 'Create audits for new tickets');

      for (const [path, base] of [['users', users], ['organizations', orgs]] as const) {
        const recs = (await walk(sim, `/api/v2/incremental/${path}?${since}`, path)).recs;
        assert.ok(recs.some((r) => base.has(r.id)) && recs.some((r) => !base.has(r.id)), `${path}: both new and updated`);
        assert.ok(recs.every((r) => secs(r.created_at!) <= secs(r.updated_at!)));
      }
    });

    it('brings exactly the new changes to a resume a minute later, and the oracle knows them', async () => {
      const sim = await start({ seed: 12, counts: { tickets: 600 }, now: () => T * 1000, live: true });
      const first = await walk(sim, '/api/v2/incremental/tickets/cursor?start_time=0&support_type_scope=all', 'tickets');
      const before = new Set(sim.expected('tickets/cursor', { supportTypeScope: 'all' }).map(key));
      assert.deepEqual(first.recs.map((r) => key({ id: r.id, ts: tsOf(r) })), [...before]);
      sim.advanceClock(300);
      const resumed = await walk(sim, first.resume, 'tickets');
      const fresh = sim.expected('tickets/cursor', { supportTypeScope: 'all' }).map(key).filter((k) => !before.has(k));
      assert.ok(fresh.length > 0, 'five minutes of the default pace change some tickets');
      assert.deepEqual(resumed.recs.map((r) => key({ id: r.id, ts: tsOf(r) })), fresh);
    });
  });

  describe('current-state view', () => {
    it('is the table a sequence of exports ends with: the latest version of each id, tombstones marked', async () => {
      const sim = await start({ seed: 3, counts: { tickets: 700, users: 300, organizations: 120 }, now: () => T * 1000 });
      const first = await walk(sim, '/api/v2/incremental/tickets/cursor?start_time=0&support_type_scope=all&per_page=250', 'tickets');
      const table = fold(new Map(), first.recs);
      sim.mutate({ newTickets: 5, updatedTickets: 40 });
      sim.advanceClock(61);
      fold(table, (await walk(sim, first.resume, 'tickets')).recs);
      const rows = [...table.values()].sort((a, b) => a.id - b.id).map((t) => ({ id: t.id, ts: tsOf(t), deleted: t.status === 'deleted' }));
      assert.deepEqual(sim.current('tickets', { supportTypeScope: 'all' }), rows);
      assert.ok(rows.some((r) => r.deleted) && rows.some((r) => !r.deleted));
      const agentOnly = sim.current('tickets');
      assert.ok(agentOnly.length < rows.length, 'the default scope leaves AI-agent tickets out, as the export does');

      // Time-based exports repeat boundary records; the fold keeps one row per id.
      const users = fold(new Map(), (await walk(sim, '/api/v2/incremental/users?start_time=0&per_page=100', 'users')).recs);
      assert.deepEqual(sim.current('users'), [...users.values()].sort((a, b) => a.id - b.id).map((u) => ({ id: u.id, ts: tsOf(u), deleted: u.active === false })));
      const orgs = fold(new Map(), (await walk(sim, '/api/v2/incremental/organizations?start_time=0', 'organizations')).recs);
      const orgRows = [...orgs.values()].sort((a, b) => a.id - b.id).map((o) => ({ id: o.id, ts: tsOf(o), deleted: o.deleted_at !== null }));
      assert.deepEqual(sim.current('organizations'), orgRows);
      assert.ok(orgRows.some((o) => o.deleted));
    });

    it('leaves out what no export can see yet, and marks routing deletions', async () => {
      const sim = await start({ seed: 3, counts: { tickets: 200, routingAttributes: 30 }, now: () => T * 1000 });
      const { newIds } = sim.mutate({ newTickets: 2 });
      const ids = new Set(sim.current('tickets', { supportTypeScope: 'all' }).map((r) => r.id));
      assert.ok(newIds.every((id) => !ids.has(id)), 'inside the freshness minute');
      sim.advanceClock(61);
      const after = new Set(sim.current('tickets', { supportTypeScope: 'all' }).map((r) => r.id));
      assert.ok(newIds.every((id) => after.has(id)));
      const routing = sim.current('routing_attributes');
      assert.deepEqual(routing.map((r) => r.id), sim.expected('routing_attributes').map((e) => e.id).sort());
      assert.ok(routing.some((r) => r.deleted) && routing.some((r) => !r.deleted));
      assert.throws(() => sim.current('requests' as 'tickets'), /Unknown resource requests; use one of tickets, /);
    });
  });
});
