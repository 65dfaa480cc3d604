import { BackendUnavailableError, coerceError, ValidationError } from '../errors.js';
import { checkIdentifier, cleanText, clipText, isPlainObject, serializePayload, toText } from '../json-safe.js';
import type { Logger } from '../logger.js';
import type { QueueSource } from '../queue/source.js';
import type { ChangeFeed, ExecutionChange } from '../realtime/feed.js';
import { isCompletedStatus, isTaskStatus, TaskStatus, type TaskStatusValue } from '../status.js';
import { ReadCoalescer } from '../store/coalesce.js';
import type { ChangedRun, ExecutionStore, StatusPatch } from '../store/execution-store.js';
import type {
  ExecutionFilters,
  ExecutionPage,
  PageOptions,
  ProgressInput,
  RegisterTaskInput,
  StatsOptions,
  TaskExecution,
  TaskStats,
  UpdateTaskInput,
} from '../types.js';
import { applyWrite, WriteBatcher, type WriteOp, type WriteResult } from './write-batcher.js';
import { WriteQueue } from './write-queue.js';

/** How the tracker reacts when a write cannot be stored. */
export type OnRecordError = 'log' | 'throw';

export interface TrackerOptions {
  store: ExecutionStore;
  feed: ChangeFeed;
  logger: Logger;
  /** A payload (args, result, metadata value) larger than this is stored as a truncation marker. @defaultValue 1 MiB */
  maxPayloadBytes: number;
  /** `'log'` (default): a failed write is logged and the call resolves `null`. `'throw'`: it rejects. */
  onRecordError: OnRecordError;
  /** Where `syncTask` reads the queue's state; none by default. */
  queueSource?: QueueSource;
}

/** Result of `syncAllUnfinished`. */
export interface SyncSummary {
  synced_count: number;
  updated_count: number;
}

/**
 * Records task runs: register, update, progress, heartbeat; reads them: get, list, stats; and pulls state from the
 * queue (sync). Writes go through an ordered, retrying buffer and never throw into the task unless
 * `onRecordError: 'throw'`.
 */
export class TaskTracker {
  /** The write path: batched on PostgreSQL, run by run elsewhere. */
  private readonly writes: WriteBatcher | WriteQueue;
  /** Stats being counted, by their options as JSON: identical requests at the same time share one count. */
  private readonly statsReads = new ReadCoalescer<TaskStats>();
  /** The queue sync source; set by the BullMQ integration (`useBullmqSync`) or by the host. */
  queueSource: QueueSource | undefined;

  /** The size above which a payload is stored as a truncation marker (`maxPayloadBytes` of the instance). */
  get maxPayloadBytes(): number {
    return this.options.maxPayloadBytes;
  }

  constructor(private readonly options: TrackerOptions) {
    this.queueSource = options.queueSource;
    const policy = { isTransient: (e: unknown) => options.store.dialect.isTransientError(e), logger: options.logger };
    this.writes = options.store.batches
      ? new WriteBatcher({ ...policy, store: options.store, onWritten: (result) => this.announce(result) })
      : new WriteQueue(policy);
  }

  /** The store behind the tracker (for the maintenance jobs and the HTTP layer). */
  get store(): ExecutionStore {
    return this.options.store;
  }

  /** Writes acknowledged but not yet stored (non-zero only while the database is unreachable). */
  get pendingWrites(): number {
    return this.writes.pending;
  }

  /**
   * Records a new run. Idempotent per `taskId`: a second call returns the existing row unchanged (a row created by
   * an earlier update gets its name, module, args and creator filled in).
   *
   * @example
   * await tasks.registerTaskExecution({ taskId: job.id, taskName: 'send_report', module: 'reports', createdBy: { id: 7 } });
   */
  async registerTaskExecution(input: RegisterTaskInput): Promise<TaskExecution | null> {
    return this.guard(input?.taskId, async () => {
      const run = this.normalizeRegister(input);
      const outcome = await this.apply(run.taskId, { kind: 'register', run }, true);
      // `undefined`: held in the write buffer while the database is unreachable.
      return outcome?.kind === 'registered' ? outcome.execution : null;
    });
  }

  /**
   * Sets the status of a run, and `result`, `error`, `traceback` when given; merges `metadata` keys into the stored
   * object. Creates the row if the run is not registered yet.
   *
   * @example
   * await tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: { count: 3 } });
   */
  async updateTaskStatus(
    taskId: string,
    status: TaskStatusValue,
    fields: UpdateTaskInput = {},
  ): Promise<TaskExecution | null> {
    return this.guard(taskId, async () => {
      checkTaskId(taskId);
      if (!isTaskStatus(status))
        throw new ValidationError(
          `status must be one of ${TaskStatus.all.join(', ')}, got ${JSON.stringify(status)}`,
          'status',
        );
      return this.write(taskId, this.toPatch(status, fields));
    });
  }

