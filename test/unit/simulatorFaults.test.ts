// Every injectable fault of the simulator, over real HTTP, and the scoping options (times, skip, path).
import assert from 'node:assert/strict';
import { FAULT_KINDS, parseFaultSpec, startSimulator } from '../../src/simulator/index';
import type { Fault, RunningSimulator, SimulatorOptions } from '../../src/simulator/index';
import { until } from '../support/until';

interface Got { status: number; text: string; headers: Headers; ms: number }

function client(sim: RunningSimulator) {
  const auth = `Basic ${Buffer.from(`${sim.credentials.admin.email}/token:${sim.credentials.admin.token}`).toString('base64')}`;
  return async (pathOrUrl: string, withAuth = true): Promise<Got> => {
    const t0 = performance.now();
    const res = await fetch(pathOrUrl.startsWith('http') ? pathOrUrl : sim.url + pathOrUrl, { headers: withAuth ? { authorization: auth } : {} });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, ms: performance.now() - t0 };
  };
}

const PAGE = '/api/v2/incremental/tickets.json?start_time=0&per_page=10';

describe('simulator faults', function () {
  this.timeout(60_000);
  const running: RunningSimulator[] = [];
  async function start(faults: Fault[], opts: SimulatorOptions = {}): Promise<{ sim: RunningSimulator; get: ReturnType<typeof client> }> {
    const sim = await startSimulator({ rateLimits: false, counts: { tickets: 300 }, faults, ...opts });
    running.push(sim);
    return { sim, get: client(sim) };
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  it('plainText429: text/plain body with Retry-After', async () => {
    const { get } = await start([{ kind: 'plainText429', times: 1, retryAfter: 2 }]);
    const r = await get(PAGE);
    assert.equal(r.status, 429);
    assert.match(r.headers.get('content-type')!, /^text\/plain/);
    assert.equal(r.text, 'Number of allowed API requests per minute exceeded');
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal((await get(PAGE)).status, 200, 'times: 1 fires once');
  });

  it('noRetryAfter429, edge429, httpDateRetryAfter429 and decimalRetryAfter429', async () => {
    const { get, sim } = await start([{ kind: 'noRetryAfter429', times: 1 }]);
    let r = await get(PAGE);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), null);
    assert.equal(JSON.parse(r.text).error, 'APIRateLimitExceeded');

    sim.setFaults([{ kind: 'edge429', times: 1 }]);
    r = await get(PAGE);
    assert.equal(r.status, 429);
    assert.deepEqual(JSON.parse(r.text), { detail: 'Rate limited by Zendesk edge protection', status: '429', title: 'Automated response' });

    sim.setFaults([{ kind: 'httpDateRetryAfter429', times: 1, retryAfter: 3 }]);
    // 3 s after the simulator answered, to the second: bracketed by when the request left and came back.
    const sentAt = Date.now();
    r = await get(PAGE);
    const gotAt = Date.now();
    const when = Date.parse(r.headers.get('retry-after')!);
    assert.ok(Number.isFinite(when) && when > sentAt + 2000 && when <= gotAt + 3000, `${r.headers.get('retry-after')} for a request sent at ${new Date(sentAt).toISOString()}`);

    sim.setFaults([{ kind: 'decimalRetryAfter429', times: 1 }]);
    r = await get(PAGE);
    assert.equal(r.headers.get('retry-after'), '1.5');
    assert.equal((await get(PAGE)).status, 200);
  });

  it('status5xx: 500 JSON, 502 and 503 HTML', async () => {
    const { get, sim } = await start([{ kind: 'status5xx', status: 500, times: 1 }]);
    let r = await get(PAGE);
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.text).error, 'InternalServerError');
    for (const status of [502, 503] as const) {
      sim.setFaults([{ kind: 'status5xx', status, times: 1 }]);
      r = await get(PAGE);
      assert.equal(r.status, status);
      assert.match(r.headers.get('content-type')!, /^text\/html/);
    }
    assert.equal((await get(PAGE)).status, 200);
  });

  it('timeoutAbovePageSize: 504 while per_page is above the threshold, including the default 1000', async () => {
    const { get } = await start([{ kind: 'timeoutAbovePageSize', maxPerPage: 250 }]);
    assert.equal((await get('/api/v2/incremental/tickets?start_time=0')).status, 504);
    assert.equal((await get('/api/v2/incremental/tickets?start_time=0&per_page=500')).status, 504);
    assert.equal((await get('/api/v2/incremental/tickets?start_time=0&per_page=250')).status, 200);
  });

  it('slow delays the response (times: 1 only the first); latencyMs adds latency per page', async () => {
    assert.ok((await (await start([{ kind: 'slow', delayMs: 300 }])).get(PAGE)).ms >= 290);
    // Ten minutes for the first request: the second one, sent while the first waits, is answered.
    const { sim, get } = await start([{ kind: 'slow', delayMs: 600_000, times: 1 }]);
    let firstAnswered = false;
    const first = get(PAGE).then(() => { firstAnswered = true; }, () => undefined);
    await until('the first request at the simulator', () => sim.stats().requests === 1);
    assert.equal((await get(PAGE)).status, 200);
    assert.equal(firstAnswered, false, 'the first request is still delayed');
    await sim.close();
    await first;
    const { get: get2 } = await start([], { latencyMs: (n) => n * 20 });
    assert.ok((await get2(PAGE)).ms >= 190, 'ten records at 20 ms each');
  });

  it('connectionReset destroys the socket; truncatedBody ends half-way through the JSON', async () => {
    const { get, sim } = await start([{ kind: 'connectionReset', times: 1 }]);
    await assert.rejects(get(PAGE));
    assert.equal((await get(PAGE)).status, 200);
    sim.setFaults([{ kind: 'truncatedBody', times: 1 }]);
    const r = await get(PAGE);
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.text));
    const full = await get(PAGE);
    assert.ok(Math.abs(r.text.length - full.text.length / 2) <= 1);
  });

  it('foreignNextPage points next_page at another origin and records who sent Authorization there', async () => {
    const { get, sim } = await start([{ kind: 'foreignNextPage', times: 1 }]);
    const first = JSON.parse((await get(PAGE)).text) as { next_page: string };
    assert.ok(first.next_page.startsWith(`${sim.foreignUrl}/api/v2/incremental/tickets.json?`));
    assert.equal((await get(first.next_page, false)).status, 401);
    assert.deepEqual(sim.stats().authorizationSentTo, [new URL(sim.url).host], 'a careful client never leaks the header');
    assert.equal(sim.stats().foreignRequests, 1);
    await get(first.next_page, true);
    assert.deepEqual(sim.stats().authorizationSentTo, [new URL(sim.url).host, new URL(sim.foreignUrl).host]);
    const cursor = await start([{ kind: 'foreignNextPage' }]);
    const c = JSON.parse((await cursor.get('/api/v2/incremental/tickets/cursor?start_time=0')).text) as { after_url: string };
    assert.ok(c.after_url.startsWith(cursor.sim.foreignUrl));
  });

  it('legacyStuckTimestamp: a busy second gives end_time == start_time and the same next_page forever', async () => {
    const { get, sim } = await start([{ kind: 'legacyStuckTimestamp' }]);
    const perSecond = new Map<number, number>();
    for (const e of sim.expected('tickets')) perSecond.set(e.ts, (perSecond.get(e.ts) ?? 0) + 1);
    const busy = [...perSecond].find(([, n]) => n > 5);
    assert.ok(busy, 'the dataset has a second with more than per_page records');
    const url = `${sim.url}/api/v2/incremental/tickets.json?per_page=5&start_time=${busy[0]}`;
    for (let i = 0; i < 3; i++) {
      const body = JSON.parse((await get(url)).text) as { count: number; end_time: number; next_page: string };
      assert.deepEqual([body.count, body.end_time, body.next_page], [5, busy[0], url]);
    }
    sim.setFaults([]);
    const fixed = JSON.parse((await get(url)).text) as { count: number; end_time: number };
    assert.deepEqual([fixed.count, fixed.end_time], [busy[1], busy[0] + 1]);
  });

  it('empty403 and unauthorized', async () => {
    const { get, sim } = await start([{ kind: 'empty403', times: 1 }]);
    const r = await get(PAGE);
    assert.equal(r.status, 403);
    assert.equal(r.text, '');
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    sim.setFaults([{ kind: 'unauthorized', times: 1 }]);
    assert.equal((await get(PAGE)).status, 401);
    assert.equal((await get(PAGE)).status, 200);
  });

  it('scopes faults with skip, times and path', async () => {
    const { get } = await start([{ kind: 'status5xx', status: 503, path: '/tickets/cursor', skip: 1, times: 2 }]);
    const cursor = '/api/v2/incremental/tickets/cursor?start_time=0&per_page=5';
    assert.equal((await get(PAGE)).status, 200, 'other paths are untouched');
    assert.deepEqual([
      (await get(cursor)).status, (await get(cursor)).status, (await get(cursor)).status, (await get(cursor)).status,
    ], [200, 503, 503, 200]);
    await assert.rejects(startSimulator({ faults: [{ kind: 'slow', delayMs: -1 }] }), /delayMs/);
  });

  it('parses the command-line form of every fault and rejects bad ones with a sentence', () => {
    assert.deepEqual(parseFaultSpec('status5xx,status=502,times=2,path=/tickets/cursor'), { kind: 'status5xx', status: 502, times: 2, path: '/tickets/cursor' });
    assert.deepEqual(parseFaultSpec('slow,delayMs=250'), { kind: 'slow', delayMs: 250 });
    assert.deepEqual(parseFaultSpec('timeoutAbovePageSize,maxPerPage=100,skip=1'), { kind: 'timeoutAbovePageSize', maxPerPage: 100, skip: 1 });
    for (const kind of FAULT_KINDS.filter((k) => k !== 'slow' && k !== 'timeoutAbovePageSize')) assert.equal(parseFaultSpec(kind).kind, kind);
    assert.equal(FAULT_KINDS.length, 14);
    assert.throws(() => parseFaultSpec('explode'), /Unknown fault "explode"/);
    assert.throws(() => parseFaultSpec('slow'), /needs delayMs/);
    assert.throws(() => parseFaultSpec('status5xx,status=418'), /500, 502 or 503/);
    assert.throws(() => parseFaultSpec('edge429,times=-1'), /times must be/);
    assert.throws(() => parseFaultSpec('edge429,colour=red'), /Invalid fault option/);
  });

  it('never applies a page-size timeout to routing exports, whose page size is fixed', async () => {
    const { get } = await start([{ kind: 'timeoutAbovePageSize', maxPerPage: 10 }]);
    assert.equal((await get('/api/v2/incremental/routing/attributes')).status, 200);
    assert.equal((await get('/api/v2/incremental/ticket_metric_events?start_time=0&page[size]=50')).status, 504);
    assert.equal((await get('/api/v2/incremental/ticket_metric_events?start_time=0&page[size]=10')).status, 200);
  });
});
