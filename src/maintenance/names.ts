/** Names of the maintenance jobs: the record's module and task names, schedule ids, lock names and TTLs. */

/** Module recorded on the maintenance jobs' own runs. */
export const MAINTENANCE_MODULE = 'agentcore_task';

export const CLEANUP_TASK_NAME = 'cleanup_old_task_executions';
export const MARK_TIMEOUT_TASK_NAME = 'mark_timed_out_task_executions';

/** Schedule ids (the seed's Celery Beat keys; BullMQ job scheduler ids). */
export const CLEANUP_SCHEDULE_ID = 'agentcore-task-cleanup-old-executions';
export const MARK_TIMEOUT_SCHEDULE_ID = 'agentcore-task-mark-timed-out-executions';

/** Lock TTLs of `preventDuplicateTask` around each job, in seconds (a cleanup of a huge table may take long). */
export const CLEANUP_LOCK_TIMEOUT_SECONDS = 86_400;
export const MARK_TIMEOUT_LOCK_TIMEOUT_SECONDS = 3_600;

/** Rows per cleanup batch: progress is reported after each. */
export const DEFAULT_CLEANUP_BATCH_SIZE = 5_000;

/**
 * Rows per `DELETE` statement of cleanup while other sessions write (its gentle pace; the first statements too). Its
 * commit carries a full-page image of each page it touched (8 KB per ~35 rows): at 50 rows it is short, so a
 * concurrent writer's commit waits behind it only briefly (see PERFORMANCE.md). While nothing else writes, statements
 * grow up to the batch size.
 */
export const CLEANUP_STATEMENT_ROWS = 50;

/**
 * At its gentle pace, cleanup pauses this many times as long as each statement took (`pauseRatio`): it uses the
 * database a third of the time, and slows itself down further when the database is busy. At full speed (nothing else
 * writes) it does not pause.
 */
export const DEFAULT_CLEANUP_PAUSE_RATIO = 2;

/**
 * At full speed, a cleanup statement grows only while it takes about this long (ms) on PostgreSQL and MySQL/MariaDB: a
 * writer arriving meanwhile waits at most about that long before cleanup notices it and slows down.
 */
export const CLEANUP_MAX_STATEMENT_MS = 150;

/**
 * The same bound on SQLite, lower: a statement there holds the database's one write lock (and, in this process, the
 * event loop) for its whole length.
 */
export const SQLITE_MAX_STATEMENT_MS = 25;

/** Interval of the mark-timeout job when its crontab is invalid. */
export const MARK_TIMEOUT_FALLBACK_INTERVAL_HOURS = 1;

/** The two maintenance jobs. */
export type MaintenanceTaskName = typeof CLEANUP_TASK_NAME | typeof MARK_TIMEOUT_TASK_NAME;
