/**
 * PostgreSQL statements that write many runs at once (the write batcher's group commit): each takes every row as one
 * JSON array parameter, expanded by `jsonb_to_recordset`, so a batch costs one round trip and one plan whatever its
 * size. The insert is a named prepared statement (`prepared.ts`), parsed once per connection; the update is not (see
 * `UPDATE_BATCH_SQL`). Per row, the same rules as `ExecutionStore.update` (no regression from a completed status,
 * `started_at` and `finished_at` set once, metadata merged key by key); see `tracker/effect.ts` for how a run's writes
 * fold into a row.
 */
import { prepared } from './prepared.js';

const COMPLETED = `('SUCCESS', 'FAILURE', 'REVOKED')`;

/**
 * Changes of many runs: `$1` the rows (JSON), `cast($2 as timestamptz)` now. A row whose `queue` is set applies only to
 * a run of that queue.
 *
 * Sent unnamed on purpose: a named statement gets a generic plan after five runs, and this one's is made without the
 * `task_id` array, so the table's size at that moment decides it. Made while the table is small or never analyzed
 * (every new install), it is a sequential scan, kept until the next ANALYZE: measured, the batch path fell from about
 * 4,500 to 2,500 writes/s, PostgreSQL CPU per write 200 µs to 470–740 µs. Unnamed, each batch is planned with its
 * ids (an index scan); its parse is shared by the whole batch anyway.
 */
export const UPDATE_BATCH_SQL = `update agentcore_task_execution as t set
  metadata = case when v.meta is null then t.metadata else t.metadata || v.meta end,
  result = case when not v.set_result or (v.result_guarded and t.status in ${COMPLETED}) then t.result
    else cast(v.result as jsonb) end,
  error = case when not v.set_error or (v.error_guarded and t.status in ${COMPLETED}) then t.error else v.error end,
  traceback = case when not v.set_traceback or (v.traceback_guarded and t.status in ${COMPLETED}) then t.traceback
    else v.traceback end,
  started_at = case when v.started and t.started_at is null and t.status not in ${COMPLETED} then cast($2 as timestamptz)
    else t.started_at end,
  finished_at = case when v.completed then coalesce(t.finished_at, cast($2 as timestamptz)) else t.finished_at end,
  updated_at = cast($2 as timestamptz),
  status = case when v.status is null or (v.status_guarded and t.status in ${COMPLETED}) then t.status
    else v.status end
from jsonb_to_recordset(cast($1 as jsonb)) as v(
  task_id text, queue text, status text, status_guarded boolean, started boolean, completed boolean,
  set_result boolean, result text, result_guarded boolean, set_error boolean, error text, error_guarded boolean,
  set_traceback boolean, traceback text, traceback_guarded boolean, meta jsonb, full_row boolean)
where t.task_id = any(cast($3 as text[])) and t.task_id = v.task_id and (v.queue is null or t.queue_name is null or t.queue_name = v.queue)
returning t.id, t.task_id, t.status, t.created_by_id, t.task_name, t.queue_name,
  case when v.full_row then to_jsonb(t) end as full_row`;

/** New runs: `$1` the rows (JSON), `cast($2 as timestamptz)` now. Existing `task_id`s are left alone (and not returned). */
export const REGISTER_BATCH_SQL =
  prepared(`insert into agentcore_task_execution (task_id, task_name, module, status, created_at,
  started_at, finished_at, updated_at, task_args, task_kwargs, metadata, created_by_id, created_by_username, queue_name)
select v.task_id, v.task_name, v.module, v.status, cast($2 as timestamptz), case when v.started then cast($2 as timestamptz) end, case when v.finished then cast($2 as timestamptz) end,
  cast($2 as timestamptz), v.args, v.kwargs, v.meta, v.created_by_id, v.created_by_username, v.queue_name
from jsonb_to_recordset(cast($1 as jsonb)) as v(task_id text, task_name text, module text, status text,
  started boolean, finished boolean, args jsonb, kwargs jsonb, meta jsonb, created_by_id text,
  created_by_username text, queue_name text)
on conflict (task_id) do nothing
returning id, task_id`);
