// Engine building blocks: header parsing, Retry-After, origin and HTTPS guards, auth headers, dedupe,
// and the client's error mapping against a tiny loopback server that sends exactly the awkward
// responses Zendesk has been seen to send.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { authorizationHeader, endpointById, connectionFromUrl, describeErrorBody, validateBaseUrl, ZendeskClient, limitersFor, readRateLimitHeaders, backoffDelayMs, halvePerPage, parseRetryAfter, sleep } from '../../src/engine/zendesk';
import { BoundaryDedupe, dedupeKey, recordTimestamp, runExport, type ProgressEvent } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import { until } from '../support/until';

const creds = { kind: 'apiToken' as const, email: 'admin@example.com', token: 'secret-token' };

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; requests: { url: string; auth: string | undefined }[]; close: () => Promise<void> }> {
  const requests: { url: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function client(url: string, events: ProgressEvent[] = [], extra: Partial<ConstructorParameters<typeof ZendeskClient>[0]> = {}): ZendeskClient {
  return new ZendeskClient({
    connection: { baseUrl: url, credentials: creds },
    emit: (e) => events.push(e),
    retry: { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20 },
    requestTimeoutMs: 2000,
    ...extra,
  });
}

async function rejects(p: Promise<unknown>, code: string): Promise<ExportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ExportError, `expected ExportError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('secret-token'), 'no secret in messages');
    return err;
  }
  assert.fail(`expected ExportError(${code})`);
}

const TICKETS = '/api/v2/incremental/tickets';

describe('engine: Retry-After and rate-limit headers', () => {
  it('parses integer, decimal, HTTP-date and junk-suffixed Retry-After', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('93', now), 93_000);
    assert.equal(parseRetryAfter('93.0', now), 93_000);
    assert.equal(parseRetryAfter('0.25', now), 250);
    assert.equal(parseRetryAfter(new Date(now + 5000).toUTCString(), now), 5000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', now + 1000), 0);
    assert.equal(parseRetryAfter('12s', now), 12_000);
    assert.equal(parseRetryAfter('', now), null);
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter('soon', now), null);
  });

  it('reads every header spelling, case-insensitively, with decimals', () => {
    const h = new Headers({
      'X-Rate-Limit': '700', 'X-Rate-Limit-Remaining': '699',
      'Zendesk-RateLimit-incremental-exports-cursor': 'total=20; remaining=0; resets=0.5',
    });
    const r = readRateLimitHeaders(h);
    assert.deepEqual(r.account, { total: 700, remaining: 699, resetSeconds: null });
    assert.deepEqual(r.endpoint, { name: 'incremental-exports-cursor', total: 20, remaining: 0, resetSeconds: 0.5 });
    const b = readRateLimitHeaders(new Headers({ 'RateLimit-Limit': '400', 'RateLimit-Remaining': '3', 'RateLimit-Reset': '12' }));
    assert.deepEqual(b.account, { total: 400, remaining: 3, resetSeconds: 12 });
    const c = readRateLimitHeaders(new Headers({ 'rate-limit': '200', 'rate-limit-remaining': '1', 'rate-limit-reset': '2.5' }));
    assert.deepEqual(c.account, { total: 200, remaining: 1, resetSeconds: 2.5 });
    assert.deepEqual(readRateLimitHeaders(new Headers()), { account: null, endpoint: null });
  });

  it('backs off with full jitter inside the exponential ceiling and halves per_page down to 1', () => {
    for (let a = 0; a < 8; a++) {
      const d = backoffDelayMs(a, { baseDelayMs: 100, maxDelayMs: 3000 });
      assert.ok(d >= 0 && d <= Math.min(3000, 100 * 2 ** a));
    }
    assert.equal(backoffDelayMs(3, { baseDelayMs: 100, maxDelayMs: 3000 }, () => 0.999), 799);
    assert.deepEqual([1000, 500, 3, 1].map(halvePerPage), [500, 250, 1, 1]);
  });

  it('aborts a wait immediately', async () => {
    const ac = new AbortController();
    const waiting = sleep(600_000, ac.signal);
    ac.abort();
    // A ten-minute sleep that ended in 'cancelled' within the test's bound was cut short by the abort.
    await rejects(waiting, 'cancelled');
    await rejects(sleep(600_000, AbortSignal.abort()), 'cancelled');
  });
});

describe('engine: URLs, auth and error bodies', () => {
  it('allows https anywhere and http only on loopback', () => {
    assert.equal(validateBaseUrl('https://acme.zendesk.com/'), 'https://acme.zendesk.com');
    for (const ok of ['http://127.0.0.1:4567', 'http://127.8.9.10', 'http://localhost:1', 'http://[::1]:99']) {
      assert.equal(validateBaseUrl(ok), new URL(ok).origin);
    }
    // A *.localhost name goes to DNS like any other (glibc doesn't pin it to loopback), so it may leave the machine.
    for (const bad of ['http://acme.zendesk.com', 'http://10.0.0.1', 'http://127.0.0.1.evil.com', 'http://acme.localhost:8080', 'ftp://x', 'not a url']) {
      assert.throws(() => validateBaseUrl(bad), (e: ExportError) => e.code === 'insecureUrl');
    }
  });

  it('builds a connection from a subdomain and explains a typo', () => {
    assert.equal(connectionFromUrl({ subdomain: 'acme-1', credentials: creds }).baseUrl, 'https://acme-1.zendesk.com');
    assert.throws(() => connectionFromUrl({ subdomain: 'acme.zendesk.com', credentials: creds }), (e: ExportError) => /first part.*"acme"/.test(e.message));
    assert.throws(() => connectionFromUrl({ subdomain: '-acme', credentials: creds }), (e: ExportError) => /letters, digits and hyphens/.test(e.message));
    assert.throws(() => connectionFromUrl({ url: 'http://acme.zendesk.com', credentials: creds }), (e: ExportError) => e.code === 'insecureUrl');
    assert.equal(connectionFromUrl({ url: 'http://127.0.0.1:9/x', credentials: creds }).baseUrl, 'http://127.0.0.1:9');
  });

  it('builds Basic email/token and Bearer headers', () => {
    assert.equal(authorizationHeader(creds), `Basic ${Buffer.from('admin@example.com/token:secret-token').toString('base64')}`);
    assert.equal(authorizationHeader({ kind: 'oauth', accessToken: 'abc' }), 'Bearer abc');
  });

  it("reads Zendesk's words from every error envelope", () => {
    assert.deepEqual(describeErrorBody({ error: 'InvalidValue', description: 'Too recent start_time.' }), { code: 'InvalidValue', text: 'Too recent start_time.' });
    assert.deepEqual(describeErrorBody({ errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] }), { code: 'InvalidCursor', text: 'cursor is invalid or expired' });
    assert.deepEqual(describeErrorBody({ detail: 'Rate limited by Zendesk edge protection', status: '429', title: 'Automated response' }).text, 'Rate limited by Zendesk edge protection');
    assert.deepEqual(describeErrorBody('Number of allowed API requests per minute exceeded'), { code: null, text: 'Number of allowed API requests per minute exceeded' });
    assert.deepEqual(describeErrorBody(undefined), { code: null, text: null });
  });
});

describe('engine: dedupe', () => {
  it('drops repeated versions of the boundary second and survives a resume through its keys', () => {
    const form = endpointById('tickets')!;
    const d = new BoundaryDedupe(form, null, []);
    const a = d.filter([{ id: 1, generated_timestamp: 10 }, { id: 2, generated_timestamp: 11 }, { id: 3, generated_timestamp: 11 }]);
    assert.equal(a.kept.length, 3);
    assert.deepEqual(d.boundaryKeys().sort(), ['2@11', '3@11']);
    const resumed = new BoundaryDedupe(form, d.lastRecordTime(), d.boundaryKeys());
    const b = resumed.filter([{ id: 2, generated_timestamp: 11 }, { id: 3, generated_timestamp: 11 }, { id: 4, generated_timestamp: 11 }, { id: 2, generated_timestamp: 12 }]);
    assert.deepEqual(b.kept.map((r) => r.id), [4, 2]);
    assert.equal(b.dropped, 2);
    assert.equal(resumed.lastRecordTime(), 12);
  });

  it('keys events on id alone and parses ISO timestamps', () => {
    const form = endpointById('ticket_metric_events')!;
    assert.equal(dedupeKey({ id: 7, time: '2024-01-01T00:00:00Z' }, form), '7');
    assert.equal(recordTimestamp({ time: '2024-01-01T00:00:01Z' }, 'time'), 1704067201);
    assert.equal(dedupeKey({ id: 7, updated_at: 'x' }, endpointById('users')!), '7@x');
  });
});

describe('engine: client error mapping on loopback', () => {
  let srv: Awaited<ReturnType<typeof serve>> | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  const ok = (res: http.ServerResponse, extra: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify({ tickets: [], end_of_stream: true, end_time: 5 }));
  };

  it('waits for a decimal Retry-After on a plain-text 429 and then succeeds', async () => {
    let n = 0;
    srv = await serve((_req, res) => {
      if (n++ === 0) {
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '0.3' });
        res.end('Number of allowed API requests per minute exceeded');
      } else ok(res);
    });
    const events: ProgressEvent[] = [];
    const started = Date.now();
    const out = await client(srv.url, events).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.equal(out.kind, 'ok');
    assert.ok(Date.now() - started >= 280, 'honoured Retry-After');
    assert.ok(events.some((e) => e.type === 'waiting' && e.reason === 'retryAfter'));
  });

  it('honours an HTTP-date Retry-After and an empty 429 body', async () => {
    let n = 0;
    srv = await serve((_req, res) => {
      if (n++ === 0) {
        res.writeHead(429, { 'retry-after': new Date(Date.now() + 1500).toUTCString(), 'content-length': '0' });
        res.end();
      } else ok(res);
    });
    const started = Date.now();
    const out = await client(srv.url).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.equal(out.kind, 'ok');
    assert.ok(Date.now() - started >= 400, 'waited for the date (second resolution)');
  });

  it('paces proactively: remaining=0 waits for the reset before the next request', async () => {
    const times: number[] = [];
    srv = await serve((_req, res) => {
      times.push(Date.now());
      ok(res, { 'zendesk-ratelimit-incremental-exports': 'total=10; remaining=0; resets=0.4' });
    });
    const events: ProgressEvent[] = [];
    const c = client(srv.url, events);
    await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.ok(times[1] - times[0] >= 380, `second request waited (${times[1] - times[0]} ms)`);
    assert.ok(events.some((e) => e.type === 'waiting' && e.reason === 'rateLimit'));
    assert.ok(events.some((e) => e.type === 'rateLimit' && e.remaining === 0 && e.total === 10));
  });

  it('keys 403 on the status even with an empty text/html body, and never retries 401', async () => {
    srv = await serve((req, res) => {
      if (req.url?.startsWith('/api/v2/incremental/users')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":"Couldn\'t authenticate you"}');
      } else {
        res.writeHead(403, { 'content-type': 'text/html' });
        res.end();
      }
    });
    await rejects(client(srv.url).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' }), 'forbidden');
    const e = await rejects(client(srv.url).request({ path: '/api/v2/incremental/users', query: { start_time: 0 }, family: 'incremental' }), 'auth');
    assert.match(e.message, /^Zendesk rejected the credentials for 127\.0\.0\.1:\d+: check the email and API token \(or sign in again\)\.$/);
    assert.equal(srv.requests.filter((r) => r.url.startsWith('/api/v2/incremental/users')).length, 1);
  });

  it('recognises too-recent start times and invalid cursors in both envelopes', async () => {
    srv = await serve((req, res) => {
      const u = new URL(req.url ?? '', 'http://x');
      if (u.searchParams.get('cursor')) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] }));
      } else if (u.searchParams.get('start_time') === '1') {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 5 minutes' }));
      } else if (u.searchParams.get('start_time') === '2') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'StartTimeTooRecent', status: '400', title: 'start_time must be more than 60 seconds ago' }] }));
      } else {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'InvalidValue', description: 'start_time is in the future' }));
      }
    });
    const c = client(srv.url);
    assert.equal((await c.request({ path: TICKETS, query: { start_time: 1 }, family: 'incremental' })).kind, 'tooRecent');
    assert.equal((await c.request({ path: TICKETS, query: { start_time: 2 }, family: 'incremental' })).kind, 'tooRecent');
    assert.equal((await c.request({ path: '/api/v2/incremental/tickets/cursor', query: { cursor: 'x' }, family: 'incremental' })).kind, 'invalidCursor');
    const e = await rejects(c.request({ path: TICKETS, query: { start_time: 3 }, family: 'incremental' }), 'badRequest');
    assert.match(e.message, /start_time is in the future/);
  });

  it('retries truncated JSON and 5xx, halves per_page on 504, and gives up after maxRetries', async () => {
    let n = 0;
    const seen: string[] = [];
    srv = await serve((req, res) => {
      seen.push(new URL(req.url ?? '', 'http://x').searchParams.get('per_page') ?? '');
      n++;
      if (n === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tickets":[{"id":1');
      } else if (n === 2) {
        res.writeHead(504, { 'content-type': 'text/html' });
        res.end('<html>Gateway Timeout</html>');
      } else if (n === 3) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"oops"}');
      } else ok(res);
    });
    const events: ProgressEvent[] = [];
    const perPage = { value: 1000 };
    const out = await client(srv.url, events).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental', perPageParam: 'per_page' }, perPage);
    assert.equal(out.kind, 'ok');
    assert.deepEqual(seen, ['1000', '1000', '500', '500']);
    assert.equal(perPage.value, 500);
    assert.ok(events.some((e) => e.type === 'perPage' && e.perPage === 500));

    await srv.close();
    srv = await serve((_req, res) => { res.writeHead(503); res.end(); });
    const e = await rejects(client(srv.url).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' }), 'server');
    assert.match(e.message, /after 4 attempts/);
  });

  it('waits at least the Retry-After of a 503 (maintenance) before retrying', async () => {
    const times: number[] = [];
    srv = await serve((_req, res) => {
      times.push(Date.now());
      if (times.length === 1) {
        res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '0.6' });
        res.end('<h1>503 Service Temporarily Unavailable</h1>');
      } else ok(res);
    });
    const events: ProgressEvent[] = [];
    const out = await client(srv.url, events).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.equal(out.kind, 'ok');
    assert.ok(times[1] - times[0] >= 550, `retried after ${times[1] - times[0]} ms`);
    assert.ok(events.some((e) => e.type === 'waiting' && e.reason === 'retryAfter'));
  });

  it('treats a timeout like a 504: halves per_page and retries the same position', async () => {
    let n = 0;
    srv = await serve((_req, res) => {
      if (n++ === 0) return; // never answers
      ok(res);
    });
    const perPage = { value: 100 };
    const out = await client(srv.url, [], { requestTimeoutMs: 200 }).request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental', perPageParam: 'per_page' }, perPage);
    assert.equal(out.kind, 'ok');
    assert.equal(perPage.value, 50);
  });

  it('refuses a next-page link to another origin before sending anything there', async () => {
    srv = await serve((_req, res) => ok(res));
    const c = client(srv.url);
    const foreign = await serve((_req, res) => ok(res));
    try {
      for (const link of [`${foreign.url}${TICKETS}.json?start_time=5`, `https://127.0.0.1${TICKETS}`, `http://localhost:${new URL(srv.url).port}${TICKETS}`]) {
        assert.throws(() => c.resolveLink(link, TICKETS), (e: ExportError) => e.code === 'foreignOrigin');
      }
      assert.equal(foreign.requests.length, 0);
      assert.deepEqual(Object.fromEntries(c.resolveLink(`${srv.url}${TICKETS}.json?per_page=1&start_time=5`, TICKETS)), { per_page: '1', start_time: '5' });
    } finally {
      await foreign.close();
    }
  });

  it('renews an OAuth token once per refused token on 401, and gives up on a token refused twice', async () => {
    srv = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer fresh') ok(res);
      else { res.writeHead(401, { 'content-type': 'application/json' }); res.end('{"error":"Couldn\'t authenticate you"}'); }
    });
    let refreshes = 0;
    const c = new ZendeskClient({
      connection: { baseUrl: srv.url, credentials: { kind: 'oauth', accessToken: 'stale', refresh: async () => { refreshes++; return 'fresh'; } } },
      retry: { baseDelayMs: 1 },
    });
    assert.equal((await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' })).kind, 'ok');
    assert.equal(refreshes, 1);
    assert.deepEqual(srv.requests.map((r) => r.auth), ['Bearer stale', 'Bearer fresh']);

    const failing = new ZendeskClient({
      connection: { baseUrl: srv.url, credentials: { kind: 'oauth', accessToken: 'stale', refresh: async () => { refreshes++; return 'also-stale'; } } },
    });
    const before = srv.requests.length;
    await rejects(failing.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' }), 'auth');
    // 'stale' refused → renewed to 'also-stale'; that refused → asked once more (another export may
    // have rotated the pair meanwhile), same answer; refused again → the request gives up.
    assert.equal(refreshes, 3, 'one renewal per refused token, not a loop');
    assert.deepEqual(srv.requests.slice(before).map((r) => r.auth), ['Bearer stale', 'Bearer also-stale', 'Bearer also-stale']);
  });
});

