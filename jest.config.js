/**
 * Jest runs the compiled specs (`tsc -b` builds them beside the code, in each
 * package's dist/): the same JavaScript the services run, no second compiler.
 * Tests wait for conditions with their own deadlines (waitFor), so the per-test
 * limit is only a backstop for a hung test.
 */
module.exports = {
  testEnvironment: 'jest-environment-node-single-context',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/samples'],
  testMatch: ['**/dist/**/*.spec.js'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300_000,
  // Specs share one Kafka and one MongoDB: two at a time, as before.
  maxWorkers: 2,
};
