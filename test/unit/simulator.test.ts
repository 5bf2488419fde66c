// The simulator over real HTTP: both pagination models as recorded from real Zendesk, the oracle,
// filters, validation errors, auth, mutations, determinism and the cost of a million tickets.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_BUDGETS, ENDPOINTS, HIGH_VOLUME_BUDGETS } from '../../src/engine/zendesk';
import { DOCUMENTED_BUDGETS, DOCUMENTED_HIGH_VOLUME_BUDGETS, SPAN_SECONDS, startSimulator, decodeExportCursor } from '../../src/simulator/index';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index';
import { readRecordings } from '../support/recordings';

/** A fixed data clock (2026-06-15T12:00:00Z) where a test compares bytes between simulators. */
const FIXED_CLOCK = (): number => Date.UTC(2026, 5, 15, 12);

type Json = Record<string, unknown>;
interface Got { status: number; body: Json; text: string; headers: Headers }

function basic(email: string, token: string): string {
  return `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`;
}

function client(sim: RunningSimulator, authorization = basic(sim.credentials.admin.email, sim.credentials.admin.token)) {
  return async (pathOrUrl: string, auth: string | null = authorization): Promise<Got> => {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : sim.url + pathOrUrl;
    const res = await fetch(url, { headers: auth ? { authorization: auth } : {} });
    const text = await res.text();
    let body: Json = {};
    try { body = JSON.parse(text) as Json; } catch { /* non-JSON bodies are checked through `text` */ }
    return { status: res.status, body, text, headers: res.headers };
  };
}

type Rec = { id: number; generated_timestamp?: number; updated_at?: string; timestamp?: number; time?: string; status?: string; support_type?: string };
const tsOf = (r: Rec): number => r.generated_timestamp ?? r.timestamp ?? Date.parse((r.updated_at ?? r.time) as string) / 1000;
const key = (r: { id: number | string; ts: number }): string => `${r.id}@${r.ts}`;

/** Follows a time-based export to end_of_stream; returns every page. */
async function walkTime(get: ReturnType<typeof client>, first: string, wrapper: string, maxPages = 500): Promise<{ recs: Rec[]; body: Json; url: string }[]> {
  const pages: { recs: Rec[]; body: Json; url: string }[] = [];
  let url = first;
  for (let i = 0; i < maxPages; i++) {
    const r = await get(url);
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    pages.push({ recs: r.body[wrapper] as Rec[], body: r.body, url });
    if (r.body.end_of_stream === true) return pages;
    url = r.body.next_page as string;
  }
  throw new Error('time-based export did not reach end_of_stream');
}

async function walkCursor(get: ReturnType<typeof client>, first: string, wrapper: string, maxPages = 5000): Promise<{ recs: Rec[]; body: Json }[]> {
  const pages: { recs: Rec[]; body: Json }[] = [];
  let url = first;
  for (let i = 0; i < maxPages; i++) {
    const r = await get(url);
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    pages.push({ recs: r.body[wrapper] as Rec[], body: r.body });
    if (r.body.end_of_stream === true) return pages;
    url = r.body.after_url as string;
  }
  throw new Error('cursor export did not reach end_of_stream');
}

/**
 * The pagination rules the 2023 recordings show, checked on one response (api-behaviour.md §3-4):
 * time-based pages never split a second below 1000 (end_time = max + 1) and stop at 1000 with
 * end_time = max; cursor pages are exact and their cursor is the last (ts, id); follow-up links keep
 * the request's parameters in Zendesk's order. The host is not compared (the cassettes mix two).
 */
