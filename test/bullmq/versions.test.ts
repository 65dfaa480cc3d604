import { describe, expect, it } from 'vitest';

/**
 * Names the majors this run tests, so a matrix run that silently fell back to the default install fails here:
 * vitest.bullmq5.config.ts (BULLMQ_MAJOR=5) must load bullmq 5 + ioredis 5, the other runs bullmq 6 + ioredis 6.
 */
describe('BullMQ versions under test', () => {
  it('loads the expected bullmq and ioredis majors', async () => {
    const expected = process.env.BULLMQ_MAJOR ?? '6';
    const bullmq = (await import('bullmq')) as Record<string, unknown>;
    // bullmq 6 has pluggable backends (createPostgresBackend among them); bullmq 5 has none.
    expect(typeof bullmq.createPostgresBackend === 'function' ? '6' : '5').toBe(expected);
    const ioredis = await import('ioredis');
    const ioredis5 = await import('ioredis5');
    expect((ioredis.Redis as unknown) === ioredis5.Redis ? '5' : '6').toBe(expected);
  });
});