describe('engine: cursors that do not advance', function () {
  this.timeout(60_000);
  let srv: Awaited<ReturnType<typeof serve>> | undefined;
  let dir = '';
  beforeEach(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-stuck-')); });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const [endpointId, body] of [
    ['tickets/cursor', (base: string) => ({ tickets: [{ id: 1, generated_timestamp: 5 }], after_cursor: 'same', after_url: `${base}/api/v2/incremental/tickets/cursor?cursor=same`, end_of_stream: false })],
    ['routing_attributes', (base: string) => ({ attributes: [{ id: 'a', time: '2024-01-01T00:00:00Z' }], count: 1, next_page: `${base}/api/v2/incremental/routing/attributes?cursor=same`, end_time: 5 })],
  ] as const) {
    it(`${endpointId}: the same cursor with more records is an error, not a loop`, async () => {
      srv = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body(srv!.url)));
      });
      const form = endpointById(endpointId)!;
      const output = path.join(dir, `${form.resource}.jsonl`);
      const err = await runExport({
        connection: { baseUrl: srv.url, credentials: creds },
        query: { name: 'x', resource: form.resource, endpointId, startTime: 0, params: {}, output: { path: output, format: 'jsonl' }, digest: 'd' },
        checkpointPath: path.join(dir, `${form.resource}.checkpoint.json`),
      }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof ExportError && err.code === 'stuck', String(err));
      assert.ok(srv.requests.length <= 3, `stopped after ${srv.requests.length} requests`);
    });
  }

  it('a time-based page that is not full and does not advance is the end of the stream, not a stuck second', async () => {
    // The official ticket_metric_events example has no end_of_stream: the tail then answers with end_time == start_time.
    const events = [{ id: 11, time: '1970-01-01T00:00:05Z' }, { id: 12, time: '1970-01-01T00:00:06Z' }, { id: 13, time: '1970-01-01T00:00:07Z' }];
    srv = await serve((req, res) => {
      const start = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('start_time'));
      const page = events.filter((e) => Date.parse(e.time) / 1000 >= start);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ticket_metric_events: page, count: page.length, end_time: 7, next_page: `${srv!.url}/api/v2/incremental/ticket_metric_events?start_time=7` }));
    });
    const output = path.join(dir, 'ticket_metric_events.jsonl');
    const result = await runExport({
      connection: { baseUrl: srv.url, credentials: creds },
      query: { name: 'x', resource: 'ticket_metric_events', endpointId: 'ticket_metric_events', startTime: 0, params: {}, output: { path: output, format: 'jsonl' }, digest: 'd' },
      checkpointPath: path.join(dir, 'ticket_metric_events.checkpoint.json'),
    });
    assert.equal(result.caughtUp, true);
    assert.deepEqual(result.checkpoint.position, { kind: 'time', startTime: 7 });
    assert.deepEqual((await fs.readFile(output, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [11, 12, 13]);
    assert.equal(srv.requests.length, 2);
  });

  it('a cursor rejected after every restart is an error, not a loop, even when each restart yields a page', async () => {
    // Each restart from start_time succeeds (the same two records, all repeats by then); every cursor is refused.
    srv = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.has('cursor')) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tickets: [{ id: 1, generated_timestamp: 5 }, { id: 2, generated_timestamp: 5 }], after_cursor: 'c1', after_url: null, before_cursor: null, before_url: null, end_of_stream: false }));
    });
    const output = path.join(dir, 'tickets.jsonl');
    const err = await runExport({
      connection: { baseUrl: srv.url, credentials: creds },
      query: { name: 'x', resource: 'tickets', endpointId: 'tickets/cursor', startTime: 0, params: { perPage: 2 }, output: { path: output, format: 'jsonl' }, digest: 'd' },
      checkpointPath: path.join(dir, 'tickets.checkpoint.json'),
    }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ExportError && err.code === 'stuck', String(err));
    assert.ok(srv.requests.length <= 10, `stopped after ${srv.requests.length} requests`);
    assert.equal((await fs.readFile(output, 'utf8')).trim().split('\n').length, 2, 'the two records once');
  });
});

