/**
 * Issue 18, item 1: a job with a UUID id added with a plain `queue.add` starts in a `tracked` processor before its
 * row is written (the id is taken for a `dispatch`ed one). A worker process SIGKILLed after BullMQ finished such jobs
 * but before its write buffer flushed leaves them with no row at all, which no sync (it reads rows) can find.
 * `recoverUnrecorded` registers them from the queue's finished sets: called directly, at the first job a tracked
 * processor of a fresh instance receives, and from the timeout job of `createMaintenanceWorker`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createMaintenanceWorker, tracked, useBullmqSync } from '../../src/queue/bullmq/index.js';
import { recoverUnrecorded } from '../../src/queue/bullmq/recover.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import {
  backendEnv,
  connection,
  onPostgres,
  type Queue,
  queuesAt,
  sleep,
  useQueues,
  Worker,
  waitFor,
} from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/uuid-recovery-worker.ts', import.meta.url));
const MODULE = 'uuid-recovery';

describe('finished UUID jobs whose writes a killed worker lost (postgres)', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  const instances: AgentcoreTask[] = [];
  const children: ChildProcess[] = [];

  /** An instance that syncs from the queues under test. */
  async function instance(): Promise<AgentcoreTask> {
    const tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
    });
    useBullmqSync(tasks, { connection: queuesAt });
    instances.push(tasks);
    return tasks;
  }

  let tasks: AgentcoreTask;
  beforeAll(async () => {
    tasks = await instance();
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    for (const t of instances) await t.close();
  });

  /**
   * Adds `count` jobs (UUID ids, `attempts: 1`; the one at `failAt` throws) and runs them in a worker process that
   * SIGKILLs itself when BullMQ fails that job. Resolves once the process is gone.
   */
  async function crash(queue: Queue, from: number, count: number, failAt: number): Promise<void> {
    for (let i = from; i < from + count; i++)
      await queue.add('square', i === failAt ? { i, fail: true } : { i }, { jobId: randomUUID(), attempts: 1 });
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, DATABASE_URL: database.url, QUEUE: queue.name, REDIS_URL, ...backendEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    expect(signal, `worker process: ${stderr}`).toBe('SIGKILL');
    await sleep(300); // a statement sent before the kill may still land
  }

  /** The jobs of the queue's finished sets, by id. */
  async function finished(queue: Queue) {
    const jobs = new Map<string, { state: 'completed' | 'failed'; i: number; result: unknown; reason: string }>();
    for (const state of ['completed', 'failed'] as const)
      for (const job of await queue.getJobs([state], 0, -1))
        if (job) jobs.set(String(job.id), { state, i: job.data.i, result: job.returnvalue, reason: job.failedReason });
    return jobs;
  }

  /** The rows of these jobs: under their id or `<queue>:<id>`. */
  async function rowsOf(queue: Queue, allIds: string[]) {
    const ids = allIds.filter((id) => !id.includes('\u0000')); // no run can have one (PostgreSQL refuses it even here)
    if (ids.length === 0) return [];
    return tasks.db
      .selectFrom('agentcore_task_execution')
      .selectAll()
      .where('task_id', 'in', [...ids, ...ids.map((id) => `${queue.name}:${id}`)])
      .execute();
  }

  /** Ids of finished jobs with no row. */
  async function unrecorded(queue: Queue): Promise<string[]> {
    const jobs = await finished(queue);
    const rows = await rowsOf(queue, [...jobs.keys()]);
    const has = new Set(rows.map((r) => r.task_id));
    return [...jobs.keys()].filter((id) => !has.has(id));
  }

  /** Every finished job has exactly one run, under its id, with BullMQ's final status and result or reason. */
  async function expectAllRecorded(queue: Queue) {
    const jobs = await finished(queue);
    const rows = await rowsOf(queue, [...jobs.keys()]);
    expect(rows.length).toBe(jobs.size);
    const byId = new Map(rows.map((r) => [r.task_id, r]));
    for (const [id, job] of jobs) {
      const row = byId.get(id);
      expect(row, `run of job ${id}`).toBeDefined();
      expect(row).toMatchObject({ task_name: 'square', module: MODULE, queue_name: queue.name });
      if (job.state === 'completed') {
        expect(row).toMatchObject({ status: 'SUCCESS', result: { i: job.i, doubled: job.i * 2 } });
      } else {
        expect(row).toMatchObject({ status: 'FAILURE', error: `job ${job.i} failed for good` });
        expect(row?.traceback).toContain(`job ${job.i} failed for good`);
      }
      expect(row?.finished_at).not.toBeNull();
    }
    return jobs;
  }

  it('recoverUnrecorded registers each lost job once with its final status, also when two instances run it at once', async () => {
    const queue = redis.queue('direct');
    await crash(queue, 0, 20, 12);
    const lost = await unrecorded(queue);
    // A kill that lost no write would prove nothing.
    expect(lost.length).toBeGreaterThan(0);
    const jobs = await finished(queue);
    expect([...jobs.values()].some((j) => j.state === 'failed')).toBe(true);

    const other = await instance();
    const [a, b] = await Promise.all([
      recoverUnrecorded(tasks, queue.name, { module: MODULE }),
      recoverUnrecorded(other, queue.name, { module: MODULE }),
    ]);
    expect(a.recovered + b.recovered).toBeGreaterThanOrEqual(lost.length);
    expect(await unrecorded(queue)).toEqual([]);
    // Runs the kill left STARTED (their row was written, their end was not) are the sync's, as at a worker's start.
    await tasks.tracker.syncAllUnfinished();
    await expectAllRecorded(queue);
    const recovered = await rowsOf(queue, lost);
    for (const row of recovered) {
      expect(row.task_kwargs).toMatchObject({ i: expect.any(Number) });
      expect(row.metadata).toMatchObject({ attempt: 1, recovered_from_queue: true });
    }
    // Again: nothing left to do, nothing doubled.
    expect((await recoverUnrecorded(tasks, queue.name, { module: MODULE })).recovered).toBe(0);
    expect((await recoverUnrecorded(await instance(), queue.name, { module: MODULE })).recovered).toBe(0);
    expect((await rowsOf(queue, [...jobs.keys()])).length).toBe(jobs.size);
  });

  it('runs a cleanup deleted are not brought back, also by a cleanup with a shorter retention than the setting', async () => {
    const queue = redis.queue('cleaned');
    // Finished UUID jobs with no run: a worker that records nothing.
    const worker = new Worker(queue.name, async (job) => ({ i: job.data.i, doubled: job.data.i * 2 }), { connection });
    redis.worker(worker);
    for (let i = 0; i < 6; i++) await queue.add('square', { i }, { jobId: randomUUID() });
    await waitFor('the jobs finished', async () => (await queue.getJobCounts('completed')).completed === 6);
    await worker.close();
    expect((await recoverUnrecorded(tasks, queue.name, { module: MODULE })).recovered).toBe(6);
    expect(await unrecorded(queue)).toEqual([]);

    // A one-off cleanup with a 1 s retention (the setting stays at 30 days) deletes them.
    await sleep(1_100);
    const cleaned = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 1 / 86_400 });
    expect(cleaned.deleted_count).toBeGreaterThanOrEqual(6);
    expect(await unrecorded(queue)).toHaveLength(6);
    // A fresh instance (nothing remembered) finds them in the completed set, and leaves them deleted.
    expect((await recoverUnrecorded(await instance(), queue.name, { module: MODULE })).recovered).toBe(0);
    expect(await unrecorded(queue)).toHaveLength(6);
    // A settings reset keeps that cutoff.
    await tasks.settings.reset();
    expect((await recoverUnrecorded(await instance(), queue.name, { module: MODULE })).recovered).toBe(0);
  });

  it('a job whose run the database refuses is logged and skipped; the jobs after it are recovered', async () => {
    const queue = redis.queue('refused');
    const worker = new Worker(queue.name, async (job) => ({ i: job.data.i }), { connection });
    redis.worker(worker);
    // Any id (as for `instrumentWorker`); one of them over 255 characters, which no run can have, and on Redis one
    // with a NUL (which PostgreSQL refuses even in a lookup; bullmq's PostgreSQL backend cannot store it either).
    const ids = [0, 1, 2, 3, 4, 5].map((i) =>
      i === 2 ? `long-${'x'.repeat(300)}` : i === 5 && !onPostgres ? 'nul-\u0000-5' : `refused-${i}`,
    );
    for (const [i, jobId] of ids.entries()) await queue.add('square', { i }, { jobId });
    await waitFor('the jobs finished', async () => (await queue.getJobCounts('completed')).completed === 6);
    await worker.close();
    const warnings: string[] = [];
    const logged = await createAgentcoreTask({
      database: database.url,
      logger: { ...silentLogger, warn: (_: unknown, message?: string) => void warnings.push(String(message)) },
      realtime: false,
    });
    instances.push(logged);
    useBullmqSync(logged, { connection: queuesAt });
    const refused = onPostgres ? [ids[2]] : [ids[2], ids[5]];
    expect((await recoverUnrecorded(logged, queue.name, { module: MODULE, anyId: true })).recovered).toBe(
      6 - refused.length,
    );
    expect((await unrecorded(queue)).sort()).toEqual([...refused].sort());
    expect(warnings).toContain('agentcore-task: finished job not recovered');
  });

  it('a fresh tracked worker recovers them at its first job; the timeout job recovers those lost later', async () => {
    const queue = redis.queue('tracked');
    await crash(queue, 0, 20, 12);
    const lostFirst = await unrecorded(queue);
    expect(lostFirst.length).toBeGreaterThan(0);

    const fresh = await instance();
    const worker = new Worker(
      queue.name,
      tracked<{ i: number }>(fresh, async (job) => ({ i: job.data.i, doubled: job.data.i * 2 }), { module: MODULE }),
      { connection, stalledInterval: 300 },
    );
    redis.worker(worker);
    await queue.add('square', { i: 100 }, { jobId: randomUUID() });
    await waitFor('the lost jobs recorded', async () => (await unrecorded(queue)).length === 0, 15_000);
    // Jobs the killed worker held are moved back by the stalled check and run here: wait until nothing is left.
    await waitFor('every job finished', async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
      return counts.waiting + counts.active + counts.delayed === 0;
    });
    await waitFor('every finished job recorded', async () => (await unrecorded(queue)).length === 0);
    await fresh.tracker.flush();
    await expectAllRecorded(queue);
    await worker.close();

    // The worker is gone; another process loses more writes. The instance's timeout job finds them.
    await crash(queue, 200, 20, 210);
    const lostLater = await unrecorded(queue);
    expect(lostLater.length).toBeGreaterThan(0);
    const maintenance = redis.queue('maintenance');
    redis.worker(await createMaintenanceWorker(fresh, { connection, queueName: maintenance.name }));
    const mark = await maintenance.add('mark_timed_out_task_executions', {});
    await waitFor('the timeout job done', async () => (await mark.getState()) === 'completed', 15_000);
    expect(await unrecorded(queue)).toEqual([]);
    await expectAllRecorded(queue);
  });
});
