import { DelayedError, type Job } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type Logger, silentLogger } from '../../src/index.js';
import { dispatch, instrumentWorker, jobIdOf, taskIdOf, tracked, useBullmqSync } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import {
  connection,
  onPostgres,
  Queue,
  QueueEvents,
  queuesAt,
  sleep,
  uniqueQueueName,
  unreachableQueues,
  useQueues,
  Worker,
  waitFor,
} from './helpers.js';

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
    // The row is the thing under test: wait for it (a QueueEvents subscription adds nothing and can miss a job that
    // finished before it was ready).
    const row = await waitFor(
      'SUCCESS',
      async () => {
        const r = await tasks.tracker.getTask(String(job.id));
        return r?.status === 'SUCCESS' ? r : null;
      },
      20_000,
    );
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
    // A closed queue rejects adds on Redis; on bullmq 6's PostgreSQL backend an add on a closed queue never settles,
    // so there the queue is one whose database cannot be reached.
    const queue = onPostgres
      ? new Queue(uniqueQueueName('closed'), { connection: unreachableQueues as never })
      : redis.queue('closed');
    queue.on('error', () => {});
    if (!onPostgres) await queue.close();
    const jobId = `dispatch-fails-${Date.now()}`;
    await expect(dispatch(tasks, queue, 'never_added', {}, { module: 'm', jobOptions: { jobId } })).rejects.toThrow();
    const row = await tasks.tracker.getTask(jobId);
    expect(row?.status).toBe('FAILURE');
    expect(row?.error).toContain(`could not add the job to queue ${queue.name}`);
    if (onPostgres) await queue.close();
  });

  // The only jobs with automatic ids in this database: their ids ("1", "2") are free, so each is recorded under it.
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
    expect(taskIdOf(good)).toBe(String(good.id));
    const ok = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(String(good.id));
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
      async () => (await tasks.tracker.getTask(String(good.id)))?.metadata.progress_percent === 90,
    );
    expect((await tasks.tracker.getTask(String(good.id)))?.metadata).toMatchObject({ progress_message: 'almost' });
    const failed = await waitFor(
      'FAILURE',
      async () => {
        const r = await tasks.tracker.getTask(String(bad.id));
        return r?.status === 'FAILURE' ? r : null;
      },
      15_000,
    );
    expect(failed.error).toBe('bad input 2');
    expect(failed.traceback).toContain('Error: bad input 2');
    expect(trail.of(String(bad.id))).toEqual(['STARTED', 'RETRY', 'STARTED', 'RETRY', 'STARTED', 'FAILURE']);
    expect(await rowCount(tasks, String(bad.id))).toBe(1);
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

/**
 * An instance on a database of its own (automatic ids count from 1 in every queue, so what "1" is taken by depends on
 * the rows already there), syncing from BullMQ, with its warnings kept.
 */
