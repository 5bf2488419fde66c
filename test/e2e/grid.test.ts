// The results grid in the real VS Code workbench (code-server + Chromium via Playwright): rows of a
// running export stream in, sort and filter run in the engine and match the file, the record pane
// shows the selected record, copy puts TSV on the clipboard, the view exports to a file, a ticket
// subject holding HTML shows as text and runs nothing, and the grid comes back after a reload.
// Screenshots go to .test-output/screenshots/grid-*.png.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { until } from '../support/until';
import { buildExtension, makeWorkspace, notificationTexts, REPO_ROOT, runCommand, screenshot, waitForNotification, waitForWorkbench, webviewFrame, withWorkbench } from '../support/vscode';

type Rec = Record<string, unknown>;
const XSS = '<img src=x onerror=alert(1)>';

/** The last lines of the extension's output channel log (it has the engine server's lines), for failure messages. */
function extensionLogTail(userDataDir: string, lines = 15): string {
  const logs = join(userDataDir, 'logs');
  const file = existsSync(logs)
    ? readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('Zendesk Export.log')).map((f) => join(logs, f))[0]
    : undefined;
  return file ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no extension log)';
}

/** What a JSON Lines file holds, for failure messages: missing, or its size and record count. */
function describeJsonl(file: string): string {
  if (!existsSync(file)) return `${file} does not exist`;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const unparsable = lines.filter((l) => {
    try {
      JSON.parse(l);
      return false;
    } catch {
      return true;
    }
  }).length;
  return `${file} has ${lines.length} rows${unparsable ? ` (${unparsable} unparsable)` : ''}`;
}

function readJsonl(file: string): Rec[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Rec);
}

const num = (text: string) => Number(text.replace(/,/g, ''));

/** The grid's webview (the one whose document has #row-count). */
function grid(page: Page): FrameLocator {
  return webviewFrame(page);
}

/** Texts of one column for the first `n` rendered rows, by row index. */
async function columnTexts(frame: FrameLocator, col: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const cell = frame.locator(`.ag-row[row-index="${i}"] .ag-cell[col-id="${col}"]`).first();
    out.push((await cell.innerText({ timeout: 10_000 })).trim());
  }
  return out;
}

/**
 * Waits until the first rows of a column show `expected` (AG Grid paints rows after the count
 * changes, so a cell may still be empty when the count is right); fails naming what it showed.
 */
async function columnShows(frame: FrameLocator, col: string, expected: string[], timeoutMs = 30_000): Promise<void> {
  let shown: string[] = [];
  await until(`the ${col} column to show ${JSON.stringify(expected)}`, async () => {
    shown = await columnTexts(frame, col, expected.length);
    return JSON.stringify(shown) === JSON.stringify(expected);
  }, { timeoutMs, found: () => JSON.stringify(shown) });
}

async function rowCount(frame: FrameLocator): Promise<{ shown: number; file: number }> {
  const t = await frame.locator('#row-count').innerText();
  const m = /^([\d,]+) of ([\d,]+) records$/.exec(t) ?? /^([\d,]+) records$/.exec(t);
  if (!m) throw new Error(`unexpected count "${t}"`);
  return { shown: num(m[1]), file: num(m[2] ?? m[1]) };
}

/** Opens a workspace file in the editor through Quick Open (retried: file search needs a moment after start). */
async function quickOpen(page: Page, name: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // The list filters as it is typed: Enter only once the row with the name is the focused one.
  const focused = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first();
  await until(`"${name}" focused in Quick Open`, async () => {
    if (!(await input.isVisible())) {
      await page.locator('.monaco-workbench').focus().catch(() => undefined);
      await page.keyboard.press('Control+P');
      await input.waitFor({ state: 'visible', timeout: 5000 });
    }
    if ((await input.inputValue()) !== name) await input.fill(name);
    if (await focused.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) return true;
    await page.keyboard.press('Escape');
    return false;
  }, 60_000);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
}

async function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

