/**
 * A status write that loses a deadlock is retried, not lost. Another transaction holds the aggregate rows the write's
 * trigger needs, then waits for the run's row the write holds: the database aborts one of the two, and when it picks
 * the tracker's statement (PostgreSQL: the one that waited first; MySQL/MariaDB: the lighter one), the write must
 * still land once the other commits. Before, a deadlock counted as a refused write: logged and dropped, the run left
 * STARTED.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type Logger, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A transaction on its own connection, outside the library. */
interface Other {
  run(sql: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

async function otherConnection(dialect: 'postgres' | 'mysql', url: string): Promise<Other> {
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return { run: (text, params) => client.query(text, params), close: () => client.end() };
  }
  const conn = await mysql.createConnection(url.replace(/^mariadb:/, 'mysql:'));
  return { run: (text, params) => conn.query(text, params), close: () => conn.end() };
}

for (const dialect of ['postgres', 'mysql'] as const) {
  describe(`a write that loses a deadlock on ${dialect}`, () => {
    const database = useTestDatabase(dialect);
    let tasks: AgentcoreTask;
    const problems: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (_o, msg) => problems.push(`warn: ${msg}`),
      error: (_o, msg) => problems.push(`error: ${msg}`),
    };

    beforeAll(async () => {
      tasks = await createAgentcoreTask({ database: database.url, logger, realtime: false, onRecordError: 'throw' });
    });
    afterAll(async () => {
      await tasks?.close();
    });

    it('is retried and lands when the other transaction commits', { timeout: 30_000 }, async () => {
      const taskId = `deadlock-${Date.now()}`;
      await tasks.registerTaskExecution({ taskId, taskName: 'job', module: 'm', createdBy: { id: 7 } });
      await tasks.tracker.updateTaskStatus(taskId, 'STARTED');
      const other = await otherConnection(dialect, database.url);
      try {
        if (dialect === 'mysql') await other.run('create table if not exists deadlock_ballast (n int)');
        await other.run(dialect === 'postgres' ? 'begin' : 'start transaction');
        // MySQL/MariaDB abort the transaction that changed fewer rows: make the other one the heavier.
        if (dialect === 'mysql')
          await other.run(
            `insert into deadlock_ballast (n) values ${Array.from({ length: 500 }, (_, i) => `(${i})`).join(',')}`,
          );
        // Hold every aggregate row (MySQL: and the gaps between them, so no new one can be inserted either).
        await other.run(
          dialect === 'postgres'
            ? 'lock table agentcore_task_stats in exclusive mode'
            : 'select * from agentcore_task_stats for update',
        );
        // The tracker's write locks the run's row, then its trigger waits for the aggregate rows.
        const write = tasks.tracker.updateTaskStatus(taskId, 'SUCCESS', { result: { ok: true } });
        write.catch(() => {}); // awaited below
        await sleep(300);
        // Now the other transaction wants the run's row: a cycle. MySQL/MariaDB see it at once and abort the lighter
        // transaction (the tracker's); PostgreSQL after deadlock_timeout (1 s), in the session that waited first.
        await other.run(
          dialect === 'postgres'
            ? 'update agentcore_task_execution set updated_at = updated_at where task_id = $1'
            : 'update agentcore_task_execution set updated_at = updated_at where task_id = ?',
          [taskId],
        );
        await other.run('commit');
        await write;
      } finally {
        await other.run('rollback').catch(() => {});
        await other.close();
      }
      expect(await tasks.tracker.flush(20_000)).toBe(true);
      expect(await tasks.tracker.getTask(taskId)).toMatchObject({ status: 'SUCCESS', result: { ok: true } });
      const stats = await tasks.tracker.getTaskStats({ module: 'm' });
      expect([stats.total, stats.success, stats.started]).toEqual([1, 1, 0]);
      // The lost round was retried, not reported as a refused write.
      expect(problems).toEqual([]);
    });
  });
}
