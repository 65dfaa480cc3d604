/** The states a task run can be in. String values equal their names (wire format of the seed). */
export const TaskStatus = {
  PENDING: 'PENDING',
  STARTED: 'STARTED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  RETRY: 'RETRY',
  REVOKED: 'REVOKED',
  /** Statuses after which a run is finished: `SUCCESS`, `FAILURE`, `REVOKED`. */
  completed: new Set<TaskStatusValue>(['SUCCESS', 'FAILURE', 'REVOKED']),
  /** Statuses of a run that is executing: `STARTED`, `RETRY`. */
  running: new Set<TaskStatusValue>(['STARTED', 'RETRY']),
  /** Every status, in lifecycle order. */
  all: ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'] as const,
} as const;

/** One of `PENDING`, `STARTED`, `SUCCESS`, `FAILURE`, `RETRY`, `REVOKED`. */
export type TaskStatusValue = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'REVOKED';
/** Type alias so `TaskStatus` reads naturally in signatures. */
export type TaskStatus = TaskStatusValue;

/** Type guard: `true` when `value` is one of the six status strings. */
export function isTaskStatus(value: unknown): value is TaskStatusValue {
  return typeof value === 'string' && (TaskStatus.all as readonly string[]).includes(value);
}

/** `true` for `SUCCESS`, `FAILURE`, `REVOKED`. */
export function isCompletedStatus(status: string): boolean {
  return TaskStatus.completed.has(status as TaskStatusValue);
}

/** `true` for `STARTED`, `RETRY`. */
export function isRunningStatus(status: string): boolean {
  return TaskStatus.running.has(status as TaskStatusValue);
}
