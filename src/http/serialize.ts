import type { TaskExecution } from '../types.js';
import type { ExecutionDetailJson, ExecutionJson } from './schemas.js';

export type { ExecutionDetailJson, ExecutionJson } from './schemas.js';

/** How much of `metadata` a run carries, in a list item or in detail (`include_metadata`, `metadata_fields`). */
export interface SerializeOptions {
  /** `false`: `metadata` is `null`. @defaultValue `true` */
  includeMetadata?: boolean;
  /** Only these metadata keys (absent keys are left out). @defaultValue every key */
  metadataFields?: readonly string[];
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

function pickMetadata(metadata: Record<string, unknown>, options: SerializeOptions): Record<string, unknown> | null {
  if (options.includeMetadata === false) return null;
  if (!options.metadataFields) return metadata;
  const picked: Record<string, unknown> = {};
  for (const key of options.metadataFields) if (Object.hasOwn(metadata, key)) picked[key] = metadata[key];
  return picked;
}

/**
 * A run as a list item of the REST API (and of stream events, CLI `--json`): the seed's snake_case fields, ISO 8601
 * UTC timestamps, and the derived `duration`, `is_completed`, `is_running`.
 *
 * @example
 * const rows = (await tasks.tracker.listTaskExecutions()).results.map((run) => serializeExecution(run));
 */
export function serializeExecution(execution: TaskExecution, options: SerializeOptions = {}): ExecutionJson {
  return {
    id: execution.id,
    task_id: execution.taskId,
    task_name: execution.taskName,
    module: execution.module,
    status: execution.status,
    created_at: execution.createdAt.toISOString(),
    started_at: iso(execution.startedAt),
    finished_at: iso(execution.finishedAt),
    metadata: pickMetadata(execution.metadata, options),
    created_by_id: execution.createdById,
    created_by_username: execution.createdByUsername,
    duration: execution.duration,
    is_completed: execution.isCompleted,
    is_running: execution.isRunning,
  };
}

/**
 * A run in detail: the list item plus `task_args`, `task_kwargs`, `result`, `error`, `traceback`, `created_by`.
 * `options` trims `metadata` as on the list (detail, by-task-id, status and sync all take it, as the Django module's
 * do); without options the whole metadata is there.
 */
export function serializeExecutionDetail(
  execution: TaskExecution,
  options: SerializeOptions = {},
): ExecutionDetailJson {
  return {
    ...serializeExecution(execution, options),
    task_args: execution.taskArgs,
    task_kwargs: execution.taskKwargs,
    result: execution.result,
    error: execution.error,
    traceback: execution.traceback,
    created_by: execution.createdById,
  };
}
