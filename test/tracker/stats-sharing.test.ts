/**
 * `getTaskStats`: identical requests that arrive while one is being counted share its queries; each caller gets its
 * own copy; a request made after the answer came runs its own queries and sees the writes made meanwhile.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

describe('stats requests share the counting in flight', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let pool: pg.Pool;
  let reads = 0;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: database.url, max: 10 });
    pool.on('error', () => {});
    const db = new Kysely({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (
          event.level === 'query' &&
          /agentcore_task_stats/.test(event.query.sql) &&
          /^\s*select/i.test(event.query.sql)
        )
          reads++;
      },
    });
    tasks = await createAgentcoreTask({ database: db, logger: silentLogger, realtime: false });
    for (let i = 0; i < 5; i++)
      await tasks.registerTaskExecution({ taskId: `share-${i}`, taskName: i % 2 ? 'a' : 'b', module: 'm' });
  });
  afterAll(async () => {
    await tasks?.close();
    await pool?.end();
  });

  it('ten identical concurrent requests read the aggregates once and get equal, separate answers', async () => {
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 10 }, () => tasks.tracker.getTaskStats({ module: 'm' })));
    expect(reads - before).toBe(1);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(new Set(answers).size).toBe(10);
    expect(answers[0]!.total).toBe(5);
    // A caller changing its copy changes no other caller's.
    answers[1]!.by_task_name.a!.total = 999;
    expect(answers[2]!.by_task_name.a!.total).toBe(2);
  });

  it('different requests are not shared', async () => {
    const before = reads;
    const [all, onlyA] = await Promise.all([
      tasks.tracker.getTaskStats({ module: 'm' }),
      tasks.tracker.getTaskStats({ module: 'm', taskName: 'a' }),
    ]);
    expect(reads - before).toBe(2);
    expect([all.total, onlyA.total]).toEqual([5, 2]);
  });

  it('a request after the answer came counts again and sees the new run', async () => {
    const first = await tasks.tracker.getTaskStats({ module: 'm' });
    await tasks.registerTaskExecution({ taskId: 'share-late', taskName: 'a', module: 'm' });
    const second = await tasks.tracker.getTaskStats({ module: 'm' });
    expect(second.total).toBe(first.total + 1);
  });

  it('a failed count is not kept: the next request tries again', async () => {
    await expect(tasks.tracker.getTaskStats({ status: 'NOPE' as never })).rejects.toThrow(/status/);
    await expect(tasks.tracker.getTaskStats({ status: 'NOPE' as never })).rejects.toThrow(/status/);
    expect((await tasks.tracker.getTaskStats({ module: 'm' })).total).toBe(6);
  });
});
