import { MissingDependencyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RedisLike } from '../redis.js';
import type { TaskExecution } from '../types.js';
import type { BullmqPostgresConnection } from './bullmq/postgres.js';
// Types only: the core must load without bullmq installed (an optional peer), so the BullMQ source is imported
// on the first sync, never at start-up.
import type { BullmqSource } from './bullmq/source.js';
import type { QueueActionResult, QueueJobState, QueueSource } from './source.js';

/** Where the default source finds the queues: the instance's Redis, or the `bullmq.connection` option. */
export type DefaultSourceConnection = RedisLike | string | BullmqPostgresConnection;

/**
 * The sync source of an instance created with `redis` (or `bullmq`) and no `queueSource`: a run that carries
 * `queue_name` is read from the BullMQ queue of that name on the instance's own Redis (default prefix `'bull'`), or
 * where `bullmq.connection` says (another Redis, or bullmq 6's PostgreSQL backend), through the same `BullmqSource`
 * that `useBullmqSync` installs.
 *
 * `bullmq` is loaded on the first sync of a run that has a queue. When it is not installed, sync is a no-op and one
 * warning names the package: `redis` alone is also how locks and live events are enabled, and a host that uses no
 * BullMQ should not see its reads fail because of a sync it never asked for.
 *
 * @internal created by `createAgentcoreTask`; use `useBullmqSync` or `queueSource` to configure sync yourself.
 */
export class DefaultBullmqSource implements QueueSource {
  private source: Promise<BullmqSource | null> | undefined;
  private closed = false;

  constructor(
    private readonly connection: DefaultSourceConnection,
    private readonly logger: Logger,
    private readonly prefix?: string,
  ) {}

  /** The job's state, or `null` for a run without a queue, when bullmq is not installed, or after `close()`. */
  async getState(execution: TaskExecution): Promise<QueueJobState | null> {
    if (!execution.queueName) return null;
    const source = await this.load();
    return source ? source.getState(execution) : null;
  }

  /** `true` when a worker holds the job right now; `false` for a run without a queue or without bullmq. */
  async isActive(execution: TaskExecution): Promise<boolean> {
    if (!execution.queueName) return false;
    const source = await this.load();
    return source ? source.isActive(execution) : false;
  }

  /** Retries a failed job (see `BullmqSource#retry`); a run without a queue, or without bullmq, is unknown. */
  async retry(execution: TaskExecution): Promise<QueueActionResult> {
    if (!execution.queueName) return { done: false, state: null };
    const source = await this.load();
    return source ? source.retry(execution) : { done: false, state: null };
  }

  /** Removes a job that has not started (see `BullmqSource#cancel`); a run without a queue is unknown. */
  async cancel(execution: TaskExecution): Promise<QueueActionResult> {
    if (!execution.queueName) return { done: false, state: null };
    const source = await this.load();
    return source ? source.cancel(execution) : { done: false, state: null };
  }

  /** Closes the queues opened on demand; the instance's Redis connection belongs to the instance and is left open. */
  async close(): Promise<void> {
    this.closed = true;
    const source = await this.source?.catch(() => null);
    await source?.close();
  }

  /**
   * The `BullmqSource` behind this one, loaded on first use (`null` without bullmq, or after `close()`): what
   * `recoverUnrecorded` reads the queues' finished sets through.
   * @internal
   */
  bullmqSource(): Promise<BullmqSource | null> {
    return this.load();
  }

  private load(): Promise<BullmqSource | null> {
    if (this.closed) return Promise.resolve(null);
    if (!this.source) {
      const loading = this.open();
      this.source = loading;
      // A failure other than a missing package (none is expected) is retried on the next sync.
      loading.catch(() => {
        if (this.source === loading) this.source = undefined;
      });
    }
    return this.source;
  }

  private async open(): Promise<BullmqSource | null> {
    const { loadBullmq } = await import('./bullmq/load.js');
    try {
      await loadBullmq('Syncing runs from BullMQ');
    } catch (error) {
      if (!(error instanceof MissingDependencyError)) throw error;
      this.logger.warn(
        { err: error },
        'agentcore-task: the redis (or bullmq) option enables BullMQ sync, but the bullmq package is not installed; runs are not synced from their queues (npm install bullmq)',
      );
      return null;
    }
    const { BullmqSource } = await import('./bullmq/source.js');
    // An ioredis instance is a BullMQ connection: the queues share it and leave it open. A URL (Redis or PostgreSQL)
    // or a PostgreSQL config opens connections the source closes.
    return new BullmqSource({ connection: this.connection as never, logger: this.logger, prefix: this.prefix });
  }
}
