/**
 * MySQL/MariaDB: row-level triggers (they have no statement-level ones). Each upserts the run's four rows (see
 * `StatsTable`) in one multi-row `INSERT … ON DUPLICATE KEY UPDATE`, in the row change's transaction, on the
 * connection's shard of those rows (see `StatsTable.shard`).
 */
import { type Kysely, sql } from 'kysely';
import { EXECUTION_TABLE } from '../schema.js';
import { ALL_CREATORS, STATS_SHARDS, STATS_TABLE } from './table.js';

/** `created_at`'s hour as `YYYY-MM-DDTHH` (DATETIME columns hold UTC). */
export const MYSQL_HOUR = `date_format(created_at, '%Y-%m-%dT%H')`;
/** The creator key: `''` for no creator, `'=' || id` otherwise. */
export const MYSQL_CREATOR = `coalesce(concat('=', created_by_id), '')`;

/** The four rows of one run's key (the rollups of its hour, day and all time; its creator's total) counting `n`. */
function rows(row: 'NEW' | 'OLD', n: number): string {
  const creator = `coalesce(concat('=', ${row}.created_by_id), '')`;
  const rest = `${row}.module, ${row}.task_name, ${row}.status, connection_id() % ${STATS_SHARDS}, ${n}`;
  return [
    `('h', date_format(${row}.created_at, '%Y-%m-%dT%H'), '${ALL_CREATORS}', ${rest})`,
    `('d', date_format(${row}.created_at, '%Y-%m-%d'), '${ALL_CREATORS}', ${rest})`,
    `('t', '', '${ALL_CREATORS}', ${rest})`,
    `('c', '', ${creator}, ${rest})`,
  ].join(', ');
}

// `values(n)` rather than MySQL 8's row alias: MariaDB has only the former (MySQL still accepts it, deprecated).
const INSERT = `insert into ${STATS_TABLE} (grain, bucket, creator, module, task_name, status, shard, n) values`;
const ON_DUPLICATE = 'on duplicate key update n = n + values(n)';

const TRIGGERS: Record<string, string> = {
  agentcore_task_stats_insert: `after insert on ${EXECUTION_TABLE} for each row ${INSERT} ${rows('NEW', 1)} ${ON_DUPLICATE}`,
  // Only a change of a counted column moves a run between keys: progress and metadata updates touch no aggregate row.
  agentcore_task_stats_update: `after update on ${EXECUTION_TABLE} for each row begin
    if not (OLD.status <=> NEW.status and OLD.module <=> NEW.module and OLD.task_name <=> NEW.task_name
      and OLD.created_by_id <=> NEW.created_by_id and OLD.created_at <=> NEW.created_at) then
      ${INSERT} ${rows('OLD', -1)}, ${rows('NEW', 1)} ${ON_DUPLICATE};
    end if;
  end`,
  agentcore_task_stats_delete: `after delete on ${EXECUTION_TABLE} for each row ${INSERT} ${rows('OLD', -1)} ${ON_DUPLICATE}`,
};

/** Creates (or re-creates) the triggers. Idempotent. */
export async function createMysqlTriggers(db: Kysely<unknown>): Promise<void> {
  for (const [name, body] of Object.entries(TRIGGERS)) {
    await sql.raw(`drop trigger if exists ${name}`).execute(db);
    await sql.raw(`create trigger ${name} ${body}`).execute(db);
  }
}
