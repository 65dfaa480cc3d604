import type { TaskStatusValue } from '../status.js';
import type { TaskExecution } from '../types.js';

/** A run's state as the queue reports it. Only the fields given are written. */
export interface QueueJobState {
  status: TaskStatusValue;
  result?: unknown;
  error?: string | null;
  traceback?: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * What a queue did with an admin action (`retry`, `cancel`). `done: false` when the job's state does not allow it
 * (`state` says which it is) or the queue does not know the job (`state: null`: removed, never added, no queue name).
 */
export interface QueueActionResult {
  done: boolean;
  /** The job's state as the queue names it (BullMQ: `failed`, `waiting`, `delayed`, `active`, …) when it was read. */
  state: string | null;
}

/**
 * Where `syncTask` reads a run's real state (the queue is the source of truth for execution). BullMQ's lives in
 * `queue/bullmq/`.
 */
export interface QueueSource {
  /**
   * The state of the job behind `execution`, or `null` when the queue does not know it (removed, never added).
   * Throws `BackendUnavailableError` when the queue cannot be reached.
   */
  getState(execution: TaskExecution): Promise<QueueJobState | null>;
  /**
   * `true` when a worker is executing the job right now (for BullMQ: `active` and its lock held). The timeout job
   * never marks such a run. Absent: only the run's own sign of life (`updated_at`) counts.
   */
  isActive?(execution: TaskExecution): Promise<boolean>;
  /**
   * Runs a failed job again (BullMQ: `job.retry()`), only when the queue holds it as failed. Throws
   * `BackendUnavailableError` when the queue cannot be reached. Absent: the source cannot retry (the REST API answers
   * 501).
   */
  retry?(execution: TaskExecution): Promise<QueueActionResult>;
  /**
   * Removes a job that has not started (BullMQ: `job.remove()` of a `waiting`, `delayed` or `prioritized` job), so no
   * worker ever runs it. Throws `BackendUnavailableError` when the queue cannot be reached. Absent: the source cannot
   * cancel.
   */
  cancel?(execution: TaskExecution): Promise<QueueActionResult>;
  close?(): Promise<void>;
}
