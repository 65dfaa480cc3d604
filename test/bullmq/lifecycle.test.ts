import { DelayedError, type Job, Worker } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, instrumentWorker, taskIdOf, tracked } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { connection, sleep, useQueues, waitFor } from './helpers.js';

/** The statuses a run went through, from the change feed, without repeats (progress writes repeat the status). */
function statusTrail(tasks: AgentcoreTask) {
  const trails = new Map<string, string[]>();
  const unsubscribe = tasks.feed.subscribe((change) => {
    const trail = trails.get(change.task_id) ?? [];
    if (trail[trail.length - 1] !== change.status) trail.push(change.status);
    trails.set(change.task_id, trail);
  });
  return { of: (taskId: string) => trails.get(taskId) ?? [], unsubscribe };
}

async function rowCount(tasks: AgentcoreTask, taskId: string): Promise<number> {
  const row = await tasks.db
    .selectFrom('agentcore_task_execution')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('task_id', '=', taskId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('BullMQ recording on postgres', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  let tasks: AgentcoreTask;
  let trail: ReturnType<typeof statusTrail>;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    trail = statusTrail(tasks);
  });
  afterAll(async () => {
    trail?.unsubscribe();
    await tasks?.close();
  });

  it('dispatch + tracked: progress three times, then SUCCESS with the result, timestamps and last progress; one row', async () => {
    const queue = redis.queue('success');
    const seen: number[] = [];
    const processor = tracked(
      tasks,
      async (job: Job<{ reportId: number }>, ctx) => {
        await ctx.progress({ percent: 10, message: 'reading', step: 'read' });
        await ctx.progress({ percent: 60, message: 'computing', step: 'compute' });
        await ctx.progress({ percent: 100, message: 'done', step: 'write' });
        seen.push(job.data.reportId);
        return { rows: 42, reportId: job.data.reportId };
      },
      { module: 'reports' },
    );
    const worker = redis.worker(new Worker(queue.name, processor, { connection }));
    const { job, execution } = await dispatch(
      tasks,
      queue,
      'send_report',
      { reportId: 7 },
      {
        module: 'reports',
        createdBy: { id: 5, username: 'alice' },
        metadata: { source: 'test' },
      },
    );
    expect(execution).toMatchObject({
      taskId: job.id,
      status: 'PENDING',
      taskName: 'send_report',
      module: 'reports',
      queueName: queue.name,
      taskKwargs: { reportId: 7 },
      createdById: 5,
    });
    await job.waitUntilFinished(await queueEvents(queue.name));
    const row = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(String(job.id));
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(row.result).toEqual({ rows: 42, reportId: 7 });
    expect(row.startedAt).toBeInstanceOf(Date);
    expect(row.finishedAt).toBeInstanceOf(Date);
    expect(row.finishedAt!.getTime()).toBeGreaterThanOrEqual(row.startedAt!.getTime());
    expect(row.metadata).toMatchObject({
      source: 'test',
      progress_percent: 100,
      progress_message: 'done',
      progress_step: 'write',
      attempt: 1,
    });
    expect(row.createdByUsername).toBe('alice');
    expect(await rowCount(tasks, String(job.id))).toBe(1);
    expect(trail.of(String(job.id))).toEqual(['PENDING', 'STARTED', 'SUCCESS']);
    // BullMQ saw the same progress.
    expect((await queue.getJob(String(job.id)))?.progress).toEqual({ percent: 100, message: 'done', step: 'write' });
    expect(seen).toEqual([7]);
    await worker.close();
  });

  it('a job failing with attempts: 3 shows RETRY between attempts and FAILURE with the stack at the end; one row', async () => {
    const queue = redis.queue('retry');
    let calls = 0;
    const processor = tracked(
      tasks,
      async function failingReport() {
        calls++;
        throw new Error(`upstream down (call ${calls})`);
      },
      { module: 'reports' },
    );
    redis.worker(new Worker(queue.name, processor, { connection }));
    const { job } = await dispatch(
      tasks,
      queue,
      'flaky',
      { n: 1 },
      {
        module: 'reports',
        jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 300 } },
      },
    );
    const taskId = String(job.id);
    // Between attempts (during the backoff) the row is RETRY.
    const retrying = await waitFor('RETRY', async () => {
      const r = await tasks.tracker.getTask(taskId);
      return r?.status === 'RETRY' ? r : null;
    });
    expect(retrying.error).toBe('upstream down (call 1)');
    expect(retrying.finishedAt).toBeNull();
    const row = await waitFor(
      'FAILURE',
      async () => {
        const r = await tasks.tracker.getTask(taskId);
        return r?.status === 'FAILURE' ? r : null;
      },
      15_000,
    );
    expect(calls).toBe(3);
    expect(row.error).toBe('upstream down (call 3)');
    expect(row.traceback).toContain('Error: upstream down (call 3)');
    expect(row.traceback).toContain('failingReport');
    expect(row.finishedAt).toBeInstanceOf(Date);
    expect(row.metadata.attempt).toBe(3);
    expect(await rowCount(tasks, taskId)).toBe(1);
    expect(trail.of(taskId)).toEqual(['PENDING', 'STARTED', 'RETRY', 'STARTED', 'RETRY', 'STARTED', 'FAILURE']);
    // BullMQ's own retry logic was untouched: the job failed for good after three attempts.
    const final = await queue.getJob(taskId);
    expect(await final?.getState()).toBe('failed');
    expect(final?.attemptsMade).toBe(3);
  });

  it('tracked registers a job that was added without dispatch (name, module, data, queue)', async () => {
    const queue = redis.queue('nodispatch');
    redis.worker(
      new Worker(
        queue.name,
        tracked(tasks, async () => 'ok', { module: 'imports' }),
        { connection },
      ),
    );
    const job = await queue.add('import_csv', { file: 'a.csv' });
    // BullMQ's automatic ids count per queue; the record qualifies them with the queue name.
    expect(taskIdOf(job)).toBe(`${queue.name}:${job.id}`);
    const row = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(taskIdOf(job));
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(row).toMatchObject({
      taskName: 'import_csv',
      module: 'imports',
      taskKwargs: { file: 'a.csv' },
      queueName: queue.name,
      result: 'ok',
    });
    expect(row.startedAt).toBeInstanceOf(Date);
  });

  it('a job the processor moves to delayed (DelayedError) is PENDING meanwhile, not failed', async () => {
    const queue = redis.queue('delayed');
    let runs = 0;
    const processor = tracked(
      tasks,
      async (job: Job, _ctx, token) => {
        runs++;
        if (runs === 1) {
          await job.moveToDelayed(Date.now() + 400, token);
          throw new DelayedError();
        }
        return 'second time';
      },
      { module: 'm' },
    );
    redis.worker(new Worker(queue.name, processor, { connection }));
    const { job } = await dispatch(tasks, queue, 'wait_then_run', {}, { module: 'm' });
    const taskId = String(job.id);
    await waitFor('SUCCESS', async () => (await tasks.tracker.getTask(taskId))?.status === 'SUCCESS');
    expect(trail.of(taskId)).toEqual(['PENDING', 'STARTED', 'PENDING', 'STARTED', 'SUCCESS']);
    expect((await tasks.tracker.getTask(taskId))?.error).toBeNull();
  });

  it('the heartbeat keeps updated_at fresh while a tracked job runs', async () => {
    const queue = redis.queue('heartbeat');
    const marks: Date[] = [];
    const processor = tracked(
      tasks,
      async (job: Job) => {
        for (let i = 0; i < 3; i++) {
          await sleep(250);
          marks.push((await tasks.tracker.getTask(String(job.id)))!.updatedAt);
        }
        return null;
      },
      { module: 'm', heartbeatIntervalMs: 100 },
    );
    redis.worker(new Worker(queue.name, processor, { connection }));
    const { job } = await dispatch(tasks, queue, 'long', {}, { module: 'm' });
    await waitFor('SUCCESS', async () => (await tasks.tracker.getTask(String(job.id)))?.status === 'SUCCESS');
    expect(marks).toHaveLength(3);
    expect(marks[1].getTime()).toBeGreaterThan(marks[0].getTime());
    expect(marks[2].getTime()).toBeGreaterThan(marks[1].getTime());
  });

  it('dispatch registers the run before adding the job: a failed add leaves a FAILURE row, not a PENDING orphan', async () => {
    const queue = redis.queue('closed');
    await queue.close();
    const jobId = `dispatch-fails-${Date.now()}`;
    await expect(dispatch(tasks, queue, 'never_added', {}, { module: 'm', jobOptions: { jobId } })).rejects.toThrow();
    const row = await tasks.tracker.getTask(jobId);
    expect(row?.status).toBe('FAILURE');
    expect(row?.error).toContain(`could not add the job to queue ${queue.name}`);
  });

  it('instrumentWorker records the same lifecycle from the events of an untouched worker', async () => {
    const queue = redis.queue('instrument');
    const worker = redis.worker(
      new Worker(
        queue.name,
        async (job) => {
          if (job.name === 'bad') throw new Error(`bad input ${job.attemptsMade}`);
          await job.updateProgress(30);
          await job.updateProgress({ percent: 90, message: 'almost' });
          return { total: job.data.a + job.data.b };
        },
        { connection },
      ),
    );
    const stop = instrumentWorker(tasks, worker, { module: 'math' });
    const good = await queue.add('add', { a: 2, b: 3 });
    const bad = await queue.add('bad', { a: 1 }, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
    const ok = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(taskIdOf(good));
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(ok).toMatchObject({
      taskName: 'add',
      module: 'math',
      taskKwargs: { a: 2, b: 3 },
      queueName: queue.name,
      result: { total: 5 },
    });
    expect(ok.startedAt).toBeInstanceOf(Date);
    expect(ok.finishedAt).toBeInstanceOf(Date);
    await waitFor(
      'progress',
      async () => (await tasks.tracker.getTask(taskIdOf(good)))?.metadata.progress_percent === 90,
    );
    expect((await tasks.tracker.getTask(taskIdOf(good)))?.metadata).toMatchObject({ progress_message: 'almost' });
    const failed = await waitFor(
      'FAILURE',
      async () => {
        const r = await tasks.tracker.getTask(taskIdOf(bad));
        return r?.status === 'FAILURE' ? r : null;
      },
      15_000,
    );
    expect(failed.error).toBe('bad input 2');
    expect(failed.traceback).toContain('Error: bad input 2');
    expect(trail.of(taskIdOf(bad))).toEqual(['STARTED', 'RETRY', 'STARTED', 'RETRY', 'STARTED', 'FAILURE']);
    expect(await rowCount(tasks, taskIdOf(bad))).toBe(1);
    stop();
    expect(worker.listenerCount('completed')).toBe(0);
  });

  it('keeps exactly one row per job across all the runs above', async () => {
    const dupes = await sql<{
      task_id: string;
    }>`select task_id from agentcore_task_execution group by task_id having count(*) > 1`.execute(tasks.db);
    expect(dupes.rows).toEqual([]);
  });
});

async function queueEvents(name: string) {
  const { QueueEvents } = await import('bullmq');
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  setTimeout(() => events.close(), 10_000).unref();
  return events;
}
