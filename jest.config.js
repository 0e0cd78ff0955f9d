// Two projects: every suite on SQLite (the embedded default), and the store-agnostic suites
// again with the register on PostgreSQL (issue 5: both stores pass the same suite).
// test/support/global-setup.js starts a throwaway PostgreSQL for the second.
const { existsSync } = require('node:fs');
const path = require('node:path');

const pgBin = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const postgresHere = Boolean(process.env.KRR_TEST_POSTGRES_URL) || existsSync(path.join(pgBin, 'initdb'));
const ci = process.env.CI === 'true';

/** Suites that run on both stores: everything that goes through the store interface. */
const ON_BOTH_STORES = [
  // The store contract: every RegisterStore behaviour.
  'test/store/*.test.ts',
  'test/integration/persons.test.ts',
  'test/integration/citizen.test.ts',
  'test/integration/ownership.test.ts',
  'test/integration/change-feed.test.ts',
  'test/integration/audit-log.test.ts',
  'test/integration/duplicate-flag.test.ts',
  'test/integration/released-data.test.ts',
  'test/integration/field-rules.test.ts',
  'test/integration/import-export.test.ts',
  'test/http/server.test.ts',
  'test/http/rest.test.ts',
  'test/http/federation.test.ts',
  'test/http/gateway-mode.test.ts',
  'test/http/limits.test.ts',
  'test/http/start.test.ts',
  'test/http/shutdown.test.ts',
  'test/http/crash.test.ts',
  'test/integration/follower.test.ts',
  'test/http/follower.test.ts',
];
/** PostgreSQL's own tests (the store's mechanics, several replicas). */
const POSTGRES_ONLY = ['test/integration/pg-*.test.ts', 'test/http/replicas.test.ts', 'test/http/follower-takeover.test.ts'];

/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // jose 6, graphql-request 7 and stream-json 3 (with stream-chain) are ESM-only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(jose|graphql-request|stream-json|stream-chain)/)'],
  // type-graphql's decorators need the metadata API before any schema class loads.
  setupFiles: ['reflect-metadata'],
};

if (!postgresHere && !ci) {
  process.stderr.write(
    `\nPostgreSQL 15 is not installed (${pgBin}/initdb): the suites run on SQLite only.\n` +
      'To run them on PostgreSQL too: apt-get install postgresql (Debian), or set KRR_TEST_POSTGRES_URL.\n\n',
  );
}

/** @type {import('jest').Config} */
module.exports = {
  // A global option: jest ignores it inside a project.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  projects: [
    {
      ...common,
      displayName: 'sqlite',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/test/integration/pg-', '/test/http/replicas\\.test\\.ts$', '/test/http/follower-takeover\\.test\\.ts$'],
    },
    // Under CI the project runs even without PostgreSQL, and fails saying why.
    ...(postgresHere || ci
      ? [
          {
            ...common,
            displayName: 'postgres',
            testMatch: [...ON_BOTH_STORES, ...POSTGRES_ONLY].map((p) => `<rootDir>/${p}`),
            setupFiles: [...common.setupFiles, '<rootDir>/test/support/on-postgres.js'],
          },
        ]
      : []),
  ],
};
