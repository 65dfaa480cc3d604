/**
 * PostgreSQL: one statement-level `AFTER` trigger per event, with transition tables. Each statement (a single-run
 * update or a 500-run batch) adds its grouped deltas to `agentcore_task_stats` once, in the statement's transaction.
 */
import { type Kysely, sql } from 'kysely';
import { EXECUTION_TABLE } from '../schema.js';
import { ALL_CREATORS, STATS_SHARDS, STATS_TABLE } from './table.js';

/** This connection's shard of the aggregate rows (see `StatsTable.shard`). */
const SHARD = `(pg_backend_pid() % ${STATS_SHARDS})::smallint`;

/** `created_at`'s UTC hour as `YYYY-MM-DDTHH`, the `bucket` of an hourly row. */
export const PG_HOUR = `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24')`;
/** The creator key: `''` for no creator, `'=' || id` otherwise (so an empty-string id stays distinct from none). */
export const PG_CREATOR = `coalesce('=' || created_by_id, '')`;

const COLUMNS = 'created_at, created_by_id, module, task_name, status';

/**
 * The upsert of one statement's changes. The inner query nets the changes per hour and key first, so an update that
 * leaves status, module, task name, creator and `created_at` alone (progress, heartbeats, metadata) upserts nothing and
 * locks no aggregate row. Each net change goes to four rows: the rollups (every creator) of its hour, day and all time,
 * and its creator's all-time row (see `StatsTable`). Each connection upserts its own shard of a key's rows, so
 * concurrent statements do not queue on one hot row. Rows are upserted in key order so that two statements never wait
 * on each other in a cycle.
 */
function upsert(delta: string): string {
  return `insert into ${STATS_TABLE} as s (grain, bucket, creator, module, task_name, status, shard, n)
  select g.grain, case g.grain when 'h' then d.hour when 'd' then substr(d.hour, 1, 10) else '' end,
    case g.grain when 'c' then d.creator else '${ALL_CREATORS}' end, d.module, d.task_name, d.status, ${SHARD}, sum(d.n)
  from (
    select ${PG_HOUR} as hour, ${PG_CREATOR} as creator, module, task_name, status, sum(n) as n
    from (${delta}) as x
    group by 1, 2, 3, 4, 5
    having sum(n) <> 0
  ) as d cross join (values ('h'), ('d'), ('t'), ('c')) as g(grain)
  group by 1, 2, 3, 4, 5, 6
  having sum(d.n) <> 0
  order by 1, 2, 3, 4, 5, 6
  on conflict (grain, bucket, creator, module, task_name, status, shard) do update set n = s.n + excluded.n`;
}

const EVENTS = {
  insert: { referencing: 'new table as new_rows', delta: `select ${COLUMNS}, 1 as n from new_rows` },
  update: {
    referencing: 'new table as new_rows old table as old_rows',
    delta: `select ${COLUMNS}, 1 as n from new_rows union all select ${COLUMNS}, -1 as n from old_rows`,
  },
  delete: { referencing: 'old table as old_rows', delta: `select ${COLUMNS}, -1 as n from old_rows` },
} as const;

/** Creates (or replaces) the trigger functions and triggers. Idempotent. */
export async function createPostgresTriggers(db: Kysely<unknown>): Promise<void> {
  for (const [event, { referencing, delta }] of Object.entries(EVENTS)) {
    const name = `agentcore_task_stats_${event}`;
    await sql
      .raw(`create or replace function ${name}() returns trigger language plpgsql as $$
begin
  ${upsert(delta)};
  return null;
end $$`)
      .execute(db);
    await sql.raw(`drop trigger if exists ${name} on ${EXECUTION_TABLE}`).execute(db);
    await sql
      .raw(
        `create trigger ${name} after ${event} on ${EXECUTION_TABLE} referencing ${referencing} for each statement execute function ${name}()`,
      )
      .execute(db);
  }
  // TRUNCATE fires no row or delete trigger: empty the aggregates with it, in the same transaction.
  await sql
    .raw(`create or replace function agentcore_task_stats_truncate() returns trigger language plpgsql as $$
begin
  delete from ${STATS_TABLE};
  return null;
end $$`)
    .execute(db);
  await sql.raw(`drop trigger if exists agentcore_task_stats_truncate on ${EXECUTION_TABLE}`).execute(db);
  await sql
    .raw(
      `create trigger agentcore_task_stats_truncate after truncate on ${EXECUTION_TABLE} for each statement execute function agentcore_task_stats_truncate()`,
    )
    .execute(db);
}
