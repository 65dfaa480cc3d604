import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, tracked } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { connection, defaultSyncOptions, onPostgres, useQueues, Worker, waitFor } from './helpers.js';

const MINUTE = 60_000;

/** Moves a run's start and last sign of life `ms` into the past, as if it had been silent that long. */
async function age(tasks: AgentcoreTask, taskId: string, ms: number) {
  const past = new Date(Date.now() - ms);
  await tasks.db
    .updateTable('agentcore_task_execution')
    .set({ started_at: past, updated_at: past, created_at: past })
    .where('task_id', '=', taskId)
    .execute();
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// SPEC section 15 "Sync": `redis` alone is enough, no queueSource, no useBullmqSync.
describe('sync out of the box: createAgentcoreTask({ database, redis }) (postgres + real BullMQ)', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  let tasks: AgentcoreTask;
  const gates: Array<() => void> = [];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      ...defaultSyncOptions,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
  });
  afterAll(async () => {
    for (const release of gates) release();
    await tasks?.close();
  });

  it('has a queue source without being given one', () => {
    expect(tasks.tracker.queueSource).toBeDefined();
  });

  it('a silent but active job is not marked FAILURE by the timeout job; a stale run whose job is gone is', async () => {
    const queue = redis.queue('silent-active');
    const gate = deferred();
    gates.push(gate.resolve);
    const running = deferred();
    redis.worker(
      new Worker(
        queue.name,
        // No heartbeat, no progress: only BullMQ knows the job is alive (its lock is renewed by the worker).
        tracked(
          tasks,
          async () => {
            running.resolve();
            await gate.promise;
            return 'done';
          },
          { module: 'm', heartbeatIntervalMs: 60 * MINUTE },
        ),
        { connection },
      ),
    );
    const { job } = await dispatch(tasks, queue, 'long', {}, { module: 'm' });
    const taskId = String(job.id);
    await running.promise;
    await waitFor('STARTED', async () => (await tasks.tracker.getTask(taskId))?.status === 'STARTED');
    expect(await job.getState()).toBe('active');
    // A second run of the same queue whose job BullMQ no longer has: nothing vouches for it.
    const gone = `gone-${Date.now()}`;
    await tasks.registerTaskExecution({ taskId: gone, taskName: 'lost', module: 'm', queueName: queue.name });
    await tasks.tracker.updateTaskStatus(gone, 'STARTED');
    await age(tasks, taskId, 30 * MINUTE);
    await age(tasks, gone, 30 * MINUTE);

    const result = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(result.updated_count).toBe(1);
    expect((await tasks.tracker.getTask(taskId))?.status).toBe('STARTED');
    expect(await tasks.tracker.getTask(gone)).toMatchObject({
      status: 'FAILURE',
      error: expect.stringMatching(/^Task timeout/),
    });

    gate.resolve();
    await waitFor('SUCCESS', async () => (await tasks.tracker.getTask(taskId))?.status === 'SUCCESS');
    expect(await tasks.tracker.getTask(taskId)).toMatchObject({ status: 'SUCCESS', result: 'done' });
  });

  it('a job that completed in BullMQ without the tracker seeing it: syncTask brings SUCCESS and the return value', async () => {
    const queue = redis.queue('unseen');
    // A plain processor: the tracker hears nothing from the worker, only dispatch registered the run.
    redis.worker(new Worker(queue.name, async (job) => ({ rows: job.data.n * 2 }), { connection }));
    const { job } = await dispatch(tasks, queue, 'report', { n: 21 }, { module: 'm' });
    const taskId = String(job.id);
    await waitFor('completed', async () => (await job.getState()) === 'completed');
    expect((await tasks.tracker.getTask(taskId))?.status).toBe('PENDING');
    const synced = await tasks.tracker.syncTask(taskId);
    expect(synced).toMatchObject({ status: 'SUCCESS', result: { rows: 42 }, queueName: queue.name });
    expect(synced?.finishedAt).toBeInstanceOf(Date);
  });

  it('getTask({ sync: true }) and syncAllUnfinished read the queue too', async () => {
    const queue = redis.queue('unseen-all');
    redis.worker(
      new Worker(
        queue.name,
        async (job) => {
          if (job.name === 'bad') throw new Error('no such report');
          return job.name;
        },
        { connection },
      ),
    );
    const good = await dispatch(tasks, queue, 'good', {}, { module: 'm' });
    const bad = await dispatch(tasks, queue, 'bad', {}, { module: 'm' });
    await waitFor('completed', async () => (await good.job.getState()) === 'completed');
    await waitFor('failed', async () => (await bad.job.getState()) === 'failed');
    expect(await tasks.tracker.getTask(String(good.job.id), { sync: true })).toMatchObject({
      status: 'SUCCESS',
      result: 'good',
    });
    const summary = await tasks.tracker.syncAllUnfinished();
    expect(summary.updated_count).toBeGreaterThanOrEqual(1);
    expect(await tasks.tracker.getTask(String(bad.job.id))).toMatchObject({
      status: 'FAILURE',
      error: 'no such report',
    });
  });

  it('a run without a queue_name is left alone', async () => {
    const taskId = `no-queue-${Date.now()}`;
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    const before = await tasks.tracker.getTask(taskId);
    expect(await tasks.tracker.queueSource!.getState(before!)).toBeNull();
    expect((await tasks.tracker.syncTask(taskId))?.status).toBe('PENDING');
  });
});

describe('default sync source: overrides and close()', () => {
  const database = useTestDatabase('sqlite');
  const redis = useQueues();

  it('an explicit queueSource wins over the default one', async () => {
    const given = { getState: async () => null };
    const tasks = await createAgentcoreTask({
      database: database.url,
      ...defaultSyncOptions,
      queueSource: given,
      logger: silentLogger,
      realtime: false,
    });
    try {
      expect(tasks.tracker.queueSource).toBe(given);
    } finally {
      await tasks.close();
    }
  });

  it('no redis: no queue source (liveness only)', async () => {
    const tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
    try {
      expect(tasks.tracker.queueSource).toBeUndefined();
    } finally {
      await tasks.close();
    }
  });

  it.skipIf(onPostgres)(
    'close() closes the queues the default source opened and leaves a given Redis client open',
    async () => {
      const { Redis } = await import('ioredis');
      const client = new Redis(REDIS_URL);
      const queue = redis.queue('close');
      const tasks = await createAgentcoreTask({
        database: database.url,
        redis: client,
        logger: silentLogger,
        realtime: false,
      });
      const listeners = client.listenerCount('error');
      const { job } = await dispatch(tasks, queue, 'w', {}, { module: 'm' });
      expect((await tasks.tracker.syncTask(String(job.id)))?.status).toBe('PENDING');
      // The queue the source opened on demand shares the client and listens to it until it is closed.
      expect(client.listenerCount('error')).toBeGreaterThan(listeners);
      await tasks.close();
      expect(client.listenerCount('error')).toBe(listeners);
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    },
  );
});