function recordedRuleViolations(requestUrl: string, body: Json): string[] {
  const bad: string[] = [];
  const req = new URL(requestUrl);
  const cursor = req.pathname.includes('/cursor');
  const wrapper = req.pathname.includes('/users') ? 'users' : 'tickets';
  const perPage = Number(req.searchParams.get('per_page') ?? 1000);
  const recs = body[wrapper] as Rec[];
  const ts = recs.map(tsOf);
  const max = Math.max(...ts);
  const params = (u: URL) => [...u.searchParams].map(([k, v]) => `${k}=${v}`);
  const expectKeys = cursor ? [wrapper, 'after_cursor', 'after_url', 'before_cursor', 'before_url', 'end_of_stream'] : [wrapper, 'count', 'end_of_stream', 'end_time', 'next_page'];
  if (Object.keys(body).sort().join() !== expectKeys.sort().join()) bad.push(`envelope ${Object.keys(body).join()}`);
  if (ts.some((t, i) => i > 0 && t < ts[i - 1])) bad.push('not sorted by time');
  if (cursor) {
    if (!body.end_of_stream && recs.length !== perPage) bad.push(`cursor page of ${recs.length}, per_page ${perPage}`);
    const last = recs[recs.length - 1];
    if (last && Buffer.from(body.after_cursor as string, 'base64').toString() !== `${tsOf(last)}.0||${last.id}|`) bad.push('after_cursor is not the last (ts, id)');
    const next = new URL(body.after_url as string);
    const want = [`cursor=${String(body.after_cursor)}`, ...params(req).filter((p) => !p.startsWith('start_time=') && !p.startsWith('cursor='))];
    if (next.pathname !== req.pathname || params(next).join('&') !== want.join('&')) bad.push(`after_url ${next.pathname}?${params(next).join('&')}`);
    if (body.before_cursor !== null || body.before_url !== null) bad.push('before_* not null');
    return bad;
  }
  if (body.count !== recs.length) bad.push('count is not the page size');
  if (!body.end_of_stream) {
    if (perPage < 1000) {
      if (recs.length < perPage || body.end_time !== max + 1) bad.push(`small page: ${recs.length} records, end_time ${String(body.end_time)} for max ${max}`);
      if (ts.slice(perPage - 1).some((t) => t !== max)) bad.push('a second other than the last overflows');
    } else if (recs.length !== 1000 || body.end_time !== max) {
      bad.push(`full page: ${recs.length} records, end_time ${String(body.end_time)} for max ${max}`);
    }
  }
  const next = new URL(body.next_page as string);
  const want = [...params(req).filter((p) => !p.startsWith('start_time=')), `start_time=${String(body.end_time)}`];
  if (next.pathname !== req.pathname || params(next).join('&') !== want.join('&')) bad.push(`next_page ${next.pathname}?${params(next).join('&')}`);
  return bad;
}

