/**
 * `ExecutionStore.backdate`: the recorder writes some runs from a read of the queue well after the job ran (after a
 * gap, or for events the stream never delivered) and then moves the run's times to the job's own. Only ever earlier,
 * never within the tolerance, `started_at` filled in when empty; the stats aggregates follow a moved `created_at`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { BACKDATE_TOLERANCE_MS } from '../../src/store/execution-store.js';
import { expectAggregatesExact } from '../helpers/aggregates.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

const HOUR = 3_600_000;

describe.each(DIALECTS)('backdate on %s', (dialectName) => {
  const database = useTestDatabase(dialectName);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
      env: {},
    });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('moves times earlier only, fills an empty started_at, and keeps the aggregates exact', async () => {
    const store = tasks.tracker.store;
    // A run registered and finished "now" (as a late write would be), never started.
    await tasks.registerTaskExecution({ taskId: 'late-1', taskName: 'late.task', module: 'late' });
    await tasks.tracker.updateTaskStatus('late-1', TaskStatus.SUCCESS, { result: 1 });
    const written = await tasks.tracker.getTask('late-1');
    expect(written?.startedAt).toBeNull();
    const finished = written!.finishedAt!.getTime();
    const created = written!.createdAt.getTime();

    // Later times, or earlier ones within the tolerance: nothing changes.
    expect(
      await store.backdate('late-1', {
        createdAt: new Date(created + 5_000),
        finishedAt: new Date(finished - BACKDATE_TOLERANCE_MS / 2),
      }),
    ).toBe(false);
    expect((await tasks.tracker.getTask('late-1'))?.finishedAt?.getTime()).toBe(finished);

    // The job's own times, two hours back (another hourly bucket): all three move.
    const added = new Date(Math.floor(created / HOUR) * HOUR - 2 * HOUR + 1_000);
    const started = new Date(added.getTime() + 2_000);
    const ended = new Date(added.getTime() + 7_000);
    expect(await store.backdate('late-1', { createdAt: added, startedAt: started, finishedAt: ended })).toBe(true);
    const moved = await tasks.tracker.getTask('late-1');
    expect(moved?.createdAt.getTime()).toBe(added.getTime());
    expect(moved?.startedAt?.getTime()).toBe(started.getTime());
    expect(moved?.finishedAt?.getTime()).toBe(ended.getTime());
    expect(moved?.status).toBe(TaskStatus.SUCCESS);

    // A started_at already earlier stays; a later one is not taken.
    expect(await store.backdate('late-1', { startedAt: new Date(started.getTime() + 60_000) })).toBe(false);
    expect((await tasks.tracker.getTask('late-1'))?.startedAt?.getTime()).toBe(started.getTime());
    // Unknown task id: nothing.
    expect(await store.backdate('nobody', { createdAt: added })).toBe(false);

    // The run moved to another hour: the hourly and daily counts moved with it.
    await expectAggregatesExact(tasks.db as never);
    const stats = await tasks.tracker.getTaskStats({
      startDate: new Date(Math.floor(added.getTime() / HOUR) * HOUR).toISOString(),
      endDate: new Date(Math.floor(added.getTime() / HOUR) * HOUR + HOUR).toISOString(),
    });
    expect(stats.success).toBe(1);
  });
});
