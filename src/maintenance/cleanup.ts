import { setTimeout as sleep } from 'node:timers/promises';
import { type ExpressionBuilder, type RawBuilder, sql } from 'kysely';
import { ValidationError } from '../errors.js';
import type { DeletedExecution } from '../realtime/feed.js';
import type { Settings } from '../settings.js';
import { TaskStatus } from '../status.js';
import { raiseCleanupCutoff } from '../store/cleanup-cutoff.js';
import type { ExecutionStore } from '../store/execution-store.js';
import type { Database } from '../store/schema.js';
import {
  CLEANUP_MAX_STATEMENT_MS,
  CLEANUP_STATEMENT_ROWS,
  DEFAULT_CLEANUP_BATCH_SIZE,
  DEFAULT_CLEANUP_PAUSE_RATIO,
  SQLITE_MAX_STATEMENT_MS,
} from './names.js';
import { ActivityMonitor, CleanupPacer } from './pacing.js';

/** Options of `cleanupOldExecutions`; absent ones come from the settings. */
export interface CleanupOptions {
  /** Delete runs created more than this many days ago. @defaultValue setting `retentionDays` (30) */
  retentionDays?: number;
  /** Only delete `SUCCESS`/`FAILURE`/`REVOKED` runs. @defaultValue setting `cleanupOnlyCompleted` (true) */
  onlyCompleted?: boolean;
  /**
   * Rows per batch, deleted in statements sized by the pacing (see `pauseRatio`) and then reported to `onBatch`. @defaultValue `5000`
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
  /**
   * The scheduled cleanup job and the `cleanup` command only: the compaction of the stats aggregates that followed
   * (see `Maintenance.compactAggregates`), when runs were deleted. An extension; the seed's result has no such field.
   */
  aggregates_compacted?: { scanned: number; folded: number; removed: number; ms: number };
}

const COMPLETED = [...TaskStatus.completed];
const DAY_MS = 86_400_000;
const TABLE = 'agentcore_task_execution';
const ANNOUNCED = ['id', 'task_id', 'status', 'created_by_id'] as const;

/** Where a walk stands: the newest `created_at` it deleted, as text that sorts like the column. */
interface Key {
  at: string;
}

