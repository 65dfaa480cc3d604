import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: the fault-injection suite (test/faults). Not part of `npm test`: it starts private
 * PostgreSQL and Redis instances to break, and runs a minute of load. Files run one at a time so the faults of one
 * do not disturb another's timing.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
