#!/usr/bin/env node
// What `npm start`, `npm test` and .ci/run need from the machine, checked in their first seconds so
// that nothing fails minutes in: Debian packages (installed with apt-get when running as root, as CI
// does; otherwise the run stops at once with the one command to type) and the cached code-server +
// Node 24 from npm (scripts/vscode/install.mjs, ≈3 min the first time, with progress).
//
// Usage: node scripts/prerequisites.mjs [start|test]     (.ci/run: test, the default)
// scripts/start.mjs and scripts/test.mjs call ensurePrerequisites() before anything else.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cacheDir, install as installCodeServer } from './vscode/install.mjs';

/** Debian packages the project may need, and what for (said when they are installed). */
export const PACKAGES = {
  'libkrb5-dev': "headers code-server's native modules compile against",
  'build-essential': "make and g++, to compile code-server's native modules",
  python3: "node-gyp's build scripts, to compile code-server's native modules",
  chromium: 'the browser the UI tests drive VS Code in',
  dbus: 'a private session bus for the keychain tests',
  'gnome-keyring': 'the Secret Service the keychain tests keep secrets in',
  postgresql: "the server the PostgreSQL output's tests start throwaway clusters of",
};

// Packages that count as present when their commands are (make and g++ without the
// build-essential metapackage are fine). The others are asked of dpkg.
const COMMANDS = { 'build-essential': ['make', 'g++'], python3: ['python3'] };

/** The steps of scripts/test.mjs, in order. */
export const TEST_STEPS = ['typecheck', 'lint', 'build', 'unit', 'keychain', 'vscode'];

/** What the given steps of scripts/test.mjs need. */
export function forTestSteps(steps) {
  return { codeServer: steps.includes('vscode'), chromium: steps.includes('vscode'), keyring: steps.includes('keychain'), postgres: steps.includes('unit') };
}

/** The Chromium the UI tests launch (test/support/vscode.ts reads the same variable). */
export const chromiumPath = (env = process.env) => env.ZDX_CHROMIUM || '/usr/bin/chromium';

/** Whether the cached code-server + Node 24 is complete (the manifest and the binaries it names). */
export function codeServerCached(env = process.env) {
  try {
    const m = JSON.parse(readFileSync(join(env.ZDX_VSCODE_CACHE || cacheDir(), 'manifest.json'), 'utf8'));
    return existsSync(m.nodeBin) && existsSync(m.codeServerEntry);
  } catch {
    return false;
  }
}

/** The Debian packages needed: code-server's build needs only to run while it isn't cached. */
export function neededPackages({ codeServer = false, chromium = false, keyring = false, postgres = false, cached = true, env = process.env }) {
  const packages = [];
  if (postgres) packages.push('postgresql');
  if (codeServer && !cached) packages.push('libkrb5-dev', 'build-essential', 'python3');
  if (chromium && !env.ZDX_CHROMIUM) packages.push('chromium');
  if (keyring) packages.push('dbus', 'gnome-keyring');
  return packages;
}

function onPath(command, env) {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/**
 * The packages of `packages` that are not installed, by dpkg-query (found on env.PATH). Returns
 * undefined on a system without dpkg-query, where they can't be checked.
 */
export function missingPackages(packages, env = process.env) {
  const missing = [];
  for (const p of packages) {
    if (COMMANDS[p]) {
      if (!COMMANDS[p].every((c) => onPath(c, env))) missing.push(p);
      continue;
    }
    if (!onPath('dpkg-query', env)) return undefined;
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { env, encoding: 'utf8' });
    if (r.status !== 0 || !/\binstall ok installed\b/.test(r.stdout)) missing.push(p);
  }
  return missing;
}

/** The one command that installs `packages`, for someone who isn't root. */
export function installCommand(packages) {
  return `sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`;
}

const say = (line) => console.log(`[setup] ${line}`);

/** Something is missing that can't be installed from here; the message says what to type. */
export class PrerequisiteError extends Error {}

