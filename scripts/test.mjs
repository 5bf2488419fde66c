#!/usr/bin/env node
// `npm test`: every check the project has, in order, output streamed. Runs all steps even after a
// failure (one run shows every problem), exits non-zero if any failed, and ends with one line
// `N passed, N failed` summing the mocha counts, including the tests run inside the real
// VS Code extension host.
//
// Usage: node scripts/test.mjs [step ...]     steps: typecheck lint build unit keychain vscode
//   (default: all, in that order). ZDX_TEST_FILTER=<regexp> runs only the test files whose path
//   matches, e.g. ZDX_TEST_FILTER=vsix node scripts/test.mjs unit
// First, in seconds, what the steps need from the machine (scripts/prerequisites.mjs): installed
// as root, else the run stops at once with the command to type.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrerequisites, forTestSteps, PrerequisiteError, TEST_STEPS } from './prerequisites.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const mochaBin = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const node = process.execPath;

// --no-package: the package.json mocha section would otherwise merge its own spec into ours.
const mochaArgs = (timeoutMs) => [mochaBin, '--no-package', '--node-option', 'import=tsx', '--timeout', String(timeoutMs), '--reporter', 'spec'];

const ALL_STEPS = TEST_STEPS;
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const s of requested) {
  if (!ALL_STEPS.includes(s)) {
    console.error(`Unknown step "${s}"; steps: ${ALL_STEPS.join(' ')}`);
    process.exit(2);
  }
}
const steps = requested.length ? ALL_STEPS.filter((s) => requested.includes(s)) : ALL_STEPS;

try {
  await ensurePrerequisites(forTestSteps(steps));
} catch (err) {
  console.error(err instanceof PrerequisiteError ? `\n${err.message}` : `[setup] FAILED: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const results = []; // { step, ok, seconds, note }
const totals = { passed: 0, failed: 0, pending: 0 };

function banner(text) {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(3, 76 - text.length))}`);
}

/**
 * Runs a command: stdout streamed and returned for counting, stderr inherited; with `quiet`, both
 * are only returned (for output printed whole later).
 */
function run(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'], env: { ...process.env, ...opts.env } });
    let out = '';
    child.stdout.on('data', (chunk) => {
      if (!opts.quiet) process.stdout.write(chunk);
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk) => { out += chunk.toString(); });
    child.on('error', (err) => { console.error(`${cmd}: ${err.message}`); res({ code: 127, out }); });
    child.on('close', (code, signal) => res({ code: code ?? (signal ? 128 : 1), out }));
  });
}

// Mocha's spec reporter ends with "  N passing (Xs)", "  N failing", "  N pending"; lines from
// the extension host are echoed with a "[host]" prefix, so anchoring at the line start keeps the
// in-host summaries out of this count (they are added from the results file instead).
function mochaCounts(out) {
  const text = out.replace(/\u001b\[[0-9;]*m/g, '');
  const last = (re) => {
    let n = null;
    for (const m of text.matchAll(re)) n = Number(m[1]);
    return n;
  };
  return {
    passing: last(/^\s*(\d+) passing\b/gm),
    failing: last(/^\s*(\d+) failing\b/gm),
    pending: last(/^\s*(\d+) pending\b/gm),
  };
}

async function step(name, fn) {
  banner(name);
  const started = Date.now();
  let outcome;
  try {
    outcome = await fn();
  } catch (err) {
    console.error(err);
    outcome = { ok: false, note: err.message };
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  results.push({ step: name, seconds, ...outcome });
}

async function mochaStep(cmd, args, env) {
  const { code, out } = await run(cmd, args, { env });
  const c = mochaCounts(out);
  totals.passed += c.passing ?? 0;
  totals.pending += c.pending ?? 0;
  let failed = c.failing ?? 0;
  // A crash before mocha's summary (or a failing hook with nothing counted) still counts as a failure.
  if (code !== 0 && failed === 0) failed = 1;
  totals.failed += failed;
  return { ok: code === 0, note: `${c.passing ?? 0} passing, ${failed} failing${c.pending ? `, ${c.pending} pending` : ''}` };
}

/**
 * Test files in parallel, one mocha process per file and as many at once as there are cores (at
 * most 4), the largest files first so that no core is left with a long one at the end. Each test
 * file stands on its own (its own temp folders, simulators and code-servers on port 0, throwaway
 * PostgreSQL clusters), which is what lets them share a loaded machine. A file's report is printed
 * whole when it ends.
 */
async function parallelMochaStep(name, files, timeoutMs, env = {}) {
  const queue = [...files].sort((a, b) => statSync(join(root, b)).size - statSync(join(root, a)).size);
  const jobs = Math.max(1, Math.min(4, availableParallelism(), files.length));
  const counts = { passing: 0, failed: 0, pending: 0, crashed: [] };
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const { code, out } = await run(node, [...mochaArgs(timeoutMs), file], { quiet: true, env });
      console.log(`\n--- ${name}: ${file}`);
      process.stdout.write(out);
      const c = mochaCounts(out);
      counts.passing += c.passing ?? 0;
      counts.pending += c.pending ?? 0;
      // A crash before mocha's summary (or a failing hook with nothing counted) still counts as a failure.
      counts.failed += code !== 0 && !c.failing ? 1 : c.failing ?? 0;
      if (code !== 0) counts.crashed.push(file);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  totals.passed += counts.passing;
  totals.pending += counts.pending;
  totals.failed += counts.failed;
  const failedFiles = counts.crashed.length ? `; failed: ${counts.crashed.join(' ')}` : '';
  return { ok: !counts.crashed.length, note: `${counts.passing} passing, ${counts.failed} failing${counts.pending ? `, ${counts.pending} pending` : ''} (${jobs} at once)${failedFiles}` };
}

const simple = (cmd, args) => async () => {
  const { code } = await run(cmd, args);
  return { ok: code === 0, note: code === 0 ? '' : `exit ${code}` };
};

const fileFilter = process.env.ZDX_TEST_FILTER ? new RegExp(process.env.ZDX_TEST_FILTER) : null;

function testFiles(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true })
    .map(String)
    .filter((f) => /\.test\.ts$/.test(f))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => !fileFilter || fileFilter.test(f));
}

