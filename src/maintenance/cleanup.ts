import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '../errors.js';
import type { DeletedExecution } from '../realtime/feed.js';
import type { Settings } from '../settings.js';
import { TaskStatus } from '../status.js';
import type { ExecutionStore } from '../store/execution-store.js';
import { CLEANUP_STATEMENT_ROWS, DEFAULT_CLEANUP_BATCH_SIZE, DEFAULT_CLEANUP_PAUSE_RATIO } from './names.js';

/** Options of `cleanupOldExecutions`; absent ones come from the settings. */
export interface CleanupOptions {
  /** Delete runs created more than this many days ago. @defaultValue setting `retentionDays` (30) */
  retentionDays?: number;
  /** Only delete `SUCCESS`/`FAILURE`/`REVOKED` runs. @defaultValue setting `cleanupOnlyCompleted` (true) */
  onlyCompleted?: boolean;
  /**
   * Rows per batch: selected together, deleted (in statements of at most 500 rows), then reported to `onBatch` and
   * announced on the change feed together. @defaultValue `5000`
   */
  batchSize?: number;
  /**
   * After each statement, cleanup pauses this many times as long as the statement took, so that concurrent writers
   * find the database (its CPU, its write-ahead log) free most of the time. `0` deletes flat out, about half as long
   * in total, at the cost of the writers' latency meanwhile. @defaultValue `1`
   */
  pauseRatio?: number;
  /** Called after each batch with the number of rows deleted so far (progress for the CLI). */
  onBatch?: (deletedSoFar: number) => void;
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
const ANNOUNCED = ['id', 'task_id', 'status', 'created_by_id'] as const;

/**
 * Deletes old runs in batches: select up to `batchSize` ids, delete them in statements of at most 500 rows, repeat.
 * Nothing runs in a long transaction, and a run created meanwhile is never eligible (it is newer than the cutoff).
 * Small statements with a pause after each keep concurrent writers fast: a 5000-row `DELETE` runs for tens of
 * milliseconds and commits a burst of write-ahead log that every commit meanwhile waits behind. Each batch's deleted
 * runs are announced to `onDeleted` together once the batch is gone (the change feed sends them as a few compact
 * messages).
 */
export async function cleanupOldExecutions(
  store: ExecutionStore,
  settings: Settings,
  options: CleanupOptions = {},
  onDeleted?: (runs: DeletedExecution[]) => void,
): Promise<CleanupResult> {
  const retentionDays = options.retentionDays ?? settings.retentionDays;
  const onlyCompleted = options.onlyCompleted ?? settings.cleanupOnlyCompleted;
  const batchSize = options.batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE;
  const pauseRatio = options.pauseRatio ?? DEFAULT_CLEANUP_PAUSE_RATIO;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 30_000)
    throw new ValidationError('batchSize must be an integer between 1 and 30000', 'batchSize');
  if (typeof pauseRatio !== 'number' || !Number.isFinite(pauseRatio) || pauseRatio < 0 || pauseRatio > 100)
    throw new ValidationError('pauseRatio must be a number between 0 and 100', 'pauseRatio');
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
  // Where DELETE … RETURNING exists, the batch select reads only ids and each DELETE returns what is announced:
  // reading 5000 full rows at once is itself a burst the writers feel.
  const returning = store.dialect.supportsReturning;
  /** Runs `statement`, then rests `pauseRatio` times as long as it took. */
  const paced = async <T>(statement: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await statement();
    if (pauseRatio > 0) await sleep((performance.now() - started) * pauseRatio);
    return result;
  };
  let deleted = 0;
  for (;;) {
    let select = db
      .selectFrom('agentcore_task_execution')
      .select(returning ? ['id'] : ANNOUNCED)
      .where('created_at', '<', dbCutoff);
    if (onlyCompleted) select = select.where('status', 'in', COMPLETED);
    const rows: Array<{ id: number | string } & Partial<AnnouncedRow>> = await paced(() =>
      select.limit(batchSize).execute(),
    );
    if (rows.length === 0) break;
    const gone: AnnouncedRow[] = [];
    for (let i = 0; i < rows.length; i += CLEANUP_STATEMENT_ROWS) {
      const chunk = rows.slice(i, i + CLEANUP_STATEMENT_ROWS);
      const ids = chunk.map((r) => r.id);
      // The conditions are repeated so a row that changed since the select is judged again.
      let remove = db.deleteFrom('agentcore_task_execution').where('id', 'in', ids).where('created_at', '<', dbCutoff);
      if (onlyCompleted) remove = remove.where('status', 'in', COMPLETED);
      if (returning) {
        const removed = await paced(() => remove.returning(ANNOUNCED).execute());
        deleted += removed.length;
        gone.push(...removed);
        continue;
      }
      const removed = Number((await paced(() => remove.executeTakeFirst())).numDeletedRows);
      deleted += removed;
      if (!onDeleted) continue;
      // Announce exactly the rows that went: when a row changed between select and delete, ask which ones stayed.
      const kept =
        removed === ids.length
          ? new Set<string>()
          : new Set(
              (await db.selectFrom('agentcore_task_execution').select('id').where('id', 'in', ids).execute()).map((r) =>
                String(r.id),
              ),
            );
      for (const row of chunk) if (!kept.has(String(row.id))) gone.push(row as AnnouncedRow);
    }
    options.onBatch?.(deleted);
    if (onDeleted && gone.length > 0)
      onDeleted(
        gone.map((r) => ({ id: Number(r.id), task_id: r.task_id, status: r.status, created_by_id: r.created_by_id })),
      );
    if (rows.length < batchSize) break;
  }
  return {
    deleted_count: deleted,
    cutoff: cutoff.toISOString(),
    retention_days: retentionDays,
    only_completed: onlyCompleted,
  };
}

interface AnnouncedRow {
  id: number | string;
  task_id: string;
  status: string;
  created_by_id: string | null;
}
