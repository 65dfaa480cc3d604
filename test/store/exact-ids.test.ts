import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

/**
 * Issue 13 item 3: a task id, a lock name and every identifier column compare exactly (case and trailing spaces) on
 * every database. MariaDB's default collation is case-insensitive and PAD SPACE, so before migration 0003 `report-42 `
 * found `Report-42`'s row.
 */
describe.each(DIALECTS)('exact identifiers on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
      lock: 'database',
    });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  // Ids that one case-insensitive or PAD SPACE comparison would merge, each registered by its own user.
  const runs = [
    { taskId: 'Report-42', user: 'bob' },
    { taskId: 'report-42', user: 'alice' },
    { taskId: 'report-42 ', user: 'alice ' },
    { taskId: 'REPORT-42 ', user: 'carol' },
  ];

  it('registers ids differing only in case or trailing space as separate runs, each with its own arguments', async () => {
    for (const [i, run] of runs.entries()) {
      const row = await tasks.registerTaskExecution({
        taskId: run.taskId,
        taskName: 'reports.build',
        module: 'reports',
        taskArgs: [run.user, i],
        taskKwargs: { owner: run.user },
        createdBy: { id: run.user, username: run.user },
        metadata: { requested_by: run.user },
      });
      expect(row, run.taskId).toMatchObject({ taskId: run.taskId, taskArgs: [run.user, i], createdById: run.user });
    }
    const ids = new Set<number>();
    for (const [i, run] of runs.entries()) {
      const read = await tasks.tracker.getTask(run.taskId);
      expect(read, JSON.stringify(run.taskId)).toMatchObject({
        taskId: run.taskId,
        taskArgs: [run.user, i],
        taskKwargs: { owner: run.user },
        createdById: run.user,
        createdByUsername: run.user,
      });
      ids.add(read!.id);
    }
    expect(ids.size).toBe(runs.length);
    // A registration repeated with the same id is still one row (the unique index holds, exactly).
    const again = await tasks.registerTaskExecution({ taskId: 'report-42 ', taskName: 'other', module: 'other' });
    expect(again).toMatchObject({ taskId: 'report-42 ', taskName: 'reports.build', createdById: 'alice ' });
    // Ids no run has: near misses find nothing.
    for (const miss of ['REPORT-42', 'Report-42 ', 'report-42  ', ' report-42'])
      expect(await tasks.tracker.getTask(miss), JSON.stringify(miss)).toBeNull();
  });

  it('an update to one of them changes only that run', async () => {
    const updated = await tasks.tracker.updateTaskStatus('REPORT-42 ', TaskStatus.SUCCESS, {
      result: { by: 'carol' },
      metadata: { done: true },
    });
    expect(updated).toMatchObject({ taskId: 'REPORT-42 ', status: 'SUCCESS', result: { by: 'carol' } });
    await tasks.tracker.updateTaskStatus('report-42', TaskStatus.FAILURE, { error: 'alice failed' });
    const rows = await Promise.all(runs.map((r) => tasks.tracker.getTask(r.taskId)));
    expect(rows.map((r) => [r!.taskId, r!.status, r!.error, r!.result])).toEqual([
      ['Report-42', 'PENDING', null, null],
      ['report-42', 'FAILURE', 'alice failed', null],
      ['report-42 ', 'PENDING', null, null],
      ['REPORT-42 ', 'SUCCESS', null, { by: 'carol' }],
    ]);
    expect(rows.map((r) => r!.metadata.done ?? null)).toEqual([null, null, null, true]);
  });

  it('identifier filters are exact; search stays case-insensitive; metadata filters still match', async () => {
    const list = async (filters: Parameters<AgentcoreTask['tracker']['listTaskExecutions']>[0]) =>
      (await tasks.tracker.listTaskExecutions(filters, { pageSize: 50 })).results.map((r) => r.taskId).sort();
    await tasks.registerTaskExecution({ taskId: 'case-a', taskName: 'Reports.Build', module: 'Reports' });
    await tasks.registerTaskExecution({ taskId: 'case-b', taskName: 'reports.build ', module: 'reports ' });

    expect(await list({ createdById: 'alice' })).toEqual(['report-42']);
    expect(await list({ createdById: 'alice ' })).toEqual(['report-42 ']);
    expect(await list({ createdById: 'Bob' })).toEqual([]);
    expect(await list({ module: 'Reports' })).toEqual(['case-a']);
    expect(await list({ module: 'reports ' })).toEqual(['case-b']);
    expect(await list({ taskName: 'reports.build' })).toHaveLength(runs.length);
    expect(await list({ taskName: 'Reports.Build' })).toEqual(['case-a']);

    // `search` is a case-insensitive substring of task_name or task_id on every database.
    expect(await list({ search: 'REPORT-4' })).toEqual(runs.map((r) => r.taskId).sort());
    expect(await list({ search: 'report-42 ' })).toEqual(['REPORT-42 ', 'report-42 '].sort());
    expect(await list({ search: 'REPORTS.BUILD' })).toHaveLength(runs.length + 2);
    expect(await list({ search: 'CASE-' })).toEqual(['case-a', 'case-b']);

    expect(await list({ metadata: { requested_by: 'carol' } })).toEqual(['REPORT-42 ']);
    expect(await list({ metadata: { requested_by: 'bob' } })).toEqual(['Report-42']);
    expect(await list({ metadata: { requested_by: 'Bob' } })).toEqual([]);
    // Metadata values compare exactly too (MariaDB's JSON text is utf8mb4_bin, PAD SPACE).
    expect(await list({ metadata: { requested_by: 'alice' } })).toEqual(['report-42']);
    expect(await list({ metadata: { requested_by: 'alice ' } })).toEqual(['report-42 ']);
    expect(await list({ metadata: { requested_by: 'bob ' } })).toEqual([]);
  });

  it('stats group names that differ only in case or trailing space separately', async () => {
    const stats = await tasks.tracker.getTaskStats();
    expect(Object.keys(stats.by_module).sort()).toEqual(['Reports', 'reports', 'reports '].sort());
    expect(stats.by_module.reports.total).toBe(runs.length);
    expect(Object.keys(stats.by_task_name).sort()).toEqual(['Reports.Build', 'reports.build', 'reports.build '].sort());
  });

  it('lock names differing only in case or trailing space are independent locks', async () => {
    const names = ['Lock-A', 'lock-a', 'lock-a ', 'LOCK-A '];
    try {
      for (const name of names) expect(await tasks.locks.acquireTaskLock(name, 60), JSON.stringify(name)).toBe(true);
      for (const name of names) expect(await tasks.locks.isTaskLocked(name)).toBe(true);
      expect(await tasks.locks.isTaskLocked('LOCK-A')).toBe(false);
      expect(
        (await tasks.locks.listLocks())
          .map((l) => l.name)
          .filter((n) => /^lock-a/i.test(n))
          .sort(),
      ).toHaveLength(names.length);
      // Releasing one leaves the others held.
      expect(await tasks.locks.releaseTaskLock('lock-a')).toBe(true);
      expect(await tasks.locks.isTaskLocked('lock-a')).toBe(false);
      for (const name of ['Lock-A', 'lock-a ', 'LOCK-A ']) expect(await tasks.locks.isTaskLocked(name)).toBe(true);
      // Held by this instance, so a second acquire of the same exact name is refused; a near miss is free.
      expect(await tasks.locks.acquireTaskLock('lock-a ', 60)).toBe(false);
      expect(await tasks.locks.acquireTaskLock('lock-a  ', 60)).toBe(true);
      names.push('lock-a  ');
    } finally {
      for (const name of names) await tasks.locks.releaseTaskLock(name, { force: true });
    }
    expect(await tasks.locks.listLocks()).toEqual([]);
  });
});