/**
 * Deletes old runs in batches of `batchSize` rows (progress after each), each in statements whose size and pacing
 * adapt (see `CleanupPacer`): large and back to back while nothing else writes, small with pauses while writers are
 * busy. Nothing runs in a long transaction, and a run created meanwhile is never eligible (it is newer than the
 * cutoff).
 *
 * **Linear.** Each statement resumes at the newest `created_at` the previous one deleted, walking the `created_at`
 * index, so no row is read twice (but those of that one instant): old runs that are kept (PENDING/STARTED/RETRY with
 * `onlyCompleted`) are passed once and cost nothing after. Without a cursor, every statement would start from the
 * oldest row and step over the kept runs again, a cost that grows with the square of the rows deleted.
 *
 * On PostgreSQL and SQLite one `DELETE … WHERE id IN (SELECT … LIMIT n) RETURNING …` a statement; on MySQL/MariaDB a
 * select of the ids, then their delete. The runs each statement deleted are announced to `onDeleted` together (the
 * change feed sends them as one compact message).
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
  const { db, dialect } = store;
  // Stored before anything is deleted: the recovery of finished queue jobs must not bring these runs back.
  await raiseCleanupCutoff(db, dialect, cutoff);
  // The sort key as text that sorts like the column: UTC with fixed width, so keys compare as strings in Node.
  const keyAt: RawBuilder<string> =
    dialect.name === 'postgres'
      ? sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : dialect.name === 'mysql'
        ? sql<string>`cast(created_at as char)`
        : sql<string>`created_at`;

  /**
   * A column for a condition the index must not serve. SQLite's planner otherwise prefers the `(status, created_at)`
   * index for `status IN (…)` (one range per status, then a sort: every remaining eligible row read each time), and
   * walks all eligible rows to test them against the picked ids; `+column` (SQLite's no-op) keeps those terms as plain
   * filters. PostgreSQL and MySQL choose well by themselves.
   */
  const filterOnly = <T>(column: 'status' | 'created_at') =>
    dialect.name === 'sqlite' ? sql<T>`+${sql.ref(column)}` : sql<T>`${sql.ref(column)}`;
  /** The runs cleanup may delete; `lookup`: only as a re-check of rows found by id. */
  const eligible =
    (lookup = false) =>
    (eb: ExpressionBuilder<Database, typeof TABLE>) => {
      const createdAt = lookup ? filterOnly<Date | string>('created_at') : sql.ref<Date | string>('created_at');
      const old = eb(createdAt, '<', dbCutoff);
      return onlyCompleted ? eb.and([old, eb(filterOnly<string>('status'), 'in', COMPLETED)]) : old;
    };
  /**
   * Up to `limit` eligible runs from `key` on, in the order of the `created_at` index. Every eligible row before `key`
   * is gone and every kept one was passed, so `>=` only steps again over the rows of that one instant (deleted already,
   * kept, or not picked yet). Ties are not ordered by id: PostgreSQL's index keeps equal keys in physical order, and
   * sorting by id would read the whole remaining range every time.
   */
  const pick = (key: Key | null, limit: number) => {
    let q = db.selectFrom(TABLE).where(eligible());
    if (key) q = q.where('created_at', '>=', key.at);
    return q.orderBy('created_at').limit(limit);
  };

  /** Deletes up to `limit` runs of one walk: how many it found, the rows that went, and where the walk stands. */
  const deleteSome = async (
    key: Key | null,
    limit: number,
  ): Promise<{ found: number; removed: number; gone: AnnouncedRow[]; key: Key | null }> => {
    if (dialect.supportsReturning) {
      // One statement picks, deletes and returns the rows: no ids travel to Node and back. The conditions are
      // repeated outside so that a row changed meanwhile is judged again. On PostgreSQL `id = any(array(…))` makes
      // the delete look the picked ids up by primary key (with `in (…)` the planner may hash-join all eligible rows).
      const picked = pick(key, limit).select('id');
      const gone = await db
        .deleteFrom(TABLE)
        .where(dialect.name === 'postgres' ? sql<boolean>`id = any(array(${picked}))` : (eb) => eb('id', 'in', picked))
        .where(eligible(true))
        .returning([...ANNOUNCED, keyAt.as('key_at')])
        .execute();
      let last = key;
      for (const row of gone) {
        const at = String(row.key_at);
        if (!last || at > last.at) last = { at };
      }
      return { found: gone.length, removed: gone.length, gone, key: last };
    }
    // MySQL cannot delete from a table it selects from, nor return deleted rows: select, then delete those ids.
    const rows = await pick(key, limit)
      .select([...ANNOUNCED, keyAt.as('key_at')])
      .execute();
    if (rows.length === 0) return { found: 0, removed: 0, gone: [], key };
    const lastRow = rows[rows.length - 1];
    const next = { at: String(lastRow.key_at) };
    const ids = rows.map((r) => r.id);
    const result = await db.deleteFrom(TABLE).where('id', 'in', ids).where(eligible(true)).executeTakeFirst();
    const removed = Number(result.numDeletedRows);
    if (removed === ids.length || !onDeleted) return { found: rows.length, removed, gone: rows, key: next };
    // Announce exactly the rows that went: when a row changed between select and delete, ask which ones stayed.
    const stayed = await db.selectFrom(TABLE).select('id').where('id', 'in', ids).execute();
    const kept = new Set(stayed.map((r) => String(r.id)));
    return { found: rows.length, removed, gone: rows.filter((r) => !kept.has(String(r.id))), key: next };
  };

  const pacer = new CleanupPacer({
    gentleRows: Math.min(CLEANUP_STATEMENT_ROWS, batchSize),
    maxRows: batchSize,
    pauseRatio,
    maxStatementMs: dialect.name === 'sqlite' ? SQLITE_MAX_STATEMENT_MS : CLEANUP_MAX_STATEMENT_MS,
  });
  const activity = await ActivityMonitor.start(db, dialect.name);
  let deleted = 0;
  let inBatch = 0;
  let key: Key | null = null;
  for (let more = true; more; ) {
    const limit = Math.min(pacer.size, batchSize - inBatch);
    const started = performance.now();
    const some = await deleteSome(key, limit);
    const took = performance.now() - started;
    key = some.key;
    inBatch += some.found;
    deleted += some.removed;
    activity.deleted(some.removed);
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
    if (inBatch >= batchSize) {
      options.onBatch?.(deleted);
      inBatch = 0;
    }
    more = some.found >= limit;
    if (!more) break;
    await activity.poll();
    const pause = pacer.observe(limit, took, activity.state);
    if (pause > 0) await sleep(pause);
  }
  if (inBatch > 0) options.onBatch?.(deleted);
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
