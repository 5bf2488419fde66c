// Table outputs, measured:
//   throughput  records/s of a whole export from the simulator into DuckDB, PostgreSQL and Parquet,
//               as a ratio of the JSON Lines output in the same round (aim >= 0.7);
//   current     the current-state table of 1,000,000 tickets with 3 versions each (3,000,000 versions
//               through the writer in pages of 1,000, as an export commits them): time, and a check
//               that the table holds 1,000,000 rows, one per id, each at its newest version;
//   windows     the editor's reads of that table: first window, sorted windows, a filtered window
//               (readWindow, as the grid asks; aim: first and sorted under 300 ms);
//   resume      an export killed (SIGKILL) half-way, then resumed: the resumed run's time against
//               a clean run of the whole export.
// PostgreSQL is a throwaway cluster (test/support/postgres.ts). Times are wall clock on this machine.
//   node --expose-gc --import tsx bench/tables.ts [throughput|current|windows|resume ...] [--tickets N] [--million N] [--versions N] [--rounds N] [--targets duckdb,postgres,parquet]
//   (in `npm run bench`, ZDX_BENCH_TABLES_CURRENT=N sets the current-state size; 1,000,000 by default)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { prepareExport, runExport, type Checkpoint, type CommitPage, type StoredState } from '../src/engine/export';
import { loadQuery, type ResolvedQuery, type SavedOutput } from '../src/engine/query';
import { closeTableReaders, listTables, readWindow, targetFor, zendeskFieldSource, type FieldDefinition, type FieldSource, type PostgresResolver, type TableSource, type WindowRequest } from '../src/engine/tables';
import { connectionFromUrl, type Connection } from '../src/engine/zendesk';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres';
import { int, isMain, simulatorProcess, tempDir, TSX_LOADER } from './support';

type Target = 'jsonl' | 'duckdb' | 'postgres' | 'parquet';
type TableTarget = Exclude<Target, 'jsonl'>;
const EMAIL = 'admin@example.com';
const TOKEN = 'sim-admin-token';

