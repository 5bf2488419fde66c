// How much of Zendesk's rate budget the engine uses: 10 requests/min for incremental exports,
// with the simulator's time scaled (timeScale 20 => 3 s windows). An export that spans several
// windows should get >= 97 % of the budget in every full window, and must never see a 429 — also
// against a server that rounds its resets up to whole seconds, as Zendesk does.
import { startSimulator } from '../src/simulator/index';
import { DEFAULT_BUDGETS } from '../src/engine/zendesk';
import { exportTickets, isMain, tempDir } from './support';

export interface RateBudgetResult {
  windows: number[];
  budget: number;
  windowMs: number;
  utilisation: number;
  status429: number;
  retries: number;
}

/**
 * Zendesk reports resets in whole seconds, rounded up. With 1 s windows (time scale 60) the rounding
 * is as large as the window, so pacing that follows the last answer's reset drifts a window late
 * every few windows (88 % before the engine kept the earliest reset of a window).
 */
export const ROUNDED_RESETS = { timeScale: 60, windows: 10, wholeSecondResets: true } as const;

export async function rateBudgetBench(opts: { timeScale?: number; windows?: number; perPage?: number; wholeSecondResets?: boolean; log?: (l: string) => void } = {}): Promise<RateBudgetResult> {
  const timeScale = opts.timeScale ?? 20;
  const perPage = opts.perPage ?? 100;
  const log = opts.log ?? console.log;
  const budget = DEFAULT_BUDGETS.incremental.requests;
  const windowMs = (DEFAULT_BUDGETS.incremental.windowSeconds * 1000) / timeScale;
  // Enough pages to fill this many windows and a bit of the next.
  const wantWindows = opts.windows ?? 6;
  const tickets = (wantWindows * budget + 3) * perPage;

  const sim = await startSimulator({ seed: 3, counts: { tickets }, rateLimits: { timeScale, wholeSecondResets: opts.wholeSecondResets ?? false } });
  // The simulator's fixed windows start when it starts; measure windows from the same moment.
  const origin = performance.now();
  const tmp = tempDir('rate');
  const sent: number[] = [];
  let retries = 0;
  try {
    await exportTickets({
      url: sim.url, email: sim.credentials.admin.email, token: sim.credentials.admin.token, dir: tmp.dir, perPage,
      onProgress: (e) => {
        if (e.type === 'request') sent.push(performance.now() - origin);
        if (e.type === 'retry') retries++;
      },
    });
  } finally {
    tmp.remove();
  }
  const stats = sim.stats();
  await sim.close();

  const last = Math.floor(sent[sent.length - 1] / windowMs);
  const windows = Array.from({ length: last + 1 }, () => 0);
  for (const t of sent) windows[Math.floor(t / windowMs)]++;
  // The last window is partial (the export ended in it); every earlier one is a full window.
  const full = windows.slice(0, -1);
  const utilisation = full.reduce((a, b) => a + b, 0) / (full.length * budget);
  const status429 = stats.byStatus[429] ?? 0;
  log(`Rate budget${opts.wholeSecondResets ? ' (resets rounded up to whole seconds)' : ''}: ${budget} requests per ${(windowMs / 1000).toFixed(1)} s window (10/min at time scale ${timeScale}), ${sent.length} requests`);
  log(`  requests per window: ${windows.map((n, i) => (i === windows.length - 1 ? `(${n}, partial)` : String(n))).join(' ')}`);
  log(`  budget used in full windows: ${(utilisation * 100).toFixed(1)}% (aim >= 97%)`);
  log(`  HTTP 429 responses: ${status429} (must be 0); retries: ${retries}`);
  return { windows, budget, windowMs, utilisation, status429, retries };
}

if (isMain(module)) {
  void rateBudgetBench().then(() => rateBudgetBench(ROUNDED_RESETS)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
