import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/**
 * A user's strict `tsc` (no `skipLibCheck`) over the published types: a small consumer of `agentcore-task/bullmq`
 * (fixtures/bullmq-types) compiled against the built `dist/` (npm test builds it first) with bullmq 5 + ioredis 5
 * types (the `bullmq5` alias) and with bullmq 6 + ioredis 6 types, queues and workers on its PostgreSQL backend too.
 */
describe('published BullMQ types under strict tsc without skipLibCheck', () => {
  for (const major of ['v5', 'v6']) {
    it(`compile for a consumer on bullmq ${major.slice(1)}`, async () => {
      const tsc = `${root}node_modules/typescript/bin/tsc`;
      const config = `${root}test/package/fixtures/bullmq-types/tsconfig.${major}.json`;
      const result = await run(process.execPath, [tsc, '-p', config], { cwd: root }).then(
        () => ({ code: 0, out: '' }),
        (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, out: error.stdout ?? '' }),
      );
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
    }, 180_000);
  }
});
