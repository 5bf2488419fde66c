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
const failures = []; // { file, why }: printed again just above the summary, where a CI log's tail shows it

function banner(text) {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(3, 76 - text.length))}`);
}

// A test file's bounds in the pool: a file that runs longer, or doesn't exit once mocha has printed
// its summary (a server, socket or timer left open), is stopped and counted as failed, so that one
// file can't hold `npm test` (and CI) until an outer timeout says nothing.
const FILE_DEADLINE_MS = 30 * 60_000;
const EXIT_AFTER_SUMMARY_MS = 60_000;

// Bounded runs are process groups of their own, which a Ctrl-C in the terminal doesn't reach: pass it on.
const boundedGroups = new Set();
function signalGroup(pid, signal) {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}
process.on('SIGINT', () => {
  for (const pid of boundedGroups) signalGroup(pid, 'SIGINT');
  process.exit(130);
});

/**
 * Runs a command: stdout streamed and returned for counting, stderr inherited; with `quiet`, both
 * are only returned (for output printed whole later); with `bounded`, a mocha run is held to the
 * bounds above.
 */
function run(cmd, args, opts = {}) {
  return new Promise((res) => {
    // A bounded run is its own process group, so that stopping it reaches a wrapper's children too.
    const child = spawn(cmd, args, { cwd: root, detached: !!opts.bounded, stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'], env: { ...process.env, ...opts.env } });
    let out = '';
    let overrun = '';
    const timers = [];
    if (opts.bounded) boundedGroups.add(child.pid);
    // SIGINT lets mocha end the run (the test support then stops its code-servers); SIGKILL if not.
    const stop = (why) => {
      overrun = why;
      signalGroup(child.pid, 'SIGINT');
      timers.push(setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 10_000));
    };
    if (opts.bounded) timers.push(setTimeout(() => stop(`stopped: still running after ${FILE_DEADLINE_MS / 60_000} min`), FILE_DEADLINE_MS));
    let summarySeen = false;
    child.stdout.on('data', (chunk) => {
      if (!opts.quiet) process.stdout.write(chunk);
      out += chunk.toString();
      if (opts.bounded && !summarySeen && /^\s*\d+ passing\b/m.test(out)) {
        summarySeen = true;
        timers.push(setTimeout(() => stop(`stopped: did not exit within ${EXIT_AFTER_SUMMARY_MS / 1000} s of its summary (something left open: a server, socket or timer)`), EXIT_AFTER_SUMMARY_MS));
      }
    });
    child.stderr?.on('data', (chunk) => { out += chunk.toString(); });
    child.on('error', (err) => { console.error(`${cmd}: ${err.message}`); res({ code: 127, out }); });
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      boundedGroups.delete(child.pid);
      if (overrun) res({ code: code || 1, out: `${out}\n(${overrun})\n` });
      else res({ code: code ?? (signal ? 128 : 1), out });
    });
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

/** Mocha's "N failing" section without its stack frames, at most 30 lines; or the output's end. */
function failureExcerpt(out, code) {
  const lines = out.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const at = lines.findLastIndex((l) => /^\s*\d+ failing\b/.test(l));
  const part = at >= 0 ? lines.slice(at + 1) : [...lines.slice(-12), `(exit ${code} with no failing test listed)`];
  return part.filter((l) => l.trim() && !/^\s+at /.test(l)).slice(0, 30).join('\n');
}

async function step(name, fn, { quiet = false } = {}) {
  if (!quiet) banner(name);
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

/**
 * The test files of the unit, keychain and VS Code steps share one pool of mocha processes, one
 * process per file (the keychain files together, inside their keyring), as many at once as there
 * are cores plus one (at most 4), with no more VS Code files at once than cores (each is a
 * code-server and a Chromium, busy all the time): while a unit file waits on a child process or a
 * socket, another runs. The longest run first (the VS Code files, then by size) so that no core is
 * left with a long one at the end. Each test file stands on its own (its own temp folders,
 * simulators and code-servers on port 0, throwaway PostgreSQL clusters), which is what lets them
 * share a loaded machine. A file's report is printed whole when it ends.
 */
const SLOTS = Math.max(1, Math.min(4, availableParallelism() + 1));
const pool = { queue: [], running: 0, byStep: new Map() };

/** Queues a command's run in the pool; resolves with its outcome when it has run. */
function pooled(job, cmd, args, env) {
  return new Promise((resolveJob) => {
    pool.queue.push({ ...job, start: () => run(cmd, args, { quiet: true, bounded: true, env }).then(resolveJob) });
    pool.queue.sort((a, b) => b.rank - a.rank);
    drainPool();
  });
}

function drainPool() {
  for (let i = 0; pool.running < SLOTS && i < pool.queue.length;) {
    const job = pool.queue[i];
    const busy = pool.byStep.get(job.step) ?? 0;
    if (busy >= job.maxAtOnce) {
      i += 1;
      continue;
    }
    pool.queue.splice(i, 1);
    pool.running += 1;
    pool.byStep.set(job.step, busy + 1);
    void job.start().finally(() => {
      pool.running -= 1;
      pool.byStep.set(job.step, pool.byStep.get(job.step) - 1);
      drainPool();
    });
  }
}

/** Runs each file in its own pooled mocha process; counts as one step. */
async function pooledMochaStep(name, files, timeoutMs, { env = {}, rank = 0, wrap = [], maxAtOnce = SLOTS } = {}) {
  const counts = { passing: 0, failed: 0, pending: 0, crashed: [] };
  await Promise.all(files.map(async (group) => {
    const list = Array.isArray(group) ? group : [group];
    const bytes = list.reduce((n, f) => n + statSync(join(root, f)).size, 0);
    const [cmd, ...args] = [...wrap, node, ...mochaArgs(timeoutMs), ...list];
    const { code, out } = await pooled({ step: name, rank: rank + bytes, maxAtOnce }, cmd, args, env);
    console.log(`\n--- ${name}: ${list.join(' ')}`);
    process.stdout.write(out);
    const c = mochaCounts(out);
    counts.passing += c.passing ?? 0;
    counts.pending += c.pending ?? 0;
    // A crash before mocha's summary (or a failing hook with nothing counted) still counts as a failure.
    counts.failed += code !== 0 && !c.failing ? 1 : c.failing ?? 0;
    if (code !== 0) {
      counts.crashed.push(...list);
      failures.push({ file: list.join(' '), why: failureExcerpt(out, code) });
    }
  }));
  totals.passed += counts.passing;
  totals.pending += counts.pending;
  totals.failed += counts.failed;
  const failedFiles = counts.crashed.length ? `; failed: ${counts.crashed.join(' ')}` : '';
  return { ok: !counts.crashed.length, note: `${counts.passing} passing, ${counts.failed} failing${counts.pending ? `, ${counts.pending} pending` : ''}${failedFiles}` };
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
// Ranks that put a step's files ahead of any unit file (ranked by its size in bytes).
const LONG = 1e9;

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
    return pooledMochaStep('unit', files, 60_000);
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
    return pooledMochaStep('keychain', [files], 120_000, { wrap: ['sh', wrapper], rank: LONG });
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
      const r = await pooledMochaStep('vscode', files, 300_000, { env: { ZDX_HOST_RESULTS_FILE: hostResults }, rank: 2 * LONG, maxAtOnce: availableParallelism() });
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
// The checks and the build first, one after the other; then the test steps at once over the pool.
const POOLED = ['unit', 'keychain', 'vscode'];
for (const name of steps.filter((s) => !POOLED.includes(s))) await step(name, definitions[name]);
const pooledSteps = steps.filter((s) => POOLED.includes(s));
if (pooledSteps.length) banner(`${pooledSteps.join(', ')}: ${SLOTS} test files at once`);
await Promise.all(pooledSteps.map((name) => step(name, definitions[name], { quiet: true })));
results.sort((a, b) => steps.indexOf(a.step) - steps.indexOf(b.step));

if (failures.length) {
  banner('failures');
  for (const f of failures) console.log(`--- ${f.file}\n${f.why}`);
}
banner('summary');
for (const r of results) {
  console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.step.padEnd(10)} ${String(r.seconds).padStart(6)} s  ${r.note ?? ''}`);
}
console.log(`total ${Math.round((Date.now() - started) / 1000)} s${totals.pending ? `, ${totals.pending} pending` : ''}`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(results.every((r) => r.ok) && totals.failed === 0 ? 0 : 1);
