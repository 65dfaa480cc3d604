import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  BackendUnavailableError,
  celerySource,
  combineQueueSources,
  createAgentcoreTask,
  silentLogger,
  useCelerySync,
} from '../../src/index.js';
import { bullmqSource, dispatch } from '../../src/queue/bullmq/index.js';
import { connection, useQueues } from '../bullmq/helpers.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

/**
 * What a Celery 5 worker writes to its Redis result backend with the JSON serializer (celery.backends.base:
 * `_get_result_meta`, `prepare_exception`): the test writes these documents itself, as no Python runs in CI.
 */
const meta = (taskId: string, status: string, result: unknown, traceback: string | null = null) =>
  JSON.stringify({ status, result, traceback, children: [], date_done: new Date().toISOString(), task_id: taskId });

describe('Celery result-backend sync source (sqlite + real Redis)', () => {
  const database = useTestDatabase('sqlite');
  const redis = useQueues();
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

  async function celeryRun(status: string, result: unknown, traceback: string | null = null) {
    const taskId = randomUUID();
    await tasks.registerTaskExecution({ taskId, taskName: 'reports.tasks.build', module: 'reports' });
    await client.set(`${prefix}${taskId}`, meta(taskId, status, result, traceback), 'EX', 600);
    return taskId;
  }

  it('maps Celery states: STARTED, SUCCESS with the result, RECEIVED as PENDING, REVOKED', async () => {
    const started = await celeryRun('STARTED', { pid: 4242, hostname: 'celery@host' });
    expect((await tasks.tracker.syncTask(started))?.status).toBe('STARTED');
    const done = await celeryRun('SUCCESS', { rows: 12 });
    expect(await tasks.tracker.syncTask(done)).toMatchObject({ status: 'SUCCESS', result: { rows: 12 } });
    const received = await celeryRun('RECEIVED', null);
    expect((await tasks.tracker.syncTask(received))?.status).toBe('PENDING');
    const revoked = await celeryRun('REVOKED', {
      exc_type: 'TaskRevokedError',
      exc_message: ['revoked'],
      exc_module: 'celery.exceptions',
    });
    expect(await tasks.tracker.syncTask(revoked)).toMatchObject({ status: 'REVOKED', error: 'revoked' });
  });

  it('FAILURE and RETRY carry the exception message (as str(exc)) and the traceback', async () => {
    const traceback = 'Traceback (most recent call last):\n  File "tasks.py", line 9, in build\nValueError: no rows';
    const failed = await celeryRun(
      'FAILURE',
      { exc_type: 'ValueError', exc_message: ['no rows'], exc_module: 'builtins' },
      traceback,
    );
    expect(await tasks.tracker.syncTask(failed)).toMatchObject({ status: 'FAILURE', error: 'no rows', traceback });
    const retry = await celeryRun(
      'RETRY',
      { exc_type: 'Retry', exc_message: [], exc_module: 'celery.exceptions' },
      traceback,
    );
    expect(await tasks.tracker.syncTask(retry)).toMatchObject({ status: 'RETRY', error: 'Retry' });
  });

  it('a task whose result is gone (expired, never stored) leaves the row as it was; so does a pickled result', async () => {
    const taskId = randomUUID();
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    await tasks.tracker.updateTaskStatus(taskId, 'STARTED');
    const before = await tasks.tracker.getTask(taskId);
    expect((await tasks.tracker.syncTask(taskId))?.updatedAt).toEqual(before?.updatedAt);
    await client.set(`${prefix}${taskId}`, Buffer.from([0x80, 0x04, 0x95, 0x00]), 'EX', 600); // pickle protocol 4
    const after = await tasks.tracker.syncTask(taskId);
    expect(after?.status).toBe('STARTED');
    expect(after?.updatedAt).toEqual(before?.updatedAt);
  });

  it('a completed row is never moved back by a stale Celery state', async () => {
    const taskId = await celeryRun('STARTED', null);
    await tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 1 });
    expect(await tasks.tracker.syncTask(taskId)).toMatchObject({ status: 'SUCCESS', result: 1 });
  });

  it('Redis unreachable: BackendUnavailableError in bounded time', async () => {
    const source = celerySource({ redis: 'redis://127.0.0.1:1', timeoutMs: 500 });
    const row = (await tasks.tracker.getTask(await celeryRun('SUCCESS', 1)))!;
    const started = Date.now();
    await expect(source.getState(row)).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(Date.now() - started).toBeLessThan(3_000);
    await source.close();
  });

  it('combined with BullMQ, each run is read from the queue that knows it', async () => {
    const queue = redis.queue('mixed');
    const combined = combineQueueSources(
      bullmqSource({ connection }),
      celerySource({ redis: client, keyPrefix: prefix }),
    );
    const { job } = await dispatch(tasks, queue, 'node_job', {}, { module: 'mixed' });
    const python = await celeryRun('SUCCESS', 'from python');
    expect(await combined.getState((await tasks.tracker.getTask(String(job.id)))!)).toEqual({ status: 'PENDING' });
    expect(await combined.getState((await tasks.tracker.getTask(python))!)).toEqual({
      status: 'SUCCESS',
      result: 'from python',
    });
    expect(await combined.isActive!((await tasks.tracker.getTask(String(job.id)))!)).toBe(false);
    await combined.close!();
  });
});
