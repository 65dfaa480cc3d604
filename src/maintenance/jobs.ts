import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { coerceError } from '../errors.js';
import type { SkippedTaskResult } from '../locks/prevent-duplicate.js';
import { TaskStatus } from '../status.js';
import type { CleanupOptions, CleanupResult } from './cleanup.js';
import type { MaintenanceHost } from './host.js';
import {
  CLEANUP_LOCK_TIMEOUT_SECONDS,
  CLEANUP_SCHEDULE_ID,
  CLEANUP_TASK_NAME,
  MAINTENANCE_MODULE,
  MARK_TIMEOUT_LOCK_TIMEOUT_SECONDS,
  MARK_TIMEOUT_SCHEDULE_ID,
  MARK_TIMEOUT_TASK_NAME,
  type MaintenanceTaskName,
} from './names.js';
import type { MarkTimeoutOptions, MarkTimeoutResult } from './timeout.js';

/** A maintenance job that did not run because it is disabled by the settings. */
export interface DisabledJobResult {
  skipped: true;
  reason: 'cleanup_disabled' | 'mark_timeout_disabled';
}

/** A scheduled tick another instance already ran (see `startScheduler`). */
export interface AlreadyRunResult {
  skipped: true;
  reason: 'already_run';
}

/** What a maintenance job run returns. */
export type MaintenanceJobResult<T> = T | DisabledJobResult | SkippedTaskResult | AlreadyRunResult;

/** How one run of a maintenance job is recorded. */
export interface MaintenanceRunOptions {
  /** The run's `task_id` (a BullMQ job id). @defaultValue `<schedule id>-<uuid>` */
  taskId?: string;
  /** The BullMQ queue running the job, recorded on the run. */
  queueName?: string | null;
  /**
   * The scheduled time of this tick. With it, the run's `task_id` doubles as a claim: when another instance has
   * already recorded this tick, the job is not run again (`{ skipped: true, reason: 'already_run' }`).
   */
  scheduledAt?: Date;
}

interface JobDef {
  taskName: MaintenanceTaskName;
  scheduleId: string;
  lockSeconds: number;
  enabled: (s: { cleanupEnabled: boolean; markTimeoutEnabled: boolean }) => boolean;
  disabled: DisabledJobResult['reason'];
}

export const MAINTENANCE_JOBS: Record<MaintenanceTaskName, JobDef> = {
  [CLEANUP_TASK_NAME]: {
    taskName: CLEANUP_TASK_NAME,
    scheduleId: CLEANUP_SCHEDULE_ID,
    lockSeconds: CLEANUP_LOCK_TIMEOUT_SECONDS,
    enabled: (s) => s.cleanupEnabled,
    disabled: 'cleanup_disabled',
  },
  [MARK_TIMEOUT_TASK_NAME]: {
    taskName: MARK_TIMEOUT_TASK_NAME,
    scheduleId: MARK_TIMEOUT_SCHEDULE_ID,
    lockSeconds: MARK_TIMEOUT_LOCK_TIMEOUT_SECONDS,
    enabled: (s) => s.markTimeoutEnabled,
    disabled: 'mark_timeout_disabled',
  },
};

/** Identifies this process in the runs it records (`metadata.runner`), and wins or loses tick claims. */
const RUNNER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Runs one maintenance job the way the schedules do: a no-op when disabled, else under `preventDuplicateTask`
 * (one run at a time across every instance sharing the lock backend), recording itself as a run of module
 * `agentcore_task` (`STARTED`, then `SUCCESS` with the result, or `FAILURE` with the error, which is rethrown).
 */
export async function runMaintenanceJob<T extends CleanupResult | MarkTimeoutResult>(
  host: MaintenanceHost,
  taskName: MaintenanceTaskName,
  work: () => Promise<T>,
  options: MaintenanceRunOptions = {},
): Promise<MaintenanceJobResult<T>> {
  const def = MAINTENANCE_JOBS[taskName];
  const settings = await host.settings.get();
  if (!def.enabled(settings)) return { skipped: true, reason: def.disabled };
  const runner = `${RUNNER}:${randomUUID()}`;
  const guarded = host.locks.preventDuplicateTask({ lockName: def.taskName, timeout: def.lockSeconds }, async () => {
    const taskId = options.taskId ?? `${def.scheduleId}-${randomUUID()}`;
    const metadata: Record<string, unknown> = { runner };
    if (options.scheduledAt) metadata.scheduled_at = options.scheduledAt.toISOString();
    const row = await host.tracker.registerTaskExecution({
      taskId,
      taskName: def.taskName,
      module: MAINTENANCE_MODULE,
      initialStatus: TaskStatus.STARTED,
      queueName: options.queueName ?? null,
      metadata,
    });
    // The claim: registration is idempotent per task_id, so the tick belongs to whoever's row is stored.
    if (options.scheduledAt && row?.metadata.runner !== runner)
      return { skipped: true, reason: 'already_run' } as const;
    try {
      const result = await work();
      await host.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result });
      return result;
    } catch (thrown) {
      const error = coerceError(thrown);
      await host.tracker
        .updateTaskStatus(taskId, TaskStatus.FAILURE, { error: error.message, traceback: error.stack ?? null })
        .catch(() => {});
      throw thrown;
    }
  });
  return guarded();
}

export type { CleanupOptions, MarkTimeoutOptions };
