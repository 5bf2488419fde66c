// OAuth sign-in in the real workbench (code-server + Chromium): "Zendesk: Sign In with OAuth" opens
// the simulator's authorization page in a new tab, Allow redirects to the workbench's /callback route
// (what vscode.env.asExternalUri gives on the web), the extension's UriHandler finishes the PKCE
// exchange; the account shows in the Accounts menu, an export runs with the bearer token, and
// "Zendesk: Sign Out" revokes it and removes the account.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { EPOCH, startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { REPO_ROOT, makeWorkspace, runCommand, screenshot, waitForNotification, withWorkbench } from '../support/vscode';

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The Accounts menu's entries (opens and closes the menu; with `shot`, a screenshot of it open). */
async function accountsMenu(page: Page, shot?: string): Promise<string> {
  await page.locator('.activitybar [aria-label^="Accounts"]').first().click();
  const menu = page.locator('.context-view .monaco-menu').first();
  await menu.waitFor({ state: 'visible', timeout: 10_000 });
  const text = await menu.innerText();
  if (shot) {
    await menu.locator('.action-label', { hasText: 'Sim OAuth' }).first().hover().catch(() => undefined);
    await screenshot(page, shot);
  }
  await page.keyboard.press('Escape');
  return text;
}

/**
 * code-server serves localhost URLs opened with openExternal through its /proxy/<port>/ route, and
 * re-encodes them on the way (encodeURI(uri.toString(true))), which splits the nested redirect_uri
 * (the workbench's /callback?vscode-reqid=…&vscode-scheme=…) into top-level parameters. Real Zendesk
 * is not localhost, so only the simulator is affected: put the parameters back and go to it directly.
 */
async function undoProxyMangling(context: BrowserContext, sim: RunningSimulator): Promise<void> {
  const port = new URL(sim.url).port;
  await context.route(new RegExp(`/proxy/${port}/oauth/authorizations/new\\?`), async (route) => {
    const q = new URL(route.request().url()).searchParams;
    const redirect = new URL(q.get('redirect_uri')!.replace(/%3F/i, '?'));
    for (const k of [...q.keys()]) {
      if (!k.startsWith('vscode-')) continue;
      redirect.searchParams.set(k, decodeURIComponent(q.get(k)!));
      q.delete(k);
    }
    q.set('redirect_uri', redirect.toString());
    await route.fulfill({ status: 302, headers: { location: `${sim.url}/oauth/authorizations/new?${q}` } });
  });
}

describe('OAuth sign-in in the real workbench', function () {
  this.timeout(600_000);
  let sim: RunningSimulator;

  before(async () => {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
    // Access tokens live 4 s and a page takes ≥ 250 ms: the export outlives its first token, so the
    // extension must refresh (ahead of expiry, or when the server asks after a 401).
    sim = await startSimulator({ seed: 21, counts: { tickets: 300 }, rateLimits: false, latencyMs: 250, oauth: { accessTokenTtlSeconds: 4 } });
  });
  after(async () => {
    await sim?.close();
  });

  it('signs in through the browser, shows the account, exports with refreshed bearer tokens, and signs out', async () => {
    const workspace = makeWorkspace({
      'oauth-tickets.zdquery.json': JSON.stringify({ name: 'OAuth tickets', connection: 'Sim OAuth', resource: 'tickets', startTime: EPOCH, params: { perPage: 20 } }, null, 2),
    }, 'zdx-oauth-');
    const settings = { 'zendesk.connections': [{ name: 'Sim OAuth', url: sim.url, authKind: 'oauth', oauthClientId: 'zdx-demo' }] };
    try {
      await withWorkbench({ name: 'oauth', workspace, extensionPath: REPO_ROOT, settings }, async ({ page }) => {
        const context = page.context();
        await undoProxyMangling(context, sim);

        // Sign in: the authorization page opens in a new tab; Allow sends the browser back to the workbench.
        const tab = context.waitForEvent('page', { timeout: 60_000 });
        await runCommand(page, 'Zendesk: Sign In with OAuth');
        const auth = await tab;
        await auth.locator('#allow').click({ timeout: 30_000 });
        await auth.waitForURL(/\/callback\?/, { timeout: 30_000 });
        const menu = await until('the account in the Accounts menu', async () => {
          const text = await accountsMenu(page);
          return text.includes('admin@example.com (Sim OAuth)') ? text : undefined;
        }, 30_000);
        assert.match(menu, /admin@example\.com \(Sim OAuth\)/);
        await accountsMenu(page, 'oauth-accounts-menu');
        const tokenRequests = sim.stats().requestLog.filter((l) => l.url === '/oauth/tokens');
        assert.equal(tokenRequests.length, 1);
        assert.equal(tokenRequests[0].status, 200);

        // Export: the server asks the extension for credentials; only a live OAuth token can pass.
        await page.keyboard.press('Escape');
        await runCommand(page, 'Zendesk: Run Query');
        const done = await waitForNotification(page, /Exported [\d,]+ new records from "OAuth tickets"/, 120_000);
        const expected = sim.expected('tickets/cursor', { startTime: EPOCH });
        assert.ok(done.includes(`${expected.length.toLocaleString('en-US')} new records`), done);
        const lines = readFileSync(join(workspace, 'oauth-tickets', 'tickets.jsonl'), 'utf8').split('\n').filter(Boolean);
        assert.deepEqual(lines.map((l) => { const r = JSON.parse(l) as { id: number; generated_timestamp: number }; return `${r.id}:${r.generated_timestamp}`; }),
          expected.map((r) => `${r.id}:${r.ts}`));
        const log = sim.stats().requestLog;
        const pages = log.filter((l) => l.url.startsWith('/api/v2/incremental') && l.status === 200);
        assert.ok(pages.length >= 15 && pages.every((l) => l.authorization), `${pages.length} pages`);
        const grants = log.filter((l) => l.url === '/oauth/tokens');
        assert.ok(grants.length >= 2 && grants.every((l) => l.status === 200), `the token was never refreshed: ${JSON.stringify(grants)}`);

        // Sign out: revoked at Zendesk, gone from the Accounts menu.
        await runCommand(page, 'Zendesk: Sign Out');
        await until('the revocation', async () => sim.stats().requestLog.some((l) => l.method === 'DELETE' && l.url.startsWith('/api/v2/oauth/tokens/current') && l.status === 204));
        await until('the account to leave the Accounts menu', async () => !(await accountsMenu(page)).includes('Sim OAuth'), 30_000);
        await screenshot(page, 'oauth-signed-out');
      });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
