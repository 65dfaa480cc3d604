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
  close?(): Promise<void>;
}
