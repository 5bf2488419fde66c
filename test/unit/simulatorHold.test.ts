// hold() / release() / waitForHeld(): a test can stop an export at a page of its choosing, look at
// it in progress, and let it go on; every hold is bounded.
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index';

type Page = { status: number; body: Record<string, unknown> };

function client(sim: RunningSimulator) {
  const auth = `Basic ${Buffer.from(`${sim.credentials.admin.email}/token:${sim.credentials.admin.token}`).toString('base64')}`;
  return async (pathOrUrl: string): Promise<Page> => {
    const res = await fetch(pathOrUrl.startsWith('http') ? pathOrUrl : sim.url + pathOrUrl, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

/** A cursor export running in the background; `pages` fills as responses arrive. */
function exportInBackground(sim: RunningSimulator, first: string): { pages: Page[]; done: Promise<Page[]> } {
  const get = client(sim);
  const pages: Page[] = [];
  const done = (async () => {
    let url = first;
    for (let i = 0; i < 100; i++) {
      const page = await get(url);
      pages.push(page);
      if (page.body.end_of_stream === true) return pages;
      url = page.body.after_url as string;
    }
    throw new Error('the export did not end');
  })();
  return { pages, done };
}

describe('simulator hold and release', function () {
  this.timeout(60_000);
  const running: RunningSimulator[] = [];
  async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
    const sim = await startSimulator({ rateLimits: false, counts: { tickets: 500, users: 50 }, ...opts });
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  it('holds an export after N pages until release(), and tells the test when one is held', async () => {
    const sim = await start();
    sim.hold({ afterPages: 2 });
    const run = exportInBackground(sim, '/api/v2/incremental/tickets/cursor?start_time=0&per_page=100');
    const held = await sim.waitForHeld(30_000);
    assert.equal(held.passedBefore, 2);
    assert.match(held.url, /^\/api\/v2\/incremental\/tickets\/cursor\?cursor=/);
    // The third request is waiting inside the simulator, so the client has exactly two pages.
    assert.equal(run.pages.length, 2);
    assert.deepEqual(await sim.waitForHeld(10), held, 'already held: answers at once');
    sim.release();
    const pages = await run.done;
    assert.equal(pages.length, 5);
    const ids = pages.flatMap((p) => (p.body.tickets as { id: number }[]).map((t) => t.id));
    assert.deepEqual(ids, sim.expected('tickets/cursor').map((e) => e.id), 'nothing lost or doubled by the hold');
    assert.equal(sim.stats().holdsExpired, 0);
  });

  it('builds the held page when released, so changes made meanwhile are in it', async () => {
    const sim = await start({ now: () => Date.UTC(2026, 5, 15) });
    const first = await client(sim)('/api/v2/incremental/tickets/cursor?start_time=0&per_page=1000');
    assert.equal(first.body.end_of_stream, true);
    sim.hold();
    const pending = client(sim)(first.body.after_url as string);
    await sim.waitForHeld();
    const { newIds } = sim.mutate({ newTickets: 3 });
    sim.advanceClock(61);
    sim.release();
    assert.deepEqual(((await pending).body.tickets as { id: number }[]).map((t) => t.id), newIds);
  });

  it('holds only export requests matching the path; users/me, field lists and other exports pass', async () => {
    const sim = await start();
    sim.hold({ path: '/users/cursor' });
    const get = client(sim);
    assert.equal((await get('/api/v2/incremental/tickets/cursor?start_time=0&per_page=1')).status, 200);
    assert.equal((await get('/api/v2/users/me')).status, 200);
    assert.equal((await get('/api/v2/ticket_fields')).status, 200);
    const pending = get('/api/v2/incremental/users/cursor?start_time=0');
    assert.equal((await sim.waitForHeld()).passedBefore, 0);
    sim.release();
    assert.equal((await pending).status, 200);
    assert.equal((await get('/api/v2/incremental/users/cursor?start_time=0')).status, 200, 'release() ends the hold');
  });

  it('lets a held request go on by itself after maxHoldMs, and counts it', async () => {
    const sim = await start();
    sim.hold({ maxHoldMs: 200 });
    const t0 = performance.now();
    const page = await client(sim)('/api/v2/incremental/tickets?start_time=0&per_page=10');
    assert.equal(page.status, 200);
    assert.ok(performance.now() - t0 >= 190, 'it was held');
    assert.equal(sim.stats().holdsExpired, 1);
  });

  it('bounds waitForHeld, refuses bad options with a sentence, and releases held requests on close', async () => {
    const sim = await start();
    await assert.rejects(sim.waitForHeld(50), /^Error: No export request was held within 50 ms/);
    assert.throws(() => sim.hold({ afterPages: -1 }), /afterPages must be a whole number of pages/);
    assert.throws(() => sim.hold({ maxHoldMs: 700_000 }), /maxHoldMs must be above 0 and at most 600000 ms/);
    assert.equal((await client(sim)('/api/v2/incremental/tickets?start_time=0&per_page=1')).status, 200, 'a refused hold holds nothing');
    sim.hold();
    const pending = client(sim)('/api/v2/incremental/tickets?start_time=0&per_page=1');
    await sim.waitForHeld();
    await running.pop()!.close();
    assert.equal((await pending).status, 200, 'close() answers the held request before stopping');
  });
});
