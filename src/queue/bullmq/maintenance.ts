import type { Job, Worker } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { consoleLogger } from '../../logger.js';
import {
  CLEANUP_TASK_NAME,
  MARK_TIMEOUT_TASK_NAME,
  type MaintenanceJobResult,
  type MaintenanceSchedule,
} from '../../maintenance/index.js';
import { cleanupSchedule, markTimeoutSchedule } from '../../maintenance/schedule.js';
import { DEFAULT_SETTINGS, type Settings, settingsFromEnv, validateCodeSettings } from '../../settings.js';
import { type BullmqConnection, backendFor } from './backend.js';
import { resolveTaskId } from './lifecycle.js';
import { loadBullmq } from './load.js';
import { recoverSeenQueues } from './recover.js';

/** Queue of the maintenance jobs unless another is given. */
export const DEFAULT_MAINTENANCE_QUEUE = 'agentcore-task-maintenance';

/** Completed/failed maintenance jobs BullMQ keeps (their records live in the database anyway). */
const KEEP_JOBS = { count: 100 };

/** Options of `scheduleMaintenance`. */
export interface ScheduleMaintenanceOptions {
  /** Time zone of the crontabs. @defaultValue `'UTC'` */
  timezone?: string;
  /** Interval of the cleanup when its crontab is invalid. @defaultValue setting `cleanupBeatIntervalHours` */
  cleanupIntervalHours?: number;
}

/** What `scheduleMaintenance` applied: each job's schedule, or `null` when it is disabled (and its scheduler removed). */
export interface ScheduledMaintenance {
  cleanup: MaintenanceSchedule | null;
  markTimeout: MaintenanceSchedule | null;
}

/**
 * The part of a BullMQ `Queue` that `scheduleMaintenance` uses. Any `Queue` of bullmq 5 or 6 fits (Redis or
 * PostgreSQL backend); declared here so the types compile against either major.
 */
export interface SchedulerQueue {
  upsertJobScheduler(
    jobSchedulerId: string,
    repeatOpts: { pattern?: string; every?: number; tz?: string },
    jobTemplate?: { name?: string; data?: unknown; opts?: Record<string, unknown> },
  ): Promise<unknown>;
  removeJobScheduler(jobSchedulerId: string): Promise<unknown>;
}

/**
 * Upserts BullMQ job schedulers for the maintenance jobs (ids `agentcore-task-cleanup-old-executions` and
 * `agentcore-task-mark-timed-out-executions`) from the settings: the crontab, or an interval when it is invalid (with
 * a warning). A disabled job's scheduler is removed. Call it again after changing the settings at run time.
 *
 * Given an instance, it uses the effective settings (environment, code, run-time overrides in the config table);
 * given only the queue, the `AGENTCORE_TASK_*` environment variables and `options.settings`.
 *
 * @example
 * const queue = new Queue('agentcore-task-maintenance', { connection });
 * await scheduleMaintenance(tasks, queue);      // or scheduleMaintenance(queue) from the environment alone
 * await createMaintenanceWorker(tasks, { connection });
 */
export async function scheduleMaintenance(
  queue: SchedulerQueue,
  options?: ScheduleMaintenanceOptions & { settings?: Partial<Settings> },
): Promise<ScheduledMaintenance>;
export async function scheduleMaintenance(
  tasks: AgentcoreTask,
  queue: SchedulerQueue,
  options?: ScheduleMaintenanceOptions,
): Promise<ScheduledMaintenance>;
export async function scheduleMaintenance(
  first: AgentcoreTask | SchedulerQueue,
  second?: SchedulerQueue | (ScheduleMaintenanceOptions & { settings?: Partial<Settings> }),
  third?: ScheduleMaintenanceOptions,
): Promise<ScheduledMaintenance> {
  const queueOnly = typeof (first as SchedulerQueue).upsertJobScheduler === 'function';
  const queue = (queueOnly ? first : second) as SchedulerQueue;
  const options = ((queueOnly ? second : third) ?? {}) as ScheduleMaintenanceOptions & { settings?: Partial<Settings> };
  let cleanup: MaintenanceSchedule | undefined;
  let markTimeout: MaintenanceSchedule | undefined;
  if (queueOnly) {
    const settings: Settings = {
      ...DEFAULT_SETTINGS,
      ...settingsFromEnv(),
      ...validateCodeSettings(options.settings ?? {}),
    };
    [cleanup] = cleanupSchedule(settings, consoleLogger, { intervalHours: options.cleanupIntervalHours });
    [markTimeout] = markTimeoutSchedule(settings, consoleLogger);
  } else {
    const tasks = first as AgentcoreTask;
    [cleanup] = await tasks.maintenance.getCleanupSchedule({ intervalHours: options.cleanupIntervalHours });
    [markTimeout] = await tasks.maintenance.getMarkTimeoutSchedule();
  }
  const apply = async (id: string, entry: MaintenanceSchedule | undefined) => {
    if (!entry) {
      await queue.removeJobScheduler(id);
      return null;
    }
    const repeat = entry.pattern ? { pattern: entry.pattern, tz: options.timezone ?? 'UTC' } : { every: entry.every };
    await queue.upsertJobScheduler(entry.id, repeat, {
      name: entry.taskName,
      data: {},
      opts: { removeOnComplete: KEEP_JOBS, removeOnFail: KEEP_JOBS },
    });
    return entry;
  };
  return {
    cleanup: await apply('agentcore-task-cleanup-old-executions', cleanup),
    markTimeout: await apply('agentcore-task-mark-timed-out-executions', markTimeout),
  };
}

