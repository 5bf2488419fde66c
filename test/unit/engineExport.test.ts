// End-to-end exports against the simulator over real loopback HTTP: every endpoint form must
// produce exactly the record versions the simulator's oracle lists, through faults, rate limits,
// cancellation, resumes and reruns.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { endpointById, ENDPOINTS, checkConnection, type Credentials } from '../../src/engine/zendesk';
import { checkpointPathFor, readCheckpoint, writeCheckpointAtomic, runExport, type ExportRequest, type ExportResult, type ProgressEvent } from '../../src/engine/export';
import { ExportError } from '../../src/engine/errors';
import type { OutputFormat, QueryParams, ResolvedQuery } from '../../src/engine/query';
import { EPOCH, startSimulator, type Fault, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index';
import { latestVersionKeys, versionKeys } from '../support/versions';

const SMALL = { tickets: 400, users: 150, organizations: 60, ticketEvents: 300, metricEvents: 350, routingAttributes: 10, routingAttributeValues: 40, routingInstanceValues: 120 };

let sim: RunningSimulator | undefined;
let dir = '';

async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  sim = await startSimulator({ seed: 7, counts: SMALL, rateLimits: false, ...opts });
  return sim;
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-engine-'));
});

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

function admin(s: RunningSimulator): Credentials {
  return { kind: 'apiToken', email: s.credentials.admin.email, token: s.credentials.admin.token };
}

function query(endpointId: string, opts: { params?: QueryParams; startTime?: number; format?: OutputFormat; name?: string; digest?: string } = {}): ResolvedQuery {
  const form = endpointById(endpointId)!;
  const format = opts.format ?? 'jsonl';
  const name = opts.name ?? endpointId.replace(/\W/g, '-');
  return {
    name,
    resource: form.resource,
    endpointId,
    startTime: opts.startTime ?? (form.model === 'routing' ? 0 : EPOCH),
    params: opts.params ?? {},
    output: { path: path.join(dir, name, `${form.resource}.${format}`), format },
    digest: opts.digest ?? `digest-${endpointId}-${JSON.stringify(opts.params ?? {})}-${format}`,
  };
}

interface Run {
  result?: ExportResult;
  error?: ExportError;
  events: ProgressEvent[];
}

async function run(s: RunningSimulator, q: ResolvedQuery, extra: Partial<ExportRequest> = {}): Promise<Run> {
  const events: ProgressEvent[] = [];
  const req: ExportRequest = {
    connection: { baseUrl: s.url, credentials: admin(s) },
    query: q,
    checkpointPath: checkpointPathFor(q.output.path),
    onProgress: (e) => events.push(e),
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    maxRetries: 6,
    requestTimeoutMs: 5000,
    now: () => s.nowSeconds() * 1000,
    ...extra,
  };
  try {
    return { result: await runExport(req), events };
  } catch (err) {
    if (!(err instanceof ExportError)) throw err;
    return { error: err, events };
  }
}

async function ok(s: RunningSimulator, q: ResolvedQuery, extra: Partial<ExportRequest> = {}): Promise<Run & { result: ExportResult }> {
  const r = await run(s, q, extra);
  assert.ok(r.result, `export failed: ${r.error?.code} ${r.error?.message}`);
  return r as Run & { result: ExportResult };
}