describe('engine: pacing when Zendesk sends no family header', function () {
  this.timeout(60_000);
  let srv: Awaited<ReturnType<typeof serve>> | undefined;
  let dir = '';
  beforeEach(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-pace-')); });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const page = (res: http.ServerResponse, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ tickets: [], end_of_stream: true, end_time: 5 }));
  };

  /** A server that allows `limit` requests in any `windowMs` (by arrival) and answers a 429 beyond, like Zendesk without its headers. */
  function strict(limit: number, windowMs: number, headers: Record<string, string> = {}, respond: Handler = (_req, res) => page(res, headers)) {
    const arrivals: number[] = [];
    const state = { limited: 0 };
    const handler: Handler = (req, res) => {
      const now = Date.now();
      if (arrivals.filter((t) => t > now - windowMs).length >= limit) {
        state.limited++;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1', ...headers });
        res.end(JSON.stringify({ error: 'APIRateLimitExceeded', description: 'Number of allowed incremental export API requests per minute exceeded' }));
        return;
      }
      arrivals.push(now);
      respond(req, res);
    };
    return { handler, state };
  }

  it('keeps to the documented budget as a sliding window over the requests sent, so a header-less account meets no 429', async () => {
    const server = strict(3, 600);
    srv = await serve(server.handler);
    const events: ProgressEvent[] = [];
    const c = client(srv.url, events, { rateBudgets: { incremental: { requests: 3, windowSeconds: 0.6 } } });
    const started = Date.now();
    for (let i = 0; i < 7; i++) assert.equal((await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' })).kind, 'ok');
    assert.equal(server.state.limited, 0, 'no request ran into a 429');
    assert.ok(Date.now() - started >= 1150, `7 requests at 3 per 0.6 s take two waits (${Date.now() - started} ms)`);
    assert.ok(events.some((e) => e.type === 'waiting' && e.reason === 'rateLimit'), 'the wait is reported');
    assert.equal(srv.requests.length, 7);
  });

  it('a run of the exporter is paced the same way, with the next page fetched ahead', async () => {
    const server = strict(2, 400, {}, (req, res) => {
      const i = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('cursor')?.slice(1) ?? 0);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tickets: [{ id: i + 1, generated_timestamp: 100 + i }], after_cursor: `c${i + 1}`, after_url: null, end_of_stream: i === 4 }));
    });
    srv = await serve(server.handler);
    const output = path.join(dir, 'tickets.jsonl');
    const result = await runExport({
      connection: { baseUrl: srv.url, credentials: creds },
      query: { name: 'x', resource: 'tickets', endpointId: 'tickets/cursor', startTime: 0, params: { perPage: 1 }, output: { path: output, format: 'jsonl' }, digest: 'd' },
      checkpointPath: path.join(dir, 'tickets.checkpoint.json'),
      rateBudgets: { incremental: { requests: 2, windowSeconds: 0.4 } },
    });
    assert.equal(result.caughtUp, true);
    assert.equal(result.records, 5);
    assert.equal(server.state.limited, 0, 'no request ran into a 429');
    assert.equal(srv.requests.length, 5);
  });

  it('as soon as a family header arrives, the headers rule instead of the budget', async () => {
    srv = await serve((_req, res) => page(res, { 'zendesk-ratelimit-incremental-exports': 'total=100; remaining=90; resets=60' }));
    const events: ProgressEvent[] = [];
    // Without the header this budget would hold the third request back for 30 s.
    const c = client(srv.url, events, { rateBudgets: { incremental: { requests: 2, windowSeconds: 30 } } });
    for (let i = 0; i < 6; i++) await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.ok(!events.some((e) => e.type === 'waiting'), 'nothing waited');
  });

  it('account headers still pause when remaining reaches 0', async () => {
    const times: number[] = [];
    srv = await serve((_req, res) => {
      times.push(Date.now());
      page(res, { 'x-rate-limit': '700', 'x-rate-limit-remaining': '0', 'ratelimit-reset': '0.4', 'zendesk-ratelimit-incremental-exports': 'total=100; remaining=90; resets=60' });
    });
    const c = client(srv.url);
    await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    await c.request({ path: TICKETS, query: { start_time: 0 }, family: 'incremental' });
    assert.ok(times[1] - times[0] >= 380, `second request waited for the account reset (${times[1] - times[0]} ms)`);
  });

  it('uses the documented budgets by default', () => {
    // shared/zendesk/api-behaviour.md §1: incremental 10/min, users/cursor 20/min, sample 10 per 20 min.
    const documented = { incremental: { requests: 10, windowSeconds: 60 }, usersCursor: { requests: 20, windowSeconds: 60 }, sample: { requests: 10, windowSeconds: 1200 } };
    for (const [family, budget] of Object.entries(documented)) {
      assert.deepEqual(limitersFor('https://budget-default.zendesk.com', family as keyof typeof documented).family.budget, budget, family);
    }
  });
});

