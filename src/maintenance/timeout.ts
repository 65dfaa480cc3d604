import { type ExpressionBuilder, sql } from 'kysely';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../settings.js';
import { TaskStatus } from '../status.js';
import { decodeCreatedById, rowToExecution } from '../store/row.js';
import type { Database } from '../store/schema.js';
import type { TaskTracker } from '../tracker/tracker.js';

/** Options of `markTimedOutExecutions`; absent ones come from the settings. */
export interface MarkTimeoutOptions {
  /** A `STARTED` run with no sign of life for this many minutes is marked. @defaultValue setting `timeoutMinutes` (10) */
  timeoutMinutes?: number;
  /** Unfinished runs synced from the queue first, at most. @defaultValue `1000` */
  maxSync?: number;
}

/** What the timeout job returns (snake_case, as the seed's task result). */
export interface MarkTimeoutResult {
  updated_count: number;
  timeout_minutes: number;
  /** ISO time: runs that started and were last heard of before it were eligible. `null` when skipped. */
  cutoff: string | null;
  /** Unfinished runs read from the queue before marking. */
  synced_count: number;
  /** Of those, runs whose status the sync changed. */
  synced_updated_count: number;
  /** Set when nothing was done because `timeoutMinutes` is not positive (as the Django module answers). */
  skipped?: true;
  reason?: 'invalid_timeout_minutes';
}

/** Candidates read per query when the queue is asked about each (keyset-paged by id). */
const PAGE = 500;
/** Runs marked per statement when no queue is asked: set-based, no candidate read. */
const MARK_BATCH = 5000;

interface MarkedRow {
  id: number | string;
  task_id: string;
  created_by_id: string | null;
}
/** Queue lookups in flight at once. */
const ACTIVE_CHECKS = 16;

/** The error text of a timed-out run (the seed's wording). */
export function timeoutError(timeoutMinutes: number, cutoff: Date): string {
  return `Task timeout (exceeded ${timeoutMinutes} minutes, started before ${cutoff.toISOString()})`;
}

/**
 * Marks as `FAILURE` the `STARTED` runs that started before the cutoff, have shown no sign of life (`updated_at`)
 * since, and that the queue does not report active. Judging by liveness, not start time, keeps long healthy runs
 * (which send heartbeats) alive. The final `UPDATE` repeats the conditions, so a run that completed or sent a
 * heartbeat after it was selected is left alone: a concurrent `SUCCESS` is never overwritten.
 */
