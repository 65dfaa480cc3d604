import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.js';
import { exactCollation } from '../mysql/collation.js';

/** The aggregate table, maintained by triggers on `agentcore_task_execution`. */
export const STATS_TABLE = 'agentcore_task_stats';

/**
 * One row per grain × bucket × creator × module × task name × status: the number of runs with that key.
 *
 * - `grain`: `'h'` hourly (`bucket` `YYYY-MM-DDTHH`, UTC), `'d'` daily (`YYYY-MM-DD`), `'t'` all time (`bucket` `''`).
 * - `creator`: `''` for runs with no creator, otherwise `'='` followed by `created_by_id`, so that a primary key (which
 *   cannot hold NULL) still tells "no creator" from an empty id.
 * - `n` may be 0 (a key whose runs all moved on or were deleted); readers skip such rows, `rebuild-stats` drops them.
 */
export interface StatsTable {
  grain: string;
  bucket: string;
  creator: string;
  module: string;
  task_name: string;
  status: string;
  n: number | string;
}

/** The Kysely table map of the aggregates, for `db.withTables<StatsTables>()`. */
export type StatsTables = {
  agentcore_task_stats: StatsTable;
};

/** Creates the aggregate table if it does not exist. */
export async function createStatsTable(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  // On MySQL/MariaDB the key columns compare exactly, like the execution table's identifiers (migration 0003).
  const charset = dialect === 'mysql' ? ` character set utf8mb4 collate ${await exactCollation(db)}` : '';
  await sql
    .raw(`create table if not exists ${STATS_TABLE} (
  grain char(1) not null,
  bucket varchar(13) not null,
  creator varchar(256) not null,
  module varchar(100) not null,
  task_name varchar(255) not null,
  status varchar(20) not null,
  n bigint not null,
  primary key (grain, bucket, creator, module, task_name, status)
)${charset}`)
    .execute(db);
}
