// Every endpoint form and error the simulator serves, validated against the project's OpenAPI
// document (spec/zendesk-incremental.yaml): the simulator must send what the spec says Zendesk sends.
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/index';
import { validateResponse } from '../support/openapi';

const INC = '/api/v2/incremental';
const TICKET_INCLUDES = 'users,groups,organizations,brands,ticket_forms,metric_sets,dates,slas,comment_count,sharing_agreements,incident_counts,metric_events';

describe('simulator responses against the OpenAPI document', function () {
  this.timeout(60_000);
  let sim: RunningSimulator;
  let agentSim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ rateLimits: false, counts: { tickets: 400, users: 300, organizations: 200, ticketEvents: 300, metricEvents: 300 } });
    agentSim = await startSimulator({ rateLimits: false, errorShape: 'errors', counts: { tickets: 50 } });
  });
  after(async () => {
    await Promise.all([sim.close(), agentSim.close()]);
  });

  const admin = (s: RunningSimulator): string => `Basic ${Buffer.from(`${s.credentials.admin.email}/token:${s.credentials.admin.token}`).toString('base64')}`;

  async function check(s: RunningSimulator, path: string, status: number, auth: string | null = admin(s)): Promise<Record<string, unknown>> {
    const res = await fetch(s.url + path, { headers: auth ? { authorization: auth } : {} });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? 'application/json';
    const body: unknown = type.startsWith('application/json') ? JSON.parse(text) : text;
    assert.equal(res.status, status, `${path}: ${text.slice(0, 200)}`);
    assert.deepEqual(validateResponse(path, res.status, body, type), [], path);
    return body as Record<string, unknown>;
  }

  it('validates every 200 form, with every include, in both .json and bare paths', async () => {
    const forms = [
      `${INC}/tickets.json?start_time=0&per_page=50&include=${TICKET_INCLUDES}`,
      `${INC}/tickets?start_time=0&per_page=3&exclude_deleted=true&support_type_scope=all`,
      `${INC}/tickets/cursor.json?start_time=0&per_page=50&include=${TICKET_INCLUDES}`,
      `${INC}/tickets/cursor?start_time=0&support_type_scope=ai_agent`,
      `${INC}/users.json?start_time=0&include=identities,groups,organizations,roles,abilities,open_ticket_count`,
      `${INC}/users/cursor?start_time=0&per_page=100`,
      `${INC}/organizations?start_time=0&include=abilities`,
      `${INC}/ticket_events.json?start_time=0&include=comment_events`,
      `${INC}/ticket_events?start_time=0&support_type_scope=all`,
      `${INC}/ticket_metric_events?start_time=0&include_changes=true`,
      `${INC}/ticket_metric_events.json?start_time=0&page[size]=100&exclude_deleted=true`,
      `${INC}/routing/attributes`,
      `${INC}/routing/attribute_values.json`,
      `${INC}/routing/instance_values`,
      `${INC}/tickets/sample?start_time=0`,
      `${INC}/ticket_events/sample.json?start_time=0`,
      `${INC}/users/sample?start_time=0`,
      `${INC}/organizations/sample?start_time=0`,
      '/api/v2/users/me',
      '/api/v2/users/me.json',
      '/api/v2/ticket_fields',
      '/api/v2/ticket_fields.json?page[size]=3',
      '/api/v2/user_fields?per_page=2',
      '/api/v2/user_fields.json?per_page=2&page=2',
      '/api/v2/organization_fields?page[size]=100',
      '/api/v2/organization_fields.json',
    ];
    for (const path of forms) await check(sim, path, 200);
    // The last page of each cursor/routing walk too (end_of_stream, empty arrays, count 0).
    const done = await check(sim, `${INC}/users/cursor?start_time=${sim.nowSeconds() - 100}`, 200);
    assert.equal(done.end_of_stream, true);
    const routing = await check(sim, `${INC}/routing/attributes`, 200);
    const end = await check(sim, (routing.next_page as string).slice(sim.url.length), 200);
    assert.equal(end.count, 0);
    const metric = await check(sim, `${INC}/ticket_metric_events?start_time=${sim.nowSeconds() - 100}&page[size]=10`, 200);
    assert.deepEqual(metric.meta, { has_more: false, after_cursor: null, before_cursor: null });
    const fields = await check(sim, '/api/v2/user_fields?page[size]=2', 200);
    await check(sim, (fields.links as { next: string }).next.slice(sim.url.length), 200);
  });

  it('validates what the live activity creates: new, updated and deleted records and their events', async () => {
    const T = Date.UTC(2026, 5, 15, 12) / 1000;
    const live = await startSimulator({ rateLimits: false, now: () => T * 1000, live: { changesPerMinute: 30 }, counts: { tickets: 200, users: 100, organizations: 50 } });
    try {
      live.advanceClock(1200);
      const since = `start_time=${T - 61}`;
      for (const path of [
        `${INC}/tickets/cursor?${since}&support_type_scope=all&include=${TICKET_INCLUDES}`,
        `${INC}/users?${since}&include=identities,organizations`,
        `${INC}/organizations?${since}`,
        `${INC}/ticket_events?${since}&include=comment_events`,
        `${INC}/ticket_metric_events?${since}`,
      ]) {
        const body = await check(live, path, 200);
        assert.ok(Object.values(body).some((v) => Array.isArray(v) && v.length > 0), `${path} has live records`);
      }
    } finally {
      await live.close();
    }
  });

  it('validates the error bodies: 400, 401, 403, 404, 422, 429', async () => {
    const now = sim.nowSeconds();
    await check(sim, `${INC}/tickets?per_page=10`, 400);
    await check(sim, `${INC}/tickets?start_time=${now + 100}`, 400);
    await check(sim, `${INC}/tickets?start_time=0&per_page=5000`, 400);
    await check(sim, `${INC}/tickets/cursor?cursor=garbage`, 400);
    await check(sim, `${INC}/tickets/cursor?cursor=x&start_time=0`, 400);
    await check(sim, '/api/v2/ticket_fields?page[size]=500', 400);
    await check(sim, '/api/v2/organization_fields?page[after]=nope!', 400);
    await check(sim, '/api/v2/user_fields', 401, null);
    await check(sim, `${INC}/tickets?start_time=${now - 5}`, 422);
    await check(agentSim, `${INC}/tickets/cursor?start_time=${now - 5}`, 400);
    await check(sim, `${INC}/tickets?start_time=0`, 401, null);
    await check(sim, `${INC}/users?start_time=0`, 401, 'Bearer wrong');
    const agent = `Basic ${Buffer.from(`${sim.credentials.agent.email}/token:${sim.credentials.agent.token}`).toString('base64')}`;
    await check(sim, `${INC}/tickets?start_time=0`, 403, agent);
    sim.setFaults([{ kind: 'noRetryAfter429', times: 1 }]);
    await check(sim, `${INC}/tickets?start_time=0`, 429);
    sim.setFaults([{ kind: 'plainText429', times: 1 }]);
    await check(sim, `${INC}/tickets?start_time=0`, 429);
    sim.setFaults([{ kind: 'empty403', times: 1 }]);
    await check(sim, `${INC}/tickets?start_time=0`, 403);
    sim.setFaults([]);
    const notFound = await fetch(`${sim.url}${INC}/requests?start_time=0`, { headers: { authorization: admin(sim) } });
    assert.equal(notFound.status, 404);
  });

  it('is a real check: a malformed body fails validation', () => {
    assert.notDeepEqual(validateResponse(`${INC}/tickets`, 200, { tickets: 'nope', count: 'x' }), []);
  });
});
