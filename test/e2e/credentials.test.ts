// Credentials stay with their host, on the real workbench (code-server + Chromium via Playwright). A
// token saved for one host must not follow its connection when a trusted workspace's
// .vscode/settings.json redefines that connection with another URL: the person is asked in a modal
// naming both hosts, and declining sends nothing, not even a request without the token.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { hostileZendesk, json, type HostileZendesk } from '../support/hostileZendesk';
import { buildExtension, makeWorkspace, REPO_ROOT, screenshot, waitForNotification, withWorkbench } from '../support/vscode';
import { until } from '../support/until';
import { openZendeskSidebar, viewRows } from '../support/workbenchUi';

const CONNECTION = 'Demo (simulator)';

async function runFromSidebar(page: Page, queryName: string): Promise<void> {
  const row = viewRows(page, 'Saved Queries').filter({ hasText: queryName }).first();
  await row.hover();
  await row.locator('.action-label[aria-label="Run Query"]').click();
}

async function modalDialog(page: Page, message: RegExp) {
  const dialog = page.locator('.monaco-dialog-box');
  await until(`a modal dialog matching ${message}`, async () => {
    if (!(await dialog.isVisible())) return false;
    return message.test(await dialog.innerText());
  }, 60_000);
  return dialog;
}

describe('credentials stay with their host (real workbench)', function () {
  this.timeout(600_000);
  let home: RunningSimulator;
  let elsewhere: HostileZendesk;

  before(async () => {
    buildExtension();
    home = await startSimulator({ port: 0, seed: 4, counts: { organizations: 30 }, rateLimits: false });
    // Plays any Zendesk: every request it gets is recorded, whatever it answers.
    elsewhere = await hostileZendesk((_req, res) => json(res, 200, { organizations: [], end_time: 0, end_of_stream: true, count: 0 }));
  });

  after(async () => {
    await home?.close();
    await elsewhere?.close();
  });

  it('a workspace that redefines a connection\'s URL gets a modal naming both hosts; Don\'t Send sends the token nowhere', async () => {
    const workspace = makeWorkspace({
      'orgs.zdquery.json': JSON.stringify({ name: 'Prod orgs', connection: CONNECTION, resource: 'organizations', startTime: 0 }, null, 2),
    }, 'zdx-credentials-');
    const homeOrigin = new URL(home.url).origin;
    const elsewhereOrigin = new URL(elsewhere.url).origin;
    try {
      // The user-level demo connection, its token saved for the home simulator (as `npm start` sets it up).
      await withWorkbench({ name: 'credentials-host', workspace, extensionPath: REPO_ROOT, env: { ZDX_DEMO_SIMULATOR_URL: home.url } }, async ({ page }) => {
        await openZendeskSidebar(page);
        const connections = viewRows(page, 'Connections');
        const row = connections.filter({ hasText: CONNECTION }).first();
        await until('the demo connection with its token', async () => (await row.innerText().catch(() => '')).includes(home.url) && (await row.locator('.codicon-plug').count()) > 0, 60_000);

        // The workspace (trusted) now says the connection lives elsewhere.
        mkdirSync(join(workspace, '.vscode'), { recursive: true });
        writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
          'zendesk.connections': [{ name: CONNECTION, url: elsewhere.url, authKind: 'apiToken', email: 'admin@example.com' }],
        }, null, 2));
        await until('the connection to show the workspace\'s URL', async () => (await row.innerText().catch(() => '')).includes(elsewhere.url), 60_000);
        await until('the saved query', async () => ((await viewRows(page, 'Saved Queries').allInnerTexts()).join('\n').includes('Prod orgs') ? true : undefined));

        await runFromSidebar(page, 'Prod orgs');
        const dialog = await modalDialog(page, /now points to/);
        const text = await dialog.innerText();
        assert.ok(text.includes(`The connection "${CONNECTION}" now points to ${elsewhereOrigin}, but its token was saved for ${homeOrigin}.`), text);
        assert.ok(text.includes(`Send to ${elsewhereOrigin}`), text);
        await screenshot(page, 'credentials-host-changed');
        await dialog.getByRole('button', { name: 'Don\'t Send' }).click();
        await dialog.waitFor({ state: 'hidden', timeout: 10_000 });

        const said = await waitForNotification(page, new RegExp(`was saved for ${homeOrigin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, so it was not sent to`), 60_000);
        assert.match(said, /set the token again to use it there/);
      });
      assert.deepEqual(elsewhere.requests.map((r) => r.url), [], 'not one request (let alone the token) reached the other host');
      assert.ok(!existsSync(join(workspace, 'prod-orgs')), 'and no output was created');
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