async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  const text = await fs.readFile(file, 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** id@ts of every record (ts read as Zendesk documents it), sorted: equal lists mean the same versions, each exactly once. */
function versions(records: Record<string, unknown>[], endpointId: string): string[] {
  return versionKeys(records, endpointId).sort();
}

function expectedVersions(s: RunningSimulator, endpointId: string, opts: Parameters<RunningSimulator['expected']>[1] = {}): string[] {
  return s.expected(endpointId, opts).map((e) => `${String(e.id)}@${e.ts}`).sort();
}

async function assertExact(s: RunningSimulator, q: ResolvedQuery, opts: Parameters<RunningSimulator['expected']>[1] = {}): Promise<void> {
  const got = versions(await readJsonl(q.output.path), q.endpointId);
  const want = expectedVersions(s, q.endpointId, { startTime: q.startTime, ...opts });
  assert.ok(want.length > 0, 'the oracle expects records');
  assert.equal(new Set(got).size, got.length, 'no duplicates');
  assert.deepEqual(got, want);
}

function perPageFor(endpointId: string): QueryParams {
  const form = endpointById(endpointId)!;
  if (form.model === 'sample' || form.maxPerPage === null) return {};
  return { perPage: form.model === 'metricCursor' ? 30 : 45 };
}

describe('engine export: every endpoint form against the simulator', () => {
  for (const form of ENDPOINTS) {
    it(`${form.id} exports exactly the expected record versions`, async () => {
      // Forms that ignore per_page need more than one 1000-record page of data to page at all.
      const s = await start(form.model === 'time' && form.maxPerPage === null ? { counts: { ...SMALL, metricEvents: 2300 } } : {});
      const q = query(form.id, { params: perPageFor(form.id) });
      const r = await ok(s, q);
      assert.equal(r.result.caughtUp, true);
      await assertExact(s, q);
      const cp = await readCheckpoint(checkpointPathFor(q.output.path));
      assert.ok(cp && cp.caughtUp && cp.position, 'caught-up checkpoint with a position');
      assert.equal(cp.endpointId, form.id);
      if (form.model !== 'sample') assert.ok(r.result.pages > 1, 'several pages');
      assert.ok(r.events.some((e) => e.type === 'done'));
      // Never start_time together with a cursor.
      for (const entry of s.stats().requestLog) {
        const u = new URL(entry.url, s.url);
        assert.ok(!(u.searchParams.has('start_time') && (u.searchParams.has('cursor') || u.searchParams.has('page[after]'))), entry.url);
      }
    });
  }

  it('drops the boundary second that full 1000-record time-based pages repeat', async () => {
    const s = await start({ counts: { ...SMALL, tickets: 2600 } });
    const q = query('tickets');
    const r = await ok(s, q);
    const dropped = r.events.reduce((n, e) => n + (e.type === 'page' ? e.duplicatesDropped : 0), 0);
    assert.ok(dropped > 0, 'the simulator repeated boundary records');
    await assertExact(s, q);
  });

  it('writes sideloads to their own files and keeps tombstones unless excluded', async () => {
    const s = await start();
    const q = query('tickets/cursor', { params: { perPage: 100, include: ['users', 'groups'] } });
    await ok(s, q);
    await assertExact(s, q);
    const records = await readJsonl(q.output.path);
    assert.ok(records.some((r) => r.status === 'deleted'), 'tombstones kept by default');
    const users = await readJsonl(path.join(path.dirname(q.output.path), 'tickets.users.jsonl'));
    assert.ok(users.length > 0);

    const ex = query('tickets/cursor', { params: { perPage: 100, excludeDeleted: true }, name: 'no-deleted' });
    await ok(s, ex);
    await assertExact(s, ex, { excludeDeleted: true });
    assert.ok(!(await readJsonl(ex.output.path)).some((r) => r.status === 'deleted'));
  });
});

/**
 * What the query asks for must be on the wire, not only applied afterwards: the engine also filters
 * deleted records locally, so without this a dropped exclude_deleted would go unnoticed. The names
 * and values are Zendesk's (shared/zendesk/api-behaviour.md §2, §6), read from the simulator's
 * request log, every request of the export.
 */
describe('engine export: the documented request parameters are sent', () => {
  const cases: { id: string; params: QueryParams; sent: Record<string, string>; sizeParam: 'per_page' | 'page[size]' | null }[] = [
    { id: 'tickets/cursor', params: { perPage: 45, include: ['users', 'groups'], excludeDeleted: true, supportTypeScope: 'all' }, sent: { include: 'users,groups', exclude_deleted: 'true', support_type_scope: 'all', per_page: '45' }, sizeParam: 'per_page' },
    { id: 'tickets', params: { perPage: 45, include: ['organizations', 'brands'], excludeDeleted: true, supportTypeScope: 'all' }, sent: { include: 'organizations,brands', exclude_deleted: 'true', support_type_scope: 'all', per_page: '45' }, sizeParam: 'per_page' },
    { id: 'ticket_events', params: { perPage: 40, include: ['comment_events'], supportTypeScope: 'all' }, sent: { include: 'comment_events', support_type_scope: 'all', per_page: '40' }, sizeParam: 'per_page' },
    { id: 'ticket_metric_events/cursor', params: { perPage: 30, includeChanges: true, excludeDeleted: true }, sent: { include_changes: 'true', exclude_deleted: 'true', 'page[size]': '30' }, sizeParam: 'page[size]' },
    { id: 'ticket_metric_events', params: { includeChanges: true, excludeDeleted: true }, sent: { include_changes: 'true', exclude_deleted: 'true' }, sizeParam: null },
  ];
  for (const c of cases) {
    it(`${c.id}: ${Object.keys(c.sent).join(', ')} on every request; nothing the query did not ask for`, async () => {
      const s = await start({ counts: { ...SMALL, metricEvents: 1300 } });
      const asked = query(c.id, { params: c.params, name: `asked-${c.id.replace('/', '-')}` });
      await ok(s, asked);
      const requests = s.stats().requestLog.filter((l) => l.url.startsWith('/api/v2/incremental/')).map((l) => new URL(l.url, s.url).searchParams);
      assert.ok(requests.length > 1, `${requests.length} requests`);
      for (const q of requests) {
        for (const [name, value] of Object.entries(c.sent)) assert.equal(q.get(name), value, `${name} in ${q.toString()}`);
      }
      // Asked for nothing: no filter or sideload is sent, and support_type_scope, if sent, is Zendesk's default.
      const before = s.stats().requestLog.length;
      await ok(s, query(c.id, { params: c.sizeParam === 'page[size]' ? { perPage: 30 } : {}, name: `plain-${c.id.replace('/', '-')}` }));
      for (const l of s.stats().requestLog.slice(before)) {
        const q = new URL(l.url, s.url).searchParams;
        for (const name of ['exclude_deleted', 'include', 'include_changes']) assert.equal(q.has(name), false, `${name} in ${q.toString()}`);
        assert.ok(!q.has('support_type_scope') || q.get('support_type_scope') === 'agent', q.toString());
        if (c.sizeParam === 'page[size]') assert.equal(q.get('page[size]'), '30');
      }
    });
  }
});

describe('engine export: loops that must not loop', function () {
  this.timeout(60_000);

  it('switches a stuck time-based ticket export to the cursor endpoint and stays exact', async () => {
    const s = await start({ counts: { ...SMALL, tickets: 1200 }, faults: [{ kind: 'legacyStuckTimestamp' }] });
    const q = query('tickets', { params: { perPage: 20 } });
    const r = await ok(s, q);
    const switched = r.events.find((e) => e.type === 'switched');
    assert.ok(switched && switched.type === 'switched' && switched.to === 'tickets/cursor', 'switched to the cursor form');
    const cp = await readCheckpoint(checkpointPathFor(q.output.path));
    assert.equal(cp?.endpointId, 'tickets/cursor');
    assert.equal(cp?.position?.kind, 'cursor');
    await assertExact(s, q);
  });

  it('fails loudly when a time-based export without a cursor form is stuck', async () => {
    const s = await start({ counts: { ...SMALL, organizations: 1200 }, faults: [{ kind: 'legacyStuckTimestamp' }] });
    const q = query('organizations', { params: { perPage: 20 } });
    const r = await run(s, q);
    assert.equal(r.error?.code, 'stuck', r.error?.message);
    assert.ok(s.stats().requests < 200, 'stopped quickly');
    const cp = await readCheckpoint(checkpointPathFor(q.output.path));
    assert.ok(cp && !cp.caughtUp, 'progress before the stuck second is kept');
  });
});

describe('engine export: foreign next-page links', () => {
  for (const id of ['tickets', 'tickets/cursor', 'ticket_metric_events/cursor', 'routing_instance_values']) {
    it(`${id}: stops before sending anything to another origin`, async () => {
      const s = await start({ faults: [{ kind: 'foreignNextPage' }] });
      const q = query(id, { params: perPageFor(id) });
      const r = await run(s, q);
      assert.equal(r.error?.code, 'foreignOrigin', r.error?.message);
      const stats = s.stats();
      assert.equal(stats.foreignRequests, 0);
      assert.deepEqual(stats.authorizationSentTo, [new URL(s.url).host]);
      const cp = await readCheckpoint(checkpointPathFor(q.output.path));
      assert.equal(cp?.pages, 1, 'the first page is kept');
      // A resume without the fault completes exactly.
      s.setFaults([]);
      await ok(s, q);
      await assertExact(s, q);
    });
  }
});

describe('engine export: rate limits and failures still give the exact record set', function () {
  this.timeout(60_000);
  const faults: [string, Fault[]][] = [
    ['plain-text 429', [{ kind: 'plainText429', skip: 1, times: 2, retryAfter: 0.2 }]],
    ['429 without Retry-After', [{ kind: 'noRetryAfter429', skip: 1, times: 2 }]],
    ['edge-protection 429', [{ kind: 'edge429', skip: 2, times: 1, retryAfter: 0.1 }]],
    ['HTTP-date Retry-After', [{ kind: 'httpDateRetryAfter429', skip: 1, times: 1, retryAfter: 1 }]],
    ['decimal Retry-After', [{ kind: 'decimalRetryAfter429', skip: 1, times: 2, retryAfter: 0.15 }]],
    ['5xx storm', [{ kind: 'status5xx', status: 500, skip: 1, times: 2 }, { kind: 'status5xx', status: 502, skip: 3, times: 2 }, { kind: 'status5xx', status: 503, times: 1 }]],
    ['truncated bodies', [{ kind: 'truncatedBody', skip: 1, times: 3 }]],
    ['connection resets', [{ kind: 'connectionReset', skip: 2, times: 3 }]],
  ];
  for (const [name, f] of faults) {
    it(`${name}`, async () => {
      const s = await start({ faults: f, rateLimits: { timeScale: 60 } });
      for (const id of ['tickets', 'users/cursor']) {
        s.setFaults(f);
        const q = query(id, { params: { perPage: 40 } });
        const r = await ok(s, q);
        assert.ok(r.events.some((e) => e.type === 'retry'), 'the fault was met and retried');
        await assertExact(s, q);
      }
    });
  }

  it('halves per_page on 504 above a page size and keeps the smaller size for the stream', async () => {
    const s = await start({ faults: [{ kind: 'timeoutAbovePageSize', maxPerPage: 60 }] });
    const q = query('ticket_events', { params: { perPage: 400 } });
    const r = await ok(s, q);
    const sizes = r.events.filter((e) => e.type === 'perPage').map((e) => (e.type === 'perPage' ? e.perPage : 0));
    assert.deepEqual(sizes, [200, 100, 50]);
    const cp = await readCheckpoint(checkpointPathFor(q.output.path));
    assert.equal(cp?.perPage, 50);
    assert.equal(s.stats().byStatus[504], 3, 'no more 504s once the size was small enough');
    await assertExact(s, q);
  });

  it('treats a request timeout like a 504: halves per_page, retries the same position, stays exact', async () => {
    const s = await start({ faults: [{ kind: 'slow', delayMs: 1500, skip: 1, times: 1 }] });
    const q = query('tickets/cursor', { params: { perPage: 80 } });
    const r = await ok(s, q, { requestTimeoutMs: 400 });
    assert.ok(r.events.some((e) => e.type === 'perPage' && e.perPage === 40));
    assert.equal((await readCheckpoint(checkpointPathFor(q.output.path)))?.perPage, 40);
    await assertExact(s, q);
  });

  it('paces from the headers: a multi-page export under scaled real limits meets zero 429s', async () => {
    const s = await start({ rateLimits: { timeScale: 30 } }); // incremental: 10 per 2 s, users/cursor 20 per 2 s
    const q = query('tickets/cursor', { params: { perPage: 20 } });
    const r = await ok(s, q);
    assert.ok(r.result.pages > 10, 'more requests than one window allows');
    assert.ok(r.events.some((e) => e.type === 'waiting' && e.reason === 'rateLimit'), 'waited for a reset');
    assert.equal(s.stats().byStatus[429] ?? 0, 0);
    await assertExact(s, q);
    const u = query('users/cursor', { params: { perPage: 5 } });
    await ok(s, u);
    assert.equal(s.stats().byStatus[429] ?? 0, 0);
    await assertExact(s, u);
  });

  it('two concurrent exports of one family take turns and still meet zero 429s', async () => {
    const s = await start({ rateLimits: { timeScale: 30 } });
    const a = query('organizations', { params: { perPage: 8 } });
    const b = query('ticket_events', { params: { perPage: 40 } });
    await Promise.all([ok(s, a), ok(s, b)]);
    assert.ok(s.stats().requests > 12, 'more requests than one window allows');
    assert.equal(s.stats().byStatus[429] ?? 0, 0);
    await assertExact(s, a);
    await assertExact(s, b);
  });
});

describe('engine export: cancellation, resume and reruns', function () {
  this.timeout(60_000);

  it('cancelled mid-run keeps a valid checkpoint; the resume completes exactly, no duplicates', async () => {
    // Routing pages hold 3000 events, so that stream needs more than two pages' worth.
    const s = await start({ latencyMs: 20, counts: { ...SMALL, routingInstanceValues: 7000 } });
    for (const id of ['tickets', 'tickets/cursor', 'ticket_metric_events/cursor', 'routing_instance_values']) {
      const q = query(id, { params: id.startsWith('routing') ? {} : { perPage: 25 } });
      const ac = new AbortController();
      let pages = 0;
      const r = await run(s, q, { signal: ac.signal, onPage: () => { if (++pages === 2) ac.abort(); } });
      assert.equal(r.error?.code, 'cancelled', `${id}: ${r.error?.message}`);
      const cp = await readCheckpoint(checkpointPathFor(q.output.path));
      assert.ok(cp && !cp.caughtUp && cp.pages === 2, `${id}: checkpoint of page 2`);
      const again = await ok(s, q);
      assert.ok(again.events[0].type === 'start' && again.events[0].resumed);
      await assertExact(s, q);
    }
  });

  it('survives SIGKILL at arbitrary moments: every resume cuts back to the checkpoint, the end result is exact', async function () {
    this.timeout(90_000);
    const s = await start({ counts: { ...SMALL, tickets: 3000 }, latencyMs: (n) => 5 + n / 20 });
    const exporter = path.resolve(__dirname, '..', '..', 'src', 'engine', 'export', 'index.ts');
    for (const [id, perPage, format] of [['tickets', 1000, 'jsonl'], ['tickets/cursor', 150, 'json']] as const) {
      const q = query(id, { params: { perPage }, format, name: `killed-${format}` });
      const cpPath = checkpointPathFor(q.output.path);
      // The child reports each page; the parent kills it a random moment after a random page.
      const script = `
        const { runExport } = require(${JSON.stringify(exporter)});
        const req = JSON.parse(process.argv[1]);
        runExport({ ...req, onPage: () => process.stdout.write('page\\n') }).then(() => process.exit(0), (e) => { console.error(e.code, e.message); process.exit(3); });`;
      const arg = JSON.stringify({ connection: { baseUrl: s.url, credentials: admin(s) }, query: q, checkpointPath: cpPath, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
      let kills = 0;
      let checkpointed = 0;
      for (let attempt = 0; attempt < 4; attempt++) {
        const killAfterPage = 1 + Math.floor(Math.random() * 2);
        // The last attempt runs free; the others can't finish before the kill however slow the
        // machine: the simulator holds their next request (the kill may land while it is held).
        if (attempt < 3) s.hold({ afterPages: killAfterPage, path: `/incremental/${id}` });
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        let seen = 0;
        let timer: NodeJS.Timeout | undefined;
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString().split('\n').filter(Boolean).length;
          if (seen >= killAfterPage && !timer) timer = setTimeout(() => { kills++; child.kill('SIGKILL'); }, Math.floor(Math.random() * 40));
        });
        const code = await exited;
        clearTimeout(timer);
        s.release();
        if (code === 0) break;
        assert.equal(code, null, `killed, not failed: ${stderr}`);
        // Whatever the moment, the checkpoint on disk is whole and never goes back.
        const cp = await readCheckpoint(cpPath);
        assert.ok(cp && cp.pages >= checkpointed, `${id}: checkpoint after kill ${kills}`);
        checkpointed = cp.pages;
      }
      assert.ok(kills >= 1, `${id}: runs were killed mid-export (${kills})`);
      await ok(s, q);
      const records = format === 'json' ? JSON.parse(await fs.readFile(q.output.path, 'utf8')) as Record<string, unknown>[] : await readJsonl(q.output.path);
      const got = versions(records, id);
      assert.equal(new Set(got).size, got.length, `${id}: no duplicates after ${kills} kills`);
      assert.deepEqual(got, expectedVersions(s, id, { startTime: q.startTime }));
    }
  });

  it('an abort during a request leaves the last complete page checkpointed', async () => {
    const s = await start();
    const q = query('users', { params: { perPage: 30 } });
    const ac = new AbortController();
    // The second request waits inside the simulator; the abort comes while it does.
    s.hold({ afterPages: 1, path: '/incremental/users' });
    const running = run(s, q, { signal: ac.signal });
    await s.waitForHeld();
    ac.abort();
    const r = await running;
    s.release();
    assert.equal(r.error?.code, 'cancelled');
    const cp = await readCheckpoint(checkpointPathFor(q.output.path));
    assert.equal(cp?.pages, 1);
    assert.equal((await readJsonl(q.output.path)).length, cp?.records);
    await ok(s, q);
    await assertExact(s, q);
  });

  it('refuses a checkpoint of a different query and changes nothing', async () => {
    const s = await start();
    const q = query('organizations', { params: { perPage: 20 } });
    await ok(s, q);
    const cpPath = checkpointPathFor(q.output.path);
    const before = [await fs.readFile(q.output.path), await fs.readFile(cpPath)];
    const requests = s.stats().requests;
    const r = await run(s, { ...q, digest: 'another-query' });
    assert.equal(r.error?.code, 'checkpointMismatch');
    assert.match(r.error!.message, /^The checkpoint .* belongs to a different query .*; delete it or point the query at a new output to start over\.$/);
    assert.deepEqual([await fs.readFile(q.output.path), await fs.readFile(cpPath)], before);
    assert.equal(s.stats().requests, requests, 'nothing was sent');
  });

  it('recovers from an invalid cursor by restarting from the last record time, without duplicates', async () => {
    const s = await start();
    for (const id of ['tickets/cursor', 'ticket_metric_events/cursor']) {
      const q = query(id, { params: { perPage: 25 } });
      const ac = new AbortController();
      let pages = 0;
      await run(s, q, { signal: ac.signal, onPage: () => { if (++pages === 3) ac.abort(); } });
      const cpPath = checkpointPathFor(q.output.path);
      const cp = (await readCheckpoint(cpPath))!;
      assert.ok(cp.lastRecordTime !== null && cp.boundaryKeys.length > 0);
      const position = cp.position!.kind === 'cursor' ? { kind: 'cursor' as const, cursor: 'bm90IGEgY3Vyc29y' } : { kind: 'metricCursor' as const, after: 'bm90LWEtY3Vyc29y' };
      await writeCheckpointAtomic(cpPath, { ...cp, position });
      const r = await ok(s, q);
      assert.ok(r.events.some((e) => e.type === 'retry' && e.status === 400), `${id}: restart reported`);
      assert.ok(r.events.some((e) => e.type === 'page' && e.duplicatesDropped > 0), `${id}: repeats dropped`);
      await assertExact(s, q);
    }
  });

  it('a rerun of a caught-up export fetches only what changed (jsonl and json)', async () => {
    const s = await start();
    for (const [id, format] of [['tickets/cursor', 'jsonl'], ['tickets', 'json']] as const) {
      const q = query(id, { params: { perPage: 50 }, format, name: `rerun-${format}` });
      await ok(s, q);
      const first = s.expected(id, { startTime: q.startTime }).length;
      const changedAt = s.nowSeconds();
      s.mutate({ newTickets: 4, updatedTickets: 6 });
      s.advanceClock(61);
      const changed = expectedVersions(s, id, { startTime: changedAt });
      assert.ok(changed.length >= 8, 'the mutation is visible to the oracle');
      const seen: Record<string, unknown>[] = [];
      const r = await ok(s, q, { onPage: (recs) => seen.push(...recs) });
      assert.equal(r.result.caughtUp, true);
      assert.deepEqual(versions(seen, id), changed, `${id}: only the changed versions`);
      const all = format === 'json' ? JSON.parse(await fs.readFile(q.output.path, 'utf8')) as Record<string, unknown>[] : await readJsonl(q.output.path);
      assert.equal(all.length, first + changed.length);
      // Latest version of every ticket in the file = the oracle's current state.
      assert.deepEqual(latestVersionKeys(all, id), s.current('tickets').map((e) => `${e.id}@${e.ts}`).sort());
      // A third run right away: nothing new, nothing doubled.
      const third = await ok(s, q);
      assert.equal(third.result.records, 0);
    }
  });

  it('treats "too recent start_time" (both shapes) as caught up, not as a failure', async () => {
    for (const errorShape of ['classic', 'errors'] as const) {
      const s = await start({ errorShape });
      const now = s.nowSeconds();
      // The engine's clock runs 30 s ahead of Zendesk's, so its clamp (now - 61) is still too recent there.
      const q = query('tickets', { startTime: now - 40, name: `recent-${errorShape}` });
      const r = await ok(s, q, { now: () => (s.nowSeconds() + 30) * 1000 });
      assert.equal(r.result.caughtUp, true);
      assert.equal(r.result.records, 0);
      assert.ok(s.stats().byStatus[errorShape === 'classic' ? 422 : 400] === 1);
      await s.close();
      sim = undefined;
    }
  });

  it('rejects a start time in the future before sending anything', async () => {
    const s = await start();
    const r = await run(s, query('tickets', { startTime: s.nowSeconds() + 3600 }));
    assert.equal(r.error?.code, 'futureStartTime');
    assert.equal(s.stats().requests, 0);
  });
});

describe('engine: authentication', () => {
  it('refreshes an expired OAuth token once and completes', async () => {
    const s = await start({ extraOAuthTokens: ['fresh-token'] });
    let refreshes = 0;
    const q = query('organizations', { params: { perPage: 20 } });
    const r = await ok(s, q, {
      connection: { baseUrl: s.url, credentials: { kind: 'oauth', accessToken: 'expired-token', refresh: async () => { refreshes++; return 'fresh-token'; } } },
    });
    assert.equal(refreshes, 1);
    assert.equal(r.result.caughtUp, true);
    await assertExact(s, q);

    // A token that expires mid-run: one 401 on the third request, one refresh, the export goes on.
    s.setFaults([{ kind: 'unauthorized', skip: 2, times: 1 }]);
    const mid = query('users/cursor', { params: { perPage: 20 } });
    await ok(s, mid, {
      connection: { baseUrl: s.url, credentials: { kind: 'oauth', accessToken: s.credentials.admin.oauthToken, refresh: async () => { refreshes++; return 'fresh-token'; } } },
    });
    assert.equal(refreshes, 2);
    assert.equal(s.stats().byStatus[401], 2);
    await assertExact(s, mid);
  });

  it('reports wrong credentials and non-admins with one clear sentence', async () => {
    const s = await start();
    const rejected = query('tickets');
    const bad = await run(s, rejected, { connection: { baseUrl: s.url, credentials: { kind: 'apiToken', email: 'admin@example.com', token: 'wrong' } } });
    assert.equal(bad.error?.code, 'auth');
    const badOAuth = await run(s, query('tickets', { name: 'bad-oauth' }), { connection: { baseUrl: s.url, credentials: { kind: 'oauth', accessToken: 'expired-or-revoked' } } });
    assert.equal(badOAuth.error?.message, `Zendesk rejected the OAuth access token for ${new URL(s.url).host} and it couldn't be refreshed; sign in again.`);
    // Nothing is created before Zendesk has answered with a page: no output, no checkpoint, no folder.
    assert.equal(existsSync(path.dirname(rejected.output.path)), false);
    assert.equal(bad.error?.message, `Zendesk rejected the credentials for ${new URL(s.url).host}: check the email and API token (or sign in again).`);
    const agent = await run(s, query('tickets', { name: 'agent' }), { connection: { baseUrl: s.url, credentials: { kind: 'apiToken', email: s.credentials.agent.email, token: s.credentials.agent.token } } });
    assert.equal(agent.error?.code, 'forbidden');
    s.setFaults([{ kind: 'empty403' }]);
    assert.equal((await run(s, query('users', { name: 'empty403' }))).error?.code, 'forbidden');
  });

  it("keeps a token that can't travel in a header out of errors and progress, and doesn't retry it", async () => {
    const s = await start();
    for (const accessToken of ['sim-oauth-token\nsecret-tail', 'sim-oauth-token\u0000secret-tail', 'sim-oauth-token\u20acsecret-tail']) {
      const q = query('organizations', { name: `bad-header-${accessToken.length}-${accessToken.charCodeAt(15)}` });
      const r = await run(s, q, { connection: { baseUrl: s.url, credentials: { kind: 'oauth', accessToken } } });
      assert.equal(r.error?.code, 'auth', r.error?.message);
      const said = JSON.stringify([r.error?.message, r.error?.details, r.events]);
      assert.ok(!said.includes('secret-tail') && !said.includes('sim-oauth-token'), said);
      assert.ok(!r.events.some((e) => e.type === 'retry'), 'not retried as a network error');
      await assert.rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken } }), (e: ExportError) => e.code === 'auth' && !e.message.includes('secret-tail'));
    }
    assert.equal(s.stats().requests, 0, 'nothing was sent');
  });

  it('checkConnection: admin passes, agent is forbidden, a bad token is an auth error', async () => {
    const s = await start();
    const me = await checkConnection({ baseUrl: s.url, credentials: admin(s) });
    assert.equal(me.user.role, 'admin');
    assert.equal(me.user.email, 'admin@example.com');
    const oauth = await checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: s.credentials.admin.oauthToken } });
    assert.equal(oauth.user.role, 'admin');
    await assert.rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'apiToken', email: s.credentials.agent.email, token: s.credentials.agent.token } }), (e: ExportError) => e.code === 'forbidden');
    await assert.rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'apiToken', email: 'admin@example.com', token: 'nope' } }), (e: ExportError) => e.code === 'auth');
  });
});

