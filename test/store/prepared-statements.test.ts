import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  type AgentcoreTaskOptions,
  createAgentcoreTask,
  type Logger,
  silentLogger,
  TaskStatus,
  type TaskStatusValue,
  ValidationError,
} from '../../src/index.js';
import { DEFAULT_POOL_SIZE } from '../../src/store/connect.js';
import { REGISTER_BATCH_SQL, UPDATE_BATCH_SQL } from '../../src/store/postgres/batch.js';
import {
  MAX_PREPARED_STATEMENTS,
  PREPARED_NAME_PREFIX,
  PREPARED_STATEMENTS_ENV,
  prepared,
  preparedName,
} from '../../src/store/postgres/prepared.js';
import { useTestDatabase } from '../helpers/databases.js';

/**
 * Issue 18: the hot PostgreSQL writes (single-run register and update, their batches) go out as named prepared
 * statements, parsed once per connection; nothing else is named; `preparedStatements: false` (or the environment
 * variable) sends none; a server that loses them (DEALLOCATE ALL, a schema change under RETURNING *) costs no write.
 * Observed on the server: `pg_prepared_statements` of the connections.
 */
describe('named prepared statements on postgres', () => {
  const database = useTestDatabase('postgres');
  const opened: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  const open = async (options: AgentcoreTaskOptions = {}) => {
    const tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
      lock: 'database',
      env: {},
      ...options,
    });
    opened.push(tasks);
    return tasks;
  };
  /** A one-connection pool of our own, so `pg_prepared_statements` through it is the library's connection. */
  const onePool = () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    opened.push({ close: () => pool.end() });
    return pool;
  };
  const preparedOn = async (pool: pg.Pool) =>
    (await pool.query<Statement>('select name, statement from pg_prepared_statements order by name')).rows;

  /** Every named statement of every connection of the instance's pool (holds them all at once). */
  const preparedEverywhere = async (tasks: AgentcoreTask) => {
    const found: Statement[] = [];
    let arrived = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    await Promise.all(
      Array.from({ length: DEFAULT_POOL_SIZE }, () =>
        tasks.db.connection().execute(async (connection) => {
          const { rows } = await sql<Statement>`select name, statement from pg_prepared_statements`.execute(connection);
          found.push(...rows);
          if (++arrived === DEFAULT_POOL_SIZE) openGate();
          await gate;
        }),
      ),
    );
    return found;
  };

  /** Writes of every hot kind: awaited one by one (single-run statements), then concurrent (batches). */
  const workload = async (tasks: AgentcoreTask, prefix: string) => {
    for (let i = 0; i < 5; i++) {
      const taskId = `${prefix}-seq-${i}`;
      await tasks.registerTaskExecution({
        taskId,
        taskName: 'reports.build',
        module: 'reports',
        taskArgs: [i],
        taskKwargs: { n: i },
        metadata: { source: 'test' },
        createdBy: i % 2 ? { id: 7, username: 'alice' } : undefined,
        queueName: i === 3 ? 'emails' : undefined,
      });
      await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED, { metadata: { step: 'a', i } });
      await tasks.tracker.reportProgress(taskId, { percent: 40, message: 'half' });
      if (i % 2) await tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: { rows: i } });
      else await tasks.tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, { error: 'boom', traceback: 'at x' });
      // Ignored: a completed run does not go back to STARTED.
      await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
    }
    const ids = Array.from({ length: 60 }, (_, i) => `${prefix}-batch-${i}`);
    await Promise.all(
      ids.map((taskId, i) =>
        tasks.registerTaskExecution({ taskId, taskName: 'emails.send', module: 'emails', taskKwargs: { i } }),
      ),
    );
    await Promise.all(
      ids.map((taskId, i) => tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED, { metadata: { i } })),
    );
    await Promise.all(
      ids.map((taskId, i) =>
        i % 3
          ? tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: i, metadata: { done: true } })
          : tasks.tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, { error: `e${i}` }),
      ),
    );
    return [...Array.from({ length: 5 }, (_, i) => `${prefix}-seq-${i}`), ...ids];
  };

  /** What a run's row holds, without what differs between two identical workloads (id, task id, times). */
  const stored = async (tasks: AgentcoreTask, taskId: string) => {
    const row = await tasks.tracker.getTask(taskId);
    expect(row, taskId).not.toBeNull();
    const { id, taskId: _, createdAt, startedAt, finishedAt, updatedAt, duration, ...rest } = row!;
    return { ...rest, started: startedAt !== null, finished: finishedAt !== null };
  };

  it('sends the hot writes named, each name the hash of its text, and no read or list query', async () => {
    const tasks = await open();
    await workload(tasks, 'named');
    await tasks.tracker.listTaskExecutions({ module: 'reports' }, { pageSize: 5 });
    await tasks.tracker.listTaskExecutions({ search: 'batch', status: TaskStatus.SUCCESS });
    await tasks.tracker.getTaskStats({ granularity: 'day' });
    await tasks.tracker.getTask('named-seq-1');

    const statements = await preparedEverywhere(tasks);
    expect(statements.length).toBeGreaterThan(0);
    for (const { name, statement } of statements) {
      expect(name.startsWith(PREPARED_NAME_PREFIX), name).toBe(true);
      expect(preparedName(statement), statement).toBe(name);
      expect(statement, name).toMatch(/^(insert into|update) "?agentcore_task_execution"?/);
    }
    const texts = new Set(statements.map((s) => s.statement));
    expect(texts.has(REGISTER_BATCH_SQL)).toBe(true);
    // The batch update stays unnamed: its generic plan would be made without its ids (see UPDATE_BATCH_SQL).
    expect(texts.has(UPDATE_BATCH_SQL)).toBe(false);
    expect(preparedName(UPDATE_BATCH_SQL)).toBeUndefined();
    // The single-run register and at least one single-run update template.
    expect([...texts].some((t) => t.startsWith('insert into "agentcore_task_execution"'))).toBe(true);
    expect([...texts].some((t) => t.startsWith('update "agentcore_task_execution"'))).toBe(true);
  });

  it('stores the same rows as unnamed statements', async () => {
    const named = await open();
    const unnamed = await open({ preparedStatements: false });
    const a = await workload(named, 'same-a');
    const b = await workload(unnamed, 'same-b');
    expect(a.length).toBe(b.length);
    for (const [i, taskId] of a.entries()) {
      const row = await stored(named, taskId);
      expect(row, taskId).toEqual(await stored(unnamed, b[i]));
    }
    expect(await stored(named, 'same-a-seq-1')).toMatchObject({
      status: TaskStatus.SUCCESS,
      result: { rows: 1 },
      metadata: { source: 'test', step: 'a', i: 1, progress_percent: 40, progress_message: 'half' },
      createdById: 7,
      started: true,
      finished: true,
    });
    expect(await stored(named, 'same-a-batch-3')).toMatchObject({ status: TaskStatus.FAILURE, error: 'e3' });
  });

  it('sends none with preparedStatements: false, or AGENTCORE_TASK_PREPARED_STATEMENTS=false', async () => {
    const byOption = await open({ preparedStatements: false });
    await workload(byOption, 'off-option');
    expect(await preparedEverywhere(byOption)).toEqual([]);

    const byEnv = await open({ env: { [PREPARED_STATEMENTS_ENV]: 'false' } });
    await workload(byEnv, 'off-env');
    expect(await preparedEverywhere(byEnv)).toEqual([]);

    // The option wins over the variable.
    const forced = await open({ env: { [PREPARED_STATEMENTS_ENV]: 'false' }, preparedStatements: true });
    await workload(forced, 'on-option');
    expect((await preparedEverywhere(forced)).length).toBeGreaterThan(0);
  });

  it('rejects a malformed option or variable, naming it', async () => {
    const bad = (options: AgentcoreTaskOptions) =>
      createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false, env: {}, ...options });
    await expect(bad({ env: { [PREPARED_STATEMENTS_ENV]: 'sometimes' } })).rejects.toMatchObject({
      name: ValidationError.name,
      field: PREPARED_STATEMENTS_ENV,
    });
    await expect(bad({ preparedStatements: 'no' as never })).rejects.toMatchObject({
      name: ValidationError.name,
      field: 'preparedStatements',
    });
  });

  it('names them on a given pg.Pool, and not through a given Kysely instance', async () => {
    const pool = onePool();
    const tasks = await open({ database: pool });
    await tasks.registerTaskExecution({ taskId: 'pool-1', taskName: 'x', module: 'm' });
    await tasks.tracker.updateTaskStatus('pool-1', TaskStatus.STARTED);
    const names = (await preparedOn(pool)).map((s) => s.name);
    expect(names.length).toBe(2);

    const kyselyPool = onePool();
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: kyselyPool }) });
    const viaKysely = await open({ database: kysely });
    await viaKysely.registerTaskExecution({ taskId: 'kysely-1', taskName: 'x', module: 'm' });
    await viaKysely.tracker.updateTaskStatus('kysely-1', TaskStatus.STARTED);
    expect((await viaKysely.tracker.getTask('kysely-1'))?.status).toBe(TaskStatus.STARTED);
    expect(await preparedOn(kyselyPool)).toEqual([]);
  });

  it('writes on after DEALLOCATE ALL: prepares again once, then goes on unnamed, logging each once', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(String(msg)) };
    const pool = onePool();
    const tasks = await open({ database: pool, logger });
    const step = async (n: number, status: TaskStatusValue) => {
      const row = await tasks.tracker.updateTaskStatus('dealloc', status, { metadata: { n } });
      expect(row).toMatchObject({ taskId: 'dealloc', status, metadata: { n } });
    };
    await tasks.registerTaskExecution({ taskId: 'dealloc', taskName: 'x', module: 'm' });
    await step(1, TaskStatus.STARTED);
    const first = await preparedOn(pool);
    expect(first.length).toBe(2);

    // The server forgets them; pg still believes they are there and sends only Bind.
    await pool.query('deallocate all');
    await step(2, TaskStatus.STARTED);
    expect(warnings).toEqual([expect.stringContaining('preparing them again')]);
    const again = await preparedOn(pool);
    expect(again.map((s) => s.name)).toEqual([`${preparedName(again[0].statement)}_1`]);

    // Lost again: the pool gives up on names (the same shape, so pg sends only Bind for it).
    await pool.query('deallocate all');
    await step(3, TaskStatus.STARTED);
    await step(4, TaskStatus.RETRY);
    await tasks.registerTaskExecution({ taskId: 'dealloc-2', taskName: 'x', module: 'm' });
    expect(await preparedOn(pool)).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain('unnamed');
    expect((await tasks.tracker.getTask('dealloc'))?.metadata).toEqual({ n: 4 });
  });

  it('writes on after a column is added under a prepared RETURNING *', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(String(msg)) };
    const pool = onePool();
    const tasks = await open({ database: pool, logger });
    await tasks.registerTaskExecution({ taskId: 'ddl', taskName: 'x', module: 'm' });
    await tasks.tracker.updateTaskStatus('ddl', TaskStatus.STARTED);
    try {
      await pool.query('alter table agentcore_task_execution add column prepared_test_note text');
      // The same shape: its prepared plan returns the old row type, which PostgreSQL refuses to change.
      const row = await tasks.tracker.updateTaskStatus('ddl', TaskStatus.STARTED);
      expect(row).toMatchObject({ taskId: 'ddl', status: TaskStatus.STARTED });
      expect(warnings).toEqual([expect.stringContaining('preparing them again')]);
    } finally {
      await pool.query('alter table agentcore_task_execution drop column if exists prepared_test_note');
    }
  });

  it('names the batch register once for runs of many shapes, the batch update never, one per single-run shape, none past the cap', async () => {
    const pool = onePool();
    const tasks = await open({ database: pool });
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, k) => [`k${k}`, k]));
    const ids = Array.from({ length: 40 }, (_, i) => `shapes-${i}`);
    // One connection: the concurrent writes go out in batches, whatever their shape.
    await Promise.all(ids.map((taskId) => tasks.registerTaskExecution({ taskId, taskName: 'x', module: 'm' })));
    await Promise.all(
      ids.map((taskId, i) =>
        i % 3
          ? tasks.tracker.updateTaskStatus(taskId, i % 2 ? TaskStatus.STARTED : TaskStatus.RETRY, { metadata: keys(i) })
          : tasks.tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, { error: 'e', traceback: 't' }),
      ),
    );
    // At most the first register and update went out alone (single-run statements), all others in the batches: one
    // name for the batch register, none for the batch update, whatever the shapes.
    const afterBatches = (await preparedOn(pool)).map((s) => s.statement);
    expect(afterBatches).toContain(REGISTER_BATCH_SQL);
    expect(afterBatches).not.toContain(UPDATE_BATCH_SQL);
    expect(afterBatches.length).toBeLessThanOrEqual(3);

    // Awaited one by one: the single-run statements, one text per shape of write (not per value or key count).
    const shapes: Array<(taskId: string, n: number) => Promise<unknown>> = [
      (id) => tasks.tracker.updateTaskStatus(id, TaskStatus.STARTED),
      (id, n) => tasks.tracker.updateTaskStatus(id, TaskStatus.STARTED, { metadata: keys(n) }),
      (id) => tasks.tracker.updateTaskStatus(id, TaskStatus.RETRY, { error: 'again' }),
      (id, n) => tasks.tracker.reportProgress(id, { percent: n }),
      (id) => tasks.tracker.heartbeat(id),
      (id, n) => tasks.tracker.updateTaskStatus(id, TaskStatus.SUCCESS, { result: { n }, metadata: keys(n) }),
      (id) => tasks.tracker.updateTaskStatus(id, TaskStatus.FAILURE, { error: 'x', traceback: 'y' }),
      (id) => tasks.tracker.updateTaskStatus(id, TaskStatus.REVOKED),
    ];
    const singles = async (round: number) => {
      for (const [i, shape] of shapes.entries()) await shape(ids[i + round * shapes.length], round + i + 1);
    };
    await singles(0);
    const afterSingles = await preparedOn(pool);
    expect(afterSingles.length).toBeGreaterThan(afterBatches.length);
    expect(afterSingles.length).toBeLessThanOrEqual(afterBatches.length + shapes.length);
    // The same shapes again, with other runs, values and key counts: no new name.
    await singles(1);
    await singles(2);
    expect(await preparedOn(pool)).toEqual(afterSingles);

    // With the cap reached, a text marked later runs unnamed (and still writes).
    for (let i = 0; i <= MAX_PREPARED_STATEMENTS; i++) prepared(`select ${i} as cap_filler`);
    expect(preparedName(`select ${MAX_PREPARED_STATEMENTS} as cap_filler`)).toBeUndefined();
    const row = await tasks.tracker.updateTaskStatus(ids[30], TaskStatus.SUCCESS, {
      result: 1,
      error: 'e',
      traceback: 't',
      metadata: { late: true },
    });
    expect(row).toMatchObject({ status: TaskStatus.SUCCESS, result: 1, error: 'e', metadata: { late: true } });
    expect(await preparedOn(pool)).toEqual(afterSingles);
  });
});

interface Statement {
  name: string;
  statement: string;
}
