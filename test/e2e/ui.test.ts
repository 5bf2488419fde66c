// UI tests on the real VS Code workbench (code-server + Chromium via Playwright): the Zendesk
// sidebar with connections, saved queries and a live run, and the command-palette New Export flow.
// Screenshots go to .test-output/screenshots/.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { buildExtension, makeWorkspace, REPO_ROOT, runCommand, screenshot, waitForNotification, withWorkbench } from '../support/vscode';
import { until } from '../support/until';
import { viewRows, openZendeskSidebar } from '../support/workbenchUi';

/**
 * A fresh workspace with the sample workspace's two saved queries, and nothing else: whatever a
 * person's demo left in sample-workspace/ (outputs, checkpoints) must not reach the test.
 */
function sampleWorkspace(): string {
  const root = join(REPO_ROOT, 'sample-workspace');
  const files: Record<string, string> = {};
  for (const name of ['tickets-since-2024.zdquery.json', 'all-users.zdquery.json']) files[name] = readFileSync(join(root, name), 'utf8');
  return makeWorkspace(files, 'zdx-ui-');
}

/** Picks an item in the open quick input once its placeholder (or prompt) shows `waitFor`. */
async function quickInput(page: Page, waitFor: string, type?: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await until(`quick input "${waitFor}"`, async () => {
    if (!(await widget.isVisible())) return false;
    const placeholder = await widget.locator('input').getAttribute('placeholder');
    const message = await widget.locator('.quick-input-message').innerText().catch(() => '');
    const title = await widget.locator('.quick-input-title').innerText().catch(() => '');
    return [placeholder ?? '', message, title].some((t) => t.includes(waitFor));
  }, 20_000);
  if (type !== undefined) await widget.locator('input').fill(type);
  // Accept once the list shows what was typed (it filters as it is typed).
  if (type) {
    const focused = widget.locator('.quick-input-list .monaco-list-row.focused');
    await until(`"${type}" focused in the quick input`, async () => (await focused.innerText().catch(() => '')).toLowerCase().includes(type.toLowerCase()), 20_000);
  }
  await page.keyboard.press('Enter');
}

