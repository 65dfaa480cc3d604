import { randomUUID } from 'node:crypto';
import type { Job, JobsOptions } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { coerceError } from '../../errors.js';
import { TaskStatus } from '../../status.js';
import type { CreatedBy, TaskExecution } from '../../types.js';
import { collidedTaskId, jobArguments, takenByAnotherQueue } from './lifecycle.js';

/** Options of `dispatch`. */
export interface DispatchOptions {
  /** Business scope of the run, e.g. `billing`. */
  module: string;
  /** The user who asked for the job; `null`/absent for system runs. */
  createdBy?: CreatedBy;
  /** Extra context stored with the run, e.g. `{ source: 'manual_trigger' }`. */
  metadata?: Record<string, unknown>;
  /**
   * BullMQ job options. A `jobId` given here is used as the `task_id` (`<queue>:<jobId>` when a run of another queue
   * already holds it); otherwise a UUID is generated.
   */
  jobOptions?: JobsOptions;
}

/**
 * The part of a BullMQ `Queue` that `dispatch` uses. Any `Queue<D, R, N>` of bullmq 5 or 6 fits (Redis or PostgreSQL
 * backend); declared here rather than taken from bullmq's `Queue`, whose type parameters differ between the majors.
 */
export interface DispatchQueue<D = unknown, R = unknown, N extends string = string> {
  readonly name: string;
  add(name: N, data: D, opts?: JobsOptions): Promise<Job<D, R, N>>;
}

/** What `dispatch` returns. `execution` is `null` only when recording failed (and was logged). */
export interface DispatchResult<D, R, N extends string> {
  job: Job<D, R, N>;
  execution: TaskExecution | null;
}

/**
 * Adds a job and records it. The run is registered as `PENDING` **before** the job is added, so a worker that picks it
 * up at once never races its registration. If adding fails, the run is recorded as `FAILURE` with the reason and the
 * error is rethrown.
 *
 * @example
 * const { job, execution } = await dispatch(tasks, queue, 'send_report', { reportId: 7 }, {
 *   module: 'reports', createdBy: { id: user.id, username: user.name },
 * });
 */
export async function dispatch<D = unknown, R = unknown, N extends string = string>(
  tasks: AgentcoreTask,
  queue: DispatchQueue<D, R, N>,
  name: N,
  data: D,
  options: DispatchOptions,
): Promise<DispatchResult<D, R, N>> {
  const jobId = options.jobOptions?.jobId ?? randomUUID();
  const register = (taskId: string) =>
    tasks.tracker.registerTaskExecution({
      taskId,
      taskName: name || 'bullmq-job',
      module: options.module,
      ...jobArguments(data),
      createdBy: options.createdBy ?? null,
      metadata: options.metadata,
      queueName: queue.name,
    });
  let taskId = jobId;
  let execution = await register(taskId);
  if (execution && takenByAnotherQueue(execution, queue.name)) {
    // A custom jobId another queue's run already holds: record this job beside it, never in it.
    taskId = collidedTaskId(tasks, queue.name, jobId, execution.queueName);
    execution = await register(taskId);
  }
  let job: Job<D, R, N>;
  try {
    job = await queue.add(name, data, { ...options.jobOptions, jobId });
  } catch (error) {
    const reason = coerceError(error);
    await tasks.tracker
      .updateTaskStatus(taskId, TaskStatus.FAILURE, {
        error: `could not add the job to queue ${queue.name}: ${reason.message}`,
        traceback: reason.stack ?? null,
      })
      .catch(() => {});
    throw error;
  }
  return { job, execution };
}
