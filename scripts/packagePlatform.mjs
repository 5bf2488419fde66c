#!/usr/bin/env node
// `npm run package:platform [-- --target <target>] [vsce options]`: the .vsix for one platform,
// carrying DuckDB's native driver (@duckdb/node-api, its bindings for that platform, and
// detect-libc, which they use to tell glibc from musl): .vscodeignore lets exactly those through
// node_modules. The universal `npm run package` leaves node_modules out altogether, so its DuckDB
// and Parquet outputs say in one sentence that this build is needed. The binding must be installed,
// which `npm ci` does for the machine it runs on: build each platform on its own machine (a CI matrix).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const at = args.indexOf('--target');
const target = at >= 0 ? args[at + 1] : `${process.platform === 'linux' && isMusl() ? 'alpine' : process.platform}-${process.arch}`;
const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;
// vsce's target names; DuckDB names Alpine's musl builds linux-<arch>-musl.
const binding = target.startsWith('alpine-') ? `linux-${target.slice('alpine-'.length)}-musl` : target;
const dir = join(root, 'node_modules', '@duckdb', `node-bindings-${binding}`);
if (!existsSync(join(dir, 'duckdb.node'))) {
  console.error(`package:platform: DuckDB's binding for ${target} (@duckdb/node-bindings-${binding}) is not installed here, so the package can't carry it; run this on a ${target} machine after npm ci.`);
  process.exit(1);
}
const vsce = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
execFileSync(vsce, ['package', '--target', target, '--skip-license', '--allow-missing-repository', ...rest], { cwd: root, stdio: 'inherit' });

function isMusl() {
  try {
    return !process.report.getReport().header.glibcVersionRuntime;
  } catch {
    return false;
  }
}
