import type { TaskStatusValue } from './status.js';

/** Who started a run: the host application's user. `null` for system and scheduled runs. */
export type CreatedBy = { id: string | number; username?: string | null } | null;

/** One task run, as the library returns it (camelCase). The REST API serializes it to the seed's snake_case. */
export interface TaskExecution {
  id: number;
  taskId: string;
  taskName: string;
  module: string;
  status: TaskStatusValue;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Last write of any kind: the run's sign of life. */
  updatedAt: Date;
  taskArgs: unknown[];
  taskKwargs: Record<string, unknown>;
  result: unknown;
  error: string | null;
  traceback: string | null;
  /** In the JSON type it was given: integer ids come back as numbers. */
  createdById: string | number | null;
  createdByUsername: string | null;
  queueName: string | null;
  metadata: Record<string, unknown>;
  /** Seconds: finished − started; running: now − started; otherwise null. */
  duration: number | null;
  isCompleted: boolean;
  isRunning: boolean;
}

/** Arguments of `registerTaskExecution`. */
export interface RegisterTaskInput {
  /** The queue's job id, or any unique id (at most 255 characters). */
  taskId: string;
  /** E.g. `billing.send_invoice` or the BullMQ job name. */
  taskName: string;
  /** Business scope, e.g. `billing` (at most 100 characters). */
  module: string;
  /** @defaultValue `[]` */
  taskArgs?: unknown[];
  /** @defaultValue `{}` */
  taskKwargs?: Record<string, unknown>;
  createdBy?: CreatedBy;
  /** @defaultValue `{}` */
  metadata?: Record<string, unknown>;
  /** `STARTED` for scheduled runs with no dispatcher (sets `started_at`). @defaultValue `PENDING` */
  initialStatus?: TaskStatusValue;
  /** The BullMQ queue that holds the job. */
  queueName?: string | null;
}

/** Optional fields of `updateTaskStatus`. Only the fields given are written; `metadata` is merged, never replaced. */
export interface UpdateTaskInput {
  result?: unknown;
  error?: string | null;
  traceback?: string | null;
  metadata?: Record<string, unknown>;
}

/** What `reportProgress` writes (as `progress_percent`, `progress_message`, `progress_step`, plus extra keys). */
export interface ProgressInput {
  /** 0–100, clamped and rounded. */
  percent?: number;
  message?: string;
  step?: string;
  [extra: string]: unknown;
}

/** Filters of `listTaskExecutions` and `getTaskStats` (the library side of the REST query parameters). */
export interface ExecutionFilters {
  module?: string;
  taskName?: string;
  status?: TaskStatusValue;
  /** Only runs created by this user id. `null`: only runs with no creator. */
  createdById?: string | number | null;
  /** ISO date or datetime (or a `Date`): `created_at >= startDate`. */
  startDate?: string | Date;
  /** ISO date or datetime: `created_at <= endDate`; a date-only value includes that whole day. */
  endDate?: string | Date;
  /** Case-insensitive substring of `task_name` or `task_id`. */
  search?: string;
  /** Exact match on top-level metadata keys (`[A-Za-z0-9_]+`), compared as text. */
  metadata?: Record<string, string>;
}

/** Allowed `ordering` values (each may be prefixed with `-`). */
export const ORDERING_FIELDS = ['created_at', 'started_at', 'finished_at', 'status', 'task_name'] as const;
export type OrderingField = (typeof ORDERING_FIELDS)[number];

/** Paging of `listTaskExecutions`. */
export interface PageOptions {
  /** @defaultValue `1` */
  page?: number;
  /** Clamped to 1–100. @defaultValue `10` */
  pageSize?: number;
  /** @defaultValue `'-created_at'` */
  ordering?: string;
  /**
   * Keyset paging: the `nextCursor` or `previousCursor` of a page. The page starts right after (or ends right before)
   * that position, at a cost that does not grow with depth; `page` is then ignored.
   */
  cursor?: string;
}

export interface ExecutionPage {
  /**
   * Runs matching the filters: exact when `countIsExact` is true; otherwise (a large list the maintained counts
   * cannot answer) an estimate, known to be above the exact bound.
   */
  count: number;
  /** `false` when `count` is an estimate. Absent on pages made by other means. */
  countIsExact?: boolean;
  page: number;
  pageSize: number;
  results: TaskExecution[];
  /** Cursor of the next page, or null when this is the last one. */
  nextCursor?: string | null;
  /** Cursor of the previous page, or null when this is the first one. */
  previousCursor?: string | null;
}

/** Counts per status. */
export interface StatusCounts {
  total: number;
  pending: number;
  started: number;
  success: number;
  failure: number;
  retry: number;
  revoked: number;
}

/** `getTaskStats` result, in the wire shape of the seed. */
export interface TaskStats extends StatusCounts {
  by_module: Record<string, StatusCounts>;
  by_task_name: Record<string, StatusCounts>;
  series?: Array<{ bucket: string; count: number }>;
  /** Extension: with `granularity`, the same buckets as `series` with their counts by status. */
  series_by_status?: Array<{ bucket: string; counts: StatusCounts }>;
  /** Extension: with `durations`, run time percentiles of completed runs per task name (see `DurationFigures`). */
  duration_by_task_name?: Record<string, DurationFigures>;
}

/**
 * Run time (`finished_at − started_at`, seconds) of the completed runs of one task name: the median, the 95th
 * percentile (linear interpolation, as PostgreSQL's `percentile_cont`) and how many runs they are computed over.
 */
export interface DurationFigures {
  p50: number;
  p95: number;
  /** Completed runs with a start and an end in the filtered range. */
  count: number;
  /**
   * `true` when the percentiles are over the latest `DURATION_SAMPLE_SIZE` runs of the name only (MySQL/MariaDB and
   * SQLite beyond that many runs); absent when exact over all `count` runs.
   */
  sampled?: true;
}

export interface StatsOptions extends ExecutionFilters {
  granularity?: 'day' | 'month' | 'year';
  /** Add `duration_by_task_name` (reads the execution table; the counts may come from the aggregates). */
  durations?: boolean;
}
