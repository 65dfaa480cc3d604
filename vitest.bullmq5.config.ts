import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `npm run test:bullmq5`: the BullMQ tests (test/bullmq) on bullmq 5 + ioredis 5. One install holds both majors
 * (`bullmq5`/`ioredis5` are npm aliases in devDependencies, beside bullmq 6 + ioredis 6); this maps every import of
 * `bullmq` and `ioredis` (static or dynamic, in the sources and the tests) to the v5 packages.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^bullmq$/, replacement: 'bullmq5' },
      { find: /^ioredis$/, replacement: 'ioredis5' },
    ],
  },
  test: {
    include: ['test/bullmq/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { BULLMQ_MAJOR: '5' },
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
