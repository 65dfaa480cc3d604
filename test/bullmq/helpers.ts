import { randomBytes } from 'node:crypto';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach } from 'vitest';
import { redisOptionsFromUrl } from '../../src/queue/bullmq/connection.js';
import { REDIS_URL } from '../helpers/env.js';

/** BullMQ connection options for the test Redis (BullMQ opens and closes its own connections). */
export const connection = redisOptionsFromUrl(REDIS_URL);

/** A queue name of its own for one test (BullMQ's own tests do the same). */
export function uniqueQueueName(label: string): string {
  return `act-test-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Queues and workers created in a test, closed and obliterated after it, so nothing is left in Redis and no
 * connection stays open.
 */
export function useQueues() {
  const queues: Queue[] = [];
  const names: string[] = [];
  const workers: Array<Pick<Worker, 'close'>> = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(true).catch(() => {})));
    // Newest first: removing a child job after its parent's queue was obliterated would bring the parent back.
    for (const q of queues.splice(0).reverse()) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
  });
  afterAll(async () => {
    // A connection closed late (a sync source, a killed worker's last write) can recreate a queue's `meta` key after
    // the obliterate: sweep whatever is left under the test's unique names.
    const client = new Redis(REDIS_URL);
    try {
      for (const name of names.splice(0)) {
        const keys = await client.keys(`bull:${name}:*`);
        if (keys.length > 0) await client.del(...keys);
      }
    } finally {
      client.disconnect();
    }
  });
  return {
    queue(label: string): Queue {
      const q = new Queue(uniqueQueueName(label), { connection });
      queues.push(q);
      names.push(q.name);
      return q;
    },
    worker<W extends Pick<Worker, 'close'>>(worker: W): W {
      workers.push(worker);
      return worker;
    },
  };
}

/** Polls `fn` until it returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<Exclude<T, null | undefined | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as Exclude<T, null | undefined | false | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
