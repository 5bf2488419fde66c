#!/usr/bin/env node
// `npm start`: build, start the demo simulator, and open a workbench with the extension loaded,
// the sample workspace open and the "Demo (simulator)" connection configured.
//   - desktop VS Code when `code` is on PATH (code --extensionDevelopmentPath=...);
//   - otherwise the cached code-server (scripts/vscode/install.mjs) through the test harness,
//     printing the URL to open in a browser.
// The simulator's URL reaches the extension as ZDX_DEMO_SIMULATOR_URL; the extension adds the demo
// connection and stores the simulator's fixed demo token in its secret storage.
// Stop with Ctrl-C: the simulator (and code-server) stop with this script.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = join(root, 'sample-workspace');
const say = (line) => console.log(`[start] ${line}`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[start] ${[cmd, ...args].join(' ')} failed (exit ${r.status}).`);
    process.exit(r.status ?? 1);
  }
}

function onPath(bin) {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'which', [bin], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

/** `zdx simulate` as a child; resolves with { url, child } once it listens. */
function startSimulator() {
  const child = spawn(process.execPath, [join(root, 'dist/cli.js'), 'simulate', '--port', '0', '--time-scale', '30'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolveStart, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolveStart({ url: m[1], child });
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before listening:\n${out}`)));
  });
}

say('building…');
run(process.execPath, [join(root, 'scripts/build.mjs')]);

const sim = await startSimulator();
// Whatever goes wrong from here on, don't leave the simulator (or code-server) running.
process.on('uncaughtException', (err) => {
  console.error(err);
  void stop(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  void stop(1);
});
say(`simulator listening on ${sim.url} (rate limits 30x faster; demo account admin@example.com / sim-admin-token)`);
const cleanups = [() => sim.child.kill('SIGTERM')];
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  for (const c of cleanups.reverse()) await c();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
const env = { ...process.env, ZDX_DEMO_SIMULATOR_URL: sim.url };

if (onPath('code') && !process.env.ZDX_START_CODE_SERVER) {
  say('opening desktop VS Code with the extension under development…');
  const code = spawn('code', ['--new-window', `--extensionDevelopmentPath=${root}`, workspace], { env, stdio: 'inherit' });
  code.once('exit', () => say('VS Code started. The simulator keeps running here; press Ctrl-C to stop it.'));
} else {
  // No desktop VS Code here: the real workbench from the cached code-server, in a browser.
  const cache = process.env.ZDX_VSCODE_CACHE || join(process.env.HOME ?? '', '.cache', 'zdx-vscode');
  if (!existsSync(join(cache, 'manifest.json'))) {
    say('installing code-server into the cache (first time only, ~2 min)…');
    run(process.execPath, [join(root, 'scripts/vscode/install.mjs')]);
  }
  // The harness is TypeScript (CommonJS); tsx's require loads it from this plain script.
  const tsx = await import('tsx/cjs/api');
  const { startCodeServer } = tsx.require('../test/support/vscode.ts', import.meta.url);
  const server = await startCodeServer({ workspace, extensionPath: root, env: { ZDX_DEMO_SIMULATOR_URL: sim.url } });
  cleanups.push(() => server.stop());
  const payload = [['extensionDevelopmentPath', server.remoteUri(root)], ['skipWelcome', 'true']];
  const url = `${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  say('code-server is running (VS Code in the browser, with the extension loaded). Open:');
  console.log(`\n  ${url}\n`);
  say('Then click the Zendesk icon in the activity bar. Press Ctrl-C here to stop code-server and the simulator.');
}
