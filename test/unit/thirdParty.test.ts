// A third-party Zendesk client (node-zendesk v6) pointed at the simulator: if an independent
// implementation of the API reads the same records the oracle promises, the simulator speaks Zendesk.
import assert from 'node:assert/strict';
import { createClient } from 'node-zendesk';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/index';

type Rec = { id: number; generated_timestamp?: number; updated_at?: string };

describe('node-zendesk against the simulator', function () {
  this.timeout(60_000);
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ seed: 12, rateLimits: false, counts: { tickets: 600, users: 400, ticketEvents: 1500 } });
  });
  after(async () => {
    await sim.close();
  });

  function apiTokenClient() {
    return createClient({ username: sim.credentials.admin.email, token: sim.credentials.admin.token, endpointUri: `${sim.url}/api/v2` });
  }

  it('reads the incremental ticket and user exports with API-token auth, matching the oracle', async () => {
    const client = apiTokenClient();
    const tickets = (await client.tickets.incremental('0')) as unknown as Rec[];
    assert.ok(tickets.length > 500);
    assert.deepEqual(tickets.map((t) => [t.id, t.generated_timestamp]), sim.expected('tickets').map((e) => [e.id, e.ts]));
    const users = (await client.users.incremental(0)) as unknown as Rec[];
    assert.deepEqual(users.map((u) => u.id), sim.expected('users').map((e) => e.id));
    const log = sim.stats().requestLog;
    assert.ok(log.some((r) => r.url === '/api/v2/incremental/tickets.json?start_time=0'), 'node-zendesk uses the .json form');
  });

  it('authenticates with an OAuth bearer token and reads users/me', async () => {
    const client = createClient({ token: sim.credentials.admin.oauthToken, useOAuth: true, endpointUri: `${sim.url}/api/v2` });
    const me = (await client.users.me()) as unknown as { result: { email: string; role: string } };
    assert.equal(me.result.email, sim.credentials.admin.email);
    assert.equal(me.result.role, 'admin');
  });

  it('gets 403 as the agent account', async () => {
    const client = createClient({ username: sim.credentials.agent.email, token: sim.credentials.agent.token, endpointUri: `${sim.url}/api/v2` });
    await assert.rejects(client.tickets.incremental('0'), /403/);
  });

  it('stops after the first page of a time-based export (a node-zendesk limitation the simulator exposes)', async () => {
    // requestAll() only follows an incremental next_page when `response.count >= 1000`, and it
    // reads `count` from the fetch response object instead of the body, so it never follows.
    const events = (await apiTokenClient().ticketevents.incremental(0)) as unknown as Rec[];
    const oracle = sim.expected('ticket_events');
    assert.ok(oracle.length > 1000);
    assert.equal(events.length, 1000);
    assert.deepEqual(events.map((e) => e.id), oracle.slice(0, 1000).map((e) => e.id));
  });
});
