// Rate limits of the simulator over real HTTP: every header spelling, per-family budgets, the
// account bucket, 429 + Retry-After after the budget, and timeScale to make a minute short.
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index';
import { RateLimiter } from '../../src/simulator/rateLimit';

interface Got { status: number; body: Record<string, unknown>; headers: Headers }

function client(sim: RunningSimulator) {
  const auth = `Basic ${Buffer.from(`${sim.credentials.admin.email}/token:${sim.credentials.admin.token}`).toString('base64')}`;
  return async (path: string): Promise<Got> => {
    const res = await fetch(sim.url + path, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };
}

const TICKETS = '/api/v2/incremental/tickets?start_time=0&per_page=1';
const FAMILY = /^total=(\d+); remaining=(\d+); resets=(\d+(?:\.\d+)?)$/;

async function until429(get: (p: string) => Promise<Got>, path: string, max: number): Promise<{ ok: number; refused: Got }> {
  for (let ok = 0; ok <= max; ok++) {
    const r = await get(path);
    if (r.status === 429) return { ok, refused: r };
    assert.equal(r.status, 200);
  }
  throw new Error(`no 429 after ${max + 1} requests`);
}

describe('simulator rate limits', function () {
  this.timeout(60_000);
  const running: RunningSimulator[] = [];
  async function start(opts: SimulatorOptions): Promise<RunningSimulator> {
    const sim = await startSimulator({ counts: { tickets: 50, users: 50 }, ...opts });
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  it('sends every header spelling on every response, real-time windows in whole seconds', async () => {
    const sim = await start({});
    const get = client(sim);
    const first = await get(TICKETS);
    const h = first.headers;
    assert.equal(h.get('x-rate-limit'), '700');
    assert.equal(h.get('x-rate-limit-remaining'), '699');
    assert.equal(h.get('rate-limit'), '700');
    assert.equal(h.get('rate-limit-remaining'), '699');
    assert.equal(h.get('ratelimit-limit'), '700');
    assert.equal(h.get('ratelimit-remaining'), '699');
    assert.match(h.get('rate-limit-reset')!, /^\d+$/);
    assert.match(h.get('ratelimit-reset')!, /^\d+$/);
    const fam = FAMILY.exec(h.get('zendesk-ratelimit-incremental-exports')!);
    assert.ok(fam);
    assert.deepEqual([fam[1], fam[2]], ['10', '9']);
    assert.ok(Number(fam[3]) >= 1 && Number(fam[3]) <= 60);
    const second = await get(TICKETS);
    assert.equal(FAMILY.exec(second.headers.get('zendesk-ratelimit-incremental-exports')!)![2], '8');
    const cursor = await get('/api/v2/incremental/users/cursor?start_time=0');
    assert.match(cursor.headers.get('zendesk-ratelimit-incremental-exports-cursor')!, /^total=20; remaining=19; resets=\d+$/);
    assert.equal(cursor.headers.get('x-rate-limit-remaining'), '697', 'three requests spent from the account bucket');
    assert.equal(cursor.headers.get('retry-after'), null, 'a 200 never carries Retry-After');
    // Responses that never reach an endpoint carry the headers too, without spending budget.
    const unauthorized = await fetch(`${sim.url}${TICKETS}`);
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers.get('x-rate-limit-remaining'), '697');
    assert.match(unauthorized.headers.get('zendesk-ratelimit-incremental-exports')!, /^total=10; remaining=8;/);
    const missing = await get('/api/v2/incremental/requests?start_time=0');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('ratelimit-remaining'), '697');
  });

  /** A window clock the test moves: a scaled minute ends when the test says, however slow the machine. */
  function testClock(): { clock: () => number; advance: (ms: number) => void } {
    let now = 0;
    return { clock: () => now, advance: (ms) => { now += ms; } };
  }

  it('refuses the 11th incremental request of a (scaled) minute with 429 and a decimal Retry-After, then recovers', async () => {
    const time = testClock();
    const sim = await start({ rateLimits: { timeScale: 30, clock: time.clock } });
    const get = client(sim);
    const { ok, refused } = await until429(get, TICKETS, 20);
    assert.equal(ok, 10);
    assert.deepEqual(refused.body, { error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 2, `Retry-After ${retryAfter} is in scaled seconds`);
    assert.match(refused.headers.get('zendesk-ratelimit-incremental-exports')!, /^total=10; remaining=0; resets=\d+(\.\d+)?$/);
    time.advance(retryAfter * 1000 - 1);
    assert.equal((await get(TICKETS)).status, 429, 'a millisecond before the Retry-After');
    time.advance(1);
    assert.equal((await get(TICKETS)).status, 200);
  });

  it('keeps users/cursor (20) and sample (10 per 20 min) budgets apart from the incremental one', async () => {
    const sim = await start({ rateLimits: { timeScale: 30, clock: testClock().clock } });
    const get = client(sim);
    assert.equal((await until429(get, TICKETS, 20)).ok, 10);
    const cursor = await until429(get, '/api/v2/incremental/users/cursor?start_time=0&per_page=1', 30);
    assert.equal(cursor.ok, 20);
    assert.match(cursor.refused.headers.get('zendesk-ratelimit-incremental-exports-cursor')!, /^total=20; remaining=0;/);
    const sample = await until429(get, '/api/v2/incremental/users/sample?start_time=0', 20);
    assert.equal(sample.ok, 10);
    const retryAfter = Number(sample.refused.headers.get('retry-after'));
    assert.ok(retryAfter > 2 && retryAfter <= 40, `the sample window is 20 scaled minutes (${retryAfter} s)`);
  });

  it('offers the High Volume budget and a shared account bucket', async () => {
    const hv = await start({ rateLimits: { timeScale: 30, highVolume: true, clock: testClock().clock } });
    assert.equal((await until429(client(hv), TICKETS, 40)).ok, 30);
    const small = await start({ rateLimits: { timeScale: 30, accountPerMinute: 5, clock: testClock().clock } });
    const get = client(small);
    const r = await until429(get, '/api/v2/users/me', 10);
    assert.equal(r.ok, 5);
    assert.equal(r.refused.body.description, 'Number of allowed API requests per minute exceeded');
    assert.equal((await get(TICKETS)).status, 429, 'the account bucket covers every endpoint');
  });

  it('rounds every reset and Retry-After up to whole seconds with wholeSecondResets, even when scaled', async () => {
    const plain = await start({ rateLimits: { timeScale: 30 } });
    assert.match((await client(plain)(TICKETS)).headers.get('ratelimit-reset')!, /^\d*\.\d+$/, 'precondition: a scaled window reports decimals');
    const time = testClock();
    const sim = await start({ rateLimits: { timeScale: 30, wholeSecondResets: true, clock: time.clock } });
    const get = client(sim);
    const first = await get(TICKETS);
    for (const h of ['rate-limit-reset', 'ratelimit-reset']) assert.match(first.headers.get(h)!, /^[12]$/, h);
    assert.match(first.headers.get('zendesk-ratelimit-incremental-exports')!, /^total=10; remaining=9; resets=[12]$/);
    const { refused } = await until429(get, TICKETS, 40);
    const retryAfter = refused.headers.get('retry-after')!;
    assert.match(retryAfter, /^[12]$/);
    // Rounded up, never down: waiting that long always finds the window reset.
    time.advance(Number(retryAfter) * 1000);
    assert.equal((await get(TICKETS)).status, 200);
  });

  it('rounds up to the next whole second, never below 1, on a clock the test controls', () => {
    let now = 0;
    const rounded = new RateLimiter({ timeScale: 30, wholeSecondResets: true }, () => now);
    const exact = new RateLimiter({ timeScale: 30 }, () => now);
    const at = (limiter: RateLimiter, ms: number): [string, string] => {
      now = ms;
      const h = limiter.peek('incremental');
      return [h['ratelimit-reset'], /resets=(.*)$/.exec(h['zendesk-ratelimit-incremental-exports'])![1]];
    };
    // A scaled minute lasts 2000 ms; the reset is the time left in it.
    assert.deepEqual([0, 1, 999, 1000, 1001, 1999, 2000, 2300].map((ms) => at(rounded, ms)[0]), ['2', '2', '2', '1', '1', '1', '2', '2']);
    assert.deepEqual(at(rounded, 2300), ['2', '2']);
    assert.deepEqual([300, 1999].map((ms) => at(exact, ms)[0]), ['1.7', '0.001']);
    now = 0;
    const realTime = new RateLimiter({}, () => now);
    assert.deepEqual([2300, 59_999].map((ms) => at(realTime, ms)[0]), ['58', '1'], 'at real speed whole seconds always');
  });

  it('never refuses when rate limits are disabled, and says so in the headers', async () => {
    const sim = await start({ rateLimits: false });
    const get = client(sim);
    for (let i = 0; i < 40; i++) assert.equal((await get(TICKETS)).status, 200);
    assert.match((await get(TICKETS)).headers.get('zendesk-ratelimit-incremental-exports')!, /^total=1000000;/);
  });
});
