/**
 * A real Celery worker (Debian's python3-celery, Redis broker and result backend, JSON serializer) runs Python tasks
 * that succeed, fail with a traceback, retry and get revoked; our Celery source syncs each run from what the worker
 * wrote, and the timeout job leaves a still-running Celery task alone. `.ci/run` installs python3-celery and
 * python3-redis.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus, useCelerySync } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

const run = promisify(execFile);
// Debian's interpreter: the one python3-celery is installed for (a pyenv python3 may be first on PATH).
const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const FIXTURES = join(import.meta.dirname, 'fixtures');
// Its own Redis database, so the worker's broker keys and results never meet other tests' keys.
const CELERY_REDIS = `${REDIS_URL.replace(/\/\d*$/, '')}/7`;
const QUEUE = `agentcore-test-${randomUUID()}`;
const env = { ...process.env, AGENTCORE_CELERY_REDIS: CELERY_REDIS, AGENTCORE_CELERY_QUEUE: QUEUE };

async function send(name: string, args: unknown[]): Promise<string> {
  const { stdout } = await run(PYTHON, ['send.py', name, JSON.stringify(args)], { cwd: FIXTURES, env });
  return stdout.trim();
}

describe('a real Celery worker, synced through the Celery result backend', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let worker: ChildProcess;
  let redis: Redis;

  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: apt-get install -y python3-celery python3-redis`);
    worker = spawn(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'celery_tasks',
        'worker',
        '--loglevel=INFO',
        '--concurrency=2',
        '-Q',
        QUEUE,
        '-n',
        `${QUEUE}@%h`,
      ],
      { cwd: FIXTURES, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Celery worker not ready in 30 s:\n${log}`)), 30_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (/ready\./.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      worker.stdout?.on('data', onData);
      worker.stderr?.on('data', onData);
      worker.once('exit', (code) => reject(new Error(`Celery worker exited (${code}):\n${log}`)));
    });
    redis = new Redis(CELERY_REDIS);
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    useCelerySync(tasks, { redis });
  }, 60_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    if (redis) {
      const keys = await redis.keys('celery-task-meta-*');
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(QUEUE);
      redis.disconnect();
    }
    await tasks?.close();
  });

  /** Registers the Python task's run as the dispatching app would, then syncs until `done` holds. */
  async function syncUntil(taskId: string, done: (status: string) => boolean, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await tasks.tracker.syncTask(taskId);
      if (row && done(row.status)) return row;
      if (Date.now() > deadline) throw new Error(`run ${taskId} still ${row?.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function dispatchPython(name: string, args: unknown[]) {
    const taskId = await send(name, args);
    await tasks.registerTaskExecution({ taskId, taskName: name, module: 'python', taskArgs: args });
    return taskId;
  }

  it('a task that succeeds: SUCCESS with its return value', async () => {
    const taskId = await dispatchPython('reports.add', [2, 3]);
    const row = await syncUntil(taskId, (s) => s === TaskStatus.SUCCESS);
    expect(row).toMatchObject({ status: 'SUCCESS', result: { sum: 5 }, error: null });
    expect(row.finishedAt).toBeInstanceOf(Date);
  });

  it('a task that raises: FAILURE with str(exc) as error and the Python traceback', async () => {
    const taskId = await dispatchPython('reports.boom', ['no rows for 2026-12']);
    const row = await syncUntil(taskId, (s) => s === TaskStatus.FAILURE);
    expect(row.error).toBe('no rows for 2026-12');
    expect(row.traceback).toMatch(/Traceback \(most recent call last\)[\s\S]*ValueError: no rows for 2026-12/);
  });

  it('a task that retries: RETRY with the attempt error between attempts, then SUCCESS', async () => {
    const taskId = await dispatchPython('reports.flaky', [1]);
    const retrying = await syncUntil(taskId, (s) => s === TaskStatus.RETRY);
    expect(retrying.error).toBe('try 1 failed');
    expect(retrying.traceback).toContain('RuntimeError');
    const row = await syncUntil(taskId, (s) => s === TaskStatus.SUCCESS);
    expect(row).toMatchObject({ result: 'ok after 1 retries', error: null, traceback: null });
  });

  it('a revoked (terminated) task: REVOKED', async () => {
    const taskId = await dispatchPython('reports.slow', [60]);
    await syncUntil(taskId, (s) => s === TaskStatus.STARTED);
    await run(PYTHON, ['send.py', '--revoke', taskId], { cwd: FIXTURES, env });
    const row = await syncUntil(taskId, (s) => s === TaskStatus.REVOKED);
    expect(row.finishedAt).toBeInstanceOf(Date);
  });

  it('mark-timeout leaves a still-running Celery task alone, and times out one Celery no longer knows', async () => {
    const running = await dispatchPython('reports.slow', [8]);
    await syncUntil(running, (s) => s === TaskStatus.STARTED);
    const vanished = randomUUID(); // a run whose Celery result is gone (expired, or the worker never started it)
    await tasks.registerTaskExecution({ taskId: vanished, taskName: 'reports.slow', module: 'python' });
    await tasks.tracker.updateTaskStatus(vanished, TaskStatus.STARTED);
    // Both look dead to us: no sign of life for an hour (Python writes nothing to our table).
    await tasks.tracker.store.db
      .updateTable('agentcore_task_execution')
      .set({ started_at: new Date(Date.now() - 3_600_000), updated_at: new Date(Date.now() - 3_600_000) })
      .where('task_id', 'in', [running, vanished])
      .execute();
    const summary = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(summary.updated_count).toBe(1);
    expect((await tasks.tracker.getTask(running))?.status).toBe(TaskStatus.STARTED);
    expect((await tasks.tracker.getTask(vanished))?.status).toBe(TaskStatus.FAILURE);
    // And it still ends right once the worker is done.
    expect(await syncUntil(running, (s) => s === TaskStatus.SUCCESS)).toMatchObject({ result: 'slept' });
  });
});
