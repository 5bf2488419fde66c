// Self-test of the real-VS Code harness (test/support/vscode.ts, test/integration/index.ts,
// scripts/vscode/buildTests.mjs) with a throwaway probe extension generated into a temp folder, so
// it proves the infrastructure independently of the product's extension.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT, findInstall, makeWorkspace, openWorkbench, runCommand, runExtensionTests, screenshot,
  startCodeServer, waitForNotification, webviewFrame, withWorkbench,
} from '../support/vscode';

const PROBE_ID = 'zdx-test.zdx-harness-probe';
const HELLO = 'Hello from the harness probe';

const probeExtension = {
  'package.json': JSON.stringify({
    name: 'zdx-harness-probe',
    publisher: 'zdx-test',
    version: '0.0.1',
    engines: { vscode: '^1.90.0' },
    main: './extension.js',
    activationEvents: ['onStartupFinished'],
    contributes: {
      commands: [
        { command: 'zdxHarness.hello', title: 'Say Hello', category: 'ZDX Harness' },
        { command: 'zdxHarness.panel', title: 'Open Panel', category: 'ZDX Harness' },
      ],
    },
  }, null, 2),
  'extension.js': `
const vscode = require('vscode');
exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('zdxHarness.hello', async () => {
    vscode.window.showInformationMessage(${JSON.stringify(HELLO)});
    return 'hello';
  }));
  context.subscriptions.push(vscode.commands.registerCommand('zdxHarness.panel', () => {
    const panel = vscode.window.createWebviewPanel('zdxHarnessPanel', 'Harness Panel', vscode.ViewColumn.One, { enableScripts: true });
    panel.webview.html = '<!DOCTYPE html><html><body><h1 id="probe">probe webview</h1><button id="count">0</button>'
      + '<script>const b = document.getElementById("count"); b.onclick = () => { b.textContent = String(Number(b.textContent) + 1); };</script></body></html>';
  }));
  return { probe: true, hostEnv: process.env.ZDX_PROBE_ENV };
};
exports.deactivate = () => {};
`,
};

// In-host tests, written as JS so the probe doesn't depend on the product's sources or lint rules.
const passingTests = `
const assert = require('node:assert/strict');
const vscode = require('vscode');
describe('probe inside the real extension host', () => {
  it('runs on VS Code 1.139 (code-server 4.139.1)', () => {
    assert.match(vscode.version, /^1\\.139\\./);
  });
  it('has the development extension active, with the env given to the server', async () => {
    const ext = vscode.extensions.getExtension(${JSON.stringify(PROBE_ID)});
    assert.ok(ext, 'probe extension not loaded');
    const api = await ext.activate();
    assert.equal(api.probe, true);
    assert.equal(api.hostEnv, 'from-the-harness');
  });
  it('opened the requested workspace and runs its commands', async () => {
    const folders = vscode.workspace.workspaceFolders || [];
    assert.equal(folders.length, 1);
    assert.equal(folders[0].uri.fsPath, process.env.ZDX_EXPECT_WORKSPACE);
    const marker = await vscode.workspace.findFiles('marker.txt');
    assert.equal(marker.length, 1);
    assert.equal(await vscode.commands.executeCommand('zdxHarness.hello'), 'hello');
  });
});
`;
const failingTests = `
const assert = require('node:assert/strict');
describe('deliberately failing', () => {
  it('fails', () => { assert.equal(1, 2); });
});
`;

describe('real VS Code harness (code-server + Chromium)', function () {
  this.timeout(240_000);
  let temp: string;
  let extensionPath: string;
  let workspace: string;
  let testsOut: string;

  before(function () {
    findInstall(); // fails with "run node scripts/vscode/install.mjs" rather than skipping
    assert.ok(existsSync('/usr/bin/chromium'), 'Chromium missing: apt-get install -y chromium');
    temp = mkdtempSync(join(tmpdir(), 'zdx-harness-'));
    extensionPath = join(temp, 'probe-extension');
    mkdirSync(extensionPath);
    for (const [f, c] of Object.entries(probeExtension)) writeFileSync(join(extensionPath, f), c);
    const testsSrc = join(temp, 'tests-src');
    mkdirSync(testsSrc);
    writeFileSync(join(testsSrc, 'probe.test.js'), passingTests);
    writeFileSync(join(testsSrc, 'failing.test.js'), failingTests);
    testsOut = join(temp, 'tests-out');
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/vscode/buildTests.mjs'), '--src', testsSrc, '--out', testsOut], { stdio: 'inherit' });
    workspace = makeWorkspace({ 'marker.txt': 'harness\n' });
  });

  after(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('runs a mocha suite inside the extension host and reports its pass counts', async () => {
    const r = await runExtensionTests({
      workspace, extensionPath,
      testsEntry: join(testsOut, 'index.js'),
      timeoutMs: 180_000,
      env: { ZDX_PROBE_ENV: 'from-the-harness', ZDX_EXPECT_WORKSPACE: workspace, ZDX_TEST_FILES: 'probe.test.js' },
    });
    assert.equal(r.exitCode, 0, r.log);
    assert.equal(r.passes, 3, r.log);
    assert.equal(r.failures, 0, r.log);
    assert.match(r.log, /runs on VS Code 1\.139/);
  });

  it('reports a failing in-host test as a non-zero exit code', async () => {
    const r = await runExtensionTests({
      workspace, extensionPath,
      testsEntry: join(testsOut, 'index.js'),
      timeoutMs: 180_000,
      env: { ZDX_TEST_FILES: 'failing.test.js' },
      record: false,
      onLog: () => undefined,
    });
    assert.notEqual(r.exitCode, 0, r.log);
    assert.equal(r.failures, 1, r.log);
    assert.equal(r.passes, 0, r.log);
  });

  it('loads the workbench in Chromium, runs palette commands, reaches into a webview and takes a screenshot', async () => {
    await withWorkbench({ name: 'harness-probe', workspace, extensionPath }, async ({ page }) => {
      // The explorer shows the workspace's file, proving the folder was opened.
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'marker.txt' }).waitFor({ timeout: 60_000 });
      await runCommand(page, 'ZDX Harness: Say Hello');
      assert.equal(await waitForNotification(page, HELLO, 30_000), HELLO);
      await runCommand(page, 'ZDX Harness: Open Panel');
      const view = webviewFrame(page);
      assert.equal(await view.locator('#probe').innerText({ timeout: 30_000 }), 'probe webview');
      await view.locator('#count').click();
      await view.locator('#count', { hasText: '1' }).waitFor({ timeout: 10_000 });
      const file = await screenshot(page, 'harness-probe-hello');
      const png = readFileSync(file);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.ok(statSync(file).size > 10_000, `screenshot suspiciously small: ${statSync(file).size} bytes`);
    });
  });

  it('stops code-server with all of its helper processes', async () => {
    const server = await startCodeServer({ workspace, extensionPath });
    const wb = await openWorkbench(server);
    // The extension host is a child in the server's process group; wait until it exists.
    await waitForExplorer(wb.page);
    const group = groupMembers(server.pid);
    assert.ok(group.length >= 2, `expected helpers in process group ${server.pid}, got ${group.join(',')}`);
    await wb.close();
    await server.stop();
    assert.deepEqual(groupMembers(server.pid), []);
    assert.equal(existsSync(server.runDir), false);
  });
});

// The explorer lists files once the remote connection is up, by then the extension host is spawned.
async function waitForExplorer(page: import('playwright-core').Page): Promise<void> {
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
}

function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid='], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter(([p, g]) => g === pgid && p > 0).map(([p]) => p);
}
