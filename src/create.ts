import type { Kysely } from 'kysely';
import { ValidationError } from './errors.js';
// http/ imports only types from this module, so this is not a runtime import cycle.
import type { HandlerOptions } from './http/context.js';
import { createHandler, type WebHandler } from './http/handler.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './json-safe.js';
import { createLockProvider, type LockBackend } from './locks/backends.js';
import type { PreventDuplicateOptions, SkippedTaskResult } from './locks/prevent-duplicate.js';
import { TaskLocks } from './locks/task-locks.js';
import { consoleLogger, type Logger } from './logger.js';
import {
  type CleanupScheduleOptions,
  Maintenance,
  type MaintenanceSchedule,
  type SchedulerOptions,
  type StopScheduler,
} from './maintenance/index.js';
import type { BullmqPostgresConnection } from './queue/bullmq/postgres.js';
import { DefaultBullmqSource } from './queue/default-source.js';
import type { QueueSource } from './queue/source.js';
import type { ChangeFeed } from './realtime/feed.js';
import { createChangeFeed, type RealtimeOption } from './realtime/select.js';
import { closeRedis, connectRedis, type RedisConnection, type RedisLike, type RedisOption } from './redis.js';
import type { Settings } from './settings.js';
import { SettingsStore } from './settings-store.js';
import { backfillAggregates } from './store/aggregates/index.js';
import { connectDatabase, type DatabaseOption } from './store/connect.js';
import type { SqlDialect } from './store/dialect.js';
import { ExecutionStore } from './store/execution-store.js';
import { migrateToLatest } from './store/migrations.js';
import { preparedStatementsFromEnv } from './store/postgres/prepared.js';
import type { Database } from './store/schema.js';
import { type OnRecordError, TaskTracker } from './tracker/tracker.js';
import type { RegisterTaskInput, TaskExecution } from './types.js';

/** Options of `createAgentcoreTask`. */
export interface AgentcoreTaskOptions {
  /**
   * `postgres://…`, `mysql://…`, `sqlite:PATH`, `sqlite::memory:`, or an existing Kysely instance / `pg.Pool` /
   * mysql2 pool / better-sqlite3 database (which `close()` then leaves open).
   * @defaultValue `process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db'`
   */
  database?: DatabaseOption;
  /** Overrides of the `AGENTCORE_TASK_*` environment variables. */
  settings?: Partial<Settings>;
  /** Apply the schema on start. @defaultValue `true` */
  migrate?: boolean;
  /** pino-compatible logger. @defaultValue a quiet console logger (warnings and errors only) */
  logger?: Logger;
  /** Payloads larger than this are stored as `{ _truncated: true, bytes }`. @defaultValue 1 MiB */
  maxPayloadBytes?: number;
  /** `'log'`: a write that cannot be stored is logged, the task goes on. `'throw'`: the call rejects. @defaultValue `'log'` */
  onRecordError?: OnRecordError;
  /**
   * Where `syncTask`, `getTask({ sync: true })`, `syncAllUnfinished` and the timeout job read the queue's state (see
   * `agentcore-task/bullmq`). @defaultValue with `bullmq` or `redis`: each run that has a `queue_name` is read from the
   * BullMQ queue of that name there (prefix `'bull'` on Redis; a no-op with one warning when bullmq is not installed);
   * without either: none
   */
  queueSource?: QueueSource;
  /** Environment to read settings from. @defaultValue `process.env` */
  env?: NodeJS.ProcessEnv;
  /**
   * How change notifications (for the streams and the dashboard) reach other processes: PostgreSQL LISTEN/NOTIFY,
   * Redis pub/sub, this process only (`'memory'`), or off (`false`).
   * @defaultValue `'redis'` when `redis` is given, else `'postgres'` on a PostgreSQL database, else `'memory'`
   */
  realtime?: RealtimeOption;
  /** LISTEN/NOTIFY or pub/sub channel; give each application its own when several share one Redis. @defaultValue `'agentcore_task_execution'` (PostgreSQL), `'agentcore_task:execution'` (Redis) */
  realtimeChannel?: string;
  /**
   * `redis://…` URL or an existing ioredis instance (which `close()` then leaves open). Enables Redis locks, Redis
   * live events and BullMQ sync (runs with a `queue_name` sync from that queue unless `queueSource` is given). An empty
   * string counts as not given.
   */
  redis?: RedisOption;
  /** Where task locks live. @defaultValue `'redis'` when `redis` is given, else `'database'` */
  lock?: LockBackend;
  /**
   * Where the BullMQ queues of the runs live, when not on the `redis` Redis: runs with a `queue_name` sync from the
   * queue of that name there (unless `queueSource` is given). A `redis://` URL, or with bullmq 6 its PostgreSQL backend:
   * a `postgres://` URL or `{ connectionString, schema }`. With `database` on the same PostgreSQL and no `redis`, the
   * whole product runs on one PostgreSQL: queue, runs, locks, live events, maintenance schedules.
   *
   * @example
   * createAgentcoreTask({ database: url, bullmq: { connection: { connectionString: url, schema: 'bullmq' } } });
   */
  bullmq?: { connection: string | BullmqPostgresConnection; prefix?: string };
  /**
   * PostgreSQL: send the hot writes (registration, status updates and their batches) as named prepared statements,
   * parsed once per connection instead of at every call. Turn off behind a pooler that does not keep prepared
   * statements (PgBouncer before 1.21, or in transaction mode with `max_prepared_statements = 0`). When the server
   * loses them anyway, no write fails: they are prepared again once, then the pool goes on unnamed (each logged). A
   * given Kysely instance always sends them unnamed.
   * @defaultValue `AGENTCORE_TASK_PREPARED_STATEMENTS` (`true`/`false`) when set, else `true`
   */
  preparedStatements?: boolean;
}

