import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  silentLogger,
  type TaskExecution,
  TaskStatus,
  type TaskStatusValue,
} from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

let seq = 0;
const id = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

/** A small seeded generator, so a failing sequence can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Write = (tasks: AgentcoreTask, taskId: string) => Promise<unknown>;

/** Every kind of write a run gets, with its fields; `n` makes values differ between writes. */
function randomWrite(next: () => number, n: number): Write {
  const statuses: TaskStatusValue[] = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'];
  const pick = Math.floor(next() * 9);
  if (pick === 6) return (t, taskId) => t.tracker.reportProgress(taskId, { percent: n * 10, message: `step ${n}` });
  if (pick === 7) return (t, taskId) => t.tracker.heartbeat(taskId);
  if (pick === 8)
    return (t, taskId) => t.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { attempt: n, [`k${n}`]: n } });
  const status = statuses[pick]!;
  const fields =
    status === 'SUCCESS'
      ? { result: { n } }
      : status === 'FAILURE' || status === 'RETRY'
        ? { error: `e${n}`, traceback: `tb${n}`, metadata: { attempt: n } }
        : {};
  return (t, taskId) => t.tracker.updateTaskStatus(taskId, status, fields);
}

/** What must be the same whichever way the writes went out. */
function essence(row: TaskExecution | null) {
  if (!row) return null;
  const { status, result, error, traceback, metadata, startedAt, finishedAt } = row;
  return { status, result, error, traceback, metadata, started: startedAt !== null, finished: finishedAt !== null };
}

