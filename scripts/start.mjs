#!/usr/bin/env node
// `npm start`: the workbench on the built-in Zendesk simulator, as a user would have it.
//   1. what the machine needs (scripts/prerequisites.mjs), in the first seconds: the cached
//      code-server + Node 24 (≈3 min once, with progress), the Debian packages its build needs;
//   2. build, then the simulator (`zdx simulate`), whose URL reaches the extension as
//      ZDX_DEMO_SIMULATOR_URL: it adds the "Demo (simulator)" connection and the demo token;
//   3. VS Code on sample-workspace/:
//      - desktop VS Code when `code` is on PATH (--extensionDevelopmentPath);
//      - otherwise code-server with the extension packaged (vsce) and installed like any other
//        (--install-extension), in a profile of its own kept under the code-server cache, so
//        notifications, the walkthrough and settings behave as for a user. It prints the URL.
// Everything it started stops with it, on every way out: Ctrl-C, SIGTERM, SIGHUP, a failed step,
// an uncaught error, code-server or the simulator exiting on their own, or npm being killed.
//
// Environment: ZDX_START_CODE_SERVER=1 uses code-server even when `code` is on PATH;
// ZDX_START_PORT (default 8765; a free one if taken; 0 for any); ZDX_START_PROFILE (default
// <code-server cache>/start-profile): the user data, extensions and settings of this workbench.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrerequisites, PrerequisiteError } from './prerequisites.mjs';
import { cacheDir } from './vscode/install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = join(root, 'sample-workspace');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const say = (line) => console.log(`[start] ${line}`);

// ---------------------------------------------------------------------------------------------
// Stopping: every child is registered when it starts, and stop() ends them all, newest first.

const cleanups = [];
const shutdown = new AbortController();
let stopping;

function stop(code) {
  stopping ??= (async () => {
    shutdown.abort();
    // Taken out first: a child that ends meanwhile removes its own entry from `cleanups`.
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        console.error(`[start] while stopping: ${err.message}`);
      }
    }
    process.exit(code);
  })();
  return stopping;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (!stopping) say(`${sig}: stopping…`);
    void stop(0);
  });
}
// `npm start` runs this under `sh -c`, and a SIGTERM to npm ends npm and sh but never reaches
// here: once the process that started this one is gone, stop as if told to.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) {
    say('the process that started npm start has ended: stopping…');
    void stop(0);
  }
}, 1000).unref();
process.on('uncaughtException', (err) => {
  console.error(err);
  void stop(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  void stop(1);
});

/** Ends a child (or, with group, its whole process group): SIGTERM, then SIGKILL after 5 s. */
async function end(child, { group = false } = {}) {
  const kill = (sig) => {
    try {
      if (group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // Already gone.
    }
  };
  const alive = () => {
    if (!group) return child.exitCode === null && child.signalCode === null;
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  kill('SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) kill('SIGKILL');
}

/** Runs a command to completion, stopped with this script; its output is shown only if it fails. */
function run(cmd, args, { env, quiet = false } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: env ?? process.env, stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'] });
    const cleanup = () => end(child);
    cleanups.push(cleanup);
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    child.stderr?.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (cleanups.includes(cleanup)) cleanups.splice(cleanups.indexOf(cleanup), 1);
      if (code === 0) resolveRun(out);
      else reject(new Error(`${[cmd, ...args].join(' ')} failed (${signal ?? `exit ${code}`})${out ? `:\n${out.trim()}` : ''}`));
    });
  });
}

function onPath(bin) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, bin)));
}

// ---------------------------------------------------------------------------------------------

/** `zdx simulate` as a child; resolves with its URL once it listens. */
function startSimulator() {
  const child = spawn(process.execPath, [join(root, 'dist/cli.js'), 'simulate', '--port', '0', '--time-scale', '30'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => end(child));
  return new Promise((resolveStart, reject) => {
    let out = '';
    let url;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && !url) {
        url = m[1];
        resolveStart(url);
      }
    });
    child.once('exit', (code, signal) => {
      if (!url) reject(new Error(`the simulator exited (${signal ?? code}) before listening:\n${out}`));
      else if (!stopping) {
        console.error(`[start] the simulator stopped (${signal ?? code}); stopping the workbench too.`);
        void stop(1);
      }
    });
  });
}

const PORT = process.env.ZDX_START_PORT ?? '8765';
if (!/^\d+$/.test(PORT) || Number(PORT) > 65535) {
  console.error(`[start] ZDX_START_PORT must be a port number from 0 to 65535 (0: any free port), not "${PORT}".`);
  process.exit(2);
}

