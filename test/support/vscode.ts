// Test harness for the real VS Code: code-server from npm (genuine VS Code workbench + Node
// extension host) driven by Debian's Chromium through playwright-core. Desktop VS Code can't be
// downloaded on these machines; /work/shared/docs/real-vscode-testing.md explains the choices.
// The binaries come from `node scripts/vscode/install.mjs`, which writes the manifest read here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import { until } from './until';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Bundles dist/ from this checkout, as a test file's first step so that it runs on its own too.
 * scripts/build.mjs replaces each file with a rename, so another test file's workbench that is
 * loading dist/ meanwhile reads whole files.
 */
export function buildExtension(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/build.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
}

export const SCREENSHOT_DIR = join(REPO_ROOT, '.test-output', 'screenshots');
export const CHROMIUM_PATH = process.env.ZDX_CHROMIUM ?? '/usr/bin/chromium';

export interface VsCodeInstall {
  nodeBin: string;
  nodeVersion: string;
  codeServerVersion: string;
  codeServerEntry: string;
  vscodeVersion: string | null;
}

export function vscodeCacheDir(): string {
  return process.env.ZDX_VSCODE_CACHE || join(homedir(), '.cache', 'zdx-vscode');
}

/** The cached code-server + Node 24; throws a sentence saying how to install them if absent. */
export function findInstall(): VsCodeInstall {
  const file = join(vscodeCacheDir(), 'manifest.json');
  let manifest: VsCodeInstall;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as VsCodeInstall;
  } catch {
    throw new Error(`code-server is not installed in ${vscodeCacheDir()}: run "node scripts/vscode/install.mjs" first.`);
  }
  for (const f of [manifest.nodeBin, manifest.codeServerEntry]) {
    if (!existsSync(f)) throw new Error(`The code-server cache is incomplete (${f} is missing): run "node scripts/vscode/install.mjs".`);
  }
  return manifest;
}

/** Whether the real-VS Code tests can run here (cached code-server and Chromium present). */
export function vscodeAvailable(): boolean {
  try {
    findInstall();
    return existsSync(CHROMIUM_PATH);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// code-server

export interface StartOptions {
  /** Folder opened as the workspace. */
  workspace: string;
  /** Folder with the extension's package.json; loaded as the extension under development. */
  extensionPath?: string;
  /** User settings merged over the harness defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server and therefore the extension host. */
  env?: Record<string, string>;
  /** Receives every line code-server prints (default: kept in memory only; see logs()). */
  onLog?: (line: string) => void;
  /**
   * Keep workspace trust on (default off): the workspace then opens untrusted, in Restricted Mode,
   * without the startup trust dialog, so tests can check what the extension does there.
   */
  workspaceTrust?: boolean;
}

export interface CodeServer {
  url: string;
  port: number;
  /** code-server's pid, also its process group id. */
  pid: number;
  /** Remote authority of the served workbench (`remote` in code-server 4.139). */
  authority: string;
  workspace: string;
  extensionPath?: string;
  /** Temp folder of this run: TMPDIR, XDG dirs, user-data-dir, extensions-dir. Removed by stop(). */
  runDir: string;
  userDataDir: string;
  /** `vscode-remote://authority/abs/path` for a path on the server. */
  remoteUri(path: string): string;
  /** Everything code-server printed so far. */
  logs(): string;
  stop(): Promise<void>;
}

export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'chat.disableAIFeatures': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  // The (empty, AI-less) secondary side bar would only take screen space in screenshots.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.enableExperiments': false,
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  // code-server otherwise watches for and "forwards" every port the tests' servers open.
  'remote.autoForwardPorts': false,
};

/** Merged over DEFAULT_SETTINGS with `workspaceTrust: true`: trust on, but no modal asking for it at startup. */
export const WORKSPACE_TRUST_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
};

