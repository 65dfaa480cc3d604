import type { ColumnType, Generated } from 'kysely';

/** Table names, in one place. */
export const EXECUTION_TABLE = 'agentcore_task_execution';
export const CONFIG_TABLE = 'agentcore_task_config';
export const LOCK_TABLE = 'agentcore_task_lock';
export const MIGRATION_TABLE = 'agentcore_task_migration';
export const MIGRATION_LOCK_TABLE = 'agentcore_task_migration_lock';

/**
 * Column values as the drivers return them. Timestamps are `Date` (pg, mysql2) or ISO text (SQLite); JSON columns are
 * parsed values (pg) or text (mysql2 with our typeCast, SQLite). `store/row.ts` turns a row into a `TaskExecution`.
 */
type Timestamp = ColumnType<Date | string, Date | string, Date | string>;
type Json = ColumnType<unknown, unknown, unknown>;

export interface ExecutionTable {
  id: Generated<number | string>;
  task_id: string;
  task_name: string;
  module: string;
  status: string;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
  task_args: Json;
  task_kwargs: Json;
  result: Json | null;
  error: string | null;
  traceback: string | null;
  created_by_id: string | null;
  created_by_username: string | null;
  queue_name: string | null;
  metadata: Json;
}

export interface ConfigTable {
  key: string;
  value: string;
  updated_at: Timestamp;
}

export interface LockTable {
  name: string;
  owner: string;
  expires_at: Timestamp;
  created_at: Timestamp;
}

/** The tables this library owns. */
export interface Database {
  agentcore_task_execution: ExecutionTable;
  agentcore_task_config: ConfigTable;
  agentcore_task_lock: LockTable;
}
