import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `npm run test:frameworks4`: the HTTP tests that go through the Express and Fastify mounts (test/http) on express 4
 * and fastify 4. One install holds both majors (`express4`/`fastify4` are npm aliases in devDependencies, beside
 * express 5 and fastify 5); this maps every import of `express` and `fastify` to the major-4 packages.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^express$/, replacement: 'express4' },
      { find: /^fastify$/, replacement: 'fastify4' },
    ],
  },
  test: {
    include: ['test/http/**/*.test.ts', 'test/frameworks/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { FRAMEWORKS_MAJOR: '4' },
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
