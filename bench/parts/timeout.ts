/**
 * Part 7 — mark-timeout. `stale` STARTED runs with no sign of life for an hour beside as many fresh STARTED runs (the
 * issue's 10,000 + 10,000) and four times as many finished and waiting runs of many users and task names, in
 * PostgreSQL with the library's schema (its indexes and stats triggers). The time to beat is what the Django module does: one raw `UPDATE … WHERE status = 'STARTED' AND updated_at < $cutoff …` over
 * the same rows, measured on the same table (re-filled between the two). Goal: `markTimedOutExecutions` (no queue
 * source, so no liveness round trips) ≤ 2× that statement.
 */
import pg from 'pg';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { latency } from '../lib.js';

const PART = '7 mark-timeout';

export async function timeout(opts: { stale: number; fresh: number; rounds: number }) {
  const db = await createTestDatabase('postgres');
  const tasks = await createAgentcoreTask({ database: db.url, logger: silentLogger, env: {}, realtime: false });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const fill = async () => {
    await admin.query('delete from agentcore_task_execution');
    await admin.query(
      `insert into agentcore_task_execution (task_id, task_name, module, status, created_at, started_at, updated_at, created_by_id)
       select 'run-' || g, 'bench.job', 'bench', 'STARTED', now() - interval '2 hours',
         case when g <= $1::int then now() - interval '2 hours' else now() end,
         case when g <= $1::int then now() - interval '1 hour' else now() end, (g % 100)::text
       from generate_series(1, $1::int + $2::int) as g`,
      [opts.stale, opts.fresh],
    );
    // Around them a real history: four times as many finished and waiting runs, statuses mixed, over many users and
    // task names, so the stale ones have to be found among others, not in a table of them alone.
    await admin.query(
      `insert into agentcore_task_execution (task_id, task_name, module, status, created_at, started_at, finished_at,
         updated_at, created_by_id)
       select 'old-' || g, 'bench.job_' || (g % 50), 'bench',
         (array['SUCCESS','SUCCESS','SUCCESS','SUCCESS','FAILURE','REVOKED','PENDING','RETRY'])[1 + g % 8],
         now() - (g % 2880) * interval '1 minute', now() - (g % 2880) * interval '1 minute',
         case when g % 8 < 6 then now() - (g % 2880) * interval '1 minute' end,
         now() - (g % 2880) * interval '1 minute', (g % 1000)::text
       from generate_series(1, 4 * ($1::int + $2::int)) as g`,
      [opts.stale, opts.fresh],
    );
    await admin.query('vacuum analyze agentcore_task_execution');
  };
  const best = { raw: Number.POSITIVE_INFINITY, ours: Number.POSITIVE_INFINITY };
  try {
    for (let round = 0; round < opts.rounds; round++) {
      await fill();
      const cutoff = new Date(Date.now() - 10 * 60_000);
      let started = performance.now();
      const raw = await admin.query(
        `update agentcore_task_execution set status = 'FAILURE', error = $2, finished_at = coalesce(finished_at, now()),
           updated_at = now()
         where status = 'STARTED' and updated_at < $1 and (started_at < $1 or started_at is null)`,
        [cutoff, 'Task timeout'],
      );
      best.raw = Math.min(best.raw, performance.now() - started);
      if (raw.rowCount !== opts.stale) throw new Error(`raw UPDATE marked ${raw.rowCount}, expected ${opts.stale}`);
      await fill();
      started = performance.now();
      const result = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
      best.ours = Math.min(best.ours, performance.now() - started);
      if (result.updated_count !== opts.stale)
        throw new Error(`markTimedOutExecutions marked ${result.updated_count}, expected ${opts.stale}`);
    }
    latency(
      PART,
      `${opts.stale} stale + ${opts.fresh} fresh STARTED runs marked`,
      'ms (best of rounds)',
      Math.round(best.ours),
      Math.round(best.raw),
      2,
      'baseline: the one raw UPDATE the Django module runs, on the same table and triggers',
    );
  } finally {
    await admin.end();
    await tasks.close();
    await db.drop();
  }
}
