/**
 * Stats from maintained aggregates: `agentcore_task_stats` holds run counts by status × module × task name per UTC
 * hour, per UTC day and for all time, and per creator for all time, kept exact by triggers on
 * `agentcore_task_execution` in the transaction of every row change, whoever writes it (the tracker, batch statements, cleanup, an import, plain SQL). Stats
 * requests whose filters these keys cover read only this table; see docs/SCALING.md for the design and its costs.
 */
import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';
import { createMysqlTriggers } from './mysql.js';
import { createPostgresTriggers } from './postgres.js';
import { createSqliteTriggers } from './sqlite.js';
import { createStatsTable } from './table.js';

export {
  AGGREGATES_MIGRATION,
  AggregatesReadiness,
  BACKFILL_KEY,
  type BackfillResult,
  backfillAggregates,
  markBackfillPending,
  PG_BACKFILL_LOCK,
  recountAggregates,
} from './backfill.js';
export {
  type CompactOptions,
  type CompactResult,
  compactAggregates,
  DEFAULT_COMPACT_BATCH_SIZE,
} from './compact.js';
export {
  type CountRow,
  countFromAggregates,
  countsFromAggregates,
  coveredRange,
  seriesByStatusFromAggregates,
  seriesFromAggregates,
} from './read.js';
export {
  DEFAULT_REBUILD_BATCH_SIZE,
  type RebuildOptions,
  type RebuildResult,
  rebuildAggregates,
} from './rebuild.js';
export { ALL_CREATORS, STATS_ROWS_PER_RUN, STATS_TABLE, type StatsTable, type StatsTables } from './table.js';

/** Creates the aggregate table and the triggers that maintain it (both idempotent). Does not count existing runs. */
export async function installAggregates(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await createStatsTable(db, dialect);
  if (dialect === 'postgres') await createPostgresTriggers(db);
  else if (dialect === 'mysql') await createMysqlTriggers(db);
  else await createSqliteTriggers(db);
}