/**
 * Checks, and as root installs, the Debian packages and the cached code-server that the caller
 * needs. Throws a PrerequisiteError when something is missing that can't be installed here.
 */
export async function ensurePrerequisites({
  codeServer = false, chromium = false, keyring = false, postgres = false, force = false,
  env = process.env, asRoot = process.getuid?.() === 0, signal,
} = {}) {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new PrerequisiteError(`This project needs Node.js 20 or later; this is ${process.version}. Install a current Node.js (https://nodejs.org), then run the command again.`);
  const packages = neededPackages({ codeServer, chromium, keyring, postgres, cached: !force && codeServerCached(env), env });
  const missing = missingPackages(packages, env);
  if (missing === undefined) {
    say(`no dpkg-query here, so not checked: make sure these are installed (Debian names): ${packages.join(', ')}`);
  } else if (missing.length) {
    if (!asRoot || !onPath('apt-get', env)) {
      throw new PrerequisiteError(
        `Missing system packages: ${missing.map((p) => `${p} (${PACKAGES[p]})`).join('; ')}.\n`
        + `Install them with this command, then run the same npm command again:\n\n  ${installCommand(missing)}\n`,
      );
    }
    for (const p of missing) say(`installing ${p}: ${PACKAGES[p]}`);
    await aptInstall(missing, { env, signal });
  }
  if (codeServer) await installCodeServer({ force, signal });
  if (chromium && !existsSync(chromiumPath(env))) {
    throw new PrerequisiteError(`The UI tests launch Chromium from ${chromiumPath(env)} (set by ZDX_CHROMIUM), which does not exist.`);
  }
}

/** apt-get update + install, with a progress line every 5 s; apt's own output is shown only if it fails. */
async function aptInstall(packages, { env, signal }) {
  const started = Date.now();
  await aptGet(['update'], { env, signal });
  await aptGet(['install', '-y', ...packages], { env, signal });
  say(`installed ${packages.join(' ')} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** One APT::Status-Fd line as "downloading 40% (Retrieving file 12 of 57)"; undefined for others. */
export function aptStatusText(line) {
  const m = /^(dlstatus|pmstatus):[^:]*:([\d.]+):(.*)$/.exec(line.trim());
  if (!m) return undefined;
  return `${m[1] === 'dlstatus' ? 'downloading' : 'installing'} ${Math.floor(Number(m[2]))}% (${m[3]})`;
}

function aptGet(args, { env, signal }) {
  say(`$ apt-get ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    // apt reports its progress as status lines on file descriptor 3.
    const child = spawn('apt-get', ['-q', '-o', 'APT::Status-Fd=3', '-o', 'Dpkg::Use-Pty=0', ...args], {
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      signal,
    });
    const started = Date.now();
    let output = '';
    let status = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (output += c));
    child.stdio[3].setEncoding('utf8').on('data', (c) => {
      const lines = (partial + c).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) status = aptStatusText(l) ?? status;
    });
    const ticker = setInterval(() => {
      say(`apt-get ${args[0]}: ${Math.round((Date.now() - started) / 1000)} s · ${status || (args[0] === 'update' ? 'reading the package lists' : 'resolving dependencies')}`);
    }, 5000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code, sig) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`apt-get ${args[0]} failed (${sig ?? `exit ${code}`}):\n${output.split('\n').slice(-30).join('\n')}`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const use = process.argv[2] ?? 'test';
  if (!['start', 'test'].includes(use)) {
    console.error('Usage: node scripts/prerequisites.mjs [start|test]');
    process.exit(2);
  }
  ensurePrerequisites(use === 'test' ? forTestSteps(TEST_STEPS) : { codeServer: true }).then(
    () => say(`ready for npm ${use}`),
    (err) => {
      console.error(err instanceof PrerequisiteError ? `\n${err.message}` : `[setup] FAILED: ${err.message}`);
      process.exit(1);
    },
  );
}
