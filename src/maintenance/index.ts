import { silentLogger } from '../logger.js';
import { type CompactOptions, type CompactResult, compactAggregates } from '../store/aggregates/index.js';
import { type CleanupOptions, type CleanupResult, cleanupOldExecutions } from './cleanup.js';
import type { MaintenanceHost } from './host.js';
import { MAINTENANCE_JOBS, type MaintenanceJobResult, type MaintenanceRunOptions, runMaintenanceJob } from './jobs.js';
import { CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME, type MaintenanceTaskName } from './names.js';
import {
  type CleanupScheduleOptions,
  cleanupSchedule,
  type MaintenanceSchedule,
  markTimeoutSchedule,
} from './schedule.js';
import { type SchedulerOptions, type StopScheduler, startScheduler } from './scheduler.js';
import { type MarkTimeoutOptions, type MarkTimeoutResult, markTimedOutExecutions } from './timeout.js';

export type { CleanupOptions, CleanupResult } from './cleanup.js';
export type { MaintenanceHost } from './host.js';
export type { AlreadyRunResult, DisabledJobResult, MaintenanceJobResult, MaintenanceRunOptions } from './jobs.js';
export * from './names.js';
export type { CleanupScheduleOptions, MaintenanceSchedule } from './schedule.js';
export type { SchedulerOptions, StopScheduler } from './scheduler.js';
export { type MarkTimeoutOptions, type MarkTimeoutResult, timeoutError } from './timeout.js';

/**
 * The maintenance jobs: retention cleanup and timeout marking, callable directly, as self-recording
 * lock-guarded jobs, or on their schedules (`startScheduler`, or BullMQ's `scheduleMaintenance`).
 */
export class Maintenance {
  constructor(private readonly host: MaintenanceHost) {}

  /**
   * Deletes runs created more than `retentionDays` ago (only completed ones unless `onlyCompleted: false`), in
   * batches. Returns `{ deleted_count, cutoff, retention_days, only_completed }`.
   *
   * @example
   * const { deleted_count } = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 7 });
   */
  async cleanupOldExecutions(options: CleanupOptions = {}): Promise<CleanupResult> {
    const { tracker, feed, logger } = this.host;
    return cleanupOldExecutions(tracker.store, await this.host.settings.get(), options, (runs) => {
      // One announcement per batch: the feed sends it as a few compact messages, not one change per run.
      feed.publishDeleted(runs).catch((error) => {
        logger.warn({ err: error }, 'agentcore-task: change notification failed');
      });
    });
  }

  /**
   * Compacts the stats aggregates (`agentcore_task_stats`): rows that count 0 (left by deleted runs' hours, days and
   * creators) go, and the shard rows of each key fold into one, keeping every count exact while writers run. The
   * scheduled cleanup job and the `cleanup` command run it after a cleanup that deleted runs; its cost grows with the
   * aggregate table (about 1 s per 150,000 rows on PostgreSQL), not with what cleanup deleted.
   *
   * @example
   * const { folded, removed } = await tasks.maintenance.compactAggregates();
   */
  async compactAggregates(options: CompactOptions = {}): Promise<CompactResult> {
    const { store } = this.host.tracker;
    return compactAggregates(store.db, store.dialect.name, options);
  }

  /**
   * Cleanup followed by compaction (when it deleted runs): the scheduled job's work, and the `cleanup` command's. A
   * failed compaction is a warning; the cleanup's result stands.
   *
   * @internal
   */
  async cleanupAndCompact(options: CleanupOptions): Promise<CleanupResult> {
    const result = await this.cleanupOldExecutions(options);
    if (result.deleted_count === 0) return result;
    try {
      const started = performance.now();
      const compacted = await this.compactAggregates();
      const { scanned, folded, removed } = compacted;
      return {
        ...result,
        aggregates_compacted: { scanned, folded, removed, ms: Math.round(performance.now() - started) },
      };
    } catch (error) {
      this.host.logger.warn({ err: error }, 'agentcore-task: compacting the stats aggregates after cleanup failed');
      return result;
    }
  }

