import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, BackendUnavailableError, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { bullmqSource, dispatch, taskIdOf, useBullmqSync } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { connection, FlowProducer, queuesAt, unreachableQueues, useQueues, Worker, waitFor } from './helpers.js';

/** A row without its computed `duration` (which grows while a run is unfinished). */
function stored<T extends { duration: number | null } | null>(row: T) {
  if (!row) return row;
  const { duration: _, ...rest } = row;
  return rest;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('BullMQ sync source on postgres', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    useBullmqSync(tasks, { connection: queuesAt });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('waiting, prioritized and delayed jobs are PENDING', async () => {
    const queue = redis.queue('pending');
    const waiting = await dispatch(tasks, queue, 'w', {}, { module: 'm' });
    const prioritized = await dispatch(tasks, queue, 'p', {}, { module: 'm', jobOptions: { priority: 5 } });
    const delayed = await dispatch(tasks, queue, 'd', {}, { module: 'm', jobOptions: { delay: 60_000 } });
    expect(await waiting.job.getState()).toBe('waiting');
    expect(await prioritized.job.getState()).toBe('prioritized');
    expect(await delayed.job.getState()).toBe('delayed');
    for (const { job } of [waiting, prioritized, delayed]) {
      const source = tasks.tracker.queueSource!;
      const row = (await tasks.tracker.getTask(String(job.id)))!;
      expect(await source.getState(row)).toEqual({ status: 'PENDING' });
      expect((await tasks.tracker.syncTask(String(job.id)))?.status).toBe('PENDING');
    }
  });

  it('a parent waiting for its children is PENDING', async () => {
    const parentQueue = redis.queue('parent');
    const childQueue = redis.queue('child');
    const flows = new FlowProducer({ connection });
    const tree = await flows.add({
      name: 'parent',
      queueName: parentQueue.name,
      data: {},
      opts: { jobId: `parent-${Date.now()}` },
      children: [{ name: 'child', queueName: childQueue.name, data: {} }],
    });
    await flows.close();
    const taskId = String(tree.job.id);
    await tasks.registerTaskExecution({ taskId, taskName: 'parent', module: 'm', queueName: parentQueue.name });
    expect(await (await parentQueue.getJob(taskId))?.getState()).toBe('waiting-children');
    const row = (await tasks.tracker.getTask(taskId))!;
    expect(await tasks.tracker.queueSource!.getState(row)).toEqual({ status: 'PENDING' });
  });

  it('an active job syncs to STARTED (with started_at), and the source reports it active', async () => {
    const queue = redis.queue('active');
    const gate = deferred();
    const running = deferred();
    redis.worker(
      new Worker(
        queue.name,
        async () => {
          running.resolve();
          await gate.promise;
          return 'released';
        },
        { connection },
      ),
    );
    const { job } = await dispatch(tasks, queue, 'blocking', {}, { module: 'm' });
    await running.promise;
    const row = await tasks.tracker.syncTask(String(job.id));
    expect(row?.status).toBe('STARTED');
    expect(row?.startedAt).toBeInstanceOf(Date);
    expect(await tasks.tracker.queueSource!.isActive!(row!)).toBe(true);
    gate.resolve();
    await waitFor('completed', async () => (await job.getState()) === 'completed');
    const done = await tasks.tracker.getTask(String(job.id), { sync: true });
    expect(done).toMatchObject({ status: 'SUCCESS', result: 'released' });
    expect(done?.finishedAt).toBeInstanceOf(Date);
    expect(await tasks.tracker.queueSource!.isActive!(done!)).toBe(false);
  });

  it('a failed job syncs to FAILURE with the failed reason and the stack; a job between attempts to RETRY', async () => {
    const queue = redis.queue('failed');
    redis.worker(
      new Worker(
        queue.name,
        async function brokenProcessor(job) {
          throw new Error(`cannot do ${job.name}`);
        },
        { connection },
      ),
    );
    const once = await dispatch(tasks, queue, 'once', {}, { module: 'm' });
    const retried = await dispatch(
      tasks,
      queue,
      'again',
      {},
      {
        module: 'm',
        jobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } },
      },
    );
    await waitFor('failed', async () => (await once.job.getState()) === 'failed');
    await waitFor('delayed retry', async () => (await retried.job.getState()) === 'delayed');
    const failed = await tasks.tracker.syncTask(String(once.job.id));
    expect(failed).toMatchObject({ status: 'FAILURE', error: 'cannot do once' });
    expect(failed?.traceback).toContain('brokenProcessor');
    expect(failed?.finishedAt).toBeInstanceOf(Date);
    const retry = await tasks.tracker.syncTask(String(retried.job.id));
    expect(retry).toMatchObject({ status: 'RETRY', error: 'cannot do again' });
    expect(retry?.finishedAt).toBeNull();
  });

  it('syncTask on a row whose job was removed from Redis leaves the row as it was', async () => {
    const queue = redis.queue('removed');
    const { job } = await dispatch(tasks, queue, 'gone', {}, { module: 'm' });
    const taskId = String(job.id);
    await tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { note: 'running elsewhere' } });
    const before = await tasks.tracker.getTask(taskId);
    await job.remove();
    expect(await queue.getJob(taskId)).toBeUndefined();
    expect(await tasks.tracker.queueSource!.getState(before!)).toBeNull();
    const after = await tasks.tracker.syncTask(taskId);
    expect(stored(after)).toEqual(stored(before));
    expect(stored(await tasks.tracker.getTask(taskId))).toEqual(stored(before));
    const summary = await tasks.tracker.syncAllUnfinished();
    expect(summary.synced_count).toBeGreaterThan(0);
    expect(stored(await tasks.tracker.getTask(taskId))).toEqual(stored(before));
  });

  it('finds jobs with automatic ids, recorded as the job id or, after a collision, as <queue>:<id>', async () => {
    const a = redis.queue('autoid-a');
    const b = redis.queue('autoid-b');
    redis.worker(new Worker(a.name, async () => 41 + 1, { connection }));
    redis.worker(new Worker(b.name, async () => 'from B', { connection }));
    const jobA = await a.add('auto', {});
    const jobB = await b.add('auto', {});
    expect([jobA.id, jobB.id]).toEqual(['1', '1']);
    // As the recorders store them: A's job under its id, B's (same id, other queue) qualified.
    await tasks.registerTaskExecution({ taskId: taskIdOf(jobA), taskName: 'auto', module: 'm', queueName: a.name });
    const collided = `${b.name}:1`;
    await tasks.registerTaskExecution({ taskId: collided, taskName: 'auto', module: 'm', queueName: b.name });
    await waitFor('completed', async () => (await jobA.getState()) === 'completed');
    await waitFor('completed', async () => (await jobB.getState()) === 'completed');
    expect(await tasks.tracker.syncTask('1')).toMatchObject({ status: 'SUCCESS', result: 42, queueName: a.name });
    expect(await tasks.tracker.syncTask(collided)).toMatchObject({ status: 'SUCCESS', result: 'from B' });
  });

  it('a source given queue objects reads only those; other queues are unknown (row unchanged)', async () => {
    const queue = redis.queue('given');
    const other = redis.queue('other');
    const source = bullmqSource([queue]);
    const { job } = await dispatch(tasks, queue, 'mine', {}, { module: 'm' });
    const foreign = await dispatch(tasks, other, 'theirs', {}, { module: 'm' });
    expect(await source.getState((await tasks.tracker.getTask(String(job.id)))!)).toEqual({ status: 'PENDING' });
    expect(await source.getState((await tasks.tracker.getTask(String(foreign.job.id)))!)).toBeNull();
    await source.close();
  });

  it('Redis unreachable: sync fails with BackendUnavailableError in bounded time and the row is unchanged', async () => {
    const offline = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      migrate: false,
      realtime: false,
    });
    try {
      useBullmqSync(offline, { connection: unreachableQueues, timeoutMs: 800 });
      const taskId = `offline-${Date.now()}`;
      await offline.registerTaskExecution({ taskId, taskName: 't', module: 'm', queueName: 'some-queue' });
      const before = await offline.tracker.getTask(taskId);
      const started = Date.now();
      await expect(offline.tracker.syncTask(taskId)).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
      await expect(offline.tracker.getTask(taskId, { sync: true })).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(stored(await offline.tracker.getTask(taskId))).toEqual(stored(before));
    } finally {
      await offline.close();
    }
  });
});