/** Default database when none is given. */
export const DEFAULT_DATABASE_URL = 'sqlite:./agentcore-task.db';

/**
 * One configured instance: the tracker, the settings, and (through the other modules) locks, maintenance and the HTTP
 * handler. Create it with `createAgentcoreTask`.
 */
export class AgentcoreTask {
  /** Records and reads runs. */
  readonly tracker: TaskTracker;
  /** Effective settings (environment, code, run-time overrides). */
  readonly settings: SettingsStore;
  /** Change notifications of every write, for streams. */
  readonly feed: ChangeFeed;
  /** Task locks (one holder per key, released by its owner or on expiry) on the backend of the `lock` option. */
  readonly locks: TaskLocks;
  /** Retention cleanup and timeout marking, callable directly or on their schedules. */
  readonly maintenance: Maintenance;
  /** The Redis client (given or opened from the `redis` option), for the modules that use Redis; else `undefined`. */
  readonly redis: RedisLike | undefined;
  readonly logger: Logger;
  private readonly ownsRedis: boolean;
  /** The sync source opened for `redis` when no `queueSource` was given; closed by `close()` even if replaced. */
  private readonly defaultSource: DefaultBullmqSource | undefined;
  private closing: Promise<void> | undefined;
  private readonly closers: Array<() => Promise<void>> = [];

  /** @internal use `createAgentcoreTask` */
  constructor(
    /** The Kysely instance over the tables of this library. */
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
    private readonly ownsDb: boolean,
    options: AgentcoreTaskOptions,
    feed: ChangeFeed,
    redis?: RedisConnection,
  ) {
    this.logger = options.logger ?? consoleLogger;
    this.feed = feed;
    this.redis = redis?.client;
    this.ownsRedis = redis?.owned ?? false;
    this.locks = new TaskLocks({
      provider: createLockProvider(options.lock, { db, dialect: dialect.name, redis: this.redis }),
      logger: this.logger,
    });
    this.settings = new SettingsStore(db, dialect, options.settings, options.env);
    this.maintenance = new Maintenance(this);
    const queues = options.bullmq?.connection || this.redis;
    if (options.queueSource === undefined && queues)
      this.defaultSource = new DefaultBullmqSource(queues, this.logger, options.bullmq?.prefix);
    this.tracker = new TaskTracker({
      store: new ExecutionStore(db, dialect),
      feed,
      logger: this.logger,
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      onRecordError: options.onRecordError ?? 'log',
      queueSource: options.queueSource ?? this.defaultSource,
    });
  }

  /** Same as `tracker.registerTaskExecution`. */
  registerTaskExecution(input: RegisterTaskInput): Promise<TaskExecution | null> {
    return this.tracker.registerTaskExecution(input);
  }

  /** Same as `locks.acquireTaskLock`: `false` when the lock is held or the backend fails. */
  acquireTaskLock(lockName: string, timeoutSeconds?: number): Promise<boolean> {
    return this.locks.acquireTaskLock(lockName, timeoutSeconds);
  }

  /** Same as `locks.releaseTaskLock`: frees a lock this instance holds, or any with `force`. */
  releaseTaskLock(lockName: string, options?: { force?: boolean }): Promise<boolean> {
    return this.locks.releaseTaskLock(lockName, options);
  }

  /** Same as `locks.isTaskLocked`. */
  isTaskLocked(lockName: string): Promise<boolean> {
    return this.locks.isTaskLocked(lockName);
  }

