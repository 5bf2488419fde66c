// The results grid at 100,000 and 1,000,000 records: does anything scale with the record count
// that shouldn't? Part 1 measures the engine's row index (where the records are): time to the
// first window, to a sorted view, to a filtered view, random scrolling, and its memory. Part 2
// (when code-server is installed) opens each file in the real grid webview and measures time to
// first rows, to a sorted view, scrolling, the webview's JS heap and the extension host's and
// engine's memory. Figures are printed as 1M/100k ratios: times may grow with the data where the
// work is a scan (sort, filter); the webview and extension host must stay flat.
//   node --expose-gc --import tsx bench/grid.ts [--engine-only] [--keep]
import { createWriteStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { RowIndex } from '../src/engine/rows';
import { REPO_ROOT, vscodeAvailable, waitForWorkbench, withWorkbench } from '../test/support/vscode';
import { int, isMain, tempDir } from './support';

const SIZES = [100_000, 1_000_000];
const SUBJECTS = ['Printer on fire', 'Cannot log in', 'Refund request', 'Shipping delay', 'Invoice wrong', 'Password reset', 'Feature request', 'Bug report'];
const STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'];

/** Ticket-shaped records (about 450 bytes a line), written as JSON Lines. */
async function writeTickets(file: string, n: number): Promise<number> {
  const out = createWriteStream(file);
  const base = Date.UTC(2024, 0, 1) / 1000;
  let chunk = '';
  for (let i = 1; i <= n; i++) {
    const ts = base + ((i * 7919) % (n * 3));
    chunk += `${JSON.stringify({
      id: i,
      url: `https://example.zendesk.com/api/v2/tickets/${i}.json`,
      subject: `${SUBJECTS[(i * 31) % SUBJECTS.length]} #${(i * 2654435761) % 1000003}`,
      status: STATUSES[(i * 13) % STATUSES.length],
      priority: ['low', 'normal', 'high', 'urgent', null][(i * 17) % 5],
      type: ['question', 'incident', 'problem', 'task'][i % 4],
      requester_id: 1000 + ((i * 37) % 50_000),
      assignee_id: 2000 + ((i * 11) % 300),
      created_at: new Date(ts * 1000).toISOString(),
      updated_at: new Date((ts + (i % 86_400)) * 1000).toISOString(),
      tags: ['vip', 'billing', 'api'].slice(0, i % 4),
      via: { channel: ['web', 'email', 'api'][i % 3] },
      custom_fields: [{ id: 360001, value: `cf-${i % 97}` }],
    })}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return statSync(file).size;
}

const gc = (globalThis as { gc?: () => void }).gc;
const ms = (t0: number) => performance.now() - t0;

interface EngineFigures {
  records: number;
  fileMB: number;
  openMs: number;
  firstRowsMs: number;
  sortedMs: number;
  sortedAgainMs: number;
  filteredMs: number;
  scrollMsPerWindow: number;
  indexMB: number;
  heapMB: number;
}

async function engineBench(file: string, records: number): Promise<EngineFigures> {
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const columns = ['id', 'subject', 'status', 'priority', 'updated_at', 'custom_fields.360001'];
  let t0 = performance.now();
  const index = await RowIndex.open(file);
  const openMs = ms(t0);
  t0 = performance.now();
  await index.getRows({ start: 0, count: 100, columns });
  const firstRowsMs = ms(t0) + openMs;
  const sort = [{ column: 'subject', dir: 'asc' as const }];
  t0 = performance.now();
  const sorted = await index.getRows({ start: 0, count: 100, columns, sort });
  const sortedMs = ms(t0);
  if (sorted.total !== records) throw new Error(`sorted view has ${sorted.total} rows, expected ${records}`);
  // The cached order: another window of the same view.
  t0 = performance.now();
  await index.getRows({ start: Math.floor(records / 2), count: 100, columns, sort });
  const sortedAgainMs = ms(t0);
  t0 = performance.now();
  await index.getRows({ start: 0, count: 100, columns, sort, filters: { status: 'pend' } });
  const filteredMs = ms(t0);
  // Scrolling: 200 windows at random places of the sorted + filtered view.
  const total = (await index.getRows({ start: 0, count: 1, columns, sort, filters: { status: 'pend' } })).total;
  t0 = performance.now();
  for (let i = 0; i < 200; i++) await index.getRows({ start: Math.floor(Math.random() * Math.max(1, total - 100)), count: 100, columns, sort, filters: { status: 'pend' } });
  const scrollMsPerWindow = ms(t0) / 200;
  gc?.();
  const heapMB = (process.memoryUsage().heapUsed - heap0) / 1e6;
  const indexMB = index.memoryEstimate() / 1e6;
  await index.close();
  return { records, fileMB: statSync(file).size / 1e6, openMs, firstRowsMs, sortedMs, sortedAgainMs, filteredMs, scrollMsPerWindow, indexMB, heapMB };
}

