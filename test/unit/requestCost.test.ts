// At the limit: under a fixed budget of requests, records per request is an export's speed. The
// default form of every resource is the one that brings the most records per request; a costlier
// choice is told its cost; pacing keeps the earliest reset of a window, so rounding doesn't drift.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { ENDPOINTS, RESOURCES, requestCostFactor, resolveEndpoint } from '../../src/engine/zendesk';
import { RateLimiter } from '../../src/engine/zendesk/rateLimit';
import { computeDiagnostics } from '../../src/server/queryLanguage';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, runCli } from '../support/cliProcess';

/** Documented page sizes (api-behaviour.md §"Endpoints"): per_page ≤ 1000, metric events' page[size] ≤ 100, routing up to 3000. */
const DOCUMENTED_MAX: Record<string, number> = {
  'tickets/cursor': 1000, tickets: 1000, 'users/cursor': 1000, users: 1000, organizations: 1000, ticket_events: 1000,
  ticket_metric_events: 1000, 'ticket_metric_events/cursor': 100,
  routing_attributes: 3000, routing_attribute_values: 3000, routing_instance_values: 3000,
};

describe('at the limit: records per request', () => {
  it('states records per request for every form, as documented', () => {
    for (const e of ENDPOINTS.filter((f) => f.model !== 'sample')) assert.equal(e.recordsPerRequest, DOCUMENTED_MAX[e.id], e.id);
  });

  it('defaults every resource to the form that brings the most records per request', () => {
    for (const resource of RESOURCES) {
      const forms = ENDPOINTS.filter((e) => e.resource === resource && e.model !== 'sample');
      const most = Math.max(...forms.map((e) => e.recordsPerRequest));
      assert.equal(resolveEndpoint(resource).recordsPerRequest, most, resource);
    }
    assert.equal(resolveEndpoint('ticket_metric_events').model, 'time');
    assert.equal(resolveEndpoint('tickets').model, 'cursor', 'a tie goes to cursor (no overlapping pages)');
    assert.equal(Math.round(requestCostFactor(resolveEndpoint('ticket_metric_events', 'cursor'))), 10);
  });

  it('tells a saved query its cost: cursor metric events and a small perPage', () => {
    const diagnostics = (query: object) => computeDiagnostics(
      TextDocument.create('file:///ws/q.zdquery.json', 'json', 1, JSON.stringify(query, null, 2)),
      { connections: undefined, workspaceFolders: ['/ws'], nowSeconds: Date.UTC(2026, 0, 1) / 1000 },
    ).map((d) => (typeof d.message === 'string' ? d.message : d.message.value));
    assert.ok(diagnostics({ name: 'm', resource: 'ticket_metric_events', pagination: 'cursor' }).some((m) => /^≈10× the requests: the cursor-based ticket_metric_events export brings at most 100 records a request/.test(m)));
    assert.ok(diagnostics({ name: 't', resource: 'tickets', params: { perPage: 100 } }).some((m) => /^≈10× the requests: 100 records a request where 1,000 are allowed/.test(m)));
    assert.deepEqual(diagnostics({ name: 'm', resource: 'ticket_metric_events' }).filter((m) => m.includes('×')), []);
  });

  describe('through zdx', function () {
    this.timeout(120_000);
    let sim: RunningSimulator;
    let dir: string;
    before(async () => {
      sim = await startSimulator({ seed: 5, counts: { tickets: 400 }, rateLimits: false });
      dir = mkdtempSync(join(tmpdir(), 'zdx-cost-'));
    });
    after(async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const env = () => cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });

    it('exports metric events time-based by default: no page[size], about 1,000 events a request', async () => {
      const r = await runCli(['export', 'ticket_metric_events', '--url', sim.url, '--out', 'm.jsonl'], { cwd: dir, env: env() });
      assert.equal(r.code, 0, r.stderr);
      const requests = sim.stats().requestLog.filter((e) => e.url.startsWith('/api/v2/incremental/ticket_metric_events'));
      assert.ok(requests.length > 0);
      assert.ok(requests.every((e) => e.url.includes('start_time=') && !e.url.includes('page%5Bsize%5D') && !e.url.includes('page[size]')), requests.map((e) => e.url).join('\n'));
      const events = sim.expected('ticket_metric_events').length;
      assert.ok(events / requests.length > 500, `${events} events in ${requests.length} requests`);
      assert.doesNotMatch(r.stdout + r.stderr, /≈\d+× the requests/);
    });

    it('says the cost of --cursor for metric events, in the summary of the run and in --help', async () => {
      const r = await runCli(['export', 'ticket_metric_events', '--cursor', '--url', sim.url, '--out', 'mc.jsonl'], { cwd: dir, env: env() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ {2}Note: +≈10× the requests: the cursor-based ticket_metric_events export brings at most 100 records a request/m);
      const help = await runCli(['export', '--help'], { cwd: dir, env: env() });
      assert.match(help.stdout.replace(/\s+/g, ' '), /--cursor .*ticket_metric_events ≈10× the requests/);
    });

    it('a saved query file with a small perPage hears the same', async () => {
      const file = join(dir, 'small.zdquery.json');
      writeFileSync(file, JSON.stringify({ name: 'small', resource: 'tickets', startTime: 0, params: { perPage: 250 } }));
      const r = await runCli(['run', file, '--url', sim.url], { cwd: dir, env: env() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /≈4× the requests: 250 records a request where 1,000 are allowed/);
    });
  });
});

describe('at the limit: pacing independent of rounding', () => {
  const emit = () => undefined;
  const limiter = () => new RateLimiter('incremental', { requests: 10, windowSeconds: 60 }, { serial: true, paceWithoutHeaders: true });

  it('keeps the earliest reset a window reported (Zendesk rounds resets up to whole seconds)', () => {
    const l = limiter();
    l.observe({ total: 10, remaining: 1, resetSeconds: 2 }, emit, 0); // true reset somewhere in (1 s, 2 s]
    l.observe({ total: 10, remaining: 0, resetSeconds: 2 }, emit, 900); // the same window, rounded up again
    assert.equal(l.exhaustedUntil(950), 2025, 'the earlier bound, not 2925');
  });

  it('takes the new reset when a new window began (the count went up)', () => {
    const l = limiter();
    l.observe({ total: 10, remaining: 0, resetSeconds: 1 }, emit, 0);
    l.observe({ total: 10, remaining: 9, resetSeconds: 60 }, emit, 1100);
    l.observe({ total: 10, remaining: 0, resetSeconds: 61 }, emit, 1200);
    assert.equal(l.exhaustedUntil(1200), 1100 + 60_000 + 25, 'the new window\'s first (earliest) reset');
  });
});