  /** Same as `locks.preventDuplicateTask`: wraps `fn` so one call per lock name runs at a time. */
  preventDuplicateTask<This, Args extends unknown[], Result>(
    options: PreventDuplicateOptions,
    fn: (this: This, ...args: Args) => Result,
  ): (this: This, ...args: Args) => Promise<Awaited<Result> | SkippedTaskResult> {
    return this.locks.preventDuplicateTask(options, fn);
  }

  /**
   * The REST API as a Web-standard handler, `Request` in, `Response` out. Same as
   * `createHandler(tasks, options)`; for Express and Fastify use `agentcore-task/express` and `agentcore-task/fastify`.
   *
   * @example
   * const handle = tasks.handler({ prefix: '/api/v1/tasks', getUser: (request) => userFromSession(request) });
   * Bun.serve({ fetch: handle });
   */
  handler(options: HandlerOptions): WebHandler {
    return createHandler(this, options);
  }

  /** The cleanup schedule entry (`[]` when disabled), to merge into a host's own scheduler. */
  getCleanupSchedule(options?: CleanupScheduleOptions): Promise<MaintenanceSchedule[]> {
    return this.maintenance.getCleanupSchedule(options);
  }

  /** The mark-timeout schedule entry (`[]` when disabled). */
  getMarkTimeoutSchedule(): Promise<MaintenanceSchedule[]> {
    return this.maintenance.getMarkTimeoutSchedule();
  }

  /**
   * Runs the maintenance jobs in this process on their crons, for hosts without BullMQ. Start it in every instance:
   * each scheduled run happens once across all of them. Stopped by the returned function or by `close()`.
   *
   * @example
   * const stop = await tasks.startScheduler();
   */
  async startScheduler(options?: SchedulerOptions): Promise<StopScheduler> {
    const stop = await this.maintenance.startScheduler(options);
    this.onClose(stop);
    return stop;
  }

  /** Runs `fn` at `close()`, before connections are closed (latest registered runs first). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Flushes buffered writes, stops background work and closes the connections this instance opened. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const fn of [...this.closers].reverse()) {
        try {
          await fn();
        } catch (error) {
          this.logger.warn({ err: error }, 'agentcore-task: error while closing');
        }
      }
      // Before the Redis connection it shares is closed.
      await this.defaultSource?.close().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'agentcore-task: error while closing the BullMQ sync source');
      });
      await this.locks.close();
      await this.tracker.flush();
      await this.feed.close();
      if (this.ownsRedis && this.redis) await closeRedis(this.redis);
      if (this.ownsDb) await this.db.destroy();
    })();
    return this.closing;
  }

  /** `await using tasks = await createAgentcoreTask()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates an instance: connects (or wraps the given connection), applies migrations, validates settings.
 * Throws at start-up for a malformed `AGENTCORE_TASK_*` variable (naming it) or a missing driver (naming the package).
 *
 * @example
 * const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL });
 * await tasks.registerTaskExecution({ taskId: 'job-1', taskName: 'send_report', module: 'reports' });
 * await tasks.close();
 */
export async function createAgentcoreTask(options: AgentcoreTaskOptions = {}): Promise<AgentcoreTask> {
  const logger = options.logger ?? consoleLogger;
  const env = options.env ?? process.env;
  const database = options.database ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean')
    throw new ValidationError('preparedStatements must be true or false', 'preparedStatements');
  const preparedStatements = options.preparedStatements ?? preparedStatementsFromEnv(env);
  const { db, dialect, owned } = await connectDatabase(database, logger, { preparedStatements });
  let instance: AgentcoreTask;
  let feed: ChangeFeed | undefined;
  let redis: RedisConnection | undefined;
  try {
    if (options.redis !== undefined && options.redis !== '') redis = await connectRedis(options.redis, logger);
    feed = await createChangeFeed({
      realtime: options.realtime,
      database,
      db,
      dialect: dialect.name,
      redis: redis?.client,
      channel: options.realtimeChannel,
      logger,
    });
    instance = new AgentcoreTask(db, dialect, owned, { ...options, logger }, feed, redis);
    if (options.migrate !== false) {
      await migrateToLatest(db, dialect.name, { backfill: false });
      // The count of the runs stored before the aggregates (PostgreSQL, migration 0004) is an optimisation: until it
      // is done, stats and counts read the table. A failure here (a statement_timeout, a lost connection) must not stop
      // the application from starting; the next start, or `agentcore-task migrate`, counts again.
      await backfillAggregates(db, dialect.name).catch((error: unknown) =>
        logger.warn(
          { err: error },
          'agentcore-task: counting the stored runs into the stats aggregates failed; stats read the table until `agentcore-task migrate` succeeds',
        ),
      );
    }
  } catch (error) {
    await feed?.close().catch(() => {});
    if (redis?.owned) await closeRedis(redis.client);
    if (owned) await db.destroy().catch(() => {});
    throw error;
  }
  return instance;
}