  /**
   * Syncs unfinished runs from the queue (when a queue source is set), then marks as `FAILURE` the `STARTED` runs with
   * no sign of life for `timeoutMinutes` that the queue does not report active. Returns
   * `{ updated_count, timeout_minutes, cutoff, synced_count, synced_updated_count }`.
   */
  async markTimedOutExecutions(options: MarkTimeoutOptions = {}): Promise<MarkTimeoutResult> {
    return markTimedOutExecutions(this.host.tracker, await this.host.settings.get(), this.host.logger, options);
  }

  /**
   * The scheduled cleanup job: `{ skipped: true, reason: 'cleanup_disabled' }` when disabled, else cleanup under the
   * `cleanup_old_task_executions` lock (TTL 86400 s), recorded as a run of module `agentcore_task`; when it deleted
   * runs, `compactAggregates` follows (its figures in `aggregates_compacted`; a failure there is a warning).
   */
  runCleanupJob(options: MaintenanceRunOptions & CleanupOptions = {}): Promise<MaintenanceJobResult<CleanupResult>> {
    const { taskId, queueName, scheduledAt, ...params } = options;
    return runMaintenanceJob(this.host, CLEANUP_TASK_NAME, () => this.cleanupAndCompact(params), {
      taskId,
      queueName,
      scheduledAt,
    });
  }

  /**
   * The scheduled timeout job: `{ skipped: true, reason: 'mark_timeout_disabled' }` when disabled, else marking under
   * the `mark_timed_out_task_executions` lock (TTL 3600 s), recorded as a run of module `agentcore_task`.
   */
  runMarkTimeoutJob(
    options: MaintenanceRunOptions & MarkTimeoutOptions = {},
  ): Promise<MaintenanceJobResult<MarkTimeoutResult>> {
    const { taskId, queueName, scheduledAt, ...params } = options;
    return runMaintenanceJob(this.host, MARK_TIMEOUT_TASK_NAME, () => this.markTimedOutExecutions(params), {
      taskId,
      queueName,
      scheduledAt,
    });
  }

  /** Runs the job named `taskName` (`cleanup_old_task_executions` or `mark_timed_out_task_executions`). */
  runJob(taskName: MaintenanceTaskName, options: MaintenanceRunOptions = {}): Promise<MaintenanceJobResult<unknown>> {
    if (taskName === CLEANUP_TASK_NAME) return this.runCleanupJob(options);
    return this.runMarkTimeoutJob(options);
  }

  /**
   * The cleanup schedule entry (`[]` when disabled): the crontab, or an interval of `intervalHours` (default
   * `cleanupBeatIntervalHours`) when the crontab is invalid, with a warning.
   */
  async getCleanupSchedule(options: CleanupScheduleOptions = {}): Promise<MaintenanceSchedule[]> {
    return cleanupSchedule(await this.host.settings.get(), this.host.logger, options);
  }

  /** The mark-timeout schedule entry (`[]` when disabled): the crontab, or every hour when it is invalid (warning). */
  async getMarkTimeoutSchedule(): Promise<MaintenanceSchedule[]> {
    return markTimeoutSchedule(await this.host.settings.get(), this.host.logger);
  }

  /**
   * Runs both jobs in this process on their schedules, for hosts without BullMQ. Safe to start in every instance:
   * each scheduled tick runs once across all of them. Returns a function that stops it.
   */
  startScheduler(options: SchedulerOptions = {}): Promise<StopScheduler> {
    return startScheduler(
      {
        host: this.host,
        schedules: async (quiet) => {
          const settings = await this.host.settings.get();
          const logger = quiet ? silentLogger : this.host.logger;
          return [...cleanupSchedule(settings, logger), ...markTimeoutSchedule(settings, logger)];
        },
        runTick: (taskName, scheduledAt) =>
          this.runJob(taskName, {
            scheduledAt,
            taskId: `${MAINTENANCE_JOBS[taskName].scheduleId}@${scheduledAt.toISOString()}`,
          }),
      },
      options,
    );
  }
}
