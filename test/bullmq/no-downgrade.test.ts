import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, useCelerySync } from '../../src/index.js';
import { dispatch, tracked } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { connection, defaultSyncOptions, onPostgres, useQueues, Worker, waitFor } from './helpers.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// SPEC section 15 "Sync": a sync never moves a STARTED/RETRY run back to PENDING; STARTED and RETRY may follow each
// other, and a completed run never goes back.
describe('sync never moves a running run back (mysql + real BullMQ, default source from `redis`)', () => {
  const database = useTestDatabase('mysql');
  const redis = useQueues();
  let tasks: AgentcoreTask;
  const gates: Array<() => void> = [];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      ...defaultSyncOptions,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
    });
  });
  afterAll(async () => {
    for (const release of gates) release();
    await tasks?.close();
  });

  it('a stalled job that BullMQ puts back to waiting leaves the STARTED run STARTED', async () => {
    const queue = redis.queue('stalled');
    const gate = deferred();
    gates.push(gate.resolve);
    const running = deferred();
    // A short stalled interval on both workers: a check holds a queue-wide key for its interval.
    const crashing = new Worker(
      queue.name,
      tracked(
        tasks,
        async () => {
          running.resolve();
          await gate.promise;
        },
        { module: 'm' },
      ),
      { connection, lockDuration: 500, stalledInterval: 200 },
    );
    const { job } = await dispatch(tasks, queue, 'stalls', {}, { module: 'm' });
    const taskId = String(job.id);
    await running.promise;
    await waitFor('STARTED', async () => (await tasks.tracker.getTask(taskId))?.status === 'STARTED');
    // The worker goes away without finishing (as a crashed one would): its lock is no longer renewed.
    await crashing.close(true);
    // A worker that only runs the stalled check (it takes no job, so the job stays waiting).
    const checker = redis.worker(new Worker(queue.name, null, { connection, autorun: false, stalledInterval: 200 }));
    await checker.startStalledCheckTimer();
    await waitFor('job back to waiting', async () => (await job.getState()) === 'waiting');

    const row = (await tasks.tracker.getTask(taskId))!;
    expect(await tasks.tracker.queueSource!.getState(row)).toEqual({ status: 'PENDING' });
    expect((await tasks.tracker.syncTask(taskId))?.status).toBe('STARTED');
    expect((await tasks.tracker.getTask(taskId, { sync: true }))?.status).toBe('STARTED');
    await tasks.tracker.syncAllUnfinished();
    const after = await tasks.tracker.getTask(taskId);
    expect(after?.status).toBe('STARTED');
    expect(after?.startedAt).toEqual(row.startedAt);
  });

  it('RETRY stays RETRY when the queue says waiting; RETRY → STARTED and STARTED → SUCCESS are applied', async () => {
    const queue = redis.queue('retry');
    const { job } = await dispatch(tasks, queue, 'again', {}, { module: 'm' });
    const taskId = String(job.id);
    await tasks.tracker.updateTaskStatus(taskId, 'RETRY', { error: 'first attempt failed' });
    expect(await job.getState()).toBe('waiting');
    expect(await tasks.tracker.syncTask(taskId)).toMatchObject({ status: 'RETRY', error: 'first attempt failed' });

    const gate = deferred();
    gates.push(gate.resolve);
    const running = deferred();
    redis.worker(
      new Worker(
        queue.name,
        async () => {
          running.resolve();
          await gate.promise;
          return 'second time';
        },
        { connection },
      ),
    );
    await running.promise;
    expect((await tasks.tracker.syncTask(taskId))?.status).toBe('STARTED');
    gate.resolve();
    await waitFor('completed', async () => (await job.getState()) === 'completed');
    expect(await tasks.tracker.syncTask(taskId)).toMatchObject({ status: 'SUCCESS', result: 'second time' });
  });

  it('a completed run is not moved back when the queue says waiting', async () => {
    const queue = redis.queue('done');
    const { job } = await dispatch(tasks, queue, 'once', {}, { module: 'm' });
    const taskId = String(job.id);
    await tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 1 });
    expect(await job.getState()).toBe('waiting');
    expect(await tasks.tracker.syncTask(taskId)).toMatchObject({ status: 'SUCCESS', result: 1 });
  });
});

// Celery and the `redis` option alone: nothing of the BullMQ backend under test, so run once (on Redis).
describe.skipIf(onPostgres)('sync never moves a running run back (Celery result backend, sqlite)', () => {
  const database = useTestDatabase('sqlite');
  const prefix = `act-test-${randomUUID()}:celery-task-meta-`;
  let client: Redis;
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    client = new Redis(REDIS_URL);
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
    });
    useCelerySync(tasks, { redis: client, keyPrefix: prefix });
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await tasks?.close();
    client.disconnect();
  });

  /** A run in status `ours` whose Celery result entry says `theirs`. */
  async function run(ours: 'PENDING' | 'STARTED' | 'RETRY', theirs: string) {
    const taskId = randomUUID();
    await tasks.registerTaskExecution({ taskId, taskName: 'reports.tasks.build', module: 'reports' });
    if (ours !== 'PENDING') await tasks.tracker.updateTaskStatus(taskId, ours);
    const meta = { status: theirs, result: null, traceback: null, children: [], date_done: null, task_id: taskId };
    await client.set(`${prefix}${taskId}`, JSON.stringify(meta), 'EX', 600);
    return taskId;
  }

  it.each([
    ['STARTED', 'PENDING', 'STARTED'],
    ['STARTED', 'RECEIVED', 'STARTED'],
    ['RETRY', 'PENDING', 'RETRY'],
    ['RETRY', 'RECEIVED', 'RETRY'],
    ['RETRY', 'STARTED', 'STARTED'],
    ['STARTED', 'RETRY', 'RETRY'],
    ['PENDING', 'STARTED', 'STARTED'],
    ['STARTED', 'SUCCESS', 'SUCCESS'],
  ] as const)('ours %s, Celery says %s → %s', async (ours, theirs, expected) => {
    const taskId = await run(ours, theirs);
    expect((await tasks.tracker.syncTask(taskId))?.status).toBe(expected);
    expect((await tasks.tracker.getTask(taskId))?.status).toBe(expected);
  });

  it('syncAllUnfinished leaves running runs that Celery reports PENDING as they are', async () => {
    const started = await run('STARTED', 'PENDING');
    const retry = await run('RETRY', 'PENDING');
    await tasks.tracker.syncAllUnfinished();
    expect((await tasks.tracker.getTask(started))?.status).toBe('STARTED');
    expect((await tasks.tracker.getTask(retry))?.status).toBe('RETRY');
  });
});

describe.skipIf(onPostgres)('redis given but bullmq not installed', () => {
  it('the instance starts and records; sync is a no-op with one warning naming the package', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/bullmq/fixtures/hide-bullmq.mjs',
        './test/bullmq/fixtures/sync-without-bullmq.ts',
      ],
      { cwd: root, env: { ...process.env, REDIS_URL }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim());
    expect(report.bullmqLoadable).toBe(false);
    expect(report).toMatchObject({ synced: 'STARTED', again: 'STARTED', updated: 0 });
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain('bullmq');
    expect(report.warnings[0]).toContain('npm install bullmq');
  }, 30_000);
});
