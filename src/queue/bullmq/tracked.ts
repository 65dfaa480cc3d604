import type { Job, JobProgress } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { TaskStatus } from '../../status.js';
import { progressMetadata } from '../../tracker/tracker.js';
import type { ProgressInput } from '../../types.js';
import { isControlFlowError, type JobLike, JobTaskIds, progressInput, recordFailure, willRetry } from './lifecycle.js';
import { recoverQueueOnce } from './recover.js';

/** Default interval of the heartbeat a tracked processor sends while it runs: well below any sane timeout. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** What a tracked processor receives besides its job. */
export interface TrackedContext {
  /**
   * The run's `task_id`: the BullMQ job id, or `<queue>:<id>` when a run of another queue already held that id (see
   * `taskIdOf`). A job with a UUID id starts before that check: if the same UUID was reused as a job id in another
   * queue, the run is recorded as `<queue>:<id>` while this field still reads the plain id.
   */
  readonly taskId: string;
  /**
   * Writes `progress_percent` (clamped 0–100), `progress_message`, `progress_step` (and extra keys) into the run's
   * metadata, and the same progress to BullMQ (`job.updateProgress`).
   */
  progress(progress: ProgressInput): Promise<void>;
  /** Marks the run alive now (it is also done periodically while the processor runs). */
  heartbeat(): Promise<void>;
}

/** Options of `tracked`. */
export interface TrackedOptions {
  /** Business scope recorded on runs this processor registers (runs added with `dispatch` keep theirs). */
  module: string;
  /**
   * How often the running processor marks its run alive (`updated_at`), so `markTimedOutExecutions` never mistakes a
   * long healthy run for a dead one. Keep it well below `timeoutMinutes`.
   * @defaultValue `30000`
   */
  heartbeatIntervalMs?: number;
}

/**
 * A BullMQ processor function (what `new Worker(name, processor)` takes). The job's result type is left open in the
 * parameter so the function fits any `Processor<D, …>` a worker is declared with.
 */
export type BullmqProcessor<D, R, N extends string> = (
  job: Job<D, unknown, N>,
  token?: string,
  signal?: AbortSignal,
) => Promise<R>;

/**
 * Wraps a BullMQ processor so every attempt is recorded: `STARTED` (registering the run if nobody did), a heartbeat
 * while it runs, progress through `ctx.progress`, then `SUCCESS` with the return value, or `RETRY` (attempts left) /
 * `FAILURE` with the error message and stack. Errors are rethrown unchanged, so BullMQ's retries work as configured.
 *
 * The processor never waits for these writes: they go to the write buffer and land after the job returns. A process
 * that dies before they land leaves its runs to the next worker's start-up sync (and the timeout job's), which reads
 * 1,000 unfinished runs, running ones first. A job whose id is a UUID starts before its row is written, on the assumption that
 * `dispatch` registered it: a UUID job added with `queue.add` and finished by a process that then dies has no row.
 * The first job of each queue a tracked processor receives starts, in the background, a recovery of such jobs from
 * the newest 1,000 of the queue's `completed` and `failed` sets (the timeout job of `createMaintenanceWorker` repeats
 * it), which registers them with their final status. A job BullMQ already removed (`removeOnComplete`/`removeOnFail`)
 * cannot be read back and gets no run; `dispatch`, which registers before adding, never leaves that gap.
 *
 * @example
 * const worker = new Worker('reports', tracked(tasks, async (job, ctx) => {
 *   await ctx.progress({ percent: 50, message: 'half way' });
 *   return { rows: 42 };
 * }, { module: 'reports' }), { connection });
 */
