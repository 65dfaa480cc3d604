import type { ConnectionOptions, JobState } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { BackendUnavailableError, coerceError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import { TaskStatus } from '../../status.js';
import type { TaskExecution } from '../../types.js';
import type { QueueActionResult, QueueJobState, QueueSource } from '../source.js';
import { type BullmqConnection, backendFor, isPostgresConnection } from './backend.js';
import { jobIdOf } from './lifecycle.js';
import { loadBullmq, loadIoredis } from './load.js';

/** The part of a BullMQ `Job` the sync source reads; a `Job` of bullmq 5 or 6 fits. */
export interface SourceJob {
  /** The job's name and data: read by `recoverUnrecorded` to register a run nobody wrote. */
  name?: string;
  data?: unknown;
  /** Added, processed (the last attempt's start) and finished (epoch ms): the times `recoverUnrecorded` records. */
  timestamp?: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  attemptsMade: number;
  returnvalue: unknown;
  failedReason: string;
  stacktrace: string[] | null;
  getState(): Promise<string>;
  /** BullMQ's `Job#retry` (bullmq 5 and 6): moves a failed (or completed) job back to waiting. */
  retry?(state?: 'completed' | 'failed'): Promise<void>;
  /** BullMQ's `Job#remove` (bullmq 5 and 6): deletes the job; refused while a worker holds its lock. */
  remove?(): Promise<void>;
}

/** The states a job can be cancelled (removed) in: it has not started, and no worker holds it. */
export const CANCELLABLE_STATES: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized']);

/**
 * The part of a BullMQ `Queue` the sync source uses. Any `Queue<…>` of bullmq 5 or 6 fits, on Redis or on bullmq 6's
 * PostgreSQL backend. Declared here rather than picked from bullmq's `Queue`, whose members differ between the
 * majors (bullmq 6 has no `Queue#client`), so these types compile against either.
 */
export interface SourceQueue {
  readonly name: string;
  getJob(jobId: string): Promise<SourceJob | undefined>;
  getWorkersCount(): Promise<number>;
  /** Redis key of a job (Redis backends only); used to read its lock. */
  toKey?(type: string): string;
  /**
   * BullMQ's `Queue#getRanges` (bullmq 5 and 6, both backends): the ids of the jobs in the given states. Read by
   * `recoverUnrecorded`; a queue without it is not recovered.
   */
  getRanges?(types: string[], start?: number, end?: number, asc?: boolean): Promise<string[]>;
}

/** A job read back from a finished set of its queue (see `BullmqSource#finishedJob`). */
export interface FinishedJob {
  id: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  /** When it was added, processed (its last attempt started) and finished (epoch ms), as BullMQ keeps them. */
  timestamp?: number | undefined;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  /** `SUCCESS` with the return value, or `FAILURE` with the failed reason and the last stack trace. */
  state: QueueJobState;
}

/** The finished sets `recoverUnrecorded` reads. */
export type FinishedState = 'completed' | 'failed';

/** A queue this source opened itself (and closes). */
type OwnedQueue = SourceQueue & { close(): Promise<void> };

/** The one Redis call the liveness check makes. */
interface RedisGet {
  get(key: string): Promise<string | null>;
}

/**
 * The Redis client under a queue: `Queue#client` on bullmq 5, `queue.getBackend().client` on bullmq 6 (absent on its
 * PostgreSQL backend). Read structurally so neither major's types are needed.
 */
function redisClientOf(queue: SourceQueue): Promise<RedisGet> | undefined {
  const q = queue as { client?: Promise<RedisGet>; getBackend?: () => { client?: Promise<RedisGet> } | undefined };
  if (typeof q.getBackend === 'function') return q.getBackend()?.client;
  return q.client;
}

/** Default bound on one sync call when Redis does not answer. */
export const DEFAULT_SYNC_TIMEOUT_MS = 5_000;

/** Options of `bullmqSource`. */
export interface BullmqSourceOptions {
  /** Queues to read, matched by `execution.queueName`. */
  queues?: readonly SourceQueue[];
  /**
   * Where to open other queues on demand (by `execution.queueName`). Redis: a `redis://` URL (a connection this source
   * opens and closes), an ioredis instance (shared, left open) or BullMQ connection options. With bullmq 6, its
   * PostgreSQL backend: a `postgres://` URL or `{ connectionString, schema }` (each queue opened has a small pool of
   * its own, closed by `close()`; the schema must already exist, as the workers create it).
   */
  connection?: BullmqConnection;
  /** BullMQ key prefix of the queues opened on demand. @defaultValue `'bull'` */
  prefix?: string;
  /** A sync call that gets no answer from the queue's Redis or PostgreSQL within this time fails with `BackendUnavailableError`. @defaultValue `5000` */
  timeoutMs?: number;
  /** Where connection errors of the queues opened on demand are reported. @defaultValue silent */
  logger?: Logger;
}

/**
 * BullMQ state → record status. `waiting`/`prioritized`/`waiting-children`/`delayed` are `PENDING`,
 * or `RETRY` when an earlier attempt failed; `active` is `STARTED`; `completed` is `SUCCESS` with the return value;
 * `failed` is `FAILURE` with the failed reason and the last stack trace.
 */
export function jobStateToStatus(
  job: Pick<SourceJob, 'attemptsMade' | 'returnvalue' | 'failedReason' | 'stacktrace'>,
  state: JobState,
): QueueJobState {
  const lastStack = job.stacktrace?.length ? job.stacktrace[job.stacktrace.length - 1] : undefined;
  switch (state) {
    case 'active':
      return { status: TaskStatus.STARTED };
    case 'completed':
      return { status: TaskStatus.SUCCESS, result: job.returnvalue ?? null };
    case 'failed':
      return { status: TaskStatus.FAILURE, error: job.failedReason || 'failed', traceback: lastStack ?? null };
    default:
      // waiting, prioritized, waiting-children, delayed. A failed attempt before means BullMQ is retrying it.
      if (job.attemptsMade > 0) {
        const retry: QueueJobState = { status: TaskStatus.RETRY };
        if (job.failedReason) retry.error = job.failedReason;
        if (lastStack) retry.traceback = lastStack;
        return retry;
      }
      return { status: TaskStatus.PENDING };
  }
}

/**
 * Reads runs' real state from BullMQ for `tracker.syncTask`, `syncAllUnfinished`, `getTask({ sync: true })` and the
 * timeout job. A job the queue no longer knows (removed, never added) yields `null`, which never changes the row.
 */
export class BullmqSource implements QueueSource {
  private readonly queues = new Map<string, SourceQueue>();
  private readonly opened = new Map<string, Promise<OwnedQueue>>();
  private redis: Promise<unknown> | undefined;
  private ownsRedis = false;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: BullmqSourceOptions = {}) {
    for (const q of options.queues ?? []) this.queues.set(q.name, q);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
    this.logger = options.logger ?? silentLogger;
  }

  /** The job's state mapped to a status, or `null` when the queue does not know the job. */
  async getState(execution: TaskExecution): Promise<QueueJobState | null> {
    const queue = await this.queueFor(execution.queueName);
    if (!queue) return null;
    return this.bounded(queue.name, async () => {
      const jobId = jobIdOf(execution);
      let job = await queue.getJob(jobId);
      if (!job) return null;
      const state = await job.getState();
      if (state === 'unknown') return null;
      // The job was read before its state: a worker may have finished it in between, so a job found completed or
      // failed is read again to get its return value or reason (else SUCCESS would be recorded with a null result).
      if (state === 'completed' || state === 'failed') {
        job = await queue.getJob(jobId);
        if (!job) return null;
      }
      return jobStateToStatus(job, state as JobState);
    });
  }

  /**
   * Ids of the newest `count` jobs of the queue's `completed` or `failed` set, newest first. `[]` when this source
   * cannot open the queue or the queue object cannot list (no `getRanges`).
   */
  async newestFinishedIds(queueName: string, state: FinishedState, count: number): Promise<string[]> {
    const queue = await this.queueFor(queueName);
    if (!queue?.getRanges || count <= 0) return [];
    const list = queue.getRanges.bind(queue);
    return this.bounded(queue.name, async () => (await list([state], 0, count - 1, false)).map(String));
  }

  /**
   * The job, when it is `completed` or `failed` now (read again after its state, as in `getState`); `null` when the
   * queue does not know it (removed, e.g. by `removeOnComplete`/`removeOnFail`) or it is in another state.
   */
  async finishedJob(queueName: string, jobId: string): Promise<FinishedJob | null> {
    const queue = await this.queueFor(queueName);
    if (!queue) return null;
    return this.bounded(queue.name, async () => {
      const found = await queue.getJob(jobId);
      const state = found ? await found.getState() : null;
      if (state !== 'completed' && state !== 'failed') return null;
      const job = await queue.getJob(jobId);
      if (!job) return null;
      return {
        id: jobId,
        name: job.name ?? '',
        data: job.data,
        attemptsMade: job.attemptsMade,
        timestamp: job.timestamp,
        processedOn: job.processedOn,
        finishedOn: job.finishedOn,
        state: jobStateToStatus(job, state),
      };
    });
  }

  /**
   * `true` when the job is `active` in its queue **and** a worker runs it. A job left `active` by a killed worker is
   * not alive, whatever its state says (BullMQ's stalled check will move it later).
   *
   * On Redis, "a worker runs it" is the job's lock key (BullMQ has no public call for it; the worker renews the lock
   * while the job runs and a dead worker's lock expires). Elsewhere (bullmq 6's PostgreSQL backend) it is BullMQ's
   * own `queue.getWorkersCount() > 0`: a worker of the queue is connected. A killed worker's connections close with
   * it, so its job counts as dead unless another worker of the same queue is alive, until the stalled check moves it.
   */
  async isActive(execution: TaskExecution): Promise<boolean> {
    const queue = await this.queueFor(execution.queueName);
    if (!queue) return false;
    return this.bounded(queue.name, async () => {
      const jobId = jobIdOf(execution);
      const job = await queue.getJob(jobId);
      if (!job || (await job.getState()) !== 'active') return false;
      const redis = redisClientOf(queue);
      if (redis && queue.toKey) return (await (await redis).get(`${queue.toKey(jobId)}:lock`)) !== null;
      return (await queue.getWorkersCount()) > 0;
    });
  }

  /**
   * Retries a `failed` job with BullMQ's `job.retry('failed')` (its attempts count is kept, so a sync reads it as
   * `RETRY`). Any other state, or an unknown job, is refused with the state found.
   */
  async retry(execution: TaskExecution): Promise<QueueActionResult> {
    return this.act(
      execution,
      (state) => state === 'failed',
      (job) => job.retry?.('failed'),
    );
  }

  /**
   * Removes a `waiting`, `delayed` or `prioritized` job with BullMQ's `job.remove()`. Any other state (an `active` job
   * is running; a finished one has nothing left to cancel), or an unknown job, is refused with the state found.
   */
  async cancel(execution: TaskExecution): Promise<QueueActionResult> {
    return this.act(
      execution,
      (state) => CANCELLABLE_STATES.has(state),
      (job) => job.remove?.(),
    );
  }

  /**
   * Reads the job, checks its state and acts. A job whose state changed between the read and the act (a worker took
   * it, BullMQ moved it) makes BullMQ refuse the act; the state is read again and the refusal reported with it, so
   * only a queue that cannot be reached is an error.
   */
  private async act(
    execution: TaskExecution,
    allowed: (state: string) => boolean,
    fn: (job: SourceJob) => Promise<void> | undefined,
  ): Promise<QueueActionResult> {
    const queue = await this.queueFor(execution.queueName);
    if (!queue) return { done: false, state: null };
    return this.bounded(queue.name, async () => {
      const jobId = jobIdOf(execution);
      const job = await queue.getJob(jobId);
      if (!job) return { done: false, state: null };
      const state = await job.getState();
      if (state === 'unknown') return { done: false, state: null };
      if (!allowed(state)) return { done: false, state };
      try {
        const acted = fn(job);
        if (!acted) return { done: false, state }; // a job object without the method: nothing was done
        await acted;
      } catch (error) {
        const now = await queue.getJob(jobId);
        const after = now ? await now.getState() : null;
        if (after === null || after === 'unknown' || !allowed(after))
          return { done: false, state: after === 'unknown' ? null : after };
        throw error;
      }
      return { done: true, state };
    });
  }

  /** Closes the queues (and the Redis connection) this source opened; given ones are left to their owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opened = await Promise.allSettled(this.opened.values());
    await Promise.allSettled(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    if (this.ownsRedis && this.redis) {
      const client = (await this.redis.catch(() => undefined)) as
        | { quit(): Promise<unknown>; disconnect(): void }
        | undefined;
      await client?.quit().catch(() => client.disconnect());
    }
  }

  private queueFor(name: string | null): Promise<SourceQueue | undefined> | SourceQueue | undefined {
    if (!name) return undefined;
    const given = this.queues.get(name);
    if (given || this.options.connection === undefined || this.closed) return given;
    let queue = this.opened.get(name);
    if (!queue) {
      queue = this.open(name);
      this.opened.set(name, queue);
      queue.catch(() => this.opened.delete(name));
    }
    return queue;
  }

  /**
   * Forgets a queue this source opened whose backend refused a call for good: bullmq 6's PostgreSQL backend checks its
   * schema once, so a queue opened before the workers created the schema would fail every later call. The next call
   * opens it afresh.
   */
  private evict(name: string, error: unknown): void {
    if ((error as { name?: unknown })?.name !== 'SchemaMigrationRequiredError') return;
    const queue = this.opened.get(name);
    if (!queue) return;
    this.opened.delete(name);
    queue.then((q) => q.close()).catch(() => {});
  }

  private async open(name: string): Promise<OwnedQueue> {
    const purpose = 'Syncing runs from BullMQ';
    const { Queue } = await loadBullmq(purpose);
    const connection = this.options.connection;
    let queue: InstanceType<typeof Queue>;
    if (isPostgresConnection(connection)) {
      const { opts, factory } = await backendFor(connection, purpose, {
        max: 2,
        connectionTimeoutMillis: this.timeoutMs,
      });
      // bullmq 6's constructor takes the backend factory last (typed per backend; bullmq 5 has no such parameter).
      queue = new Queue(name, opts as never, factory as never);
    } else {
      queue = new Queue(name, { connection: await this.connection(), prefix: this.options.prefix });
    }
    queue.on('error', (error) =>
      this.logger.warn({ err: error, queue: name }, 'agentcore-task: BullMQ connection error'),
    );
    return queue;
  }

  private async connection(): Promise<ConnectionOptions> {
    const connection = this.options.connection as ConnectionOptions | string;
    if (typeof connection !== 'string') return connection as ConnectionOptions;
    this.redis ??= (async () => {
      const Redis = await loadIoredis('Syncing runs from BullMQ');
      this.ownsRedis = true;
      const client = new Redis(connection, { maxRetriesPerRequest: null, connectTimeout: this.timeoutMs });
      client.on('error', () => {}); // reported per call as BackendUnavailableError
      return client;
    })();
    return (await this.redis) as ConnectionOptions;
  }

  /** Runs `fn` within `timeoutMs`; any failure (or no answer) becomes `BackendUnavailableError`. */
  private async bounded<T>(queueName: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new BackendUnavailableError(`BullMQ queue ${queueName} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (error) {
      this.evict(queueName, error);
      if (error instanceof BackendUnavailableError) throw error;
      throw new BackendUnavailableError(`BullMQ queue ${queueName} could not be read: ${coerceError(error).message}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A BullMQ sync source: `bullmqSource([queueA, queueB])` or `bullmqSource({ connection: process.env.REDIS_URL })`.
 */
export function bullmqSource(options: BullmqSourceOptions | readonly SourceQueue[]): BullmqSource {
  return new BullmqSource(Array.isArray(options) ? { queues: options } : (options as BullmqSourceOptions));
}

/**
 * Makes `tasks.tracker.syncTask`, `syncAllUnfinished`, `getTask({ sync: true })` and `markTimedOutExecutions` read
 * from BullMQ; the source is closed by `tasks.close()`. An instance created with `redis` already syncs each run from
 * the queue named by its `queue_name` on that Redis (prefix `'bull'`): call this for another Redis, another prefix,
 * queue objects of your own, or a different timeout; it replaces that default.
 *
 * @example
 * useBullmqSync(tasks, { connection: process.env.REDIS_URL });
 */
export function useBullmqSync(
  tasks: AgentcoreTask,
  options: BullmqSourceOptions | readonly SourceQueue[],
): BullmqSource {
  const resolved: BullmqSourceOptions = Array.isArray(options) ? { queues: options } : (options as BullmqSourceOptions);
  const source = new BullmqSource({ logger: tasks.logger, ...resolved });
  tasks.tracker.queueSource = source;
  tasks.onClose(() => source.close());
  return source;
}
