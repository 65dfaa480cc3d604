import { randomBytes } from 'node:crypto';
import * as bullmq from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';
import { redisOptionsFromUrl } from '../../src/queue/bullmq/connection.js';
import type { BullmqPostgresConnection } from '../../src/queue/bullmq/postgres.js';
import { PG_ADMIN_URL, REDIS_URL } from '../helpers/env.js';

/**
 * The BullMQ backend these tests run on: Redis (default), or bullmq 6's PostgreSQL backend with
 * `BULLMQ_BACKEND=postgres` (npm run test:bullmq-postgres). Queues and workers are built through this module, so each
 * test file runs unchanged on both.
 */
export const onPostgres = process.env.BULLMQ_BACKEND === 'postgres';

/** On PostgreSQL: a schema of this test file's own in the test server's `postgres` database, dropped after the file. */
export const pgQueues: BullmqPostgresConnection = {
  connectionString: PG_ADMIN_URL,
  schema: `act_bmq_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`,
};

if (onPostgres) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${pgQueues.schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });
}

/**
 * BullMQ connection options of the backend under test: the test Redis (BullMQ opens and closes its own connections),
 * or the file's PostgreSQL schema (created by whichever queue or worker connects first).
 */
export const connection: bullmq.ConnectionOptions = onPostgres
  ? ({ ...pgQueues, migrate: true } as never)
  : redisOptionsFromUrl(REDIS_URL);

/** Where sync sources and `createAgentcoreTask({ bullmq })` find the queues: the Redis URL or the PostgreSQL schema. */
export const queuesAt: string | BullmqPostgresConnection = onPostgres ? pgQueues : REDIS_URL;

/** `createAgentcoreTask` options whose default sync source reads the queues under test. */
export const defaultSyncOptions: { redis: string } | { bullmq: { connection: BullmqPostgresConnection } } = onPostgres
  ? { bullmq: { connection: pgQueues } }
  : { redis: REDIS_URL };

/** The same, unreachable: nothing listens on port 1. */
export const unreachableQueues: string | BullmqPostgresConnection = onPostgres
  ? { connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: pgQueues.schema }
  : 'redis://127.0.0.1:1';

/** Environment for a child process that builds its worker with `fixtures/backend.ts`. */
export const backendEnv: Record<string, string> = onPostgres ? { BULLMQ_PG: JSON.stringify(pgQueues) } : {};

/** bullmq 6's PostgreSQL backend factory in a PostgreSQL run; none (BullMQ's Redis default) otherwise. */
const factory = onPostgres
  ? (bullmq as unknown as { createPostgresBackend?: unknown }).createPostgresBackend
  : undefined;
if (onPostgres && !factory) throw new Error('BULLMQ_BACKEND=postgres needs bullmq 6 (createPostgresBackend)');

/** BullMQ's `Queue` on the backend under test. */
export class Queue<D = any, R = any, N extends string = string> extends bullmq.Queue<D, R, N> {
  constructor(name: string, opts: bullmq.QueueOptions) {
    super(name, opts as never, factory as never);
  }
}

/** BullMQ's `Worker` on the backend under test. */
export class Worker<D = any, R = any, N extends string = string> extends bullmq.Worker<D, R, N> {
  constructor(
    name: string,
    processor: string | null | ((job: bullmq.Job<D, R, N>, token?: string, signal?: AbortSignal) => Promise<R>),
    opts: bullmq.WorkerOptions,
  ) {
    super(name, processor as never, opts as never, factory as never);
  }
}

/** BullMQ's `QueueEvents` on the backend under test. */
export class QueueEvents extends bullmq.QueueEvents {
  constructor(name: string, opts: bullmq.QueueEventsOptions) {
    super(name, opts as never, factory as never);
  }
}

/** BullMQ's `FlowProducer` on the backend under test. */
export class FlowProducer extends bullmq.FlowProducer {
  constructor(opts: bullmq.QueueBaseOptions) {
    super(opts as never, factory as never);
  }
}

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
  const workers: Array<Pick<bullmq.Worker, 'close'>> = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(true).catch(() => {})));
    // Newest first: removing a child job after its parent's queue was obliterated would bring the parent back.
    for (const q of queues.splice(0).reverse()) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
  });
  afterAll(async () => {
    if (onPostgres) return; // the file's schema is dropped after it
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
    worker<W extends Pick<bullmq.Worker, 'close'>>(worker: W): W {
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
