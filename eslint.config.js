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
