// Memory while exporting 1,000,000 tickets: the engine streams page by page, so its footprint must
// stay flat however large the export. The engine runs in a child process (bench/memoryChild.ts) so
// the simulator's own memory isn't counted; the figures at 10 %, 50 % and 100 % should be alike.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSimulator } from '../src/simulator/index';
import { int, isMain, tempDir } from './support';

export interface MemoryMark {
  label: string;
  records: number;
  rssMB: number;
  heapUsedMB: number;
  peakRssMB: number;
  peakHeapMB: number;
  heapAfterGcMB: number | null;
}

export interface MemoryResult {
  tickets: number;
  marks: MemoryMark[];
  /** Peak RSS at 100 % over peak RSS at 10 %: ~1 means flat. */
  growth: number;
}

export async function memoryBench(opts: { tickets?: number; perPage?: number; log?: (l: string) => void } = {}): Promise<MemoryResult> {
  const tickets = opts.tickets ?? 1_000_000;
  const perPage = opts.perPage ?? 1000;
  const log = opts.log ?? console.log;
  const sim = await startSimulator({ seed: 2, counts: { tickets }, rateLimits: false });
  const tmp = tempDir('memory');
  const total = sim.expected('tickets/cursor', { startTime: 0, supportTypeScope: 'all' }).length;
  const marks: MemoryMark[] = [];
  const started = performance.now();
  try {
    await new Promise<void>((resolveRun, reject) => {
      const loader = pathToFileURL(join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
      const child = spawn(process.execPath, ['--expose-gc', '--import', loader, join(__dirname, 'memoryChild.ts')], {
        env: {
          ...process.env,
          BENCH_URL: sim.url, BENCH_EMAIL: sim.credentials.admin.email, BENCH_TOKEN: sim.credentials.admin.token,
          BENCH_DIR: tmp.dir, BENCH_TOTAL: String(total), BENCH_PER_PAGE: String(perPage),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const m = JSON.parse(buf.slice(0, nl)) as MemoryMark;
          buf = buf.slice(nl + 1);
          marks.push(m);
          log(`  ${m.label.padStart(5)}: ${int(m.records).padStart(9)} records  RSS ${m.rssMB} MB (peak ${m.peakRssMB})  heap ${m.heapUsedMB} MB (peak ${m.peakHeapMB}, ${m.heapAfterGcMB} after GC)`);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolveRun() : reject(new Error(`memory child exited with ${code}`))));
    });
  } finally {
    tmp.remove();
    await sim.close();
  }
  const at10 = marks.find((m) => m.label === '10%');
  const at100 = marks.find((m) => m.label === '100%');
  const growth = at10 && at100 ? at100.peakRssMB / at10.peakRssMB : NaN;
  const retained = ['10%', '50%', '100%'].map((l) => marks.find((m) => m.label === l)?.heapAfterGcMB ?? NaN);
  log(`Memory: ${int(total)} tickets (per_page ${perPage}) in ${((performance.now() - started) / 1000).toFixed(0)} s; peak RSS 100% / 10% = ${growth.toFixed(2)} (flat ~ 1.0); heap after GC at 10/50/100%: ${retained.join(' / ')} MB`);
  return { tickets: total, marks, growth };
}

if (isMain(module)) {
  const n = Number(process.argv[2] ?? 1_000_000);
  void memoryBench({ tickets: n }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
