import type { Job, JobProgress } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { coerceError } from '../../errors.js';
import { isPlainObject } from '../../json-safe.js';
import { TaskStatus } from '../../status.js';
import type { ProgressInput, RegisterTaskInput } from '../../types.js';

/** The part of a BullMQ `Job` the recorders read; any `Job<Data, Result, Name>` fits. */
export type JobLike = Pick<Job, 'id' | 'name' | 'data' | 'queueName' | 'attemptsMade' | 'opts' | 'finishedOn'>;

/**
 * The `task_id` of a job. BullMQ's automatic ids are counters per queue (`"1"`, `"2"`, …) while `task_id` is unique
 * across queues, so those are recorded as `<queue>:<id>`. Custom ids (BullMQ forbids integer ones) and the ids
 * `dispatch` generates are used as they are.
 */
export function taskIdOf(job: Pick<Job, 'id' | 'queueName'>): string {
  return taskIdFor(job.queueName, String(job.id));
}

/** `taskIdOf` from a queue name and a job id (for events that give only the id). */
export function taskIdFor(queueName: string, jobId: string): string {
  return /^\d+$/.test(jobId) ? `${queueName}:${jobId}` : jobId;
}

/** The BullMQ job id of a run: the inverse of `taskIdOf`. */
export function jobIdOf(execution: { taskId: string; queueName: string | null }): string {
  const prefix = `${execution.queueName}:`;
  if (execution.queueName && execution.taskId.startsWith(prefix)) {
    const rest = execution.taskId.slice(prefix.length);
    if (/^\d+$/.test(rest)) return rest;
  }
  return execution.taskId;
}

/** Errors BullMQ uses for control flow (the job was moved, not failed). */
const CONTROL_FLOW_ERRORS = new Set(['DelayedError', 'WaitingError', 'WaitingChildrenError', 'RateLimitError']);
const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

/** `true` when BullMQ treats `error` as "moved to delayed/waiting", not as a failed attempt. */
export function isControlFlowError(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | null;
  return !!e && (CONTROL_FLOW_ERRORS.has(String(e.name)) || e.message === RATE_LIMIT_MESSAGE);
}

/**
 * Will BullMQ retry after this error? Mirrors `Job.shouldRetryJob` (attempts left, not `UnrecoverableError`, not
 * discarded). `counted` says whether `attemptsMade` already includes this attempt (it does in the worker's `failed`
 * event, not inside the processor).
 */
export function willRetry(job: JobLike, error: unknown, counted: boolean): boolean {
  if ((error as { name?: unknown } | null)?.name === 'UnrecoverableError') return false;
  if ((job as { discarded?: boolean }).discarded) return false;
  if (counted && typeof job.finishedOn === 'number') return false; // moved to failed for good
  const made = job.attemptsMade + (counted ? 0 : 1);
  return made < (job.opts.attempts ?? 1);
}

/** Job data as the record's arguments: an object is `task_kwargs`, anything else the single positional argument. */
export function jobArguments(data: unknown): Pick<RegisterTaskInput, 'taskArgs' | 'taskKwargs'> {
  if (isPlainObject(data)) return { taskKwargs: data };
  return data === undefined || data === null ? {} : { taskArgs: [data] };
}

/** BullMQ job names may be empty; the record needs one. */
export function jobTaskName(job: Pick<Job, 'name'>): string {
  return job.name ? job.name.slice(0, 255) : 'bullmq-job';
}

/**
 * Marks the attempt `STARTED`. A job added without `dispatch` has no row yet: the update creates it and the register
 * that follows fills in its name, module, arguments and queue.
 */
export async function recordStart(tasks: AgentcoreTask, job: JobLike, module: string): Promise<void> {
  const taskId = taskIdOf(job);
  const row = await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED, {
    metadata: { attempt: job.attemptsMade + 1 },
  });
  if (row && row.taskName !== '') return;
  await tasks.tracker.registerTaskExecution({
    taskId,
    taskName: jobTaskName(job),
    module,
    ...jobArguments(job.data),
    queueName: job.queueName,
    initialStatus: TaskStatus.STARTED,
  });
}

/** Records the end of an attempt that threw: `RETRY` when BullMQ will try again, else `FAILURE`. */
export async function recordFailure(
  tasks: AgentcoreTask,
  job: JobLike,
  thrown: unknown,
  retry: boolean,
): Promise<void> {
  const taskId = taskIdOf(job);
  if (isControlFlowError(thrown)) {
    // The processor moved its job (delayed, waiting for children, rate limited): it is waiting again, not failed.
    await tasks.tracker.updateTaskStatus(taskId, TaskStatus.PENDING);
    return;
  }
  const error = coerceError(thrown);
  await tasks.tracker.updateTaskStatus(taskId, retry ? TaskStatus.RETRY : TaskStatus.FAILURE, {
    error: error.message || error.name,
    traceback: error.stack ?? null,
    metadata: { attempt: job.attemptsMade + 1 },
  });
}

/** BullMQ progress (a number or an object) as `reportProgress` input. */
export function progressInput(progress: JobProgress | ProgressInput): ProgressInput | null {
  if (typeof progress === 'number') return { percent: progress };
  if (!isPlainObject(progress)) return null;
  const p = progress as Record<string, unknown>;
  const out: ProgressInput = {};
  const percent = p.percent ?? p.progress_percent;
  if (typeof percent === 'number') out.percent = percent;
  const message = p.message ?? p.progress_message;
  if (typeof message === 'string') out.message = message;
  const step = p.step ?? p.progress_step;
  if (typeof step === 'string') out.step = step;
  return Object.keys(out).length > 0 ? out : null;
}
