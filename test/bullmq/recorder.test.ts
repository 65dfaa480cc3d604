/**
 * The zero-touch recorder (`recordQueues`) against plain BullMQ workers we do not wrap: every run recorded from the
 * queue's events (success, retries, final failure with stack, progress), reconciled from the job sets when it
 * starts late, and never recorded twice by two recorders of one queue.
 */
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { type QueueRecorder, type RecordQueuesOptions, recordQueues } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { connection, onPostgres, type Queue, queuesAt, sleep, useQueues, Worker, waitFor } from './helpers.js';

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

/**
 * The run of a job: its id, or `<queue>:<id>` when a run of another queue of this file's database took the id first
 * (automatic job ids are counters in every queue).
 */
async function runOf(tasks: AgentcoreTask, queueName: string, jobId: string | undefined) {
  const own = await tasks.tracker.getTask(String(jobId));
  return own?.queueName === queueName ? own : tasks.tracker.getTask(`${queueName}:${jobId}`);
}

/** The run went through these statuses in this order (writes that land in one batch may skip ones between). */
function expectTrail(trail: string[], first: string, ...rest: string[]) {
  expect(trail[0]).toBe(first);
  let at = 0;
  for (const status of rest) {
    const found = trail.indexOf(status, at);
    expect(found, `${status} in ${trail.join(' → ')}`).toBeGreaterThan(at - 1);
    at = found + 1;
  }
  expect(trail[trail.length - 1]).toBe(rest[rest.length - 1] ?? first);
}

async function rowsOf(tasks: AgentcoreTask, queueName: string) {
  return tasks.db
    .selectFrom('agentcore_task_execution')
    .select(['task_id', 'status', 'task_name'])
    .where('queue_name', '=', queueName)
    .execute();
}

/** Waits until BullMQ reports `n` jobs of the queue finished (completed + failed). */
async function finished(queue: Queue, n: number, timeoutMs = 30_000) {
  await waitFor(
    `${n} finished jobs`,
    async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return (c.completed ?? 0) + (c.failed ?? 0) >= n;
    },
    timeoutMs,
  );
}