  /**
   * Writes progress into metadata (`progress_percent` clamped to 0–100, `progress_message`, `progress_step`, and
   * any extra keys) without changing the status.
   */
  async reportProgress(taskId: string, progress: ProgressInput): Promise<TaskExecution | null> {
    return this.guard(taskId, async () => {
      checkTaskId(taskId);
      const metadata = progressMetadata(progress);
      if (Object.keys(metadata).length === 0) return this.store.getByTaskId(taskId);
      return this.write(taskId, { metadata: this.metadataPatch(metadata) });
    });
  }

  /** Sets only `updated_at`: the run is alive. Returns `false` for an unknown run. */
  async heartbeat(taskId: string): Promise<boolean> {
    const ok = await this.guard(taskId, async () => {
      checkTaskId(taskId);
      const outcome = await this.apply(taskId, { kind: 'update', patch: {}, queue: null, create: false }, false);
      return outcome?.kind !== 'unmatched';
    });
    return ok ?? false;
  }

  /** The run with this `taskId`, or `null`. With `sync: true` the queue's state is pulled first. */
  async getTask(taskId: string, options: { sync?: boolean } = {}): Promise<TaskExecution | null> {
    if (options.sync) return this.syncTask(taskId);
    return this.store.getByTaskId(taskId);
  }

  /** The run with this primary key, or `null`. */
  async getById(id: number): Promise<TaskExecution | null> {
    return this.store.getById(id);
  }

  /** One page of runs (filters and ordering as the REST list). Throws `ValidationError` for bad filters. */
  async listTaskExecutions(filters: ExecutionFilters = {}, page: PageOptions = {}): Promise<ExecutionPage> {
    return this.store.list(filters, page);
  }

  /**
   * Counts by status, module and task name, and an optional time series. Identical requests at the same time share
   * one count (`ReadCoalescer`: each answer is counted after its request arrived; each caller gets its own copy): a
   * dashboard polled by many admins, or a burst of the same request, costs the database one query set at a time per
   * process instead of one per request.
   */
  async getTaskStats(options: StatsOptions = {}): Promise<TaskStats> {
    let key: string;
    try {
      key = JSON.stringify(options);
    } catch {
      return this.store.stats(options); // not serializable (a BigInt): no sharing, the store validates it
    }
    return this.statsReads.run(key, () => this.store.stats(options), structuredClone);
  }

  /**
   * Pulls the run's state from the queue into the row and returns the row. Without a queue source, or when the queue
   * no longer knows the job, the row is returned unchanged. Throws `BackendUnavailableError` when the queue cannot be
   * reached (the row is unchanged then too).
   */
  async syncTask(taskId: string): Promise<TaskExecution | null> {
    const execution = await this.store.getByTaskId(taskId);
    if (!execution || !this.queueSource) return execution;
    let state: Awaited<ReturnType<QueueSource['getState']>>;
    try {
      state = await this.queueSource.getState(execution);
    } catch (error) {
      if (error instanceof BackendUnavailableError) throw error;
      throw new BackendUnavailableError(`queue could not be reached: ${coerceError(error).message}`, { cause: error });
    }
    if (!state || !needsSync(execution, state.status)) return execution;
    const fields: UpdateTaskInput = {};
    if ('result' in state) fields.result = state.result;
    if (state.error !== undefined) fields.error = state.error;
    if (state.traceback !== undefined) fields.traceback = state.traceback;
    if (state.metadata) fields.metadata = state.metadata;
    const updated = await this.write(taskId, this.toPatch(state.status, fields));
    return updated ?? execution;
  }

  /** Syncs up to `max` unfinished runs (oldest first) from the queue. */
  async syncAllUnfinished(options: { max?: number } = {}): Promise<SyncSummary> {
    const summary: SyncSummary = { synced_count: 0, updated_count: 0 };
    if (!this.queueSource) return summary;
    const runs = await this.store.unfinished(options.max ?? 1000);
    for (const run of runs) {
      try {
        const after = await this.syncTask(run.taskId);
        summary.synced_count++;
        if (after && after.status !== run.status) summary.updated_count++;
      } catch (error) {
        if (error instanceof BackendUnavailableError) throw error;
        this.options.logger.warn({ err: error, taskId: run.taskId }, 'agentcore-task: sync failed');
      }
    }
    return summary;
  }