interface UiFigures {
  records: number;
  firstRowsMs: number;
  sortedMs: number;
  scrollMsPerJump: number;
  webviewHeapMB: number;
  extHostRssMB: number;
  engineRssMB: number;
}

/** RSS (MB) of the processes in code-server's process group whose command line matches. */
function rssOf(pgid: number, match: RegExp): number {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match.test(cmd)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // The process ended meanwhile.
    }
  }
  return kb / 1024;
}

async function gridFrame(page: Page): Promise<Frame> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (await f.locator('#row-count').count().catch(() => 0)) return f;
    }
    await page.waitForTimeout(200);
  }
  throw new Error('The grid webview did not appear.');
}

async function firstId(f: Frame): Promise<string> {
  return (await f.locator('.ag-row[row-index="0"] .ag-cell[col-id="id"]').innerText({ timeout: 60_000 })).trim();
}

async function uiBench(dir: string, name: string, records: number): Promise<UiFigures> {
  return withWorkbench({ name: `bench-grid-${records}`, workspace: dir, extensionPath: REPO_ROOT }, async ({ page, server }) => {
    await waitForWorkbench(page);
    await page.keyboard.press('Control+Shift+E');
    // The explorer menu gets the extension's entry once the extension host has loaded it: retry.
    const item = page.locator('.context-view .action-item', { hasText: 'Open in Grid' }).first();
    const deadline = Date.now() + 90_000;
    for (;;) {
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().click({ button: 'right', timeout: 60_000 });
      if (await item.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) break;
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error('No "Open in Grid" in the explorer menu.');
      await page.waitForTimeout(1000);
    }
    let t0 = performance.now();
    await item.click();
    const f = await gridFrame(page);
    await f.locator('.ag-row[row-index="0"] .ag-cell[col-id="id"]').waitFor({ timeout: 120_000 });
    const firstRowsMs = ms(t0);

    const before = await firstId(f);
    t0 = performance.now();
    await f.locator('.ag-header-cell[col-id="subject"] .ag-header-cell-label').click();
    for (;;) {
      const now = await firstId(f).catch(() => before);
      if (now !== before && now !== '') break;
      if (ms(t0) > 300_000) throw new Error('no sorted view within 5 minutes');
      await page.waitForTimeout(20);
    }
    const sortedMs = ms(t0);

    // Scroll: jump the viewport to 10%, 20%, … 100% and wait for the rows there to render.
    const viewport = f.locator('.ag-grid-viewport').first();
    t0 = performance.now();
    for (let step = 1; step <= 10; step++) {
      await viewport.evaluate((el, s) => (el.scrollTop = (el.scrollHeight - el.clientHeight) * (s / 10)), step);
      await f.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll(".ag-row"));
        const view = document.querySelector('.ag-grid-viewport')!.getBoundingClientRect();
        return rows.some((r) => {
          const b = r.getBoundingClientRect();
          return b.top >= view.top && b.bottom <= view.bottom && (r.querySelector('.ag-cell[col-id="id"]')?.textContent ?? '').trim() !== '';
        });
      }, undefined, { timeout: 60_000 });
    }
    const scrollMsPerJump = ms(t0) / 10;
    await page.waitForTimeout(1500);
    const webviewHeapMB = ((await f.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN)) as number) / 1e6;
    const pgid = server.pid;
    return {
      records,
      firstRowsMs,
      sortedMs,
      scrollMsPerJump,
      webviewHeapMB,
      extHostRssMB: rssOf(pgid, /extensionHost/),
      engineRssMB: rssOf(pgid, /dist\/server\.js/),
    };
  });
}

function ratio(a: number, b: number): string {
  return `x${(b / a).toFixed(2)}`;
}