const KEYCHAIN = /keychain/i;

const definitions = {
  // Each area is checked against its own platform: src/ (Node, no DOM), webview/ (DOM, no Node), the rest.
  typecheck: async () => {
    const projects = ['src', 'webview', '.'];
    const outcomes = await Promise.all(projects.map((project) => run(bin('tsc'), ['-p', project], { quiet: true })));
    for (const o of outcomes) process.stdout.write(o.out);
    const failed = projects.filter((_, i) => outcomes[i].code !== 0).map((p) => (p === '.' ? 'tests, bench, scripts' : p));
    return { ok: !failed.length, note: failed.length ? `type errors in ${failed.join(', ')}` : '' };
  },
  lint: async () => {
    const dirs = ['src', 'test', 'bench', 'webview', 'scripts'].filter((d) => existsSync(join(root, d)));
    return simple(bin('eslint'), dirs)();
  },
  build: simple(node, ['scripts/build.mjs']),
  unit: async () => {
    const files = testFiles('test/unit').filter((f) => !KEYCHAIN.test(f));
    if (!files.length) return { ok: true, note: 'no unit tests' };
    return parallelMochaStep('unit', files, 60_000);
  },
  keychain: async () => {
    const files = testFiles('test/unit').filter((f) => KEYCHAIN.test(f));
    const wrapper = join(root, 'scripts', 'with-keyring.sh');
    if (!existsSync(wrapper)) {
      console.log('scripts/with-keyring.sh does not exist: skipping the keychain tests.');
      return { ok: true, note: 'skipped: no scripts/with-keyring.sh' };
    }
    if (!files.length) return { ok: true, note: 'no keychain tests' };
    // The wrapper starts a private D-Bus session with an unlocked gnome-keyring around mocha.
    return mochaStep('sh', [wrapper, node, ...mochaArgs(120_000), ...files]);
  },
  vscode: async () => {
    const buildTests = await run(node, ['scripts/vscode/buildTests.mjs']);
    if (buildTests.code !== 0) {
      totals.failed += 1;
      return { ok: false, note: 'building test/integration failed' };
    }
    const files = [...testFiles('test/integration-harness'), ...testFiles('test/e2e')];
    if (!files.length) return { ok: true, note: 'no VS Code tests' };
    // runExtensionTests (test/support/vscode.ts) appends the in-host mocha counts here.
    const dir = mkdtempSync(join(tmpdir(), 'zdx-test-results-'));
    const hostResults = join(dir, 'host-results.jsonl');
    try {
      const r = await parallelMochaStep('vscode', files, 300_000, { ZDX_HOST_RESULTS_FILE: hostResults });
      let host = { passes: 0, failures: 0 };
      if (existsSync(hostResults)) {
        for (const line of readFileSync(hostResults, 'utf8').split('\n').filter(Boolean)) {
          const x = JSON.parse(line);
          host = { passes: host.passes + (x.passes ?? 0), failures: host.failures + (x.failures ?? 0) };
        }
      }
      totals.passed += host.passes;
      totals.failed += host.failures;
      return { ...r, note: `${r.note}; in the extension host: ${host.passes} passing, ${host.failures} failing` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

const started = Date.now();
for (const name of steps) await step(name, definitions[name]);

banner('summary');
for (const r of results) {
  console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.step.padEnd(10)} ${String(r.seconds).padStart(6)} s  ${r.note ?? ''}`);
}
console.log(`total ${Math.round((Date.now() - started) / 1000)} s${totals.pending ? `, ${totals.pending} pending` : ''}`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(results.every((r) => r.ok) && totals.failed === 0 ? 0 : 1);
