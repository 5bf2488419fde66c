// Boundaries are enforced, not hoped for: only src/extension/ may import `vscode`,
// and the webview may import nothing from the host but src/protocol/.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'src/engine/generated/**', '.test-output/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/extension/ may import vscode: keep the engine, server, CLI and simulator editor-independent.' }] }],
    },
  },
  {
    files: ['src/extension/**/*.ts', 'test/integration/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The webview talks to the host only through src/protocol/.' }],
        patterns: [{ regex: '^\\.\\./(\\.\\./)*src/(?!protocol/)', message: 'The webview may import only src/protocol/ from the host.' }],
      }],
    },
  },
);