export function tracked<D = unknown, R = unknown, N extends string = string>(
  tasks: AgentcoreTask,
  processor: (job: Job<D, R, N>, ctx: TrackedContext, token?: string, signal?: AbortSignal) => Promise<R> | R,
  options: TrackedOptions,
): BullmqProcessor<D, R, N> {
  const interval = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  // Keeps a collided job's `<queue>:<id>` between its attempts without reading it again.
  const ids = new JobTaskIds(tasks);
  recoverOnStart(tasks);
  const report = (what: string, taskId: string) => (error: unknown) =>
    tasks.logger.error({ err: error, taskId }, `agentcore-task: could not record ${what}`);
  return async function trackedProcessor(job, token, signal) {
    recoverQueueOnce(tasks, job.queueName, options.module);
    // A job whose task_id is known up front (dispatched, or seen before) starts at once: its STARTED write goes out
    // with the next batch, and a quick job's SUCCESS joins it in the same row. Others wait for the start (and the id
    // check) first.
    const early = await ids.early(job);
    const started = ids.start(job, options.module);
    // The id the start settled on, once known: later writes are handed to the write buffer at once, in order.
    let recorded: string | undefined;
    started.then(
      (id) => {
        recorded = id;
      },
      () => {},
    );
    const taskId = early ?? (await started);
    const recordedId = () => started.catch(() => taskId);
    /** Hands a write to the buffer now when the run's id is settled, else right after the start: never waited on. */
    const write = (what: string, fn: (id: string) => Promise<unknown>) => {
      const done = recorded !== undefined ? fn(recorded) : recordedId().then(fn);
      done.catch(report(what, taskId));
    };
    const heartbeat = async () => write('a heartbeat', (id) => tasks.tracker.heartbeat(id));
    const ctx: TrackedContext = {
      taskId,
      heartbeat,
      async progress(progress) {
        if (recorded !== undefined) write('progress', (id) => tasks.tracker.reportProgress(id, progress));
        else {
          // The start is still on its way: hand the progress over now, behind it, to this queue's run only; should the
          // start settle on another id, it follows there.
          tasks.tracker
            .recordStatus(taskId, undefined, { metadata: progressMetadata(progress) }, job.queueName)
            .then((outcome) =>
              outcome === 'unmatched'
                ? recordedId().then((id) => tasks.tracker.reportProgress(id, progress))
                : undefined,
            )
            .catch(report('progress', taskId));
        }
        const forQueue = progressInput(progress);
        if (!forQueue) return;
        try {
          await job.updateProgress(forQueue);
        } catch (error) {
          tasks.logger.warn({ err: error, taskId }, 'agentcore-task: could not send progress to BullMQ');
        }
      },
    };
    const timer = setInterval(() => void heartbeat(), interval);
    timer.unref();
    let result: R;
    try {
      result = await processor(job as Job<D, R, N>, ctx, token, signal);
    } catch (error) {
      clearInterval(timer);
      const retry = willRetry(job, error, false);
      if (!retry && !isControlFlowError(error)) ids.forget(job.queueName, String(job.id));
      // The job's own error is rethrown at once; ours is only logged. BullMQ counts the attempt on the job object as
      // soon as we rethrow: the write keeps the count of the attempt that failed.
      const attempt = pickJob(job);
      write('a failed attempt', (id) => recordFailure(tasks, id, attempt, error, retry));
      throw error;
    }
    clearInterval(timer);
    ids.forget(job.queueName, String(job.id));
    // Handed to the buffer at once, so it can share a row with a STARTED still waiting; it applies only to this
    // queue's run. When it did not apply (the start found another queue's run, or none), it goes to the run the start
    // settled on. BullMQ completes the job without waiting for either: a process that dies before they land leaves
    // the run to the sync (see `recoverOnStart`).
    const success = tasks.tracker.recordStatus(taskId, TaskStatus.SUCCESS, { result }, job.queueName);
    Promise.all([recordedId(), success])
      .then(([settled, outcome]) =>
        outcome === 'unmatched' ? tasks.tracker.recordStatus(settled, TaskStatus.SUCCESS, { result }) : undefined,
      )
      .catch(report('a completed job', taskId));
    return result;
  };
}

/** The fields of a job the failure record reads, copied (BullMQ mutates the job after the processor returns). */
function pickJob(job: JobLike): JobLike {
  const { id, name, data, queueName, attemptsMade, opts, finishedOn } = job;
  return { id, name, data, queueName, attemptsMade, opts, finishedOn };
}

/** Instances whose unfinished runs were already synced at start-up. */
const recovering = new WeakSet<AgentcoreTask>();

/**
 * Once per instance, when its first tracked processor is created (a worker starting up): syncs the unfinished runs
 * from the queue in the background. A worker that died after BullMQ completed or failed its jobs but before their
 * writes landed (the job never waits for them) left those runs `STARTED`; this brings them to their real end. The
 * timeout job's sync does the same later. A job BullMQ already removed (`removeOnComplete`/`removeOnFail`) cannot be
 * read back: its run is left as it is and, silent and no longer active, is marked `FAILURE` by the timeout job, which
 * is the safe side (it never reports a success nobody saw).
 */
function recoverOnStart(tasks: AgentcoreTask): void {
  if (recovering.has(tasks)) return;
  recovering.add(tasks);
  setImmediate(() => {
    if (!tasks.tracker.queueSource) return;
    tasks.tracker
      .syncAllUnfinished()
      .then((summary) => {
        if (summary.updated_count > 0)
          tasks.logger.info(summary, 'agentcore-task: runs left unfinished by an earlier worker synced from the queue');
      })
      .catch((error) => tasks.logger.warn({ err: error }, 'agentcore-task: start-up sync from the queue failed'));
  });
}

/**
 * The part of a BullMQ `Worker` that `instrumentWorker` uses: its name and the events it listens to. Any
 * `Worker<D, R, N>` of bullmq 5 or 6 fits (Redis or PostgreSQL backend); declared here rather than taken from bullmq's
 * `Worker`, whose type parameters differ between the majors.
 */
