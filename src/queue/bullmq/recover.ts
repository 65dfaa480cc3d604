import type { AgentcoreTask } from '../../create.js';
import { ValidationError } from '../../errors.js';
import { checkIdentifier } from '../../json-safe.js';
import { TaskStatus } from '../../status.js';
import { readCleanupCutoff } from '../../store/cleanup-cutoff.js';
import { toImportRun } from '../../store/import.js';
import type { QueueSource } from '../source.js';
import { jobArguments, jobTaskName, qualifiedTaskId, takenByAnotherQueue, UUID } from './lifecycle.js';
import { BullmqSource, type FinishedJob, type FinishedState } from './source.js';

/** Jobs of each finished set (`completed`, `failed`) one recovery reads, newest first. */
export const DEFAULT_RECOVER_LIMIT = 1000;

/** Candidates checked against the database per page. */
const PAGE = 100;
/** Reads in flight at once while checking a page. */
const READS_AT_ONCE = 4;

/** Options of `recoverUnrecorded`. */
export interface RecoverOptions {
  /** Business scope recorded on the runs it creates (the `module` of the queue's tracked processor). */
  module: string;
  /** Newest jobs read from each of the `completed` and `failed` sets. @defaultValue `1000` */
  limit?: number;
  /**
   * Check every id, not only UUIDs: for queues recorded by `instrumentWorker`, whose events' writes no job waits
   * for. `tracked` awaits the start of every job whose id is not a UUID, so only UUID jobs can lack a run there.
   * @defaultValue `false`
   */
  anyId?: boolean;
}

/** What one `recoverUnrecorded` call did. */
export interface RecoverSummary {
  /** Job ids (UUIDs, or all with `anyId`) read from the finished sets and not already known to have a run. */
  checked: number;
  /** Runs it registered with the job's final status. */
  recovered: number;
}

/** The sync source reading the queues: `BullmqSource`, or one that hands it out (the instance's default source). */
function bullmqSourceOf(source: QueueSource | undefined): Promise<BullmqSource | null> | BullmqSource | null {
  if (source instanceof BullmqSource) return source;
  const delegating = source as { bullmqSource?: () => Promise<BullmqSource | null> } | undefined;
  return typeof delegating?.bullmqSource === 'function' ? delegating.bullmqSource() : null;
}

/** Per instance and queue: the module to record with, the ids last found recorded, and a recovery in flight. */
interface QueueRecovery {
  module: string;
  /** Every id can lack a run (`instrumentWorker`: no start is awaited), not only UUIDs (`tracked`). */
  anyId: boolean;
  recorded: Set<string>;
  running?: Promise<RecoverSummary>;
}

const seen = new WeakMap<AgentcoreTask, Map<string, QueueRecovery>>();

function stateOf(tasks: AgentcoreTask, queueName: string, module: string): QueueRecovery {
  let queues = seen.get(tasks);
  if (!queues) {
    queues = new Map();
    seen.set(tasks, queues);
  }
  let state = queues.get(queueName);
  if (!state) {
    state = { module, anyId: false, recorded: new Set() };
    queues.set(queueName, state);
  }
  return state;
}

/**
 * Stores the runs of finished jobs that have none. Jobs with a UUID id added with a plain `queue.add` start before any
 * row is written (`tracked` takes them for `dispatch`ed ones), and `instrumentWorker` never holds a job for its
 * writes, so a worker killed after BullMQ completed or failed a job, but before its write buffer flushed, can leave no
 * row at all. Reads the ids of the newest `limit` jobs of the queue's `completed` and `failed` sets, keeps those
 * without a run (UUIDs only, unless `anyId`; under the id, or `<queue>:<id>`), and stores each with the status BullMQ
 * ended it with (`SUCCESS` with the return value, or `FAILURE` with the reason and stack) and the job's own times
 * (added, processed: the start of its last attempt, finished). Jobs added before the retention cutoff
 * (`retentionDays`), or before the newest cutoff any cleanup used, are left alone: cleanup may have deleted their runs
 * on purpose. A job whose run the database refuses (an over-long id) is logged and skipped. Idempotent: the insert
 * skips a `task_id` that exists, so concurrent calls (two workers) store each run once.
 *
 * A job BullMQ already removed (`removeOnComplete` / `removeOnFail`) cannot be read back: no run is created for it.
 * `dispatch` registers the run before adding the job and so never leaves that gap. Needs the instance's sync source
 * to be a BullMQ one (the default with `redis`/`bullmq`, or `useBullmqSync`); otherwise it does nothing. Throws
 * `BackendUnavailableError` when the queue cannot be reached.
 */
