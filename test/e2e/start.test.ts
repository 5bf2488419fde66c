// `npm start` without desktop VS Code, as a user meets it: it builds, starts the simulator and
// code-server with the extension installed like any other (no test-driver options, no development
// payload in the URL), and prints a URL. The workbench shows the walkthrough, no settings editor,
// notifications as toasts, views that say they are loading rather than empty, then the demo
// connection and the sample queries. Ctrl-C leaves nothing running.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, screenshot } from '../support/vscode';
import { until } from '../support/until';
import { openZendeskSidebar, viewRows } from '../support/workbenchUi';

/** Command lines of the processes still running whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(text)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start (code-server route)', function () {
  this.timeout(600_000);
  let child: ChildProcess | undefined;
  let profile: string;

  before(() => {
    profile = mkdtempSync(join(tmpdir(), 'zdx-start-profile-'));
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
    rmSync(profile, { recursive: true, force: true });
  });

  it('shows the product: installed extension, walkthrough, toasts, loading views; Ctrl-C stops everything', async () => {
    child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
      cwd: REPO_ROOT,
      // A fresh profile is a first start; port 0 keeps parallel runs apart.
      env: { ...process.env, ZDX_START_CODE_SERVER: '1', ZDX_START_PROFILE: profile, ZDX_START_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
    const url = await new Promise<string>((resolve, reject) => {
      child?.stdout?.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)$/m.exec(out);
        if (m) resolve(m[1]);
      });
      child?.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${out}`)));
    });
    assert.match(out, /^\[start\] checking prerequisites/m, 'the prerequisites come first');
    assert.match(decodeURIComponent(url), /folder=.*sample-workspace/);
    assert.doesNotMatch(url, /payload|extensionDevelopmentPath/, 'no development payload in the URL');
    const simPort = Number(/simulator listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const serverPort = Number(new URL(url).port);
    assert.ok(simPort > 0 && serverPort > 0, out);

    // A normal code-server: no smoke-test driver (it hides toasts), the extension installed in the profile.
    const server = processesMentioning(profile).filter((c) => c.includes('entry.js'));
    assert.ok(server.length > 0, 'code-server runs with the profile');
    for (const c of server) assert.doesNotMatch(c, /enable-smoke-test-driver|extensionDevelopmentPath/);
    const installed = JSON.parse(readFileSync(join(profile, 'extensions', 'extensions.json'), 'utf8')) as { identifier: { id: string } }[];
    assert.ok(installed.some((e) => e.identifier.id === 'zdx.zendesk-export-workbench'), JSON.stringify(installed));

    const chromeProfile = mkdtempSync(join(tmpdir(), 'zdx-start-chromium-'));
    const browser = await chromium.launchPersistentContext(chromeProfile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await openZendeskSidebar(page);
      // Until the demo connection shows, the views may say they are loading, never that there is nothing.
      const seen = new Set<string>();
      const sidebar = page.locator('.part.sidebar');
      await until('the demo connection and both sample queries', async () => {
        const text = await sidebar.innerText().catch(() => '');
        seen.add(text);
        return text.includes('Demo (simulator)') && text.includes('Tickets since 2024') && text.includes('All users');
      }, 120_000);
      const misleading = [...seen].filter((t) => /No Zendesk connection yet|No saved query/.test(t));
      assert.deepEqual(misleading, [], 'no "nothing here" text while the extension loads');

      // The walkthrough of a first start, and no settings editor.
      const editors = page.locator('.part.editor');
      await editors.getByText('Export from Zendesk, resumably').first().waitFor({ state: 'visible', timeout: 60_000 });
      const tabs = await page.locator('.part.editor .tabs-container .tab').allInnerTexts();
      assert.ok(!tabs.some((t) => /settings/i.test(t)), `open editors: ${JSON.stringify(tabs)}`);
      await screenshot(page, 'npm-start');

      // Notifications show as toasts: Test Connection on the demo connection reports in one.
      const row = viewRows(page, 'Connections').filter({ hasText: 'Demo (simulator)' }).first();
      await row.hover();
      await row.locator('.action-label[aria-label="Test Connection"]').click();
      const toast = page.locator('.notification-toast').filter({ hasText: '"Demo (simulator)" works' });
      await toast.first().waitFor({ state: 'visible', timeout: 60_000 });
      await screenshot(page, 'npm-start-toast');
      const tabsAfter = await page.locator('.part.editor .tabs-container .tab').allInnerTexts();
      assert.ok(!tabsAfter.some((t) => /settings/i.test(t)), `open editors: ${JSON.stringify(tabsAfter)}`);
    } finally {
      await browser.close();
      rmSync(chromeProfile, { recursive: true, force: true });
    }

    // Ctrl-C: the script ends, and the simulator, code-server and its helpers with it.
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    assert.equal(code, 0, `npm start after Ctrl-C: ${String(code)}\n${out}`);
    assert.equal(await accepts(simPort), false, 'the simulator stopped listening');
    assert.equal(await accepts(serverPort), false, 'code-server stopped listening');
    assert.deepEqual(processesMentioning(profile), [], 'no process of the workbench left');
  });

  it('stops what it has started when npm is terminated halfway through starting', async () => {
    const own = mkdtempSync(join(tmpdir(), 'zdx-start-profile-'));
    try {
      // Through npm, as people run it: npm runs the script under `sh -c` and doesn't pass SIGTERM on.
      const npm = spawn('npm', ['start'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ZDX_START_CODE_SERVER: '1', ZDX_START_PROFILE: own, ZDX_START_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      npm.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
      const exited = new Promise<void>((r) => npm.once('exit', () => r()));
      // The simulator is up and the extension is being packaged and installed: SIGTERM now.
      const simPort = await new Promise<number>((resolve, reject) => {
        npm.stdout.setEncoding('utf8').on('data', (c: string) => {
          log += c;
          if (/packaging the extension/.test(log)) resolve(Number(/simulator listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]));
        });
        void exited.then(() => reject(new Error(`npm start exited early:\n${log}`)));
      });
      npm.kill('SIGTERM');
      await exited;
      await until('the simulator and code-server to stop', async () => !(await accepts(simPort)) && processesMentioning(own).length === 0, 30_000)
        .catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(processesMentioning(own))}\n${log}`); });
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