function useRecorder() {
  const database = useTestDatabase('postgres');
  const rec = { tasks: undefined as unknown as AgentcoreTask, warnings: [] as Array<{ obj: unknown; msg: string }> };
  const logger: Logger = { ...silentLogger, warn: (obj, msg) => rec.warnings.push({ obj, msg: String(msg) }) };
  beforeAll(async () => {
    rec.tasks = await createAgentcoreTask({
      database: database.url,
      logger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    useBullmqSync(rec.tasks, { connection: queuesAt });
  });
  afterAll(async () => {
    await rec.tasks?.close();
  });
  return rec;
}

/** Every task_id recorded for a queue. */
async function taskIdsOf(tasks: AgentcoreTask, queueName: string): Promise<string[]> {
  const rows = await tasks.db
    .selectFrom('agentcore_task_execution')
    .select('task_id')
    .where('queue_name', '=', queueName)
    .orderBy('task_id')
    .execute();
  return rows.map((r) => r.task_id);
}

describe('BullMQ automatic job ids on postgres: task_id = job.id', () => {
  const redis = useQueues();
  const rec = useRecorder();

  it('queue.add (automatic id) + tracked: tasks.tracker.getTask(job.id) finds the SUCCESS run', async () => {
    const { tasks, warnings } = rec;
    const queue = redis.queue('auto-tracked');
    const seen: string[] = [];
    redis.worker(
      new Worker(
        queue.name,
        tracked(
          tasks,
          async (job: Job<{ file: string }>, ctx) => {
            seen.push(ctx.taskId);
            await ctx.progress({ percent: 50, message: 'half' });
            return `imported ${job.data.file}`;
          },
          { module: 'imports' },
        ),
        { connection },
      ),
    );
    const job = await queue.add('import_csv', { file: 'a.csv' });
    expect(job.id).toBe('1');
    expect(taskIdOf(job)).toBe('1');
    const row = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(job.id!);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(row).toMatchObject({
      taskId: '1',
      taskName: 'import_csv',
      module: 'imports',
      taskKwargs: { file: 'a.csv' },
      queueName: queue.name,
      result: 'imported a.csv',
      metadata: { attempt: 1, progress_percent: 50, progress_message: 'half' },
    });
    expect(row.startedAt).toBeInstanceOf(Date);
    expect(seen).toEqual(['1']);
    expect(warnings).toEqual([]);
  });

  it('queue.add (automatic id) + instrumentWorker: getTask(job.id) finds the SUCCESS run', async () => {
    const { tasks, warnings } = rec;
    // The tracked queue's "1" is taken, so this queue's first job would collide: start its counter at 2.
    const queue = redis.queue('auto-instrumented');
    await (await queue.add('skip', {})).remove();
    const worker = redis.worker(new Worker(queue.name, async (job) => job.data.a * 2, { connection }));
    instrumentWorker(tasks, worker, { module: 'math' });
    const job = await queue.add('double', { a: 21 });
    expect(job.id).toBe('2');
    const row = await waitFor('SUCCESS', async () => {
      const r = await tasks.tracker.getTask(job.id!);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(row).toMatchObject({ taskId: '2', taskName: 'double', module: 'math', queueName: queue.name, result: 42 });
    expect(warnings).toEqual([]);
  });
});

describe('BullMQ automatic job ids on postgres: the same id in two queues', () => {
  const redis = useQueues();
  const rec = useRecorder();

  it('job "1" of queue A and job "1" of queue B: A is task_id "1", B is "<B>:1"; two rows, nothing merged', async () => {
    const { tasks, warnings } = rec;
    const a = redis.queue('collide-a');
    const b = redis.queue('collide-b');
    redis.worker(
      new Worker(
        a.name,
        tracked(tasks, async (job: Job) => ({ from: 'A', n: job.data.n }), { module: 'a' }),
        { connection },
      ),
    );
    const bIds: string[] = [];
    let bCalls = 0;
    redis.worker(
      new Worker(
        b.name,
        tracked(
          tasks,
          async (job: Job, ctx) => {
            bIds.push(ctx.taskId);
            await ctx.progress({ percent: 10 * ++bCalls, message: `B attempt ${bCalls}` });
            if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('B first attempt fails');
            return { from: 'B', n: job.data.n };
          },
          { module: 'b' },
        ),
        { connection },
      ),
    );
    const jobA = await a.add('work', { n: 1 });
    await waitFor('A done', async () => (await tasks.tracker.getTask('1'))?.status === 'SUCCESS');
    const jobB = await b.add('flaky', { n: 2 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    expect([jobA.id, jobB.id]).toEqual(['1', '1']);
    const collided = `${b.name}:1`;
    const rowB = await waitFor('B done', async () => {
      const r = await tasks.tracker.getTask(collided);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(rowB).toMatchObject({
      taskName: 'flaky',
      module: 'b',
      queueName: b.name,
      result: { from: 'B', n: 2 },
      error: null,
      metadata: { attempt: 2, progress_percent: 20, progress_message: 'B attempt 2' },
    });
    // Every attempt, its progress and its heartbeat went to B's own run.
    expect(bIds).toEqual([collided, collided]);
    const rowA = await tasks.tracker.getTask('1');
    expect(rowA).toMatchObject({ queueName: a.name, module: 'a', result: { from: 'A', n: 1 }, error: null });
    expect(rowA?.metadata).toEqual({ attempt: 1 });
    expect(await taskIdsOf(tasks, a.name)).toEqual(['1']);
    expect(await taskIdsOf(tasks, b.name)).toEqual([collided]);

    // One warning for the queue, naming both queues and the way out.
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toContain(`as task_id "${collided}"`);
    expect(warnings[0].msg).toContain('dispatch');
    expect(warnings[0].obj).toMatchObject({ queue: b.name, otherQueue: a.name, jobId: '1' });
    // B's job "2" has an id no run holds: it is recorded under it, like any job.
    const jobB2 = await b.add('work', { n: 3 });
    expect(jobB2.id).toBe('2');
    const rowB2 = await waitFor('B 2 done', async () => {
      const r = await tasks.tracker.getTask('2');
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(rowB2).toMatchObject({ queueName: b.name, result: { from: 'B', n: 3 } });
    expect(await taskIdsOf(tasks, b.name)).toEqual(['2', collided]);
    expect(warnings).toHaveLength(1);

    // Sync reads each run from its own job.
    const source = tasks.tracker.queueSource!;
    expect(await source.getState(rowA!)).toEqual({ status: 'SUCCESS', result: { from: 'A', n: 1 } });
    expect(await source.getState(rowB)).toEqual({ status: 'SUCCESS', result: { from: 'B', n: 2 } });
  });

  it('instrumentWorker: a collided job\'s progress, retry and failure all land on its "<queue>:<id>" run', async () => {
    const { tasks, warnings } = rec;
    const queue = redis.queue('collide-events');
    const worker = redis.worker(
      new Worker(
        queue.name,
        async (job) => {
          await job.updateProgress({ percent: 40 + job.attemptsMade, message: `attempt ${job.attemptsMade + 1}` });
          throw new Error(`broken ${job.attemptsMade + 1}`);
        },
        { connection },
      ),
    );
    instrumentWorker(tasks, worker, { module: 'events' });
    const job = await queue.add('doomed', { x: 1 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    expect(job.id).toBe('1');
    const taskId = `${queue.name}:1`;
    const row = await waitFor('FAILURE', async () => {
      const r = await tasks.tracker.getTask(taskId);
      return r?.status === 'FAILURE' ? r : null;
    });
    expect(row).toMatchObject({
      taskName: 'doomed',
      module: 'events',
      queueName: queue.name,
      error: 'broken 2',
      metadata: { attempt: 2, progress_percent: 41, progress_message: 'attempt 2' },
    });
    expect(warnings.map((w) => (w.obj as { queue: string }).queue)).toEqual([expect.any(String), queue.name]);
    expect(await taskIdsOf(tasks, queue.name)).toEqual([taskId]);
    // Queue A's run "1" is untouched.
    expect(await tasks.tracker.getTask('1')).toMatchObject({ status: 'SUCCESS', result: { from: 'A', n: 1 } });
    expect((await tasks.tracker.getTask('1'))?.error).toBeNull();
    const source = tasks.tracker.queueSource!;
    expect(await source.getState(row)).toMatchObject({ status: 'FAILURE', error: 'broken 2' });
  });

  it('dispatch with a custom jobId another queue already used records the job beside that run', async () => {
    const { tasks } = rec;
    const a = redis.queue('custom-a');
    const b = redis.queue('custom-b');
    const first = await dispatch(tasks, a, 'report', { n: 1 }, { module: 'r', jobOptions: { jobId: 'report-7' } });
    redis.worker(
      new Worker(
        b.name,
        tracked(tasks, async () => 'B done', { module: 'r' }),
        { connection },
      ),
    );
    const second = await dispatch(tasks, b, 'report', { n: 2 }, { module: 'r', jobOptions: { jobId: 'report-7' } });
    expect(first.execution).toMatchObject({ taskId: 'report-7', queueName: a.name, status: 'PENDING' });
    expect(second.job.id).toBe('report-7');
    expect(second.execution).toMatchObject({ taskId: `${b.name}:report-7`, queueName: b.name, taskKwargs: { n: 2 } });
    const done = await waitFor('B done', async () => {
      const r = await tasks.tracker.getTask(`${b.name}:report-7`);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(done.result).toBe('B done');
    expect(await tasks.tracker.getTask('report-7')).toMatchObject({ status: 'PENDING', queueName: a.name });
    expect(await tasks.tracker.queueSource!.getState(done)).toEqual({ status: 'SUCCESS', result: 'B done' });
  });

  it('a UUID job id reused in another queue (the job starts before its id is checked) still lands beside that run', async () => {
    const { tasks } = rec;
    const a = redis.queue('uuid-a');
    const b = redis.queue('uuid-b');
    const first = await dispatch(tasks, a, 'report', { n: 1 }, { module: 'a' });
    const uuid = String(first.job.id);
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    redis.worker(
      new Worker(
        b.name,
        tracked(
          tasks,
          async (job: Job, ctx) => {
            await ctx.progress({ percent: 50 });
            return { from: 'B', n: job.data.n };
          },
          { module: 'b' },
        ),
        { connection },
      ),
    );
    await b.add('report', { n: 2 }, { jobId: uuid }); // a plain add, so nothing registered it under queue B
    const done = await waitFor('B done', async () => {
      const r = await tasks.tracker.getTask(`${b.name}:${uuid}`);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(done).toMatchObject({
      module: 'b',
      queueName: b.name,
      result: { from: 'B', n: 2 },
      metadata: { attempt: 1, progress_percent: 50 },
    });
    expect(done.startedAt).not.toBeNull();
    // A's run is exactly as dispatch left it: neither B's start nor its success touched it.
    const untouched = await tasks.tracker.getTask(uuid);
    expect(untouched).toMatchObject({ status: 'PENDING', queueName: a.name, module: 'a', result: null, metadata: {} });
    expect(untouched!.startedAt).toBeNull();
  });

  it('jobIdOf maps a run back to its job: plain ids to themselves, "<queue>:<id>" to the id', () => {
    expect(jobIdOf({ taskId: '1', queueName: 'q' })).toBe('1');
    expect(jobIdOf({ taskId: 'q:1', queueName: 'q' })).toBe('1');
    expect(jobIdOf({ taskId: 'q:report-7', queueName: 'q' })).toBe('report-7');
    expect(jobIdOf({ taskId: 'other:1', queueName: 'q' })).toBe('other:1');
    expect(jobIdOf({ taskId: 'q:repeat:1', queueName: 'q' })).toBe('q:repeat:1');
    expect(jobIdOf({ taskId: '3f2c', queueName: null })).toBe('3f2c');
  });
});

async function queueEvents(name: string) {
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  setTimeout(() => events.close(), 10_000).unref();
  return events;
}
