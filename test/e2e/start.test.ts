// `npm start` without desktop VS Code: builds, starts the simulator and code-server, prints a URL;
// opening it shows the extension with the demo connection and the sample workspace's queries.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, screenshot } from '../support/vscode';

describe('npm start (code-server route)', function () {
  this.timeout(300_000);
  let child: ChildProcess | undefined;

  afterEach(async () => {
    // start.mjs stops code-server and the simulator on SIGINT, as on Ctrl-C.
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
  });

  it('prints a workbench URL with the extension, the sample workspace and the demo connection', async () => {
    child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ZDX_START_CODE_SERVER: '1' },
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
    assert.match(decodeURIComponent(url), /folder=.*sample-workspace/);
    assert.match(out, /simulator listening on http:\/\/127\.0\.0\.1:\d+/);

    const profile = mkdtempSync(join(tmpdir(), 'zdx-start-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const entry = page.locator('.activitybar .action-item [aria-label^="Zendesk"]').first();
      await entry.waitFor({ state: 'visible', timeout: 90_000 });
      await entry.click();
      const sidebar = page.locator('.part.sidebar');
      await sidebar.getByText('Demo (simulator)').first().waitFor({ state: 'visible', timeout: 60_000 });
      await sidebar.getByText('Tickets since 2024').first().waitFor({ state: 'visible', timeout: 30_000 });
      await sidebar.getByText('All users').first().waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot(page, 'npm-start');
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