export async function recoverUnrecorded(
  tasks: AgentcoreTask,
  queueName: string,
  options: RecoverOptions,
): Promise<RecoverSummary> {
  const state = stateOf(tasks, queueName, options.module);
  // One at a time per queue: a start-up recovery and the timeout job's share the pass.
  state.running ??= recover(tasks, queueName, options, state).finally(() => {
    state.running = undefined;
  });
  return state.running;
}

async function recover(
  tasks: AgentcoreTask,
  queueName: string,
  options: RecoverOptions,
  state: QueueRecovery,
): Promise<RecoverSummary> {
  const summary: RecoverSummary = { checked: 0, recovered: 0 };
  const source = await bullmqSourceOf(tasks.tracker.queueSource);
  if (!source) return summary;
  const limit = options.limit ?? DEFAULT_RECOVER_LIMIT;
  // Jobs added before the retention cutoff, or before the newest cutoff any cleanup used (one run with a shorter
  // retention), are left alone: cleanup may have deleted their runs on purpose, and BullMQ keeps finished jobs until
  // told otherwise.
  const { retentionDays } = await tasks.settings.get();
  const cleanedBefore = (await readCleanupCutoff(tasks.db))?.getTime() ?? 0;
  const cutoff = Math.max(Date.now() - retentionDays * 86_400_000, cleanedBefore);
  const recorded = new Set<string>();
  for (const finished of ['completed', 'failed'] as FinishedState[]) {
    const anyId = options.anyId || state.anyId;
    const ids = (await source.newestFinishedIds(queueName, finished, limit)).filter((id) => anyId || UUID.test(id));
    // Ids found recorded by the last pass are skipped: a repeated pass (the timeout job's) reads only new ones.
    const candidates = ids.filter((id) => !state.recorded.has(id));
    for (const id of ids) if (state.recorded.has(id)) recorded.add(id);
    summary.checked += candidates.length;
    for (let i = 0; i < candidates.length; i += PAGE) {
      for (const [id, taskId] of await unrecorded(tasks, queueName, candidates.slice(i, i + PAGE), recorded)) {
        try {
          const job = await source.finishedJob(queueName, id);
          const recent = job && !(typeof job.timestamp === 'number' && job.timestamp < cutoff);
          if (job && recent && (await register(tasks, queueName, options.module, taskId, job))) summary.recovered++;
          recorded.add(id);
        } catch (error) {
          // One job that cannot be stored (an id or name the database refuses) must not hold up the others; an
          // unreachable queue or database fails the pass.
          if (!(error instanceof ValidationError)) throw error;
          notRecovered(tasks, queueName, id, error);
          recorded.add(id);
        }
      }
    }
  }
  state.recorded = recorded;
  return summary;
}

/**
 * The ids among `ids` with no run of this queue, each with the `task_id` to record it under; the others are added to
 * `recorded`. One read per id (`tasks.tracker.getTask`): the store has no read by many task ids yet.
 */
