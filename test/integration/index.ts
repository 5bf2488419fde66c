// Entry point VS Code loads inside the extension host (extensionTestsPath) to run the integration
// suite with the real `vscode` API. Bundled with mocha by scripts/vscode/buildTests.mjs into
// out/test/integration/index.js, next to one bundle per test/integration/*.test.ts.
// Output goes to the console, which the workbench forwards to codeAutomationLog; the returned
// promise's outcome becomes the exit code VS Code reports through codeAutomationExit.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// Parsed by runExtensionTests in test/support/vscode.ts; keep the two in step.
const RESULT_MARKER = 'zdx-mocha-result ';

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    // The forwarded console is plain text; colour codes would only clutter it.
    color: false,
    timeout: Number(process.env.ZDX_TEST_TIMEOUT ?? 60_000),
    grep: process.env.ZDX_TEST_GREP || undefined,
  });
  // ZDX_TEST_DIR: where the compiled tests are (default: next to this file); ZDX_TEST_FILES:
  // comma-separated basenames to run a subset, e.g. "commands.test.js".
  const dir = process.env.ZDX_TEST_DIR || __dirname;
  const only = process.env.ZDX_TEST_FILES?.split(',').map((s) => s.trim()).filter(Boolean);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js') && (!only || only.includes(f)))
    .sort();
  if (files.length === 0) return Promise.reject(new Error(`No compiled *.test.js files in ${dir}.`));
  for (const f of files) mocha.addFile(join(dir, f));

  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats;
        console.log(`${RESULT_MARKER}${JSON.stringify({ passes: stats?.passes ?? 0, failures, pending: stats?.pending ?? 0 })}`);
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed.`));
        else resolve();
      });
    } catch (err) {
      console.error(err);
      reject(err);
    }
  });
}