describe('write batching on postgres', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let pool: pg.Pool;
  let statements = 0;
  const listeners = new Set<(event: { query: { sql: string } }) => void>();

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: database.url, max: 10 });
    pool.on('error', () => {}); // the database is dropped (connections terminated) at the end of the file
    const db = new Kysely({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query' && /^\s*(update|insert)\s/i.test(event.query.sql)) statements++;
        for (const listener of listeners) listener(event);
      },
    });
    tasks = await createAgentcoreTask({
      database: db,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
  });
  afterAll(async () => {
    await tasks?.close();
    await pool?.end();
  });

  it('writes of many runs fired at once go out in few statements, and each run ends as if written one by one', async () => {
    const next = rng(20261125);
    const runs = Array.from({ length: 80 }, (_, i) =>
      Array.from({ length: 1 + Math.floor(next() * 6) }, (_, j) => randomWrite(next, i * 10 + j)),
    );
    const batched = runs.map(() => id('batched'));
    const reference = runs.map(() => id('reference'));
    const register = (taskId: string) =>
      tasks.registerTaskExecution({ taskId, taskName: 'job', module: 'm', queueName: 'q' });
    await Promise.all([...batched, ...reference].map(register));

    // Reference: each write alone, awaited before the next.
    for (const [i, writes] of runs.entries()) for (const write of writes) await write(tasks, reference[i]!);

    // Batched: every write of every run at once (each run's in order).
    const before = statements;
    await Promise.all(runs.flatMap((writes, i) => writes.map((write) => write(tasks, batched[i]!))));
    const used = statements - before;
    const writes = runs.reduce((n, w) => n + w.length, 0);
    expect(used).toBeLessThan(writes / 4);

    for (const [i] of runs.entries()) {
      const [a, b] = await Promise.all([tasks.tracker.getTask(batched[i]!), tasks.tracker.getTask(reference[i]!)]);
      expect(essence(a), `run ${i}`).toEqual(essence(b));
    }
  });

  it('writes of one run folded into one row keep the rules: STARTED then SUCCESS, SUCCESS then STARTED', async () => {
    const [ab, ba] = [id('ab'), id('ba')];
    await Promise.all([ab, ba].map((taskId) => tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm' })));
    const before = statements;
    await Promise.all([
      tasks.tracker.updateTaskStatus(ab, 'STARTED', { metadata: { attempt: 1 } }),
      tasks.tracker.reportProgress(ab, { percent: 50 }),
      tasks.tracker.updateTaskStatus(ab, 'SUCCESS', { result: 'ok' }),
      tasks.tracker.updateTaskStatus(ba, 'SUCCESS', { result: 'ok' }),
      tasks.tracker.updateTaskStatus(ba, 'STARTED', { metadata: { attempt: 2 } }),
    ]);
    // The very first write finds nothing in flight and goes out alone; the other run's writes go out together meanwhile,
    // and the writes waiting behind the first one go out together after it.
    expect(statements - before).toBeLessThanOrEqual(3);
    const a = await tasks.tracker.getTask(ab);
    expect(a).toMatchObject({ status: 'SUCCESS', result: 'ok', metadata: { attempt: 1, progress_percent: 50 } });
    expect(a!.startedAt).not.toBeNull();
    expect(a!.finishedAt).not.toBeNull();
    const b = await tasks.tracker.getTask(ba);
    // Completed first: the late STARTED changes no status and sets no start time, but its metadata merges.
    expect(b).toMatchObject({ status: 'SUCCESS', result: 'ok', metadata: { attempt: 2 }, startedAt: null });
  });

  it('a caller that awaits each write alone goes straight to the single-run statements, never a batch', async () => {
    let batches = 0;
    const count = (event: { query: { sql: string } }) => {
      if (/jsonb_to_recordset/.test(event.query.sql)) batches++;
    };
    const taskIds = Array.from({ length: 20 }, () => id('alone'));
    // Overlapping writes just before (a batch answered its callers) do not keep the next lone caller batching.
    await Promise.all([id('o1'), id('o2'), id('o3')].map((t) => tasks.tracker.updateTaskStatus(t, 'STARTED')));
    await tasks.tracker.updateTaskStatus(id('o4'), 'STARTED');
    await Promise.all([tasks.tracker.updateTaskStatus(id('o5'), 'STARTED'), tasks.tracker.heartbeat(id('o6'))]);
    const before = statements;
    listeners.add(count);
    try {
      for (const taskId of taskIds) {
        await tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm', metadata: { a: 1 } });
        await tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { b: 2, c: 3 } });
        await tasks.tracker.reportProgress(taskId, { percent: 10 });
      }
    } finally {
      listeners.delete(count);
    }
    expect(batches).toBe(0);
    expect(statements - before).toBe(taskIds.length * 3);
    for (const taskId of taskIds)
      expect(await tasks.tracker.getTask(taskId)).toMatchObject({
        status: 'STARTED',
        metadata: { a: 1, b: 2, c: 3, progress_percent: 10 },
      });
    // Overlapping writes still go out together.
    batches = 0;
    listeners.add(count);
    try {
      await Promise.all(taskIds.map((taskId) => tasks.tracker.updateTaskStatus(taskId, 'SUCCESS')));
    } finally {
      listeners.delete(count);
    }
    expect(batches).toBeGreaterThan(0);
  });

  it('concurrent callers that each await their writes keep sharing statements (none breaks away alone)', async () => {
    const workers = 10;
    const rounds = 20;
    const taskIds = Array.from({ length: workers }, () => id('wave'));
    await Promise.all(taskIds.map((taskId) => tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm' })));
    const before = statements;
    await Promise.all(
      taskIds.map(async (taskId) => {
        for (let n = 0; n < rounds; n++) await tasks.tracker.reportProgress(taskId, { percent: n });
      }),
    );
    // About one statement per round of the ten callers (two or three when the rounds drift apart on a loaded
    // machine); callers breaking away alone would take one statement per write (200).
    expect(statements - before).toBeLessThanOrEqual((workers * rounds) / 3);
    for (const taskId of taskIds)
      expect(await tasks.tracker.getTask(taskId)).toMatchObject({ metadata: { progress_percent: rounds - 1 } });
  });

  // A write the database refuses: see batch-refused.test.ts.

  it('a write for a run nobody registered yet still creates it, inside a batch with existing runs', async () => {
    const known = id('known');
    const unknown = id('unknown');
    await tasks.registerTaskExecution({ taskId: known, taskName: 'j', module: 'm' });
    const [a, b] = await Promise.all([
      tasks.tracker.updateTaskStatus(known, 'STARTED'),
      tasks.tracker.updateTaskStatus(unknown, 'STARTED', { metadata: { early: true } }),
    ]);
    expect(a).toMatchObject({ taskId: known, status: 'STARTED' });
    expect(b).toMatchObject({ taskId: unknown, status: 'STARTED', metadata: { early: true }, taskName: '' });
  });
});

describe.each(DIALECTS)('queue-guarded status writes on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it("applies to the queue's own run or a run of no queue; reports another queue's run and a missing one untouched", async () => {
    const [own, none, other, missing] = [id('own'), id('none'), id('other'), id('missing')];
    await tasks.registerTaskExecution({ taskId: own, taskName: 'j', module: 'm', queueName: 'a' });
    await tasks.registerTaskExecution({ taskId: none, taskName: 'j', module: 'm' });
    await tasks.registerTaskExecution({ taskId: other, taskName: 'j', module: 'm', queueName: 'b' });
    const started = { metadata: { attempt: 1 } };
    const results = await Promise.all(
      [own, none, other, missing].map((taskId) => tasks.tracker.recordStatus(taskId, TaskStatus.STARTED, started, 'a')),
    );
    expect(results[0]).toMatchObject({ taskId: own, status: 'STARTED', queueName: 'a', taskName: 'j' });
    expect(results[1]).toMatchObject({ taskId: none, status: 'STARTED' });
    expect(results.slice(2)).toEqual(['unmatched', 'unmatched']);
    expect(await tasks.tracker.getTask(other)).toMatchObject({ status: 'PENDING', metadata: {}, startedAt: null });
    expect(await tasks.tracker.getTask(missing)).toBeNull();
  });
});
