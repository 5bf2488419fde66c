// CSV against JSON Lines, in the same process, rounds alternating which goes first: the CPU each
// output format costs for the same tickets (as the simulator serves them), at three levels:
//   encode  the format's encoder alone over the same pages;
//   output  the output sink as an export drives it (encode, append, fsync per page);
//   export  a whole export against the simulator (fetch, parse, dedupe, output, checkpoints).
// CSV names its custom-field columns from the account's field lists, as a real run does.
// The ratios are what count; aim: CSV <= x1.3 of JSON Lines.
//   node --import tsx bench/outputFormats.ts [--rounds N]
import { join } from 'node:path';
import { createFormatWriter, openOutput, type CsvFieldNames } from '../src/engine/export';
import { csvFieldNames, zendeskFieldSource, type FieldSource } from '../src/engine/tables';
import { connectionFromUrl } from '../src/engine/zendesk';
import { basicAuth, exportTickets, int, isMain, simulatorProcess, tempDir } from './support';

type Format = 'jsonl' | 'csv';
type Page = Record<string, unknown>[];
type Level = 'encode' | 'output' | 'export';

export interface OutputFormatsResult {
  records: number;
  /** Median over rounds of CSV CPU / JSON Lines CPU, per level. */
  ratio: Record<Level, number>;
  cpuMs: Record<Level, Record<Format, number>>;
}

const EMAIL = 'admin@example.com';
const TOKEN = 'sim-admin-token';

async function fetchPages(url: string): Promise<Page[]> {
  const auth = basicAuth(EMAIL, TOKEN);
  const pages: Page[] = [];
  let next: string | null = `${url}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=1000&support_type_scope=all`;
  while (next) {
    const res = await fetch(next, { headers: { Authorization: auth, Accept: 'application/json' } });
    if (!res.ok) throw new Error(`simulator: HTTP ${res.status}`);
    const body = (await res.json()) as { tickets: Page; after_url: string | null; end_of_stream: boolean };
    if (body.tickets.length) pages.push(body.tickets);
    next = body.end_of_stream ? null : body.after_url;
  }
  return pages;
}

async function cpuOf(work: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.cpuUsage();
  await work();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

/** Every page encoded `passes` times, a fresh writer each pass. */
function encodeAll(format: Format, pages: Page[], passes: number, names: CsvFieldNames): number {
  let chars = 0;
  for (let p = 0; p < passes; p++) {
    const writer = createFormatWriter(format, null, null, format === 'csv' ? names : null);
    for (const page of pages) chars += writer.encode(page).length;
  }
  return chars;
}

/** Every page through the output sink into a new file, as an export writes it. */
async function writeAll(format: Format, pages: Page[], dir: string, names: CsvFieldNames): Promise<void> {
  const sink = await openOutput({ path: join(dir, `tickets.${format}`), format, resource: 'tickets', resume: null, csvFields: format === 'csv' ? names : null });
  for (const page of pages) await sink.writePage(page, {});
  await sink.finish();
  await sink.close();
}

export async function outputFormatsBench(opts: { tickets?: number; rounds?: number; passes?: number; log?: (l: string) => void } = {}): Promise<OutputFormatsResult> {
  const tickets = opts.tickets ?? 20_000;
  const rounds = opts.rounds ?? 7;
  const passes = opts.passes ?? 5;
  const log = opts.log ?? console.log;
  const sim = await simulatorProcess(['--seed', '1', '--tickets', String(tickets), '--no-rate-limits']);
  const levels: Level[] = ['encode', 'output', 'export'];
  const cpu: Record<Level, Record<Format, number[]>> = { encode: { jsonl: [], csv: [] }, output: { jsonl: [], csv: [] }, export: { jsonl: [], csv: [] } };
  const ratios: Record<Level, number[]> = { encode: [], output: [], export: [] };
  let records = 0;
  try {
    const pages = await fetchPages(sim.url);
    records = pages.reduce((n, p) => n + p.length, 0);
    const fields: FieldSource = zendeskFieldSource(connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: EMAIL, token: TOKEN } }));
    const names = csvFieldNames('ticket', 'custom_fields', await fields.definitions('ticket'));
    const chars = { jsonl: encodeAll('jsonl', pages, 1, names), csv: encodeAll('csv', pages, 1, names) };
    log(`${int(records)} tickets: JSON Lines ${int(chars.jsonl / 1e3)} k characters, CSV ${int(chars.csv / 1e3)} k`);
    const run: Record<Level, (f: Format) => Promise<number>> = {
      encode: (f) => cpuOf(() => encodeAll(f, pages, passes, names)),
      output: async (f) => {
        const tmp = tempDir('formats-output');
        try {
          return await cpuOf(() => writeAll(f, pages, tmp.dir, names));
        } finally {
          tmp.remove();
        }
      },
      export: async (f) => {
        const tmp = tempDir('formats-export');
        try {
          return await cpuOf(async () => {
            const r = await exportTickets({ url: sim.url, email: EMAIL, token: TOKEN, dir: tmp.dir, perPage: 1000, format: f, fields: f === 'csv' ? zendeskFieldSource(connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: EMAIL, token: TOKEN } })) : undefined });
            if (r.records !== records) throw new Error(`the ${f} export wrote ${r.records} records, expected ${records}`);
          });
        } finally {
          tmp.remove();
        }
      },
    };
    // One untimed pass of each, so neither pays for warming up.
    for (const level of levels) for (const f of ['jsonl', 'csv'] as const) await run[level](f);
    for (let round = 0; round < rounds; round++) {
      const order: Format[] = round % 2 === 0 ? ['jsonl', 'csv'] : ['csv', 'jsonl'];
      for (const level of levels) {
        const ms: Partial<Record<Format, number>> = {};
        for (const f of order) ms[f] = await run[level](f);
        cpu[level].jsonl.push(ms.jsonl!);
        cpu[level].csv.push(ms.csv!);
        ratios[level].push(ms.csv! / ms.jsonl!);
      }
    }
  } finally {
    await sim.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result: OutputFormatsResult = {
    records,
    ratio: { encode: median(ratios.encode), output: median(ratios.output), export: median(ratios.export) },
    cpuMs: {
      encode: { jsonl: median(cpu.encode.jsonl), csv: median(cpu.encode.csv) },
      output: { jsonl: median(cpu.output.jsonl), csv: median(cpu.output.csv) },
      export: { jsonl: median(cpu.export.jsonl), csv: median(cpu.export.csv) },
    },
  };
  const what: Record<Level, string> = {
    encode: `encoder alone, every page x${passes}`,
    output: 'output sink: encode, append, fsync per page',
    export: 'whole export from the simulator',
  };
  for (const level of levels) {
    const c = result.cpuMs[level];
    log(`CSV / JSON Lines CPU, ${what[level]}: x${result.ratio[level].toFixed(2)} (median of ${rounds} rounds' ratios; JSON Lines ${int(c.jsonl)} ms, CSV ${int(c.csv)} ms; aim <= x1.3)`);
  }
  return result;
}

if (isMain(module)) {
  const at = process.argv.indexOf('--rounds');
  void outputFormatsBench({ rounds: at > 0 ? Number(process.argv[at + 1]) : undefined }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
