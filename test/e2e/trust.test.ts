// Restricted Mode on the real workbench (code-server + Chromium via Playwright): in an untrusted
// workspace the workspace's `zendesk.connections` is ignored, and a saved query runs only after
// the person confirms the modal — cancelling it sends nothing and writes nothing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { buildExtension, makeWorkspace, REPO_ROOT, screenshot, waitForNotification, withWorkbench } from '../support/vscode';
import { until } from '../support/until';
import { viewRows, openZendeskSidebar } from '../support/workbenchUi';

async function runFromSidebar(page: Page, queryName: string): Promise<void> {
  const row = viewRows(page, 'Saved Queries').filter({ hasText: queryName }).first();
  await row.hover();
  await row.locator('.action-label[aria-label="Run Query"]').click();
}

/** The workbench's modal dialog once its message matches. */
async function modalDialog(page: Page, message: RegExp) {
  const dialog = page.locator('.monaco-dialog-box');
  await until(`a modal dialog matching ${message}`, async () => {
    if (!(await dialog.isVisible())) return false;
    return message.test(await dialog.innerText());
  }, 30_000);
  return dialog;
}

describe('untrusted workspace (Restricted Mode) in the real workbench', function () {
  this.timeout(600_000);
  // The workspace's own connection points here: nothing may ever reach it while untrusted.
  let workspaceSim: RunningSimulator;
  // The user-level "Demo (simulator)" connection (from ZDX_DEMO_SIMULATOR_URL).
  let userSim: RunningSimulator;

  before(async () => {
    buildExtension();
    workspaceSim = await startSimulator({ port: 0, seed: 5, counts: { organizations: 40 }, rateLimits: false });
    userSim = await startSimulator({ port: 0, seed: 7, counts: { organizations: 60 }, rateLimits: false });
  });

  after(async () => {
    await workspaceSim?.close();
    await userSim?.close();
  });

  it('ignores workspace connections and runs a query only after the modal is confirmed', async () => {
    const workspace = makeWorkspace({
      '.vscode/settings.json': JSON.stringify({
        'zendesk.connections': [{ name: 'Workspace Sim', url: workspaceSim.url, authKind: 'apiToken', email: 'admin@example.com' }],
      }, null, 2),
      'workspace-orgs.zdquery.json': JSON.stringify({ name: 'Workspace orgs', connection: 'Workspace Sim', resource: 'organizations', startTime: 0 }, null, 2),
      'demo-orgs.zdquery.json': JSON.stringify({ name: 'Demo orgs', connection: 'Demo (simulator)', resource: 'organizations', startTime: 0 }, null, 2),
    }, 'zdx-trust-');
    const output = join(workspace, 'demo-orgs', 'organizations.jsonl');
    try {
      await withWorkbench({ name: 'untrusted', workspace, extensionPath: REPO_ROOT, workspaceTrust: true, env: { ZDX_DEMO_SIMULATOR_URL: userSim.url } }, async ({ page }) => {
        // Really Restricted Mode, not a trusted workspace that merely has trust enabled.
        await page.locator('.part.statusbar').getByText('Restricted Mode').first().waitFor({ state: 'visible', timeout: 60_000 });
        await openZendeskSidebar(page);

        // (1) The user-level connection is listed, the workspace one is not.
        const connections = viewRows(page, 'Connections');
        await until('the demo connection', async () => (await connections.allInnerTexts()).some((t) => t.includes('Demo (simulator)')), 60_000);
        assert.ok(!(await connections.allInnerTexts()).some((t) => t.includes('Workspace Sim')), 'the workspace connection is not listed');
        await until('both saved queries', async () => {
          const texts = (await viewRows(page, 'Saved Queries').allInnerTexts()).join('\n');
          return texts.includes('Workspace orgs') && texts.includes('Demo orgs');
        });
        await screenshot(page, 'untrusted-sidebar');

        // Running the query on the workspace connection says why it is not configured.
        await runFromSidebar(page, 'Workspace orgs');
        await waitForNotification(page, /"Workspace Sim", which is not configured \(workspace connections are ignored until you trust the workspace\)/, 30_000);
        await page.keyboard.press('Escape');

        // (2) A user-level connection: the modal asks first; cancelling sends and writes nothing.
        const before = userSim.stats().requests;
        await runFromSidebar(page, 'Demo orgs');
        const dialog = await modalDialog(page, /Run "Demo orgs" in this untrusted workspace\?/);
        assert.match(await dialog.innerText(), new RegExp(`send requests to ${userSim.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        await screenshot(page, 'untrusted-run-confirmation');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
        assert.equal(userSim.stats().requests, before, 'no request after Cancel');
        assert.ok(!existsSync(join(workspace, 'demo-orgs')), 'no output folder after Cancel');

        // (3) Confirming runs it.
        await runFromSidebar(page, 'Demo orgs');
        const again = await modalDialog(page, /Run "Demo orgs" in this untrusted workspace\?/);
        await again.getByRole('button', { name: 'Run', exact: true }).click();
        const done = await waitForNotification(page, /Exported [\d,]+ new records from "Demo orgs"/, 120_000);
        const expected = userSim.expected('organizations', { startTime: 0 }).length;
        assert.ok(done.includes(`${expected} new records`), `${done} (expected ${expected})`);
        assert.equal(readFileSync(output, 'utf8').split('\n').filter(Boolean).length, expected);
        // Exactly one run started since Cancel: a run the cancelled modal had started anyway would
        // have sent its own first request (start_time=0) by the time the confirmed one finished.
        const firstRequests = userSim.stats().requestLog.filter((l) => l.url.startsWith('/api/v2/incremental/organizations') && /[?&]start_time=0(&|$)/.test(l.url));
        assert.equal(firstRequests.length, 1, JSON.stringify(firstRequests));
      });
      // Throughout, not one request (nor token) went to the workspace's connection.
      assert.equal(workspaceSim.stats().requests, 0, 'nothing was sent to the workspace connection');
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
