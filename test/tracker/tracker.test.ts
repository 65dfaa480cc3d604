import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

let seq = 0;
const id = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

describe.each(DIALECTS)('tracker on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('registers a run as PENDING with its arguments and creator', async () => {
    const taskId = id('reg');
    const row = await tasks.registerTaskExecution({
      taskId,
      taskName: 'billing.send_invoice',
      module: 'billing',
      taskArgs: [1, 'two'],
      taskKwargs: { invoice: 42 },
      createdBy: { id: 7, username: 'alice' },
      metadata: { source: 'manual_trigger' },
    });
    expect(row).toMatchObject({
      taskId,
      taskName: 'billing.send_invoice',
      module: 'billing',
      status: 'PENDING',
      taskArgs: [1, 'two'],
      taskKwargs: { invoice: 42 },
      createdById: 7,
      createdByUsername: 'alice',
      metadata: { source: 'manual_trigger' },
      startedAt: null,
      finishedAt: null,
      isCompleted: false,
      isRunning: false,
      duration: null,
    });
    const read = await tasks.tracker.getTask(taskId);
    expect(read).toMatchObject({ id: row!.id, createdById: 7, taskKwargs: { invoice: 42 } });
    expect(read!.createdAt).toBeInstanceOf(Date);
  });

  it('keeps string creator ids as strings', async () => {
    const row = await tasks.registerTaskExecution({
      taskId: id('str'),
      taskName: 't',
      module: 'm',
      createdBy: { id: 'user-abc' },
    });
    expect(row!.createdById).toBe('user-abc');
  });

  it('register is idempotent: a second call returns the existing row and changes nothing', async () => {
    const taskId = id('idem');
    const first = await tasks.registerTaskExecution({ taskId, taskName: 'a', module: 'm1', metadata: { k: 1 } });
    const second = await tasks.registerTaskExecution({ taskId, taskName: 'b', module: 'm2', metadata: { k: 2, x: 1 } });
    expect(second!.id).toBe(first!.id);
    expect(second).toMatchObject({ taskName: 'a', module: 'm1', metadata: { k: 1 } });
    expect(second!.metadata).not.toHaveProperty('x');
  });

  it('announces a registration once: a repeated register publishes nothing, a late fill-in is an update', async () => {
    const seen: string[] = [];
    const off = tasks.feed.subscribe((c) => seen.push(`${c.kind}:${c.task_id}`));
    try {
      const a = id('announce');
      const b = id('announce-late');
      await tasks.registerTaskExecution({ taskId: a, taskName: 't', module: 'm' });
      await tasks.registerTaskExecution({ taskId: a, taskName: 't', module: 'm' });
      await tasks.tracker.updateTaskStatus(b, 'STARTED');
      await tasks.registerTaskExecution({ taskId: b, taskName: 't', module: 'm' });
      await tasks.registerTaskExecution({ taskId: b, taskName: 't', module: 'm' });
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.filter((e) => e.endsWith(a))).toEqual([`created:${a}`]);
      expect(seen.filter((e) => e.endsWith(b))).toEqual([`updated:${b}`, `updated:${b}`]);
    } finally {
      off();
    }
  });

  it('initialStatus STARTED sets started_at', async () => {
    const row = await tasks.registerTaskExecution({
      taskId: id('st'),
      taskName: 't',
      module: 'm',
      initialStatus: 'STARTED',
    });
    expect(row!.status).toBe('STARTED');
    expect(row!.startedAt).toBeInstanceOf(Date);
    expect(row!.isRunning).toBe(true);
  });

  it('sets started_at on the first STARTED and finished_at on the first completed status', async () => {
    const taskId = id('ts');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    const started = await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
    expect(started!.startedAt).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 15));
    const again = await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
    expect(again!.startedAt!.getTime()).toBe(started!.startedAt!.getTime());
    const done = await tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: { count: 3 } });
    expect(done).toMatchObject({ status: 'SUCCESS', result: { count: 3 }, isCompleted: true, isRunning: false });
    expect(done!.finishedAt!.getTime()).toBeGreaterThanOrEqual(started!.startedAt!.getTime());
    expect(done!.duration).toBeGreaterThanOrEqual(0.01);
    const first = done!.finishedAt!.getTime();
    await new Promise((r) => setTimeout(r, 15));
    const replaced = await tasks.tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, { error: 'late' });
    expect(replaced!.finishedAt!.getTime()).toBe(first);
  });

  it('merges metadata keys instead of replacing the object', async () => {
    const taskId = id('merge');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', metadata: { a: 1, nested: { x: 1 } } });
    await tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { b: 'two', nested: { y: 2 } } });
    const row = await tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { c: [1, 2], d: null, e: true } });
    expect(row!.metadata).toEqual({ a: 1, b: 'two', nested: { y: 2 }, c: [1, 2], d: null, e: true });
  });

  it('atomic merge: 8 concurrent writers x 50 distinct keys lose nothing', async () => {
    const taskId = id('atomic');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    const writers = Array.from({ length: 8 }, async (_, w) => {
      // separate instances = separate connection pools, as separate workers would be
      const other = await createAgentcoreTask({
        database: database.url,
        logger: silentLogger,
        migrate: false,
        onRecordError: 'throw',
      });
      try {
        await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            other.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { [`w${w}_k${k}`]: k } }),
          ),
        );
      } finally {
        await other.close();
      }
    });
    await Promise.all(writers);
    const row = await tasks.tracker.getTask(taskId);
    expect(Object.keys(row!.metadata)).toHaveLength(400);
    expect(row!.metadata.w7_k49).toBe(49);
  });

  it('order independence: update-before-register ends in the same row as register-before-update', async () => {
    const a = id('order-a');
    const b = id('order-b');
    const reg = (taskId: string) =>
      tasks.registerTaskExecution({
        taskId,
        taskName: 'reports.build',
        module: 'reports',
        taskArgs: [1],
        taskKwargs: { q: 'x' },
        createdBy: { id: 3, username: 'carol' },
        metadata: { source: 'api', progress_percent: 0 },
      });
    const upd = (taskId: string) =>
      tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: { ok: true }, metadata: { progress_percent: 100 } });
    await reg(a);
    await tasks.tracker.updateTaskStatus(a, 'STARTED');
    await upd(a);
    await tasks.tracker.updateTaskStatus(b, 'STARTED');
    await upd(b);
    await reg(b);
    const pick = (r: Awaited<ReturnType<typeof reg>>) => ({
      taskName: r!.taskName,
      module: r!.module,
      status: r!.status,
      taskArgs: r!.taskArgs,
      taskKwargs: r!.taskKwargs,
      createdById: r!.createdById,
      createdByUsername: r!.createdByUsername,
      result: r!.result,
      metadata: r!.metadata,
      started: r!.startedAt !== null,
      finished: r!.finishedAt !== null,
    });
    const rowA = await tasks.tracker.getTask(a);
    const rowB = await tasks.tracker.getTask(b);
    expect(pick(rowB)).toEqual(pick(rowA));
    expect(rowB!.metadata).toEqual({ source: 'api', progress_percent: 100 });
  });

  it('does not regress from a completed status; metadata still merges', async () => {
    const taskId = id('noreg');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    await tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 1 });
    for (const late of ['PENDING', 'STARTED', 'RETRY'] as const) {
      const row = await tasks.tracker.updateTaskStatus(taskId, late, { metadata: { [late]: true }, error: 'nope' });
      expect(row!.status).toBe('SUCCESS');
      expect(row!.error).toBeNull();
      expect(row!.metadata[late]).toBe(true);
    }
  });

  it('a SUCCESS replacing a FAILURE clears error and traceback', async () => {
    const taskId = id('replace');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', initialStatus: 'STARTED' });
    const failed = await tasks.tracker.updateTaskStatus(taskId, 'FAILURE', { error: 'Task timeout', traceback: 'tb' });
    expect(failed).toMatchObject({ status: 'FAILURE', error: 'Task timeout', traceback: 'tb' });
    const ok = await tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 'done' });
    expect(ok).toMatchObject({ status: 'SUCCESS', error: null, traceback: null, result: 'done' });
  });

  it('stores any JS value without throwing (JSON-safe list of SPEC section 5)', async () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const err = new TypeError('bad thing');
    const taskId = id('json');
    await tasks.registerTaskExecution({
      taskId,
      taskName: 't',
      module: 'm',
      taskArgs: [new Date('2026-01-02T03:04:05.678Z'), 10n, undefined, () => 1, Symbol('s'), Number.NaN, Infinity],
      taskKwargs: {
        map: new Map([['a', 1]]),
        set: new Set([1, 2]),
        buf: Buffer.from('hi'),
        u8: new Uint8Array([1, 2]),
      },
    });
    const row = await tasks.tracker.updateTaskStatus(taskId, 'FAILURE', {
      result: { err, circular, gone: undefined, fn: () => 1 },
      metadata: { when: new Date(0), big: 2n ** 70n },
    });
    expect(row!.taskArgs).toEqual(['2026-01-02T03:04:05.678Z', '10', null, null, null, null, null]);
    expect(row!.taskKwargs).toEqual({ map: { a: 1 }, set: [1, 2], buf: 'aGk=', u8: 'AQI=' });
    const result = row!.result as Record<string, any>;
    expect(result.err).toMatchObject({ name: 'TypeError', message: 'bad thing' });
    expect(result.err.stack).toContain('bad thing');
    expect(result.circular).toEqual({ name: 'loop', self: { _truncated: true, reason: 'cycle' } });
    expect(result).not.toHaveProperty('gone');
    expect(result).not.toHaveProperty('fn');
    expect(row!.metadata).toEqual({ when: '1970-01-01T00:00:00.000Z', big: '1180591620717411303424' });
  });

  it('stores a payload larger than maxPayloadBytes as a truncation marker', async () => {
    const small = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      migrate: false,
      maxPayloadBytes: 1000,
    });
    try {
      const taskId = id('trunc');
      const row = await small.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 'x'.repeat(5000) });
      expect(row!.result).toEqual({ _truncated: true, bytes: 5002 });
    } finally {
      await small.close();
    }
  });

  it('reportProgress writes the progress keys, clamps the percent, and leaves the status alone', async () => {
    const taskId = id('progress');
    await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', initialStatus: 'STARTED' });
    const row = await tasks.tracker.reportProgress(taskId, {
      percent: 140,
      message: 'Parsing…',
      step: 'parse',
      rows: 3,
    });
    expect(row!.status).toBe('STARTED');
    expect(row!.metadata).toMatchObject({
      progress_percent: 100,
      progress_message: 'Parsing…',
      progress_step: 'parse',
      rows: 3,
    });
    const low = await tasks.tracker.reportProgress(taskId, { percent: -5 });
    expect(low!.metadata.progress_percent).toBe(0);
    await tasks.tracker.updateTaskStatus(taskId, 'SUCCESS');
    const after = await tasks.tracker.reportProgress(taskId, { percent: 50 });
    expect(after!.status).toBe('SUCCESS');
  });

  it('heartbeat sets only updated_at; every write moves updated_at', async () => {
    const taskId = id('hb');
    const reg = await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', initialStatus: 'STARTED' });
    await new Promise((r) => setTimeout(r, 20));
    expect(await tasks.tracker.heartbeat(taskId)).toBe(true);
    const after = await tasks.tracker.getTask(taskId);
    expect(after!.updatedAt.getTime()).toBeGreaterThan(reg!.updatedAt.getTime());
    expect({ ...after, updatedAt: 0, duration: 0 }).toEqual({ ...reg, updatedAt: 0, duration: 0 });
    expect(await tasks.tracker.heartbeat(id('unknown'))).toBe(false);
  });

  it('rejects an unknown status with a typed error naming the field (onRecordError: throw)', async () => {
    await expect(tasks.tracker.updateTaskStatus(id('bad'), 'DONE' as never)).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'status',
    });
  });

  it('with the default onRecordError a bad write is logged and resolves null', async () => {
    const lenient = await createAgentcoreTask({ database: database.url, logger: silentLogger, migrate: false });
    try {
      expect(await lenient.tracker.updateTaskStatus('', 'SUCCESS')).toBeNull();
    } finally {
      await lenient.close();
    }
  });

  it('unfinished runs for sync: running ones first, so a backlog of waiting runs cannot hide them', async () => {
    const waiting: string[] = [];
    for (let i = 0; i < 5; i++) {
      const taskId = id('backlog');
      waiting.push(taskId);
      await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'unfinished' });
    }
    const started = id('left-started');
    await tasks.registerTaskExecution({ taskId: started, taskName: 't', module: 'unfinished' });
    await tasks.tracker.updateTaskStatus(started, TaskStatus.STARTED);
    // However many older waiting runs the database holds (earlier tests left some), a running one is picked first.
    const pickedFirst = (await tasks.tracker.store.unfinished(1)).map((r) => r.status);
    expect(pickedFirst).toEqual([TaskStatus.STARTED]);
    const three = await tasks.tracker.store.unfinished(1000);
    const mine = three.filter((r) => r.module === 'unfinished').map((r) => r.taskId);
    expect(mine).toEqual([started, ...waiting]);
  });
});
