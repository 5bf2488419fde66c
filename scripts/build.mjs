// Bundles every entry point with esbuild. Entries that don't exist yet are skipped so the
// build works at every stage of the tree.
import { build } from 'esbuild';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const production = process.argv.includes('--production');
// write: false, then each file replaced by a rename (below), so that a VS Code or a `zdx` that
// loads dist/ while a build runs (a test file building beside another's workbench, `npm start`
// beside a window) reads the old file or the new one, never a half-written one.
const common = { write: false, bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

const node = [
  { in: 'src/cli/main.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  { in: 'src/server/main.ts', out: 'dist/server.js' },
  { in: 'src/extension/extension.ts', out: 'dist/extension.js' },
];

const jobs = [];
for (const e of node) {
  if (!existsSync(e.in)) continue;
  jobs.push(build({
    ...common,
    entryPoints: [e.in],
    outfile: e.out,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // vscode is provided by the host; native binaries can't be bundled: the keyring, and DuckDB
    // (loaded only when a table output needs it; see "How the drivers ship" in the README).
    // pg's optional native binding is never used.
    external: ['vscode', '@napi-rs/keyring', '@duckdb/node-api', 'pg-native'],
    // jsonc-parser's UMD "main" requires './impl/format' at run time, which a bundle can't resolve;
    // its ESM build ("module") bundles cleanly.
    mainFields: ['module', 'main'],
    banner: e.banner ? { js: e.banner } : undefined,
  }));
}
if (existsSync('webview/main.ts')) {
  // The grid webview: a browser bundle plus its layout CSS, both loaded from dist/ (the panel's only
  // localResourceRoot). AG Grid's own CSS is injected by its theming API with the CSP nonce.
  jobs.push(build({ ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', target: 'es2022', format: 'iife' }));
  if (existsSync('webview/grid.css')) jobs.push(build({ ...common, entryPoints: ['webview/grid.css'], outfile: 'dist/webview.css' }));
}
for (const { outputFiles } of await Promise.all(jobs)) {
  for (const file of outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
  }
}