// Process groups still running; killed on exit so a crashed or stopped test run leaves no servers
// behind (SIGTERM, which mocha sends after SIGINT, would otherwise end the process without 'exit').
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of liveGroups) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});
process.once('SIGTERM', () => process.exit(143));

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The test runner's loader options (tsx) and npm's variables must not reach Node 24 or the host.
    if (k === 'NODE_OPTIONS' || k.startsWith('npm_') || k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  const install = findInstall();
  const workspace = resolve(opts.workspace);
  const extensionPath = opts.extensionPath ? resolve(opts.extensionPath) : undefined;
  if (!existsSync(workspace)) throw new Error(`Workspace folder ${workspace} does not exist.`);
  if (extensionPath && !existsSync(join(extensionPath, 'package.json'))) {
    throw new Error(`${extensionPath} has no package.json, so it is not an extension folder.`);
  }

  const runDir = mkdtempSync(join(tmpdir(), 'zdx-code-server-'));
  const dirs = {
    tmp: join(runDir, 'tmp'),
    config: join(runDir, 'xdg-config'),
    data: join(runDir, 'xdg-data'),
    cache: join(runDir, 'xdg-cache'),
    userData: join(runDir, 'user-data'),
    extensions: join(runDir, 'extensions'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...(opts.workspaceTrust ? WORKSPACE_TRUST_SETTINGS : {}), ...opts.settings }, null, 2));

  const args = [
    install.codeServerEntry,
    '--bind-addr', '127.0.0.1:0',
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--reconnection-grace-time', '5',
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    // Without it code-server ignores the URL payload (extensionDevelopmentPath, extensionTestsPath).
    '--vscode-option', 'enable-smoke-test-driver',
    workspace,
  ];
  const env = childEnv({
    TMPDIR: dirs.tmp,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
    ...opts.env,
  });

  const child = spawn(install.nodeBin, args, { cwd: workspace, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  liveGroups.add(pid);
  let output = '';
  // The group stays registered after the main process exits: its helpers may outlive it.
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const onChunk = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (opts.onLog) for (const line of text.split('\n')) if (line.trim()) opts.onLog(line);
  };
  child.stdout!.on('data', onChunk);
  child.stderr!.on('data', onChunk);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      // The main process is gone; helpers in its group may not be.
      try { process.kill(-pid, 'SIGKILL'); } catch { /* none left */ }
    } else {
      try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
      try { process.kill(-pid, 'SIGKILL'); } catch { /* group empty */ }
    }
    // A signal is delivered asynchronously: wait until the group is really empty (a busy machine
    // may take seconds to reap it; stop() goes on regardless after 30 s).
    await until(`code-server's process group ${pid} to be gone`, () => !groupAlive(pid), { timeoutMs: 30_000, intervalMs: 100 }).catch(() => undefined);
    liveGroups.delete(pid);
    if (!process.env.ZDX_KEEP_VSCODE_RUNDIR) rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const port = await waitForListening(child, () => output, 60_000);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(url, 30_000);
    const authority = await readRemoteAuthority(url, workspace);
    return {
      url, port, pid, authority, workspace, extensionPath, runDir, userDataDir: dirs.userData,
      remoteUri: (p: string) => `vscode-remote://${authority}${encodeURI(resolve(p))}`,
      logs: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`code-server did not start: ${(err as Error).message}\n--- code-server output ---\n${output}`);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// Port 0 lets the OS pick a free port with no race; code-server prints the one it got.
function waitForListening(child: ChildProcess, output: () => string, timeoutMs: number): Promise<number> {
  return until('code-server to report its port', () => {
    const m = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(output());
    if (m) return { port: Number(m[1]) };
    if (child.exitCode !== null || child.signalCode !== null) return { exited: `it exited (${child.signalCode ?? child.exitCode}) before listening` };
    return undefined;
  }, { timeoutMs, intervalMs: 100 }).then((r) => {
    if ('exited' in r) throw new Error(r.exited);
    return r.port;
  });
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  let last = '';
  await until('code-server\'s /healthz to answer OK', async () => {
    try {
      const r = await fetch(`${url}/healthz`);
      last = `HTTP ${r.status}`;
      return r.ok;
    } catch (e) {
      last = (e as Error).message;
      return false;
    }
  }, { timeoutMs, intervalMs: 200, found: () => last });
}

// A wrong authority makes the workbench load nothing, silently, so it is read rather than guessed.
async function readRemoteAuthority(url: string, workspace: string): Promise<string> {
  const html = await (await fetch(`${url}/?folder=${encodeURIComponent(workspace)}`)).text();
  const decoded = html.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const m = /"remoteAuthority"\s*:\s*"([^"]+)"/.exec(decoded);
  if (!m) throw new Error('the served workbench HTML has no remoteAuthority');
  return m[1];
}

// ---------------------------------------------------------------------------------------------
// Chromium + workbench