/** The port to serve on: the usual one if free (a stable address keeps the browser's state), else any. */
async function choosePort() {
  const wanted = Number(PORT);
  const free = (port) => new Promise((res) => {
    const srv = createServer().once('error', () => res(false)).listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
  if (wanted !== 0 && !(await free(wanted))) {
    say(`port ${wanted} is taken; using another one`);
    return 0;
  }
  return wanted;
}

// Settings of a workbench without network or account: no telemetry, updates, AI or port forwarding
// prompts. Written once; after that the file is the user's.
const SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'remote.autoForwardPorts': false,
  // sample-workspace/ sits inside this repository; no prompt to open the repository above it.
  'git.openRepositoryInParentFolders': 'never',
};

async function codeServer(simulatorUrl) {
  const manifest = JSON.parse(readFileSync(join(cacheDir(), 'manifest.json'), 'utf8'));
  const profile = resolve(process.env.ZDX_START_PROFILE || join(cacheDir(), 'start-profile'));
  const dirs = {
    userData: join(profile, 'user-data'),
    extensions: join(profile, 'extensions'),
    config: join(profile, 'xdg-config'),
    data: join(profile, 'xdg-data'),
    tmp: join(profile, 'tmp'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const settingsFile = join(dirs.userData, 'User', 'settings.json');
  if (!existsSync(settingsFile)) {
    mkdirSync(dirname(settingsFile), { recursive: true });
    writeFileSync(settingsFile, JSON.stringify(SETTINGS, null, 2));
  }
  // code-server and the extension host it starts: no npm/tsx variables (they would reach Node 24),
  // config and state inside the profile, no extension gallery (there is no network to reach it).
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|NODE_OPTIONS$|INIT_CWD$|VSCODE_)/.test(k)) env[k] = v;
  Object.assign(env, { XDG_CONFIG_HOME: dirs.config, XDG_DATA_HOME: dirs.data, TMPDIR: dirs.tmp, EXTENSIONS_GALLERY: '{"serviceUrl":""}', ZDX_DEMO_SIMULATOR_URL: simulatorUrl });
  const dirArgs = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];

  // The extension as users get it: packaged, then installed into this profile (replacing the last one).
  say('packaging the extension and installing it into code-server…');
  const packDir = mkdtempSync(join(tmpdir(), 'zdx-start-vsix-'));
  cleanups.push(() => rmSync(packDir, { recursive: true, force: true }));
  const vsix = join(packDir, `${pkg.name}-${pkg.version}.vsix`);
  await run(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix], { quiet: true });
  await run(manifest.nodeBin, [manifest.codeServerEntry, ...dirArgs, '--install-extension', vsix, '--force'], { env, quiet: true });

  const port = await choosePort();
  const child = spawn(manifest.nodeBin, [
    manifest.codeServerEntry,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    // VS Code's own Welcome page rather than code-server's.
    '--disable-getting-started-override',
    ...dirArgs,
    workspace,
  ], { cwd: workspace, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // Its own process group: code-server starts helpers (extension host, file watcher, pty host).
  cleanups.push(() => end(child, { group: true }));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (out += c));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[start] code-server exited (${signal ?? code}):\n${out.split('\n').slice(-20).join('\n')}`);
    void stop(1);
  });
  const listening = await new Promise((res, rej) => {
    const deadline = Date.now() + 120_000;
    const check = () => {
      const m = /HTTP server listening on (http:\/\/\S+)/.exec(out);
      if (m) return res(m[1].replace(/\/$/, ''));
      if (child.exitCode !== null || stopping) return rej(new Error(`code-server did not start:\n${out}`));
      if (Date.now() > deadline) return rej(new Error(`code-server did not report its address within 2 minutes:\n${out}`));
      setTimeout(check, 100);
    };
    check();
  });
  const url = listening.replace('0.0.0.0', '127.0.0.1');
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return `${url}/?folder=${encodeURIComponent(workspace)}`;
}

async function main() {
  const desktop = onPath('code') && !process.env.ZDX_START_CODE_SERVER;
  say('checking prerequisites…');
  await ensurePrerequisites({ codeServer: !desktop, signal: shutdown.signal });
  say('building…');
  await run(process.execPath, [join(root, 'scripts/build.mjs')]);
  const simulatorUrl = await startSimulator();
  say(`simulator listening on ${simulatorUrl} (rate limits 30x faster; demo account admin@example.com / sim-admin-token)`);

  if (desktop) {
    say('opening desktop VS Code with the extension under development…');
    await run('code', ['--new-window', `--extensionDevelopmentPath=${root}`, workspace], { env: { ...process.env, ZDX_DEMO_SIMULATOR_URL: simulatorUrl } });
    say('VS Code started. The simulator keeps running here; press Ctrl-C to stop it.');
    return;
  }
  const url = await codeServer(simulatorUrl);
  say('VS Code (code-server) is running with the Zendesk extension installed. Open:');
  console.log(`\n  ${url}\n`);
  say('Then click the Zendesk icon in the activity bar. Press Ctrl-C here to stop code-server and the simulator.');
}

main().catch((err) => {
  if (stopping) return;
  console.error(err instanceof PrerequisiteError ? `\n${err.message}` : `[start] ${err.message}`);
  void stop(1);
});
