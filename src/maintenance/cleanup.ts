import { setTimeout as sleep } from 'node:timers/promises';
import type { ExpressionBuilder } from 'kysely';
import { ValidationError } from '../errors.js';
import type { DeletedExecution } from '../realtime/feed.js';
import type { Settings } from '../settings.js';
import { TaskStatus } from '../status.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Database } from '../store/schema.js';
import { CLEANUP_STATEMENT_ROWS, DEFAULT_CLEANUP_BATCH_SIZE, DEFAULT_CLEANUP_PAUSE_RATIO } from './names.js';

/** Options of `cleanupOldExecutions`; absent ones come from the settings. */
export interface CleanupOptions {
  /** Delete runs created more than this many days ago. @defaultValue setting `retentionDays` (30) */
  retentionDays?: number;
  /** Only delete `SUCCESS`/`FAILURE`/`REVOKED` runs. @defaultValue setting `cleanupOnlyCompleted` (true) */
  onlyCompleted?: boolean;
  /**
   * Rows per batch, deleted in statements of at most 100 rows and then reported to `onBatch`. @defaultValue `5000`
   */
  batchSize?: number;
  /**
   * After each statement, cleanup pauses this many times as long as the statement took, so that concurrent writers
   * find the database (its CPU, its write-ahead log) free most of the time; a busy database makes statements slower
   * and so the pauses longer. `0` deletes flat out, in less than half the time, at the cost of the writers' latency
   * meanwhile. @defaultValue `2`
   *
   * @example
   * await tasks.maintenance.cleanupOldExecutions({ pauseRatio: 0 }); // in a maintenance window: as fast as it goes
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
const TABLE = 'agentcore_task_execution';
const ANNOUNCED = ['id', 'task_id', 'status', 'created_by_id'] as const;

/**
 * Deletes old runs in batches of `batchSize`, each in statements of at most 100 rows (on PostgreSQL and SQLite one
 * `DELETE … WHERE id IN (SELECT … LIMIT 100) RETURNING …` each; on MySQL a select of the ids, then their delete),
 * pausing after each statement. Nothing runs in a long transaction, and a run created meanwhile is never eligible (it
 * is newer than the cutoff). Small statements with pauses keep concurrent writers fast: one 5000-row `DELETE` runs for
 * tens of milliseconds and commits a burst of write-ahead log (full-page images of every page it touches) that every
 * commit meanwhile waits behind. The runs each statement deleted are announced to `onDeleted` together (the change
 * feed sends them as one compact message).
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
  /** The runs cleanup may delete. */
  const eligible = (eb: ExpressionBuilder<Database, typeof TABLE>) =>
    onlyCompleted
      ? eb.and([eb('created_at', '<', dbCutoff), eb('status', 'in', COMPLETED)])
      : eb('created_at', '<', dbCutoff);
  /** Deletes up to `limit` eligible runs: how many it found, how many went, and the ones that went. */
  const deleteSome = async (limit: number): Promise<{ found: number; removed: number; gone: AnnouncedRow[] }> => {
    if (store.dialect.supportsReturning) {
      // One statement picks, deletes and returns the rows: no ids travel to Node and back. The conditions are
      // repeated outside so that a row changed meanwhile is judged again.
      const picked = db.selectFrom(TABLE).select('id').where(eligible).limit(limit);
      const gone = await db.deleteFrom(TABLE).where('id', 'in', picked).where(eligible).returning(ANNOUNCED).execute();
      return { found: gone.length, removed: gone.length, gone };
    }
    // MySQL cannot delete from a table it selects from, nor return deleted rows: select, then delete those ids.
    const rows = await db.selectFrom(TABLE).select(ANNOUNCED).where(eligible).limit(limit).execute();
    if (rows.length === 0) return { found: 0, removed: 0, gone: [] };
    const ids = rows.map((r) => r.id);
    const result = await db.deleteFrom(TABLE).where('id', 'in', ids).where(eligible).executeTakeFirst();
    const removed = Number(result.numDeletedRows);
    if (removed === ids.length || !onDeleted) return { found: rows.length, removed, gone: rows };
    // Announce exactly the rows that went: when a row changed between select and delete, ask which ones stayed.
    const stayed = await db.selectFrom(TABLE).select('id').where('id', 'in', ids).execute();
    const kept = new Set(stayed.map((r) => String(r.id)));
    return { found: rows.length, removed, gone: rows.filter((r) => !kept.has(String(r.id))) };
  };
  let deleted = 0;
  for (let more = true; more; ) {
    let found = 0;
    while (found < batchSize) {
      const limit = Math.min(CLEANUP_STATEMENT_ROWS, batchSize - found);
      const started = performance.now();
      const some = await deleteSome(limit);
      found += some.found;
      deleted += some.removed;
      // Announced a statement at a time: a whole batch at once is a burst of notifications every process receives.
      if (onDeleted && some.gone.length > 0)
        onDeleted(
          some.gone.map((r) => ({
            id: Number(r.id),
            task_id: r.task_id,
            status: r.status,
            created_by_id: r.created_by_id,
          })),
        );
      if (some.found < limit) {
        more = false;
        break;
      }
      // Rest as long as the statement took (times pauseRatio): writers get the database back between statements.
      if (pauseRatio > 0) await sleep((performance.now() - started) * pauseRatio);
    }
    if (found > 0) options.onBatch?.(deleted);
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