export interface OpenOptions {
  /** Compiled mocha entry (e.g. out/test/integration/index.js) to run inside the extension host. */
  extensionTestsPath?: string;
  /** Overrides server.extensionPath; `null` loads no development extension. */
  extensionPath?: string | null;
  /** Each line the extension host logs through codeAutomationLog (default: printed prefixed "[host] "). */
  onHostLog?: (line: string, type: string) => void;
  viewport?: { width: number; height: number };
  /** Wait for the workbench shell to render before returning (default true). */
  waitForShell?: boolean;
}

export interface Workbench {
  browser: Browser;
  page: Page;
  /** Lines forwarded from the extension host (console output of extension tests). */
  hostLog: string[];
  /** Resolves with the code VS Code passes to codeAutomationExit (when extension tests finish). */
  exitCode: Promise<number>;
  close(): Promise<void>;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  // Without these Chromium keeps trying to reach Google's services over the closed network.
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function openWorkbench(server: CodeServer, opts: OpenOptions = {}): Promise<Workbench> {
  const extensionPath = opts.extensionPath === undefined ? server.extensionPath : opts.extensionPath ?? undefined;
  const payload: [string, string][] = [['skipWelcome', 'true']];
  if (extensionPath) payload.push(['extensionDevelopmentPath', server.remoteUri(extensionPath)]);
  if (opts.extensionTestsPath) payload.push(['extensionTestsPath', server.remoteUri(opts.extensionTestsPath)]);
  const target = `${server.url}/?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    const hostLog: string[] = [];
    const onHostLog = opts.onHostLog ?? ((line: string) => { if (!isWorkbenchNoise(line)) console.log(`[host] ${line}`); });
    let resolveExit!: (code: number) => void;
    const exitCode = new Promise<number>((res) => { resolveExit = res; });
    // VS Code's own browser integration tests use these two hooks: the workbench forwards the
    // extension host's console to codeAutomationLog and the test result to codeAutomationExit.
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const text = format(...(Array.isArray(args) ? args : [args]));
      for (const line of text.split('\n')) {
        hostLog.push(line);
        onHostLog(line, type);
      }
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => { resolveExit(Number(code)); });
    await page.goto(target);
    if (opts.waitForShell !== false) await waitForWorkbench(page);
    return { browser, page, hostLog, exitCode, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

// Workbench chatter forwarded along with the extension host's console; kept in the log, not echoed.
const WORKBENCH_NOISE = [
  /^(Resolving|Resolved) connection token/, /^Creating a socket/, /^\[reconnection-grace-time\]/,
  /^Ignoring fetching additional builtin extensions/, /^\[Service Worker\]/, /^\[AgentHost/, /^\[AccountPolicyGate\]/,
  /^Updating additional builtin extensions cache/, /^Creation of workbench contribution/,
  // No network here: the account menu's GitHub session lookup always times out.
  /^Timed out waiting for authentication provider/,
  // Stack frames inside the workbench's own bundle.
  /^\s+at .*\/static\/out\/vs\//,
];
export function isWorkbenchNoise(line: string): boolean {
  return WORKBENCH_NOISE.some((re) => re.test(line));
}

/** Waits until the workbench shell (activity bar and status bar) is on screen. */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.activitybar, .part.sidebar').first().waitFor({ state: 'visible', timeout: timeoutMs });
}

// ---------------------------------------------------------------------------------------------
// Extension tests inside the real extension host

export interface ExtensionTestOptions {
  workspace: string;
  extensionPath: string;
  /** Compiled mocha entry exporting run(), e.g. out/test/integration/index.js. */
  testsEntry: string;
  timeoutMs?: number;
  settings?: Record<string, unknown>;
  /** Environment for the host; ZDX_TEST_GREP / ZDX_TEST_FILES filter the suite (see test/integration/index.ts). */
  env?: Record<string, string>;
  /** Each host log line; default prints it prefixed "[host] ". */
  onLog?: (line: string) => void;
  /** Add the counts to scripts/test.mjs's summary (default true; false for deliberate failures). */
  record?: boolean;
}

export interface ExtensionTestResult {
  exitCode: number;
  /** The host's console output (mocha's spec report among it). */
  log: string;
  /** Counts from test/integration/index.ts's result line; null if it never printed one. */
  passes: number | null;
  failures: number | null;
}

export const RESULT_MARKER = 'zdx-mocha-result ';

export async function runExtensionTests(opts: ExtensionTestOptions): Promise<ExtensionTestResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (!existsSync(opts.testsEntry)) throw new Error(`Test entry ${opts.testsEntry} does not exist: build it with "node scripts/vscode/buildTests.mjs".`);
  const server = await startCodeServer({ workspace: opts.workspace, extensionPath: opts.extensionPath, settings: opts.settings, env: opts.env });
  let wb: Workbench | undefined;
  let exitCode: number;
  const lines: string[] = [];
  try {
    wb = await openWorkbench(server, {
      extensionTestsPath: opts.testsEntry,
      waitForShell: false,
      onHostLog: (line) => {
        lines.push(line);
        if (opts.onLog) opts.onLog(line);
        else if (!isWorkbenchNoise(line)) console.log(`      [host] ${line}`);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`Extension tests did not finish within ${timeoutMs} ms.\n--- host log ---\n${lines.join('\n')}\n--- code-server ---\n${server.logs()}`)), timeoutMs);
    });
    try {
      exitCode = await Promise.race([wb.exitCode, timeout]);
    } catch (err) {
      await screenshot(wb.page, `extension-tests-timeout-${Date.now()}`).catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await wb?.close();
    await server.stop();
  }
  const counts = parseResult(lines);
  // scripts/test.mjs adds the in-host counts to its summary.
  if (process.env.ZDX_HOST_RESULTS_FILE && counts && opts.record !== false) {
    appendFileSync(process.env.ZDX_HOST_RESULTS_FILE, JSON.stringify({ entry: opts.testsEntry, ...counts }) + '\n');
  }
  return { exitCode, log: lines.join('\n'), passes: counts?.passes ?? null, failures: counts?.failures ?? null };
}

function parseResult(lines: string[]): { passes: number; failures: number } | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const at = lines[i].indexOf(RESULT_MARKER);
    if (at >= 0) {
      try {
        const r = JSON.parse(lines[i].slice(at + RESULT_MARKER.length)) as { passes: number; failures: number };
        return { passes: r.passes, failures: r.failures };
      } catch { return null; }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// UI helpers

/**
 * Runs a command by its palette title, e.g. "Zendesk: Run Query" (the row whose label is exactly the
 * title, or "Category: title"). Commands of an extension that is still starting appear seconds
 * after the workbench, and the palette computes its list when its text changes, so the text is
 * re-entered until the row shows up or time runs out.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const exactLabel = new RegExp(`^(.*: )?${escapeRegExp(title)}$`);
  const exact = rows.filter({ has: page.locator('.label-name', { hasText: exactLabel }) });
  const deadline = Date.now() + timeoutMs;
  let shown: string[] = [];
  while (Date.now() < deadline) {
    if (!(await input.isVisible())) {
      // F1 is sometimes swallowed while the workbench is still restoring focus.
      await page.locator('.monaco-workbench').focus().catch(() => undefined);
      await page.keyboard.press('F1');
      if (!(await input.waitFor({ state: 'visible', timeout: 2000 }).then(() => true, () => false))) continue;
    }
    await input.fill(`>${title}`);
    if (await exact.first().waitFor({ state: 'visible', timeout: 1500 }).then(() => true, () => false)) {
      // Enter runs the focused row; click instead when the exact match isn't the focused one.
      const focused = await rows.locator('.monaco-list-row.focused .label-name').first().innerText({ timeout: 500 }).catch(() => '');
      if (exactLabel.test(focused.trim())) await page.keyboard.press('Enter');
      else await exact.first().click();
      await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      return;
    }
    shown = await rows.allInnerTexts();
    await input.fill('>');
    await delay(300);
  }
  await page.keyboard.press('Escape');
  throw new Error(`No command titled "${title}" in the palette within ${timeoutMs} ms (rows: ${JSON.stringify(shown)}).`);
}

/** Saves a PNG under .test-output/screenshots/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * The content of the visible webview: a webview is two nested iframes, the outer one marked
 * `.ready` once loaded. Pass nth when several webviews are visible at once.
 */
export function webviewFrame(page: Page, nth = 0): FrameLocator {
  return page.locator('iframe.webview.ready:visible').nth(nth).contentFrame().frameLocator('#active-frame');
}

/**
 * Opens the Notifications center (status bar bell) if it isn't open. Needed because VS Code shows
 * no toasts at all when started with enable-smoke-test-driver, which the harness must use for its
 * URL payload; every notification still lands in the center.
 */
export async function showNotificationsCenter(page: Page): Promise<void> {
  const center = page.locator('.notifications-center');
  if (await center.isVisible()) return;
  await page.locator('[id="status.notifications"]').click();
  await center.waitFor({ state: 'visible', timeout: 5000 });
}

/** Texts of all notifications (opens the Notifications center to read them). */
export async function notificationTexts(page: Page): Promise<string[]> {
  await showNotificationsCenter(page);
  return page.locator('.notifications-center .notification-list-item-message').allInnerTexts();
}

/** Polls until a notification matches; returns its text. Leaves the Notifications center open. */
export async function waitForNotification(page: Page, match: string | RegExp, timeoutMs = 30_000): Promise<string> {
  let texts: string[] = [];
  return until(`a notification matching ${String(match)}`, async () => {
    texts = await notificationTexts(page);
    return texts.find((t) => typeof match === 'string' ? t.includes(match) : match.test(t));
  }, { timeoutMs, intervalMs: 250, found: () => `shown: ${JSON.stringify(texts)}` });
}

/** Clicks a button (e.g. "Set Token") on the notification whose text matches. */
export async function clickNotificationButton(page: Page, match: string | RegExp, button: string): Promise<void> {
  await waitForNotification(page, match);
  const item = page.locator('.notifications-center .notification-list-item').filter({ hasText: match });
  await item.first().locator('.monaco-button', { hasText: button }).first().click();
}

/** Clears and hides the Notifications center. */
export async function clearNotifications(page: Page): Promise<void> {
  await showNotificationsCenter(page);
  await page.locator('.notifications-center .codicon-notifications-clear-all, .notifications-center .codicon-clear-all').first().click().catch(() => undefined);
  await page.locator('[id="status.notifications"]').click().catch(() => undefined);
}

/**
 * What a failed scenario's message needs for a CI log's tail to say why: the notifications shown
 * and the last lines of the extension's own log ("Zendesk Export" in the run's user-data logs).
 */
async function failureContext(page: Page, server: CodeServer): Promise<string> {
  const shown = await Promise.race([
    notificationTexts(page).then((t) => JSON.stringify(t)),
    sleep(10_000, '(not read within 10 s)', { ref: false }),
  ]).catch((e: unknown) => `(not read: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  const logsDir = join(server.userDataDir, 'logs');
  const logs = existsSync(logsDir)
    ? readdirSync(logsDir, { recursive: true }).map(String).filter((f) => /Zendesk Export\.log$/.test(f))
    : [];
  const tail = logs.flatMap((f) => readFileSync(join(logsDir, f), 'utf8').trimEnd().split('\n').slice(-8));
  return `\nnotifications: ${shown}\nextension log (last lines):\n${tail.length ? tail.map((l) => `  ${l}`).join('\n') : '  (none found)'}`;
}

/**
 * Starts code-server, opens the workbench, runs fn, and cleans up; on failure a screenshot named
 * after the scenario is saved, and the notifications and the extension log's last lines are added
 * to the error's message, before the error propagates.
 */
export async function withWorkbench<T>(
  opts: StartOptions & { name: string; open?: OpenOptions },
  fn: (wb: Workbench & { server: CodeServer }) => Promise<T>,
): Promise<T> {
  const server = await startCodeServer(opts);
  let wb: Workbench | undefined;
  try {
    wb = await openWorkbench(server, opts.open);
    return await fn({ ...wb, server });
  } catch (err) {
    if (wb) {
      const file = await screenshot(wb.page, `${opts.name}-failure`).catch(() => undefined);
      if (file && err instanceof Error) err.message += `\n(screenshot: ${file})`;
      if (err instanceof Error) err.message += await failureContext(wb.page, server);
    }
    throw err;
  } finally {
    await wb?.close();
    await server.stop();
  }
}

/** A temp folder with the given files (relative path -> content); remove it with rmSync when done. */
export function makeWorkspace(files: Record<string, string> = {}, prefix = 'zdx-ws-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [rel, content] of Object.entries(files)) {
    if (isAbsolute(rel)) throw new Error(`makeWorkspace takes relative paths, got ${rel}`);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