export interface InstrumentableWorker<D = unknown, R = unknown, N extends string = string> {
  readonly name: string;
  on(event: 'active', listener: (job: Job<D, R, N>, prev: string) => void): unknown;
  on(event: 'progress', listener: (job: Job<D, R, N>, progress: JobProgress) => void): unknown;
  on(event: 'completed', listener: (job: Job<D, R, N>, result: R, prev: string) => void): unknown;
  on(event: 'failed', listener: (job: Job<D, R, N> | undefined, error: Error, prev: string) => void): unknown;
  on(event: 'stalled', listener: (jobId: string, prev: string) => void): unknown;
  off(event: 'active', listener: (job: Job<D, R, N>, prev: string) => void): unknown;
  off(event: 'progress', listener: (job: Job<D, R, N>, progress: JobProgress) => void): unknown;
  off(event: 'completed', listener: (job: Job<D, R, N>, result: R, prev: string) => void): unknown;
  off(event: 'failed', listener: (job: Job<D, R, N> | undefined, error: Error, prev: string) => void): unknown;
  off(event: 'stalled', listener: (jobId: string, prev: string) => void): unknown;
}

/** Options of `instrumentWorker`. */
export interface InstrumentOptions {
  /** Business scope recorded on runs the worker's events register (runs added with `dispatch` keep theirs). */
  module: string;
}

/**
 * Records the runs of an existing worker from its events (`active`, `progress`, `completed`, `failed`, `stalled`),
 * for processors that cannot be wrapped with `tracked` (sandboxed processor files, third-party workers). Returns a
 * function that removes the listeners. Recording errors are logged, never thrown into the worker.
 *
 * No heartbeat is sent (the worker gives no hook while a job runs): `markTimedOutExecutions` relies on the queue
 * reporting the job active for these runs.
 */
export function instrumentWorker<D = unknown, R = unknown, N extends string = string>(
  tasks: AgentcoreTask,
  worker: InstrumentableWorker<D, R, N>,
  options: InstrumentOptions,
): () => void {
  const report = (what: string, taskId: unknown) => (error: unknown) =>
    tasks.logger.error({ err: error, taskId }, `agentcore-task: could not record ${what}`);
  // The task id each started job is recorded under, so events that carry only the job id write to the same run.
  const ids = new JobTaskIds(tasks);
  const onActive = (job: Job<D, R, N>) => {
    // The events' writes are not waited on either: a worker killed before they land is recovered the same way.
    recoverQueueOnce(tasks, job.queueName, options.module, true);
    ids.start(job, options.module).catch(report('a started job', job.id));
  };
  const onProgress = (job: Job<D, R, N>, progress: unknown) => {
    const input = progressInput(progress as ProgressInput);
    if (!input) return;
    ids
      .of(job.queueName, String(job.id))
      .then((taskId) => tasks.tracker.reportProgress(taskId, input))
      .catch(report('progress', job.id));
  };
  const onCompleted = (job: Job<D, R, N>, result: R) => {
    const jobId = String(job.id);
    ids
      .of(job.queueName, jobId)
      .then((taskId) => {
        ids.forget(job.queueName, jobId);
        return tasks.tracker.recordStatus(taskId, TaskStatus.SUCCESS, { result });
      })
      .catch(report('a completed job', jobId));
  };
  const onFailed = (job: Job<D, R, N> | undefined, error: Error) => {
    if (!job?.id) return;
    const jobId = String(job.id);
    // In this event `attemptsMade` already counts the failed attempt.
    const counted: JobLike = job;
    const retry = willRetry(counted, error, true);
    ids
      .of(job.queueName, jobId)
      .then((taskId) => {
        if (!retry && !isControlFlowError(error)) ids.forget(job.queueName, jobId);
        return recordFailure(tasks, taskId, counted, error, retry, true);
      })
      .catch(report('a failed job', jobId));
  };
  const onStalled = (jobId: string) => {
    // The worker that ran it lost its lock (crashed or blocked): BullMQ moves the job back to waiting, or fails it on
    // the next pickup when it stalled too often. Both are recorded as they happen; this notes the stall itself.
    ids
      .of(worker.name, jobId)
      .then((taskId) =>
        tasks.tracker.updateTaskStatus(taskId, TaskStatus.RETRY, {
          error: 'job stalled (the worker running it lost its lock); moved back to waiting',
          metadata: { stalled_at: new Date().toISOString() },
        }),
      )
      .catch(report('a stalled job', jobId));
  };
  worker.on('active', onActive);
  worker.on('progress', onProgress);
  worker.on('completed', onCompleted);
  worker.on('failed', onFailed);
  worker.on('stalled', onStalled);
  return () => {
    worker.off('active', onActive);
    worker.off('progress', onProgress);
    worker.off('completed', onCompleted);
    worker.off('failed', onFailed);
    worker.off('stalled', onStalled);
  };
}
