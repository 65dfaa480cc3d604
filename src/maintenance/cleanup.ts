import { ValidationError } from '../errors.js';
import type { Settings } from '../settings.js';
import { TaskStatus, type TaskStatusValue } from '../status.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { DEFAULT_CLEANUP_BATCH_SIZE } from './names.js';

/** Options of `cleanupOldExecutions`; absent ones come from the settings. */
export interface CleanupOptions {
  /** Delete runs created more than this many days ago. @defaultValue setting `retentionDays` (30) */
  retentionDays?: number;
  /** Only delete `SUCCESS`/`FAILURE`/`REVOKED` runs. @defaultValue setting `cleanupOnlyCompleted` (true) */
  onlyCompleted?: boolean;
  /** Rows per `DELETE` statement: small enough that each statement holds its locks only briefly. @defaultValue `5000` */
  batchSize?: number;
  /** Called after each batch with the number of rows deleted so far (progress for the CLI). */
  onBatch?: (deletedSoFar: number) => void;
}

/** A run removed by cleanup, as announced on the change feed. */
export interface DeletedRun {
  id: number;
  taskId: string;
  status: TaskStatusValue;
  createdById: string | null;
}

/** What cleanup returns (snake_case, as the seed's task result). */
export interface CleanupResult {
  deleted_count: number;
  /** ISO time; runs created before it were eligible. `null` when skipped. */
  cutoff: string | null;
  retention_days: number;
  only_completed: boolean;
  skipped?: true;
  reason?: 'invalid_retention_days';
}

const COMPLETED = [...TaskStatus.completed];
const DAY_MS = 86_400_000;

/**
 * Deletes old runs in batches: select up to `batchSize` ids, delete those ids, repeat. No statement touches more than
 * one batch and nothing runs in a long transaction, so concurrent writers (new runs, updates) never wait long, and a
 * run created meanwhile is never eligible (it is newer than the cutoff). Each deleted run is announced to `onDeleted`
 * once its batch is gone (the change feed coalesces them into few messages).
 */
export async function cleanupOldExecutions(
  store: ExecutionStore,
  settings: Settings,
  options: CleanupOptions = {},
  onDeleted?: (runs: DeletedRun[]) => void,
): Promise<CleanupResult> {
  const retentionDays = options.retentionDays ?? settings.retentionDays;
  const onlyCompleted = options.onlyCompleted ?? settings.cleanupOnlyCompleted;
  const batchSize = options.batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 30_000)
    throw new ValidationError('batchSize must be an integer between 1 and 30000', 'batchSize');
  if (typeof retentionDays !== 'number' || !Number.isFinite(retentionDays) || retentionDays <= 0) {
    return {
      deleted_count: 0,
      cutoff: null,
      retention_days: retentionDays,
      only_completed: onlyCompleted,
      skipped: true,
      reason: 'invalid_retention_days',
    };
  }
  const cutoff = new Date(Date.now() - retentionDays * DAY_MS);
  const dbCutoff = store.dialect.toDbDate(cutoff);
  const { db } = store;
  let deleted = 0;
  for (;;) {
    let select = db
      .selectFrom('agentcore_task_execution')
      .select(['id', 'task_id', 'status', 'created_by_id'])
      .where('created_at', '<', dbCutoff);
    if (onlyCompleted) select = select.where('status', 'in', COMPLETED);
    const rows = await select.limit(batchSize).execute();
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) break;
    // The conditions are repeated so a row that changed since the select is judged again.
    let remove = db.deleteFrom('agentcore_task_execution').where('id', 'in', ids).where('created_at', '<', dbCutoff);
    if (onlyCompleted) remove = remove.where('status', 'in', COMPLETED);
    const result = await remove.executeTakeFirst();
    const removed = Number(result.numDeletedRows);
    deleted += removed;
    options.onBatch?.(deleted);
    if (onDeleted) {
      // Announce exactly the rows that went: when a row changed between select and delete, ask which ones stayed.
      const kept =
        removed === ids.length
          ? new Set<string>()
          : new Set(
              (await db.selectFrom('agentcore_task_execution').select('id').where('id', 'in', ids).execute()).map((r) =>
                String(r.id),
              ),
            );
      onDeleted(
        rows
          .filter((r) => !kept.has(String(r.id)))
          .map((r) => ({
            id: Number(r.id),
            taskId: r.task_id,
            status: r.status as TaskStatusValue,
            createdById: r.created_by_id,
          })),
      );
    }
    if (ids.length < batchSize) break;
  }
  return {
    deleted_count: deleted,
    cutoff: cutoff.toISOString(),
    retention_days: retentionDays,
    only_completed: onlyCompleted,
  };
}
