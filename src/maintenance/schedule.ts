import type { Logger } from '../logger.js';
import { isValidCrontab, type Settings } from '../settings.js';
import {
  CLEANUP_SCHEDULE_ID,
  CLEANUP_TASK_NAME,
  MARK_TIMEOUT_FALLBACK_INTERVAL_HOURS,
  MARK_TIMEOUT_SCHEDULE_ID,
  MARK_TIMEOUT_TASK_NAME,
  type MaintenanceTaskName,
} from './names.js';

/**
 * One scheduled maintenance job, for a host to merge into its own scheduler: a cron `pattern` (5 fields), or, when
 * the configured crontab is invalid, an interval `every` (milliseconds, as BullMQ's `every`).
 */
export interface MaintenanceSchedule {
  /** `agentcore-task-cleanup-old-executions` or `agentcore-task-mark-timed-out-executions`. */
  id: string;
  /** `cleanup_old_task_executions` or `mark_timed_out_task_executions`. */
  taskName: MaintenanceTaskName;
  pattern?: string;
  every?: number;
}

/** Options of `getCleanupSchedule`. */
export interface CleanupScheduleOptions {
  /** Interval used when the crontab is invalid. @defaultValue setting `cleanupBeatIntervalHours` (24) */
  intervalHours?: number;
}

const HOUR_MS = 3_600_000;

function entry(
  id: string,
  taskName: MaintenanceTaskName,
  crontab: string,
  fallbackHours: number,
  variable: string,
  logger: Logger,
): MaintenanceSchedule {
  if (isValidCrontab(crontab)) return { id, taskName, pattern: crontab.trim() };
  logger.warn(
    { crontab, fallbackHours },
    `agentcore-task: ${variable} ${JSON.stringify(crontab)} is not a valid 5-field crontab; running ${taskName} every ${fallbackHours} hour(s) instead`,
  );
  return { id, taskName, every: Math.max(1, fallbackHours) * HOUR_MS };
}

/** The cleanup schedule: `[]` when cleanup is disabled, else one entry. */
export function cleanupSchedule(
  settings: Settings,
  logger: Logger,
  options: CleanupScheduleOptions = {},
): MaintenanceSchedule[] {
  if (!settings.cleanupEnabled) return [];
  const hours = options.intervalHours ?? settings.cleanupBeatIntervalHours;
  return [
    entry(
      CLEANUP_SCHEDULE_ID,
      CLEANUP_TASK_NAME,
      settings.cleanupCrontab,
      hours,
      'AGENTCORE_TASK_CLEANUP_CRONTAB',
      logger,
    ),
  ];
}

/** The mark-timeout schedule: `[]` when marking is disabled, else one entry. */
export function markTimeoutSchedule(settings: Settings, logger: Logger): MaintenanceSchedule[] {
  if (!settings.markTimeoutEnabled) return [];
  return [
    entry(
      MARK_TIMEOUT_SCHEDULE_ID,
      MARK_TIMEOUT_TASK_NAME,
      settings.markTimeoutCrontab,
      MARK_TIMEOUT_FALLBACK_INTERVAL_HOURS,
      'AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB',
      logger,
    ),
  ];
}