export async function markTimedOutExecutions(
  tracker: TaskTracker,
  settings: Settings,
  logger: Logger,
  options: MarkTimeoutOptions = {},
): Promise<MarkTimeoutResult> {
  const timeoutMinutes = options.timeoutMinutes ?? settings.timeoutMinutes;
  // A timeout of zero or less would mark every STARTED run dead: answer "skipped" as the Django module (and cleanup
  // for its own bad input) does, so a scheduled job with such a setting records a no-op instead of a failure.
  if (typeof timeoutMinutes === 'number' && (timeoutMinutes <= 0 || Number.isNaN(timeoutMinutes)))
    return {
      updated_count: 0,
      skipped: true,
      reason: 'invalid_timeout_minutes',
      timeout_minutes: timeoutMinutes,
      cutoff: null,
      synced_count: 0,
      synced_updated_count: 0,
    };
  if (!Number.isInteger(timeoutMinutes))
    throw new ValidationError('timeoutMinutes must be a positive integer', 'timeoutMinutes');
  const source = tracker.queueSource;
  let synced = { synced_count: 0, updated_count: 0 };
  if (source) {
    try {
      synced = await tracker.syncAllUnfinished({ max: options.maxSync ?? 1000 });
    } catch (error) {
      logger.warn(
        { err: error },
        'agentcore-task: sync before marking timed-out runs failed; marking by liveness only',
      );
    }
  }

  const { db, dialect } = tracker.store;
  const now = new Date();
  const cutoff = new Date(now.getTime() - timeoutMinutes * 60_000);
  const dbCutoff = dialect.toDbDate(cutoff);
  const dbNow = dialect.toDbDate(now);
  const error = timeoutError(timeoutMinutes, cutoff);
  const stale = (eb: ExpressionBuilder<Database, 'agentcore_task_execution'>) =>
    eb.and([
      eb('status', '=', TaskStatus.STARTED),
      eb('updated_at', '<', dbCutoff),
      eb.or([eb('started_at', '<', dbCutoff), eb('started_at', 'is', null)]),
    ]);
  /** Marks the runs with these ids that are still stale (the conditions are repeated: a late SUCCESS or heartbeat wins). */
  const mark = async (ids: number[] | null): Promise<number> => {
    let query = db
      .updateTable('agentcore_task_execution')
      .set({ error, finished_at: sql`coalesce(finished_at, ${dbNow})`, updated_at: dbNow, status: TaskStatus.FAILURE })
      .where(stale);
    // No liveness check: one set-based statement per batch, no candidate read at all (PostgreSQL, SQLite).
    if (ids === null)
      query = query.where('id', 'in', (eb) =>
        eb.selectFrom('agentcore_task_execution').select('id').where(stale).orderBy('id').limit(MARK_BATCH),
      );
    else query = query.where('id', 'in', ids);
    const marked = (await query.returning(['id', 'task_id', 'created_by_id']).execute()) as MarkedRow[];
    announce(marked);
    return marked.length;
  };
  const announce = (marked: MarkedRow[]) => {
    for (const row of marked)
      tracker.emit(
        {
          id: Number(row.id),
          taskId: row.task_id,
          status: TaskStatus.FAILURE,
          createdById: decodeCreatedById(row.created_by_id),
        },
        'updated',
      );
  };
  /** MySQL has no RETURNING: mark by ids, then read back which of them this call marked. */
  const markWithoutReturning = async (ids: number[]): Promise<number> => {
    if (ids.length === 0) return 0;
    await db
      .updateTable('agentcore_task_execution')
      .set({ error, finished_at: sql`coalesce(finished_at, ${dbNow})`, updated_at: dbNow, status: TaskStatus.FAILURE })
      .where(stale)
      .where('id', 'in', ids)
      .execute();
    const marked = await db
      .selectFrom('agentcore_task_execution')
      .select(['id', 'task_id', 'created_by_id'])
      .where('id', 'in', ids)
      .where('status', '=', TaskStatus.FAILURE)
      .where('error', '=', error)
      .where('updated_at', '=', dbNow)
      .execute();
    announce(marked);
    return marked.length;
  };

  let updated = 0;
  if (!source?.isActive && dialect.supportsReturning) {
    for (;;) {
      const n = await mark(null);
      updated += n;
      if (n < MARK_BATCH) break;
    }
  } else {
    let afterId = 0;
    let activeCheckFailed = false;
    const withLiveness = source?.isActive !== undefined;
    for (;;) {
      // The liveness check needs whole runs (queue name, job id); without one, ids are enough.
      const base = db.selectFrom('agentcore_task_execution').where(stale).where('id', '>', afterId).orderBy('id');
      const rows = withLiveness
        ? await base.selectAll().limit(PAGE).execute()
        : await base.select('id').limit(MARK_BATCH).execute();
      if (rows.length === 0) break;
      afterId = Number(rows[rows.length - 1].id);
      let ids = rows.map((r) => Number(r.id));
      if (source?.isActive) {
        const isActive = source.isActive.bind(source);
        const inactive: number[] = [];
        for (let i = 0; i < rows.length; i += ACTIVE_CHECKS) {
          const chunk = rows.slice(i, i + ACTIVE_CHECKS).map((r) => rowToExecution(r, dialect));
          const answers = await Promise.all(
            chunk.map((execution) =>
              isActive(execution).catch((err: unknown) => {
                // Unknown is not "dead": leave the run for the next pass rather than fail a job that may be running.
                if (!activeCheckFailed)
                  logger.warn({ err }, 'agentcore-task: the queue could not say whether runs are active');
                activeCheckFailed = true;
                return true;
              }),
            ),
          );
          chunk.forEach((execution, k) => {
            if (!answers[k]) inactive.push(execution.id);
          });
        }
        ids = inactive;
      }
      if (ids.length > 0) updated += dialect.supportsReturning ? await mark(ids) : await markWithoutReturning(ids);
      if (rows.length < (withLiveness ? PAGE : MARK_BATCH)) break;
    }
  }
  return {
    updated_count: updated,
    timeout_minutes: timeoutMinutes,
    cutoff: cutoff.toISOString(),
    synced_count: synced.synced_count,
    synced_updated_count: synced.updated_count,
  };
}