describe('recordQueues on postgres: plain BullMQ workers', () => {
  const database = useTestDatabase('postgres');
  const bull = useQueues();
  let tasks: AgentcoreTask;
  let trail: ReturnType<typeof statusTrail>;
  const recorders: QueueRecorder[] = [];

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
    for (const r of recorders) await r.close();
    await tasks?.close();
  });

  /** A recorder of `queue` (on PostgreSQL the queue creates BullMQ's schema first, as a worker would). */
  async function record(queue: Queue, options: Partial<RecordQueuesOptions> = {}) {
    await queue.waitUntilReady();
    const recorder = recordQueues(tasks, { queues: [queue.name], connection: queuesAt, ...options });
    recorders.push(recorder);
    return recorder;
  }

  it('records success with the result, retries, final failure with stack, and progress', {
    timeout: 60_000,
  }, async () => {
    const queue = bull.queue('rec-plain');
    const recorder = await record(queue, { module: 'billing' });
    await recorder.ready;

    const ok = await queue.add('send_invoice', { invoice: 7 });
    const flaky = await queue.add('flaky', { n: 1 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    const bad = await queue.add('always_fails', 'raw', { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    const fatal = await queue.add('fatal', {}, { attempts: 5 });
    const progress = await queue.add('report', {});
    bull.worker(
      new Worker(
        queue.name,
        async (job) => {
          switch (job.name) {
            case 'send_invoice':
              return { sent: job.data.invoice };
            case 'flaky':
              if (job.attemptsMade < 2) throw new Error(`flaky attempt ${job.attemptsMade + 1}`);
              return 'third time';
            case 'always_fails':
              throw new Error('boom');
            case 'fatal':
              throw new UnrecoverableError('no point retrying');
            default:
              await job.updateProgress(40);
              await job.updateProgress({ percent: 80, message: 'almost', step: 'write' });
              return null;
          }
        },
        { connection },
      ),
    );
    await finished(queue, 5);
    expect(await recorder.idle()).toBe(true);

    const get = (id: string | undefined) => runOf(tasks, queue.name, id);
    const trailOf = async (id: string | undefined) => trail.of((await get(id))?.taskId ?? '');
    expect(await get(ok.id)).toMatchObject({
      taskName: 'send_invoice',
      module: 'billing',
      queueName: queue.name,
      status: 'SUCCESS',
      result: { sent: 7 },
      taskKwargs: { invoice: 7 },
      metadata: { attempt: 1 },
    });
    expect((await get(ok.id))?.startedAt).not.toBeNull();
    expectTrail(await trailOf(ok.id), 'PENDING', 'SUCCESS');

    expect(await get(flaky.id)).toMatchObject({ status: 'SUCCESS', result: 'third time', metadata: { attempt: 3 } });
    expectTrail(await trailOf(flaky.id), 'PENDING', 'RETRY', 'SUCCESS');

    const failed = await get(bad.id);
    expect(failed).toMatchObject({ status: 'FAILURE', error: 'boom', taskArgs: ['raw'], metadata: { attempt: 2 } });
    expect(failed?.traceback).toMatch(/Error: boom\n\s+at /);
    expectTrail(await trailOf(bad.id), 'PENDING', 'RETRY', 'FAILURE');

    expect(await get(fatal.id)).toMatchObject({
      status: 'FAILURE',
      error: 'no point retrying',
      metadata: { attempt: 1 },
    });

    expect(await get(progress.id)).toMatchObject({
      status: 'SUCCESS',
      result: null,
      metadata: { progress_percent: 80, progress_message: 'almost', progress_step: 'write' },
    });
    expect(await rowsOf(tasks, queue.name)).toHaveLength(5);
  });

  it('a recorder started after the jobs ran reconciles them from the job sets', { timeout: 60_000 }, async () => {
    const queue = bull.queue('rec-late');
    const worker = bull.worker(
      new Worker(
        queue.name,
        async (job) => {
          if (job.name === 'bad') throw new Error(`bad ${job.data.i}`);
          return job.data.i * 2;
        },
        { connection },
      ),
    );
    const jobs = await queue.addBulk(
      Array.from({ length: 30 }, (_, i) => ({ name: i % 10 === 0 ? 'bad' : 'good', data: { i } })),
    );
    await finished(queue, 30);
    await worker.close();
    const waiting = await queue.add('later', { i: 100 });
    // The stream no longer tells what happened: only the job sets do. (bullmq 6's PostgreSQL backend cannot trim on
    // demand: there the recorder replays the events as well.)
    if (!onPostgres) await queue.trimEvents(0);

    const recorder = await record(queue, { jobData: false });
    const [summary] = await recorder.ready;
    expect(summary?.jobs).toBe(31);
    expect(await recorder.idle()).toBe(true);
    for (const [i, job] of jobs.entries()) {
      const row = await runOf(tasks, queue.name, job.id);
      if (i % 10 === 0) {
        expect(row).toMatchObject({ taskName: 'bad', status: 'FAILURE', error: `bad ${i}`, module: 'bullmq' });
        expect(row?.traceback).toContain(`Error: bad ${i}`);
      } else expect(row).toMatchObject({ taskName: 'good', status: 'SUCCESS', result: i * 2, taskKwargs: {} });
    }
    expect(await runOf(tasks, queue.name, waiting.id)).toMatchObject({ taskName: 'later', status: 'PENDING' });
    expect(await rowsOf(tasks, queue.name)).toHaveLength(31);
  });

  it('two recorders of one queue record each run once', { timeout: 60_000 }, async () => {
    const queue = bull.queue('rec-two');
    const a = await record(queue);
    const b = await record(queue);
    await Promise.all([a.ready, b.ready]);
    const n = 300;
    await queue.addBulk(
      Array.from({ length: n }, (_, i) => ({
        name: `job-${i % 3}`,
        data: { i },
        opts: { attempts: 2, ...(i % 7 === 0 ? {} : {}) },
      })),
    );
    bull.worker(
      new Worker(
        queue.name,
        async (job) => {
          if (job.data.i % 7 === 0 && job.attemptsMade === 0) throw new Error('once');
          return job.data.i;
        },
        { connection, concurrency: 20 },
      ),
    );
    await finished(queue, n);
    // The events arrive after BullMQ counts the jobs finished.
    await waitFor('every run recorded', async () => {
      const rows = await rowsOf(tasks, queue.name);
      return rows.length >= n && rows.every((r) => r.status === 'SUCCESS');
    });
    expect(await a.idle()).toBe(true);
    expect(await b.idle()).toBe(true);
    const rows = await rowsOf(tasks, queue.name);
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => r.task_id)).size).toBe(n);
    expect(rows.filter((r) => r.status !== 'SUCCESS')).toEqual([]);
    // One run per job id, under its id or `<queue>:<id>` (never both).
    const jobIds = rows.map((r) => r.task_id.replace(`${queue.name}:`, ''));
    expect(new Set(jobIds).size).toBe(n);
  });

  it('a restarted recorder resumes after its stored position and reconciles what was trimmed back to it', {
    timeout: 60_000,
  }, async () => {
    const queue = bull.queue('rec-resume');
    bull.worker(new Worker(queue.name, async (job) => job.data.i, { connection, concurrency: 10 }));
    const first = await record(queue, { jobData: false });
    await first.ready;
    await queue.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'before', data: { i } })));
    await finished(queue, 100);
    await waitFor('first half recorded', async () => {
      const rows = await rowsOf(tasks, queue.name);
      return rows.length === 100 && rows.every((r) => r.status === 'SUCCESS');
    });
    await first.close(); // stores its position
    await sleep(20); // the jobs below finish after the stored position's time

    // While no recorder runs: 100 more jobs, and (on Redis) their events trimmed away.
    await queue.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'while-down', data: { i: 100 + i } })));
    await finished(queue, 200);
    if (!onPostgres) await queue.trimEvents(0);

    // No clock margin: finished jobs are read back to the stored position only.
    const second = await record(queue, { jobData: false, clockMarginMs: 0 });
    const [summary] = await second.ready;
    expect(summary?.jobs).toBeLessThan(200);
    expect(summary?.jobs).toBeGreaterThanOrEqual(onPostgres ? 0 : 100);
    await waitFor('every run recorded', async () => {
      const rows = await rowsOf(tasks, queue.name);
      return rows.length === 200 && rows.every((r) => r.status === 'SUCCESS');
    });
    const rows = await rowsOf(tasks, queue.name);
    expect(rows.filter((r) => r.task_name === 'while-down')).toHaveLength(100);
  });

  it.skipIf(onPostgres)('rejects bad options with a ValidationError naming the field', () => {
    expect(() => recordQueues(tasks, { queues: [], connection: queuesAt })).toThrow(/queues/);
    expect(() => recordQueues(tasks, { queues: ['a:b'], connection: queuesAt })).toThrow(/without ":"/);
    expect(() => recordQueues(tasks, { queues: ['a'], connection: '' })).toThrow(/connection/);
  });
});