export interface TablesResult {
  throughput?: { records: number; rounds: number; recordsPerSecond: Record<Target, number>; ratio: Record<TableTarget, number> };
  current?: Partial<Record<TableTarget, { tickets: number; versions: number; seconds: number; rows: number; exact: boolean }>>;
  windows?: Partial<Record<'duckdb' | 'postgres', Record<string, number>>>;
  resume?: Partial<Record<TableTarget, { cleanSeconds: number; resumeSeconds: number; killedAt: number; records: number; overhead: number }>>;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Env {
  dir: string;
  pg: TestPostgres | null;
  resolver: PostgresResolver;
}

function queryFor(target: Target, env: Env, name: string, perPage = 1000): ResolvedQuery {
  const outputs: Record<Target, SavedOutput> = {
    jsonl: { format: 'jsonl', path: `${name}.jsonl` },
    duckdb: { format: 'duckdb', path: `${name}.duckdb` },
    parquet: { format: 'parquet', path: `${name}-lake` },
    postgres: { format: 'postgres', connection: 'bench', schema: name.replace(/[^a-z0-9_]/g, '_') },
  };
  return loadQuery({ name, resource: 'tickets', startTime: 0, params: { perPage, supportTypeScope: 'all' }, output: outputs[target] }, { baseDir: env.dir });
}

async function exportOnce(target: Target, env: Env, connection: Connection, name: string): Promise<{ records: number; ms: number }> {
  const query = queryFor(target, env, name);
  const started = performance.now();
  const fields = target === 'jsonl' ? undefined : zendeskFieldSource(connection);
  const prepared = await prepareExport(query, targetFor(query, { postgres: env.resolver, fields }));
  try {
    const r = await runExport({ connection, query, prepared });
    return { records: r.records, ms: performance.now() - started };
  } finally {
    await prepared.release();
  }
}

export async function throughputBench(env: Env, targets: TableTarget[], opts: { tickets: number; rounds: number; log: (l: string) => void }): Promise<NonNullable<TablesResult['throughput']>> {
  const sim = await simulatorProcess(['--seed', '3', '--tickets', String(opts.tickets), '--no-rate-limits']);
  const connection = connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: EMAIL, token: TOKEN } });
  const all: Target[] = ['jsonl', ...targets];
  const rps: Record<string, number[]> = Object.fromEntries(all.map((t) => [t, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t, []]));
  let records = 0;
  try {
    // One untimed export each, so none pays for warming up (the driver load, the simulator's caches).
    for (const t of all) await exportOnce(t, env, connection, `warm_${t}`);
    for (let round = 0; round < opts.rounds; round++) {
      // Rotated order: no target always follows the same one.
      const order = all.map((_, i) => all[(i + round) % all.length]);
      const got: Partial<Record<Target, number>> = {};
      for (const t of order) {
        const r = await exportOnce(t, env, connection, `r${round}_${t}`);
        records = r.records;
        got[t] = r.records / (r.ms / 1000);
        rps[t].push(got[t]!);
      }
      for (const t of targets) ratios[t].push(got[t]! / got.jsonl!);
      opts.log(`round ${round + 1}: ${order.map((t) => `${t} ${int(got[t]!)}/s`).join(', ')}`);
    }
  } finally {
    await sim.close();
  }
  const result = {
    records, rounds: opts.rounds,
    recordsPerSecond: Object.fromEntries(all.map((t) => [t, median(rps[t])])) as Record<Target, number>,
    ratio: Object.fromEntries(targets.map((t) => [t, median(ratios[t])])) as Record<TableTarget, number>,
  };
  for (const t of targets) opts.log(`${t}: ${int(result.recordsPerSecond[t])} records/s, x${result.ratio[t].toFixed(2)} of JSON Lines (${int(result.recordsPerSecond.jsonl)}/s; median of ${opts.rounds} rounds; aim >= 0.7)`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// The million: synthetic ticket versions shaped like the simulator's (about 1.6 KB of JSON each).

const STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'];
const SUBJECTS = ['Refund request', 'Cannot log in', 'Shipping delay', 'Invoice question', 'Feature request', 'Bug report', 'Password reset', 'Order missing'];
const FIELDS: FieldDefinition[] = [
  { id: 360001234501, key: null, title: 'Support tier', type: 'tagger', active: true },
  { id: 360001234502, key: null, title: 'Order #', type: 'text', active: true },
  { id: 360001234503, key: null, title: 'Escalated', type: 'checkbox', active: true },
  { id: 360001234504, key: null, title: 'Order Number', type: 'integer', active: true },
  { id: 360001234506, key: null, title: 'Product', type: 'tagger', active: true },
];
const BASE_TS = 1_700_000_000;

function ticketVersion(n: number, version: number, tickets: number): Record<string, unknown> {
  const id = 5_000_000_001 + n;
  const h = Math.imul(n + 1, 2654435761) >>> 0;
  // Versions of all tickets interleave in time: version v of ticket n at BASE + v * tickets + n.
  const ts = BASE_TS + version * tickets + n;
  const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
  const subject = `${SUBJECTS[h % SUBJECTS.length]} #${n}`;
  const cf = [
    { id: 360001234501, value: ['tier_1', 'tier_2', 'tier_3'][(h >> 3) % 3] },
    { id: 360001234502, value: h % 5 ? `A-${100_000 + (h % 900_000)}` : null },
    { id: 360001234503, value: (h + version) % 7 === 0 },
    { id: 360001234504, value: h % 2 ? 10_000 + (h % 90_000) : null },
    { id: 360001234506, value: ['product_app', 'product_api', 'product_hardware', null][(h >> 5) % 4] },
  ];
  return {
    url: `https://bench.zendesk.com/api/v2/tickets/${id}.json`, id, external_id: `ext-${n}`,
    via: { channel: ['email', 'web', 'api'][h % 3], source: { from: {}, to: {}, rel: null } },
    created_at: iso(BASE_TS + n), updated_at: iso(ts), type: ['task', 'question', 'incident'][(h >> 2) % 3], subject, raw_subject: subject,
    description: `${subject}. Customer message #${n} (generated), version ${version}.`, priority: ['low', 'normal', 'high', 'urgent'][(h >> 4) % 4],
    status: STATUSES[(h + version) % STATUSES.length], recipient: 'support@example.com', requester_id: 6_130_000_000_000 + (h % 50_000),
    submitter_id: 6_130_000_000_000 + (h % 50_000), assignee_id: 6_130_000_010_000 + (h % 200), organization_id: 6_129_000_000_000 + (h % 3000),
    group_id: 6_128_000_000_000 + (h % 12), collaborator_ids: [], follower_ids: [], email_cc_ids: [], forum_topic_id: null, problem_id: null,
    has_incidents: false, is_public: true, due_at: null, tags: [['sales'], ['billing', 'vip'], [], ['bug']][h % 4], custom_fields: cf,
    satisfaction_rating: null, sharing_agreement_ids: [], custom_status_id: 6_125_000_000_002, fields: cf, followup_ids: [],
    ticket_form_id: 6_126_000_000_001, brand_id: 6_127_000_000_001, allow_channelback: false, allow_attachments: true,
    from_messaging_channel: false, support_type: 'agent', generated_timestamp: ts,
  };
}

/** `each` versions (3 in the figures) of each of `tickets` tickets through the target's writer, page by page as an export commits them. */
async function buildCurrent(target: TableTarget, env: Env, tickets: number, each: number, log: (l: string) => void): Promise<{ query: ResolvedQuery; seconds: number; versions: number }> {
  const query = queryFor(target, env, 'million');
  const fields: FieldSource = { definitions: async (kind) => (kind === 'ticket' ? FIELDS : null) };
  const t = targetFor(query, { postgres: env.resolver, fields });
  const release = await t.lock();
  const started = performance.now();
  let versions = 0;
  try {
    const writer = await t.open(null);
    try {
      const PAGE = 1000;
      const total = tickets * each;
      for (let at = 0, page = 0; at < total; at += PAGE, page++) {
        const records: Record<string, unknown>[] = [];
        for (let k = at; k < Math.min(total, at + PAGE); k++) records.push(ticketVersion(k % tickets, Math.floor(k / tickets), tickets));
        versions += records.length;
        const last = records[records.length - 1].generated_timestamp as number;
        const commit: CommitPage = { records, sideloads: {}, endOfStream: at + PAGE >= total };
        await writer.commit(commit, (stored: StoredState): Checkpoint => ({
          version: 1, queryDigest: query.digest, endpointId: query.endpointId, position: { kind: 'cursor', cursor: `c${page}`, startTime: 0 } as never,
          lastRecordTime: last, boundaryKeys: [], perPage: PAGE, files: stored.files, ...(stored.writerState !== undefined ? { writerState: stored.writerState } : {}),
          records: versions, pages: page + 1, caughtUp: commit.endOfStream, updatedAt: new Date().toISOString(),
        }));
        if ((page + 1) % 500 === 0) log(`  ${target}: ${int(versions)} versions, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
    } finally {
      await writer.close();
    }
  } finally {
    await release();
  }
  return { query, seconds: (performance.now() - started) / 1000, versions };
}

export async function currentBench(env: Env, targets: TableTarget[], opts: { tickets: number; each: number; log: (l: string) => void }): Promise<{ figures: NonNullable<TablesResult['current']>; sources: Partial<Record<TableTarget, TableSource>> }> {
  const figures: NonNullable<TablesResult['current']> = {};
  const sources: Partial<Record<TableTarget, TableSource>> = {};
  for (const target of targets) {
    const { query, seconds, versions } = await buildCurrent(target, env, opts.tickets, opts.each, opts.log);
    const source: TableSource = target === 'duckdb' ? { kind: 'duckdb', path: query.output.path }
      : target === 'parquet' ? { kind: 'parquet', path: query.output.path }
        : { kind: 'postgres', connection: await env.resolver('bench'), schema: query.output.tables!.database!.schema };
    sources[target] = source;
    // The check: one row per ticket, each at its newest (third) version.
    const table = target === 'parquet' ? null : 'tickets';
    let rows = 0;
    let exact = false;
    if (table) {
      const all = await readWindow(source, { table, offset: 0, limit: 1, columns: ['id'], count: true });
      const stale = await readWindow(source, { table, offset: 0, limit: 1, columns: ['id'], filters: [{ column: 'generated_timestamp', op: 'lessThan', value: BASE_TS + (opts.each - 1) * opts.tickets }] });
      const ids = await readWindow(source, { table, offset: 0, limit: 1, columns: ['id'], sort: [{ column: 'id', descending: true }], count: false });
      rows = all.total!;
      exact = rows === opts.tickets && stale.total === 0 && ids.rows[0][0] === 5_000_000_000 + opts.tickets;
    } else {
      rows = (await listTables(source)).find((t) => t.name === 'tickets_changes')?.rows ?? 0;
      exact = rows === versions;
    }
    figures[target] = { tickets: opts.tickets, versions, seconds, rows, exact };
    opts.log(`${target}: ${int(versions)} versions of ${int(opts.tickets)} tickets in ${seconds.toFixed(1)} s (${int(versions / seconds)} versions/s); ${table ? `current-state table ${int(rows)} rows, one per id at its newest version: ${exact ? 'yes' : 'NO'}` : `change log ${int(rows)} versions: ${exact ? 'all' : 'NOT all'}`}`);
  }
  return { figures, sources };
}

// ---------------------------------------------------------------------------------------------

export async function windowsBench(sources: Partial<Record<'duckdb' | 'postgres', TableSource>>, opts: { rows: number; repeat: number; log: (l: string) => void }): Promise<NonNullable<TablesResult['windows']>> {
  const out: NonNullable<TablesResult['windows']> = {};
  const grid = ['id', 'subject', 'status', 'priority', 'requester_id', 'assignee_id', 'created_at', 'updated_at', 'tags', 'cf_support_tier', 'cf_order', 'cf_escalated'];
  const cases: [string, Omit<WindowRequest, 'table' | 'offset' | 'limit'>][] = [
    ['first window (all columns)', {}],
    ['first window (grid columns)', { columns: grid }],
    ['sorted by updated_at desc (grid columns)', { columns: grid, sort: [{ column: 'updated_at', descending: true }] }],
    ['sorted by id desc (grid columns)', { columns: grid, sort: [{ column: 'id', descending: true }] }],
    ['sorted by subject (grid columns)', { columns: grid, sort: [{ column: 'subject' }] }],
    ['sorted by status (grid columns)', { columns: grid, sort: [{ column: 'status' }] }],
    ['sorted by updated_at desc (all columns)', { sort: [{ column: 'updated_at', descending: true }] }],
    ['window half-way down sorted by updated_at (grid columns)', { columns: grid, sort: [{ column: 'updated_at' }] }],
    ['filter status = open (grid columns)', { columns: grid, filters: [{ column: 'status', op: 'equals', value: 'open' }] }],
    ['search "refund" (grid columns)', { columns: grid, search: 'refund' }],
  ];
  for (const [kind, source] of Object.entries(sources) as ['duckdb' | 'postgres', TableSource][]) {
    const figures: Record<string, number> = {};
    for (const [name, req] of cases) {
      const times: number[] = [];
      for (let i = 0; i < opts.repeat; i++) {
        const started = performance.now();
        const w = await readWindow(source, { table: 'tickets', offset: name.includes('half-way') ? Math.floor(opts.rows / 2) : 0, limit: 100, ...req });
        times.push(performance.now() - started);
        if (!w.rows.length) throw new Error(`${kind} ${name}: no rows`);
      }
      figures[name] = median(times);
      opts.log(`${kind} ${name}: ${figures[name].toFixed(0)} ms (median of ${opts.repeat})`);
    }
    out[kind] = figures;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** The export in a child process, killed with SIGKILL once `killAfter` pages are committed. */
function killedRun(query: ResolvedQuery, url: string, pg: TestPostgres | null, killAfter: number): Promise<void> {
  const script = `
    const { targetFor, zendeskFieldSource } = require(${JSON.stringify(join(__dirname, '..', 'src', 'engine', 'tables', 'index.ts'))});
    const { prepareExport, runExport } = require(${JSON.stringify(join(__dirname, '..', 'src', 'engine', 'export', 'index.ts'))});
    const req = JSON.parse(process.argv[1]);
    (async () => {
      const prepared = await prepareExport(req.query, targetFor(req.query, { postgres: async () => req.database, fields: zendeskFieldSource(req.connection) }));
      await runExport({ connection: req.connection, query: req.query, prepared, onPage: () => process.stdout.write('page\\n') });
    })().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const arg = JSON.stringify({ connection: { baseUrl: url, credentials: { kind: 'apiToken', email: EMAIL, token: TOKEN } }, query, database: pg && { url: pg.url, password: pg.password } });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, '-e', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pages = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      pages += d.toString().split('\n').filter(Boolean).length;
      if (pages >= killAfter) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the export ended before the kill (${code}): ${stderr}`))));
  });
}

export async function resumeBench(env: Env, targets: TableTarget[], opts: { tickets: number; log: (l: string) => void }): Promise<NonNullable<TablesResult['resume']>> {
  const sim = await simulatorProcess(['--seed', '4', '--tickets', String(opts.tickets), '--no-rate-limits']);
  const connection = connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: EMAIL, token: TOKEN } });
  const out: NonNullable<TablesResult['resume']> = {};
  try {
    for (const target of targets) {
      await exportOnce(target, env, connection, `resume_warm_${target}`);
      const clean = await exportOnce(target, env, connection, `resume_clean_${target}`);
      const pages = Math.ceil(clean.records / 1000);
      const killAfter = Math.floor(pages / 2);
      const query = queryFor(target, env, `resume_killed_${target}`);
      await killedRun(query, sim.url, env.pg, killAfter);
      const started = performance.now();
      const prepared = await prepareExport(query, targetFor(query, { postgres: env.resolver, fields: zendeskFieldSource(connection) }));
      const killedAt = prepared.previous?.records ?? 0;
      let records: number;
      try {
        records = (await runExport({ connection, query, prepared })).checkpoint.records;
      } finally {
        await prepared.release();
      }
      const resumeSeconds = (performance.now() - started) / 1000;
      const cleanSeconds = clean.ms / 1000;
      // Against the clean run's time for what was left: 1.0 means resuming costs nothing extra.
      const overhead = resumeSeconds / (cleanSeconds * ((clean.records - killedAt) / clean.records));
      out[target] = { cleanSeconds, resumeSeconds, killedAt, records, overhead };
      opts.log(`${target}: clean run ${cleanSeconds.toFixed(1)} s for ${int(clean.records)}; killed at ${int(killedAt)}, the resume took ${resumeSeconds.toFixed(1)} s (x${(resumeSeconds / cleanSeconds).toFixed(2)} of the clean run, x${overhead.toFixed(2)} of its time for the rest)${records === clean.records ? '' : ` — ended with ${records} records, expected ${clean.records}`}`);
    }
  } finally {
    await sim.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export async function tablesBench(opts: { parts?: string[]; tickets?: number; million?: number; versions?: number; rounds?: number; targets?: TableTarget[]; log?: (l: string) => void } = {}): Promise<TablesResult> {
  const log = opts.log ?? console.log;
  const parts = opts.parts?.length ? opts.parts : ['throughput', 'current', 'windows', 'resume'];
  const targets = opts.targets ?? ['duckdb', 'postgres', 'parquet'];
  // The current-state size: 1M by default; ZDX_BENCH_TABLES_CURRENT (or --million) for a smaller machine.
  const million = opts.million ?? (Number(process.env.ZDX_BENCH_TABLES_CURRENT) || 1_000_000);
  const each = opts.versions ?? 3;
  const tmp = tempDir('tables');
  const pg = targets.includes('postgres') ? await startTestPostgres() : null;
  const env: Env = { dir: tmp.dir, pg, resolver: async () => ({ url: pg!.url, password: pg!.password }) };
  const result: TablesResult = {};
  try {
    if (parts.includes('throughput')) {
      log('-- throughput: a whole export from the simulator --');
      result.throughput = await throughputBench(env, targets, { tickets: opts.tickets ?? 20_000, rounds: opts.rounds ?? 3, log });
    }
    if (parts.includes('current') || parts.includes('windows')) {
      log(`-- current state: ${int(million)} tickets x ${each} versions --`);
      const { figures, sources } = await currentBench(env, parts.includes('current') ? targets : targets.filter((t) => t !== 'parquet'), { tickets: million, each, log });
      result.current = figures;
      if (parts.includes('windows')) {
        log('-- windows of the current-state table (readWindow, 100 rows) --');
        const readable: Partial<Record<'duckdb' | 'postgres', TableSource>> = {};
        if (sources.duckdb) readable.duckdb = sources.duckdb;
        if (sources.postgres) readable.postgres = sources.postgres;
        result.windows = await windowsBench(readable, { rows: million, repeat: 5, log });
      }
    }
    if (parts.includes('resume')) {
      log('-- resume after SIGKILL half-way --');
      result.resume = await resumeBench(env, targets, { tickets: opts.tickets ?? 20_000, log });
    }
  } finally {
    await closeTableReaders();
    pg?.stop();
    tmp.remove();
  }
  return result;
}

if (isMain(module)) {
  const arg = (name: string): string | undefined => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : undefined;
  };
  const parts = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
  void tablesBench({
    parts,
    tickets: arg('--tickets') ? Number(arg('--tickets')) : undefined,
    million: arg('--million') ? Number(arg('--million')) : undefined,
    versions: arg('--versions') ? Number(arg('--versions')) : undefined,
    rounds: arg('--rounds') ? Number(arg('--rounds')) : undefined,
    targets: arg('--targets')?.split(',') as TableTarget[] | undefined,
  }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
