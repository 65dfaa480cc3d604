import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const OLD_ROWS = 200_000;

describe('cleanup of a large table while writers keep inserting (postgres)', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let writer: pg.Client;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
    writer = new pg.Client({ connectionString: database.url });
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.end();
    await tasks?.close();
  });

  it('deletes 200,000 old rows in batches and loses none of the rows inserted meanwhile', {
    timeout: 120_000,
  }, async () => {
    // One statement for the old rows: 60 days old, completed.
    await writer.query(
      `insert into agentcore_task_execution
         (task_id, task_name, module, status, created_at, started_at, finished_at, updated_at)
       select 'old-' || g, 'bulk.old', 'bulk', 'SUCCESS',
              now() - interval '60 days', now() - interval '60 days', now() - interval '60 days', now() - interval '60 days'
       from generate_series(1, ${OLD_ROWS}) g`,
    );
    await writer.query('analyze agentcore_task_execution');

    // Another connection keeps inserting new runs (completed too: only their age protects them) until told to stop.
    let inserted = 0;
    let insertedDuringCleanup = 0;
    let cleaning = true;
    let stop = false;
    let slowest = 0;
    const inserter = (async () => {
      while (!stop) {
        const started = Date.now();
        await writer.query(
          `insert into agentcore_task_execution (task_id, task_name, module, status, created_at, updated_at)
           values ($1, 'bulk.new', 'bulk', 'SUCCESS', now(), now())`,
          [`new-${inserted + 1}`],
        );
        slowest = Math.max(slowest, Date.now() - started);
        inserted++;
        if (cleaning) insertedDuringCleanup++;
      }
    })();

    const batches: number[] = [];
    const result = await tasks.maintenance.cleanupOldExecutions({
      retentionDays: 30,
      onBatch: (n) => batches.push(n),
    });
    cleaning = false;
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await inserter;

    expect(result).toMatchObject({ deleted_count: OLD_ROWS, retention_days: 30, only_completed: true });
    expect(batches).toHaveLength(OLD_ROWS / 5_000);
    expect(batches[batches.length - 1]).toBe(OLD_ROWS);
    const counts = await writer.query<{ old: string; new: string }>(
      `select count(*) filter (where task_id like 'old-%') as old,
              count(*) filter (where task_id like 'new-%') as new
       from agentcore_task_execution`,
    );
    expect(Number(counts.rows[0].old)).toBe(0);
    expect(Number(counts.rows[0].new)).toBe(inserted);
    // The writer really ran alongside the cleanup, and no insert waited long behind a delete.
    expect(insertedDuringCleanup).toBeGreaterThan(50);
    expect(slowest).toBeLessThan(2_000);
  });
});