describe('engine export: a moving target (tickets change while the export runs)', function () {
  this.timeout(60_000);

  /**
   * Every version a complete export must hold (the oracle) is in the file exactly once; anything else
   * is an older version of a ticket the oracle has a newer version of (read before it changed).
   */
  async function assertMovingExact(s: RunningSimulator, q: ResolvedQuery): Promise<void> {
    const got = versions(await readJsonl(q.output.path), q.endpointId);
    assert.equal(new Set(got).size, got.length, `${q.endpointId}: no (id, ts) pair twice`);
    const want = s.expected(q.endpointId, { startTime: q.startTime });
    const latestWanted = new Map(want.map((e) => [String(e.id), e.ts]));
    const gotSet = new Set(got);
    const missing = want.map((e) => `${String(e.id)}@${e.ts}`).filter((k) => !gotSet.has(k));
    assert.deepEqual(missing, [], `${q.endpointId}: every version the oracle lists was exported`);
    for (const key of got) {
      const [id, ts] = key.split('@');
      const newest = latestWanted.get(id);
      assert.ok(newest !== undefined && Number(ts) <= newest, `${q.endpointId}: ${key} is the oracle's version or an older one`);
    }
  }

  for (const [id, perPage, tickets] of [['tickets/cursor', 30, 400], ['tickets', 30, 400], ['tickets', 1000, 3500]] as const) {
    it(`${id} (per_page ${perPage}): mutations between pages, a cancel, a resume and a rerun end with exactly the oracle`, async () => {
      const s = await start({ counts: { ...SMALL, tickets } });
      const q = query(id, { params: { perPage }, name: `moving-${id.replace('/', '-')}-${perPage}` });
      let pages = 0;
      const ac = new AbortController();
      const mutateEachPage = (): void => {
        pages++;
        s.mutate({ newTickets: 3, updatedTickets: 7 });
        // Some changes become visible while the export still runs, others only for the next run.
        s.advanceClock(25);
        if (pages === 3) ac.abort();
      };
      const first = await run(s, q, { signal: ac.signal, onPage: mutateEachPage });
      assert.equal(first.error?.code, 'cancelled', first.error?.message);
      s.mutate({ newTickets: 2, updatedTickets: 20 });
      const resumed = await ok(s, q, { onPage: mutateEachPage });
      assert.equal(resumed.result.caughtUp, true);
      s.advanceClock(61);
      await ok(s, q);
      s.mutate({ updatedTickets: 15 });
      s.advanceClock(61);
      const rerun = await ok(s, q);
      assert.equal(rerun.result.caughtUp, true);
      await assertMovingExact(s, q);
      const tail = await ok(s, q);
      assert.equal(tail.result.records, 0, 'a rerun with nothing new adds nothing');
    });
  }

  for (const id of ['tickets', 'tickets/cursor']) {
    it(`${id}: a bulk update of 1500 tickets in one second, visible mid-export, is exported once and completely`, async () => {
      const s = await start({ counts: { ...SMALL, tickets: 3000 } });
      const q = query(id, { params: { perPage: 1000 }, name: `bulk-${id.replace('/', '-')}` });
      let pages = 0;
      const r = await ok(s, q, {
        onPage: () => {
          if (++pages !== 1) return;
          s.mutate({ updatedTickets: 1500, newTickets: 5 });
          s.advanceClock(61);
        },
      });
      assert.equal(r.result.caughtUp, true);
      await assertMovingExact(s, q);
      assert.equal((await ok(s, q)).result.records, 0);
    });
  }
});
