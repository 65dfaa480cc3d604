/**
 * A write the database refuses fails alone: the run's other writes, and every other run's writes that went out in the
 * same statement, still land, in order. The refusal comes from a trigger installed on the test database (a write whose
 * `error` is `'poison'`, whose metadata has a `poison` key or whose task name is `poison`), so the test does not depend
 * on which values the library itself cleans up.
 */
import Sqlite from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type Logger } from '../../src/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

let seq = 0;
const id = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

/** Installs the trigger that refuses poisoned writes (on insert and update). */
async function installPoison(dialect: DialectName, url: string): Promise<void> {
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`create or replace function agentcore_test_poison() returns trigger language plpgsql as $$
      begin
        if new.error = 'poison' or new.metadata ? 'poison' or new.task_name = 'poison' then
          raise exception 'poisoned write of %', new.task_id;
        end if;
        return new;
      end $$`);
    await client.query(`create trigger agentcore_test_poison before insert or update on agentcore_task_execution
      for each row execute function agentcore_test_poison()`);
    await client.end();
  } else if (dialect === 'mysql') {
    const conn = await mysql.createConnection(url);
    for (const event of ['insert', 'update'])
      await conn.query(`create trigger agentcore_test_poison_${event} before ${event} on agentcore_task_execution
        for each row begin
          if new.error = 'poison' or json_contains_path(new.metadata, 'one', '$.poison') or new.task_name = 'poison' then
            signal sqlstate '45000' set message_text = 'poisoned write';
          end if;
        end`);
    await conn.end();
  } else {
    const lite = new Sqlite(url.replace(/^sqlite:/, ''));
    for (const event of ['insert', 'update'])
      lite.exec(`create trigger agentcore_test_poison_${event} before ${event} on agentcore_task_execution
        when new.error = 'poison' or json_type(new.metadata, '$.poison') is not null or new.task_name = 'poison'
        begin select raise(abort, 'poisoned write'); end`);
    lite.close();
  }
}

/** A logger that keeps what it is given. */
function recordingLogger() {
  const entries: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const keep = (level: string) => (obj: unknown, msg?: string) =>
    entries.push({ level, obj: (obj ?? {}) as Record<string, unknown>, msg });
  const logger: Logger = { debug() {}, info() {}, warn: keep('warn'), error: keep('error') };
  return { logger, entries };
}

