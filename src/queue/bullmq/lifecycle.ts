import type { Job, JobProgress } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { coerceError } from '../../errors.js';
import { isPlainObject } from '../../json-safe.js';
import { TaskStatus } from '../../status.js';
import type { ProgressInput, RegisterTaskInput, TaskExecution } from '../../types.js';

/** The part of a BullMQ `Job` the recorders read; any `Job<Data, Result, Name>` fits. */
export type JobLike = Pick<Job, 'id' | 'name' | 'data' | 'queueName' | 'attemptsMade' | 'opts' | 'finishedOn'>;

/**
 * The `task_id` of a job: its BullMQ id, as a string, so `tasks.tracker.getTask(job.id)` finds the
 * run of a job added with a plain `queue.add`.
 *
 * BullMQ ids are unique only per queue, and its automatic ids are counters (`"1"`, `"2"`, … in every queue), while
 * `task_id` is unique. When a job is recorded and a run of **another** queue already holds its id, the job is recorded
 * as `<queue>:<id>` instead (with a warning once per queue), never merged into the other run. `dispatch` (UUID ids)
 * or custom job ids unique across queues avoid that.
 */
export function taskIdOf(job: Pick<Job, 'id'>): string {
  return String(job.id);
}

/** The `task_id` of a job whose own id is already taken by a run of another queue. */
export function qualifiedTaskId(queueName: string, jobId: string): string {
  return `${queueName}:${jobId}`;
}

/**
 * The BullMQ job id of a run: its `task_id`, without the `<queue>:` prefix of a job recorded under a qualified id.
 * BullMQ's own ids are never of the form `<queue>:<x>` (automatic ids are numbers; a custom id with `:` has exactly
 * three parts, and queue names cannot contain `:`), so stripping is unambiguous.
 */
export function jobIdOf(execution: { taskId: string; queueName: string | null }): string {
  const prefix = `${execution.queueName}:`;
  if (execution.queueName && execution.taskId.startsWith(prefix)) {
    const rest = execution.taskId.slice(prefix.length);
    if (/^\d+$/.test(rest) || (rest !== '' && !rest.includes(':'))) return rest;
  }
  return execution.taskId;
}

/** `true` when `row` is the run of a job of another queue (a row without a queue belongs to whoever records it). */
export function takenByAnotherQueue(row: Pick<TaskExecution, 'queueName'>, queueName: string): boolean {
  return row.queueName !== null && row.queueName !== queueName;
}

/** Queues whose id collision was already logged, per instance: one warning per queue is enough. */
const warnedQueues = new WeakMap<AgentcoreTask, Set<string>>();

/**
 * The `task_id` a job is recorded under when a run of another queue holds its id; logs the first collision of each
 * queue.
 */
export function collidedTaskId(tasks: AgentcoreTask, queueName: string, jobId: string, holder: string | null): string {
  const taskId = qualifiedTaskId(queueName, jobId);
  let warned = warnedQueues.get(tasks);
  if (!warned) {
    warned = new Set();
    warnedQueues.set(tasks, warned);
  }
  if (!warned.has(queueName)) {
    warned.add(queueName);
    tasks.logger.warn(
      { queue: queueName, jobId, taskId, otherQueue: holder },
      `agentcore-task: job ${jobId} of queue ${queueName} has the same id as a run of queue ${holder}; it is recorded ` +
        `as task_id "${taskId}" (and so are later collisions in this queue). BullMQ job ids are unique only per queue ` +
        'and its automatic ids (counters) collide across queues: add jobs with dispatch (UUID ids) or give them ' +
        'custom jobIds unique across queues, so task_id stays the job id.',
    );
  }
  return taskId;
}

/** Reads a run without failing: `undefined` when the database cannot be read (recording goes on without the check). */
async function peek(tasks: AgentcoreTask, taskId: string): Promise<TaskExecution | null | undefined> {
  try {
    return await tasks.tracker.getTask(taskId);
  } catch {
    return undefined;
  }
}

/**
 * The `task_id` of a job that is already recorded (or about to be): its id, or `<queue>:<id>` when a run of another
 * queue holds that id. One read; used where no start was seen (a listener attached mid-run, a job started elsewhere).
 */
export async function resolveTaskId(tasks: AgentcoreTask, queueName: string, jobId: string): Promise<string> {
  const row = await peek(tasks, jobId);
  return row && takenByAnotherQueue(row, queueName) ? collidedTaskId(tasks, queueName, jobId, row.queueName) : jobId;
}

/** Jobs remembered by one recorder; beyond it the oldest are forgotten (and resolved again by a read if needed). */
const MAX_REMEMBERED_JOBS = 10_000;

/**
 * The `task_id` of each job a recorder (`tracked`, `instrumentWorker`) is following, so that later writes of the job
 * — including events that carry only its id — go to the run its start was recorded under. Bounded; entries are
 * dropped when the job completes or fails for good.
 */
export class JobTaskIds {
  private readonly ids = new Map<string, Promise<string>>();

  constructor(private readonly tasks: AgentcoreTask) {}

  /**
   * Records the start of an attempt (see `recordStart`) and remembers the job's `task_id`. Resolves with that id once
   * the start is written; rejects only when the write does (`onRecordError: 'throw'`), and the id is remembered anyway.
   */
  start(job: JobLike, module: string): Promise<string> {
    const jobId = String(job.id);
    const key = jobKey(job.queueName, jobId);
    const known = this.ids.get(key);
    let taskId = jobId;
    const started = (async () => {
      if (known) taskId = await known;
      return recordStart(this.tasks, job, module, known ? taskId : undefined, (id) => {
        taskId = id;
      });
    })();
    this.remember(
      key,
      started.catch(() => taskId),
    );
    return started;
  }

