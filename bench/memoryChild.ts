// The engine side of bench/memory.ts, in its own process so the simulator's memory isn't counted.
// Samples process.memoryUsage() every 100 ms and prints one JSON line at 10 %, 50 % and 100 %.
import { exportTickets } from './support';

const url = process.env.BENCH_URL!;
const email = process.env.BENCH_EMAIL!;
const token = process.env.BENCH_TOKEN!;
const dir = process.env.BENCH_DIR!;
const total = Number(process.env.BENCH_TOTAL);
const perPage = Number(process.env.BENCH_PER_PAGE ?? 1000);

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
const peak = { rss: 0, heap: 0 };
function sample(): NodeJS.MemoryUsage {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heap = Math.max(peak.heap, m.heapUsed);
  return m;
}
function report(label: string, records: number): void {
  const m = sample();
  // Heap after a full GC is what the export actually retains; peaks include garbage not yet collected.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const retained = process.memoryUsage().heapUsed;
  process.stdout.write(`${JSON.stringify({ label, records, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), peakRssMB: mb(peak.rss), peakHeapMB: mb(peak.heap), heapAfterGcMB: gc ? mb(retained) : null })}\n`);
}

const timer = setInterval(sample, 100);
const marks = [0.1, 0.5];
report('start', 0);
exportTickets({
  url, email, token, dir, perPage,
  onProgress: (e) => {
    if (e.type !== 'page') return;
    while (marks.length && e.records >= marks[0] * total) {
      report(`${Math.round(marks.shift()! * 100)}%`, e.records);
    }
  },
}).then((result) => {
  report('100%', result.records);
  clearInterval(timer);
}, (err: unknown) => {
  clearInterval(timer);
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