describe.each(DIALECTS)('a write the database refuses fails alone on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let logged: ReturnType<typeof recordingLogger>;
  let pool: pg.Pool | undefined;
  let batchStatements = 0;

  beforeAll(async () => {
    logged = recordingLogger();
    let db: unknown = database.url;
    if (dialect === 'postgres') {
      // Our own pool, to count the batch statements (the folded path must be the one under test).
      const { Kysely, PostgresDialect } = await import('kysely');
      pool = new pg.Pool({ connectionString: database.url, max: 10 });
      pool.on('error', () => {}); // the database is dropped (connections terminated) at the end of the file
      db = new Kysely({
        dialect: new PostgresDialect({ pool }),
        log: (event) => {
          // Counted whether the database took it or refused it.
          if (/jsonb_to_recordset/.test(event.query.sql)) batchStatements++;
        },
      });
    }
    tasks = await createAgentcoreTask({
      database: db as string,
      logger: logged.logger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    await installPoison(dialect, database.url);
  });
  afterAll(async () => {
    await tasks?.close();
    await pool?.end();
  });

  it('a refused progress write and a SUCCESS of the same run in the same tick: the SUCCESS lands', async () => {
    const taskId = id('same-tick');
    await tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm' });
    const before = batchStatements;
    // The first write goes out alone; the three behind it fold into one row of one batch statement (PostgreSQL).
    const outcomes = await Promise.allSettled([
      tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { step: 1 } }),
      tasks.tracker.reportProgress(taskId, { percent: 40, poison: true }),
      tasks.tracker.reportProgress(taskId, { percent: 50 }),
      tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: 'ok' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    if (dialect === 'postgres') expect(batchStatements).toBeGreaterThan(before);
    const row = await tasks.tracker.getTask(taskId);
    expect(row).toMatchObject({ status: 'SUCCESS', result: 'ok', metadata: { step: 1, progress_percent: 50 } });
    expect(row!.metadata).not.toHaveProperty('poison');
    expect(row!.finishedAt).not.toBeNull();
    const log = logged.entries.find((e) => e.obj.taskId === taskId);
    expect(log, 'the refusal is logged naming the run').toBeDefined();
    // The batcher knows which write it was and the fields it wrote; the run-by-run queue (MariaDB, SQLite) names the run.
    if (dialect === 'postgres') expect(log!.obj.fields).toEqual(['metadata.poison', 'metadata.progress_percent']);
  });

  it('a refused status write folded between others: the writes before and after it land', async () => {
    const taskId = id('between');
    await tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm' });
    // (A later write that overwrote the poisoned value in the fold would hide it from the database: none here does.)
    const outcomes = await Promise.allSettled([
      tasks.tracker.updateTaskStatus(taskId, 'STARTED'),
      tasks.tracker.updateTaskStatus(taskId, 'RETRY', { error: 'poison', metadata: { attempt: 1 } }),
      tasks.tracker.reportProgress(taskId, { percent: 10 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const row = await tasks.tracker.getTask(taskId);
    expect(row).toMatchObject({ status: 'STARTED', error: null, metadata: { progress_percent: 10 } });
    expect(row!.metadata).not.toHaveProperty('attempt');
    expect(logged.entries.some((e) => e.obj.taskId === taskId)).toBe(true);
  });

  it('one refused write among 50 other runs: all 50 land, each run in order', async () => {
    const ids = Array.from({ length: 51 }, () => id('crowd'));
    const bad = ids[17]!;
    await Promise.all(ids.map((taskId) => tasks.registerTaskExecution({ taskId, taskName: 'j', module: 'm' })));
    const before = batchStatements;
    const calls = ids.flatMap((taskId, i) => [
      tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { n: 1 } }),
      tasks.tracker.reportProgress(taskId, { n: 2, ...(taskId === bad ? { poison: 1 } : {}) }),
      tasks.tracker.reportProgress(taskId, { n: 3, message: `m${i}` }),
      tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: { i } }),
      // After the run completed: changes only metadata (the order of writes decides what is stored).
      tasks.tracker.updateTaskStatus(taskId, 'STARTED', { metadata: { n: 4 } }),
    ]);
    const outcomes = await Promise.allSettled(calls);
    const rejected = outcomes.flatMap((o, n) => (o.status === 'rejected' ? [n] : []));
    expect(rejected).toEqual([17 * 5 + 1]);
    if (dialect === 'postgres') expect(batchStatements).toBeGreaterThan(before);
    const rows = await Promise.all(ids.map((taskId) => tasks.tracker.getTask(taskId)));
    for (const [i, row] of rows.entries()) {
      expect(row, `run ${i}`).toMatchObject({
        status: 'SUCCESS',
        result: { i },
        metadata: { n: 4, progress_message: `m${i}` },
      });
      expect(row!.metadata, `run ${i}`).not.toHaveProperty('poison');
    }
    expect(logged.entries.filter((e) => e.obj.taskId === bad)).toHaveLength(1);
    expect(logged.entries.some((e) => ids.includes(e.obj.taskId as string) && e.obj.taskId !== bad)).toBe(false);
  });

  it('one refused registration among others: the others are created, the refused one is not', async () => {
    const ids = Array.from({ length: 20 }, () => id('reg'));
    const outcomes = await Promise.allSettled(
      ids.map((taskId, i) => tasks.registerTaskExecution({ taskId, taskName: i === 7 ? 'poison' : 'j', module: 'm' })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(ids.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')));
    const rows = await Promise.all(ids.map((taskId) => tasks.tracker.getTask(taskId)));
    expect(rows.map((r) => r?.taskName ?? null)).toEqual(ids.map((_, i) => (i === 7 ? null : 'j')));
    expect(logged.entries.some((e) => e.obj.taskId === ids[7])).toBe(true);
  });
});