  /**
   * Sets a run's status like `updateTaskStatus`, for the queue integrations: returns only what identifies the run
   * (`ChangedRun`), which spares reading the whole row back. With `queue`, the write applies only when the run belongs
   * to that queue (or to none) and returns `'unmatched'` otherwise, without creating a row. `null` when the write is
   * held in the buffer (database unreachable) or failed (logged).
   *
   * @internal
   */
  async recordStatus(
    taskId: string,
    status: TaskStatusValue | undefined,
    fields: UpdateTaskInput = {},
    queue: string | null = null,
  ): Promise<ChangedRun | 'unmatched' | null> {
    return this.guard(taskId, async () => {
      checkTaskId(taskId);
      const patch =
        status === undefined ? { metadata: this.metadataPatch(fields.metadata ?? {}) } : this.toPatch(status, fields);
      const outcome = await this.apply(taskId, { kind: 'update', patch, queue, create: queue === null }, false);
      if (!outcome) return null;
      return outcome.kind === 'updated' ? outcome.run : outcome.kind === 'unmatched' ? 'unmatched' : outcome.execution;
    });
  }

  /** Publishes a change made outside the tracker's write methods (maintenance jobs). */
  emit(execution: Pick<ChangedRun, 'id' | 'taskId' | 'status' | 'createdById'>, kind: ExecutionChange['kind']) {
    const change: ExecutionChange = {
      kind,
      id: execution.id,
      task_id: execution.taskId,
      status: execution.status,
      created_by_id: execution.createdById === null ? null : String(execution.createdById),
    };
    this.options.feed.publish(change).catch((error) => {
      this.options.logger.warn({ err: error }, 'agentcore-task: change notification failed');
    });
  }

  /** Waits for buffered writes (used by `close()`). */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.writes.flush(timeoutMs);
  }

  private async write(taskId: string, patch: StatusPatch): Promise<TaskExecution | null> {
    const outcome = await this.apply(taskId, { kind: 'update', patch, queue: null, create: true }, true);
    if (outcome?.kind !== 'updated') return null;
    return outcome.execution ?? (await this.store.getByTaskId(taskId));
  }

  /**
   * Every write goes here: after the run's earlier writes, retried while the database is unreachable (`undefined`
   * once held in the buffer). `full` asks for the whole row back.
   */
  private async apply(taskId: string, op: WriteOp, full: boolean): Promise<WriteResult | undefined> {
    if (this.writes instanceof WriteBatcher) return this.writes.submit(taskId, op, full);
    const outcome = await this.writes.run(taskId, () => applyWrite(this.store, taskId, op));
    if (outcome) this.announce(outcome);
    return outcome;
  }

  /** Tells the change feed what a write did: a second registration changed nothing, a late one filled a row in. */
  private announce(outcome: WriteResult): void {
    if (outcome.kind === 'registered') {
      if (outcome.created) this.emit(outcome.execution, 'created');
      else if (outcome.filledIn) this.emit(outcome.execution, 'updated');
    } else if (outcome.kind === 'updated') this.emit(outcome.run, 'updated');
  }

  private toPatch(status: TaskStatusValue, fields: UpdateTaskInput): StatusPatch {
    const patch: StatusPatch = { status };
    if (fields.result !== undefined) patch.resultJson = this.serialize(fields.result, 'result');
    if (fields.error !== undefined) patch.error = fields.error === null ? null : toText(fields.error);
    if (fields.traceback !== undefined) patch.traceback = fields.traceback === null ? null : toText(fields.traceback);
    if (fields.metadata !== undefined) {
      if (!isPlainObject(fields.metadata)) throw new ValidationError('metadata must be a plain object', 'metadata');
      patch.metadata = this.metadataPatch(fields.metadata);
    }
    return patch;
  }

  /**
   * Top-level metadata keys with their JSON text, keys cleaned like every stored string. An object whose keys cannot
   * be read (a Proxy whose `ownKeys` throws) contributes nothing, with a warning: the rest of the write still lands.
   */
  private metadataPatch(metadata: Record<string, unknown>): Array<readonly [string, string]> {
    let entries: Array<[string, unknown]>;
    try {
      entries = Object.entries(metadata);
    } catch (error) {
      this.options.logger.warn(
        { err: error, field: 'metadata' },
        'agentcore-task: metadata could not be read; skipped',
      );
      return [];
    }
    const pairs: Array<readonly [string, string]> = [];
    for (const [k, v] of entries) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      const key = cleanText(k);
      pairs.push([key, this.serialize(v, `metadata.${key}`)]);
    }
    return pairs;
  }

  private serialize(value: unknown, what: string): string {
    const { logger, maxPayloadBytes } = this.options;
    return serializePayload(value, maxPayloadBytes, {
      onTruncate: (bytes) =>
        logger.warn(
          { bytes, field: what },
          `agentcore-task: ${what} is larger than maxPayloadBytes; stored a truncation marker`,
        ),
      onMarker: (reason) =>
        logger.warn(
          { reason, field: what },
          `agentcore-task: part of ${what} could not be stored as is (${reason}); stored a marker`,
        ),
    }).json;
  }

  private normalizeRegister(input: RegisterTaskInput) {
    if (!input || typeof input !== 'object')
      throw new ValidationError('registerTaskExecution needs an object', 'taskId');
    checkTaskId(input.taskId);
    if (typeof input.taskName !== 'string' || input.taskName === '' || input.taskName.length > 255)
      throw new ValidationError('taskName must be a non-empty string of at most 255 characters', 'taskName');
    if (typeof input.module !== 'string' || input.module.length > 100)
      throw new ValidationError('module must be a string of at most 100 characters', 'module');
    const status = input.initialStatus ?? TaskStatus.PENDING;
    if (!isTaskStatus(status))
      throw new ValidationError(`initialStatus must be one of ${TaskStatus.all.join(', ')}`, 'initialStatus');
    const args = input.taskArgs ?? [];
    if (!Array.isArray(args)) throw new ValidationError('taskArgs must be an array', 'taskArgs');
    const kwargs = input.taskKwargs ?? {};
    if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))
      throw new ValidationError('taskKwargs must be an object', 'taskKwargs');
    const metadata = input.metadata ?? {};
    if (!isPlainObject(metadata)) throw new ValidationError('metadata must be a plain object', 'metadata');
    const queueName = input.queueName ?? null;
    if (queueName !== null) checkIdentifier(queueName, 'queueName');
    return {
      taskId: input.taskId,
      taskName: cleanText(input.taskName),
      module: cleanText(input.module),
      status,
      argsJson: this.serialize(args, 'taskArgs'),
      kwargsJson: this.serialize(kwargs, 'taskKwargs'),
      metadataJson: JSON.stringify(
        Object.fromEntries(this.metadataPatch(metadata).map(([k, v]) => [k, JSON.parse(v)])),
      ),
      ...creatorOf(input.createdBy),
      queueName,
    };
  }

  /** Applies the `onRecordError` policy: recording never throws into the task unless asked to. */
  private async guard<T>(taskId: unknown, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (error) {
      if (this.options.onRecordError === 'throw') throw error;
      this.options.logger.error({ err: error, taskId }, 'agentcore-task: could not record task run');
      return null;
    }
  }
}

