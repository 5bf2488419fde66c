// For contributors with desktop VS Code and internet access: runs the same in-host integration
// suite as `npm test` through @vscode/test-cli (which downloads VS Code).
//   npm run build && npm run build:tests && npx vscode-test
// On machines without that download (this project's CI), the suite runs in code-server instead:
// see test/support/vscode.ts and test/e2e/extensionHost.test.ts.
import { defineConfig } from '@vscode/test-cli';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The tests create queries and exports in the workspace: give them a folder outside the checkout.
const workspaceFolder = join(tmpdir(), 'zdx-vscode-test-workspace');
mkdirSync(workspaceFolder, { recursive: true });
writeFileSync(join(workspaceFolder, 'README.md'), 'integration workspace\n');

export default defineConfig({
  label: 'integration',
  // Bundles produced by scripts/vscode/buildTests.mjs; test-cli brings its own mocha runner.
  files: 'out/test/integration/*.test.js',
  // The version the code-server route runs (code-server 4.139.1 = VS Code 1.139.1).
  version: '1.139.1',
  workspaceFolder,
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
  mocha: { ui: 'bdd', timeout: 600_000 },
});