describe('Zendesk sidebar and commands in the real workbench', function () {
  this.timeout(600_000);
  let sim: RunningSimulator;

  before(async () => {
    buildExtension();
    // Real rate limits, 30x faster: 10 requests per 2 s. Where the test watches a run, the
    // simulator holds it (sim.hold) instead of hoping the machine is slow enough.
    sim = await startSimulator({ port: 0, seed: 11, counts: { tickets: 6000, users: 300, organizations: 150 }, rateLimits: { timeScale: 30 } });
  });

  after(async () => {
    await sim?.close();
  });

  it('shows connections, saved queries and a run with live counts', async () => {
    const workspace = sampleWorkspace();
    try {
      await withWorkbench({ name: 'sidebar', workspace, extensionPath: REPO_ROOT, env: { ZDX_DEMO_SIMULATOR_URL: sim.url } }, async ({ page }) => {
        await openZendeskSidebar(page);
        const connections = viewRows(page, 'Connections');
        await until('the demo connection', async () => (await connections.allInnerTexts()).some((t) => t.includes('Demo (simulator)')), 60_000);
        const queries = viewRows(page, 'Saved Queries');
        await until('both saved queries', async () => {
          const texts = (await queries.allInnerTexts()).join('\n');
          return texts.includes('Tickets since 2024') && texts.includes('All users');
        });
        await screenshot(page, 'sidebar-connections-and-queries');

        // Run from the inline action of the saved query; the simulator holds it after its first page.
        sim.hold({ afterPages: 1, path: '/tickets/cursor', maxHoldMs: 300_000 });
        const row = queries.filter({ hasText: 'Tickets since 2024' }).first();
        await row.hover();
        await row.locator('.action-label[aria-label="Run Query"]').click();
        await sim.waitForHeld(60_000);

        // Counts as records are written: after one page of 500 (the query's perPage), 500 records
        // and "1 page", in Runs and in the status bar alike.
        const expected = sim.expected('tickets/cursor', { startTime: Date.parse('2024-01-01T00:00:00Z') / 1000 }).length;
        const perPage = 500;
        assert.ok(expected > 2 * perPage, `the seeded account has ${expected} tickets since 2024: enough for several pages`);
        const runs = viewRows(page, 'Runs');
        const statusBar = page.locator('.part.statusbar');
        const live = await until('the first page\'s counts in Runs and the status bar', async () => {
          const t = (await runs.allInnerTexts()).join('\n');
          const status = await statusBar.innerText();
          return /(?:running|waiting[^·]*) · 500 records · 1 page\b/.test(t) && /Tickets since 2024: 500 records, 1 page\b/.test(status) ? { text: t, status } : undefined;
        }, { timeoutMs: 60_000, found: async () => `Runs: ${JSON.stringify(await runs.allInnerTexts())}; status bar: ${JSON.stringify(await statusBar.innerText())}` });
        assert.match(live.text, /Tickets since 2024/);
        assert.doesNotMatch(live.status, /\b1 pages\b|\b1 records\b/);
        // TreeView.badge on Runs shows on the Zendesk container in the activity bar while running.
        const badge = page.locator('.activitybar .action-item').filter({ has: page.locator('[aria-label^="Zendesk"]') }).locator('.badge-content').filter({ hasText: /^\d+$/ });
        await badge.first().waitFor({ state: 'visible', timeout: 30_000 });
        await screenshot(page, 'sidebar-run-live');
        sim.release();

        const done = await waitForNotification(page, /Exported [\d,]+ new records from "Tickets since 2024"/, 120_000);
        assert.ok(done.includes(`${expected.toLocaleString('en-US')} new records`), `${done} (expected ${expected})`);
        await until('the finished run', async () => ((await runs.allInnerTexts()).join('\n').includes('caught up') ? true : undefined));
        await screenshot(page, 'sidebar-run-done');
        const out = join(workspace, 'tickets-since-2024', 'tickets.jsonl');
        assert.equal(readFileSync(out, 'utf8').split('\n').filter(Boolean).length, expected);
        assert.ok(existsSync(join(workspace, 'tickets-since-2024', 'tickets.users.jsonl')), 'sideloaded users beside the output');
      });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  it('creates and runs an export from the command palette (New Export…)', async () => {
    const workspace = sampleWorkspace();
    try {
      await withWorkbench({ name: 'new-export', workspace, extensionPath: REPO_ROOT, env: { ZDX_DEMO_SIMULATOR_URL: sim.url } }, async ({ page }) => {
        await openZendeskSidebar(page);
        await until('the demo connection', async () => (await viewRows(page, 'Connections').allInnerTexts()).some((t) => t.includes('Demo (simulator)')), 60_000);
        await runCommand(page, 'Zendesk: New Export…');
        await quickInput(page, 'Export from which connection?', 'Demo');
        await quickInput(page, 'Which resource?', 'organizations');
        await quickInput(page, 'Export records changed since', 'Everything');
        await quickInput(page, 'Options');
        await quickInput(page, 'Output format', 'csv');
        await quickInput(page, 'Name of the export');
        await screenshot(page, 'new-export-output-step');
        await quickInput(page, 'Output file');
        await quickInput(page, 'What now?', 'Save as query file and run');
        const done = await waitForNotification(page, /Exported [\d,]+ new records from "organizations from the beginning"/, 120_000);
        const expected = sim.expected('organizations', { startTime: 0 }).length;
        assert.ok(done.includes(`${expected} new records`), `${done} (expected ${expected})`);
        await screenshot(page, 'new-export-done');
        const query = JSON.parse(readFileSync(join(workspace, 'organizations-from-the-beginning.zdquery.json'), 'utf8')) as Record<string, unknown>;
        assert.deepEqual(query, { name: 'organizations from the beginning', connection: 'Demo (simulator)', resource: 'organizations', startTime: 0, output: { format: 'csv' } });
        const csv = readFileSync(join(workspace, 'organizations-from-the-beginning', 'organizations.csv'), 'utf8').trim().split('\n');
        assert.ok(csv.length >= expected + 1, `${csv.length} CSV lines for ${expected} records`);
        await until('the new query in Saved Queries', async () => ((await viewRows(page, 'Saved Queries').allInnerTexts()).join('\n').includes('organizations from the beginning') ? true : undefined));
      });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
