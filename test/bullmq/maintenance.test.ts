import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type Logger, silentLogger } from '../../src/index.js';
import { createMaintenanceWorker, scheduleMaintenance, taskIdOf } from '../../src/queue/bullmq/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { connection, useQueues, waitFor } from './helpers.js';

const DAY = 86_400_000;
const MINUTE = 60_000;

describe('maintenance on BullMQ (postgres)', () => {
  const database = useTestDatabase('postgres');
  const redis = useQueues();
  let tasks: AgentcoreTask;
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (_o, msg) => warnings.push(String(msg)) };

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger, onRecordError: 'throw', realtime: 'memory' });
  });
  beforeEach(async () => {
    await tasks.settings.reset();
    await tasks.db.deleteFrom('agentcore_task_execution').execute();
    warnings.length = 0;
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('scheduleMaintenance(queue) alone schedules from the environment and code settings', async () => {
    const queue = redis.queue('schedules-env');
    const applied = await scheduleMaintenance(queue, {
      settings: { markTimeoutEnabled: false, cleanupCrontab: '0 5 * * *' },
    });
    expect(applied).toEqual({
      cleanup: {
        id: 'agentcore-task-cleanup-old-executions',
        taskName: 'cleanup_old_task_executions',
        pattern: '0 5 * * *',
      },
      markTimeout: null,
    });
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toEqual(['agentcore-task-cleanup-old-executions']);
  });

  it('scheduleMaintenance upserts the two job schedulers with the seed ids and the crontabs (UTC)', async () => {
    const queue = redis.queue('schedules');
    const applied = await scheduleMaintenance(tasks, queue);
    expect(applied).toEqual({
      cleanup: {
        id: 'agentcore-task-cleanup-old-executions',
        taskName: 'cleanup_old_task_executions',
        pattern: '0 2 * * *',
      },
      markTimeout: {
        id: 'agentcore-task-mark-timed-out-executions',
        taskName: 'mark_timed_out_task_executions',
        pattern: '*/30 * * * *',
      },
    });
    const schedulers = await queue.getJobSchedulers();
    const byId = Object.fromEntries(schedulers.map((s) => [s.key, s]));
    expect(byId['agentcore-task-cleanup-old-executions']).toMatchObject({
      name: 'cleanup_old_task_executions',
      pattern: '0 2 * * *',
      tz: 'UTC',
    });
    expect(byId['agentcore-task-mark-timed-out-executions']).toMatchObject({
      name: 'mark_timed_out_task_executions',
      pattern: '*/30 * * * *',
    });
    // Each scheduler has its next run waiting as a delayed job with the task name.
    const delayed = await queue.getDelayed();
    expect(delayed.map((j) => j.name).sort()).toEqual([
      'cleanup_old_task_executions',
      'mark_timed_out_task_executions',
    ]);
    // Upserting again changes nothing.
    await scheduleMaintenance(tasks, queue);
    expect(await queue.getJobSchedulersCount()).toBe(2);
  });

  it('an invalid crontab becomes an interval (with a warning); disabling removes the scheduler', async () => {
    const queue = redis.queue('fallback');
    await tasks.settings.patch({ cleanup_beat_interval_hours: 6 });
    // Run-time overrides are validated, so an invalid crontab can only come from code or the environment.
    const invalid = await createAgentcoreTask({
      database: database.url,
      logger,
      migrate: false,
      realtime: false,
      settings: { cleanupCrontab: 'every night', markTimeoutCrontab: '99 * * * *' },
    });
    try {
      const applied = await scheduleMaintenance(invalid, queue);
      expect(applied.cleanup).toMatchObject({ every: 6 * 3_600_000 });
      expect(applied.markTimeout).toMatchObject({ every: 3_600_000 });
      const byId = Object.fromEntries((await queue.getJobSchedulers()).map((s) => [s.key, s]));
      expect(byId['agentcore-task-cleanup-old-executions']).toMatchObject({ every: 6 * 3_600_000 });
      expect(byId['agentcore-task-mark-timed-out-executions']).toMatchObject({ every: 3_600_000 });
      expect(warnings.filter((w) => w.includes('not a valid 5-field crontab'))).toHaveLength(2);

      await tasks.settings.patch({ cleanup_enabled: false });
      expect(await scheduleMaintenance(invalid, queue)).toMatchObject({ cleanup: null });
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['agentcore-task-mark-timed-out-executions']);
      await tasks.settings.patch({ mark_timeout_enabled: false });
      expect(await scheduleMaintenance(invalid, queue)).toEqual({ cleanup: null, markTimeout: null });
      expect(await queue.getJobSchedulersCount()).toBe(0);
      expect(await queue.getDelayedCount()).toBe(0);
    } finally {
      await invalid.close();
    }
  });

  it('createMaintenanceWorker runs the jobs, each recorded under its job id, with the skipped payload when disabled', async () => {
    const queue = redis.queue('worker');
    const worker = redis.worker(await createMaintenanceWorker(tasks, { connection, queueName: queue.name }));
    await tasks.registerTaskExecution({ taskId: 'ancient', taskName: 't', module: 'm' });
    await tasks.tracker.updateTaskStatus('ancient', 'SUCCESS');
    await tasks.db
      .updateTable('agentcore_task_execution')
      .set({ created_at: new Date(Date.now() - 90 * DAY) })
      .where('task_id', '=', 'ancient')
      .execute();
    await tasks.registerTaskExecution({ taskId: 'stuck', taskName: 't', module: 'm', initialStatus: 'STARTED' });
    await tasks.db
      .updateTable('agentcore_task_execution')
      .set({ started_at: new Date(Date.now() - 60 * MINUTE), updated_at: new Date(Date.now() - 60 * MINUTE) })
      .where('task_id', '=', 'stuck')
      .execute();

    const cleanup = await queue.add('cleanup_old_task_executions', {});
    const mark = await queue.add('mark_timed_out_task_executions', { timeoutMinutes: 15 });
    const cleanupRow = await waitFor('cleanup recorded', async () => {
      const r = await tasks.tracker.getTask(taskIdOf(cleanup));
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(cleanupRow).toMatchObject({
      taskName: 'cleanup_old_task_executions',
      module: 'agentcore_task',
      queueName: queue.name,
      result: { deleted_count: 1, retention_days: 30, only_completed: true },
    });
    const markRow = await waitFor('mark recorded', async () => {
      const r = await tasks.tracker.getTask(taskIdOf(mark));
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(markRow.result).toMatchObject({ updated_count: 1, timeout_minutes: 15 });
    expect(await tasks.tracker.getTask('ancient')).toBeNull();
    expect((await tasks.tracker.getTask('stuck'))?.status).toBe('FAILURE');
    // BullMQ has the same result as the job's return value.
    expect((await queue.getJob(String(cleanup.id)))?.returnvalue).toEqual(cleanupRow.result);

    await tasks.settings.patch({ cleanup_enabled: false });
    const skipped = await queue.add('cleanup_old_task_executions', {});
    await waitFor('skipped job done', async () => (await queue.getJob(String(skipped.id)))?.returnvalue);
    expect((await queue.getJob(String(skipped.id)))?.returnvalue).toEqual({
      skipped: true,
      reason: 'cleanup_disabled',
    });
    expect(await tasks.tracker.getTask(taskIdOf(skipped))).toBeNull();

    const unknown = await queue.add('drop_tables', {});
    await waitFor('unknown job failed', async () => (await unknown.getState()) === 'failed');
    await worker.close();
  });

  it('a manual maintenance job whose counter id a run of another queue holds is recorded as <queue>:<id>', async () => {
    const queue = redis.queue('worker-collide');
    await tasks.registerTaskExecution({ taskId: '1', taskName: 'app_job', module: 'app', queueName: 'app-queue' });
    const worker = redis.worker(await createMaintenanceWorker(tasks, { connection, queueName: queue.name }));
    const job = await queue.add('cleanup_old_task_executions', {});
    expect(job.id).toBe('1');
    const row = await waitFor('cleanup recorded', async () => {
      const r = await tasks.tracker.getTask(`${queue.name}:1`);
      return r?.status === 'SUCCESS' ? r : null;
    });
    expect(row).toMatchObject({ taskName: 'cleanup_old_task_executions', queueName: queue.name });
    expect(await tasks.tracker.getTask('1')).toMatchObject({ taskName: 'app_job', status: 'PENDING', result: null });
    expect(warnings.some((w) => w.includes(`as task_id "${queue.name}:1"`))).toBe(true);
    await worker.close();
  });
});
