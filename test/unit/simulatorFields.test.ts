// The field lists (ticket_fields, user_fields, organization_fields) over real HTTP: stable ids and
// titles, titles that slug alike, a rename over time, a deleted and an inactive field, records whose
// custom-field values agree with the definitions, both paginations, and the account rate limit.
import assert from 'node:assert/strict';
import { FIELD_RENAME_AFTER_SECONDS, startSimulator } from '../../src/simulator/index';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index';

type Json = Record<string, unknown>;
interface Field { id: number; key?: string | null; type: string; title: string; raw_title: string; active: boolean; removable?: boolean; position: number; updated_at: string; custom_field_options?: { value: string }[] }
interface Got { status: number; body: Json; headers: Headers }

/** 2026-06-15T12:00:00Z, fixed: the rename happens when the test moves the clock. */
const T = Date.UTC(2026, 5, 15, 12) / 1000;
const secs = (iso: string): number => Date.parse(iso) / 1000;
/** A column name as a client might derive it ("Order #" and "Order Number" both give order_number). */
const slug = (title: string): string => title.toLowerCase().replace(/#/g, ' number ').replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
const collisions = (fields: Field[]): string[] => {
  const seen = fields.map((f) => slug(f.title));
  return [...new Set(seen.filter((x, i) => seen.indexOf(x) !== i))];
};

function client(sim: RunningSimulator, who: 'admin' | 'agent' = 'admin') {
  const c = sim.credentials[who];
  const auth = `Basic ${Buffer.from(`${c.email}/token:${c.token}`).toString('base64')}`;
  return async (pathOrUrl: string): Promise<Got> => {
    const res = await fetch(pathOrUrl.startsWith('http') ? pathOrUrl : sim.url + pathOrUrl, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
  };
}

async function list(sim: RunningSimulator, name: string): Promise<Field[]> {
  const r = await client(sim)(`/api/v2/${name}`);
  assert.equal(r.status, 200);
  return r.body[name] as Field[];
}

/** Every record of a time-based export from 0 (this test's accounts fit in one page each). */
async function records(sim: RunningSimulator, resource: string): Promise<Json[]> {
  const r = await client(sim)(`/api/v2/incremental/${resource}?start_time=0&support_type_scope=all`);
  assert.equal(r.body.end_of_stream, true);
  return r.body[resource] as Json[];
}

describe('simulator field lists', function () {
  this.timeout(60_000);
  const running: RunningSimulator[] = [];
  async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
    const sim = await startSimulator({ rateLimits: false, now: () => T * 1000, counts: { tickets: 900, users: 400, organizations: 300 }, ...opts });
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  it('lists system and custom ticket fields with stable ids and titles, some that slug alike, one inactive', async () => {
    const sim = await start();
    const r = await client(sim)('/api/v2/ticket_fields.json');
    const fields = r.body.ticket_fields as Field[];
    assert.deepEqual([r.body.count, r.body.next_page, r.body.previous_page], [fields.length, null, null]);
    assert.deepEqual(fields.map((f) => f.position), [...fields.map((f) => f.position)].sort((a, b) => a - b), 'in position order');
    const byTitle = new Map(fields.map((f) => [f.title, f]));
    assert.equal(byTitle.get('Subject')?.removable, false, 'system fields are not removable');
    for (const t of ['Order #', 'Order Number', 'order number', 'Support tier', 'Product']) assert.equal(byTitle.get(t)?.removable, true, t);
    assert.deepEqual(collisions(fields), ['order_number'], '"Order #", "Order Number" and "order number" slug alike');
    assert.equal(byTitle.get('order number')?.active, false, 'one inactive field');
    assert.ok(fields.every((f) => f.raw_title === f.title && Number.isSafeInteger(f.id)));
    const other = await start({ seed: 99 });
    assert.deepEqual((await list(other, 'ticket_fields')).map((f) => [f.id, f.title]), fields.map((f) => [f.id, f.title]), 'the same ids and titles for any seed');
  });

  it('gives tickets custom_fields consistent with the definitions, a deleted field only on older versions', async () => {
    const sim = await start();
    const defs = (await list(sim, 'ticket_fields')).filter((f) => f.removable);
    const defined = new Map(defs.map((f) => [f.id, f]));
    const tickets = await records(sim, 'tickets');
    const ts = (t: Json): number => t.generated_timestamp as number;
    const carried = new Set(tickets.flatMap((t) => (t.custom_fields as { id: number }[]).map((c) => c.id)));
    const gone = [...carried].filter((id) => !defined.has(id));
    assert.equal(gone.length, 1, 'exactly one deleted field still on records');
    const carriers = tickets.filter((t) => (t.custom_fields as { id: number }[]).some((c) => c.id === gone[0]));
    const others = tickets.filter((t) => !carriers.includes(t));
    assert.ok(carriers.length > 0 && others.length > 0);
    assert.ok(Math.max(...carriers.map(ts)) < Math.min(...others.map(ts)), 'the deleted field is on versions from before its deletion only');
    const late = defs.filter((f) => !tickets.every((t) => (t.custom_fields as { id: number }[]).some((c) => c.id === f.id)));
    assert.deepEqual(late.map((f) => f.title), ['Follow-up date'], 'one field created half-way through the history');
    for (const t of tickets) {
      assert.deepEqual(t.fields, t.custom_fields);
      for (const { id, value } of t.custom_fields as { id: number; value: unknown }[]) {
        const f = defined.get(id);
        if (!f || value === null) continue;
        if (f.type === 'checkbox') assert.equal(typeof value, 'boolean');
        if (f.type === 'integer') assert.ok(Number.isInteger(value));
        if (f.type === 'tagger') assert.ok(f.custom_field_options!.some((o) => o.value === value), `${f.title}: ${String(value)}`);
        if (f.type === 'date') assert.match(value as string, /^\d{4}-\d{2}-\d{2}$/);
      }
    }
  });

  it('gives users and organizations user_fields / organization_fields keyed like their definitions', async () => {
    const sim = await start();
    for (const [resource, name, wrapper] of [['users', 'user_fields', 'user_fields'], ['organizations', 'organization_fields', 'organization_fields']] as const) {
      const defs = await list(sim, name);
      const keys = new Map(defs.map((f) => [f.key!, f]));
      assert.ok(defs.every((f) => typeof f.key === 'string' && f.key.length > 0), `${name}: every field has a key`);
      const recs = await records(sim, resource);
      const seen = new Set(recs.flatMap((r) => Object.keys(r[wrapper] as Json)));
      assert.equal([...seen].filter((k) => !keys.has(k)).length, 1, `${name}: one deleted key on older records`);
      assert.ok(defs.some((f) => !f.active), `${name}: one inactive field`);
      assert.equal(collisions(defs).length, 1, `${name}: titles that slug alike`);
      for (const r of recs) {
        for (const [k, v] of Object.entries(r[wrapper] as Json)) {
          const f = keys.get(k);
          if (f?.type === 'dropdown' && v !== null) assert.ok(f.custom_field_options!.some((o) => o.value === v), `${k}: ${String(v)}`);
        }
      }
    }
  });

  it('renames a field while the simulator runs: same id and key, new title, updated_at at the rename', async () => {
    const sim = await start();
    const before = await Promise.all(['ticket_fields', 'user_fields', 'organization_fields'].map((n) => list(sim, n)));
    sim.advanceClock(FIELD_RENAME_AFTER_SECONDS);
    const after = await Promise.all(['ticket_fields', 'user_fields', 'organization_fields'].map((n) => list(sim, n)));
    const renames = before.map((fields, i) => fields.flatMap((f) => {
      const now = after[i].find((g) => g.id === f.id)!;
      return now.title === f.title ? [] : [[f.title, now.title, now.raw_title, now.key ?? null, secs(now.updated_at) - T]];
    }));
    assert.deepEqual(renames, [
      [['Product', 'Product line', 'Product line', null, FIELD_RENAME_AFTER_SECONDS]],
      [['Region', 'Sales region', 'Sales region', 'region', FIELD_RENAME_AFTER_SECONDS]],
      [['Industry', 'Sector', 'Sector', 'industry', FIELD_RENAME_AFTER_SECONDS]],
    ]);
  });

  it('pages user and organization fields by offset, and all three by cursor in id order', async () => {
    const sim = await start();
    const get = client(sim);
    for (const name of ['user_fields', 'organization_fields']) {
      const all = await list(sim, name);
      const got: Field[] = [];
      let url: string | null = `/api/v2/${name}.json?per_page=2`;
      for (let page = 1; url && page <= 10; page++) {
        const r: Got = await get(url);
        assert.equal(r.body.count, all.length, 'count is the total');
        assert.equal(r.body.previous_page, page === 1 ? null : `${sim.url}/api/v2/${name}.json?per_page=2&page=${page - 1}`);
        got.push(...(r.body[name] as Field[]));
        url = r.body.next_page as string | null;
      }
      assert.deepEqual(got, all);
      assert.equal((await get(`/api/v2/${name}?page=0`)).status, 400);
    }
    for (const name of ['ticket_fields', 'user_fields', 'organization_fields']) {
      const byId = [...(await list(sim, name))].sort((a, b) => a.id - b.id);
      const got: Field[] = [];
      let url = `/api/v2/${name}?page[size]=3`;
      let second: Got | undefined;
      for (let i = 0; i < 20; i++) {
        const r = await get(url);
        assert.ok((r.body[name] as Field[]).length <= 3);
        if (i === 1) second = r;
        got.push(...(r.body[name] as Field[]));
        if (!(r.body.meta as { has_more: boolean }).has_more) break;
        url = (r.body.links as { next: string }).next;
      }
      assert.deepEqual(got, byId, `${name}: every field once, in id order`);
      const back = await get((second!.body.links as { prev: string }).prev);
      assert.deepEqual(back.body[name], byId.slice(0, 3), `${name}: page[before] goes back`);
    }
    assert.equal((await get('/api/v2/ticket_fields?page[size]=101')).status, 400);
    assert.deepEqual((await get('/api/v2/ticket_fields?page[after]=%%%')).body, { errors: [{ code: 'InvalidCursor', status: '400', title: 'cursor is invalid or expired' }] });
  });

  it('lets agents read them, and spends only the account budget, not the incremental one', async () => {
    // Real-time windows: all fifteen requests fall in the first minute, however slow the machine.
    const sim = await start({ rateLimits: { accountPerMinute: 14 } });
    const agent = client(sim, 'agent');
    for (const name of ['ticket_fields', 'user_fields', 'organization_fields']) {
      const r = await agent(`/api/v2/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers.get('zendesk-ratelimit-incremental-exports'), null, 'not an incremental endpoint');
    }
    const admin = client(sim);
    for (let i = 0; i < 10; i++) assert.equal((await admin('/api/v2/ticket_fields')).status, 200);
    const exp = await admin('/api/v2/incremental/tickets?start_time=0&per_page=1');
    assert.equal(exp.status, 200);
    assert.match(exp.headers.get('zendesk-ratelimit-incremental-exports')!, /^total=10; remaining=9;/, 'thirteen field requests left the incremental budget whole');
    const refused = await admin('/api/v2/user_fields');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.description, 'Number of allowed API requests per minute exceeded');
  });
});
