// Boundaries are enforced, not hoped for:
// - only src/extension/ (and the tests that run inside VS Code) may import `vscode`;
// - the engine (src/engine/) imports nothing of the server, CLI, extension, protocol or simulator;
// - the engine's rooms (zendesk/, export/, query/, rows/, tables/) are entered through their index.ts: code
//   outside a room imports `engine/<room>`, never a file inside it (unit tests may test internals);
// - the webview imports nothing from the host but src/protocol/.
import tseslint from 'typescript-eslint';

const VSCODE = { name: 'vscode', message: 'Only src/extension/ may import vscode: keep the engine, server, CLI and simulator editor-independent.' };
const ROOM_FILES_FROM_OUTSIDE = {
  regex: '(^|/)engine/(zendesk|export|query|rows|tables)/.',
  message: 'Import an engine room through its index (src/engine/<room>), not a file inside it.',
};
const ROOM_FILES_FROM_ANOTHER_ROOM = {
  regex: '^(\\.\\./)+(zendesk|export|query|rows|tables)/.',
  message: 'Another room of the engine is entered through its index (../<room>), not a file inside it.',
};
const ENGINE_LEAVES_ENGINE = {
  regex: '^(\\.\\./)+(server|cli|extension|protocol|simulator)(/|$)',
  message: 'The engine stands on its own: it may not import the server, CLI, extension, protocol or simulator.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'src/engine/zendesk/generated/**', '.test-output/**'] },
  ...tseslint.configs.recommended,
  // Type-aware rules for the product's code, each file checked with its own area's tsconfig (src/, webview/).
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts', 'webview/**/*.ts'] })),
  {
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An async method may implement a Promise-returning interface without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // Passing on what a callback rejected with (unknown) is fine; making up a non-Error is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [VSCODE], patterns: [ROOM_FILES_FROM_OUTSIDE] }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [VSCODE], patterns: [ROOM_FILES_FROM_ANOTHER_ROOM, ENGINE_LEAVES_ENGINE] }] },
  },
  {
    files: ['src/extension/**/*.ts', 'test/integration/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ROOM_FILES_FROM_OUTSIDE] }] },
  },
  {
    files: ['test/unit/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [VSCODE] }] },
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