  /**
   * The job's `task_id` when it can be used before the start is written: remembered from an earlier attempt, or the
   * job id itself when it is a UUID (`dispatch`'s ids), which no run of another queue holds unless a UUID was reused
   * on purpose. `undefined` otherwise: the start must be written (and the id checked) first.
   */
  async early(job: JobLike): Promise<string | undefined> {
    const jobId = String(job.id);
    const known = this.ids.get(jobKey(job.queueName, jobId));
    if (known) return known;
    return UUID.test(jobId) ? jobId : undefined;
  }

  /** The `task_id` of a job: remembered from its start, else resolved by a read. */
  of(queueName: string, jobId: string): Promise<string> {
    return this.ids.get(jobKey(queueName, jobId)) ?? resolveTaskId(this.tasks, queueName, jobId);
  }

  /** Forgets a job that is done (completed, or failed for good). */
  forget(queueName: string, jobId: string): void {
    this.ids.delete(jobKey(queueName, jobId));
  }

  private remember(key: string, taskId: Promise<string>): void {
    this.ids.delete(key); // re-inserted as the newest
    this.ids.set(key, taskId);
    if (this.ids.size > MAX_REMEMBERED_JOBS) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}

/** A UUID (any version), the shape of `dispatch`'s job ids. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function jobKey(queueName: string, jobId: string): string {
  return `${queueName}\u0000${jobId}`;
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

/** What registering a job records: name, module, data and queue. */
function registration(job: JobLike, module: string, taskId: string): RegisterTaskInput {
  return { taskId, taskName: jobTaskName(job), module, ...jobArguments(job.data), queueName: job.queueName };
}

/**
 * Marks the attempt `STARTED`, registering the run when nobody did (a job added without `dispatch`), and picks the
 * job's `task_id`: its id, or `<queue>:<id>` when a run of another queue holds that id (reported through
 * `onQualified`). `knownTaskId` is the id an earlier attempt of the job was recorded under.
 *
 * Nothing is written before the id is known to be this job's. The first attempt of a job with an automatic id (added
 * with `queue.add`, so most likely unrecorded) is one insert, which returns the row holding the id when there is one:
 * a run of another queue is noticed without a read. Other jobs (`dispatch`ed, custom ids, retries) are one read, then
 * the update; a job whose id was already resolved by this recorder is the update alone.
 */
export async function recordStart(
  tasks: AgentcoreTask,
  job: JobLike,
  module: string,
  knownTaskId?: string,
  onQualified?: (taskId: string) => void,
): Promise<string> {
  const attempt = job.attemptsMade + 1;
  const jobId = String(job.id);
  let taskId = knownTaskId ?? jobId;
  const qualify = (holder: string | null) => {
    taskId = collidedTaskId(tasks, job.queueName, jobId, holder);
    onQualified?.(taskId);
  };
  const likelyNew = job.attemptsMade === 0 && /^\d+$/.test(jobId);
  const started = { metadata: { attempt } };
  if (knownTaskId === undefined && !likelyNew) {
    // The common case (a dispatched job, a retry): one update that applies only to a run of this queue (or of none).
    const run = await tasks.tracker.recordStatus(taskId, TaskStatus.STARTED, started, job.queueName);
    if (run !== 'unmatched') {
      if (run?.taskName === '') await tasks.tracker.registerTaskExecution(registration(job, module, taskId));
      return taskId;
    }
    // No run of this queue holds the id: another queue's run does, or none exists yet. Read which.
  }
  let row: TaskExecution | null | undefined;
  if (knownTaskId === undefined) row = likelyNew ? null : await peek(tasks, taskId);
  if (row && takenByAnotherQueue(row, job.queueName)) {
    qualify(row.queueName);
    row = await peek(tasks, taskId);
  }
  if (row === null) {
    const input = { ...registration(job, module, taskId), initialStatus: TaskStatus.STARTED, metadata: { attempt } };
    let created = await tasks.tracker.registerTaskExecution(input);
    if (created && taskId === jobId && takenByAnotherQueue(created, job.queueName)) {
      qualify(created.queueName);
      created = await tasks.tracker.registerTaskExecution({ ...input, taskId });
    }
    // Held in the write buffer (database unreachable) or inserted as this attempt's start: nothing more to write.
    // Otherwise it returned this job's existing run, which the update below marks started.
    if (!created || (created.status === TaskStatus.STARTED && created.metadata.attempt === attempt)) return taskId;
  }
  const updated = await tasks.tracker.recordStatus(taskId, TaskStatus.STARTED, started);
  // A row an earlier update created (or one not readable above) gets its name, module, arguments and queue.
  if (!updated || updated === 'unmatched' || updated.taskName === '')
    await tasks.tracker.registerTaskExecution(registration(job, module, taskId));
  return taskId;
}

/**
 * Records the end of an attempt that threw: `RETRY` when BullMQ will try again, else `FAILURE`. `counted` says whether
 * `attemptsMade` already includes this attempt (as in the worker's `failed` event).
 */
export async function recordFailure(
  tasks: AgentcoreTask,
  taskId: string,
  job: JobLike,
  thrown: unknown,
  retry: boolean,
  counted = false,
): Promise<void> {
  if (isControlFlowError(thrown)) {
    // The processor moved its job (delayed, waiting for children, rate limited): it is waiting again, not failed.
    await tasks.tracker.recordStatus(taskId, TaskStatus.PENDING);
    return;
  }
  const error = coerceError(thrown);
  await tasks.tracker.recordStatus(taskId, retry ? TaskStatus.RETRY : TaskStatus.FAILURE, {
    error: error.message || error.name,
    traceback: error.stack ?? null,
    metadata: { attempt: job.attemptsMade + (counted ? 0 : 1) },
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
