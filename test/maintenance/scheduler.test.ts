import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type Logger, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const EVERY_SECOND = '* * * * * *';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function recordingLogger() {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(String(msg)) };
  return { logger, warnings };
}

async function maintenanceRuns(tasks: AgentcoreTask, taskName: string) {
  const rows = await tasks.db
    .selectFrom('agentcore_task_execution')
    .select(['task_id', 'status', 'metadata'])
    .where('task_name', '=', taskName)
    .orderBy('task_id')
    .execute();
  return rows.map((r) => ({
    taskId: r.task_id,
    status: r.status,
    metadata: tasks.dialect.parseJson(r.metadata) as Record<string, unknown>,
  }));
}

describe('maintenance schedules (postgres)', () => {
  const database = useTestDatabase('postgres');
  const open: AgentcoreTask[] = [];
  const instance = async (settings: Record<string, unknown> = {}, logger: Logger = silentLogger) => {
    const tasks = await createAgentcoreTask({
      database: database.url,
      logger,
      onRecordError: 'throw',
      // Each instance's feed sees only its own writes: that is how the test tells which instance ran a job.
      realtime: 'memory',
      lock: 'database',
      settings,
    });
    open.push(tasks);
    return tasks;
  };
  let reader: AgentcoreTask;

  beforeAll(async () => {
    reader = await instance();
  });
  afterEach(async () => {
    await Promise.all(open.filter((t) => t !== reader).map((t) => t.close()));
    open.splice(0, open.length, reader);
    await reader.db.deleteFrom('agentcore_task_execution').execute();
    await reader.settings.reset();
  });
  afterAll(async () => {
    await reader?.close();
  });

  it('getCleanupSchedule / getMarkTimeoutSchedule return the cron entries with the seed ids and task names', async () => {
    expect(await reader.getCleanupSchedule()).toEqual([
      { id: 'agentcore-task-cleanup-old-executions', taskName: 'cleanup_old_task_executions', pattern: '0 2 * * *' },
    ]);
    expect(await reader.getMarkTimeoutSchedule()).toEqual([
      {
        id: 'agentcore-task-mark-timed-out-executions',
        taskName: 'mark_timed_out_task_executions',
        pattern: '*/30 * * * *',
      },
    ]);
  });

  it('an invalid crontab falls back to the interval with a warning (cleanupBeatIntervalHours, intervalHours, 1 h)', async () => {
    const { logger, warnings } = recordingLogger();
    const tasks = await instance(
      { cleanupCrontab: 'not a cron', markTimeoutCrontab: '61 * * * *', cleanupBeatIntervalHours: 6 },
      logger,
    );
    expect(await tasks.getCleanupSchedule()).toEqual([
      { id: 'agentcore-task-cleanup-old-executions', taskName: 'cleanup_old_task_executions', every: 6 * 3_600_000 },
    ]);
    expect(await tasks.getCleanupSchedule({ intervalHours: 12 })).toEqual([
      expect.objectContaining({ every: 12 * 3_600_000 }),
    ]);
    expect(await tasks.getMarkTimeoutSchedule()).toEqual([
      { id: 'agentcore-task-mark-timed-out-executions', taskName: 'mark_timed_out_task_executions', every: 3_600_000 },
    ]);
    expect(warnings.some((w) => w.includes('AGENTCORE_TASK_CLEANUP_CRONTAB') && w.includes('every 6 hour'))).toBe(true);
    expect(warnings.some((w) => w.includes('AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB') && w.includes('every 1 hour'))).toBe(
      true,
    );
  });

  it('disabled jobs have no schedule entry', async () => {
    await reader.settings.patch({ cleanup_enabled: false, mark_timeout_enabled: false });
    expect(await reader.getCleanupSchedule()).toEqual([]);
    expect(await reader.getMarkTimeoutSchedule()).toEqual([]);
  });

  it('two startScheduler() instances on a per-second test pattern run each tick once, not twice', async () => {
    const a = await instance();
    const b = await instance();
    // Every SUCCESS update either instance writes: a job that ran twice for a tick would be completed twice. (A
    // register that finds the row already there publishes it too, as 'created': not counted.)
    const completions: string[] = [];
    for (const t of [a, b])
      t.feed.subscribe((c) => c.kind === 'updated' && c.status === 'SUCCESS' && completions.push(c.task_id));
    const patterns = {
      overridePatterns: { cleanup_old_task_executions: EVERY_SECOND, mark_timed_out_task_executions: EVERY_SECOND },
    };
    const stops = await Promise.all([a.startScheduler(patterns), b.startScheduler(patterns)]);
    await sleep(3_300);
    await Promise.all(stops.map((stop) => stop()));
    expect(completions.length).toBeGreaterThanOrEqual(4);
    expect(completions.length).toBe(new Set(completions).size);
    for (const taskName of ['cleanup_old_task_executions', 'mark_timed_out_task_executions']) {
      const runs = await maintenanceRuns(reader, taskName);
      const ticks = runs.map((r) => r.metadata.scheduled_at as string);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      // One row per tick, each tick a distinct whole second, and every run finished.
      expect(new Set(ticks).size).toBe(runs.length);
      for (const tick of ticks) expect(tick).toMatch(/T\d\d:\d\d:\d\d\.000Z$/);
      expect(runs.every((r) => r.status === 'SUCCESS')).toBe(true);
      expect(runs.every((r) => r.taskId.endsWith(r.metadata.scheduled_at as string))).toBe(true);
    }
  });

  it('the same tick run concurrently from two instances runs once; run again later it is skipped as already run', async () => {
    const a = await instance();
    const b = await instance();
    const scheduledAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const taskId = `agentcore-task-cleanup-old-executions@${scheduledAt.toISOString()}`;
    const results = await Promise.all([
      a.maintenance.runCleanupJob({ taskId, scheduledAt }),
      b.maintenance.runCleanupJob({ taskId, scheduledAt }),
    ]);
    const ran = results.filter((r) => 'deleted_count' in r);
    expect(ran).toHaveLength(1);
    expect(results.filter((r) => !('deleted_count' in r))).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/^(task_already_running|already_run)$/) }),
    ]);
    expect(await b.maintenance.runCleanupJob({ taskId, scheduledAt })).toEqual({
      skipped: true,
      reason: 'already_run',
    });
    expect(await maintenanceRuns(reader, 'cleanup_old_task_executions')).toHaveLength(1);
  });

  it('disabled by the settings, startScheduler schedules nothing', async () => {
    const tasks = await instance({ cleanupEnabled: false, markTimeoutEnabled: false });
    const stop = await tasks.startScheduler({
      overridePatterns: { cleanup_old_task_executions: EVERY_SECOND, mark_timed_out_task_executions: EVERY_SECOND },
    });
    await sleep(1_500);
    await stop();
    expect(await maintenanceRuns(reader, 'cleanup_old_task_executions')).toEqual([]);
    expect(await maintenanceRuns(reader, 'mark_timed_out_task_executions')).toEqual([]);
  });

  it('a switch turned off at run time stops the schedule at the next refresh', async () => {
    const tasks = await instance();
    const stop = await tasks.startScheduler({
      refreshIntervalMs: 200,
      overridePatterns: { cleanup_old_task_executions: EVERY_SECOND, mark_timed_out_task_executions: EVERY_SECOND },
    });
    await sleep(1_300);
    await tasks.settings.patch({ cleanup_enabled: false });
    await sleep(400); // the refresh picks the change up
    const before = (await maintenanceRuns(reader, 'cleanup_old_task_executions')).length;
    await sleep(1_300);
    const after = (await maintenanceRuns(reader, 'cleanup_old_task_executions')).length;
    const marks = (await maintenanceRuns(reader, 'mark_timed_out_task_executions')).length;
    await stop();
    expect(before).toBeGreaterThanOrEqual(1);
    expect(after).toBe(before);
    expect(marks).toBeGreaterThanOrEqual(2);
  });

  it('close() stops the scheduler: no run after it', async () => {
    const tasks = await instance();
    await tasks.startScheduler({ overridePatterns: { cleanup_old_task_executions: EVERY_SECOND } });
    await sleep(1_200);
    await tasks.close();
    const count = (await maintenanceRuns(reader, 'cleanup_old_task_executions')).length;
    await sleep(1_300);
    expect((await maintenanceRuns(reader, 'cleanup_old_task_executions')).length).toBe(count);
  });
});
