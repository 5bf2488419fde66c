// Runs test/integration/*.test.ts inside the real VS Code extension host (code-server), with the
// built extension loaded from this checkout, and fails when any in-host test fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildExtension, makeWorkspace, REPO_ROOT, runExtensionTests } from '../support/vscode';

describe('extension integration suite (inside the real extension host)', function () {
  this.timeout(1_200_000);
  let entry: string;

  before(() => {
    // The host loads dist/extension.js + dist/server.js + dist/cli.js: build them from this checkout.
    buildExtension();
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/vscode/buildTests.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
    entry = join(REPO_ROOT, 'out/test/integration/index.js');
  });

  it('passes every in-host test', async () => {
    const workspace = makeWorkspace({ 'README.md': 'integration workspace\n' });
    try {
      const r = await runExtensionTests({
        workspace,
        extensionPath: REPO_ROOT,
        testsEntry: entry,
        timeoutMs: 1_100_000,
        env: {
          ZDX_TEST_FILES: 'extension.test.js',
          ZDX_TEST_TIMEOUT: '600000',
          ...(process.env.ZDX_TEST_GREP ? { ZDX_TEST_GREP: process.env.ZDX_TEST_GREP } : {}),
        },
      });
      const figures = r.log.split('\n').filter((l) => l.includes('[figures]'));
      for (const f of figures) console.log(`      ${f.trim()}`);
      assert.equal(r.exitCode, 0, `in-host tests failed (${r.failures} failures):\n${r.log}`);
      assert.ok((r.passes ?? 0) >= 6, `only ${r.passes} in-host tests passed`);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
