// OAuth sign-in in the real workbench (code-server + Chromium): "Zendesk: Sign In with OAuth" opens
// the simulator's authorization page in a new tab, Allow redirects to the workbench's /callback route
// (what vscode.env.asExternalUri gives on the web), the extension's UriHandler finishes the PKCE
// exchange; the account shows in the Accounts menu, an export runs with the bearer token, and
// "Zendesk: Sign Out" revokes it and removes the account. A second workbench forces the desktop
// redirect (`zendesk.oauth.redirect: "loopback"`): the test plays the browser, from the authorization
// URL to the extension host's listener on 127.0.0.1, then a denied sign-in and a busy port.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { EPOCH, startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import { buildExtension, makeWorkspace, REPO_ROOT, runCommand, screenshot, waitForNotification, withWorkbench } from '../support/vscode';
import { until } from '../support/until';

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

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** True once nothing listens on 127.0.0.1:port any more. */
async function refused(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/callback`, { signal: AbortSignal.timeout(5_000) });
    return false;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

describe('OAuth sign-in in the real workbench', function () {
  this.timeout(600_000);
  let sim: RunningSimulator;
  /** The simulator's OAuth clock runs this far ahead: moving it expires every token at a moment the test picks. */
  let skewMs = 0;

  before(async () => {
    buildExtension();
    // Tokens expire when the test moves the OAuth clock, while it holds the export: the export
    // outlives two tokens on any machine, so the extension must refresh when the server asks after a 401.
    sim = await startSimulator({ seed: 21, counts: { tickets: 300 }, rateLimits: false, oauth: { now: () => Date.now() + skewMs } });
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
        // Twice, with the export held, every token expires: one refresh each time, through the provider.
        await page.keyboard.press('Escape');
        sim.hold({ afterPages: 3, path: '/tickets/cursor', maxHoldMs: 300_000 });
        await runCommand(page, 'Zendesk: Run Query');
        for (let expiry = 1; expiry <= 2; expiry++) {
          await sim.waitForHeld(120_000);
          skewMs += 2 * 3600_000;
          sim.release();
          if (expiry === 1) sim.hold({ afterPages: 3, path: '/tickets/cursor', maxHoldMs: 300_000 });
        }
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
        assert.deepEqual(grants.map((l) => l.status), [200, 200, 200], 'the sign-in, then one refresh per expiry');
        assert.equal(sim.stats().refreshTokenReuses, 0, 'no refresh token was presented twice');
        assert.equal(sim.stats().byStatus[401], 2, 'the export was refused once per expiry');

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
  it('with the loopback redirect: the extension host receives the code on 127.0.0.1:<loopbackPort>, then closes the listener', async () => {
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/callback`;
    const workspace = makeWorkspace({ 'README.md': 'loopback sign-in\n' }, 'zdx-oauth-loopback-');
    const settings = {
      'zendesk.connections': [{ name: 'Sim OAuth', url: sim.url, authKind: 'oauth', oauthClientId: 'zdx-demo' }],
      'zendesk.oauth.redirect': 'loopback',
      'zendesk.oauth.loopbackPort': port,
    };
    let blocker: Server | undefined;
    try {
      await withWorkbench({ name: 'oauth-loopback', workspace, extensionPath: REPO_ROOT, settings }, async ({ page }) => {
        // The extension opens the authorization URL with openExternal (a new tab here): note it and
        // play the browser from Node instead, with the simulator's approve=1 / deny=1 shortcut.
        let opened: string | undefined;
        await page.context().route(/\/oauth\/authorizations\/new\?/, async (route) => {
          opened = route.request().url();
          await route.fulfill({ status: 200, contentType: 'text/plain', body: 'The e2e test plays the browser.' });
        });
        const signIn = async (): Promise<URLSearchParams> => {
          opened = undefined;
          await runCommand(page, 'Zendesk: Sign In with OAuth');
          const q = new URL(await until('the authorization page to open', async () => opened, 60_000)).searchParams;
          assert.equal(q.get('redirect_uri'), redirectUri);
          assert.equal(q.get('code_challenge_method'), 'S256');
          return q;
        };
        const browse = async (q: URLSearchParams, decision: 'approve' | 'deny'): Promise<{ status: number; type: string; text: string }> => {
          const res = await fetch(`${sim.url}/oauth/authorizations/new?${q}&${decision}=1`, { redirect: 'manual' });
          assert.equal(res.status, 302, await res.text());
          const target = res.headers.get('location')!;
          assert.ok(target.startsWith(`${redirectUri}?`), target);
          const tab = await fetch(target);
          return { status: tab.status, type: tab.headers.get('content-type') ?? '', text: await tab.text() };
        };

        // Allow: the tab gets a plain-text page, the account appears, the listener is gone.
        const logStart = sim.stats().requestLog.length;
        const allowed = await browse(await signIn(), 'approve');
        assert.equal(allowed.status, 200, allowed.text);
        assert.match(allowed.type, /^text\/plain/);
        assert.match(allowed.text, /You can close this tab/);
        await until('the account in the Accounts menu', async () => (await accountsMenu(page)).includes('admin@example.com (Sim OAuth)'), 30_000);
        const grants = sim.stats().requestLog.slice(logStart).filter((l) => l.url === '/oauth/tokens');
        assert.equal(grants.length, 1);
        assert.equal(grants[0].status, 200);
        await until('the loopback listener to close', () => refused(port));

        // Deny: the tab and a notification say so, and the listener closes too.
        const denied = await browse(await signIn(), 'deny');
        assert.equal(denied.status, 400);
        assert.match(denied.text, /Access was denied/);
        await waitForNotification(page, /Access was denied on the Zendesk authorization page/, 30_000);
        await until('the loopback listener to close', () => refused(port));

        // Busy port: one sentence naming the port and how to pick another; no authorization page.
        blocker = createServer();
        await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', () => resolve()));
        opened = undefined;
        await runCommand(page, 'Zendesk: Sign In with OAuth');
        const busy = await waitForNotification(page, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`), 30_000);
        assert.match(busy, /zendesk\.oauth\.loopbackPort/);
        assert.equal(opened, undefined);
        await screenshot(page, 'oauth-loopback-port-busy');
      });
    } finally {
      await new Promise<void>((resolve) => (blocker?.listening ? blocker.close(() => resolve()) : resolve()));
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
