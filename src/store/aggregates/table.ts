import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.js';
import { exactCollation } from '../mysql/collation.js';

/** The aggregate table, maintained by triggers on `agentcore_task_execution`. */
export const STATS_TABLE = 'agentcore_task_stats';

/** Aggregate rows one run counts in (hourly, daily and all-time rollups; its creator's all-time row, grain `'c'`). */
export const STATS_ROWS_PER_RUN = 4;

/** Rows a hot key spreads over on PostgreSQL and MySQL/MariaDB: one per connection, modulo this. */
export const STATS_SHARDS = 8;

/**
 * The `creator` of the rows that count every creator's runs together (the rollups read by unscoped requests). It
 * cannot be the key of a real creator, which is `''` or starts with `'='`.
 */
export const ALL_CREATORS = '*';

/**
 * One row per grain × bucket × creator × module × task name × status: the number of runs with that key.
 *
 * - `grain`: the rollups of every creator (`creator` `'*'`, `ALL_CREATORS`): `'h'` hourly (`bucket` `YYYY-MM-DDTHH`,
 *   UTC), `'d'` daily (`YYYY-MM-DD`), `'t'` all time (`bucket` `''`); and `'c'`, one creator's all time (`bucket`
 *   `''`). A grain of its own for the creators' rows keeps `grain = 't'` a selective condition the planner estimates
 *   right (with `creator = '*'` as a second condition it guessed a tenth of the table and scanned all of it).
 * - `creator`: `'*'` on rollups; on `'c'` rows `''` for runs with no creator, otherwise `'='` followed by
 *   `created_by_id`, so that a primary key (which cannot hold NULL) still tells "no creator" from an empty id. Hourly
 *   and daily rows exist only as rollups; per creator there are only all-time rows. Per creator and hour a
 *   real history has about one run per key (1,000 users × 200 task names × 6 statuses), so those rows would be as many
 *   as the runs and every delete would pay for them; a creator's date-ranged stats read the table through the
 *   `(created_by_id, created_at)` index instead (that creator's runs of the range).
 * - `shard`: concurrent writers of one key spread over up to `STATS_SHARDS` rows (by connection), so they do not queue
 *   on one hot row; a count is the sum over shards. SQLite (one writer at a time) and `rebuild-stats` use shard 0.
 * - `n` is a sum: a shard's row may be 0 or negative (a run counted on one connection, moved on by another); readers
 *   sum over shards and skip keys that sum to 0, `rebuild-stats` folds shards and drops zeros.
 */
export interface StatsTable {
  grain: string;
  bucket: string;
  creator: string;
  module: string;
  task_name: string;
  status: string;
  shard: number;
  n: number | string;
}

/** The Kysely table map of the aggregates, for `db.withTables<StatsTables>()`. */
export type StatsTables = {
  agentcore_task_stats: StatsTable;
};

/** Creates the aggregate table if it does not exist. */
export async function createStatsTable(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  // On MySQL/MariaDB the key columns compare exactly, like the execution table's identifiers (migration 0003).
  // SQLite: the key is the table (no rowid b-tree besides the key's), halving the work of each trigger upsert.
  // PostgreSQL: pages half full, so that the constant `n = n + …` updates stay HOT (the new version on the same page,
  // no new index entry; `n` is in no index) and page pruning reclaims the old versions without waiting for vacuum. With
  // full pages every update of a hot rollup row added an index entry, and reads walked the dead versions.
  const options =
    dialect === 'mysql'
      ? ` character set utf8mb4 collate ${await exactCollation(db)}`
      : dialect === 'sqlite'
        ? ' without rowid'
        : ' with (fillfactor = 50)';
  await sql
    .raw(`create table if not exists ${STATS_TABLE} (
  grain char(1) not null,
  bucket varchar(13) not null,
  creator varchar(256) not null,
  module varchar(100) not null,
  task_name varchar(255) not null,
  status varchar(20) not null,
  shard smallint not null default 0,
  n bigint not null,
  primary key (grain, bucket, creator, module, task_name, status, shard)
)${options}`)
    .execute(db);
}