export async function gridBench(opts: { engineOnly?: boolean; keep?: boolean } = {}): Promise<{ engine: EngineFigures[]; ui: UiFigures[] }> {
  const tmp = tempDir('grid');
  const engine: EngineFigures[] = [];
  const ui: UiFigures[] = [];
  try {
    const files: string[] = [];
    for (const n of SIZES) {
      // One folder per size: each is a workspace of its own for the UI part.
      const dir = join(tmp.dir, `n${n}`);
      await import('node:fs/promises').then((fs) => fs.mkdir(dir));
      const file = join(dir, `tickets-${n}.jsonl`);
      const t0 = performance.now();
      const bytes = await writeTickets(file, n);
      console.log(`wrote ${int(n)} records (${(bytes / 1e6).toFixed(0)} MB) in ${int(ms(t0))} ms`);
      files.push(file);
    }
    for (let i = 0; i < SIZES.length; i++) {
      const e = await engineBench(files[i], SIZES[i]);
      engine.push(e);
      console.log(`engine ${int(e.records)}: open ${int(e.openMs)} ms, first rows ${int(e.firstRowsMs)} ms, sorted ${int(e.sortedMs)} ms (cached ${e.sortedAgainMs.toFixed(1)} ms), filtered ${int(e.filteredMs)} ms, scroll ${e.scrollMsPerWindow.toFixed(2)} ms/window, index ${e.indexMB.toFixed(1)} MB, heap +${e.heapMB.toFixed(1)} MB`);
    }
    if (!opts.engineOnly && vscodeAvailable()) {
      for (let i = 0; i < SIZES.length; i++) {
        const u = await uiBench(join(tmp.dir, `n${SIZES[i]}`), `tickets-${SIZES[i]}.jsonl`, SIZES[i]);
        ui.push(u);
        console.log(`ui ${int(u.records)}: first rows ${int(u.firstRowsMs)} ms, sorted view ${int(u.sortedMs)} ms, scroll ${int(u.scrollMsPerJump)} ms/jump, webview heap ${u.webviewHeapMB.toFixed(1)} MB, extension host RSS ${u.extHostRssMB.toFixed(0)} MB, engine RSS ${u.engineRssMB.toFixed(0)} MB`);
      }
    } else if (!opts.engineOnly) {
      console.log('ui: skipped (code-server not installed: node scripts/vscode/install.mjs)');
    }

    const [a, b] = engine;
    console.log(`\n== grid: 1M vs 100k (records x${(b.records / a.records).toFixed(0)}) ==`);
    console.log(`engine first rows ${ratio(a.firstRowsMs, b.firstRowsMs)} (index scan of the file), sorted view ${ratio(a.sortedMs, b.sortedMs)}, cached sorted window ${ratio(a.sortedAgainMs, b.sortedAgainMs)}, filtered ${ratio(a.filteredMs, b.filteredMs)}, scroll per window ${ratio(a.scrollMsPerWindow, b.scrollMsPerWindow)}`);
    console.log(`engine memory: index ${ratio(a.indexMB, b.indexMB)} (${a.indexMB.toFixed(1)} -> ${b.indexMB.toFixed(1)} MB, bytes/record ${((b.indexMB * 1e6) / b.records).toFixed(0)}), file ${ratio(a.fileMB, b.fileMB)}; index/file size ${((b.indexMB / b.fileMB) * 100).toFixed(1)}%`);
    if (ui.length === 2) {
      const [x, y] = ui;
      console.log(`ui first rows ${ratio(x.firstRowsMs, y.firstRowsMs)}, sorted view ${ratio(x.sortedMs, y.sortedMs)}, scroll per jump ${ratio(x.scrollMsPerJump, y.scrollMsPerJump)}`);
      console.log(`webview JS heap ${ratio(x.webviewHeapMB, y.webviewHeapMB)} (${x.webviewHeapMB.toFixed(1)} -> ${y.webviewHeapMB.toFixed(1)} MB), extension host RSS ${ratio(x.extHostRssMB, y.extHostRssMB)} (${x.extHostRssMB.toFixed(0)} -> ${y.extHostRssMB.toFixed(0)} MB), engine RSS ${ratio(x.engineRssMB, y.engineRssMB)}`);
    }
    return { engine, ui };
  } finally {
    if (opts.keep) console.log(`kept ${tmp.dir}`);
    else tmp.remove();
  }
}

if (isMain(module)) {
  void gridBench({ engineOnly: process.argv.includes('--engine-only'), keep: process.argv.includes('--keep') }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
