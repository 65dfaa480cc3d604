import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, tracked, useBullmqSync } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { backendEnv, connection, queuesAt, sleep, useQueues, Worker, waitFor } from './helpers.js';

const MINUTE = 60_000;
const CHILD = fileURLToPath(new URL('./fixtures/crashing-worker.ts', import.meta.url));

/** Moves a run's start and last sign of life `ms` into the past, as if it had been running that long. */
async function age(tasks: AgentcoreTask, taskId: string, ms: number) {
  const past = new Date(Date.now() - ms);
  await tasks.db
    .updateTable('agentcore_task_execution')
    .set({ started_at: past, updated_at: past, created_at: past })
    .where('task_id', '=', taskId)
    .execute();
}

/** Starts the crashing worker in its own process and resolves once it is ready. */
async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitFor(`child ready (stderr: ${stderr})`, () => lines.includes('ready') || child.exitCode !== null, 20_000);
  if (child.exitCode !== null) throw new Error(`worker process exited: ${stderr}`);
  return { child, lines };
}

describe('timeout marking against real BullMQ workers (postgres)', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  let tasks: AgentcoreTask; // reads from BullMQ
  let liveness: AgentcoreTask; // no queue source: only the run's own sign of life counts
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
    });
    useBullmqSync(tasks, { connection: queuesAt });
    liveness = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      migrate: false,
      realtime: false,
    });
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await liveness?.close();
    await tasks?.close();
  });

  it('a healthy job running past the timeout while tracked sends heartbeats is not marked; a silent run is', async () => {
    const queue = redis.queue('healthy');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const processor = tracked(
      tasks,
      async () => {
        await gate;
        return 'finished';
      },
      { module: 'long', heartbeatIntervalMs: 100 },
    );
    redis.worker(new Worker(queue.name, processor, { connection }));
    const { job } = await dispatch(tasks, queue, 'long_report', {}, { module: 'long' });
    const healthy = String(job.id);
    await waitFor('STARTED', async () => (await tasks.tracker.getTask(healthy))?.status === 'STARTED');
    // It has been running for half an hour (timeout: 10 minutes)…
    await age(tasks, healthy, 30 * MINUTE);
    const silent = `silent-${Date.now()}`;
    await tasks.registerTaskExecution({ taskId: silent, taskName: 'ghost', module: 'long', initialStatus: 'STARTED' });
    await age(tasks, silent, 30 * MINUTE);
    // …and keeps sending heartbeats.
    await sleep(300);
    const byLiveness = await liveness.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(byLiveness.updated_count).toBe(1);
    expect((await tasks.tracker.getTask(healthy))?.status).toBe('STARTED');
    expect((await tasks.tracker.getTask(silent))?.status).toBe('FAILURE');
    expect((await tasks.tracker.getTask(silent))?.error).toMatch(
      /^Task timeout \(exceeded 10 minutes, started before /,
    );

    // With the queue consulted too, the job (active, lock held) is still left alone.
    expect((await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 })).updated_count).toBe(0);
    release();
    await waitFor('SUCCESS', async () => (await tasks.tracker.getTask(healthy))?.status === 'SUCCESS');
    expect((await tasks.tracker.getTask(healthy))?.result).toBe('finished');
  });

  it('worker SIGKILLed mid-job, BullMQ stalled handling fails the job; the timeout job syncs it to FAILURE', async () => {
    const queue = redis.queue('stalled');
    const { child, lines } = await startChild({
      DATABASE_URL: database.url,
      QUEUE: queue.name,
      REDIS_URL,
      ...backendEnv,
      LOCK_MS: '1000',
    });
    children.push(child);
    const { job } = await dispatch(tasks, queue, 'doomed', {}, { module: 'crash' });
    const taskId = String(job.id);
    await waitFor('job running in the child', () => lines.includes(`running ${taskId}`));
    // The job does not wait for its writes: they land just after.
    await waitFor('its start and progress recorded', async () => {
      const row = await tasks.tracker.getTask(taskId);
      return row?.status === 'STARTED' && row.metadata.progress_percent === 10;
    });
    child.kill('SIGKILL');
    await waitFor('child gone', () => child.exitCode !== null || child.signalCode !== null);

    // A surviving worker checks for stalled jobs often and gives a stalled job no second chance.
    redis.worker(
      new Worker(
        queue.name,
        tracked(tasks, async () => 'never', { module: 'crash' }),
        {
          connection,
          stalledInterval: 300,
          maxStalledCount: 0,
        },
      ),
    );
    await waitFor('BullMQ fails the stalled job', async () => (await job.getState()) === 'failed', 15_000);
    const result = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(result.synced_updated_count).toBeGreaterThanOrEqual(1);
    const row = await tasks.tracker.getTask(taskId);
    expect(row).toMatchObject({ status: 'FAILURE', error: 'job stalled more than allowable limit' });
    expect(row?.finishedAt).toBeInstanceOf(Date);
    expect((await tasks.tracker.listTaskExecutions({ module: 'crash', status: 'STARTED' })).count).toBe(0);
  });

  it('worker SIGKILLed mid-job and no worker left: the job stays "active" in Redis without a lock, the timeout job marks it', async () => {
    const queue = redis.queue('orphan');
    const { child, lines } = await startChild({
      DATABASE_URL: database.url,
      QUEUE: queue.name,
      REDIS_URL,
      ...backendEnv,
      LOCK_MS: '1000',
    });
    children.push(child);
    const { job } = await dispatch(tasks, queue, 'orphaned', {}, { module: 'orphan' });
    const taskId = String(job.id);
    await waitFor('job running in the child', () => lines.includes(`running ${taskId}`));
    await waitFor('its start recorded', async () => (await tasks.tracker.getTask(taskId))?.status === 'STARTED');
    child.kill('SIGKILL');
    await waitFor('child gone', () => child.exitCode !== null || child.signalCode !== null);
    await sleep(1_300); // the lock (1 s) runs out; nobody runs BullMQ's stalled check
    expect(await job.getState()).toBe('active');
    await age(tasks, taskId, 20 * MINUTE);
    const result = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(result.updated_count).toBe(1);
    const row = await tasks.tracker.getTask(taskId);
    expect(row?.status).toBe('FAILURE');
    expect(row?.error).toBe(`Task timeout (exceeded 10 minutes, started before ${result.cutoff})`);
    expect((await tasks.tracker.listTaskExecutions({ module: 'orphan', status: 'STARTED' })).count).toBe(0);
  });
});