describe('engine export: the next page is fetched while this one is written', function () {
  this.timeout(60_000);
  let srv: Awaited<ReturnType<typeof serve>> | undefined;
  let dir = '';
  beforeEach(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-ahead-')); });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const FAMILY = { 'zendesk-ratelimit-incremental-exports': 'total=1000; remaining=999; resets=60' };

  /** tickets/cursor pages c0..c<last>, two tickets each; `special` may answer a page itself (return true). */
  function cursorServer(last: number, special: (i: number, req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false): Handler {
    return (req, res) => {
      const i = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('cursor')?.slice(1) ?? 0);
      if (special(i, req, res)) return;
      res.writeHead(200, { 'content-type': 'application/json', ...FAMILY });
      res.end(JSON.stringify({
        tickets: [{ id: i * 10 + 1, generated_timestamp: 100 + i }, { id: i * 10 + 2, generated_timestamp: 100 + i }],
        after_cursor: `c${i + 1}`, after_url: null, end_of_stream: i === last,
      }));
    };
  }

  function request(url: string, extra: Partial<Parameters<typeof runExport>[0]> = {}, perPage = 2): Parameters<typeof runExport>[0] {
    return {
      connection: { baseUrl: url, credentials: creds },
      query: { name: 'x', resource: 'tickets', endpointId: 'tickets/cursor', startTime: 0, params: { perPage }, output: { path: path.join(dir, 'tickets.jsonl'), format: 'jsonl' }, digest: 'd' },
      checkpointPath: path.join(dir, 'tickets.checkpoint.json'),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      requestTimeoutMs: 10_000,
      ...extra,
    };
  }

  async function lines(): Promise<number> {
    return (await fs.readFile(path.join(dir, 'tickets.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
  }

  /** Collects unhandled rejections while `fn` runs (and a moment after). */
  async function noUnhandled<T>(fn: () => Promise<T>): Promise<T> {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => { unhandled.push(reason); };
    process.on('unhandledRejection', listener);
    try {
      const out = await fn();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
      return out;
    } finally {
      process.off('unhandledRejection', listener);
    }
  }

  it('requests page N+1 before page N is written, and nothing after the end of the stream', async () => {
    srv = await serve(cursorServer(3));
    const events: ProgressEvent[] = [];
    const result = await runExport(request(srv.url, { onProgress: (e) => events.push(e) }));
    assert.equal(result.caughtUp, true);
    assert.equal(result.records, 8);
    assert.equal(srv.requests.length, 4, 'no request after end_of_stream');
    const kinds = events.filter((e) => e.type === 'request' || e.type === 'page').map((e) => e.type);
    assert.deepEqual(kinds.slice(0, 3), ['request', 'request', 'page'], 'the second request left before the first page was on disk');
    assert.equal(await lines(), 8);
  });

  it("a failure of the page fetched ahead surfaces after the current page's checkpoint, never unhandled", async () => {
    srv = await serve(cursorServer(5, (i, _req, res) => {
      if (i !== 1) return false;
      res.writeHead(403, { 'content-type': 'application/json', ...FAMILY });
      res.end('{"error":"Forbidden"}');
      return true;
    }));
    const err = await noUnhandled(() => runExport(request(srv!.url)).then(() => null, (e: unknown) => e));
    assert.ok(err instanceof ExportError && err.code === 'forbidden', String(err));
    const cp = JSON.parse(await fs.readFile(path.join(dir, 'tickets.checkpoint.json'), 'utf8')) as { pages: number; position: unknown };
    assert.equal(cp.pages, 1, 'page 1 is checkpointed');
    assert.deepEqual(cp.position, { kind: 'cursor', cursor: 'c1' });
    assert.equal(await lines(), 2);
    assert.equal(srv.requests.length, 2);
  });

  it('cancelling aborts the page fetched ahead; the resume refetches it', async () => {
    let hang = true;
    let closed = false;
    srv = await serve(cursorServer(2, (i, _req, res) => {
      if (i !== 1 || !hang) return false;
      res.on('close', () => { closed = true; });
      return true; // never answers
    }));
    const ac = new AbortController();
    // Abort once the page fetched ahead has reached the server; with a ten-minute request timeout,
    // only an abort that reaches that request ends the run within the test's bound.
    const abortWhenAhead = (): void => void until('the page fetched ahead at the server', () => srv!.requests.length >= 2).then(() => ac.abort());
    const err = await noUnhandled(() => runExport(request(srv!.url, { signal: ac.signal, onPage: abortWhenAhead, requestTimeoutMs: 600_000 })).then(() => null, (e: unknown) => e));
    assert.ok(err instanceof ExportError && err.code === 'cancelled', String(err));
    await until('the server to see the request in flight closed', () => closed);
    hang = false;
    const result = await runExport(request(srv.url));
    assert.equal(result.caughtUp, true);
    assert.equal(result.checkpoint.records, 6);
    assert.equal(await lines(), 6, 'every record once');
  });

  it('a write failure stops the page fetched ahead instead of waiting for it', async () => {
    let closed = false;
    srv = await serve(cursorServer(2, (i, _req, res) => {
      if (i !== 1) return false;
      res.on('close', () => { closed = true; });
      return true; // never answers
    }));
    const blocker = path.join(dir, 'not-a-folder');
    await fs.writeFile(blocker, '');
    // With a ten-minute request timeout, the run ends within the test's bound only if the write
    // failure stops the request fetched ahead instead of waiting for its answer.
    const q = request(srv.url, { requestTimeoutMs: 600_000 });
    const err = await noUnhandled(() => runExport({ ...q, query: { ...q.query, output: { path: path.join(blocker, 'tickets.jsonl'), format: 'jsonl' } } }).then(() => null, (e: unknown) => e));
    assert.ok(err instanceof ExportError && err.code === 'io', String(err));
    await until('the request fetched ahead to be aborted (or never sent)', () => srv!.requests.length === 1 || closed);
  });

  it('a 504 on the page fetched ahead still halves per_page for it and the rest of the stream', async () => {
    let failed = false;
    const sizes: string[] = [];
    srv = await serve(cursorServer(2, (i, req, res) => {
      sizes.push(new URL(req.url ?? '/', 'http://x').searchParams.get('per_page') ?? '');
      if (i !== 1 || failed) return false;
      failed = true;
      res.writeHead(504, { 'content-type': 'text/html', ...FAMILY });
      res.end('<html>Gateway Timeout</html>');
      return true;
    }));
    const result = await runExport(request(srv.url, {}, 40));
    assert.equal(result.caughtUp, true);
    assert.deepEqual(sizes, ['40', '40', '20', '20']);
    assert.equal(result.checkpoint.perPage, 20);
  });

  it("checkpoints each page's own boundary keys, not those of the page fetched ahead", async () => {
    // Time-based: page 1 ends on second 5, page 2 (fetched ahead) moves the boundary to second 9.
    srv = await serve((req, res) => {
      const start = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('start_time'));
      const body = start < 5
        ? { tickets: [{ id: 1, generated_timestamp: 5 }, { id: 2, generated_timestamp: 5 }], end_time: 5, end_of_stream: false }
        : start < 9
          ? { tickets: [{ id: 2, generated_timestamp: 5 }, { id: 3, generated_timestamp: 9 }], end_time: 9, end_of_stream: false }
          : { tickets: [], end_time: 9, end_of_stream: true };
      res.writeHead(200, { 'content-type': 'application/json', ...FAMILY });
      res.end(JSON.stringify(body));
    });
    const ac = new AbortController();
    const q = request(srv.url, { signal: ac.signal, onPage: () => ac.abort() });
    const err = await runExport({ ...q, query: { ...q.query, endpointId: 'tickets' } }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ExportError && err.code === 'cancelled', String(err));
    const cp = JSON.parse(await fs.readFile(q.checkpointPath!, 'utf8')) as { lastRecordTime: number; boundaryKeys: string[] };
    assert.equal(cp.lastRecordTime, 5);
    assert.deepEqual(cp.boundaryKeys.sort(), ['1@5', '2@5']);
    const resumed = await runExport({ ...q, signal: undefined, onPage: undefined, query: { ...q.query, endpointId: 'tickets' } });
    assert.equal(resumed.caughtUp, true);
    const ids = (await fs.readFile(q.query.output.path, 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
    assert.deepEqual(ids, [1, 2, 3], 'the repeat of ticket 2 was dropped after the resume');
  });
});
