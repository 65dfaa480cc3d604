import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type ExecutionChange, silentLogger } from '../../src/index.js';
import { CLEANUP_STATEMENT_ROWS } from '../../src/maintenance/names.js';
import { readCleanupCutoff } from '../../src/store/cleanup-cutoff.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { backdate, DAY, existing, seedRun, uid } from './helpers.js';

describe.each(DIALECTS)('cleanupOldExecutions on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
      settings: { retentionDays: 30 },
    });
  });
  beforeEach(async () => {
    await tasks.db.deleteFrom('agentcore_task_execution').execute();
    await tasks.settings.reset();
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('deletes old completed runs and keeps newer ones and every unfinished run (onlyCompleted)', async () => {
    const oldCompleted = [
      await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 40 * DAY }),
      await seedRun(tasks, { status: 'FAILURE', createdAgoMs: 31 * DAY }),
      await seedRun(tasks, { status: 'REVOKED', createdAgoMs: 365 * DAY }),
    ];
    const oldUnfinished = [
      await seedRun(tasks, { status: 'PENDING', createdAgoMs: 40 * DAY }),
      await seedRun(tasks, { status: 'STARTED', createdAgoMs: 40 * DAY }),
      await seedRun(tasks, { status: 'RETRY', createdAgoMs: 40 * DAY }),
    ];
    const recent = [
      await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 29 * DAY }),
      await seedRun(tasks, { status: 'FAILURE' }),
    ];
    const before = Date.now();
    const result = await tasks.maintenance.cleanupOldExecutions();
    expect(result).toEqual({
      deleted_count: 3,
      cutoff: expect.any(String),
      retention_days: 30,
      only_completed: true,
    });
    const cutoff = Date.parse(result.cutoff!);
    expect(Math.abs(cutoff - (before - 30 * DAY))).toBeLessThan(5_000);
    expect(await existing(tasks, oldCompleted)).toEqual([]);
    expect(await existing(tasks, [...oldUnfinished, ...recent])).toEqual([...oldUnfinished, ...recent].sort());
  });

  it('stores its cutoff first, only ever raised, and a settings reset keeps it (for the recovery of queue jobs)', async () => {
    const seven = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 7 });
    expect((await readCleanupCutoff(tasks.db))?.toISOString()).toBe(seven.cutoff);
    // A later cleanup with the longer setting has an older cutoff: the stored one stays.
    await tasks.maintenance.cleanupOldExecutions();
    await tasks.settings.reset();
    expect((await readCleanupCutoff(tasks.db))?.toISOString()).toBe(seven.cutoff);
    const three = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 3 });
    expect((await readCleanupCutoff(tasks.db))?.toISOString()).toBe(three.cutoff);
  });

  it('onlyCompleted: false deletes old unfinished runs too', async () => {
    const old = [
      await seedRun(tasks, { status: 'PENDING', createdAgoMs: 10 * DAY }),
      await seedRun(tasks, { status: 'STARTED', createdAgoMs: 10 * DAY }),
      await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 10 * DAY }),
    ];
    const fresh = await seedRun(tasks, { status: 'STARTED' });
    const result = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 7, onlyCompleted: false });
    expect(result).toMatchObject({ deleted_count: 3, retention_days: 7, only_completed: false });
    expect(await existing(tasks, [...old, fresh])).toEqual([fresh]);
  });

  it('the cleanup_only_completed setting is the default, and a run-time override wins', async () => {
    const started = await seedRun(tasks, { status: 'STARTED', createdAgoMs: 100 * DAY });
    await tasks.settings.patch({ cleanup_only_completed: false, retention_days: 50 });
    const result = await tasks.maintenance.cleanupOldExecutions();
    expect(result).toMatchObject({ deleted_count: 1, retention_days: 50, only_completed: false });
    expect(await existing(tasks, [started])).toEqual([]);
  });

  it('retentionDays <= 0 is skipped and deletes nothing', async () => {
    const old = await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 400 * DAY });
    for (const retentionDays of [0, -5]) {
      expect(await tasks.maintenance.cleanupOldExecutions({ retentionDays })).toEqual({
        deleted_count: 0,
        skipped: true,
        reason: 'invalid_retention_days',
        cutoff: null,
        retention_days: retentionDays,
        only_completed: true,
      });
    }
    expect(await existing(tasks, [old])).toEqual([old]);
  });

  it('deletes in batches of batchSize, reporting progress after each', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 60 * DAY }));
    const progress: number[] = [];
    const result = await tasks.maintenance.cleanupOldExecutions({ batchSize: 2, onBatch: (n) => progress.push(n) });
    expect(result.deleted_count).toBe(5);
    expect(progress).toEqual([2, 4, 5]);
    expect(await existing(tasks, ids)).toEqual([]);
    await expect(tasks.maintenance.cleanupOldExecutions({ batchSize: 0 })).rejects.toThrow(/batchSize/);
  });

  it('starts with statements of CLEANUP_STATEMENT_ROWS rows, never crosses a batch, and resumes where it stopped', async () => {
    const n = CLEANUP_STATEMENT_ROWS;
    const old = new Date(Date.now() - 60 * DAY);
    for (let i = 0; i < 5.5 * n; i += 50)
      await tasks.db
        .insertInto('agentcore_task_execution')
        .values(
          Array.from({ length: Math.min(50, 5.5 * n - i) }, (_, k) => ({
            task_id: uid(`bulk-${i + k}`),
            task_name: 'bulk',
            module: 'bulk',
            status: 'SUCCESS',
            created_at: tasks.dialect.toDbDate(old),
            updated_at: tasks.dialect.toDbDate(old),
          })),
        )
        .execute();
    const recent = await seedRun(tasks, { status: 'SUCCESS' });
    // The same database seen through a plugin that times each statement.
    const statements: Array<{ kind: string; started: number; ended: number; rows: number }> = [];
    const starts = new Map<unknown, { kind: string; started: number }>();
    const timer: KyselyPlugin = {
      transformQuery({ node, queryId }) {
        // Only the statements on the runs' table (not the settings read before).
        if (JSON.stringify(node).includes('"agentcore_task_execution"'))
          starts.set(queryId, { kind: node.kind, started: performance.now() });
        return node;
      },
      async transformResult({ result, queryId }) {
        const start = starts.get(queryId);
        if (!start) return result;
        const rows = start.kind === 'DeleteQueryNode' && result.rows.length === 0 ? result.numAffectedRows : undefined;
        statements.push({ ...start, ended: performance.now(), rows: Number(rows ?? result.rows.length) });
        return result;
      },
    };
    const timed = await createAgentcoreTask({
      database: { kysely: tasks.db.withPlugin(timer), dialect },
      logger: silentLogger,
      migrate: false,
      realtime: false,
      settings: { retentionDays: 30 },
    });
    const progress: number[] = [];
    try {
      const result = await timed.maintenance.cleanupOldExecutions({
        batchSize: 2 * n,
        pauseRatio: 3,
        onBatch: (deleted) => progress.push(deleted),
      });
      expect(result.deleted_count).toBe(5.5 * n);
    } finally {
      await timed.close();
    }
    expect(progress).toEqual([2 * n, 4 * n, 5.5 * n]);
    expect(await existing(tasks, [recent])).toEqual([recent]);
    const deletes = statements.filter((s) => s.kind === 'DeleteQueryNode');
    const sizes = deletes.map((d) => d.rows);
    // Gentle first (the pace adapts from there: see pacing.test.ts); the rows add up, each batch ends on its own
    // statement, and the statement that finds fewer rows than it asked for is the last.
    expect(sizes[0]).toBe(n);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5.5 * n);
    let sum = 0;
    for (const size of sizes) {
      expect(Math.floor((sum + size - 1) / (2 * n))).toBe(Math.floor(sum / (2 * n)));
      sum += size;
    }
    await expect(tasks.maintenance.cleanupOldExecutions({ pauseRatio: -1 })).rejects.toThrow(/pauseRatio/);
  });

  it('announces exactly the runs it deleted on the change feed, one deleted change per run', async () => {
    const old = [
      await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 60 * DAY }),
      await seedRun(tasks, { status: 'FAILURE', createdAgoMs: 60 * DAY }),
      await seedRun(tasks, { status: 'REVOKED', createdAgoMs: 60 * DAY }),
      uid('owned'),
    ];
    await tasks.registerTaskExecution({ taskId: old[3], taskName: 't', module: 'm', createdBy: { id: 7 } });
    await tasks.tracker.updateTaskStatus(old[3], 'SUCCESS');
    await backdate(tasks, old[3], { createdAgoMs: 60 * DAY });
    const kept = [
      await seedRun(tasks, { status: 'STARTED', createdAgoMs: 60 * DAY }),
      await seedRun(tasks, { status: 'SUCCESS' }),
    ];
    const rows = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select(['id', 'task_id', 'status', 'created_by_id'])
      .where('task_id', 'in', old)
      .execute();
    expect(rows.map((r) => r.created_by_id).sort()).toEqual(['7', null, null, null]);
    const changes: ExecutionChange[] = [];
    const unsubscribe = tasks.feed.subscribe((c) => changes.push(c));
    try {
      await tasks.maintenance.cleanupOldExecutions({ batchSize: 2 });
    } finally {
      unsubscribe();
    }
    const byTaskId = (x: { task_id: string }, y: { task_id: string }) => x.task_id.localeCompare(y.task_id);
    expect(changes.sort(byTaskId)).toEqual(
      rows.map((r) => ({ kind: 'deleted', ...r, id: Number(r.id) })).sort(byTaskId),
    );
    expect(changes.some((c) => kept.includes(c.task_id))).toBe(false);
  });

  it('the scheduled job records itself (module agentcore_task) and returns the result', async () => {
    await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 60 * DAY });
    const result = await tasks.maintenance.runCleanupJob({ taskId: 'cleanup-run-1' });
    expect(result).toMatchObject({ deleted_count: 1, retention_days: 30, only_completed: true });
    const row = await tasks.tracker.getTask('cleanup-run-1');
    expect(row).toMatchObject({
      taskName: 'cleanup_old_task_executions',
      module: 'agentcore_task',
      status: 'SUCCESS',
      result,
      createdById: null,
    });
    expect(row?.startedAt).toBeInstanceOf(Date);
    expect(row?.finishedAt).toBeInstanceOf(Date);
  });

  it('disabled by the settings, the job is a no-op returning the skipped payload and records nothing', async () => {
    const old = await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 60 * DAY });
    await tasks.settings.patch({ cleanup_enabled: false });
    expect(await tasks.maintenance.runCleanupJob({ taskId: 'cleanup-disabled' })).toEqual({
      skipped: true,
      reason: 'cleanup_disabled',
    });
    expect(await tasks.tracker.getTask('cleanup-disabled')).toBeNull();
    expect(await existing(tasks, [old])).toEqual([old]);
  });

  it('runs under the lock: while cleanup_old_task_executions is held, the job is skipped', async () => {
    const old = await seedRun(tasks, { status: 'SUCCESS', createdAgoMs: 60 * DAY });
    expect(await tasks.locks.acquireTaskLock('cleanup_old_task_executions', 60)).toBe(true);
    try {
      expect(await tasks.maintenance.runCleanupJob({ taskId: 'cleanup-locked' })).toMatchObject({
        success: false,
        status: 'skipped',
        reason: 'task_already_running',
      });
    } finally {
      await tasks.locks.releaseTaskLock('cleanup_old_task_executions');
    }
    expect(await tasks.tracker.getTask('cleanup-locked')).toBeNull();
    expect(await existing(tasks, [old])).toEqual([old]);
  });
});
