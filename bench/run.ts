// `npm run bench`: every benchmark in turn, then their key figures together. Ratios and
// percentages, not absolute times, are what to compare between machines.
import { gridBench } from './grid';
import { memoryBench } from './memory';
import { outputFormatsBench } from './outputFormats';
import { rateBudgetBench, ROUNDED_RESETS } from './rateBudget';
import { recordsPerRequestBench } from './recordsPerRequest';
import { startupBench } from './startup';
import { tablesBench } from './tables';
import { throughputBench } from './throughput';

async function main(): Promise<void> {
  console.log('== throughput ==');
  const t = await throughputBench();
  console.log('\n== memory ==');
  const m = await memoryBench();
  console.log('\n== rate budget ==');
  const r = await rateBudgetBench();
  const rounded = await rateBudgetBench(ROUNDED_RESETS);
  console.log('\n== records per request ==');
  const rq = await recordsPerRequestBench();
  console.log('\n== output formats ==');
  const o = await outputFormatsBench();
  console.log('\n== grid (engine; the webview half: node --expose-gc --import tsx bench/grid.ts) ==');
  const g = (await gridBench({ engineOnly: true })).engine.at(-1)!;
  console.log('\n== tables (DuckDB, PostgreSQL, Parquet) ==');
  const tb = await tablesBench();
  console.log('\n== start-up ==');
  const st = await startupBench();
  console.log('\n== summary ==');
  console.log(`throughput ratio engine/bare: ${t.ratio.toFixed(2)} best vs best, ${t.medianRoundRatio.toFixed(2)} median of rounds (aim >= 0.80)`);
  const peaks = ['10%', '50%', '100%'].map((l) => m.marks.find((x) => x.label === l)?.peakRssMB ?? NaN);
  const retained = ['10%', '50%', '100%'].map((l) => m.marks.find((x) => x.label === l)?.heapAfterGcMB ?? NaN);
  console.log(`memory peak RSS at 10/50/100%: ${peaks.join(' / ')} MB (growth x${m.growth.toFixed(2)}); heap after GC: ${retained.join(' / ')} MB`);
  console.log(`rate budget used: ${(r.utilisation * 100).toFixed(1)}% (aim >= 97%), 429s: ${r.status429}`);
  console.log(`rate budget used with resets rounded up to whole seconds (1 s windows): ${(rounded.utilisation * 100).toFixed(1)}% (aim >= 97%), 429s: ${rounded.status429}`);
  console.log(`metric events, requests for the same ${rq.events.toLocaleString('en-US')} events: time-based (default) x${rq.ratio.toFixed(2)} of cursor's (${rq.requests.time} vs ${rq.requests.cursor})`);
  console.log(`zdx empty run x${st.ratio.toFixed(2)} of node -e 0 (${Math.round(st.zdxMs)} vs ${Math.round(st.nodeMs)} ms; aim <= x2.5)`);
  console.log(`CSV / JSON Lines CPU: encoder x${o.ratio.encode.toFixed(2)}, output sink x${o.ratio.output.toFixed(2)}, whole export x${o.ratio.export.toFixed(2)} (aim <= x1.3)`);
  console.log(
    `grid at ${g.records.toLocaleString('en-US')} records: first window ${g.firstWindowMs.toFixed(1)} ms (x${(g.firstWindowMs / 50).toFixed(2)} of 50 ms), sorted first window ${Math.round(g.sortedFirstMs)} ms (x${(g.sortedFirstMs / 500).toFixed(2)} of 500 ms), ` +
      `full sort x${g.fullSortVsDuck.toFixed(2)} of DuckDB (aim <= x1.5), filter + sort x${g.filteredVsDuck.toFixed(2)} of DuckDB, index ${Math.round((g.indexMB * 1e6) / g.records)} bytes/record`,
  );
  const tp = tb.throughput;
  if (tp) console.log(`tables, records/s as a ratio of JSON Lines (${Math.round(tp.recordsPerSecond.jsonl)}/s): ${(['duckdb', 'postgres', 'parquet'] as const).map((t) => `${t} x${tp.ratio[t].toFixed(2)}`).join(', ')} (aim >= 0.7)`);
  for (const [t, c] of Object.entries(tb.current ?? {})) {
    console.log(`tables, current state of ${c.tickets.toLocaleString('en-US')} tickets x ${c.versions / c.tickets} versions into ${t}: ${c.seconds.toFixed(0)} s, ${c.rows.toLocaleString('en-US')} rows, exact: ${c.exact}`);
  }
  for (const [t, w] of Object.entries(tb.windows ?? {})) {
    const first = w['first window (grid columns)'];
    const sorted = w['sorted by updated_at desc (grid columns)'];
    const rows = tb.current?.[t as 'duckdb' | 'postgres']?.tickets ?? 0;
    console.log(`tables, ${t} windows at ${rows.toLocaleString('en-US')} rows: first ${first.toFixed(0)} ms, sorted by updated_at ${sorted.toFixed(0)} ms, by subject ${w['sorted by subject (grid columns)'].toFixed(0)} ms (aim < 300 ms)`);
  }
  for (const [t, r] of Object.entries(tb.resume ?? {})) {
    console.log(`tables, ${t} resume after SIGKILL half-way: ${r.resumeSeconds.toFixed(1)} s vs a clean run ${r.cleanSeconds.toFixed(1)} s (x${r.overhead.toFixed(2)} of the clean run's time for the rest)`);
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