async function unrecorded(
  tasks: AgentcoreTask,
  queueName: string,
  ids: string[],
  recorded: Set<string>,
): Promise<Map<string, string>> {
  const missing = new Map<string, string>();
  const check = async (id: string) => {
    // An id no run can have (over 255 characters, a NUL, which PostgreSQL would refuse even in a lookup): skipped.
    try {
      checkIdentifier(id, 'task_id');
    } catch (error) {
      notRecovered(tasks, queueName, id, error);
      recorded.add(id);
      return;
    }
    const row = await tasks.tracker.getTask(id);
    if (row && !takenByAnotherQueue(row, queueName)) {
      recorded.add(id);
      return;
    }
    // No run under the id, or one of another queue: the job's run, if any, is `<queue>:<id>`.
    const qualified = qualifiedTaskId(queueName, id);
    if (await tasks.tracker.getTask(qualified)) recorded.add(id);
    else missing.set(id, row ? qualified : id);
  };
  // A few reads at a time: the pool stays free for the workers' own writes.
  for (let i = 0; i < ids.length; i += READS_AT_ONCE) await Promise.all(ids.slice(i, i + READS_AT_ONCE).map(check));
  return missing;
}

/** Logs a finished job whose run cannot be stored (it is not tried again by this instance). */
function notRecovered(tasks: AgentcoreTask, queueName: string, jobId: string, error: unknown): void {
  tasks.logger.warn({ err: error, queue: queueName, jobId }, 'agentcore-task: finished job not recovered');
}

/**
 * Stores the run of a finished job, final status and the job's own times included (added, last attempt started,
 * finished), through the store's import: one insert, left alone when the `task_id` is taken meanwhile (`false` then).
 */
async function register(
  tasks: AgentcoreTask,
  queueName: string,
  module: string,
  taskId: string,
  job: FinishedJob,
): Promise<boolean> {
  const at = (ms: number | undefined) => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : null);
  const now = new Date().toISOString();
  const finishedAt = at(job.finishedOn) ?? now;
  const { taskArgs, taskKwargs } = jobArguments(job.data);
  const { status, result, error, traceback } = job.state;
  const run = toImportRun(
    {
      task_id: taskId,
      task_name: jobTaskName(job),
      module,
      status,
      created_at: at(job.timestamp) ?? finishedAt,
      started_at: at(job.processedOn) ?? finishedAt,
      finished_at: finishedAt,
      updated_at: now,
      task_args: taskArgs ?? [],
      task_kwargs: taskKwargs ?? {},
      result: status === TaskStatus.SUCCESS ? (result ?? null) : null,
      error: error ?? null,
      traceback: traceback ?? null,
      queue_name: queueName,
      metadata: { attempt: Math.max(job.attemptsMade, 1), recovered_from_queue: true },
    },
    tasks.tracker.maxPayloadBytes,
  );
  const { inserted } = await tasks.tracker.store.importRuns([run]);
  return inserted > 0;
}

/**
 * Schedules `recoverUnrecorded` in the background for the first job of each queue an instance's tracked processors
 * receive; its errors are logged as warnings. Later calls for the same instance and queue do nothing.
 */
export function recoverQueueOnce(tasks: AgentcoreTask, queueName: string, module: string, anyId = false): void {
  const queues = seen.get(tasks);
  const known = queues?.get(queueName);
  if (known) {
    known.anyId ||= anyId;
    return;
  }
  stateOf(tasks, queueName, module).anyId = anyId;
  setImmediate(() => void recoverAndLog(tasks, queueName, module, 'start-up'));
}

/**
 * `recoverUnrecorded` for every queue the instance's tracked processors have received jobs from (the timeout job's
 * pass; each reads only ids the last pass did not find recorded). Never throws: failures are logged.
 */
export async function recoverSeenQueues(tasks: AgentcoreTask): Promise<void> {
  const queues = seen.get(tasks);
  if (!queues) return;
  for (const [queueName, state] of queues) await recoverAndLog(tasks, queueName, state.module, 'periodic');
}

async function recoverAndLog(tasks: AgentcoreTask, queueName: string, module: string, pass: string): Promise<void> {
  try {
    const summary = await recoverUnrecorded(tasks, queueName, { module });
    if (summary.recovered > 0)
      tasks.logger.info(
        { ...summary, queue: queueName },
        'agentcore-task: finished jobs with no run (their writes were lost) recorded from the queue',
      );
  } catch (error) {
    tasks.logger.warn({ err: error, queue: queueName }, `agentcore-task: ${pass} recovery of unrecorded jobs failed`);
  }
}