/** Options of `createMaintenanceWorker`. */
export interface CreateMaintenanceWorkerOptions {
  /**
   * Redis: a `redis://` URL, an ioredis instance (needs `maxRetriesPerRequest: null`) or BullMQ connection options.
   * With bullmq 6, its PostgreSQL backend: a `postgres://` URL or `{ connectionString, schema }` (the worker creates or
   * upgrades BullMQ's schema on connect).
   */
  connection: BullmqConnection;
  /** @defaultValue `'agentcore-task-maintenance'` */
  queueName?: string;
  /** BullMQ key prefix. @defaultValue `'bull'` */
  prefix?: string;
}

/** Parameters a maintenance job may carry in its data (a manual run); absent ones come from the settings. */
interface MaintenanceJobData {
  retentionDays?: number;
  onlyCompleted?: boolean;
  batchSize?: number;
  timeoutMinutes?: number;
}

/**
 * A BullMQ worker that runs the maintenance jobs the schedulers produce, each recorded under its job id (see
 * `taskIdOf` for ids another queue already used) and guarded by the lock. After the timeout job, it registers the
 * finished jobs with no run of the queues this instance's `tracked` processors serve (see `recoverUnrecorded`).
 * Closed by `tasks.close()` (or close it yourself).
 */
export async function createMaintenanceWorker(
  tasks: AgentcoreTask,
  options: CreateMaintenanceWorkerOptions,
): Promise<Worker<MaintenanceJobData, MaintenanceJobResult<unknown>>> {
  const { Worker, UnrecoverableError } = await loadBullmq('The maintenance worker');
  const queueName = options.queueName ?? DEFAULT_MAINTENANCE_QUEUE;
  const { opts, factory } = await backendFor(options.connection, 'The maintenance worker', {
    prefix: options.prefix,
    migrate: true,
  });
  const worker = new Worker<MaintenanceJobData, MaintenanceJobResult<unknown>>(
    queueName,
    async (job: Job<MaintenanceJobData>) => {
      const data = job.data ?? {};
      // Scheduled jobs have ids `repeat:<scheduler id>:<millis>`; a manual `queue.add` has a counter id, which another
      // queue's run may already hold (then the run is recorded as `<queue>:<id>`, as for any job).
      const run = { taskId: await resolveTaskId(tasks, job.queueName, String(job.id)), queueName: job.queueName };
      if (job.name === CLEANUP_TASK_NAME) {
        return tasks.maintenance.runCleanupJob({
          ...run,
          retentionDays: data.retentionDays,
          onlyCompleted: data.onlyCompleted,
          batchSize: data.batchSize,
        });
      }
      if (job.name === MARK_TIMEOUT_TASK_NAME) {
        const marked = await tasks.maintenance.runMarkTimeoutJob({ ...run, timeoutMinutes: data.timeoutMinutes });
        // Then the finished jobs of the queues this instance's tracked processors serve that have no run at all
        // (see `recoverUnrecorded`); each pass reads only ids the last one did not find recorded. Never throws.
        await recoverSeenQueues(tasks);
        return marked;
      }
      throw new UnrecoverableError(`unknown maintenance job "${job.name}"`);
    },
    opts as never,
    // bullmq 6: the backend factory (PostgreSQL); none on Redis, which bullmq 5 and 6 open by default.
    factory as never,
  );
  worker.on('error', (error) => tasks.logger.warn({ err: error }, 'agentcore-task: maintenance worker error'));
  tasks.onClose(() => worker.close());
  return worker;
}
