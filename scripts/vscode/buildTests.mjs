#!/usr/bin/env node
// Compiles the in-host integration tests for the extension host, which loads plain CommonJS:
//   test/integration/index.ts    -> out/test/integration/index.js   (mocha bundled in, so the entry
//                                    works from any folder)
//   test/integration/*.test.ts   -> out/test/integration/*.test.js  (one bundle each)
// `vscode` stays external: the host provides it. Tests that need the extension's state must use
// vscode.extensions.getExtension(id).exports, because a test bundle's own copy of src/ modules
// is not the instance the host activated.
//
// Usage: node scripts/vscode/buildTests.mjs [--src DIR] [--out DIR]
//   --src  folder with *.test.ts / *.test.js (default test/integration)
//   --out  output folder (default out/test/integration); emptied first
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function buildIntegrationTests({ src = join(root, 'test', 'integration'), out = join(root, 'out', 'test', 'integration') } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    external: ['vscode', '@napi-rs/keyring'],
  };
  const tests = existsSync(src) ? readdirSync(src).filter((f) => /\.test\.(ts|js)$/.test(f)).sort() : [];
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(root, 'test', 'integration', 'index.ts')],
      outfile: join(out, 'index.js'),
      sourcemap: false,
      // Only mocha's parallel mode resolves files at run time; the runner uses serial mode.
      logOverride: { 'require-resolve-not-external': 'silent' },
    }),
    ...tests.map((f) => build({
      ...common,
      entryPoints: [join(src, f)],
      outfile: join(out, `${basename(f).replace(/\.(ts|js)$/, '')}.js`),
      // mocha's globals (describe/it) are provided by the runner in index.js.
      external: [...common.external, 'mocha'],
    })),
  ]);
  return { out, entry: join(out, 'index.js'), tests: tests.map((f) => f.replace(/\.(ts|js)$/, '.js')) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? resolve(process.argv[i + 1]) : undefined;
  };
  const started = Date.now();
  buildIntegrationTests({ src: arg('--src'), out: arg('--out') }).then(
    (r) => console.log(`[build-tests] ${r.tests.length} test bundle(s) + index.js in ${r.out} (${Date.now() - started} ms)`),
    (err) => { console.error(`[build-tests] FAILED: ${err.message}`); process.exit(1); },
  );
}
