/**
 * Bulk-generates runs in SQL (PostgreSQL), fast enough for a million rows: the secondary indexes are dropped, the
 * rows inserted from `generate_series`, the indexes rebuilt and the table analyzed. The mix is meant to look like a
 * real installation: 30 days of history, 20 modules (skewed), 10 task names per module (200 in all), 1,000 users
 * (skewed: user 1 has the most runs), 5 % system runs with no creator, and the status mix of a real history over the
 * whole range: SUCCESS 82 %, FAILURE 6 %, PENDING 4 %, STARTED 3 %, REVOKED 3 %, RETRY 2 %. Most unfinished runs are
 * as old as the rest (abandoned: a worker died, a message was lost), which cleanup with `onlyCompleted` must keep;
 * `runningShare` of all runs are unfinished and created in the last hour (live work).
 */
import pg from 'pg';

export interface GenerateOptions {
  rows: number;
  /** First `task_id` number (`bench-<n>`), so several batches do not collide. @defaultValue 1 */
  from?: number;
  /** Creation times lie between `now - daysAgoTo` and `now - daysAgoFrom` days. @defaultValue 0 and 30 */
  daysAgoFrom?: number;
  daysAgoTo?: number;
  /** Share of all runs that are unfinished and created in the last hour (at most 0.09, the unfinished share). @defaultValue 0.02 */
  runningShare?: number;
  /** Drop and rebuild the secondary indexes around the insert (faster for big batches). @defaultValue true */
  rebuildIndexes?: boolean;
}

/** Inserts `rows` generated runs; returns the seconds it took. */
export async function generateExecutions(url: string, options: GenerateOptions): Promise<number> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const from = options.from ?? 1;
    const to = from + options.rows - 1;
    const near = options.daysAgoFrom ?? 0;
    const far = options.daysAgoTo ?? 30;
    const rebuild = options.rebuildIndexes ?? true;
    let indexes: Array<{ indexname: string; indexdef: string }> = [];
    if (rebuild) {
      // Secondary indexes only: the primary key and the unique task_id constraint stay.
      ({ rows: indexes } = await client.query(
        `select indexname, indexdef from pg_indexes
          where tablename = 'agentcore_task_execution' and indexname not like '%_pkey' and indexname not like '%task_id_key'`,
      ));
      for (const { indexname } of indexes) await client.query(`drop index ${indexname}`);
    }
    await client.query('select setseed(0.42)');
    await client.query(
      `insert into agentcore_task_execution (task_id, task_name, module, status, created_at, started_at, finished_at,
         updated_at, task_args, task_kwargs, result, error, traceback, created_by_id, created_by_username, queue_name,
         metadata)
       select 'bench-' || i, 'module_' || m || '.task_' || t, 'module_' || m, st, c,
         case when st = 'PENDING' then null else c + interval '2 seconds' end,
         case when st in ('SUCCESS', 'FAILURE', 'REVOKED') then c + d * interval '1 second' end,
         c + d * interval '1 second',
         '[]'::jsonb, jsonb_build_object('n', i, 'user', u),
         case when st = 'SUCCESS' then jsonb_build_object('ok', true, 'items', i % 97) end,
         case when st = 'FAILURE' then 'ValueError: bad input ' || i end,
         case when st = 'FAILURE' then 'Error: bad input\n    at process (worker.js:12:7)\n    at run (worker.js:40:3)' end,
         u::text, case when u is null then null else 'user' || u end, 'module_' || m,
         jsonb_build_object('progress_percent', case when st in ('PENDING', 'STARTED', 'RETRY') then 40 else 100 end,
           'progress_message', 'step ' || t, 'tenant', 'tenant_' || (i % 50))
       from (
         select i, m, t, u, d, st,
           case when st in ('PENDING', 'STARTED', 'RETRY') and r1 < $5::float8 / 0.09 then now() - r2 * interval '1 hour'
                else now() - ($3::float8 + r2 * ($4::float8 - $3::float8)) * interval '1 day' end as c
         from (
           select i, m, t, u, d, r1, r2,
             case when r3 < 0.82 then 'SUCCESS' when r3 < 0.88 then 'FAILURE' when r3 < 0.92 then 'PENDING'
                  when r3 < 0.95 then 'STARTED' when r3 < 0.98 then 'REVOKED' else 'RETRY' end as st
           from (
             select i, floor(20 * power(random(), 1.5))::int as m, floor(10 * random())::int as t,
               case when random() < 0.05 then null else 1 + floor(1000 * power(random(), 1.3))::int end as u,
               1 + floor(60 * random())::int as d, random() as r1, random() as r2, random() as r3
             from generate_series($1::bigint, $2::bigint) as g(i)
           ) a
         ) b
       ) x`,
      [from, to, near, far, options.runningShare ?? 0.02],
    );
    for (const { indexdef } of indexes) await client.query(indexdef);
    await client.query('analyze agentcore_task_execution');
  } finally {
    await client.end();
  }
  return (performance.now() - started) / 1000;
}
