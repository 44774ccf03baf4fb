// Jest in ESM mode (client-node is ESM-only); swc strips types, tsc type-checks separately.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
      module: { type: 'es6' },
    },
  ],
};
const common = { extensionsToTreatAsEsm: ['.ts'], transform, testEnvironment: 'node' };

export default {
  projects: [
    // Pure functions: fast, no external processes.
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{bench,contract,operator,serving,tooling,scripts,test/cluster,test/contract,test/fixtures}/**/*.test.ts'] },
    // Real processes (etcd, kube-apiserver, Prometheus, ...): one at a time, two cores only.
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,e2e,chaos}/**/*.test.ts'],
    },
  ],
  testTimeout: 120000,
  // Two cores: suites that start clusters must never run side by side.
  maxWorkers: 1,
};
