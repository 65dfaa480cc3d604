/**
 * The sync source reads a run's job while a live worker finishes it: the start-up sync of `tracked` and the timeout
 * job's sync both run beside working workers. A job read just before it completes and whose state is read just after
 * must not be recorded as SUCCESS without its return value (or FAILURE without its reason). Before the fix, 2–6 of
 * 3,000 such reads came back SUCCESS with a null result (found by tracked-kill-mid-flush.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { bullmqSource, redisOptionsFromUrl } from '../../src/queue/bullmq/index.js';
import type { TaskExecution } from '../../src/types.js';
import { REDIS_URL } from '../helpers/env.js';

const JOBS = 3000;
const LANES = 8;
const connection = redisOptionsFromUrl(REDIS_URL);

describe('the BullMQ sync source reading jobs that are finishing', () => {
  const queue = new Queue(`act-faults-syncrace-${randomBytes(4).toString('hex')}`, { connection });
  let worker: Worker | undefined;
  afterAll(async () => {
    await worker?.close(true);
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  });

  it('never maps a completed job to SUCCESS without its return value, or a failed one without its reason', async () => {
    await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({ name: 'x', data: { i }, opts: { jobId: `j${i}`, attempts: 1 } })),
    );
    const source = bullmqSource([queue]);
    worker = new Worker(
      queue.name,
      async (job) => {
        await new Promise((r) => setTimeout(r, 2));
        if (job.data.i % 10 === 3) throw new Error(`no ${job.data.i}`);
        return { i: job.data.i };
      },
      { connection, concurrency: 50 },
    );
    const wrong: string[] = [];
    let finished = 0;
    // Lanes read the jobs in the order the worker takes them, so many reads meet a job as it finishes.
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < JOBS; i += LANES) {
          const state = await source.getState({ taskId: `j${i}`, queueName: queue.name } as TaskExecution);
          if (state?.status === 'SUCCESS') {
            finished++;
            if (JSON.stringify(state.result) !== JSON.stringify({ i })) wrong.push(`j${i}: ${JSON.stringify(state)}`);
          } else if (state?.status === 'FAILURE') {
            finished++;
            if (state.error !== `no ${i}`) wrong.push(`j${i}: ${JSON.stringify(state)}`);
          }
        }
      }),
    );
    expect(wrong).toEqual([]);
    // The reads met the worker mid-stream: most jobs were done when read, some not yet (else the race was not run).
    expect(finished).toBeGreaterThan(JOBS / 2);
    expect(finished).toBeLessThan(JOBS);
  });
});
