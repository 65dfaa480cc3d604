/**
 * SQLite: row-level triggers with an UPSERT, in the row change's transaction (SQLite has one writer at a time, so no
 * aggregate row is ever contended).
 */
import { type Kysely, sql } from 'kysely';
import { EXECUTION_TABLE } from '../schema.js';
import { ALL_CREATORS, STATS_TABLE } from './table.js';

/** `created_at` (ISO text) as its hour `YYYY-MM-DDTHH`, as the dialect's series buckets read it. */
export const SQLITE_HOUR = `substr(created_at, 1, 10) || 'T' || substr(created_at, 12, 2)`;
/** The creator key: `''` for no creator, `'=' || id` otherwise. */
export const SQLITE_CREATOR = `coalesce('=' || created_by_id, '')`;

/** The four rows of one run's key (the rollups of its hour, day and all time; its creator's total) counting `n`. */
function rows(row: 'NEW' | 'OLD', n: number): string {
  const rest = `${row}.module, ${row}.task_name, ${row}.status, ${n}`;
  return [
    `('h', substr(${row}.created_at, 1, 10) || 'T' || substr(${row}.created_at, 12, 2), '${ALL_CREATORS}', ${rest})`,
    `('d', substr(${row}.created_at, 1, 10), '${ALL_CREATORS}', ${rest})`,
    `('t', '', '${ALL_CREATORS}', ${rest})`,
    `('c', '', coalesce('=' || ${row}.created_by_id, ''), ${rest})`,
  ].join(', ');
}

const INSERT = `insert into ${STATS_TABLE} (grain, bucket, creator, module, task_name, status, n) values`;
const ON_CONFLICT =
  'on conflict (grain, bucket, creator, module, task_name, status, shard) do update set n = n + excluded.n';
const COUNTED = ['status', 'module', 'task_name', 'created_by_id', 'created_at'];

const TRIGGERS: Record<string, string> = {
  agentcore_task_stats_insert: `after insert on ${EXECUTION_TABLE} for each row begin
    ${INSERT} ${rows('NEW', 1)} ${ON_CONFLICT};
  end`,
  // `update of` the counted columns, and only when one of them changed: progress and metadata updates cost nothing.
  agentcore_task_stats_update: `after update of ${COUNTED.join(', ')} on ${EXECUTION_TABLE} for each row
    when ${COUNTED.map((c) => `OLD.${c} is not NEW.${c}`).join(' or ')} begin
    ${INSERT} ${rows('OLD', -1)}, ${rows('NEW', 1)} ${ON_CONFLICT};
  end`,
  agentcore_task_stats_delete: `after delete on ${EXECUTION_TABLE} for each row begin
    ${INSERT} ${rows('OLD', -1)} ${ON_CONFLICT};
  end`,
};

/** Creates (or re-creates) the triggers. Idempotent. */
export async function createSqliteTriggers(db: Kysely<unknown>): Promise<void> {
  for (const [name, body] of Object.entries(TRIGGERS)) {
    await sql.raw(`drop trigger if exists ${name}`).execute(db);
    await sql.raw(`create trigger if not exists ${name} ${body}`).execute(db);
  }
}
