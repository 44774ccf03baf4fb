// Lint config: typescript-eslint's type-aware recommended rules over the whole package.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'charts/', 'crds/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  ...dependencyGraph(),
  ...processBoundary(),
);

/**
 * The folders' dependency graph: the runtime (operator/, serving/) ships in the image, so it
 * imports none of the folders that do not (test/, bench/, tooling/, scripts/); its unit tests may
 * use test/'s fixtures and check against tooling/'s generators. tooling/ never imports test/ or
 * bench/. The operator↔serving boundary has a block of its own. Two blocks setting the same rule
 * on a file replace each other's options rather than merge, so this one uses typescript-eslint's
 * variant of no-restricted-imports (which also covers type-only imports and re-exports).
 */
function dependencyGraph() {
  const ban = (folders, why) => ({
    '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${folders.join('|')})/`, message: why }] }],
  });
  const shipped = 'operator/ and serving/ ship in the image; they may not import a folder that does not.';
  return [
    { files: ['operator/**/*.ts', 'serving/**/*.ts'], ignores: ['**/*.test.ts'], rules: ban(['test', 'bench', 'tooling', 'scripts'], shipped) },
    { files: ['operator/**/*.test.ts', 'serving/**/*.test.ts'], rules: ban(['bench', 'scripts'], 'a unit test may use test/ fixtures and tooling/, not benchmarks or scripts.') },
    { files: ['tooling/**/*.ts'], rules: ban(['test', 'bench'], 'tooling/ generates from the runtime sources alone; it may not import test/ or bench/.') },
  ];
}

/**
 * The operator and the serving runtime are two processes: they share only contract/, never each
 * other's code (tests included; a test of both sides lives in test/contract/). contract/ imports
 * neither, and ships in the image like them. ESLint's own no-restricted-imports, so that a block setting typescript-eslint's
 * variant on the same files does not replace these patterns.
 */
function processBoundary() {
  const ban = (folders, message) => ({
    'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message }] }],
  });
  return [
    { files: ['operator/**'], rules: ban(['serving'], 'operator/ may not import serving/: share it through contract/.') },
    { files: ['serving/**'], rules: ban(['operator'], 'serving/ may not import operator/: share it through contract/.') },
    { files: ['contract/**'], rules: ban(['operator', 'serving', 'test', 'bench', 'tooling', 'scripts'], 'contract/ is imported by both sides and imports neither, nor what the image does not ship.') },
  ];
}