describe('Results grid in the real workbench', function () {
  this.timeout(600_000);
  let sim: RunningSimulator;

  before(async () => {
    buildExtension();
    // Real rate limits 30x faster; the test holds the export (sim.hold) where it must watch it run.
    sim = await startSimulator({ port: 0, seed: 23, counts: { tickets: 3000 }, rateLimits: { timeScale: 30 } });
  });

  after(async () => {
    await sim?.close();
  });

  it('streams a running export, sorts, filters, shows the record, copies TSV and exports the view', async () => {
    const query = {
      name: 'Grid tickets',
      connection: 'Demo (simulator)',
      resource: 'tickets',
      pagination: 'cursor',
      startTime: '2024-01-01',
      params: { perPage: 100 },
      output: { path: 'out/tickets.jsonl', format: 'jsonl' },
    };
    const workspace = makeWorkspace({ 'grid-tickets.zdquery.json': JSON.stringify(query, null, 2) }, 'zdx-grid-');
    const output = join(workspace, 'out', 'tickets.jsonl');
    try {
      await withWorkbench({ name: 'grid-stream', workspace, extensionPath: REPO_ROOT, env: { ZDX_DEMO_SIMULATOR_URL: sim.url } }, async ({ page, server }) => {
        await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });

        // The extension adopts the simulator as the "Demo (simulator)" connection at activation:
        // wait for it in the Zendesk side bar.
        await until('the demo connection', async () => {
          const item = page.locator('.activitybar .action-item [aria-label^="Zendesk"]').first();
          if (!(await item.isVisible())) return false;
          if (!(await page.locator('.part.sidebar .pane-header', { hasText: 'Connections' }).first().isVisible())) await item.click();
          const rows = page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: 'Connections' }) }).locator('.monaco-list-row');
          return (await rows.allInnerTexts()).some((t) => t.includes('Demo (simulator)'));
        }, 90_000);
        await quickOpen(page, 'grid-tickets.zdquery.json');
        // The export stops after two pages, inside the simulator, until the test has looked.
        sim.hold({ afterPages: 2, path: '/tickets/cursor', maxHoldMs: 300_000 });
        await runCommand(page, 'Zendesk: Run Query');
        // A quick pick may ask which query when the editor isn't focused; the only one is first.
        const pick = page.locator('.quick-input-widget input[placeholder="Run which saved query?"]');
        await until('the export to reach its third page (or the query pick to answer)', async () => {
          if (await pick.isVisible()) await page.keyboard.press('Enter');
          return sim.heldRequests().length > 0;
        }, 60_000);

        // While it runs: Runs view, the run's context menu, "Open in Grid".
        await until('the two pages in the output', async () => existsSync(output) && readFileSync(output, 'utf8').split('\n').length > 200, 60_000);
        const run = page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header', { hasText: 'Runs' }) }).locator('.monaco-list-row', { hasText: 'Grid tickets' }).first();
        await run.click({ button: 'right', timeout: 30_000 });
        const openItem = page.locator('.context-view .action-item', { hasText: 'Open in Grid' }).first();
        await openItem.waitFor({ state: 'visible', timeout: 15_000 });
        await openItem.click();
        const frame = grid(page);
        await frame.locator('#row-count').waitFor({ state: 'visible', timeout: 60_000 });

        // Rows appear while the export still runs (held at its third page), and the count grows
        // when two more pages are let through.
        const first = await until('the two pages\' rows while exporting', async () => {
          const live = await frame.locator('#live-state').innerText();
          const c = await rowCount(frame);
          return c.file === 200 && /exporting|waiting/.test(live) ? c.file : undefined;
        }, { timeoutMs: 60_000, found: async () => `"${await frame.locator('#row-count').innerText().catch(() => '?')}", "${await frame.locator('#live-state').innerText().catch(() => '?')}"` });
        await frame.locator('.ag-row[row-index="0"] .ag-cell[col-id="id"]').waitFor({ timeout: 20_000 });
        await screenshot(page, 'grid-streaming');
        sim.release();
        sim.hold({ afterPages: 2, path: '/tickets/cursor', maxHoldMs: 300_000 });
        await sim.waitForHeld(60_000);
        const later = await until('two more pages\' rows while exporting', async () => {
          const live = await frame.locator('#live-state').innerText();
          const c = await rowCount(frame);
          return c.file === 500 && /exporting|waiting/.test(live) ? c.file : undefined;
        }, 60_000);
        assert.ok(later > first);
        sim.release();
        const finishedNote = await waitForNotification(page, /Exported [\d,]+ new records from "Grid tickets"/, 180_000).catch(() => '');
        const records = readJsonl(output);
        await until('every record in the grid', async () => (await rowCount(frame)).file === records.length && /finished/.test(await frame.locator('#live-state').innerText()), 60_000);
        assert.ok(first < records.length, `rows showed before the end (${first} of ${records.length}; ${finishedNote})`);
        if (await page.locator('.notifications-center').isVisible()) await page.keyboard.press('Escape');

        // Sort by subject (click the header): the first rows are the file's records in subject order.
        await frame.locator('.ag-header-cell[col-id="subject"] .ag-header-cell-label').click();
        const bySubject = records
          .map((r, i) => ({ r, i }))
          .sort((a, b) => {
            const x = String(a.r.subject).toLowerCase();
            const y = String(b.r.subject).toLowerCase();
            return x < y ? -1 : x > y ? 1 : a.i - b.i;
          })
          .map((x) => String(x.r.id));
        await columnShows(frame, 'id', bySubject.slice(0, 8));
        await screenshot(page, 'grid-sorted');

        // Filter status contains "solved" (floating filter): only solved tickets, as many as the file has.
        await frame.locator(`.ag-floating-filter[col-id="status"] input`).fill('solved');
        const solved = records.filter((r) => String(r.status).toLowerCase().includes('solved'));
        await until('the filtered count', async () => (await rowCount(frame)).shown === solved.length, 30_000);
        await columnShows(frame, 'status', Array(Math.min(8, solved.length)).fill('solved'));
        const solvedBySubject = bySubject.filter((id) => solved.some((r) => String(r.id) === id));
        await columnShows(frame, 'id', solvedBySubject.slice(0, Math.min(5, solved.length)));
        await screenshot(page, 'grid-filtered');

        // The record pane shows the clicked row's record as formatted JSON.
        const idCell = frame.locator('.ag-row[row-index="2"] .ag-cell[col-id="id"]');
        const id = Number((await idCell.innerText()).trim());
        await idCell.click();
        const detail = await until('the record pane', async () => {
          const t = await frame.locator('#detail').innerText();
          return t.includes(`"id": ${id}`) ? t : undefined;
        });
        assert.deepEqual(JSON.parse(detail), records.find((r) => r.id === id));
        await screenshot(page, 'grid-detail');

        // Copy the selected row as TSV: header line + the row's visible cells, pasteable into a spreadsheet.
        await frame.locator('#copy-tsv').click();
        const tsv = await until('TSV on the clipboard', async () => {
          const t = await readClipboard(page);
          return t.includes('\t') && t.includes(String(id)) ? t : undefined;
        });
        const [header, row] = tsv.split('\n');
        const cols = header.split('\t');
        assert.deepEqual(cols.slice(0, 3), ['id', 'subject', 'status']);
        const cells = row.split('\t');
        const rec = records.find((r) => r.id === id)!;
        assert.equal(cells[0], String(id));
        assert.equal(cells[1], String(rec.subject));
        assert.equal(cells[2], 'solved');
        // Ctrl+C on the grid does the same.
        await page.evaluate(() => navigator.clipboard.writeText('-'));
        await idCell.click();
        await page.keyboard.press('Control+C');
        await until('Ctrl+C copy', async () => ((await readClipboard(page)).startsWith('id\t') ? true : undefined));

        // Copy JSON: the whole record of the selected row, through the extension host's clipboard.
        await frame.locator('#copy-json').click();
        const json = await until('JSON on the clipboard', async () => {
          const t = await readClipboard(page);
          return t.startsWith('{') ? t : undefined;
        });
        assert.deepEqual(JSON.parse(json), rec);

        // Export the current view (filter + sort) through the save dialog (VS Code's simple dialog here).
        const target = join(workspace, 'out', 'solved-view.jsonl');
        await frame.locator('#export-jsonl').click();
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 15_000 });
        // VS Code's simple file dialog shows its input before it has listed the folder; when the listing
        // arrives it replaces the value with the proposed name (out/tickets-view.jsonl), discarding a path
        // typed meanwhile, and Enter then saves there. So wait for the proposal before typing; Enter may
        // still be swallowed while it completes the path: press it until the dialog closes.
        const proposed = join(workspace, 'out', 'tickets-view.jsonl');
        await until('the save dialog to propose out/tickets-view.jsonl', async () => ((await input.inputValue()) === proposed ? true : undefined), { timeoutMs: 15_000, found: async () => `the dialog shows "${await input.inputValue()}"` });
        await input.fill(target);
        await until('the typed path', async () => ((await input.inputValue()) === target ? true : undefined), 10_000);
        // What the dialog held at each Enter: the failure message shows which path it accepted.
        const accepted: string[] = [];
        await until('the save dialog to close', async () => {
          if (!(await input.isVisible())) return true;
          accepted.push(await input.inputValue().catch(() => '(closed)'));
          await page.keyboard.press('Enter');
          return false;
        }, { timeoutMs: 30_000, intervalMs: 1_000, found: () => `dialog value at each Enter: ${JSON.stringify(accepted)}` });
        await until('the exported view', async () => existsSync(target) && readJsonl(target).length === solved.length, { timeoutMs: 30_000, found: async () => {
          const outDir = join(workspace, 'out');
          const others = readdirSync(outDir).filter((n) => n.endsWith('.jsonl') && n !== 'tickets.jsonl' && join(outDir, n) !== target);
          const gridError = (await frame.locator('#error').innerText({ timeout: 2000 }).catch(() => '')).trim();
          const notes = (await notificationTexts(page).catch(() => [])).filter((t) => /Export/.test(t));
          return [
            `${describeJsonl(target)} (the view has ${solved.length})`,
            `other .jsonl files in out/: ${others.length ? others.map((n) => describeJsonl(join(outDir, n))).join('; ') : 'none'}`,
            `dialog value at each Enter: ${JSON.stringify(accepted)}; dialog still open: ${await input.isVisible()}`,
            `grid error: ${gridError || 'none'}`,
            `notifications: ${JSON.stringify(notes)}`,
            `extension log:\n${extensionLogTail(server.userDataDir)}`,
          ].join('\n');
        } });
        assert.deepEqual(readJsonl(target).map((r) => String(r.id)), solvedBySubject);
        assert.deepEqual(dialogs, []);
      });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  it('opens an existing file from the explorer, shows HTML in values as text, and comes back after a reload', async () => {
    const records: Rec[] = [
      { id: 1, subject: XSS, status: 'open', description: '<script>window.parent.postMessage("pwned","*");alert(2)</script>', via: { channel: 'web' } },
      { id: 2, subject: 'plain subject', status: 'solved', description: '"><svg onload=alert(3)>', via: { channel: 'email' } },
      { id: 3, subject: '{{constructor.constructor("alert(4)")()}}', status: 'new', description: 'x', via: { channel: 'api' } },
    ];
    const workspace = makeWorkspace({ 'xss/tickets.jsonl': records.map((r) => JSON.stringify(r)).join('\n') + '\n' }, 'zdx-grid-xss-');
    try {
      await withWorkbench({ name: 'grid-xss', workspace, extensionPath: REPO_ROOT }, async ({ page }) => {
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        // Explorer: expand the folder, right-click the file, "Open in Grid".
        const explorerRow = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
        await page.keyboard.press('Control+Shift+E');
        await explorerRow('xss').click({ timeout: 30_000 });
        const item = page.locator('.context-view .action-item', { hasText: 'Open in Grid' }).first();
        // The menu has the extension's entry once the extension host has loaded it: reopen until then.
        await until('the explorer context menu entry', async () => {
          await explorerRow('tickets.jsonl').click({ button: 'right', timeout: 15_000 });
          if (await item.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) return true;
          await page.keyboard.press('Escape');
          return false;
        }, 90_000);
        await item.click();

        const frame = grid(page);
        await until('three rows', async () => (await rowCount(frame)).file === 3, 60_000);
        await columnShows(frame, 'subject', records.map((r) => String(r.subject)));
        // The payload is text: no element was created from it, nothing ran.
        assert.equal(await frame.locator('.ag-root img, .ag-root svg[onload], .ag-root script').count(), 0);
        await frame.locator('.ag-row[row-index="0"] .ag-cell[col-id="subject"]').click();
        await until('the record pane', async () => ((await frame.locator('#detail').innerText()).includes('onerror=alert(1)') ? true : undefined));
        assert.equal(await frame.locator('#detail img, #detail script').count(), 0);
        assert.equal(await frame.locator('#detail-pane script, body img').count(), 0);
        const titles = await frame.locator('#title').innerText();
        assert.match(titles, /tickets\.jsonl/);
        await screenshot(page, 'grid-xss-as-text');
        assert.deepEqual(dialogs, []);

        // Column chooser: add a nested field, freeze (pin) the subject column.
        await frame.locator('#columns').click();
        await frame.locator('vscode-checkbox[data-column="via.channel"]').click();
        await columnShows(frame, 'via.channel', ['web', 'email', 'api']);
        await frame.locator('[data-pin="subject"]').click();
        await frame.locator('.ag-grid-pinned-left-cells [col-id="subject"]').first().waitFor({ timeout: 10_000 });
        await frame.locator('#chooser-close').click();
        await screenshot(page, 'grid-columns-pinned');

        // Filter through the floating filter, then reload the window: the serializer restores the grid with its filter.
        await frame.locator(`.ag-floating-filter[col-id="status"] input`).fill('solv');
        // The grid saves its state (vscode.setState) when the filter changes, before it asks for the
        // filtered rows, over the same channel: once the count shows them, the state is with the workbench.
        await until('the filtered view', async () => (await rowCount(frame)).shown === 1, 20_000);
        // Reload through the workbench (its shutdown saves the editors' state, as a person's reload does).
        const reloaded = page.waitForEvent('load', { timeout: 60_000 });
        await runCommand(page, 'Developer: Reload Window');
        await reloaded;
        await waitForWorkbench(page);
        const restored = grid(page);
        // After a reload the extension host starts again and activates before the grid can restore:
        // on a loaded machine that alone took a minute.
        await until('the restored grid', async () => {
          const c = await rowCount(restored);
          return c.file === 3 && c.shown === 1 ? true : undefined;
        }, 180_000);
        await columnShows(restored, 'subject', ['plain subject']);
        await columnShows(restored, 'via.channel', ['email']);
        // Still frozen (pinned) after the reload.
        await restored.locator('.ag-grid-pinned-left-cells [col-id="subject"]').first().waitFor({ timeout: 30_000 });
        await screenshot(page, 'grid-restored-after-reload');
        assert.deepEqual(dialogs, []);
      });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
