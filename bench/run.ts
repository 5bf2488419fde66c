// `npm run bench`: every benchmark in turn, then their key figures together. Ratios and
// percentages, not absolute times, are what to compare between machines.
import { memoryBench } from './memory';
import { rateBudgetBench, ROUNDED_RESETS } from './rateBudget';
import { throughputBench } from './throughput';

async function main(): Promise<void> {
  console.log('== throughput ==');
  const t = await throughputBench();
  console.log('\n== memory ==');
  const m = await memoryBench();
  console.log('\n== rate budget ==');
  const r = await rateBudgetBench();
  const rounded = await rateBudgetBench(ROUNDED_RESETS);
  console.log('\n== summary ==');
  console.log(`throughput ratio engine/bare: ${t.ratio.toFixed(2)} best vs best, ${t.medianRoundRatio.toFixed(2)} median of rounds (aim >= 0.80)`);
  const peaks = ['10%', '50%', '100%'].map((l) => m.marks.find((x) => x.label === l)?.peakRssMB ?? NaN);
  const retained = ['10%', '50%', '100%'].map((l) => m.marks.find((x) => x.label === l)?.heapAfterGcMB ?? NaN);
  console.log(`memory peak RSS at 10/50/100%: ${peaks.join(' / ')} MB (growth x${m.growth.toFixed(2)}); heap after GC: ${retained.join(' / ')} MB`);
  console.log(`rate budget used: ${(r.utilisation * 100).toFixed(1)}% (aim >= 97%), 429s: ${r.status429}`);
  console.log(`rate budget used with resets rounded up to whole seconds (1 s windows): ${(rounded.utilisation * 100).toFixed(1)}% (aim >= 97%), 429s: ${rounded.status429}`);
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