describe('simulator', function () {
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

  describe('time-based pagination (as recorded: tickets.json?per_page=1 gave pages of 7, 6, 10…)', () => {
    it('never splits a second with a small per_page: pages overflow and end_time = max_ts + 1', async () => {
      const sim = await start({ seed: 3, counts: { tickets: 800 } });
      const get = client(sim);
      const pages = await walkTime(get, '/api/v2/incremental/tickets.json?per_page=5&start_time=0', 'tickets');
      let overflowed = 0;
      for (let p = 0; p < pages.length; p++) {
        const { recs, body } = pages[p];
        assert.equal(body.count, recs.length);
        if (body.end_of_stream) continue;
        const max = Math.max(...recs.map(tsOf));
        assert.equal(body.end_time, max + 1, 'end_time skips the finished second');
        if (recs.length > 5) {
          overflowed++;
          assert.ok(recs.slice(4).every((r) => tsOf(r) === max), 'only the last second overflows');
        }
        const next = pages[p + 1].recs;
        if (next.length) assert.ok(tsOf(next[0]) >= (body.end_time as number), 'the next page starts after the page');
      }
      assert.ok(overflowed > 3, `bursts bigger than per_page must exist (saw ${overflowed})`);
      const got = pages.flatMap((p) => p.recs).map((r) => key({ id: r.id, ts: tsOf(r) }));
      assert.equal(new Set(got).size, got.length, 'small pages never repeat a record');
      assert.deepEqual(got, sim.expected('tickets').map(key));
    });

    it('keeps a full default page at 1000 with end_time = max_ts, so the boundary second repeats', async () => {
      const sim = await start({ seed: 11, counts: { tickets: 6000 } });
      const get = client(sim);
      const pages = await walkTime(get, '/api/v2/incremental/tickets?start_time=0', 'tickets');
      let repeats = 0;
      for (let p = 0; p < pages.length - 1; p++) {
        const { recs, body } = pages[p];
        const max = Math.max(...recs.map(tsOf));
        assert.equal(recs.length, 1000);
        assert.equal(body.end_time, max, 'a full page ends at its last second, not after it');
        assert.equal(body.next_page, `${sim.url}/api/v2/incremental/tickets?start_time=${max}`);
        const again = pages[p + 1].recs.filter((r) => recs.some((x) => x.id === r.id && tsOf(x) === tsOf(r)));
        assert.ok(again.every((r) => tsOf(r) === max));
        repeats += again.length;
      }
      assert.ok(repeats > 0, 'at least one boundary second is served twice');
      const unique = [...new Set(pages.flatMap((p) => p.recs).map((r) => key({ id: r.id, ts: tsOf(r) })))];
      assert.deepEqual(unique, sim.expected('tickets').map(key));
    });

    it('ends with end_of_stream while still giving end_time and next_page, and keeps .json and per_page', async () => {
      const sim = await start({ counts: { users: 120 } });
      const get = client(sim);
      const pages = await walkTime(get, '/api/v2/incremental/users.json?start_time=0&per_page=50', 'users');
      const last = pages[pages.length - 1];
      assert.equal(last.body.end_of_stream, true);
      const max = Math.max(...last.recs.map(tsOf));
      assert.equal(last.body.end_time, max, 'the tail second is re-read by the next poll');
      assert.equal(last.body.next_page, `${sim.url}/api/v2/incremental/users.json?per_page=50&start_time=${max}`);
      const ids = [...new Set(pages.flatMap((p) => p.recs).map((r) => key({ id: r.id, ts: tsOf(r) })))];
      assert.deepEqual(ids, sim.expected('users').map(key));
      // An empty page (start after the data) still carries the position.
      const empty = await get(`/api/v2/incremental/users?start_time=${sim.nowSeconds() - 120}`);
      assert.deepEqual([empty.body.count, empty.body.end_of_stream, empty.body.end_time], [0, true, sim.nowSeconds() - 120]);
    });

    it('serves organizations, ticket_events and ticket_metric_events time-based, matching the oracle', async () => {
      const sim = await start({ counts: { organizations: 300, ticketEvents: 900, metricEvents: 900 } });
      const get = client(sim);
      for (const [path, wrapper, id] of [
        ['/api/v2/incremental/organizations.json?start_time=0&per_page=100', 'organizations', 'organizations'],
        ['/api/v2/incremental/ticket_events?start_time=0&per_page=200', 'ticket_events', 'ticket_events'],
        ['/api/v2/incremental/ticket_metric_events?start_time=0&per_page=200', 'ticket_metric_events', 'ticket_metric_events'],
      ]) {
        const pages = await walkTime(get, path, wrapper);
        const got = pages.flatMap((p) => p.recs).map((r) => key({ id: r.id, ts: tsOf(r) }));
        assert.deepEqual(got, sim.expected(id).map(key), path);
      }
    });
  });

  describe('the recorded traffic', () => {
    it('follows the rules of every recorded page, for every recorded request form', async () => {
      const recorded = readRecordings();
      // The rules hold on the real pages (the checker is not wishful) ...
      for (const { uri, body } of recorded) assert.deepEqual(recordedRuleViolations(uri, body), [], `recorded ${uri}`);
      const sim = await start({ seed: 5, counts: { tickets: 3000, users: 2500 } });
      const get = client(sim);
      // ... and on the simulator's, for each form the recordings requested, several pages deep.
      const forms = [...new Set(recorded.map(({ uri }) => { const u = new URL(uri); u.searchParams.delete('cursor'); return u.pathname + u.search; }))]
        .filter((f) => f.includes('start_time=0'));
      assert.equal(forms.length, 8, forms.join(' '));
      for (const form of forms) {
        let url = sim.url + form;
        for (let page = 0; page < 12; page++) {
          const r = await get(url);
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(recordedRuleViolations(url, r.body), [], `simulator ${url}`);
          if (r.body.end_of_stream === true) break;
          url = (r.body.next_page ?? r.body.after_url) as string;
        }
      }
    });
  });

  describe('cursor pagination (as recorded: exact per_page, cursor = base64("<ts>.0||<id>|"))', () => {
    it('gives exactly per_page records, even inside a burst, with the recorded cursor encoding', async () => {
      const sim = await start({ seed: 5, counts: { tickets: 200 } });
      const get = client(sim);
      const first = await get('/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1');
      const t = (first.body.tickets as Rec[])[0];
      const cursor = first.body.after_cursor as string;
      assert.equal(Buffer.from(cursor, 'base64').toString(), `${t.generated_timestamp}.0||${t.id}|`);
      assert.deepEqual(decodeExportCursor(cursor), { ts: t.generated_timestamp, id: t.id });
      assert.equal(first.body.after_url, `${sim.url}/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(cursor)}&per_page=1`);
      assert.match(first.body.after_url as string, /%3D/);
      assert.equal(first.body.before_cursor, null);
      assert.equal(first.body.before_url, null);
      assert.equal(first.body.end_of_stream, false);
      const pages = await walkCursor(get, '/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1', 'tickets', 1000);
      assert.ok(pages.slice(0, -1).every((p) => p.recs.length === 1));
      const got = pages.flatMap((p) => p.recs).map((r) => key({ id: r.id, ts: tsOf(r) }));
      assert.deepEqual(got, sim.expected('tickets/cursor').map(key));
      const last = pages[pages.length - 1].body;
      assert.equal(last.end_of_stream, true);
      assert.equal(typeof last.after_cursor, 'string', 'the caught-up cursor is the checkpoint for the next poll');
    });

    it('exports users/cursor with large ids intact and matches the oracle', async () => {
      const sim = await start({ counts: { users: 700 } });
      const get = client(sim);
      const pages = await walkCursor(get, '/api/v2/incremental/users/cursor?start_time=0&per_page=250', 'users');
      assert.deepEqual(pages.map((p) => p.recs.length), [250, 250, 200]);
      const users = pages.flatMap((p) => p.recs);
      assert.ok(users.every((u) => u.id > 2 ** 32 && Number.isSafeInteger(u.id)));
      assert.deepEqual(users.map((r) => key({ id: r.id, ts: tsOf(r) })), sim.expected('users/cursor').map(key));
      const again = await get(pages[pages.length - 1].body.after_url as string);
      assert.deepEqual([again.body.users, again.body.end_of_stream], [[], true]);
      assert.equal(again.body.after_cursor, pages[pages.length - 1].body.after_cursor, 'an empty page keeps the position');
    });

    it('pages ticket_metric_events with page[size] as standard cursor pagination', async () => {
      const sim = await start({ counts: { metricEvents: 450 } });
      const get = client(sim);
      let url = '/api/v2/incremental/ticket_metric_events?start_time=0&page[size]=100';
      const got: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await get(url);
        assert.equal(r.status, 200, r.text);
        const recs = r.body.ticket_metric_events as Rec[];
        assert.ok(recs.length <= 100);
        got.push(...recs.map((x) => key({ id: x.id, ts: tsOf(x) })));
        const meta = r.body.meta as { has_more: boolean; after_cursor: string };
        if (!meta.has_more) break;
        url = (r.body.links as { next: string }).next;
        assert.ok(url.includes('page%5Bafter%5D=') && url.includes('page%5Bsize%5D=100'));
      }
      assert.deepEqual(got, sim.expected('ticket_metric_events/cursor').map(key));
      assert.equal((await get('/api/v2/incremental/ticket_metric_events?start_time=0&page[size]=101')).status, 400);
      const withDeleted = sim.expected('ticket_metric_events/cursor').length;
      const without = sim.expected('ticket_metric_events/cursor', { excludeDeleted: true }).length;
      assert.ok(without < withDeleted, 'some metric events belong to deleted tickets');
      const r = await get('/api/v2/incremental/ticket_metric_events?start_time=0&page[size]=100&exclude_deleted=true');
      assert.ok((r.body.ticket_metric_events as { deleted: boolean }[]).every((e) => e.deleted === false));
    });
  });

  describe('routing and sample endpoints', () => {
    it('pages routing exports by opaque cursor, up to 3000 per page, until count == 0', async () => {
      const sim = await start({ counts: { routingInstanceValues: 7000 } });
      const get = client(sim);
      let url = '/api/v2/incremental/routing/instance_values';
      const sizes: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await get(url);
        assert.equal(r.status, 200);
        sizes.push(r.body.count as number);
        ids.push(...(r.body.instance_values as { id: string }[]).map((x) => x.id));
        if (r.body.count === 0) break;
        url = r.body.next_page as string;
        assert.match(url, /\?cursor=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      }
      assert.deepEqual(sizes, [3000, 3000, 1000, 0]);
      assert.deepEqual(ids, sim.expected('routing_instance_values').map((e) => e.id));
      assert.equal((await get('/api/v2/incremental/routing/attributes?cursor=00000000-0000-4000-8000-000000000000')).status, 400);
      for (const [p, k] of [['attributes', 'attributes'], ['attribute_values', 'attribute_values']]) {
        const r = await get(`/api/v2/incremental/routing/${p}.json`);
        assert.ok((r.body[k] as unknown[]).length > 0 && typeof r.body.end_time === 'number');
      }
    });

    it('serves at most 50 records from each sample endpoint', async () => {
      const sim = await start({ seed: 3, counts: { tickets: 300, users: 300, organizations: 300, ticketEvents: 300 } });
      const get = client(sim);
      for (const [res, wrapper] of [['tickets', 'tickets'], ['ticket_events', 'ticket_events'], ['users', 'users'], ['organizations', 'organizations']]) {
        const r = await get(`/api/v2/incremental/${res}/sample.json?start_time=0`);
        assert.equal(r.status, 200);
        assert.equal((r.body[wrapper] as unknown[]).length, 50, res);
        assert.equal(r.body.count, 50);
        assert.deepEqual((r.body[wrapper] as Rec[]).map((x) => x.id), sim.expected(`${res}/sample`).map((e) => e.id));
      }
      // Samples filter like the full export: ai_agent tickets only with support_type_scope.
      const all = sim.expected('tickets', { supportTypeScope: 'all' }).slice(0, 50);
      assert.notDeepEqual(all, sim.expected('tickets').slice(0, 50), 'precondition: an ai_agent ticket among the first 50');
      assert.deepEqual(sim.expected('tickets/sample'), sim.expected('tickets').slice(0, 50));
      assert.deepEqual(sim.expected('tickets/sample', { supportTypeScope: 'all' }), all);
      const scoped = await get('/api/v2/incremental/tickets/sample?start_time=0&support_type_scope=all');
      assert.deepEqual((scoped.body.tickets as Rec[]).map((x) => x.id), all.map((e) => e.id));
    });
  });

  describe('records and parameters', () => {
    it('hides ai_agent tickets unless support_type_scope asks, and drops tombstones with exclude_deleted', async () => {
      const sim = await start({ seed: 9, counts: { tickets: 2000 } });
      const get = client(sim);
      const fetchAll = async (q: string): Promise<Rec[]> =>
        (await walkCursor(get, `/api/v2/incremental/tickets/cursor?start_time=0&per_page=1000${q}`, 'tickets')).flatMap((p) => p.recs);
      const agent = await fetchAll('');
      const all = await fetchAll('&support_type_scope=all');
      const ai = await fetchAll('&support_type_scope=ai_agent');
      const live = await fetchAll('&exclude_deleted=true');
      assert.ok(agent.every((t) => t.support_type === 'agent'));
      assert.ok(ai.length > 0 && ai.every((t) => t.support_type === 'ai_agent'));
      assert.equal(all.length, agent.length + ai.length);
      assert.ok(agent.some((t) => t.status === 'deleted'), 'deleted tickets are in the stream by default');
      assert.ok(live.length < agent.length && live.every((t) => t.status !== 'deleted'));
      assert.deepEqual(all.map((t) => t.id), sim.expected('tickets/cursor', { supportTypeScope: 'all' }).map((e) => e.id));
      assert.deepEqual(live.map((t) => t.id), sim.expected('tickets/cursor', { excludeDeleted: true }).map((e) => e.id));
      assert.deepEqual(ai.map((t) => t.id), sim.expected('tickets', { supportTypeScope: 'ai_agent' }).map((e) => e.id));
    });

    it('generates complete ticket records that point at generated users and organizations', async () => {
      const sim = await start({ counts: { tickets: 200 } });
      const get = client(sim);
      const r = await get('/api/v2/incremental/tickets?start_time=0&per_page=100&include=users,organizations,groups');
      const tickets = r.body.tickets as Json[];
      const t = tickets[0];
      for (const field of ['id', 'subject', 'description', 'status', 'priority', 'tags', 'via', 'custom_fields', 'fields', 'satisfaction_rating', 'requester_id', 'assignee_id', 'organization_id', 'created_at', 'updated_at', 'generated_timestamp']) {
        assert.ok(field in t, `ticket has ${field}`);
      }
      assert.deepEqual(t.fields, t.custom_fields);
      assert.ok((t.id as number) > 2 ** 32 && (t.id as number) < 2 ** 53);
      const users = new Set((r.body.users as Json[]).map((u) => u.id));
      assert.ok(tickets.every((x) => users.has(x.requester_id)), 'every requester is sideloaded');
      const orgs = new Set((r.body.organizations as Json[]).map((o) => o.id));
      assert.ok(tickets.every((x) => x.organization_id === null || orgs.has(x.organization_id)));
      assert.ok(Array.isArray(r.body.groups));
      const lagging = tickets.filter((x) => Date.parse(x.updated_at as string) / 1000 < (x.generated_timestamp as number));
      assert.ok(lagging.length > 0, 'system updates bump generated_timestamp only');
      const deletedUsers = (await get('/api/v2/incremental/users?start_time=0')).body.users as Json[];
      assert.ok(deletedUsers.some((u) => u.active === false), 'deleted users come back with active: false');
    });

    it('adds full Comment children to ticket events only with include=comment_events', async () => {
      const sim = await start({ counts: { ticketEvents: 200 } });
      const get = client(sim);
      const plain = (await get('/api/v2/incremental/ticket_events?start_time=0')).body.ticket_events as Json[];
      const rich = (await get('/api/v2/incremental/ticket_events?start_time=0&include=comment_events')).body.ticket_events as Json[];
      assert.ok(plain.every((e) => e.event_type === 'Audit'));
      const kinds = (events: Json[]) => events.flatMap((e) => (e.child_events as Json[]).map((c) => c.event_type));
      assert.ok(!kinds(plain).includes('Comment'));
      const comments = rich.flatMap((e) => (e.child_events as Json[]).filter((c) => c.event_type === 'Comment'));
      assert.ok(comments.length > 0);
      for (const c of comments) {
        assert.deepEqual(Object.keys(c).sort(), ['attachments', 'audit_id', 'author_id', 'body', 'created_at', 'event_type', 'html_body', 'id', 'public', 'type', 'via']);
      }
    });

    it('rejects bad parameters the way Zendesk does', async () => {
      const sim = await start();
      const get = client(sim);
      const now = sim.nowSeconds();
      const cases: [string, number][] = [
        ['/api/v2/incremental/tickets.json', 400],
        ['/api/v2/incremental/tickets/cursor', 400],
        ['/api/v2/incremental/tickets?start_time=abc', 400],
        [`/api/v2/incremental/tickets?start_time=${now + 3600}`, 400],
        ['/api/v2/incremental/tickets?start_time=0&per_page=0', 400],
        ['/api/v2/incremental/tickets?start_time=0&per_page=1001', 400],
        ['/api/v2/incremental/tickets/cursor?start_time=0&cursor=MTcwNDA3MTA3OC4wfHw1MDAwMDAwMDA4fA%3D%3D', 400],
        ['/api/v2/incremental/tickets?start_time=0&include=last_audits', 400],
        ['/api/v2/incremental/requests?start_time=0', 404],
        ['/api/v2/incremental/tickets/cursor.json?cursor=bm90LWEtY3Vyc29y', 400],
      ];
      for (const [path, status] of cases) assert.equal((await get(path)).status, status, path);
      const bad = await get('/api/v2/incremental/tickets/cursor?cursor=%%%');
      assert.deepEqual(bad.body, { errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] });
      const recent = await get(`/api/v2/incremental/tickets?start_time=${now - 10}`);
      assert.equal(recent.status, 422);
      assert.deepEqual(recent.body, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });
      const sim2 = await start({ errorShape: 'errors' });
      const recent2 = await client(sim2)(`/api/v2/incremental/tickets/cursor?start_time=${sim2.nowSeconds() - 5}`);
      assert.equal(recent2.status, 400);
      assert.equal((recent2.body.errors as Json[])[0].code, 'StartTimeTooRecent');
    });
  });

  describe('auth', () => {
    it('accepts API tokens and OAuth bearer tokens, refuses the rest with 401, and forbids agents', async () => {
      const sim = await start();
      const get = client(sim);
      const path = '/api/v2/incremental/tickets?start_time=0&per_page=1';
      assert.equal((await get(path)).status, 200);
      assert.equal((await get(path, `Bearer ${sim.credentials.admin.oauthToken}`)).status, 200);
      for (const auth of [null, 'Bearer nope', basic('admin@example.com', 'wrong'), `Basic ${Buffer.from('admin@example.com:password').toString('base64')}`]) {
        const r = await get(path, auth);
        assert.equal(r.status, 401, String(auth));
        assert.deepEqual(r.body, { error: "Couldn't authenticate you" });
      }
      const agent = basic(sim.credentials.agent.email, sim.credentials.agent.token);
      const forbidden = await get(path, agent);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error, 'Forbidden');
      const me = await get('/api/v2/users/me.json', agent);
      assert.equal(me.status, 200);
      assert.deepEqual({ ...(me.body.user as Json), id: 0 }, { ...(me.body.user as Json), id: 0, email: 'agent@example.com', role: 'agent' });
      const adminMe = await get('/api/v2/users/me');
      assert.equal((adminMe.body.user as Json).role, 'admin');
      assert.deepEqual(sim.stats().authorizationSentTo, [new URL(sim.url).host]);
    });
  });

  describe('moving target', () => {
    it('shows new and updated tickets only after the freshness minute, at their new position', async () => {
      const sim = await start({ seed: 21, counts: { tickets: 500 } });
      const get = client(sim);
      const pages = await walkCursor(get, '/api/v2/incremental/tickets/cursor?start_time=0', 'tickets');
      const checkpoint = pages[pages.length - 1].body.after_cursor as string;
      const before = sim.expected('tickets/cursor', { supportTypeScope: 'all' });
      const change = sim.mutate({ newTickets: 3, updatedTickets: 4 });
      assert.deepEqual([change.newIds.length, change.updatedIds.length], [3, 4]);
      // Not served yet: the last minute is never returned.
      const early = await get(`/api/v2/incremental/tickets/cursor?cursor=${encodeURIComponent(checkpoint)}&support_type_scope=all`);
      assert.deepEqual([early.body.tickets, early.body.end_of_stream], [[], true]);
      assert.deepEqual(sim.expected('tickets/cursor', { supportTypeScope: 'all' }).length, before.length - 4);
      sim.advanceClock(61);
      const late = await get(`/api/v2/incremental/tickets/cursor?cursor=${encodeURIComponent(checkpoint)}&support_type_scope=all`);
      const fresh = late.body.tickets as Rec[];
      assert.equal(fresh.length, 7);
      assert.equal(late.body.end_of_stream, true);
      assert.ok(fresh.every((t) => t.generated_timestamp === change.ts));
      assert.deepEqual(new Set(fresh.map((t) => t.id)), new Set([...change.newIds, ...change.updatedIds]));
      const after = sim.expected('tickets/cursor', { supportTypeScope: 'all' });
      assert.equal(after.length, before.length + 3);
      assert.deepEqual(after.slice(-7).map((e) => e.id), fresh.map((t) => t.id));
      const updatedIds = new Set(fresh.map((t) => t.id).filter((id) => before.some((e) => e.id === id)));
      assert.equal(updatedIds.size, 4);
      // A full export serves current state only: the old versions are gone.
      const full = (await walkCursor(get, '/api/v2/incremental/tickets/cursor?start_time=0&support_type_scope=all', 'tickets')).flatMap((p) => p.recs);
      assert.equal(full.filter((t) => updatedIds.has(t.id)).length, 4);
      assert.deepEqual(full.map((t) => key({ id: t.id, ts: tsOf(t) })), after.map(key));
    });
  });

  describe('bulk updates (more than 1000 records in one second)', () => {
    it('overflows even a full 1000 page when it is all one second, so time-based exports still advance', async () => {
      const sim = await start({ seed: 2, counts: { tickets: 2000 } });
      const get = client(sim);
      const { ts: second, updatedIds } = sim.mutate({ updatedTickets: 1500 });
      assert.equal(new Set(updatedIds).size, 1500);
      sim.advanceClock(61);
      const r = await get(`/api/v2/incremental/tickets?start_time=${second}&support_type_scope=all`);
      const recs = r.body.tickets as Rec[];
      assert.equal(recs.length, 1500, 'the whole second in one page');
      assert.ok(recs.every((t) => t.generated_timestamp === second));
      assert.deepEqual([r.body.end_time, r.body.end_of_stream], [second + 1, true], 'overflowed pages skip the finished second');
      const small = await get(`/api/v2/incremental/tickets?start_time=${second}&per_page=100&support_type_scope=all`);
      assert.equal((small.body.tickets as Rec[]).length, 1500);
      sim.setFaults([{ kind: 'legacyStuckTimestamp' }]);
      const stuck = await get(`/api/v2/incremental/tickets?start_time=${second}&support_type_scope=all`);
      assert.deepEqual([(stuck.body.tickets as Rec[]).length, stuck.body.end_time, stuck.body.end_of_stream], [1000, second, false]);
      const cursor = await walkCursor(get, `/api/v2/incremental/tickets/cursor?start_time=${second}&support_type_scope=all`, 'tickets');
      assert.deepEqual(cursor.map((p) => p.recs.length), [1000, 500], 'the cursor form pages through it exactly');
    });
  });

  describe('determinism and scale', () => {
    it('serves the same bytes for the same seed and clock (modulo its own origin), different data for another seed', async () => {
      const a = await start({ seed: 42, counts: { tickets: 300 }, now: FIXED_CLOCK });
      const b = await start({ seed: 42, counts: { tickets: 300 }, now: FIXED_CLOCK });
      const c = await start({ seed: 43, counts: { tickets: 300 }, now: FIXED_CLOCK });
      const path = '/api/v2/incremental/tickets.json?start_time=0&per_page=100&include=users,groups';
      const norm = async (sim: RunningSimulator): Promise<string> => (await client(sim)(path)).text.split(sim.url).join('ORIGIN');
      const [ta, tb, tc] = await Promise.all([norm(a), norm(b), norm(c)]);
      assert.equal(ta, tb);
      assert.notEqual(ta, tc);
    });

    it('starts a million-ticket account without building it, in little memory, and pages from anywhere in it', async () => {
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const sim = await start({ counts: { tickets: 1_000_000 } });
      // Nothing is generated up front (a million tickets built would take hundreds of MB): what it
      // allocates to start, not how long that takes on this machine, is the measure.
      const atStart = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
      assert.ok(atStart < 30, `starting allocated ${atStart.toFixed(1)} MB`);
      const get = client(sim);
      const middle = sim.historyStart + SPAN_SECONDS / 2;
      const mid = await get(`/api/v2/incremental/tickets/cursor?start_time=${middle}&per_page=1000`);
      assert.equal((mid.body.tickets as Rec[]).length, 1000);
      assert.ok((mid.body.tickets as Rec[])[0].generated_timestamp! >= middle);
      const tail = await get(`/api/v2/incremental/tickets?start_time=${sim.nowSeconds() - 86_400}`);
      assert.equal(tail.status, 200);
      assert.ok((tail.body.tickets as Rec[]).length > 0, 'a million tickets reach up to the present');
      const grown = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
      assert.ok(grown < 60, `heap grew by ${grown.toFixed(1)} MB`);
      const recs = mid.body.tickets as Rec[];
      assert.ok(recs.every((t, i) => i === 0 || tsOf(t) > tsOf(recs[i - 1]) || (tsOf(t) === tsOf(recs[i - 1]) && t.id > recs[i - 1].id)), 'ordered by (ts, id)');
    });
  });

  describe('the other side of the wire', () => {
    it('imports nothing from src/engine: budgets, routes and ids are its own', () => {
      const dir = path.resolve(__dirname, '../../src/simulator');
      const offenders = readdirSync(dir).filter((f) => f.endsWith('.ts'))
        .filter((f) => /from '\.\.\/engine|import\('\.\.\/engine|require\('\.\.\/engine/.test(readFileSync(path.join(dir, f), 'utf8')));
      assert.deepEqual(offenders, []);
    });

    it('serves every endpoint form of the engine catalogue with its wrapper key and rate-limit family, and the oracle knows its id', async () => {
      const sim = await start({ rateLimits: {}, counts: { tickets: 50, users: 50, organizations: 20, ticketEvents: 50, metricEvents: 50, routingAttributes: 5, routingAttributeValues: 5, routingInstanceValues: 5 } });
      const get = client(sim);
      const familyHeader = { incremental: 'zendesk-ratelimit-incremental-exports', usersCursor: 'zendesk-ratelimit-incremental-exports-cursor', sample: 'zendesk-ratelimit-incremental-exports-sample' };
      for (const e of ENDPOINTS) {
        const query = e.model === 'routing' ? '' : e.model === 'metricCursor' ? '?start_time=0&page[size]=10' : '?start_time=0';
        const r = await get(`${e.path}${query}`);
        assert.equal(r.status, 200, `${e.id}: ${r.text}`);
        assert.ok(Array.isArray(r.body[e.wrapperKey]), `${e.id}: wrapper ${e.wrapperKey}`);
        assert.match(r.headers.get(familyHeader[e.family]) ?? '', /^total=/, `${e.id}: family ${e.family}`);
        assert.ok(sim.expected(e.id).length > 0, `${e.id}: the oracle answers`);
      }
      assert.throws(() => sim.expected('requests'), /Unknown endpoint id requests/);
    });

    it('enforces the documented budgets, which the engine catalogue must agree with', () => {
      assert.deepEqual(DOCUMENTED_BUDGETS, { incremental: { requests: 10, windowSeconds: 60 }, usersCursor: { requests: 20, windowSeconds: 60 }, sample: { requests: 10, windowSeconds: 1200 } });
      assert.deepEqual(DEFAULT_BUDGETS, DOCUMENTED_BUDGETS);
      assert.deepEqual(HIGH_VOLUME_BUDGETS, DOCUMENTED_HIGH_VOLUME_BUDGETS);
    });
  });
});
