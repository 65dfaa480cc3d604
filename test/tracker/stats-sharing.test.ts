/**
 * `getTaskStats` and the list's count: identical requests at the same time share one count (at most two at a time:
 * one running, one waiting); each caller gets its own copy; every answer is counted after its request arrived, so it
 * sees every write committed before it asked, even while an older identical count is still running.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

describe('stats requests share the counting in flight', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let pool: pg.Pool;
  let reads = 0;
  /** While set, a read of the aggregates is answered only once this gate opens (it ran before, on its snapshot). */
  let gate: Promise<void> | null = null;
  /** Reads of the aggregates that have run in the database (counted before the gate). */
  let ran = 0;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: database.url, max: 10 });
    pool.on('error', () => {});
    // A slow answer, for real: the query runs (its snapshot taken) and its rows come back only when the gate opens.
    const held = {
      connect: async () => {
        const client = await pool.connect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        return Object.assign(Object.create(client), {
          query: async (...args: unknown[]) => {
            const result = await query(...args);
            const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text);
            if (/agentcore_task_stats/.test(text) && /^\s*select/i.test(text)) {
              ran++;
              if (gate) await gate;
            }
            return result;
          },
          release: () => client.release(),
        });
      },
      end: () => Promise.resolve(),
    };
    const db = new Kysely({
      dialect: new PostgresDialect({ pool: held as never }),
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
    // The first request counts; the nine that came while it ran share the next count.
    expect(reads - before).toBe(2);
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

  it('a request made while an older identical count runs gets a count made after it asked', async () => {
    let open!: () => void;
    gate = new Promise<void>((r) => {
      open = r;
    });
    const before = ran;
    try {
      const older = tasks.tracker.getTaskStats({ module: 'm', taskName: 'b' });
      const olderList = tasks.tracker.listTaskExecutions({ module: 'm', taskName: 'b' });
      await vi.waitFor(() => expect(ran - before).toBe(2), { timeout: 5000 });
      // Committed after the older counts took their snapshots, before the newer requests ask.
      await tasks.registerTaskExecution({ taskId: 'share-between', taskName: 'b', module: 'm' });
      const newer = tasks.tracker.getTaskStats({ module: 'm', taskName: 'b' });
      const newerList = tasks.tracker.listTaskExecutions({ module: 'm', taskName: 'b' });
      open();
      gate = null;
      const [o, n, ol, nl] = await Promise.all([older, newer, olderList, newerList]);
      expect(n.total).toBe(o.total + 1);
      expect(nl.count).toBe(ol.count + 1);
      expect(nl.results.map((r) => r.taskId)).toContain('share-between');
    } finally {
      open();
      gate = null;
    }
  });

  it('identical concurrent lists count once or twice, not once each, and agree', async () => {
    const before = reads;
    const pages = await Promise.all(
      Array.from({ length: 10 }, () => tasks.tracker.listTaskExecutions({ module: 'm' }, { pageSize: 2 })),
    );
    expect(reads - before).toBe(2);
    for (const page of pages) expect(page.count).toBe(pages[0]!.count);
    const { rows } = await pool.query("select count(*)::int as n from agentcore_task_execution where module = 'm'");
    expect(pages[0]!.count).toBe(rows[0].n);
  });

  it('a failed count is not kept: the next request tries again', async () => {
    await expect(tasks.tracker.getTaskStats({ status: 'NOPE' as never })).rejects.toThrow(/status/);
    await expect(tasks.tracker.getTaskStats({ status: 'NOPE' as never })).rejects.toThrow(/status/);
    expect((await tasks.tracker.getTaskStats({ module: 'm' })).total).toBe(7);
  });
});
