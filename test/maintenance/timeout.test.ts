import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type ExecutionChange,
  type QueueSource,
  silentLogger,
  type TaskExecution,
} from '../../src/index.js';
import { runCli } from '../cli/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { MINUTE, seedRun } from './helpers.js';

const TIMEOUT_MESSAGE =
  /^Task timeout \(exceeded 10 minutes, started before (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\)$/;

/**
 * A queue source of our own for the cases a real queue cannot stage on demand. It is a second implementation of the
 * `QueueSource` interface, not a stand-in for a database (the BullMQ source is tested against Redis in test/bullmq).
 */
class ScriptedQueue implements QueueSource {
  constructor(private readonly isActiveFn: (execution: TaskExecution) => Promise<boolean>) {}
  async getState() {
    return null;
  }
  isActive(execution: TaskExecution) {
    return this.isActiveFn(execution);
  }
}

describe.each(DIALECTS)('markTimedOutExecutions on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
      settings: { timeoutMinutes: 10 },
    });
  });
  beforeEach(async () => {
    tasks.tracker.queueSource = undefined;
    await tasks.db.deleteFrom('agentcore_task_execution').execute();
    await tasks.settings.reset();
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('marks a STARTED run with no sign of life past the timeout as FAILURE, with the seed message and finished_at', async () => {
    const dead = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 30 * MINUTE, updatedAgoMs: 25 * MINUTE });
    const changes: ExecutionChange[] = [];
    const unsubscribe = tasks.feed.subscribe((c) => changes.push(c));
    const before = Date.now();
    const result = await tasks.maintenance.markTimedOutExecutions();
    unsubscribe();
    expect(result).toEqual({
      updated_count: 1,
      timeout_minutes: 10,
      cutoff: expect.any(String),
      synced_count: 0,
      synced_updated_count: 0,
    });
    expect(Math.abs(Date.parse(result.cutoff!) - (before - 10 * MINUTE))).toBeLessThan(5_000);
    const row = await tasks.tracker.getTask(dead);
    expect(row?.status).toBe('FAILURE');
    expect(row?.error).toMatch(TIMEOUT_MESSAGE);
    expect(row?.error).toBe(`Task timeout (exceeded 10 minutes, started before ${result.cutoff})`);
    expect(row?.finishedAt?.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(row?.isCompleted).toBe(true);
    // Readers of the live stream learn about it.
    expect(changes).toContainEqual(expect.objectContaining({ task_id: dead, status: 'FAILURE', kind: 'updated' }));
  });

  it('does not mark a long run that keeps showing signs of life (heartbeat), however long ago it started', async () => {
    const alive = await seedRun(tasks, {
      status: 'STARTED',
      startedAgoMs: 3 * 60 * MINUTE,
      updatedAgoMs: 3 * 60 * MINUTE,
    });
    await tasks.tracker.heartbeat(alive);
    const result = await tasks.maintenance.markTimedOutExecutions();
    expect(result.updated_count).toBe(0);
    expect((await tasks.tracker.getTask(alive))?.status).toBe('STARTED');
  });

  it('leaves runs that started recently, and runs in other states, alone', async () => {
    const recent = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 5 * MINUTE, updatedAgoMs: 5 * MINUTE });
    const others = [
      await seedRun(tasks, { status: 'PENDING', createdAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE }),
      await seedRun(tasks, { status: 'RETRY', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE }),
      await seedRun(tasks, { status: 'SUCCESS', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE }),
    ];
    expect((await tasks.maintenance.markTimedOutExecutions()).updated_count).toBe(0);
    expect((await tasks.tracker.getTask(recent))?.status).toBe('STARTED');
    expect((await Promise.all(others.map((id) => tasks.tracker.getTask(id)))).map((r) => r?.status)).toEqual([
      'PENDING',
      'RETRY',
      'SUCCESS',
    ]);
  });

  it('timeoutMinutes overrides the setting; a fractional value is rejected', async () => {
    const run = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 8 * MINUTE, updatedAgoMs: 8 * MINUTE });
    expect((await tasks.maintenance.markTimedOutExecutions()).updated_count).toBe(0);
    const result = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 5 });
    expect(result).toMatchObject({ updated_count: 1, timeout_minutes: 5 });
    expect((await tasks.tracker.getTask(run))?.error).toMatch(/^Task timeout \(exceeded 5 minutes, started before /);
    await expect(tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 1.5 })).rejects.toThrow(/timeoutMinutes/);
  });

  it('a timeout of zero or less marks nothing and answers skipped, as the Django module does', async () => {
    const run = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    let asked = 0;
    tasks.tracker.queueSource = new ScriptedQueue(async () => {
      asked++;
      return false;
    });
    for (const timeoutMinutes of [0, -1]) {
      expect(await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes })).toEqual({
        updated_count: 0,
        skipped: true,
        reason: 'invalid_timeout_minutes',
        timeout_minutes: timeoutMinutes,
        cutoff: null,
        synced_count: 0,
        synced_updated_count: 0,
      });
    }
    expect(asked).toBe(0);
    expect((await tasks.tracker.getTask(run))?.status).toBe('STARTED');
  });

  it('the scheduled job with a timeout setting of 0 (environment) records a no-op SUCCESS, not a failure', async () => {
    const run = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    const zero = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      env: { AGENTCORE_TASK_TIMEOUT_MINUTES: '0' },
    });
    try {
      const result = await zero.maintenance.runMarkTimeoutJob({ taskId: 'mark-zero' });
      expect(result).toMatchObject({ updated_count: 0, skipped: true, reason: 'invalid_timeout_minutes' });
      expect(await zero.tracker.getTask('mark-zero')).toMatchObject({ status: 'SUCCESS', result });
    } finally {
      await zero.close();
    }
    expect((await tasks.tracker.getTask(run))?.status).toBe('STARTED');
  });

  it('does not mark a run the queue reports active, even with no heartbeat (instrumented workers send none)', async () => {
    const active = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    const dead = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    tasks.tracker.queueSource = new ScriptedQueue(async (e) => e.taskId === active);
    const result = await tasks.maintenance.markTimedOutExecutions();
    expect(result.updated_count).toBe(1);
    expect((await tasks.tracker.getTask(active))?.status).toBe('STARTED');
    expect((await tasks.tracker.getTask(dead))?.status).toBe('FAILURE');
  });

  it('a queue that cannot say whether a run is active leaves the run for the next pass', async () => {
    const run = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    tasks.tracker.queueSource = new ScriptedQueue(async () => {
      throw new Error('redis down');
    });
    expect((await tasks.maintenance.markTimedOutExecutions()).updated_count).toBe(0);
    expect((await tasks.tracker.getTask(run))?.status).toBe('STARTED');
  });

  it('never overwrites a SUCCESS (or a heartbeat) that lands after the run was selected', async () => {
    const completes = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    const revives = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    // Between the selection and the UPDATE (while the queue is asked), the worker reports in.
    tasks.tracker.queueSource = new ScriptedQueue(async (e) => {
      if (e.taskId === completes) await tasks.tracker.updateTaskStatus(completes, 'SUCCESS', { result: { ok: true } });
      if (e.taskId === revives) await tasks.tracker.heartbeat(revives);
      return false;
    });
    const result = await tasks.maintenance.markTimedOutExecutions();
    expect(result.updated_count).toBe(0);
    expect(await tasks.tracker.getTask(completes)).toMatchObject({
      status: 'SUCCESS',
      error: null,
      result: { ok: true },
    });
    expect((await tasks.tracker.getTask(revives))?.status).toBe('STARTED');
  });

  it('a real SUCCESS arriving after the timeout mark replaces the FAILURE and clears the error', async () => {
    const late = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    await tasks.maintenance.markTimedOutExecutions();
    await tasks.tracker.updateTaskStatus(late, 'SUCCESS', { result: 1 });
    expect(await tasks.tracker.getTask(late)).toMatchObject({ status: 'SUCCESS', error: null, result: 1 });
  });

  it('marks many runs (more than one page of candidates)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await seedRun(tasks, { status: 'STARTED' }));
    await tasks.db
      .updateTable('agentcore_task_execution')
      .set({
        started_at: tasks.dialect.toDbDate(new Date(Date.now() - 90 * MINUTE)),
        updated_at: tasks.dialect.toDbDate(new Date(Date.now() - 90 * MINUTE)),
      })
      .where('task_id', 'in', ids)
      .execute();
    expect((await tasks.maintenance.markTimedOutExecutions()).updated_count).toBe(30);
  });

  it('the scheduled job syncs, marks, records itself; disabled it is a no-op with the skipped payload', async () => {
    const dead = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    const result = await tasks.maintenance.runMarkTimeoutJob({ taskId: 'mark-run-1' });
    expect(result).toMatchObject({ updated_count: 1, timeout_minutes: 10 });
    expect(await tasks.tracker.getTask('mark-run-1')).toMatchObject({
      taskName: 'mark_timed_out_task_executions',
      module: 'agentcore_task',
      status: 'SUCCESS',
      result,
    });
    expect((await tasks.tracker.getTask(dead))?.status).toBe('FAILURE');

    const another = await seedRun(tasks, { status: 'STARTED', startedAgoMs: 60 * MINUTE, updatedAgoMs: 60 * MINUTE });
    await tasks.settings.patch({ mark_timeout_enabled: false });
    expect(await tasks.maintenance.runMarkTimeoutJob({ taskId: 'mark-disabled' })).toEqual({
      skipped: true,
      reason: 'mark_timeout_disabled',
    });
    expect(await tasks.tracker.getTask('mark-disabled')).toBeNull();
    expect((await tasks.tracker.getTask(another))?.status).toBe('STARTED');
  });
});

describe('mark-timeout command with a timeout setting of 0', () => {
  const database = useTestDatabase('sqlite');

  it('says it skipped, exits 0, and --json carries the skipped answer', async () => {
    const migrated = await runCli(['migrate', '--database', database.url]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const env = { AGENTCORE_TASK_TIMEOUT_MINUTES: '0' };
    const [text, asJson] = await Promise.all([
      runCli(['mark-timeout', '--database', database.url], env),
      runCli(['mark-timeout', '--json', '--database', database.url], env),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Skipped: timeout of 0 minutes is not positive; no run was marked\.$/m);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ skipped: true, reason: 'invalid_timeout_minutes', cutoff: null });
  });
});
