/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testMatch: ['**/__tests__/**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/support/setup.ts'],
  // A real sqld for the remote tests, started and stopped around the run.
  globalSetup: '<rootDir>/__tests__/support/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/support/global-teardown.ts',
  // Each worker loads the native libsql addon; two cores, two workers.
  maxWorkers: 2,
  // A guard against a hang, not a speed limit: a loaded machine is slow.
  testTimeout: 60_000,
};
