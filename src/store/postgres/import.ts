/**
 * PostgreSQL bulk insert of imported runs: the whole batch is one JSON array parameter expanded by
 * `jsonb_to_recordset` (as `batch.ts` does for the tracker's writes), so a batch costs one round trip and one plan
 * whatever its size. A JSON `null` becomes SQL NULL. Existing `task_id`s are left alone.
 */
export const IMPORT_BATCH_SQL = `insert into agentcore_task_execution (task_id, task_name, module, status, created_at,
  started_at, finished_at, updated_at, task_args, task_kwargs, result, error, traceback, created_by_id,
  created_by_username, queue_name, metadata)
select v.task_id, v.task_name, v.module, v.status, v.created_at, v.started_at, v.finished_at, v.updated_at, v.args,
  v.kwargs, v.result, v.error, v.traceback, v.created_by_id, v.created_by_username, v.queue_name, v.meta
from jsonb_to_recordset(cast($1 as jsonb)) as v(task_id text, task_name text, module text, status text,
  created_at timestamptz, started_at timestamptz, finished_at timestamptz, updated_at timestamptz, args jsonb,
  kwargs jsonb, result jsonb, error text, traceback text, created_by_id text, created_by_username text,
  queue_name text, meta jsonb)
on conflict (task_id) do nothing`;
