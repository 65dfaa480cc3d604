import type { AgentcoreTask } from '../../src/index.js';
import type { TaskStatusValue } from '../../src/status.js';

let seq = 0;
/** A task id unique within the test run. */
export const uid = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

/**
 * Records a run with `status`, then moves its timestamps into the past directly in the database (the tests must not
 * sleep for days or minutes).
 */
export async function seedRun(
  tasks: AgentcoreTask,
  options: {
    status: TaskStatusValue;
    taskId?: string;
    taskName?: string;
    createdAgoMs?: number;
    startedAgoMs?: number;
    updatedAgoMs?: number;
    queueName?: string | null;
  },
): Promise<string> {
  const taskId = options.taskId ?? uid(options.status.toLowerCase());
  await tasks.registerTaskExecution({
    taskId,
    taskName: options.taskName ?? 'seeded',
    module: 'seed',
    queueName: options.queueName ?? null,
  });
  if (options.status !== 'PENDING') await tasks.tracker.updateTaskStatus(taskId, options.status);
  await backdate(tasks, taskId, options);
  return taskId;
}

/** Moves `created_at` / `started_at` / `updated_at` of a run into the past. */
export async function backdate(
  tasks: AgentcoreTask,
  taskId: string,
  ago: { createdAgoMs?: number; startedAgoMs?: number; updatedAgoMs?: number },
): Promise<void> {
  const now = Date.now();
  const at = (ms: number) => tasks.dialect.toDbDate(new Date(now - ms));
  const set: Record<string, Date | string> = {};
  if (ago.createdAgoMs !== undefined) set.created_at = at(ago.createdAgoMs);
  if (ago.startedAgoMs !== undefined) set.started_at = at(ago.startedAgoMs);
  if (ago.updatedAgoMs !== undefined) set.updated_at = at(ago.updatedAgoMs);
  if (Object.keys(set).length === 0) return;
  await tasks.db.updateTable('agentcore_task_execution').set(set).where('task_id', '=', taskId).execute();
}

export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** Task ids present among `ids`. */
export async function existing(tasks: AgentcoreTask, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tasks.db
    .selectFrom('agentcore_task_execution')
    .select('task_id')
    .where('task_id', 'in', ids)
    .execute();
  return rows.map((r) => r.task_id).sort();
}