/**
 * The metadata keys a progress report writes: `progress_percent` (clamped to 0–100, rounded), `progress_message`,
 * `progress_step`, and any extra keys as given.
 */
export function progressMetadata(progress: ProgressInput | null | undefined): Record<string, unknown> {
  const { percent, message, step, ...extra } = progress ?? {};
  const metadata: Record<string, unknown> = { ...extra };
  if (percent !== undefined) {
    const n = Number(percent);
    metadata.progress_percent = Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
  }
  if (message !== undefined) metadata.progress_message = message;
  if (step !== undefined) metadata.progress_step = step;
  return metadata;
}

function checkTaskId(taskId: unknown): asserts taskId is string {
  checkIdentifier(taskId, 'taskId');
}

/** `createdBy` as stored: the id (a finite number or a non-empty string) as text, the username clipped to 150. */
function creatorOf(creator: RegisterTaskInput['createdBy']): {
  createdById: string | null;
  createdByUsername: string | null;
} {
  if (creator == null) return { createdById: null, createdByUsername: null };
  if (typeof creator !== 'object')
    throw new ValidationError('createdBy must be { id, username? } or null', 'createdBy');
  const { id, username } = creator;
  if (typeof id === 'number') {
    if (!Number.isFinite(id))
      throw new ValidationError('createdBy.id must be a finite number or a non-empty string', 'createdBy.id');
  } else if (typeof id === 'string') checkIdentifier(id, 'createdBy.id');
  else throw new ValidationError('createdBy.id must be a finite number or a non-empty string', 'createdBy.id');
  return { createdById: String(id), createdByUsername: username == null ? null : clipText(toText(username), 150) };
}

/**
 * A sync writes only when the queue's status is progress: never a completed row back to an unfinished one, and never
 * a running (`STARTED`/`RETRY`) row back to `PENDING`. A queue reports a started job as waiting again when it is put
 * back (a stalled BullMQ job, a Celery result entry still saying `PENDING`): the run has started, and applying that
 * would show it as never begun and hide it from the timeout job. `STARTED` and `RETRY` may follow each other.
 */
function needsSync(execution: TaskExecution, status: TaskStatusValue): boolean {
  if (execution.status === status) return isCompletedStatus(status) && execution.finishedAt === null;
  if (isCompletedStatus(execution.status) && !isCompletedStatus(status)) return false;
  if (TaskStatus.running.has(execution.status) && status === TaskStatus.PENDING) return false;
  return true;
}
